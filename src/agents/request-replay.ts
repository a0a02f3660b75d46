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
 *
 * Snapshots (`save` / `load`, for exact `--resume`): format "RLIVRQRP"
 * version 1, little-endian:
 *
 *   0     8   magic "RLIVRQRP"
 *   8     4   version, uint32 (= 1)
 *   12    4   H = byte length of the JSON header, uint32
 *   16    H   JSON header {capacity, maxCandidates, maxSlate, summaryDim,
 *             pairDim, respDim, size, head, sessionsSeen, emptySessions,
 *             candidateTotal, slateTotal}
 *   ...       columns of the `size` stored entries (slots 0..size-1: a ring
 *             that has not wrapped fills 0..size-1, a wrapped one is full):
 *             user i32[size], candidateCount i32[size], slateCount i32[size],
 *             done u8[size], returnGapDays f32[size], summary f32[size x S],
 *             then per entry only its kept candidates / exposed slate:
 *             candidates i32[candidateTotal], pairCounts f32[candidateTotal x 7],
 *             responses f32[slateTotal x RESP_DIM]
 *   end-4 4   CRC-32 of every byte before it
 *
 * Only what is stored is written (not the capacity, not stale tails of
 * overwritten slots), so a snapshot is compact and the same state always
 * gives the same bytes.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import { crc32 } from '../numeric/params-io.js';
import type { Rng } from '../numeric/rng.js';
import { SESSION_SUMMARY_DIM, type SessionTrace } from '../environment/trace.js';

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

/** Thrown when replay snapshot bytes are corrupt or do not fit this replay; the replay is unchanged. */
export class RequestReplayFormatError extends Error {
  override name = 'RequestReplayFormatError';
}

/** Bounds a snapshot's ids must respect (the catalog the replay serves). */
export interface ReplayLimits {
  numUsers: number;
  numItems: number;
}

const SNAPSHOT_MAGIC = 'RLIVRQRP';
const SNAPSHOT_VERSION = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

