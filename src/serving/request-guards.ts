/**
 * What the ranking service checks before a request can change anything
 * (issue 17): who may write, what a body may contain, and which feedback
 * belongs to a request the service issued.
 *
 * - Authentication: with a write token, every state-changing route but
 *   /v1/rank (feedback, and any later POST route) needs `Authorization:
 *   Bearer <token>`; /v1/rank needs the rank token when one is set (it only
 *   logs impressions of the ranked items, so it may stay open). Tokens are
 *   compared in constant time (SHA-256 digests, `timingSafeEqual`), before
 *   the body is read. Missing or wrong: 401, counted.
 * - Bodies: JSON only (`text/plain` and any `Content-Encoding` but identity
 *   are 415 with a message saying what to send); duplicate keys and the keys
 *   `__proto__` / `constructor` are refused with the path of the object that
 *   holds them (JSON.parse would keep the last duplicate silently).
 * - Request ids are random 128-bit values (base64url, 22 characters):
 *   knowing one id tells nothing about another.
 * - Feedback (see {@link checkFeedback}) must name a request the service
 *   issued and still remembers, an item of that request, and a time neither
 *   before its impression nor beyond the server clock plus a small skew.
 *   Feedback for a request whose join window closed is accepted and counted
 *   as late by the joiner.
 */
import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LabelJoiner } from '../mdp/label-joiner.js';

/** Bearer tokens of the service (`rliv serve --auth-token-file / --rank-token-file`). */
export interface ServiceAuthOptions {
  /** Required on every state-changing route except /v1/rank (feedback). Undefined: those routes are open (loopback-only by default). */
  writeToken?: string;
  /** Required on /v1/rank when set; undefined: ranking is open. */
  rankToken?: string;
}

/** Shortest token accepted (characters): 128 bits as 32 hex digits. */
export const MIN_TOKEN_LENGTH = 32;

/** A token too short or with characters that cannot travel in a header. */
export class AuthTokenError extends Error {
  override name = 'AuthTokenError';
}

/** Checks a token read from a file (already trimmed); throws AuthTokenError saying what is wrong. */
export function validateToken(token: string, source: string): string {
  if (token.length < MIN_TOKEN_LENGTH)
    throw new AuthTokenError(`${source}: the token has ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} (e.g. "openssl rand -hex 32 > FILE")`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw new AuthTokenError(`${source}: the token must be one line of printable ASCII without spaces`);
  return token;
}

/** Counters of refused requests, shown by /healthz and /metrics. */
export interface GuardCounters {
  /** Requests refused for a missing or wrong bearer token. */
  unauthorized: number;
  /** Feedback events refused, by reason. */
  feedbackRejected: Record<FeedbackRejection, number>;
}

export type FeedbackRejection = 'unknownRequest' | 'unknownItem' | 'beforeImpression' | 'futureTime';

export function zeroGuardCounters(): GuardCounters {
  return { unauthorized: 0, feedbackRejected: { unknownRequest: 0, unknownItem: 0, beforeImpression: 0, futureTime: 0 } };
}

/** An error Fastify's error handler turns into `statusCode` with this message. */
function httpError(statusCode: number, message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode });
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Installs the authentication and body hooks on `app` (before its routes
 * are registered): bearer tokens, Content-Encoding, and the JSON parser that
 * refuses duplicate and forbidden keys. `text/plain` bodies become 415.
 */
