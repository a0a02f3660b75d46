/**
 * Replay of request-level transitions for the baselines (RankingModel, DQN,
 * CQL, TD3, RLUR): one entry per request of an observed SessionTrace, in
 * session order, in a ring of fixed capacity (struct-of-arrays, no
 * allocation per sample).
 *
 * An entry keeps the state (user, session summary), a subsample of the
 * request's candidates with the exposed slate FIRST (positions 0..K-1, in
 * display order) followed by up to `maxCandidates - K` other candidates drawn
 * at random, their pair counts f_ua, the responses of the slate, whether the
 * session ended at this request, and the session's return gap. The next
 * state of entry i is entry i + 1 (same session) unless `done[i]`: whole
 * sessions are pushed at once, so the successor of a non-final entry is
 * always present.
 *
 * Why subsample: the max over the next request's candidates (DQN), the
 * logsumexp of CQL and the soft slate of RLUR run over the stored
 * candidates; keeping all N <= 300 would make every training row 300 rows.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import type { Rng } from '../numeric/rng.js';
import { SESSION_SUMMARY_DIM, type SessionTrace } from '../simulator/trace.js';

/** Options of {@link RequestReplay}. */
export interface RequestReplayOptions {
  /** Requests kept (oldest overwritten first). */
  capacity: number;
  /** Candidates kept per request (the slate + random others); >= the slate size. */
  maxCandidates: number;
  /** Largest slate stored (longer slates are an error). */
  maxSlate: number;
}

/** Response columns stored per slate position. */
export const RESP_CLICK = 0;
export const RESP_LONG_VIEW = 1;
export const RESP_LIKE = 2;
export const RESP_FOLLOW = 3;
export const RESP_WATCH_SEC = 4;
export const RESP_COMMENT = 5;
export const RESP_GIFT = 6;
export const RESP_DIM = 7;

export class RequestReplay {
  readonly capacity: number;
  readonly maxCandidates: number;
  readonly maxSlate: number;
  readonly user: Int32Array;
  /** capacity x SESSION_SUMMARY_DIM. */
  readonly summary: Float32Array;
  /** capacity x maxCandidates item ids; the slate occupies the first slateCount. */
  readonly candidates: Int32Array;
  readonly candidateCount: Int32Array;
  /** capacity x maxCandidates x PAIR_COUNT_DIM. */
  readonly pairCounts: Float32Array;
  readonly slateCount: Int32Array;
  /** capacity x maxSlate x RESP_DIM (click, longView, like, follow, watch seconds, comment, gift amount). */
  readonly responses: Float32Array;
  /** 1 when the session ended after this request (a real termination for request-level MDPs). */
  readonly done: Uint8Array;
  /** The session's return gap in days (same for all its requests; Infinity = beyond the horizon). */
  readonly returnGapDays: Float32Array;
  /** Entries currently held. */
  size = 0;
  /** Next write position. */
  head = 0;
  /** Sessions observed so far, and sessions dropped because they were empty. */
  sessionsSeen = 0;
  emptySessions = 0;
  /** Scratch of candidate positions, grown to the largest N seen. */
  private scratch = new Int32Array(0);

  constructor(options: RequestReplayOptions) {
    const { capacity, maxCandidates, maxSlate } = options;
    if (!(Number.isInteger(capacity) && capacity >= 2)) throw new RangeError(`replay capacity must be an integer >= 2, got ${capacity}`);
    if (!(Number.isInteger(maxSlate) && maxSlate >= 1)) throw new RangeError(`maxSlate must be a positive integer, got ${maxSlate}`);
    if (!(Number.isInteger(maxCandidates) && maxCandidates >= maxSlate)) {
      throw new RangeError(`maxCandidates (${maxCandidates}) must be an integer >= maxSlate (${maxSlate})`);
    }
    this.capacity = capacity;
    this.maxCandidates = maxCandidates;
    this.maxSlate = maxSlate;
    this.user = new Int32Array(capacity);
    this.summary = new Float32Array(capacity * SESSION_SUMMARY_DIM);
    this.candidates = new Int32Array(capacity * maxCandidates);
    this.candidateCount = new Int32Array(capacity);
    this.pairCounts = new Float32Array(capacity * maxCandidates * PAIR_COUNT_DIM);
    this.slateCount = new Int32Array(capacity);
    this.responses = new Float32Array(capacity * maxSlate * RESP_DIM);
    this.done = new Uint8Array(capacity);
    this.returnGapDays = new Float32Array(capacity);
  }

