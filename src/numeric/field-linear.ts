/**
 * `FieldLinear`: the first layer of an MLP whose input is a row of summed
 * field embeddings, computed over the DISTINCT embedding rows of a batch.
 *
 * The baselines' inputs (DeepFM's deep part, the Q networks of DQN and CQL)
 * are concatenations of slots, each slot the sum of one or more fields'
 * embedding rows, followed by a few dense columns:
 *
 *   x_b = [ sum_{j: slot(j)=0} e(r_jb) | ... | sum_{j: slot(j)=S-1} e(r_jb) | dense_b ]
 *
 * so the first layer's pre-activation is linear in the rows:
 *
 *   h_b = bias + sum_j W_slot(j) e(r_jb) + W_dense dense_b
 *
 * where W_s is the block of columns of slot s. A batch repeats rows a lot
 * (the user's fields in all N candidates of a request, the item of a
 * candidate in many requests, the 16 buckets of a pair count), so
 * `prepare` finds the distinct (slot, row) pairs once, and `forward` computes
 * P_u = W_slot(u) e(u) for each distinct pair u only (one gemm per slot) and
 * sums F precomputed rows of P per example (the native `addRowsAt`).
 * `backward` sums the output gradient per distinct pair (`scatterRowsAt`),
 * then forms dW_s = dP_s^T E_s and dE_s = dP_s W_s with one gemm each and
 * adds dE into the table's gradient once per distinct row.
 *
 * The result equals `Linear.forward` on the gathered x up to float32
 * rounding (the sums run in another order: per field first, then across
 * fields); test/numeric/field-linear.test.ts checks values and gradients
 * against the dense path. The layer's parameters stay those of the given
 * `Linear` (shape [out, S*dim + denseCols]), so checkpoints are unchanged.
 *
 * One `prepare` serves any number of `forward` calls of layers with the
 * same input layout (e.g. an online and a target network); `backward` uses
 * the rows of the last `prepare`.
 */
import type { EmbeddingTable } from './embedding.js';
import { gemmAt } from './gemm.js';
import { addRowsAt, colSumAdd, fillRows, gatherRows, scatterRowsAt } from './kernels.js';
import type { Linear } from './linear.js';
import { ShapeError } from './param.js';

export interface FieldLinearOptions {
  /** The embedding table every row indexes. */
  table: EmbeddingTable;
  /** Slot of each field position j (the column block its row is summed into); positions = slotOf.length. */
  slotOf: Int32Array;
  /** Number of slots S; the layer's input is S*dim embedding columns then `denseCols` dense columns. */
  slotCount: number;
  /** Dense columns after the slots (e.g. the session summary), 0 if none. */
  denseCols: number;
  /** Name used in error messages. */
  name: string;
  /**
   * Positions 0..sharedPrefix-1 (e.g. the user's fields) that consecutive
   * rows often share with their dense columns (every candidate of one
   * request): {@link FieldLinear.forward} then sums them once per run of
   * such rows and copies the partial sum, in the same order of additions.
   * Default 0 (off).
   */
  sharedPrefix?: number;
}

export class FieldLinear {
  readonly table: EmbeddingTable;
  readonly slotOf: Int32Array;
  readonly positions: number;
  readonly slotCount: number;
  readonly denseCols: number;
  /** Width of the layer's input: slotCount * dim + denseCols. */
  readonly inDim: number;
  readonly name: string;
  private readonly dim: number;
  /** Positions of each slot, in order (slot s owns posOfSlot[posStart[s] .. posStart[s+1])). */
  private readonly posOfSlot: Int32Array;
  private readonly posStart: Int32Array;
  /** Generation stamp per table row (dedup within one slot of one prepare) and the distinct index it got. */
  private readonly stamp: Int32Array;
  private readonly stampIndex: Int32Array;
  private generation = 0;

  private batch = 0;
  /** Distinct pairs of the last prepare: their table rows, slot by slot (slot s owns uStart[s] .. uStart[s+1]). */
  private uRows = new Int32Array(0);
  private readonly uStart: Int32Array;
  /** Distinct index of each (example b, position j): uIdx[b * positions + j]. */
  private uIdx = new Int32Array(0);
  /** Element offsets u * width built from uIdx, per width, valid for the prepare numbered `prepares`. */
  private readonly offs = new Map<number, { prepare: number; values: Int32Array }>();
  private prepares = 0;
  /** Table rows of the distinct (slot, row) pairs of the last prepare, in distinct-index order (first {@link distinct} entries). */
  distinctRows(): Int32Array {
    return this.uRows;
  }

