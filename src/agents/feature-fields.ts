/**
 * Field features of the baselines (RankingModel, DQN, CQL, TD3, RLUR): which
 * categorical fields describe a user, an item and a user-author pair, how
 * each maps to a row of one hashed embedding table, and how a batch of
 * examples gathers its rows into a dense input (and scatters gradients back).
 *
 * Fields (one field id each, hashed with the value by `EmbeddingTable.rowOf`):
 *   user:  user id, then every column of `catalog.userFeatures`;
 *   item:  item id, author id, tag, then every column of `catalog.itemFeatures`;
 *   pair:  the 7 counts of f_ua, each bucketized by {@link countBucket}.
 *
 * Layout of row indices is position-major (`rows[position * capacity + example]`)
 * so that the rows of one field position over a batch are contiguous and can be
 * handed to `scatterAddGrad` as one subarray. A "slot" is a block of `dim`
 * columns of the dense input; several fields may be summed into one slot
 * (the RL baselines sum the categorical columns of a user or item into one
 * slot to keep their MLP input small; DeepFM gives every field its own slot).
 */
import type { Catalog } from '../world/catalog.js';
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import type { EmbeddingTable } from '../numeric/embedding.js';
import { sumRowsToSlots } from '../numeric/kernels.js';

/** Number of buckets of a bucketized pair count. */
export const COUNT_BUCKETS = 16;

/**
 * Bucket of a non-negative count: 0 for 0, then 1 + floor(log2(x)) for x >= 1
 * (1 -> 1, 2..3 -> 2, 4..7 -> 3, ...), capped at COUNT_BUCKETS - 1. Log
 * buckets because the counts (and watch seconds) are heavy-tailed.
 */
export function countBucket(x: number): number {
  if (!(x >= 1)) return 0;
  const b = 1 + Math.floor(Math.log2(x));
  return b < COUNT_BUCKETS - 1 ? b : COUNT_BUCKETS - 1;
}

/** Field ids and row lookups for one catalog. */
export class FeatureFields {
  /** Fields describing a user: id + categorical columns. */
  readonly userFieldCount: number;
  /** Fields describing an item: id, author, tag + categorical columns. */
  readonly itemFieldCount: number;
  /** Fields of the pair counts f_ua (one per count kind). */
  readonly pairFieldCount = PAIR_COUNT_DIM;
  private readonly userCats: number;
  private readonly itemCats: number;
  /** Every user's field rows (numUsers x userFieldCount), or null when the catalog is too large to tabulate (rows are then hashed per call). */
  private readonly userRowTable: Int32Array | null;
  /** Every item's field rows (numItems x itemFieldCount), or null likewise. */
  private readonly itemRowTable: Int32Array | null;
  /** Rows of every (pair field, bucket): PAIR_COUNT_DIM x COUNT_BUCKETS. */
  private readonly pairRowTable: Int32Array;