interface SnapshotHeader {
  capacity: number;
  maxCandidates: number;
  maxSlate: number;
  summaryDim: number;
  pairDim: number;
  respDim: number;
  size: number;
  head: number;
  sessionsSeen: number;
  emptySessions: number;
  candidateTotal: number;
  slateTotal: number;
}

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

  /** Snapshot of everything stored plus the write position and counters (format in the file comment). */
  save(): Uint8Array {
    if (!LITTLE_ENDIAN) throw new RequestReplayFormatError('RequestReplay.save: snapshots are little-endian; this platform is big-endian');
    const n = this.size;
    let candidateTotal = 0;
    let slateTotal = 0;
    for (let i = 0; i < n; i++) {
      candidateTotal += this.candidateCount[i]!;
      slateTotal += this.slateCount[i]!;
    }
    const header: SnapshotHeader = {
      capacity: this.capacity,
      maxCandidates: this.maxCandidates,
      maxSlate: this.maxSlate,
      summaryDim: SESSION_SUMMARY_DIM,
      pairDim: PAIR_COUNT_DIM,
      respDim: RESP_DIM,
      size: n,
      head: this.head,
      sessionsSeen: this.sessionsSeen,
      emptySessions: this.emptySessions,
      candidateTotal,
      slateTotal,
    };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const total = 16 + json.length + payloadBytes(header) + 4;
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    for (let k = 0; k < 8; k++) out[k] = SNAPSHOT_MAGIC.charCodeAt(k);
    view.setUint32(8, SNAPSHOT_VERSION, true);
    view.setUint32(12, json.length, true);
    out.set(json, 16);
    let off = 16 + json.length;
    const put = (a: Int32Array | Float32Array | Uint8Array, from: number, count: number): void => {
      out.set(new Uint8Array(a.buffer, a.byteOffset + from * a.BYTES_PER_ELEMENT, count * a.BYTES_PER_ELEMENT), off);
      off += count * a.BYTES_PER_ELEMENT;
    };
    put(this.user, 0, n);
    put(this.candidateCount, 0, n);
    put(this.slateCount, 0, n);
    put(this.done, 0, n);
    put(this.returnGapDays, 0, n);
    put(this.summary, 0, n * SESSION_SUMMARY_DIM);
    for (let i = 0; i < n; i++) put(this.candidates, i * this.maxCandidates, this.candidateCount[i]!);
    for (let i = 0; i < n; i++) put(this.pairCounts, i * this.maxCandidates * PAIR_COUNT_DIM, this.candidateCount[i]! * PAIR_COUNT_DIM);
    for (let i = 0; i < n; i++) put(this.responses, i * this.maxSlate * RESP_DIM, this.slateCount[i]! * RESP_DIM);
    view.setUint32(off, crc32(out, 0, off), true);
    return out;
  }

  /** Restores what {@link save} wrote; throws RequestReplayFormatError and changes nothing on bad bytes. */
  load(bytes: Uint8Array, limits?: ReplayLimits): void {
    this.prepareLoad(bytes, limits)();
  }

  /**
   * Verifies `bytes` completely (checksum, dimensions, counts, id ranges,
   * finite values, ring invariants) without touching the replay, and returns
   * the function that installs them (which cannot fail). Agents verify every
   * part of their checkpoint first and commit all parts together.
   * `bytes = null` prepares an empty replay (checkpoints that predate
   * replay snapshots).
   */
  prepareLoad(bytes: Uint8Array | null, limits?: ReplayLimits): () => void {
    if (bytes === null) return () => this.install(null);
    const fail = (why: string): never => {
      throw new RequestReplayFormatError(`request replay snapshot: ${why}`);
    };
    if (!LITTLE_ENDIAN) fail('snapshots are little-endian; this platform is big-endian');
    if (!(bytes instanceof Uint8Array) || bytes.length < 20)
      fail(`expected the bytes of RequestReplay.save() (got ${bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes})`);
    const magic = String.fromCharCode(...bytes.subarray(0, 8));
    if (magic !== SNAPSHOT_MAGIC) fail(`bad magic "${magic.replace(/[^\x20-\x7e]/g, '?')}", expected "${SNAPSHOT_MAGIC}"`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint32(8, true);
    if (version !== SNAPSHOT_VERSION) fail(`format version ${version}, this build reads ${SNAPSHOT_VERSION}`);
    const end = bytes.length - 4;
    if (view.getUint32(end, true) !== crc32(bytes, 0, end)) fail('checksum mismatch: the bytes are corrupt or truncated');
    const hLen = view.getUint32(12, true);
    if (16 + hLen > end) fail(`header length ${hLen} runs past the end`);
    let h: SnapshotHeader;
    try {
      h = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + hLen))) as SnapshotHeader;
    } catch (err) {
      return fail(`header is not valid JSON (${(err as Error).message})`);
    }
    const keys: (keyof SnapshotHeader)[] = [
      'capacity',
      'maxCandidates',
      'maxSlate',
      'summaryDim',
      'pairDim',
      'respDim',
      'size',
      'head',
      'sessionsSeen',
      'emptySessions',
      'candidateTotal',
      'slateTotal',
    ];
    for (const k of keys) if (!h || !Number.isInteger(h[k]) || h[k] < 0) fail(`header field ${k} = ${JSON.stringify(h?.[k])}, expected a non-negative integer`);
    if (h.capacity !== this.capacity || h.maxCandidates !== this.maxCandidates || h.maxSlate !== this.maxSlate) {
      fail(
        `holds capacity/maxCandidates/maxSlate ${h.capacity}/${h.maxCandidates}/${h.maxSlate}, this replay ${this.capacity}/${this.maxCandidates}/${this.maxSlate}: build the agent with the checkpoint's config`,
      );
    }
    if (h.summaryDim !== SESSION_SUMMARY_DIM || h.pairDim !== PAIR_COUNT_DIM || h.respDim !== RESP_DIM) {
      fail(`summary/pair/response widths ${h.summaryDim}/${h.pairDim}/${h.respDim}, this build ${SESSION_SUMMARY_DIM}/${PAIR_COUNT_DIM}/${RESP_DIM}`);
    }
    const n = h.size;
    if (n > h.capacity || h.head >= h.capacity || (n < h.capacity && h.head !== n))
      fail(`size ${n} and write position ${h.head} are inconsistent for capacity ${h.capacity}`);
    if (h.emptySessions > h.sessionsSeen) fail(`${h.emptySessions} empty sessions of ${h.sessionsSeen} seen`);
    const bodyAt = 16 + hLen;
    if (bodyAt + payloadBytes(h) !== end) fail(`payload is ${end - bodyAt} bytes, the header describes ${payloadBytes(h)}`);

    // Aligned copies of each column (the payload is packed, not aligned).
    let off = bodyAt;
    const take = <T extends Int32Array | Float32Array | Uint8Array>(Ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, count: number): T => {
      const len = count * Ctor.BYTES_PER_ELEMENT;
      const a = new Ctor(bytes.buffer.slice(bytes.byteOffset + off, bytes.byteOffset + off + len) as ArrayBuffer);
      off += len;
      return a;
    };
    const snap: Snapshot = {
      header: h,
      user: take(Int32Array, n),
      candidateCount: take(Int32Array, n),
      slateCount: take(Int32Array, n),
      done: take(Uint8Array, n),
      returnGapDays: take(Float32Array, n),
      summary: take(Float32Array, n * SESSION_SUMMARY_DIM),
      candidates: take(Int32Array, h.candidateTotal),
      pairCounts: take(Float32Array, h.candidateTotal * PAIR_COUNT_DIM),
      responses: take(Float32Array, h.slateTotal * RESP_DIM),
    };
    let candidateTotal = 0;
    let slateTotal = 0;
    for (let i = 0; i < n; i++) {
      const k = snap.slateCount[i]!;
      const c = snap.candidateCount[i]!;
      if (!(k >= 1 && k <= h.maxSlate && c >= k && c <= h.maxCandidates))
        fail(`entry ${i} keeps ${c} candidates for a slate of ${k} (limits ${h.maxCandidates}, ${h.maxSlate})`);
      if (snap.done[i]! > 1) fail(`entry ${i} has done flag ${snap.done[i]}`);
      if (!(snap.returnGapDays[i]! >= 0)) fail(`entry ${i} has returnGapDays ${snap.returnGapDays[i]}`);
      if (limits && !(snap.user[i]! >= 0 && snap.user[i]! < limits.numUsers))
        fail(`entry ${i} has user ${snap.user[i]}, outside the catalog (0..${limits.numUsers - 1})`);
      candidateTotal += c;
      slateTotal += k;
    }
    if (candidateTotal !== h.candidateTotal || slateTotal !== h.slateTotal)
      fail(`per-entry counts sum to ${candidateTotal} candidates / ${slateTotal} exposures, the header says ${h.candidateTotal} / ${h.slateTotal}`);
    // next(i) must stay inside a session: the newest entry always ends one.
    if (n > 0 && snap.done[(h.head - 1 + h.capacity) % h.capacity]! !== 1) fail('the newest entry does not end a session');
    if (limits) {
      for (let j = 0; j < candidateTotal; j++) {
        const item = snap.candidates[j]!;
        if (!(item >= 0 && item < limits.numItems)) fail(`stored candidate ${j} is item ${item}, outside the catalog (0..${limits.numItems - 1})`);
      }
    }
    for (const [what, a] of [
      ['summary', snap.summary],
      ['pairCounts', snap.pairCounts],
      ['responses', snap.responses],
    ] as const) {
      for (let j = 0; j < a.length; j++) if (!Number.isFinite(a[j]!)) fail(`${what} value ${j} is ${a[j]}`);
    }
    return () => this.install(snap);
  }

  /** Replaces the contents with a verified snapshot (null = empty). */
  private install(snap: Snapshot | null): void {
    this.user.fill(0);
    this.summary.fill(0);
    this.candidates.fill(0);
    this.candidateCount.fill(0);
    this.pairCounts.fill(0);
    this.slateCount.fill(0);
    this.responses.fill(0);
    this.done.fill(0);
    this.returnGapDays.fill(0);
    if (snap === null) {
      this.size = this.head = this.sessionsSeen = this.emptySessions = 0;
      return;
    }
    const h = snap.header;
    const n = h.size;
    this.user.set(snap.user);
    this.candidateCount.set(snap.candidateCount);
    this.slateCount.set(snap.slateCount);
    this.done.set(snap.done);
    this.returnGapDays.set(snap.returnGapDays);
    this.summary.set(snap.summary);
    let c0 = 0;
    let s0 = 0;
    for (let i = 0; i < n; i++) {
      const c = snap.candidateCount[i]!;
      const k = snap.slateCount[i]!;
      this.candidates.set(snap.candidates.subarray(c0, c0 + c), i * this.maxCandidates);
      this.pairCounts.set(snap.pairCounts.subarray(c0 * PAIR_COUNT_DIM, (c0 + c) * PAIR_COUNT_DIM), i * this.maxCandidates * PAIR_COUNT_DIM);
      this.responses.set(snap.responses.subarray(s0 * RESP_DIM, (s0 + k) * RESP_DIM), i * this.maxSlate * RESP_DIM);
      c0 += c;
      s0 += k;
    }
    this.size = n;
    this.head = h.head;
    this.sessionsSeen = h.sessionsSeen;
    this.emptySessions = h.emptySessions;
  }

  private writeCandidate(i: number, w: number, c: number, candidates: Int32Array, pairCounts: Float32Array): void {
    const slot = i * this.maxCandidates + w;
    this.candidates[slot] = candidates[c]!;
    this.pairCounts.set(pairCounts.subarray(c * PAIR_COUNT_DIM, (c + 1) * PAIR_COUNT_DIM), slot * PAIR_COUNT_DIM);
  }
}