  /** Embeddings of the distinct rows (distinct x dim), gathered by prepare. */
  private emb = new Float32Array(0);
  private p = new Float32Array(0);
  private dP = new Float32Array(0);
  private dE = new Float32Array(0);
  private out = new Float32Array(0);
  private dense: Float32Array | null = null;
  private denseOffset = 0;
  private denseStride = 0;
  /** Positions every row of a run shares (FieldLinearOptions.sharedPrefix). */
  readonly sharedPrefix: number;
  /** Runs of the last prepare: consecutive rows with the same prefix rows and dense columns; the first row of each, and each row's run. */
  private runs = 0;
  private runHead = new Int32Array(0);
  private runOf = new Int32Array(0);
  private readonly runOffs = new Map<number, { prepare: number; prefix: Int32Array; suffix: Int32Array }>();
  private headOut = new Float32Array(0);

  constructor(options: FieldLinearOptions) {
    const { table, slotOf, slotCount, denseCols, name } = options;
    if (!Number.isInteger(slotCount) || slotCount < 1) throw new ShapeError(`FieldLinear ${name}: slotCount must be a positive integer, got ${slotCount}`);
    if (!Number.isInteger(denseCols) || denseCols < 0) throw new ShapeError(`FieldLinear ${name}: denseCols must be an integer >= 0, got ${denseCols}`);
    for (let j = 0; j < slotOf.length; j++) {
      if (!(slotOf[j]! >= 0 && slotOf[j]! < slotCount))
        throw new ShapeError(`FieldLinear ${name}: position ${j} maps to slot ${slotOf[j]}, outside [0, ${slotCount})`);
    }
    this.table = table;
    this.slotOf = slotOf.slice();
    this.positions = slotOf.length;
    this.slotCount = slotCount;
    this.denseCols = denseCols;
    this.dim = table.dim;
    this.inDim = slotCount * table.dim + denseCols;
    this.name = name;
    this.posStart = new Int32Array(slotCount + 1);
    for (let j = 0; j < this.positions; j++) this.posStart[slotOf[j]! + 1]!++;
    for (let s = 0; s < slotCount; s++) this.posStart[s + 1]! += this.posStart[s]!;
    this.posOfSlot = new Int32Array(this.positions);
    const fill = this.posStart.slice(0, slotCount);
    for (let j = 0; j < this.positions; j++) this.posOfSlot[fill[slotOf[j]!]!++] = j;
    this.stamp = new Int32Array(table.rows);
    this.stampIndex = new Int32Array(table.rows);
    this.uStart = new Int32Array(slotCount + 1);
    this.sharedPrefix = options.sharedPrefix ?? 0;
    if (!(Number.isInteger(this.sharedPrefix) && this.sharedPrefix >= 0 && this.sharedPrefix <= this.positions)) {
      throw new ShapeError(`FieldLinear ${name}: sharedPrefix ${options.sharedPrefix} must be an integer in [0, ${this.positions}]`);
    }
  }

  /** Distinct (slot, row) pairs of the last prepare. */
  get distinct(): number {
    return this.uStart[this.slotCount]!;
  }

