/**
 * The lifelong relationship state of every user-author pair the environment
 * has seen: the count vector f_ua (layout of src/data/interaction-kinds.ts),
 * plus the days on which the user gifted the author, so "deep" pairs (a
 * follow and gifts on at least 2 distinct days) can be counted per user.
 *
 * Rows live in one growable Float32Array, found through per-user
 * open-addressing hash tables over authors in one typed-array pool (linear
 * probing, load <= 1/2):
 * the environment looks up every candidate of every request, and this is
 * several times faster than a JS Map. Memory grows with the pairs actually
 * touched, not users x authors.
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
import type { ResponseBatch } from '../world/response.js';

// Imported constants copied to module locals: hot loops read them as plain constants.
const PAIR_COUNT_DIM = PAIR_COUNT_DIM_;
const PC_CLICK = PC_CLICK_;
const PC_COMMENT = PC_COMMENT_;
const PC_FOLLOW = PC_FOLLOW_;
const PC_GIFT = PC_GIFT_;
const PC_LIKE = PC_LIKE_;
const PC_LONG_VIEW = PC_LONG_VIEW_;
const PC_WATCH_TIME = PC_WATCH_TIME_;

/** Minimum number of distinct gifting days, together with a follow, for a pair to count as deep. */
export const DEEP_PAIR_MIN_GIFT_DAYS = 2;

export class PairCountStore {
  private counts: Float32Array;
  private giftDays: Int32Array;
  private lastGiftDay: Int32Array;
  private rows = 0;
  /**
   * One small open-addressing table per user, all in one pool: entries
   * interleaved [author, row, local] (row -1 = empty; local = the pair's
   * index among the user's pairs). A request's lookups (one user, N
   * candidates) then stay within that user's few cache lines instead of
   * missing all over one global table. A grown table moves to the end of the
   * pool (the old region is left unused).
   */
  private pool: Int32Array;
  private poolUsed = 0;
  /** Start (in entries) of each user's table in the pool. */
  private readonly tableStart: Int32Array;
  /** Capacity (entries, power of two; 0 = no table yet) of each user's table. */
  private readonly tableCap: Int32Array;
  /**
   * A copy of each user's count rows, contiguous per user (row `local` of the
   * user's region, capacity tableCap / 2 rows), so reading a request's f_ua
   * stays local too; kept equal to `counts` by {@link add}.
   */
  private mirror: Float32Array;
  private mirrorUsed = 0;
  private readonly mirrorStart: Int32Array;
  private readonly pairsOfUser: Int32Array;
  private readonly deepPairsOfUser: Int32Array;
  private readonly followsOfUser: Int32Array;

  constructor(readonly numUsers: number, initialCapacity = 1024) {
    this.counts = new Float32Array(initialCapacity * PAIR_COUNT_DIM);
    this.giftDays = new Int32Array(initialCapacity);
    this.lastGiftDay = new Int32Array(initialCapacity).fill(-1);
    this.pool = emptySlots(Math.max(64, initialCapacity * 2));
    this.tableStart = new Int32Array(numUsers);
    this.tableCap = new Int32Array(numUsers);
    this.mirror = new Float32Array(Math.max(64, initialCapacity) * PAIR_COUNT_DIM);
    this.mirrorStart = new Int32Array(numUsers);
    this.pairsOfUser = new Int32Array(numUsers);
    this.deepPairsOfUser = new Int32Array(numUsers);
    this.followsOfUser = new Int32Array(numUsers);
  }

  /** Number of pairs with a row (touched at least once). */
  get size(): number {
    return this.rows;
  }

  /** True when the user has touched any pair. */
  hasUser(user: number): boolean {
    return this.pairsOfUser[user]! > 0;
  }

  /** Pairs of this user with a row. */
  pairsOf(user: number): number {
    return this.pairsOfUser[user]!;
  }

  /** Row of the pair, or -1 when it was never touched. */
  rowOf(user: number, author: number): number {
    const o = this.entryOf(user, author);
    return o < 0 ? -1 : this.pool[o + 1]!;
  }