export function installRequestGuards(app: FastifyInstance, auth: ServiceAuthOptions, counters: GuardCounters): void {
  const write = auth.writeToken === undefined ? null : digest(auth.writeToken);
  const rank = auth.rankToken === undefined ? null : digest(auth.rankToken);

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    const route = req.routeOptions.url;
    if (route === undefined) return; // no such route: the 404 handler answers
    const needed = route === '/v1/rank' ? rank : write;
    if (needed !== null) {
      const header = req.headers.authorization;
      const given = typeof header === 'string' && header.startsWith('Bearer ') ? digest(header.slice(7)) : null;
      if (given === null || !timingSafeEqual(given, needed)) {
        counters.unauthorized++;
        const which = route === '/v1/rank' ? 'the rank token (rliv serve --rank-token-file)' : 'the write token (rliv serve --auth-token-file)';
        void reply.header('www-authenticate', 'Bearer realm="rliv"');
        throw httpError(
          401,
          `${req.method} ${route} needs "Authorization: Bearer <token>" with ${which}; ${given === null ? 'none was given' : 'the token given is wrong'}`,
        );
      }
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      throw httpError(415, `Content-Encoding "${encoding}" is not supported; send the JSON body uncompressed (Content-Encoding: identity or none)`);
    }
  });

  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      done(httpError(400, `body is not valid JSON: ${(err as Error).message}`), undefined);
      return;
    }
    const problem = jsonKeyProblem(text, parsed);
    if (problem !== null) {
      done(httpError(400, problem), undefined);
      return;
    }
    done(null, parsed);
  });
}

/** The 415 message of a body whose Content-Type is not JSON (Fastify's FST_ERR_CTP_INVALID_MEDIA_TYPE). */
export function unsupportedMediaTypeMessage(contentType: string | undefined): string {
  return `Content-Type ${contentType === undefined || contentType === '' ? '(none)' : `"${contentType}"`} is not supported; send the body as application/json`;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor']);

/**
 * The first duplicate or forbidden key of a JSON text that JSON.parse
 * accepted, as "body/events/2 has key "kind" twice" / "body/candidates/0 has
 * the key "__proto__", which is refused", or null.
 *
 * Fast path (given `parsed`, the text's JSON.parse result): JSON.parse keeps
 * one key per duplicate, so when the keys of the parsed tree (none
 * forbidden) are as many as the text's ':' characters — each key has one,
 * and a ':' inside a string only adds to the count — no key is duplicated.
 * That costs a native indexOf loop and a walk of the parsed values (about a
 * third of JSON.parse for a 300-candidate rank body). Otherwise the precise
 * scan finds the key and its path: one pass over the characters, keys
 * compared after unescaping.
 */
export function jsonKeyProblem(text: string, parsed?: unknown): string | null {
  if (parsed !== undefined) {
    const keys = countKeys(parsed);
    if (keys >= 0 && keys === countColons(text)) return null;
  }
  return scanKeys(text);
}

/** Keys of every object in a parsed JSON value, or -1 when one is __proto__ or constructor. */
function countKeys(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const c = countKeys(v[i]);
      if (c < 0) return -1;
      n += c;
    }
    return n;
  }
  for (const k in v as Record<string, unknown>) {
    if (FORBIDDEN_KEYS.has(k)) return -1;
    const c = countKeys((v as Record<string, unknown>)[k]);
    if (c < 0) return -1;
    n += c + 1;
  }
  return n;
}

function countColons(text: string): number {
  let n = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) n++;
  return n;
}

/** The precise scan of {@link jsonKeyProblem}. */
function scanKeys(text: string): string | null {
  // One frame per open container: keys seen (objects) or null (arrays), and its path segment.
  const keys: (Set<string> | null)[] = [];
  const index: number[] = [];
  const segment: string[] = [];
  let expectKey = false;
  let pendingKey = '';
  const path = () => ['body', ...segment.slice(1)].join('/');
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const start = i + 1;
      let escaped = false;
      for (i = start; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) {
          escaped = true;
          i++;
          continue;
        }
        if (d === 34) break;
      }
      const top = keys.length - 1;
      if (top >= 0 && keys[top] !== null && expectKey) {
        const raw = text.slice(start, i);
        const key = escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (FORBIDDEN_KEYS.has(key)) return `${path()} has the key "${key}", which is refused (no field of this API has that name)`;
        const seen = keys[top]!;
        if (seen.has(key)) return `${path()} has the key "${key}" twice; send each field once`;
        seen.add(key);
        pendingKey = key;
        expectKey = false;
      }
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      const top = keys.length - 1;
      segment.push(top < 0 ? '' : keys[top] !== null ? pendingKey : String(index[top]));
      keys.push(c === 123 ? new Set() : null);
      index.push(0);
      expectKey = c === 123;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      keys.pop();
      index.pop();
      segment.pop();
      expectKey = false;
    } else if (c === 44 /* , */) {
      const top = keys.length - 1;
      if (keys[top] !== null) expectKey = true;
      else index[top]!++;
    }
  }
  return null;
}