  /**
   * Finds the distinct rows of `batch` examples (rows position-major:
   * rows[j * capacity + b], as FeatureFields writes them) and gathers their
   * embeddings. `dense` (when denseCols > 0) holds each example's dense
   * columns at dense[b * denseStride + denseOffset ..]; it is read by
   * forward and backward, so keep it unchanged until then.
   */
  prepare(rows: Int32Array, capacity: number, batch: number, dense: Float32Array | null = null, denseStride = 0, denseOffset = 0): void {
    const P = this.positions;
    if (!(Number.isInteger(batch) && batch >= 0 && batch <= capacity))
      throw new ShapeError(`FieldLinear ${this.name}: batch ${batch} must be in [0, capacity ${capacity}]`);
    if (rows.length < P * capacity) throw new ShapeError(`FieldLinear ${this.name}: ${rows.length} row indices for ${P} positions x capacity ${capacity}`);
    if (this.denseCols > 0) {
      if (!dense || denseStride < denseOffset + this.denseCols || (batch > 0 && (batch - 1) * denseStride + denseOffset + this.denseCols > dense.length)) {
        throw new ShapeError(
          `FieldLinear ${this.name}: dense input of ${this.denseCols} columns at stride ${denseStride}, offset ${denseOffset} does not fit ${batch} rows`,
        );
      }
    }
    if (this.uIdx.length < batch * P) this.uIdx = new Int32Array(batch * P);
    if (this.uRows.length < batch * P) this.uRows = new Int32Array(batch * P);
    const tableRows = this.table.rows;
    const stamp = this.stamp;
    const index = this.stampIndex;
    const uIdx = this.uIdx;
    const uRows = this.uRows;
    let u = 0;
    for (let s = 0; s < this.slotCount; s++) {
      this.uStart[s] = u;
      if (this.generation >= 0x3fffffff) {
        stamp.fill(0);
        this.generation = 0;
      }
      const gen = ++this.generation;
      for (let q = this.posStart[s]!; q < this.posStart[s + 1]!; q++) {
        const j = this.posOfSlot[q]!;
        const base = j * capacity;
        for (let b = 0; b < batch; b++) {
          const r = rows[base + b]!;
          if (!(r >= 0 && r < tableRows))
            throw new RangeError(`FieldLinear ${this.name}: row ${r} of example ${b}, position ${j} is outside the table [0, ${tableRows})`);
          if (stamp[r] !== gen) {
            stamp[r] = gen;
            index[r] = u;
            uRows[u++] = r;
          }
          uIdx[b * P + j] = index[r]!;
        }
      }
    }
    this.uStart[this.slotCount] = u;
    this.batch = batch;
    this.prepares++;
    const d = this.dim;
    if (this.emb.length < u * d) this.emb = new Float32Array(Math.max(u * d, 2 * this.emb.length));
    gatherRows(this.table.table.value, d, uRows, u, this.emb, d, 0);
    this.dense = dense;
    this.denseStride = denseStride;
    this.denseOffset = denseOffset;
    this.findRuns(batch);
  }

  /** Runs of consecutive rows sharing the prefix positions' rows and the dense columns (only with sharedPrefix). */
  private findRuns(batch: number): void {
    const k = this.sharedPrefix;
    if (k === 0 || batch === 0) {
      this.runs = batch;
      return;
    }
    if (this.runOf.length < batch) {
      this.runOf = new Int32Array(Math.max(batch, 2 * this.runOf.length));
      this.runHead = new Int32Array(this.runOf.length);
    }
    const P = this.positions;
    const uIdx = this.uIdx;
    const c = this.denseCols;
    const x = this.dense;
    let runs = 0;
    for (let b = 0; b < batch; b++) {
      let same = b > 0;
      for (let j = 0; same && j < k; j++) same = uIdx[b * P + j] === uIdx[(b - 1) * P + j];
      if (same && c > 0) {
        const o1 = b * this.denseStride + this.denseOffset;
        const o0 = o1 - this.denseStride;
        for (let q = 0; same && q < c; q++) same = x![o1 + q] === x![o0 + q];
      }
      if (!same) this.runHead[runs++] = b;
      this.runOf[b] = runs - 1;
    }
    this.runs = runs;
  }

  /**
   * out[b * width ..] += src[u * width ..] of every position of example b
   * (u its distinct row there), in position order: `src` holds a width-wide
   * value per distinct row (the layer's products P, the distinct rows'
   * embeddings, ...). With runs (sharedPrefix), the
   * prefix positions are summed once per run, on its first row, and copied
   * to the run's other rows (whose bias and dense terms are the same), then
   * the other positions are added per row: the same additions in the same
   * order as without.
   */
  sumPositions(src: Float32Array, width: number, out: Float32Array): void {
    const n = this.batch;
    const P = this.positions;
    const k = this.sharedPrefix;
    const H = this.runs;
    // Sharing pays when runs are long; a batch of distinct users takes the plain path.
    if (k === 0 || 2 * H > n) {
      addRowsAt(src, this.offsetsFor(width), n, P, width, out, width);
      return;
    }
    const offs = this.runOffsetsFor(width);
    if (this.headOut.length < H * width) this.headOut = new Float32Array(Math.max(H * width, 2 * this.headOut.length));
    gatherRows(out, width, this.runHead, H, this.headOut, width, 0);
    addRowsAt(src, offs.prefix, H, k, width, this.headOut, width);
    gatherRows(this.headOut, width, this.runOf, n, out, width, 0);
    if (k < P) addRowsAt(src, offs.suffix, n, P - k, width, out, width);
  }

