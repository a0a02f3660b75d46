/**
 * The lifelong relationship state of every user-author pair the environment
 * has seen: the count vector f_ua (layout of src/data/interaction-kinds.ts),
 * plus the days on which the user gifted the author, so "deep" pairs (a
 * follow and gifts on at least 2 distinct days) can be counted per user.
 *
 * Each user's pairs live in a contiguous region of typed-array pools, found
 * through a per-user open-addressing table over authors (linear probing,
 * load <= 1/2): the environment looks up every candidate of every request,
 * and this is several times faster than a JS Map. Memory grows with the pairs actually
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

/** Largest per-user table (entries) that readItems streams into cache before probing (~11 KB of keys, locals and rows). */
const PREFETCH_MAX_TABLE = 512;
/** Smallest per-user table (entries); a user's table holds at most half as many pairs. */
const MIN_TABLE = 32;

export class PairCountStore {
  /**
   * One small open-addressing table per user, all in one pool: `keys` holds
   * author + 1 (0 = empty, so a fresh zeroed pool needs no filling) and
   * `locals` the pair's index among the user's pairs. Keys alone are probed,
   * 4 bytes an entry: a request's N lookups touch one user's few cache lines
   * instead of missing all over one global table. A grown table moves to a
   * region of its new size that another table left free, or to the end of
   * the pool; its old region goes to a free list (see growUser).
   */
  private keys: Int32Array;
  private locals: Int32Array;
  private poolUsed = 0;
  /** Start (in entries) of each user's table in the pool. */
  private readonly tableStart: Int32Array;
  /** Capacity (entries, power of two; 0 = no table yet) of each user's table. */
  private readonly tableCap: Int32Array;
  /**
   * Per-pair state, contiguous per user (pair `local` of the user's region,
   * capacity tableCap / 2 pairs), moved with the table: the f_ua rows
   * (PAIR_COUNT_DIM floats), the number of distinct gifting days and the
   * last gifting day.
   */
  private counts: Float32Array;
  private giftDays: Int32Array;
  private lastGiftDay: Int32Array;
  /** The author of each pair row (moved with the rows), so a user's authors can be listed without walking the table. */
  private rowAuthor: Int32Array;
  private rowsUsed = 0;
  /**
   * readItems' author-indexed scratch, two entries per author: [mark, row].
   * A request marks its user's authors once, then each candidate is one
   * direct lookup instead of a hash probe (grown to the largest author id
   * stored; an author beyond it was never stored, so it is unseen).
   */
  private authorMarks: Int32Array = new Int32Array(0);
  /** Regions left by grown tables, per log2(table capacity): [tableStart, rowStart, ...]. */
  private readonly freeRegions: number[][] = [];
  private markValue = 0;
  private readonly rowStart: Int32Array;
  private readonly pairsOfUser: Int32Array;
  private readonly deepPairsOfUser: Int32Array;
  private readonly followsOfUser: Int32Array;
  private pairs = 0;

  constructor(
    readonly numUsers: number,
    initialCapacity = 1024,
  ) {
    const cap = Math.max(64, initialCapacity);
    this.keys = new Int32Array(cap * 2);
    this.locals = new Int32Array(cap * 2);
    this.tableStart = new Int32Array(numUsers);
    this.tableCap = new Int32Array(numUsers);
    this.counts = new Float32Array(cap * PAIR_COUNT_DIM);
    this.giftDays = new Int32Array(cap);
    this.lastGiftDay = new Int32Array(cap);
    this.rowAuthor = new Int32Array(cap);
    this.rowStart = new Int32Array(numUsers);
    this.pairsOfUser = new Int32Array(numUsers);
    this.deepPairsOfUser = new Int32Array(numUsers);
    this.followsOfUser = new Int32Array(numUsers);
  }

  /** A deep copy: the same pairs and counts, independent from here on (an environment starting after a logged history). */
  clone(): PairCountStore {
    const c = new PairCountStore(this.numUsers, 64);
    c.keys = this.keys.slice();
    c.locals = this.locals.slice();
    c.poolUsed = this.poolUsed;
    c.tableStart.set(this.tableStart);
    c.tableCap.set(this.tableCap);
    c.counts = this.counts.slice();
    c.giftDays = this.giftDays.slice();
    c.lastGiftDay = this.lastGiftDay.slice();
    c.rowAuthor = this.rowAuthor.slice();
    c.rowsUsed = this.rowsUsed;
    c.authorMarks = this.authorMarks.slice();
    for (const [k, list] of this.freeRegions.entries()) if (list) c.freeRegions[k] = list.slice();
    c.markValue = this.markValue;
    c.rowStart.set(this.rowStart);
    c.pairsOfUser.set(this.pairsOfUser);
    c.deepPairsOfUser.set(this.deepPairsOfUser);
    c.followsOfUser.set(this.followsOfUser);
    c.pairs = this.pairs;
    return c;
  }

