/**
 * Pair-count store on Redis (docs/design.md §9, "pair-count feature store").
 *
 * Encoding: one hash per user, `<prefix>pc:{<user>}`, field = author id, value
 * = the 7 counts as comma-separated text ("click,longView,like,follow,
 * comment,gift,watchTimeSec"). Reading the 300 candidates of a request is ONE
 * HMGET (one round trip); readable with redis-cli. Updates run a Lua script
 * per user that applies ASA deltas atomically (read-modify-write on the
 * server, so concurrent joiners never lose an increment); a batch of updates
 * is one pipeline (on a Redis Cluster: one call per user, all in flight at
 * once; the user id is the key's hash tag, so each user's counts
 * live on one slot and the users spread over the masters).
 *
 * Failure behaviour: while Redis is down, reads return zeros (default
 * counts) and resolve false; updates are merged per pair into a bounded
 * in-memory buffer and written when the connection is ready again; updates
 * beyond the buffer are dropped and counted.
 *
 * A Redis that comes back empty (restarted without persistence, or
 * flushed) is noticed: the store keeps a boot marker `<prefix>boot` (a
 * random id set once with SET NX) and checks it on every (re)connect and
 * every `resetCheckIntervalMs`; a marker that vanished or changed (another
 * replica noticed first and set a new one) is counted in `status().resets`
 * (/healthz, `rliv_store_resets_total`). Every pair count written before is
 * gone then; run Redis with AOF persistence (README) so it never is.
 */
import { randomBytes } from 'node:crypto';
import { PAIR_COUNT_DIM, PC_FOLLOW } from '../data/interaction-kinds.js';
import { pairKey } from '../data/pair-key.js';
import type { PairFeatureStore, PairDelta, PairStoreStatus } from './pair-store.js';
import { hashTag, RedisConnection } from './redis-connection.js';

/** Configuration of {@link RedisPairStore}. */
export interface RedisPairStoreOptions {
  /** redis://host:port URL (a cluster: its seed nodes, redis://h1:p1,h2:p2). */
  url: string;
  /** The URL is a Redis Cluster. Default false. */
  cluster: boolean;
  /** Key prefix (namespaces several deployments in one Redis). Default "rliv:". */
  prefix: string;
  /** Fail a Redis command after this many ms (then default counts are served). Default 200. */
  commandTimeoutMs: number;
  /** Most pairs whose updates wait in memory while Redis is down. Default 100,000. */
  maxDeferredPairs: number;
  /** How often the boot marker is checked besides every reconnect (ms; 0: only on reconnects). Default 5,000. */
  resetCheckIntervalMs: number;
}

// ARGV: groups of 8 = author, then the 7 ASA deltas. Follow (k == FOLLOW+1 in Lua's 1-based indexing) is a flag.
const APPLY_LUA = `
local key = KEYS[1]
for i = 1, #ARGV, 8 do
  local author = ARGV[i]
  local cur = redis.call('HGET', key, author)
  local c = {0, 0, 0, 0, 0, 0, 0}
  if cur then
    local j = 1
    for v in string.gmatch(cur, '[^,]+') do c[j] = tonumber(v) or 0; j = j + 1 end
  end
  for k = 1, 7 do
    local d = tonumber(ARGV[i + k]) or 0
    if d > 0 then
      if k == ${PC_FOLLOW + 1} then c[k] = 1 else c[k] = c[k] + d end
    end
  end
  redis.call('HSET', key, author, table.concat(c, ','))
end
return 1
`;

interface Deferred {
  user: number;
  author: number;
  delta: Float32Array;
}

export class RedisPairStore implements PairFeatureStore {
  readonly kind = 'redis' as const;
  private readonly conn: RedisConnection;
  private readonly prefix: string;
  private readonly cluster: boolean;
  private readonly maxDeferred: number;
  private readonly deferred = new Map<number, Deferred>();
  private readFailures = 0;
  private dropped = 0;
  private applied = 0;
  private flushing = false;
  /** The boot marker's value as this store last saw it (undefined before the first check). */
  private marker: string | undefined;
  private resets = 0;
  private lastResetAt: string | undefined;
  private checking: Promise<boolean> | null = null;
  private readonly checkTimer: NodeJS.Timeout | undefined;

