/**
 * An interaction log in memory (struct-of-arrays, dense ids), the input of
 * the learned simulator's training: built from KuaiRand-format log rows
 * (real or generated, plus the generated gifts file) or directly from
 * environment traces.
 *
 * `replayExposures` reconstructs, row by row, what the environment would
 * have handed the response model: the pair's counts f_ua before the
 * request (replaying the log in time order per user), the repetition counts
 * of author and tag earlier in the session (a session = requests less than
 * `sessionGapMs` apart) and the slate position (order within the request,
 * i.e. rows of one user sharing `time_ms`).
 */
import {
  PAIR_COUNT_DIM as PAIR_COUNT_DIM_,
  PC_CLICK as PC_CLICK_,
  PC_COMMENT as PC_COMMENT_,
  PC_FOLLOW as PC_FOLLOW_,
  PC_GIFT as PC_GIFT_,
  PC_LIKE as PC_LIKE_,
  PC_LONG_VIEW as PC_LONG_VIEW_,
  PC_WATCH_TIME as PC_WATCH_TIME_,
} from '../data/interaction-kinds.js';
import type { Catalog } from '../world/catalog.js';
import { allocResponseBatch, type PairCountView, type ResponseBatch } from '../world/response.js';
import { isRandomRequest } from './slate-policy.js';
import type { SessionTrace } from './trace.js';

// Imported constants copied to module locals: hot loops read them as plain constants.
const PAIR_COUNT_DIM = PAIR_COUNT_DIM_;
const PC_CLICK = PC_CLICK_;
const PC_COMMENT = PC_COMMENT_;
const PC_FOLLOW = PC_FOLLOW_;
const PC_GIFT = PC_GIFT_;
const PC_LIKE = PC_LIKE_;
const PC_LONG_VIEW = PC_LONG_VIEW_;
const PC_WATCH_TIME = PC_WATCH_TIME_;

/**
 * One row per logged exposure: who saw what and when, plus the responses in
 * the ResponseBatch layout (`giftAmount` is joined from the gifts file for
 * real or generated logs; 0 = none).
 */
export interface InteractionLog extends ResponseBatch {
  count: number;
  /** Dense user id per row. */
  user: Int32Array;
  /** Dense item id per row. */
  item: Int32Array;
  /** KuaiRand `time_ms` (rows of one request share it). */
  timeMs: Float64Array;
  /**
   * 1 when the row belongs to the random log (KuaiRand's `log_random_*`: a
   * request served uniformly at random, see logging-policy.ts), 0 for the
   * standard log. The simulator is fitted on the standard rows and
   * validated on the random ones.
   */
  fromRandomLog: Uint8Array;
}

export function allocInteractionLog(capacity: number): InteractionLog {
  return {
    count: 0,
    user: new Int32Array(capacity),
    item: new Int32Array(capacity),
    timeMs: new Float64Array(capacity),
    fromRandomLog: new Uint8Array(capacity),
    ...allocResponseBatch(capacity),
  };
}

/** Rows [from, to) of `log` as a log of their own: views on the same memory, not a copy. */
export function interactionLogRows(log: InteractionLog, from: number, to = log.count): InteractionLog {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= log.count))
    throw new RangeError(`interactionLogRows: rows [${from}, ${to}) are not within the log's ${log.count}`);
  const out = { count: to - from } as InteractionLog;
  for (const [key, column] of Object.entries(log)) {
    if (key !== 'count') (out as unknown as Record<string, ArrayLike<number>>)[key] = (column as Uint8Array).subarray(from, to);
  }
  return out;
}

/** The exposures of these traces as a log (one row per slate item, in trace order). */
export function interactionLogFromTraces(traces: readonly SessionTrace[]): InteractionLog {
  let n = 0;
  for (const t of traces) for (const r of t.requests) n += r.slate.length;
  const log = allocInteractionLog(n);
  let e = 0;
  for (const t of traces) {
    for (const r of t.requests) {
      const rs = r.responses;
      const random = isRandomRequest(r.isRand) ? 1 : 0;
      for (let p = 0; p < r.slate.length; p++, e++) {
        log.fromRandomLog[e] = random;
        log.user[e] = t.user;
        log.item[e] = r.candidates[r.slate[p]!]!;
        log.timeMs[e] = r.timeMs;
        log.click[e] = rs.click[p]!;
        log.longView[e] = rs.longView[p]!;
        log.like[e] = rs.like[p]!;
        log.follow[e] = rs.follow[p]!;
        log.comment[e] = rs.comment[p]!;
        log.forward[e] = rs.forward[p]!;
        log.hate[e] = rs.hate[p]!;
        log.playTimeMs[e] = rs.playTimeMs[p]!;
        log.giftAmount[e] = rs.giftAmount[p]!;
      }
    }
  }
  log.count = n;
  return log;
}

/** Per log row: what the response model saw (see the file comment). */
export interface ReplayedExposures {
  count: number;
  /** count x PAIR_COUNT_DIM: f_ua before the row's request. */
  pairCounts: Float32Array;
  repeatAuthor: Float32Array;
  repeatTag: Float32Array;
  /** Of the row's repeatAuthor (repeatTag) earlier exposures in the session, those in the standard log: chosen by the logging policy. */
  chosenRepeatAuthor: Float32Array;
  chosenRepeatTag: Float32Array;
  position: Int32Array;
  /** Index of the row's request (rows sharing user and time_ms), for request-level splits. */
  requestId: Int32Array;
  /** Number of requests. */
  requests: number;
}