  /** Offset in the pool of the pair's entry, or -1 when it was never touched. */
  private entryOf(user: number, author: number): number {
    const cap = this.tableCap[user]!;
    if (cap === 0) return -1;
    const t = this.pool;
    const start = this.tableStart[user]!;
    const mask = cap - 1;
    let i = hashAuthor(author) & mask;
    for (;;) {
      const o = (start + i) * 3;
      if (t[o + 1]! < 0) return -1;
      if (t[o] === author) return o;
      i = (i + 1) & mask;
    }
  }

  /** Copies f_ua into out[offset .. offset + PAIR_COUNT_DIM) (zeros for an unseen pair). */
  read(user: number, author: number, out: Float32Array, offset: number): void {
    const r = this.rowOf(user, author);
    if (r < 0) {
      out.fill(0, offset, offset + PAIR_COUNT_DIM);
      return;
    }
    const base = r * PAIR_COUNT_DIM;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) out[offset + k] = this.counts[base + k]!;
  }

  /** Like {@link read} but leaves `out` untouched for an unseen pair (for zero-initialized buffers). */
  readIfSeen(user: number, author: number, out: Float32Array, offset: number): void {
    const o = this.entryOf(user, author);
    if (o < 0) return;
    const base = (this.mirrorStart[user]! + this.pool[o + 2]!) * PAIR_COUNT_DIM;
    const c = this.mirror;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) out[offset + k] = c[base + k]!;
  }

  /** A fresh copy of f_ua (zeros for an unseen pair). */
  get(user: number, author: number): Float32Array {
    const out = new Float32Array(PAIR_COUNT_DIM);
    this.read(user, author, out, 0);
    return out;
  }

  /** Distinct days on which the user gifted the author. */
  giftDaysOf(user: number, author: number): number {
    const r = this.rowOf(user, author);
    return r < 0 ? 0 : this.giftDays[r]!;
  }

  /** Pairs of this user with a follow and gifts on >= 2 days. */
  deepPairs(user: number): number {
    return this.deepPairsOfUser[user]!;
  }

  /** Authors this user follows. */
  follows(user: number): number {
    return this.followsOfUser[user]!;
  }

  /** Total deep pairs over all users. */
  totalDeepPairs(): number {
    let s = 0;
    for (let u = 0; u < this.numUsers; u++) s += this.deepPairsOfUser[u]!;
    return s;
  }

  /**
   * Adds the response at index `i` of `responses` to the pair's counts:
   * click, longView, like, comment += flag; follow = max(follow, flag); gift
   * += 1 when an amount was given (and the gifting day is recorded); watch
   * time += play seconds. Returns true when the response was a first follow
   * (false for a repeated follow flag, which is ignored).
   */
  add(user: number, author: number, responses: ResponseBatch, i: number, day: number): boolean {
    const entry = this.ensureEntry(user, author);
    const r = this.pool[entry + 1]!;
    const local = this.pool[entry + 2]!;
    const base = r * PAIR_COUNT_DIM;
    const c = this.counts;
    const wasDeep = this.isDeepRow(r);
    c[base + PC_CLICK]! += responses.click[i]!;
    c[base + PC_LONG_VIEW]! += responses.longView[i]!;
    c[base + PC_LIKE]! += responses.like[i]!;
    c[base + PC_COMMENT]! += responses.comment[i]!;
    c[base + PC_WATCH_TIME]! += responses.playTimeMs[i]! / 1000;
    let firstFollow = false;
    if (responses.follow[i] === 1 && c[base + PC_FOLLOW] === 0) {
      c[base + PC_FOLLOW] = 1;
      this.followsOfUser[user]!++;
      firstFollow = true;
    }
    if (responses.giftAmount[i]! > 0) {
      c[base + PC_GIFT]! += 1;
      if (this.lastGiftDay[r] !== day) {
        this.lastGiftDay[r] = day;
        this.giftDays[r]!++;
      }
    }
    if (!wasDeep && this.isDeepRow(r)) this.deepPairsOfUser[user]!++;
    const m = this.mirror;
    const mBase = (this.mirrorStart[user]! + local) * PAIR_COUNT_DIM;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) m[mBase + k] = c[base + k]!;
    return firstFollow;
  }

  private isDeepRow(r: number): boolean {
    return this.counts[r * PAIR_COUNT_DIM + PC_FOLLOW] === 1 && this.giftDays[r]! >= DEEP_PAIR_MIN_GIFT_DAYS;
  }

  /** Pool offset of the pair's entry, creating the pair (zero counts) if new. */
  private ensureEntry(user: number, author: number): number {
    if (!(user >= 0 && user < this.numUsers)) throw new RangeError(`PairCountStore: user ${user} outside [0, ${this.numUsers})`);
    const existing = this.entryOf(user, author);
    if (existing >= 0) return existing;
    const r = this.rows++;
    if (r >= this.giftDays.length) this.grow();
    const local = this.pairsOfUser[user]!;
    if ((local + 1) * 2 > this.tableCap[user]!) this.growTable(user, Math.max(8, this.tableCap[user]! * 2));
    const o = this.insert(user, author, r, local);
    this.pairsOfUser[user] = local + 1;
    return o;
  }

  /** Puts (author, row, local) into the user's table (which has room and lacks the author); returns its offset. */
  private insert(user: number, author: number, row: number, local: number): number {
    const t = this.pool;
    const start = this.tableStart[user]!;
    const mask = this.tableCap[user]! - 1;
    let i = hashAuthor(author) & mask;
    while (t[(start + i) * 3 + 1]! >= 0) i = (i + 1) & mask;
    const o = (start + i) * 3;
    t[o] = author;
    t[o + 1] = row;
    t[o + 2] = local;
    return o;
  }

  /** Moves the user's table (and count mirror) to fresh regions at the end of the pools; the table gets `cap` entries. */
  private growTable(user: number, cap: number): void {
    const oldStart = this.tableStart[user]!;
    const oldCap = this.tableCap[user]!;
    if ((this.poolUsed + cap) * 3 > this.pool.length) {
      let len = this.pool.length / 3;
      while (this.poolUsed + cap > len) len *= 2;
      const p = emptySlots(len);
      p.set(this.pool);
      this.pool = p;
    }
    this.tableStart[user] = this.poolUsed;
    this.tableCap[user] = cap;
    this.poolUsed += cap;
    const t = this.pool;
    for (let i = 0; i < oldCap; i++) {
      const o = (oldStart + i) * 3;
      if (t[o + 1]! >= 0) this.insert(user, t[o]!, t[o + 1]!, t[o + 2]!);
    }
    const mRows = cap >> 1;
    if ((this.mirrorUsed + mRows) * PAIR_COUNT_DIM > this.mirror.length) {
      let len = this.mirror.length;
      while ((this.mirrorUsed + mRows) * PAIR_COUNT_DIM > len) len *= 2;
      const m = new Float32Array(len);
      m.set(this.mirror);
      this.mirror = m;
    }
    const oldM = this.mirrorStart[user]!;
    const n = this.pairsOfUser[user]!;
    this.mirror.copyWithin(this.mirrorUsed * PAIR_COUNT_DIM, oldM * PAIR_COUNT_DIM, (oldM + n) * PAIR_COUNT_DIM);
    this.mirrorStart[user] = this.mirrorUsed;
    this.mirrorUsed += mRows;
  }

  private grow(): void {
    const cap = this.giftDays.length * 2;
    const counts = new Float32Array(cap * PAIR_COUNT_DIM);
    counts.set(this.counts);
    this.counts = counts;
    const gd = new Int32Array(cap);
    gd.set(this.giftDays);
    this.giftDays = gd;
    const lg = new Int32Array(cap).fill(-1);
    lg.set(this.lastGiftDay);
    this.lastGiftDay = lg;
  }
}

/** 32-bit mix of an author id for a user's table. */
function hashAuthor(author: number): number {
  let h = Math.imul(author, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** `entries` empty [author, row, local] entries (row -1). */
function emptySlots(entries: number): Int32Array {
  const t = new Int32Array(entries * 3);
  for (let o = 1; o < t.length; o += 3) t[o] = -1;
  return t;
}
