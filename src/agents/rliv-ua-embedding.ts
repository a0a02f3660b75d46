/**
 * The shared embedding layer of RLIV-UA (paper §3.2, Fig. 3): turns the pair
 * state s_ua^t = {f_u, f_a, f_ua^t} into H = concat(h_u, h_a, h_ua), each
 * part `dim` wide (Table 1's embedding dimension, 32: H is 96 wide).
 *
 * All fields hash into ONE EmbeddingTable (bounded memory for any number of
 * ids; docs/design.md §4.13). Each part is the sum ("bag") of its fields' vectors:
 *
 *   h_u  = user id + each categorical user feature
 *   h_a  = author id + item id + tag + duration bucket + live-streamer flag
 *          + each categorical item feature
 *   h_ua = one vector per pair-count kind (click, long view, like, follow,
 *          comment, gift, watch seconds), each count log2-bucketized
 *
 * Every field has its own hash field id, so bucket 3 of clicks and bucket 3 of
 * gifts are different vectors and the sum stays decodable by the heads.
 * Summing keeps the first layer of every head small (96 inputs instead of one
 * slot per field), which matters because 12 heads plus their targets run on
 * every training row and every next-item row.
 *
 * h_u and h_a come first so the assistance gift network reads its input
 * (h_u, h_a) as the prefix of each H row.
 */
import { EmbeddingTable } from '../numeric/embedding.js';
import type { Rng } from '../numeric/rng.js';
import type { Param } from '../numeric/param.js';
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import type { Catalog } from '../world/catalog.js';

/** Number of dim-wide slots in H. */
export const H_SLOTS = 3;
/** Slots of h_u and h_a (the assistance network's input is the first STATIC_SLOTS * dim floats of H). */
export const STATIC_SLOTS = 2;

const SLOT_USER = 0;
const SLOT_AUTHOR = 1;
const SLOT_PAIR = 2;

/** Options of {@link StateEmbedding}. */
export interface StateEmbeddingOptions {
  /** Width of one slot. */
  dim: number;
  /** Rows of the hashed table. */
  rows: number;
  /** Std of the initial values. */
  initScale: number;
  /** Log2 count buckets (bucket 0 = zero). */
  countBuckets: number;
  /** Most rows one `encode` call with `record` may hold (the training batch). */
  capacity: number;
}

/** Log2 bucket of a count: 0 for <= 0, b for [2^(b-1), 2^b), capped at buckets - 1. */
export function countBucket(count: number, buckets: number): number {
  if (!(count >= 1)) return 0;
  // clz32 truncates to an integer, and floor(log2(x)) = floor(log2(floor(x))) for x >= 1: the same bucket without a log.
  const b = count < 2147483648 ? 32 - Math.clz32(count) : 1 + Math.floor(Math.log2(count));
  return b < buckets ? b : buckets - 1;
}

export class StateEmbedding {
  readonly dim: number;
  /** Width of H. */
  readonly hDim: number;
  /** Width of (h_u, h_a). */
  readonly staticDim: number;
  readonly table: EmbeddingTable;
  private readonly tableValue: Float32Array;
  private readonly catalog: Catalog;
  /** Log2 buckets per count kind. */
  readonly countBuckets: number;
  private readonly userFields: number;
  private readonly itemFields: number;
  /** Field ids (for rowOf): user id 0, user features 1..U, then author, item, tag, duration, live, item features, then the 7 count kinds. */
  private readonly fieldAuthor: number;
  private readonly fieldItem: number;
  private readonly fieldTag: number;
  private readonly fieldDuration: number;
  private readonly fieldLive: number;
  private readonly fieldItemFeatBase: number;
  private readonly fieldCountBase: number;
  /** Precomputed table rows: user bag per catalog user (numUsers x U), item bag per item (numItems x (3 + I)), id rows. */
  private readonly userIdRow: Int32Array;
  private readonly userBagRows: Int32Array;
  private readonly itemIdRow: Int32Array;
  private readonly authorIdRow: Int32Array;
  private readonly itemBagRows: Int32Array;
  private readonly itemBagSize: number;
  /** PAIR_COUNT_DIM x countBuckets table rows. */
  private readonly countRows: Int32Array;
  /** Rows used by the last recorded encode, field-major: `fieldRows[f]` for f in 0..numFields-1, `capacity` each. */
  private readonly recordRows: Int32Array[];
  /** For each recorded field: which slot its gradient comes from. */
  private readonly recordSlot: number[];
  private readonly capacity: number;
  private recordedCount = 0;
  /**
   * h_a of each item as last computed for scoring, valid while
   * `authorCacheVersion[item] === version`. Scoring happens in long runs
   * between parameter changes (a collection epoch, a served checkpoint), and
   * h_a is 5 + item-field rows of the 17 a candidate row sums.
   */
  private authorCache: Float32Array | null = null;
  private authorCacheVersion: Int32Array | null = null;
  private version = 1;