  constructor(options: Partial<RedisPairStoreOptions> & { url: string }) {
    this.prefix = options.prefix ?? 'rliv:';
    hashTag(this.prefix, 0); // refuses a prefix that would move the hash tag
    this.cluster = options.cluster ?? false;
    this.maxDeferred = options.maxDeferredPairs ?? 100_000;
    this.conn = new RedisConnection({ url: options.url, cluster: this.cluster, commandTimeoutMs: options.commandTimeoutMs ?? 200, name: 'rliv-pair-store' });
    this.conn.client.defineCommand('rlivApplyAsa', { numberOfKeys: 1, lua: APPLY_LUA });
    this.conn.onReady(() => {
      void this.checkReset();
      void this.flushDeferred();
    });
    const every = options.resetCheckIntervalMs ?? 5000;
    if (every > 0) {
      this.checkTimer = setInterval(() => {
        void this.checkReset();
      }, every);
      this.checkTimer.unref();
    }
  }

  /** The boot marker's key (hash-tagged like the rest of the prefix's keys). */
  get markerKey(): string {
    return `${this.prefix}boot`;
  }

  /**
   * Checks the boot marker (on reconnects and on a timer; never rejects):
   * set it when missing, and count a reset when it vanished or changed
   * since the last check. The first check of a process cannot tell an
   * emptied Redis from a fresh one, so it only sets or adopts the marker.
   * Resolves true when the marker was read (false: Redis unavailable or
   * slow; the next check tries again).
   */
  checkReset(): Promise<boolean> {
    if (this.checking === null)
      this.checking = this.checkMarker().finally(() => {
        this.checking = null;
      });
    return this.checking;
  }

  private async checkMarker(): Promise<boolean> {
    if (!this.conn.healthy) return false;
    try {
      const client = this.conn.client;
      let current = await client.get(this.markerKey);
      if (current === null) {
        const mine = randomBytes(12).toString('base64url');
        await client.set(this.markerKey, mine, 'NX');
        current = (await client.get(this.markerKey)) ?? mine;
      }
      if (this.marker !== undefined && current !== this.marker) {
        this.resets++;
        this.lastResetAt = new Date().toISOString();
      }
      this.marker = current;
      return true;
    } catch (err) {
      this.conn.lastError = (err as Error).message;
      return false;
    }
  }

  /** Connects (resolves true when Redis answered; false means degraded, retrying in the background). */
  connect(): Promise<boolean> {
    return this.conn.connect();
  }

  /** The hash of one user's counts; the user id is its hash tag. */
  userKey(user: number): string {
    return `${this.prefix}pc:{${user}}`;
  }