/**
 * The pairs' counts f_ua when a log begins: what a platform's lifelong
 * user-author counters held at its first logged row (the paper's f_ua are
 * lifelong counts). {@link EnvironmentHistory} answers it.
 */
export interface PairsAtStart {
  /** A fresh copy of the pair's counts, or undefined for a pair with none. */
  pairCounts(user: number, author: number): Float32Array | undefined;
}

export interface ReplayOptions {
  /** A gap between requests longer than this starts a new session. Default 30 min. */
  sessionGapMs: number;
  /** f_ua as the response model reads it (see {@link PairCountView}). Default `live`. */
  pairCountView: PairCountView;
  /** Where the counts start: absent = every pair at zero on its first logged row. */
  pairsAtStart?: PairsAtStart;
}

/** Reconstructs f_ua (from `pairsAtStart` when given), repetition and position for every row (rows may be in any order). */
export function replayExposures(log: InteractionLog, catalog: Catalog, options: Partial<ReplayOptions> = {}): ReplayedExposures {
  const gap = options.sessionGapMs ?? 30 * 60_000;
  const sessionStart = (options.pairCountView ?? 'live') === 'session-start';
  const atStart = options.pairsAtStart;
  const n = log.count;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Stable sort by (user, time); rows of a request keep their file order (= slate order).
  const sorted = Array.from(order).sort((a, b) => log.user[a]! - log.user[b]! || log.timeMs[a]! - log.timeMs[b]! || a - b);
  const out: ReplayedExposures = {
    count: n,
    pairCounts: new Float32Array(n * PAIR_COUNT_DIM),
    repeatAuthor: new Float32Array(n),
    repeatTag: new Float32Array(n),
    chosenRepeatAuthor: new Float32Array(n),
    chosenRepeatTag: new Float32Array(n),
    position: new Int32Array(n),
    requestId: new Int32Array(n),
    requests: 0,
  };
  let pairs = new Map<number, Float32Array>();
  /** The user's counts of a pair: the logs' so far, from the state at the start when there is one. */
  const pairOf = (user: number, author: number): Float32Array | undefined => {
    let c = pairs.get(author);
    if (c === undefined && atStart !== undefined) {
      c = atStart.pairCounts(user, author)?.slice(); // the replay adds to it
      if (c !== undefined) pairs.set(author, c);
    }
    return c;
  };
  /** Under the session-start view: each author's counts when the session first exposed it. */
  const startCounts = new Map<number, Float32Array | null>();
  const authorSeen = new Map<number, number>();
  const tagSeen = new Map<number, number>();
  const authorChosen = new Map<number, number>();
  const tagChosen = new Map<number, number>();
  let prevUser = -1;
  let prevTime = -Infinity;
  let requestId = -1;
  let i = 0;
  while (i < n) {
    // One request: consecutive sorted rows with the same user and time.
    const first = sorted[i]!;
    const user = log.user[first]!;
    const time = log.timeMs[first]!;
    let j = i;
    while (j < n && log.user[sorted[j]!] === user && log.timeMs[sorted[j]!] === time) j++;
    // A new user starts with no pairs; a new user or a gap starts a new session.
    if (user !== prevUser) pairs = new Map();
    if (user !== prevUser || time - prevTime > gap) {
      for (const seen of [authorSeen, tagSeen, authorChosen, tagChosen]) seen.clear();
      startCounts.clear();
    }
    requestId++;
    // Snapshot before the request, then repetition in slate order.
    for (let q = i; q < j; q++) {
      const row = sorted[q]!;
      const item = log.item[row]!;
      const author = catalog.itemAuthor[item]!;
      const tag = catalog.itemTag[item]!;
      let c = pairOf(user, author);
      if (sessionStart) {
        if (!startCounts.has(author)) startCounts.set(author, c ? c.slice() : null);
        c = startCounts.get(author) ?? undefined;
      }
      if (c) out.pairCounts.set(c, row * PAIR_COUNT_DIM);
      const ra = authorSeen.get(author) ?? 0;
      const rt = tagSeen.get(tag) ?? 0;
      out.repeatAuthor[row] = ra;
      out.repeatTag[row] = rt;
      authorSeen.set(author, ra + 1);
      tagSeen.set(tag, rt + 1);
      const ca = authorChosen.get(author) ?? 0;
      const ct = tagChosen.get(tag) ?? 0;
      out.chosenRepeatAuthor[row] = ca;
      out.chosenRepeatTag[row] = ct;
      if (log.fromRandomLog[row] === 0) {
        authorChosen.set(author, ca + 1);
        tagChosen.set(tag, ct + 1);
      }
      out.position[row] = q - i;
      out.requestId[row] = requestId;
    }
    // Then the request's responses update the pair counts.
    for (let q = i; q < j; q++) {
      const row = sorted[q]!;
      const author = catalog.itemAuthor[log.item[row]!]!;
      let c = pairOf(user, author);
      if (!c) pairs.set(author, (c = new Float32Array(PAIR_COUNT_DIM)));
      c[PC_CLICK]! += log.click[row]!;
      c[PC_LONG_VIEW]! += log.longView[row]!;
      c[PC_LIKE]! += log.like[row]!;
      c[PC_COMMENT]! += log.comment[row]!;
      if (log.follow[row]) c[PC_FOLLOW] = 1;
      if (log.giftAmount[row]! > 0) c[PC_GIFT]! += 1;
      c[PC_WATCH_TIME]! += log.playTimeMs[row]! / 1000;
    }
    prevUser = user;
    prevTime = time;
    i = j;
  }
  out.requests = requestId + 1;
  return out;
}