  constructor(catalog: Catalog, options: StateEmbeddingOptions, rng: Rng) {
    this.catalog = catalog;
    this.dim = options.dim;
    this.hDim = H_SLOTS * options.dim;
    this.staticDim = STATIC_SLOTS * options.dim;
    this.countBuckets = options.countBuckets;
    this.capacity = options.capacity;
    this.table = new EmbeddingTable({ rows: options.rows, dim: options.dim, name: 'rliv.embedding', initScale: options.initScale }, rng);
    this.tableValue = this.table.table.value;
    this.userFields = catalog.userFeatureFields.length;
    this.itemFields = catalog.itemFeatureFields.length;
    const U = this.userFields;
    const I = this.itemFields;
    this.fieldAuthor = 1 + U;
    this.fieldItem = this.fieldAuthor + 1;
    this.fieldTag = this.fieldItem + 1;
    this.fieldDuration = this.fieldTag + 1;
    this.fieldLive = this.fieldDuration + 1;
    this.fieldItemFeatBase = this.fieldLive + 1;
    this.fieldCountBase = this.fieldItemFeatBase + I;

    const t = this.table;
    this.userIdRow = new Int32Array(catalog.numUsers);
    this.userBagRows = new Int32Array(catalog.numUsers * U);
    for (let u = 0; u < catalog.numUsers; u++) {
      this.userIdRow[u] = t.rowOf(0, u);
      for (let f = 0; f < U; f++) this.userBagRows[u * U + f] = t.rowOf(1 + f, catalog.userFeatures[u * U + f]!);
    }
    this.itemBagSize = 3 + I;
    this.itemIdRow = new Int32Array(catalog.numItems);
    this.authorIdRow = new Int32Array(catalog.numItems);
    this.itemBagRows = new Int32Array(catalog.numItems * this.itemBagSize);
    for (let i = 0; i < catalog.numItems; i++) {
      const a = catalog.itemAuthor[i]!;
      this.itemIdRow[i] = t.rowOf(this.fieldItem, i);
      this.authorIdRow[i] = t.rowOf(this.fieldAuthor, a);
      const base = i * this.itemBagSize;
      this.itemBagRows[base] = t.rowOf(this.fieldTag, catalog.itemTag[i]!);
      // Duration in log2 seconds buckets: 1 s .. ~9 h.
      this.itemBagRows[base + 1] = t.rowOf(this.fieldDuration, countBucket(catalog.itemDurationMs[i]! / 1000, 16));
      this.itemBagRows[base + 2] = t.rowOf(this.fieldLive, catalog.authorIsLive[a]!);
      for (let f = 0; f < I; f++) this.itemBagRows[base + 3 + f] = t.rowOf(this.fieldItemFeatBase + f, catalog.itemFeatures[i * I + f]!);
    }
    this.countRows = new Int32Array(PAIR_COUNT_DIM * this.countBuckets);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) {
      for (let b = 0; b < this.countBuckets; b++) this.countRows[k * this.countBuckets + b] = t.rowOf(this.fieldCountBase + k, b);
    }