/**
 * Random 128-bit request ids (base64url, 22 characters), drawn from a
 * buffer refilled by the CSPRNG every 256 ids.
 */
export class RequestIds {
  private readonly pool = Buffer.alloc(16 * 256);
  private next = this.pool.length;

  id(): string {
    if (this.next === this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    const s = this.pool.toString('base64url', this.next, this.next + 16);
    this.next += 16;
    return s;
  }
}

/** One feedback event as the routes receive it. */
export interface FeedbackCheckEvent {
  requestId: string;
  itemId: number;
  time?: number;
}

/**
 * Checks feedback events against the joiner before any is applied: each
 * must name a request the service issued (and still remembers), an item of
 * that request, and a time not before its impression and at most
 * `maxSkewMs` after `nowMs`. Returns the events' times (the server's clock
 * when absent, never before the impression), or throws a 400 naming the
 * first bad event (`where(i)`, e.g. "body/events/3") after counting every
 * bad one by reason. Nothing changes when it throws.
 */
export function checkFeedback(
  joiner: LabelJoiner,
  events: readonly FeedbackCheckEvent[],
  nowMs: number,
  maxSkewMs: number,
  counters: GuardCounters,
  where: (i: number) => string,
): number[] {
  const times = new Array<number>(events.length);
  let first: string | null = null;
  let bad = 0;
  const refuse = (reason: FeedbackRejection, message: string) => {
    counters.feedbackRejected[reason]++;
    bad++;
    first ??= message;
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const at = where(i);
    if (e.time !== undefined && e.time > nowMs + maxSkewMs) {
      refuse(
        'futureTime',
        `${at}/time ${e.time} is ${Math.round((e.time - nowMs) / 1000)} s after the server clock (${nowMs}); at most ${maxSkewMs / 1000} s ahead is accepted (omit time to use the server's)`,
      );
      continue;
    }
    const look = joiner.lookup(e.requestId, e.itemId);
    if (look.status === 'unknown') {
      refuse(
        'unknownRequest',
        `${at}/requestId "${e.requestId.slice(0, 64)}" was not issued by this service (or was issued before it restarted, or is too old to be remembered); feedback needs the requestId of a /v1/rank response`,
      );
      continue;
    }
    if (look.status === 'otherItem') {
      refuse(
        'unknownItem',
        `${at}/itemId ${e.itemId} was not ranked in request "${e.requestId.slice(0, 64)}"; feedback is accepted only for the items of that response`,
      );
      continue;
    }
    if (look.status === 'pending') {
      if (e.time !== undefined && e.time < look.timeMs) {
        refuse(
          'beforeImpression',
          `${at}/time ${e.time} is before the impression of item ${e.itemId} at ${look.timeMs}; feedback cannot precede its impression (omit time to use the server's)`,
        );
        continue;
      }
      times[i] = e.time ?? Math.max(nowMs, look.timeMs);
    } else {
      times[i] = e.time ?? nowMs; // closed: the joiner counts it as late
    }
  }
  if (first !== null) throw httpError(400, bad > 1 ? `${first} (and ${bad - 1} more refused event${bad > 2 ? 's' : ''}; nothing was applied)` : first);
  return times;
}
