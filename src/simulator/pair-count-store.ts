/**
 * The lifelong relationship state of every user-author pair the environment
 * has seen: the count vector f_ua (layout of src/data/interaction-kinds.ts),
 * plus the days on which the user gifted the author, so "deep" pairs (a
 * follow and gifts on at least 2 distinct days) can be counted per user.
 *
 * Rows live in one growable Float32Array, found through an open-addressing
 * hash table over (user, author) in typed arrays (linear probing, load <= 1/2):
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
  /** Hash slots, interleaved [user, author, row] (row -1 = empty) so one probe touches one cache line. */
  private slots: Int32Array;
  private mask: number;
  private readonly pairsOfUser: Int32Array;
  private readonly deepPairsOfUser: Int32Array;
  private readonly followsOfUser: Int32Array;

  constructor(readonly numUsers: number, initialCapacity = 1024) {
    this.counts = new Float32Array(initialCapacity * PAIR_COUNT_DIM);
    this.giftDays = new Int32Array(initialCapacity);
    this.lastGiftDay = new Int32Array(initialCapacity).fill(-1);
    const slots = 1 << Math.max(4, Math.ceil(Math.log2(initialCapacity * 2)));
    this.slots = emptySlots(slots);
    this.mask = slots - 1;
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
    const t = this.slots;
    let i = hashPair(user, author) & this.mask;
    for (;;) {
      const o = i * 3;
      const r = t[o + 2]!;
      if (r < 0) return -1;
      if (t[o] === user && t[o + 1] === author) return r;
      i = (i + 1) & this.mask;
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
    const r = this.rowOf(user, author);
    if (r < 0) return;
    const base = r * PAIR_COUNT_DIM;
    const c = this.counts;
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
    const r = this.ensureRow(user, author);
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
    return firstFollow;
  }

  private isDeepRow(r: number): boolean {
    return this.counts[r * PAIR_COUNT_DIM + PC_FOLLOW] === 1 && this.giftDays[r]! >= DEEP_PAIR_MIN_GIFT_DAYS;
  }

  private ensureRow(user: number, author: number): number {
    if (!(user >= 0 && user < this.numUsers)) throw new RangeError(`PairCountStore: user ${user} outside [0, ${this.numUsers})`);
    const t = this.slots;
    let i = hashPair(user, author) & this.mask;
    for (;;) {
      const o = i * 3;
      const r = t[o + 2]!;
      if (r < 0) break;
      if (t[o] === user && t[o + 1] === author) return r;
      i = (i + 1) & this.mask;
    }
    const r = this.rows++;
    if (r >= this.giftDays.length) this.grow();
    t[i * 3] = user;
    t[i * 3 + 1] = author;
    t[i * 3 + 2] = r;
    this.pairsOfUser[user]!++;
    if (this.rows * 2 > this.mask + 1) this.rehash();
    return r;
  }

  private rehash(): void {
    const old = this.slots;
    const slots = (this.mask + 1) * 2;
    const t = emptySlots(slots);
    this.mask = slots - 1;
    for (let o = 0; o < old.length; o += 3) {
      if (old[o + 2]! < 0) continue;
      let i = hashPair(old[o]!, old[o + 1]!) & this.mask;
      while (t[i * 3 + 2]! >= 0) i = (i + 1) & this.mask;
      t[i * 3] = old[o]!;
      t[i * 3 + 1] = old[o + 1]!;
      t[i * 3 + 2] = old[o + 2]!;
    }
    this.slots = t;
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

/** 32-bit mix of a (user, author) pair for the hash table. */
function hashPair(user: number, author: number): number {
  let h = Math.imul(user, 0x9e3779b1) ^ Math.imul(author, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

function emptySlots(slots: number): Int32Array {
  const t = new Int32Array(slots * 3);
  for (let o = 2; o < t.length; o += 3) t[o] = -1;
  return t;
}