    // Recorded fields, in this order: user id, user bag (U), author id, item id, item bag (3 + I), counts (7).
    this.recordSlot = [];
    for (let f = 0; f < 1 + U; f++) this.recordSlot.push(SLOT_USER);
    for (let f = 0; f < 2 + this.itemBagSize; f++) this.recordSlot.push(SLOT_AUTHOR);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) this.recordSlot.push(SLOT_PAIR);
    this.recordRows = this.recordSlot.map(() => new Int32Array(this.capacity));
  }

  params(): Param[] {
    return [this.table.table];
  }

  /**
   * H (n x hDim) of the training states (users[b], items[b], counts row b of
   * `counts`, PAIR_COUNT_DIM per row) into `out`; the table rows are
   * recorded for {@link backward} (n <= capacity).
   */
  encodeStates(users: Int32Array, items: Int32Array, counts: Float32Array, n: number, out: Float32Array): void {
    if (n > this.capacity) throw new RangeError(`StateEmbedding.encodeStates: ${n} rows exceed the recorded capacity ${this.capacity}`);
    this.checkOut('encodeStates', out, n);
    const hd = this.hDim;
    const d = this.dim;
    for (let r = 0; r < n; r++) {
      const o = r * hd;
      this.writeUser(users[r]!, out, o, r);
      this.writeAuthor(this.checkItem(items[r]!, r), out, o + d, r);
      this.writePair(counts, r * PAIR_COUNT_DIM, out, o + 2 * d, r);
    }
    this.recordedCount = n;
  }

  /**
   * H' rows of next states: row r is sample `sampleOf[r]` (already encoded in
   * `H` with its own item and counts) moved to item `items[r]` and to the
   * sample's counts row of `nextCounts` (f_ua^{t+1}). Starts from a copy of
   * the sample's H row and recomputes only what differs: h_a when the item
   * is another one, h_ua when ASA changed a count (most interactions have no
   * positive feedback, so s' = s). Not recorded: no gradient flows through
   * the TD target.
   */
  encodeNextStates(
    H: Float32Array,
    items0: Int32Array,
    counts0: Float32Array,
    sampleOf: Int32Array,
    items: Int32Array,
    nextCounts: Float32Array,
    n: number,
    out: Float32Array,
  ): void {
    this.checkOut('encodeNextStates', out, n);
    const hd = this.hDim;
    const d = this.dim;
    const P = PAIR_COUNT_DIM;
    for (let r = 0; r < n; r++) {
      const b = sampleOf[r]!;
      const o = r * hd;
      const src = b * hd;
      for (let i = 0; i < hd; i++) out[o + i] = H[src + i]!;
      const item = this.checkItem(items[r]!, r);
      if (item !== items0[b]) this.writeAuthor(item, out, o + d, -1);
      let changed = false;
      for (let k = 0; k < P; k++)
        if (nextCounts[b * P + k] !== counts0[b * P + k]) {
          changed = true;
          break;
        }
      if (changed) this.writePair(nextCounts, b * P, out, o + 2 * d, -1);
    }
  }

  /**
   * H of one user's candidates: items[r] with counts row r of `counts`. h_u
   * is computed once and copied (every row shares it). Not recorded.
   */
  encodeCandidates(user: number, items: Int32Array, counts: Float32Array, n: number, out: Float32Array): void {
    this.checkOut('encodeCandidates', out, n);
    const hd = this.hDim;
    const d = this.dim;
    if (this.authorCache === null) {
      this.authorCache = new Float32Array(this.catalog.numItems * d);
      this.authorCacheVersion = new Int32Array(this.catalog.numItems);
    }
    const cache = this.authorCache;
    const cacheVersion = this.authorCacheVersion!;
    const version = this.version;
    for (let r = 0; r < n; r++) {
      const o = r * hd;
      if (r === 0) this.writeUser(user, out, 0, -1);
      else for (let i = 0; i < d; i++) out[o + i] = out[i]!;
      const item = this.checkItem(items[r]!, r);
      const c = item * d;
      if (cacheVersion[item] === version) {
        for (let i = 0; i < d; i++) out[o + d + i] = cache[c + i]!;
      } else {
        this.writeAuthor(item, out, o + d, -1);
        for (let i = 0; i < d; i++) cache[c + i] = out[o + d + i]!;
        cacheVersion[item] = version;
      }
      this.writePair(counts, r * PAIR_COUNT_DIM, out, o + 2 * d, -1);
    }
  }

  /**
   * Parameter version: changes on every {@link invalidate}. Caches derived
   * from the parameters (h_a here, projected first layers in
   * rliv-ua-scorer.ts) are valid while it is unchanged.
   */
  get paramVersion(): number {
    return this.version;
  }

  /** h_u of `user` at out[o..o+dim) (not recorded). */
  userVector(user: number, out: Float32Array, o: number): void {
    this.writeUser(user, out, o, -1);
  }

  /** h_a of catalog item `item` at out[o..o+dim), through the per-version h_a cache (not recorded). */
  authorVector(item: number, out: Float32Array, o: number): void {
    const d = this.dim;
    if (this.authorCache === null) {
      this.authorCache = new Float32Array(this.catalog.numItems * d);
      this.authorCacheVersion = new Int32Array(this.catalog.numItems);
    }
    const cache = this.authorCache;
    const c = this.checkItem(item, 0) * d;
    if (this.authorCacheVersion![item] === this.version) {
      for (let i = 0; i < d; i++) out[o + i] = cache[c + i]!;
    } else {
      this.writeAuthor(item, out, o, -1);
      for (let i = 0; i < d; i++) cache[c + i] = out[o + i]!;
      this.authorCacheVersion![item] = this.version;
    }
  }

  /** The table vector of count kind `k` (PAIR_COUNT order) in bucket `b` at out[o..o+dim): h_ua is the sum of one per kind. */
  countVector(k: number, b: number, out: Float32Array, o: number): void {
    setRow(this.tableValue, this.countRows[k * this.countBuckets + b]!, this.dim, out, o);
  }

  /** Must be called whenever the table's values change (optimizer step, checkpoint load): drops cached h_a. */
  invalidate(): void {
    this.version = this.version === 0x7fffffff ? 1 : this.version + 1;
    if (this.version === 1 && this.authorCacheVersion) this.authorCacheVersion.fill(0);
  }

  private checkOut(what: string, out: Float32Array, n: number): void {
    if (out.length < n * this.hDim) throw new RangeError(`StateEmbedding.${what}: out holds ${out.length} floats, ${n} x ${this.hDim} needed`);
  }

  private checkItem(item: number, r: number): number {
    if (!(item >= 0 && item < this.catalog.numItems) || !Number.isInteger(item)) {
      throw new RangeError(`StateEmbedding: item ${item} (row ${r}) is not in the catalog (0..${this.catalog.numItems - 1})`);
    }
    return item;
  }

  /** h_u at out[o..o+dim): user id + user feature bag; users outside the catalog hash their id and get "missing" features. Records row r when r >= 0. */
  private writeUser(u: number, out: Float32Array, o: number, r: number): void {
    const known = u >= 0 && u < this.catalog.numUsers;
    const U = this.userFields;
    setRow(this.tableValue, known ? this.userIdRow[u]! : this.table.rowOf(0, u), this.dim, out, o);
    if (r >= 0) this.recordRows[0]![r] = known ? this.userIdRow[u]! : this.table.rowOf(0, u);
    for (let q = 0; q < U; q++) {
      const row = known ? this.userBagRows[u * U + q]! : this.table.rowOf(1 + q, 0);
      addRow(this.tableValue, row, this.dim, out, o);
      if (r >= 0) this.recordRows[1 + q]![r] = row;
    }
  }

  /** h_a at out[o..o+dim): author id + item id + item bag of `item`. */
  private writeAuthor(item: number, out: Float32Array, o: number, r: number): void {
    const f0 = 1 + this.userFields;
    const aRow = this.authorIdRow[item]!;
    setRow(this.tableValue, aRow, this.dim, out, o);
    const iRow = this.itemIdRow[item]!;
    addRow(this.tableValue, iRow, this.dim, out, o);
    if (r >= 0) {
      this.recordRows[f0]![r] = aRow;
      this.recordRows[f0 + 1]![r] = iRow;
    }
    const bagBase = item * this.itemBagSize;
    for (let q = 0; q < this.itemBagSize; q++) {
      const row = this.itemBagRows[bagBase + q]!;
      addRow(this.tableValue, row, this.dim, out, o);
      if (r >= 0) this.recordRows[f0 + 2 + q]![r] = row;
    }
  }

  /** h_ua at out[o..o+dim): one vector per count kind, from counts[c..c+PAIR_COUNT_DIM). */
  private writePair(counts: Float32Array, c: number, out: Float32Array, o: number, r: number): void {
    const f0 = 3 + this.userFields + this.itemBagSize;
    const B = this.countBuckets;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) {
      const row = this.countRows[k * B + countBucket(counts[c + k]!, B)]!;
      if (k === 0) setRow(this.tableValue, row, this.dim, out, o);
      else addRow(this.tableValue, row, this.dim, out, o);
      if (r >= 0) this.recordRows[f0 + k]![r] = row;
    }
  }

  /** Accumulates the table gradient of the last recorded encode from dH (n x hDim). */
  backward(dH: Float32Array, n: number): void {
    if (n !== this.recordedCount) throw new RangeError(`StateEmbedding.backward: ${n} rows, but the last recorded encode had ${this.recordedCount}`);
    for (let f = 0; f < this.recordRows.length; f++) {
      this.table.scatterAddGrad(this.recordRows[f]!, n, dH, this.hDim, this.recordSlot[f]! * this.dim);
    }
  }
}

function setRow(table: Float32Array, row: number, d: number, out: Float32Array, offset: number): void {
  const src = row * d;
  for (let i = 0; i < d; i++) out[offset + i] = table[src + i]!;
}

function addRow(table: Float32Array, row: number, d: number, out: Float32Array, offset: number): void {
  const src = row * d;
  for (let i = 0; i < d; i++) out[offset + i]! += table[src + i]!;
}