  async read(user: number, authors: Int32Array, count: number, out: Float32Array): Promise<boolean> {
    out.fill(0, 0, count * PAIR_COUNT_DIM);
    if (!this.conn.healthy) {
      this.readFailures++;
      return false;
    }
    const fields: string[] = new Array(count);
    for (let i = 0; i < count; i++) fields[i] = String(authors[i]);
    let values: (string | null)[];
    try {
      values = await this.conn.client.hmget(this.userKey(user), ...fields);
    } catch (err) {
      this.conn.lastError = (err as Error).message;
      this.readFailures++;
      out.fill(0, 0, count * PAIR_COUNT_DIM);
      return false;
    }
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (v) parseCounts(v, out, i * PAIR_COUNT_DIM);
    }
    return true;
  }

  async apply(updates: readonly PairDelta[]): Promise<void> {
    if (updates.length === 0) return;
    if (!this.conn.healthy) {
      for (const u of updates) this.defer(u);
      return;
    }
    if (this.deferred.size > 0) void this.flushDeferred();
    try {
      await this.write(updates);
      this.applied += updates.length;
    } catch (err) {
      this.conn.lastError = (err as Error).message;
      for (const u of updates) this.defer(u);
    }
  }

  /** One pipeline: one Lua call per user with all that user's deltas. */
  private async write(updates: readonly { user: number; author: number; delta: Float32Array }[]): Promise<void> {
    const byUser = new Map<number, (string | number)[]>();
    for (const u of updates) {
      let args = byUser.get(u.user);
      if (args === undefined) {
        args = [];
        byUser.set(u.user, args);
      }
      args.push(u.author);
      for (let k = 0; k < PAIR_COUNT_DIM; k++) args.push(u.delta[k]!);
    }
    type Apply = { rlivApplyAsa(key: string, ...args: (string | number)[]): Promise<unknown> };
    if (this.cluster) {
      // Users live on different slots (and masters), and a cluster pipeline must stay on one node: one call each, all in flight at once.
      const client = this.conn.client as unknown as Apply;
      await Promise.all([...byUser].map(([user, args]) => client.rlivApplyAsa(this.userKey(user), ...args)));
      return;
    }
    const pipeline = this.conn.client.pipeline();
    for (const [user, args] of byUser) (pipeline as unknown as Apply).rlivApplyAsa(this.userKey(user), ...args);
    const results = await pipeline.exec();
    if (results === null) throw new Error('Redis pipeline was aborted');
    for (const [err] of results) if (err) throw err;
  }

  private defer(u: PairDelta): void {
    const key = pairKey(u.user, u.author);
    const d = this.deferred.get(key);
    if (d !== undefined) {
      for (let k = 0; k < PAIR_COUNT_DIM; k++) d.delta[k] = k === PC_FOLLOW ? Math.max(d.delta[k]!, u.delta[k]!) : d.delta[k]! + u.delta[k]!;
      return;
    }
    if (this.deferred.size >= this.maxDeferred) {
      this.dropped++;
      return;
    }
    this.deferred.set(key, { user: u.user, author: u.author, delta: u.delta.slice() });
  }

  /** Writes the deferred updates after a reconnect (kept if the write fails again). */
  async flushDeferred(): Promise<void> {
    if (this.flushing || this.deferred.size === 0 || !this.conn.healthy) return;
    this.flushing = true;
    // Take the buffer out first: updates deferred while this write runs are kept, not overwritten.
    const batch = [...this.deferred.values()];
    this.deferred.clear();
    try {
      await this.write(batch);
      this.applied += batch.length;
    } catch (err) {
      this.conn.lastError = (err as Error).message;
      for (const d of batch) this.defer(d);
    } finally {
      this.flushing = false;
    }
  }

  status(): PairStoreStatus {
    const s: PairStoreStatus = {
      kind: 'redis',
      healthy: this.conn.healthy,
      pairs: -1,
      readFailures: this.readFailures,
      deferredUpdates: this.deferred.size,
      droppedUpdates: this.dropped,
      appliedUpdates: this.applied,
    };
    if (this.conn.lastError !== undefined) s.lastError = this.conn.lastError;
    s.resets = this.resets;
    if (this.lastResetAt !== undefined) s.lastResetAt = this.lastResetAt;
    return s;
  }

  close(): Promise<void> {
    if (this.checkTimer) clearInterval(this.checkTimer);
    return this.conn.close();
  }
}

/** Parses "a,b,c,d,e,f,g" into out[offset..offset+7) (missing or bad parts stay 0). */
function parseCounts(text: string, out: Float32Array, offset: number): void {
  let k = 0;
  let start = 0;
  for (let i = 0; i <= text.length && k < PAIR_COUNT_DIM; i++) {
    if (i === text.length || text.charCodeAt(i) === 44) {
      const v = Number(text.slice(start, i));
      out[offset + k] = Number.isFinite(v) ? v : 0;
      k++;
      start = i + 1;
    }
  }
}