  /**
   * A store holding only `users`' pairs of this one, copied (every other
   * user starts with none): for an environment that will run only those
   * users, at the cost of their pairs instead of the whole store.
   */
  cloneUsers(users: ArrayLike<number>): PairCountStore {
    const c = new PairCountStore(this.numUsers);
    for (let j = 0; j < users.length; j++) {
      const u = users[j]!;
      if (!(u >= 0 && u < this.numUsers)) throw new RangeError(`cloneUsers: user ${u} outside [0, ${this.numUsers})`);
      if (c.pairsOfUser[u]! > 0) continue;
      for (let local = 0; local < this.pairsOfUser[u]!; local++) {
        const from = this.rowStart[u]! + local;
        const created = c.ensurePair(u, this.rowAuthor[from]!); // may move the user's rows: read rowStart after
        const at = c.rowStart[u]! + created;
        c.counts.set(this.counts.subarray(from * PAIR_COUNT_DIM, (from + 1) * PAIR_COUNT_DIM), at * PAIR_COUNT_DIM);
        c.giftDays[at] = this.giftDays[from]!;
        c.lastGiftDay[at] = this.lastGiftDay[from]!;
      }
      c.followsOfUser[u] = this.followsOfUser[u]!;
      c.deepPairsOfUser[u] = this.deepPairsOfUser[u]!;
    }
    return c;
  }

  /** Number of pairs with a row (touched at least once). */
  get size(): number {
    return this.pairs;
  }

  /** True when the user has touched any pair. */
  hasUser(user: number): boolean {
    return this.pairsOfUser[user]! > 0;
  }

  /** Pairs of this user with a row. */
  pairsOf(user: number): number {
    return this.pairsOfUser[user]!;
  }