  /** Offsets (u * width) of each run head's prefix positions (runs x sharedPrefix) and each row's other positions (batch x (positions - sharedPrefix)). */
  private runOffsetsFor(width: number): { prefix: Int32Array; suffix: Int32Array } {
    let entry = this.runOffs.get(width);
    if (entry?.prepare === this.prepares) return entry;
    const n = this.batch;
    const P = this.positions;
    const k = this.sharedPrefix;
    const H = this.runs;
    if (!entry) this.runOffs.set(width, (entry = { prepare: -1, prefix: new Int32Array(0), suffix: new Int32Array(0) }));
    if (entry.prefix.length < H * k) entry.prefix = new Int32Array(Math.max(H * k, 2 * entry.prefix.length));
    if (entry.suffix.length < n * (P - k)) entry.suffix = new Int32Array(Math.max(n * (P - k), 2 * entry.suffix.length));
    const uIdx = this.uIdx;
    for (let h = 0; h < H; h++) {
      const from = this.runHead[h]! * P;
      for (let j = 0; j < k; j++) entry.prefix[h * k + j] = uIdx[from + j]! * width;
    }
    for (let b = 0; b < n; b++) {
      for (let j = k; j < P; j++) entry.suffix[b * (P - k) + j - k] = uIdx[b * P + j]! * width;
    }
    entry.prepare = this.prepares;
    return entry;
  }

  /** Embeddings of the distinct rows (distinct x dim, in distinct-index order) of the last prepare. */
  distinctEmbeddings(): Float32Array {
    return this.emb;
  }

  /** Element offsets u * width of every (example, position), laid out [b * positions + j] (for addRowsAt / scatterRowsAt over per-distinct rows of that width). */
  offsetsFor(width: number): Int32Array {
    let entry = this.offs.get(width);
    if (entry?.prepare === this.prepares) return entry.values;
    const n = this.batch * this.positions;
    if (!entry) this.offs.set(width, (entry = { prepare: -1, values: new Int32Array(n) }));
    if (entry.values.length < n) entry.values = new Int32Array(Math.max(n, 2 * entry.values.length));
    for (let i = 0; i < n; i++) entry.values[i] = this.uIdx[i]! * width;
    entry.prepare = this.prepares;
    return entry.values;
  }

  /**
   * The pre-activation h (batch x layer.outDim) of `layer` on the prepared
   * rows: bias + per-field products + dense columns. Written into `out` when
   * given (length >= batch * outDim), else into a buffer owned by this
   * object that the next forward overwrites.
   */
  forward(layer: Linear, out?: Float32Array): Float32Array {
    this.checkLayer(layer);
    const o = layer.outDim;
    const n = this.batch;
    const d = this.dim;
    const W = layer.weight.value;
    const inDim = this.inDim;
    out = this.outputBuffer(out, n, o);
    this.products(layer);
    fillRows(out, n, o, layer.bias.value);
    if (this.denseCols > 0)
      gemmAt(false, true, n, o, this.denseCols, 1, this.dense!, this.denseOffset, this.denseStride, W, this.slotCount * d, inDim, 1, out, 0, o);
    this.sumPositions(this.p, o, out);
    return out;
  }

  /**
   * {@link forward} of `count` of the prepared rows only (`rows[0..count)`,
   * indices among them): out[i] is what `forward` gives row rows[i], for
   * the cost of the distinct rows' products plus `count` rows (a target
   * network that is read at one row per group). Written into `out` when
   * given, else into a buffer owned by this object. No backward follows it.
   */
  forwardRows(layer: Linear, rows: Int32Array, count: number, out?: Float32Array): Float32Array {
    this.checkLayer(layer);
    const o = layer.outDim;
    const n = this.batch;
    const P = this.positions;
    if (!(count >= 0 && count <= rows.length)) throw new ShapeError(`FieldLinear ${this.name}: ${count} selected rows, ${rows.length} given`);
    for (let i = 0; i < count; i++)
      if (!(rows[i]! >= 0 && rows[i]! < n)) throw new RangeError(`FieldLinear ${this.name}: selected row ${rows[i]} is outside the prepared ${n} rows`);
    out = this.outputBuffer(out, count, o);
    this.products(layer);
    fillRows(out, count, o, layer.bias.value);
    if (this.denseCols > 0) {
      const c = this.denseCols;
      if (this.selDense.length < count * c) this.selDense = new Float32Array(Math.max(count * c, 2 * this.selDense.length));
      for (let i = 0; i < count; i++) {
        const from = rows[i]! * this.denseStride + this.denseOffset;
        for (let k = 0; k < c; k++) this.selDense[i * c + k] = this.dense![from + k]!;
      }
      gemmAt(false, true, count, o, c, 1, this.selDense, 0, c, layer.weight.value, this.slotCount * this.dim, this.inDim, 1, out, 0, o);
    }
    if (this.selOffsets.length < count * P) this.selOffsets = new Int32Array(Math.max(count * P, 2 * this.selOffsets.length));
    const uIdx = this.uIdx;
    for (let i = 0; i < count; i++) {
      const from = rows[i]! * P;
      for (let j = 0; j < P; j++) this.selOffsets[i * P + j] = uIdx[from + j]! * o;
    }
    addRowsAt(this.p, this.selOffsets, count, P, o, out, o);
    return out;
  }