/** A verified, decoded snapshot (columns packed as in the file). */
interface Snapshot {
  header: SnapshotHeader;
  user: Int32Array;
  candidateCount: Int32Array;
  slateCount: Int32Array;
  done: Uint8Array;
  returnGapDays: Float32Array;
  summary: Float32Array;
  candidates: Int32Array;
  pairCounts: Float32Array;
  responses: Float32Array;
}

/** Bytes of a snapshot's columns (between the header and the checksum). */
function payloadBytes(h: SnapshotHeader): number {
  return h.size * (4 + 4 + 4 + 1 + 4 + 4 * h.summaryDim) + h.candidateTotal * 4 * (1 + h.pairDim) + h.slateTotal * 4 * h.respDim;
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
    if (r.candidatePairCounts.length < n * PAIR_COUNT_DIM)
      throw new RangeError(`${where}: candidatePairCounts has ${r.candidatePairCounts.length} values, expected ${n} x ${PAIR_COUNT_DIM}`);
    if (r.slate.length === 0 || r.slate.length > replay.maxSlate)
      throw new RangeError(`${where}: slate of ${r.slate.length} items; expected 1..${replay.maxSlate}`);
    for (let p = 0; p < r.slate.length; p++) {
      const c = r.slate[p]!;
      if (!(c >= 0 && c < n)) throw new RangeError(`${where}: slate position ${p} points at candidate ${c} of ${n}`);
    }
    for (let c = 0; c < n; c++) {
      const item = r.candidates[c]!;
      if (!(item >= 0 && item < numItems)) throw new RangeError(`${where}: candidate ${c} is item ${item}, outside the catalog (0..${numItems - 1})`);
    }
    if (r.responses.click.length < r.slate.length)
      throw new RangeError(`${where}: responses hold ${r.responses.click.length} entries for a slate of ${r.slate.length}`);
    for (let p = 0; p < r.slate.length; p++) {
      const play = r.responses.playTimeMs[p]!;
      const gift = r.responses.giftAmount[p]!;
      if (!(play >= 0 && play < Infinity) || !(gift >= 0 && gift < Infinity)) {
        throw new RangeError(`${where}: slate position ${p} has playTimeMs ${play} and giftAmount ${gift}; both must be finite and >= 0`);
      }
    }
  }
}