  constructor(
    readonly catalog: Catalog,
    readonly table: EmbeddingTable,
  ) {
    this.userCats = catalog.userFeatureFields.length;
    this.itemCats = catalog.itemFeatureFields.length;
    this.userFieldCount = 1 + this.userCats;
    this.itemFieldCount = 3 + this.itemCats;
    // The row of a (field, value) is a pure function of the table size: hashing it once per user and item
    // instead of once per example changes no value, only the time (the baselines set thousands of rows per step).
    this.userRowTable = tabulate(catalog.numUsers, this.userFieldCount, (u, out, o) => this.hashUserRows(u, out, o, 1));
    this.itemRowTable = tabulate(catalog.numItems, this.itemFieldCount, (i, out, o) => this.hashItemRows(i, out, o, 1));
    this.pairRowTable = new Int32Array(PAIR_COUNT_DIM * COUNT_BUCKETS);
    const c0 = 4 + this.userCats + this.itemCats;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) for (let v = 0; v < COUNT_BUCKETS; v++) this.pairRowTable[k * COUNT_BUCKETS + v] = table.rowOf(c0 + k, v);
  }

  /** Writes the user's field rows at out[offset + j * stride], j = 0..userFieldCount-1. */
  userRows(user: number, out: Int32Array, offset: number, stride: number): void {
    const t = this.userRowTable;
    if (t === null) return this.hashUserRows(user, out, offset, stride);
    const n = this.userFieldCount;
    const base = user * n;
    for (let j = 0; j < n; j++) out[offset + j * stride] = t[base + j]!;
  }

  /** Writes the item's field rows at out[offset + j * stride], j = 0..itemFieldCount-1. */
  itemRows(item: number, out: Int32Array, offset: number, stride: number): void {
    const t = this.itemRowTable;
    if (t === null) return this.hashItemRows(item, out, offset, stride);
    const n = this.itemFieldCount;
    const base = item * n;
    for (let j = 0; j < n; j++) out[offset + j * stride] = t[base + j]!;
  }

  /** Writes the bucketized pair-count rows of counts[countsOffset..+7] at out[offset + j * stride]. */
  pairRows(counts: Float32Array, countsOffset: number, out: Int32Array, offset: number, stride: number): void {
    const t = this.pairRowTable;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) out[offset + k * stride] = t[k * COUNT_BUCKETS + countBucket(counts[countsOffset + k]!)]!;
  }

  private hashUserRows(user: number, out: Int32Array, offset: number, stride: number): void {
    const t = this.table;
    out[offset] = t.rowOf(0, user);
    const base = user * this.userCats;
    const f = this.catalog.userFeatures;
    for (let c = 0; c < this.userCats; c++) out[offset + (1 + c) * stride] = t.rowOf(1 + c, f[base + c]!);
  }

  private hashItemRows(item: number, out: Int32Array, offset: number, stride: number): void {
    const t = this.table;
    const c0 = 1 + this.userCats;
    out[offset] = t.rowOf(c0, item);
    out[offset + stride] = t.rowOf(c0 + 1, this.catalog.itemAuthor[item]!);
    out[offset + 2 * stride] = t.rowOf(c0 + 2, this.catalog.itemTag[item]!);
    const base = item * this.itemCats;
    const f = this.catalog.itemFeatures;
    for (let c = 0; c < this.itemCats; c++) out[offset + (3 + c) * stride] = t.rowOf(c0 + 3 + c, f[base + c]!);
  }

  /** Validates the candidates' item ids (clear error naming `agent`.score otherwise; allocation-free when valid). */
  checkItems(items: Int32Array, agent: string): void {
    const numItems = this.catalog.numItems;
    for (let k = 0; k < items.length; k++) {
      const item = items[k]!;
      if (!(item >= 0 && item < numItems)) {
        throw new RangeError(`${agent}.score: candidate ${k} has item id ${item}, outside the catalog (0..${numItems - 1})`);
      }
    }
  }

  /** Validates a user id: the categorical user features need a catalog user. */
  checkUser(user: number, agent: string): void {
    if (!(Number.isInteger(user) && user >= 0 && user < this.catalog.numUsers)) {
      throw new RangeError(`${agent}.score: user id ${user} is outside the catalog (0..${this.catalog.numUsers - 1})`);
    }
  }
}

/** Largest table of precomputed field rows (entries) kept per catalog side: 4M int32 = 16 MB. */
const ROW_TABLE_LIMIT = 1 << 22;

/** `count` x `width` rows filled by `fill(id, out, offset)`, or null past ROW_TABLE_LIMIT. */
function tabulate(count: number, width: number, fill: (id: number, out: Int32Array, offset: number) => void): Int32Array | null {
  if (count * width > ROW_TABLE_LIMIT) return null;
  const out = new Int32Array(count * width);
  for (let id = 0; id < count; id++) fill(id, out, id * width);
  return out;
}

/**
 * Sums embedding rows into dense slots: example b, position j adds row
 * rows[j * capacity + b] of the table into out[b * outStride + outOffset +
 * slotOf[j] * dim ...]. Slots are zeroed first. No allocation: it runs on the
 * scoring path. The loop is the numeric core's `sumRowsToSlots` (native when
 * the addon is loaded, the same additions in the same order otherwise).
 */
export function gatherSlots(
  table: EmbeddingTable,
  rows: Int32Array,
  capacity: number,
  slotOf: Int32Array,
  slotCount: number,
  batch: number,
  out: Float32Array,
  outStride: number,
  outOffset: number,
): void {
  sumRowsToSlots(table.table.value, table.table.shape[1]!, rows, capacity, slotOf, slotOf.length, slotCount, batch, out, outStride, outOffset);
}

/** Backward of {@link gatherSlots}: adds each slot's gradient into every row summed into it (marks touched rows). */
export function scatterSlots(
  table: EmbeddingTable,
  rows: Int32Array,
  capacity: number,
  slotOf: Int32Array,
  batch: number,
  dOut: Float32Array,
  dStride: number,
  dOffset: number,
): void {
  const dim = table.table.shape[1]!;
  for (let j = 0; j < slotOf.length; j++) {
    table.scatterAddGrad(rows.subarray(j * capacity, j * capacity + batch), batch, dOut, dStride, dOffset + slotOf[j]! * dim);
  }
}