  /** `out` when given (checked to hold rows x width), else this object's buffer grown to it. */
  private outputBuffer(out: Float32Array | undefined, rows: number, width: number): Float32Array {
    if (!out) {
      if (this.out.length < rows * width) this.out = new Float32Array(Math.max(rows * width, 2 * this.out.length));
      return this.out;
    }
    if (out.length < rows * width) throw new ShapeError(`FieldLinear ${this.name}: output buffer holds ${out.length} floats, ${rows} x ${width} needed`);
    return out;
  }

  /** P_u = W_slot(u) e(u) of every distinct row into `p` (distinct x outDim): one gemm per slot. */
  private products(layer: Linear): void {
    const o = layer.outDim;
    const d = this.dim;
    const W = layer.weight.value;
    if (this.p.length < this.distinct * o) this.p = new Float32Array(Math.max(this.distinct * o, 2 * this.p.length));
    for (let s = 0; s < this.slotCount; s++) {
      const u0 = this.uStart[s]!;
      const count = this.uStart[s + 1]! - u0;
      gemmAt(false, true, count, o, d, 1, this.emb, u0 * d, d, W, s * d, this.inDim, 0, this.p, u0 * o, o);
    }
  }

  private selDense = new Float32Array(0);
  private selOffsets = new Int32Array(0);

  /**
   * Backward of {@link forward} for `layer` (whose last forward ran on the
   * prepared rows): accumulates its weight and bias gradients and the
   * table's gradient rows from dOut (batch x outDim). `extraEmbeddingGrad`,
   * when given, may add further gradient to the distinct rows' embeddings
   * (distinct x dim, distinct-index order) before they are scattered into
   * the table (DeepFM adds its FM term's gradient there).
   */
  backward(layer: Linear, dOut: Float32Array, extraEmbeddingGrad?: (dE: Float32Array) => void): void {
    this.checkLayer(layer);
    const o = layer.outDim;
    const n = this.batch;
    const u = this.distinct;
    const d = this.dim;
    const inDim = this.inDim;
    if (dOut.length < n * o) throw new ShapeError(`FieldLinear ${this.name}: dOut holds ${dOut.length} floats, ${n} x ${o} needed`);
    colSumAdd(dOut, n, o, layer.bias.grad);
    const gW = layer.weight.grad;
    const W = layer.weight.value;
    if (this.denseCols > 0)
      gemmAt(true, false, o, this.denseCols, n, 1, dOut, 0, o, this.dense!, this.denseOffset, this.denseStride, 1, gW, this.slotCount * d, inDim);
    if (this.dP.length < u * o) this.dP = new Float32Array(Math.max(u * o, 2 * this.dP.length));
    this.dP.fill(0, 0, u * o);
    scatterRowsAt(dOut, o, n, this.positions, o, this.offsetsFor(o), this.dP);
    if (this.dE.length < u * d) this.dE = new Float32Array(Math.max(u * d, 2 * this.dE.length));
    for (let s = 0; s < this.slotCount; s++) {
      const u0 = this.uStart[s]!;
      const count = this.uStart[s + 1]! - u0;
      if (count === 0) continue;
      gemmAt(true, false, o, d, count, 1, this.dP, u0 * o, o, this.emb, u0 * d, d, 1, gW, s * d, inDim);
      gemmAt(false, false, count, d, o, 1, this.dP, u0 * o, o, W, s * d, inDim, 0, this.dE, u0 * d, d);
    }
    extraEmbeddingGrad?.(this.dE);
    this.table.scatterAddGrad(this.uRows, u, this.dE, d, 0);
  }

  private checkLayer(layer: Linear): void {
    if (layer.inDim !== this.inDim)
      throw new ShapeError(`FieldLinear ${this.name}: layer ${layer.weight.name} takes ${layer.inDim} inputs, this input has ${this.inDim}`);
  }
}