  /**
   * Validates every session first (a bad one throws and nothing is stored),
   * then appends their requests in order. `rng` draws the non-slate
   * candidates kept.
   */
  push(sessions: readonly SessionTrace[], rng: Rng, numItems: number, numUsers: number): void {
    for (const s of sessions) validateSession(s, this, numItems, numUsers);
    let scratch = this.scratch;
    for (const s of sessions) {
      this.sessionsSeen++;
      if (s.requests.length === 0) {
        this.emptySessions++;
        continue;
      }
      for (let t = 0; t < s.requests.length; t++) {
        const req = s.requests[t]!;
        const i = this.head;
        this.user[i] = req.user;
        this.summary.set(req.summary.subarray(0, SESSION_SUMMARY_DIM), i * SESSION_SUMMARY_DIM);
        const n = req.candidates.length;
        const k = req.slate.length;
        if (scratch.length < 2 * n) scratch = this.scratch = new Int32Array(2 * n);
        // candidate positions: slate first, then a partial Fisher-Yates over the rest
        // scratch[n..2n) flags slate positions, scratch[0..pool) holds the other positions
        scratch.fill(0, n, 2 * n);
        for (let p = 0; p < k; p++) scratch[n + req.slate[p]!] = 1;
        const keep = Math.min(n, this.maxCandidates);
        let w = 0;
        for (let p = 0; p < k; p++) this.writeCandidate(i, w++, req.slate[p]!, req.candidates, req.candidatePairCounts);
        let pool = 0;
        for (let c = 0; c < n; c++) if (scratch[n + c] === 0) scratch[pool++] = c;
        while (w < keep && pool > 0) {
          const j = rng.int(pool);
          const c = scratch[j]!;
          scratch[j] = scratch[--pool]!;
          this.writeCandidate(i, w++, c, req.candidates, req.candidatePairCounts);
        }
        this.candidateCount[i] = w;
        this.slateCount[i] = k;
        const r = req.responses;
        const rBase = i * this.maxSlate * RESP_DIM;
        for (let p = 0; p < k; p++) {
          const o = rBase + p * RESP_DIM;
          this.responses[o + RESP_CLICK] = r.click[p]!;
          this.responses[o + RESP_LONG_VIEW] = r.longView[p]!;
          this.responses[o + RESP_LIKE] = r.like[p]!;
          this.responses[o + RESP_FOLLOW] = r.follow[p]!;
          this.responses[o + RESP_WATCH_SEC] = r.playTimeMs[p]! / 1000;
          this.responses[o + RESP_COMMENT] = r.comment[p]!;
          this.responses[o + RESP_GIFT] = r.giftAmount[p]!;
        }
        this.done[i] = t === s.requests.length - 1 ? 1 : 0;
        this.returnGapDays[i] = s.returnGapDays;
        this.head = (this.head + 1) % this.capacity;
        if (this.size < this.capacity) this.size++;
      }
    }
  }

  /** Index of the successor of entry i (only meaningful when !done[i]). */
  next(i: number): number {
    return (i + 1) % this.capacity;
  }

  /**
   * A uniformly random entry whose successor is still stored (the newest
   * entry is always a session end, so any non-done entry qualifies).
   */
  sample(rng: Rng): number {
    if (this.size === 0) throw new RangeError('RequestReplay.sample: the replay is empty; observe sessions first');
    const start = this.size < this.capacity ? 0 : this.head;
    return (start + rng.int(this.size)) % this.capacity;
  }

  /** Reward-like immediate sum of one slate position's responses under `w` (see RewardWeights). */
  itemReward(i: number, pos: number, w: RewardWeights): number {
    const o = (i * this.maxSlate + pos) * RESP_DIM;
    const r = this.responses;
    return w.click * r[o + RESP_CLICK]! + w.watchLog1p * Math.log1p(r[o + RESP_WATCH_SEC]!) + w.follow * r[o + RESP_FOLLOW]! + w.like * r[o + RESP_LIKE]!;
  }