  /** Index of the pair among the user's pairs (0 .. pairsOf - 1, in order of first touch), or -1 when it was never touched. */
  rowOf(user: number, author: number): number {
    const cap = this.tableCap[user]!;
    if (cap === 0) return -1;
    const keys = this.keys;
    const start = this.tableStart[user]!;
    const mask = cap - 1;
    const key = author + 1;
    let i = hashAuthor(author) & mask;
    for (;;) {
      const k = keys[start + i]!;
      if (k === key) return this.locals[start + i]!;
      if (k === 0) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Copies f_ua into out[offset .. offset + PAIR_COUNT_DIM) (zeros for an unseen pair). */
  read(user: number, author: number, out: Float32Array, offset: number): void {
    out.fill(0, offset, offset + PAIR_COUNT_DIM);
    this.readIfSeen(user, author, out, offset);
  }

  /** Like {@link read} but leaves `out` untouched for an unseen pair (for zero-initialized buffers). */
  readIfSeen(user: number, author: number, out: Float32Array, offset: number): void {
    const local = this.rowOf(user, author);
    if (local < 0) return;
    const base = (this.rowStart[user]! + local) * PAIR_COUNT_DIM;
    const c = this.counts;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) out[offset + k] = c[base + k]!;
  }

  /**
   * f_ua of the author of each of `items` for one user, into
   * out[offset + i * PAIR_COUNT_DIM ...] — what a request's N candidates
   * need, in one call. Unseen pairs are left untouched (`out` must be
   * zeroed there).
   */
  readItems(user: number, items: Int32Array, itemAuthor: Int32Array, out: Float32Array, offset: number): void {
    const pairs = this.pairsOfUser[user]!;
    if (pairs === 0) return;
    // A user with few pairs (the common case) marks their authors in the
    // author-indexed scratch, then every candidate is one direct lookup: no
    // hash, no probe loop whose length the branch predictor cannot guess.
    // A user with many more pairs than candidates is probed instead.
    if (pairs > items.length * 2) {
      this.probeItems(user, items, itemAuthor, out, offset);
      return;
    }
    const marks = this.authorMarks;
    if (++this.markValue >= 0x7fffffff) {
      marks.fill(0);
      this.markValue = 1;
    }
    const mark = this.markValue;
    const rowAuthor = this.rowAuthor;
    const rowBase = this.rowStart[user]!;
    for (let r = rowBase; r < rowBase + pairs; r++) {
      const a2 = rowAuthor[r]! << 1;
      marks[a2] = mark;
      marks[a2 + 1] = r;
    }
    const c = this.counts;
    // The copies below go in candidate order: bring the (cold) rows in first.
    this.touchSink = this.streamRows(rowBase, pairs);
    const limit = marks.length;
    for (let n = 0; n < items.length; n++) {
      const a2 = itemAuthor[items[n]!]! << 1;
      if (a2 >= limit || marks[a2] !== mark) continue;
      const base = marks[a2 + 1]! * PAIR_COUNT_DIM;
      const o = offset + n * PAIR_COUNT_DIM;
      for (let q = 0; q < PAIR_COUNT_DIM; q++) out[o + q] = c[base + q]!;
    }
  }

  /** {@link readItems} by probing the user's table for each item (for users with many pairs). */
  private probeItems(user: number, items: Int32Array, itemAuthor: Int32Array, out: Float32Array, offset: number): void {
    const cap = this.tableCap[user]!; // > 0: readItems calls this only for a user with pairs
    const keys = this.keys;
    const locals = this.locals;
    const c = this.counts;
    const start = this.tableStart[user]!;
    const end = start + cap;
    const rowBase = this.rowStart[user]!;
    const mask = cap - 1;
    // Stream a small user region (keys, locals, rows) once first: a
    // sequential pass lets the hardware prefetcher bring it in, where N
    // random probes into a cold table would each wait for memory. A large
    // region (a user with hundreds of pairs) costs more to stream than the
    // probes' misses, so it is probed directly.
    if (cap <= PREFETCH_MAX_TABLE) {
      let touch = 0;
      for (let e = start; e < end; e += 16) touch |= keys[e]!;
      for (let e = start; e < end; e += 16) touch |= locals[e]!;
      this.touchSink = touch + this.streamRows(rowBase, this.pairsOfUser[user]!);
    }
    for (let n = 0; n < items.length; n++) {
      const author = itemAuthor[items[n]!]!;
      const key = author + 1;
      let i = hashAuthor(author) & mask;
      for (;;) {
        const k = keys[start + i]!;
        if (k === key) {
          const base = (rowBase + locals[start + i]!) * PAIR_COUNT_DIM;
          const o = offset + n * PAIR_COUNT_DIM;
          for (let q = 0; q < PAIR_COUNT_DIM; q++) out[o + q] = c[base + q]!;
          break;
        }
        if (k === 0) break;
        i = (i + 1) & mask;
      }
    }
  }

  /**
   * Reads one float per cache line of the f_ua rows [rowBase, rowBase + rows):
   * a sequential pass the hardware prefetcher follows, so the random reads
   * that come next hit cache instead of each waiting for memory. Returns
   * the sum read, for the caller to keep in {@link touchSink}.
   */
  private streamRows(rowBase: number, rows: number): number {
    const c = this.counts;
    let touch = 0;
    for (let e = rowBase * PAIR_COUNT_DIM, end = (rowBase + rows) * PAIR_COUNT_DIM; e < end; e += 16) touch += c[e]!;
    return touch;
  }

  /** Keeps the prefetch passes of {@link readItems} from being optimized away. */
  private touchSink = 0;

  /** A fresh copy of f_ua (zeros for an unseen pair). */
  get(user: number, author: number): Float32Array {
    const out = new Float32Array(PAIR_COUNT_DIM);
    this.read(user, author, out, 0);
    return out;
  }

  /** Distinct days on which the user gifted the author. */
  giftDaysOf(user: number, author: number): number {
    const local = this.rowOf(user, author);
    return local < 0 ? 0 : this.giftDays[this.rowStart[user]! + local]!;
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
    const local = this.ensurePair(user, author); // may move the user's region: read rowStart after
    const r = this.rowStart[user]! + local;
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
      // lastGiftDay holds day + 1 (0 = never), so a fresh zeroed region needs no filling.
      if (this.lastGiftDay[r] !== day + 1) {
        this.lastGiftDay[r] = day + 1;
        this.giftDays[r]!++;
      }
    }
    if (!wasDeep && this.isDeepRow(r)) this.deepPairsOfUser[user]!++;
    return firstFollow;
  }

  private isDeepRow(r: number): boolean {
    return this.counts[r * PAIR_COUNT_DIM + PC_FOLLOW] === 1 && this.giftDays[r]! >= DEEP_PAIR_MIN_GIFT_DAYS;
  }

