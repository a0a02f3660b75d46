/**
 * `EmbeddingTable`: a fixed-size table of `rows` x `dim` embeddings indexed by
 * HASHED ids. Any number of (field, id) pairs map into the same bounded
 * memory (collisions are the price, as in production recommenders), so
 * users, authors and pairs never outgrow the table.
 *
 * gather copies rows into a strided input matrix (e.g. three 32-d fields
 * side by side in a 96-d row); scatterAddGrad adds the matching gradient
 * slices back into the table's gradient and marks the rows touched, so Adam
 * updates only those rows (lazy Adam) and zeroGrad clears only those rows.
 */
import { gatherRows, scatterAddRows } from './kernels.js';
import { Param, ShapeError } from './param.js';
import type { Rng } from './rng.js';

export interface EmbeddingOptions {
  /** Number of rows (hash buckets); memory is rows x dim floats whatever the id count. */
  rows: number;
  /** Embedding width. */
  dim: number;
  /** Parameter name (`<name>` in saved files). */
  name: string;
  /** Standard deviation of the N(0, initScale^2) initial values; default 0.05. */
  initScale?: number;
}

/** 32-bit avalanche mix (murmur3 finaliser). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  /** The table, shape [rows, dim], sparse (per-row touched tracking). */
  readonly table: Param;

  constructor(options: EmbeddingOptions, rng: Rng) {
    const { rows, dim, name } = options;
    if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(dim) || dim < 1) {
      throw new ShapeError(`EmbeddingTable ${name}: rows and dim must be positive integers, got rows=${rows}, dim=${dim}`);
    }
    this.rows = rows;
    this.dim = dim;
    this.table = new Param({ name, shape: [rows, dim], sparse: true });
    const scale = options.initScale ?? 0.05;
    const v = this.table.value;
    for (let i = 0; i < v.length; i++) v[i] = scale * rng.normal();
  }

  /**
   * The table row of id `id` in feature field `field` (e.g. 0 = user,
   * 1 = author, 2 = pair). Deterministic across runs and platforms; ids may
   * be any non-negative integers up to 2^53.
   */
  rowOf(field: number, id: number): number {
    const lo = id >>> 0;
    const hi = Math.floor(id / 4294967296) >>> 0;
    const h = mix32(lo ^ mix32((Math.imul(field + 1, 0x9e3779b1) ^ hi) >>> 0));
    return h % this.rows;
  }

  /** Copies table rows `rows[0..count)` to out[i*outStride + outOffset .. + dim). */
  gather(rows: Int32Array, count: number, out: Float32Array, outStride: number, outOffset: number): void {
    this.checkStrided('gather', rows, count, out.length, outStride, outOffset);
    gatherRows(this.table.value, this.dim, rows, count, out, outStride, outOffset);
  }

  /** grad[rows[i]] += dOut[i*dStride + dOffset .. + dim) for i < count, and marks the rows touched. */
  scatterAddGrad(rows: Int32Array, count: number, dOut: Float32Array, dStride: number, dOffset: number): void {
    this.checkStrided('scatterAddGrad', rows, count, dOut.length, dStride, dOffset);
    const t = this.table;
    t.touchedCount = scatterAddRows(t.grad, this.dim, rows, count, dOut, dStride, dOffset, t.touchedFlag, t.touchedRows, t.touchedCount);
  }

  private checkStrided(what: string, rows: Int32Array, count: number, length: number, stride: number, offset: number): void {
    if (count > rows.length) throw new RangeError(`EmbeddingTable ${this.table.name}.${what}: count ${count} exceeds the ${rows.length} row indices given`);
    if (count > 0 && (offset < 0 || stride < this.dim || (count - 1) * stride + offset + this.dim > length)) {
      throw new RangeError(
        `EmbeddingTable ${this.table.name}.${what}: ${count} rows of ${this.dim} at stride ${stride}, offset ${offset} do not fit in ${length} floats`,
      );
    }
    for (let i = 0; i < count; i++) {
      const r = rows[i]!;
      if (!(r >= 0 && r < this.rows))
        throw new RangeError(
          `EmbeddingTable ${this.table.name}.${what}: row ${r} at position ${i} is outside [0, ${this.rows}); use rowOf(field, id) to map ids`,
        );
    }
  }
}
