/**
 * The shared embedding layer of RLIV-UA (paper §3.2, Fig. 3): turns the pair
 * state s_ua^t = {f_u, f_a, f_ua^t} into H = concat(h_u, h_a, h_ua), each
 * part `dim` wide (Table 1's embedding dimension, 32: H is 96 wide).
 *
 * All fields hash into ONE EmbeddingTable (bounded memory for any number of
 * ids; DESIGN.md §6). Each part is the sum ("bag") of its fields' vectors:
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
  const b = 1 + Math.floor(Math.log2(count));
  return b < buckets ? b : buckets - 1;
}

export class StateEmbedding {
  readonly dim: number;
  /** Width of H. */
  readonly hDim: number;
  /** Width of (h_u, h_a). */
  readonly staticDim: number;
  readonly table: EmbeddingTable;
  private readonly catalog: Catalog;
  private readonly countBuckets: number;
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

  constructor(catalog: Catalog, options: StateEmbeddingOptions, rng: Rng) {
    this.catalog = catalog;
    this.dim = options.dim;
    this.hDim = H_SLOTS * options.dim;
    this.staticDim = STATIC_SLOTS * options.dim;
    this.countBuckets = options.countBuckets;
    this.capacity = options.capacity;
    this.table = new EmbeddingTable({ rows: options.rows, dim: options.dim, name: 'rliv.embedding', initScale: options.initScale }, rng);
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
   * Writes H (n x hDim) for the states (users[b], items[b], counts row b)
   * into `out`. `counts` rows are PAIR_COUNT_DIM apart starting at
   * `countRowOf(b) * PAIR_COUNT_DIM` — pass `countIndex` to map several H
   * rows to one count row (the next-state rows of one sample share f_ua^{t+1}),
   * or null for row b. `userIndex` likewise maps rows to `users` entries.
   * With `record`, the table rows are kept for {@link backward} (n <= capacity).
   */
  encode(
    users: Int32Array, userIndex: Int32Array | null,
    items: Int32Array,
    counts: Float32Array, countIndex: Int32Array | null,
    n: number, out: Float32Array, record: boolean,
  ): void {
    if (record && n > this.capacity) throw new RangeError(`StateEmbedding.encode: ${n} rows exceed the recorded capacity ${this.capacity}`);
    if (out.length < n * this.hDim) throw new RangeError(`StateEmbedding.encode: out holds ${out.length} floats, ${n} x ${this.hDim} needed`);
    const d = this.dim;
    const hd = this.hDim;
    const table = this.table.table.value;
    const cat = this.catalog;
    const U = this.userFields;
    const B = this.countBuckets;
    const rec = this.recordRows;
    const P = PAIR_COUNT_DIM; // a local: imported bindings are property reads in some loaders' output
    out.fill(0, 0, n * hd);
    for (let r = 0; r < n; r++) {
      const u = users[userIndex === null ? r : userIndex[r]!]!;
      const item = items[r]!;
      if (item < 0 || item >= cat.numItems || !Number.isInteger(item)) throw new RangeError(`StateEmbedding.encode: item ${item} (row ${r}) is not in the catalog (0..${cat.numItems - 1})`);
      const o = r * hd;
      let f = 0;
      // h_u: user id and user feature bag. Users outside the catalog (new users) hash their id and get "missing" features.
      const known = u >= 0 && u < cat.numUsers;
      const uRow = known ? this.userIdRow[u]! : this.table.rowOf(0, u);
      addRow(table, uRow, d, out, o + SLOT_USER * d);
      if (record) rec[f]![r] = uRow;
      f++;
      for (let q = 0; q < U; q++) {
        const row = known ? this.userBagRows[u * U + q]! : this.table.rowOf(1 + q, 0);
        addRow(table, row, d, out, o + SLOT_USER * d);
        if (record) rec[f]![r] = row;
        f++;
      }
      // h_a: author id, item id, item bag.
      const aRow = this.authorIdRow[item]!;
      addRow(table, aRow, d, out, o + SLOT_AUTHOR * d);
      if (record) rec[f]![r] = aRow;
      f++;
      const iRow = this.itemIdRow[item]!;
      addRow(table, iRow, d, out, o + SLOT_AUTHOR * d);
      if (record) rec[f]![r] = iRow;
      f++;
      const bagBase = item * this.itemBagSize;
      for (let q = 0; q < this.itemBagSize; q++) {
        const row = this.itemBagRows[bagBase + q]!;
        addRow(table, row, d, out, o + SLOT_AUTHOR * d);
        if (record) rec[f]![r] = row;
        f++;
      }
      // h_ua: bucketized pair counts.
      const c = (countIndex === null ? r : countIndex[r]!) * P;
      for (let k = 0; k < P; k++) {
        const row = this.countRows[k * B + countBucket(counts[c + k]!, B)]!;
        addRow(table, row, d, out, o + SLOT_PAIR * d);
        if (record) rec[f]![r] = row;
        f++;
      }
    }
    if (record) this.recordedCount = n;
  }

  /** Accumulates the table gradient of the last recorded encode from dH (n x hDim). */
  backward(dH: Float32Array, n: number): void {
    if (n !== this.recordedCount) throw new RangeError(`StateEmbedding.backward: ${n} rows, but the last recorded encode had ${this.recordedCount}`);
    for (let f = 0; f < this.recordRows.length; f++) {
      this.table.scatterAddGrad(this.recordRows[f]!, n, dH, this.hDim, this.recordSlot[f]! * this.dim);
    }
  }
}

function addRow(table: Float32Array, row: number, d: number, out: Float32Array, offset: number): void {
  const src = row * d;
  for (let i = 0; i < d; i++) out[offset + i] += table[src + i]!;
}