  /** The pair's index among the user's pairs, creating the pair (zero counts) if new. */
  private ensurePair(user: number, author: number): number {
    if (!(user >= 0 && user < this.numUsers)) throw new RangeError(`PairCountStore: user ${user} outside [0, ${this.numUsers})`);
    const existing = this.rowOf(user, author);
    if (existing >= 0) return existing;
    const local = this.pairsOfUser[user]!;
    if ((local + 1) * 2 > this.tableCap[user]!) this.growUser(user, Math.max(MIN_TABLE, this.tableCap[user]! * 2));
    this.insert(user, author, local);
    this.rowAuthor[this.rowStart[user]! + local] = author;
    if (author << 1 >= this.authorMarks.length) this.authorMarks = grownInt32(this.authorMarks, Math.max(2 * (author + 1), this.authorMarks.length * 2));
    this.pairsOfUser[user] = local + 1;
    this.pairs++;
    return local;
  }

  /** Puts (author, local) into the user's table (which has room and lacks the author). */
  private insert(user: number, author: number, local: number): void {
    const keys = this.keys;
    const start = this.tableStart[user]!;
    const mask = this.tableCap[user]! - 1;
    let i = hashAuthor(author) & mask;
    while (keys[start + i] !== 0) i = (i + 1) & mask;
    keys[start + i] = author + 1;
    this.locals[start + i] = local;
  }

  /**
   * Moves the user's table and pair rows to regions for a `cap`-entry table:
   * one left free by another user's growth when there is one (so the pools
   * stop growing once users' tables stop growing), else fresh ones at the
   * end of the pools. The old regions go to the free lists.
   */
  private growUser(user: number, cap: number): void {
    const oldStart = this.tableStart[user]!;
    const oldCap = this.tableCap[user]!;
    const from = this.rowStart[user]!;
    const n = this.pairsOfUser[user]!;
    const rows = cap >> 1;
    const free = this.freeRegions[Math.log2(cap)];
    let start: number;
    let to: number;
    if (free !== undefined && free.length > 0) {
      // A reused region holds an old table and old rows: clear them (a fresh pool region is zero).
      to = free.pop()!;
      start = free.pop()!;
      this.keys.fill(0, start, start + cap);
      this.counts.fill(0, (to + n) * PAIR_COUNT_DIM, (to + rows) * PAIR_COUNT_DIM);
      this.giftDays.fill(0, to + n, to + rows);
      this.lastGiftDay.fill(0, to + n, to + rows);
    } else {
      if (this.poolUsed + cap > this.keys.length) {
        let len = this.keys.length;
        while (this.poolUsed + cap > len) len *= 2;
        this.keys = grownInt32(this.keys, len);
        this.locals = grownInt32(this.locals, len);
      }
      if (this.rowsUsed + rows > this.giftDays.length) {
        let len = this.giftDays.length;
        while (this.rowsUsed + rows > len) len *= 2;
        const counts = new Float32Array(len * PAIR_COUNT_DIM);
        counts.set(this.counts.subarray(0, this.rowsUsed * PAIR_COUNT_DIM));
        this.counts = counts;
        this.giftDays = grownInt32(this.giftDays, len);
        this.lastGiftDay = grownInt32(this.lastGiftDay, len);
        this.rowAuthor = grownInt32(this.rowAuthor, len);
      }
      start = this.poolUsed;
      this.poolUsed += cap;
      to = this.rowsUsed;
      this.rowsUsed += rows;
    }
    this.tableStart[user] = start;
    this.tableCap[user] = cap;
    const keys = this.keys;
    for (let i = oldStart; i < oldStart + oldCap; i++) {
      if (keys[i] !== 0) this.insert(user, keys[i]! - 1, this.locals[i]!);
    }
    this.counts.copyWithin(to * PAIR_COUNT_DIM, from * PAIR_COUNT_DIM, (from + n) * PAIR_COUNT_DIM);
    this.giftDays.copyWithin(to, from, from + n);
    this.lastGiftDay.copyWithin(to, from, from + n);
    this.rowAuthor.copyWithin(to, from, from + n);
    this.rowStart[user] = to;
    if (oldCap > 0) {
      const list = (this.freeRegions[Math.log2(oldCap)] ??= []);
      list.push(oldStart, from);
    }
  }
}

/** A zero-extended copy of `a` with length `len`. */
function grownInt32(a: Int32Array, len: number): Int32Array {
  const b = new Int32Array(len);
  b.set(a);
  return b;
}

/** 32-bit mix of an author id for a user's table. */
function hashAuthor(author: number): number {
  let h = Math.imul(author, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}