  /** Sum of {@link itemReward} over the slate of entry i. */
  requestReward(i: number, w: RewardWeights): number {
    let s = 0;
    for (let p = 0; p < this.slateCount[i]!; p++) s += this.itemReward(i, p, w);
    return s;
  }

  private writeCandidate(i: number, w: number, c: number, candidates: Int32Array, pairCounts: Float32Array): void {
    const slot = i * this.maxCandidates + w;
    this.candidates[slot] = candidates[c]!;
    this.pairCounts.set(pairCounts.subarray(c * PAIR_COUNT_DIM, (c + 1) * PAIR_COUNT_DIM), slot * PAIR_COUNT_DIM);
  }
}

/**
 * The immediate reward of one exposed item, shared by the request-level
 * baselines: r = click * w.click + log1p(watch seconds) * w.watchLog1p +
 * follow * w.follow + like * w.like. The request reward is the sum over the
 * slate.
 */
export interface RewardWeights {
  /** Weight of a click (valid play). */
  click: number;
  /** Weight of log1p(play seconds). */
  watchLog1p: number;
  /** Weight of a (first) follow. */
  follow: number;
  /** Weight of a like. */
  like: number;
}

/** Default: clicks plus watch time on a log scale (log1p(60 s) ~ 4.1, so a minute of watching weighs ~1 click). */
export const DEFAULT_REWARD_WEIGHTS: RewardWeights = { click: 1, watchLog1p: 0.25, follow: 0, like: 0 };

function validateSession(s: SessionTrace, replay: RequestReplay, numItems: number, numUsers: number): void {
  if (!s || !Array.isArray(s.requests)) throw new TypeError('observe: each session must be a SessionTrace with a requests array');
  if (s.requests.length > replay.capacity / 2) {
    throw new RangeError(`observe: a session of ${s.requests.length} requests does not fit in a replay of capacity ${replay.capacity}; raise replayCapacity`);
  }
  if (!(s.returnGapDays >= 0)) throw new RangeError(`observe: session of user ${s.user} has returnGapDays ${s.returnGapDays}; expected >= 0 or Infinity`);
  for (let t = 0; t < s.requests.length; t++) {
    const r = s.requests[t]!;
    const where = `observe: user ${s.user} session ${s.sessionIndex} request ${t}`;
    if (!(r.user >= 0 && r.user < numUsers)) throw new RangeError(`${where}: user ${r.user} is outside the catalog (0..${numUsers - 1})`);
    const n = r.candidates.length;
    if (r.summary.length < SESSION_SUMMARY_DIM) throw new RangeError(`${where}: summary has ${r.summary.length} values, expected ${SESSION_SUMMARY_DIM}`);
    if (r.candidatePairCounts.length < n * PAIR_COUNT_DIM) throw new RangeError(`${where}: candidatePairCounts has ${r.candidatePairCounts.length} values, expected ${n} x ${PAIR_COUNT_DIM}`);
    if (r.slate.length === 0 || r.slate.length > replay.maxSlate) throw new RangeError(`${where}: slate of ${r.slate.length} items; expected 1..${replay.maxSlate}`);
    for (let p = 0; p < r.slate.length; p++) {
      const c = r.slate[p]!;
      if (!(c >= 0 && c < n)) throw new RangeError(`${where}: slate position ${p} points at candidate ${c} of ${n}`);
    }
    for (let c = 0; c < n; c++) {
      const item = r.candidates[c]!;
      if (!(item >= 0 && item < numItems)) throw new RangeError(`${where}: candidate ${c} is item ${item}, outside the catalog (0..${numItems - 1})`);
    }
    if (r.responses.click.length < r.slate.length) throw new RangeError(`${where}: responses hold ${r.responses.click.length} entries for a slate of ${r.slate.length}`);
    for (let p = 0; p < r.slate.length; p++) {
      const play = r.responses.playTimeMs[p]!;
      const gift = r.responses.giftAmount[p]!;
      if (!(play >= 0 && play < Infinity) || !(gift >= 0 && gift < Infinity)) {
        throw new RangeError(`${where}: slate position ${p} has playTimeMs ${play} and giftAmount ${gift}; both must be finite and >= 0`);
      }
    }
  }
}
