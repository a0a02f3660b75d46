/**
 * Dense inputs of the request-level baselines (DQN, CQL, TD3, RLUR), built
 * from one hashed embedding table through FeatureFields:
 *
 *   'state'      [h_user | h_userCats | summary]                      2d + 8
 *   'state+item' [h_user | h_userCats | h_item | h_author | h_tag | h_itemCats | summary]   6d + 8
 *   'item'       [h_item + h_author + h_tag + h_itemCats]             d
 *
 * h_userCats / h_itemCats are sums of the categorical columns' embeddings
 * (keeps the MLP input small); the session summary (SESSION_SUMMARY_DIM
 * values, see trace.ts) is copied as is. 'item' sums every item field into
 * one vector: TD3's item embedding, the space its actor acts in.
 *
 * Buffers grow with the largest batch seen and are reused: filling and
 * gathering N <= 300 rows allocates nothing once sized.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import { FieldLinear } from '../numeric/field-linear.js';
import type { Mlp } from '../numeric/mlp.js';
import { SESSION_SUMMARY_DIM } from '../environment/trace.js';
import type { RankRequest } from './ranker.js';
import { FeatureFields, gatherSlots, scatterSlots } from './feature-fields.js';

export type RequestInputKind = 'state' | 'state+item' | 'item';

export class RequestInput {
  /** Width of one row of the dense input. */
  readonly inDim: number;
  private readonly dim: number;
  private readonly slotOf: Int32Array;
  private readonly slotCount: number;
  private readonly positions: number;
  private readonly summaryOffset: number;
  private cap = 0;
  private rows = new Int32Array(0);
  /** The dense input (rows x inDim), valid after {@link gather}. */
  x = new Float32Array(0);

  constructor(
    readonly fields: FeatureFields,
    readonly kind: RequestInputKind,
    initialCapacity = 300,
  ) {
    this.dim = fields.table.dim;
    const slots: number[] = [];
    const U = fields.userFieldCount;
    const I = fields.itemFieldCount;
    if (kind !== 'item') {
      slots.push(0);
      for (let j = 1; j < U; j++) slots.push(1);
    }
    if (kind === 'state+item') {
      slots.push(2, 3, 4);
      for (let j = 3; j < I; j++) slots.push(5);
    }
    if (kind === 'item') for (let j = 0; j < I; j++) slots.push(0);
    this.slotOf = Int32Array.from(slots);
    this.slotCount = kind === 'state' ? 2 : kind === 'state+item' ? 6 : 1;
    this.positions = slots.length;
    this.summaryOffset = this.slotCount * this.dim;
    this.inDim = this.summaryOffset + (kind === 'item' ? 0 : SESSION_SUMMARY_DIM);
    this.ensureCapacity(initialCapacity);
  }

  /** Rows the buffers hold. */
  get capacity(): number {
    return this.cap;
  }

  /** Grows the buffers to `n` rows; call before filling a batch of n (growing discards filled rows). */
  ensureCapacity(n: number): void {
    if (n <= this.cap) return;
    this.cap = n;
    this.prepared = -1;
    this.rows = new Int32Array(this.positions * n);
    this.x = new Float32Array(n * this.inDim);
  }

  /** Sets row b: the user's fields and summary (kinds with a state) and the item's fields (kinds with an item). */
  set(b: number, user: number, summary: Float32Array, summaryOffset: number, item: number): void {
    const f = this.fields;
    this.prepared = -1;
    const cap = this.cap;
    let pos = 0;
    if (this.kind !== 'item') {
      f.userRows(user, this.rows, b, cap);
      pos = f.userFieldCount;
      const o = b * this.inDim + this.summaryOffset;
      for (let k = 0; k < SESSION_SUMMARY_DIM; k++) this.x[o + k] = summary[summaryOffset + k]!;
    }
    if (this.kind !== 'state') f.itemRows(item, this.rows, pos * cap + b, cap);
  }

  /** Copies row `from` to row `to` (rows and summary). */
  copyRow(from: number, to: number): void {
    const cap = this.cap;
    for (let j = 0; j < this.positions; j++) this.rows[j * cap + to] = this.rows[j * cap + from]!;
    if (this.kind !== 'item') {
      const s = from * this.inDim + this.summaryOffset;
      this.x.copyWithin(to * this.inDim + this.summaryOffset, s, s + SESSION_SUMMARY_DIM);
    }
  }

  /** Fills the embedding slots of the first n rows of `x` from the table (summary columns are already set). */
  gather(n: number): Float32Array {
    gatherSlots(this.fields.table, this.rows, this.cap, this.slotOf, this.slotCount, n, this.x, this.inDim, 0);
    return this.x;
  }

  /** Adds dX (n x dStride, this input's columns at dOffset) into the gradients of the gathered embedding rows. */
  scatter(dX: Float32Array, n: number, dStride = this.inDim, dOffset = 0): void {
    scatterSlots(this.fields.table, this.rows, this.cap, this.slotOf, n, dX, dStride, dOffset);
  }

  /**
   * Readies the first n rows (set since the last growth) for {@link forward}:
   * finds their distinct embedding rows (FieldLinear). Call again after
   * setting other rows.
   */
  prepare(n: number): void {
    // The user's fields come first: every candidate of a request (and of a stored next request) shares them and the summary.
    this.firstLayer ??= new FieldLinear({
      table: this.fields.table,
      slotOf: this.slotOf,
      slotCount: this.slotCount,
      denseCols: this.inDim - this.summaryOffset,
      name: `${this.fields.table.table.name} ${this.kind} input`,
      sharedPrefix: this.kind === 'item' ? 0 : this.fields.userFieldCount,
    });
    this.firstLayer.prepare(this.rows, this.cap, n, this.x, this.inDim, this.summaryOffset);
    this.prepared = n;
  }

  /**
   * `mlp`'s output (n x outDim) on the prepared rows, its first layer
   * computed over the distinct embedding rows (FieldLinear; equal to
   * `mlp.forward(gather(n), n)` up to float32 rounding, much cheaper when
   * rows repeat). Several networks of this input's width may run on one
   * prepare; each keeps its own first-layer buffer until its backward.
   */
  forward(mlp: Mlp, n: number): Float32Array {
    const f = this.requirePrepared(n);
    return mlp.forwardFrom(f.forward(mlp.layers[0]!, this.firstBuffer(mlp, n)), n);
  }

  /**
   * `mlp`'s output on `count` of the prepared n rows only (rows[0..count)):
   * row i is what {@link forward} gives row rows[i] (the first layer's
   * distinct-row products, then only the selected rows). For a network read
   * at a few rows (DQN's target network at each group's chosen row).
   */
  forwardRows(mlp: Mlp, n: number, rows: Int32Array, count: number): Float32Array {
    const f = this.requirePrepared(n);
    return mlp.forwardFrom(f.forwardRows(mlp.layers[0]!, rows, count, this.firstBuffer(mlp, count)), count);
  }

  /** `mlp`'s first-layer output buffer, for at least `rows` rows. */
  private firstBuffer(mlp: Mlp, rows: number): Float32Array {
    let h0 = this.firstOut.get(mlp);
    const need = rows * mlp.sizes[1]!;
    if (!h0 || h0.length < need) {
      h0 = new Float32Array(Math.max(need, 2 * (h0?.length ?? 0)));
      this.firstOut.set(mlp, h0);
    }
    return h0;
  }

  /** Backward of {@link forward} (the last forward of `mlp`, on the current prepare): gradients of the network and of the embedding rows. */
  backward(mlp: Mlp, dOut: Float32Array, n: number): void {
    const f = this.requirePrepared(n);
    f.backward(mlp.layers[0]!, mlp.backwardTo(dOut, n));
  }

  private requirePrepared(n: number): FieldLinear {
    if (!this.firstLayer || this.prepared !== n) throw new RangeError(`RequestInput: forward/backward of ${n} rows without prepare(${n}) after setting them`);
    return this.firstLayer;
  }

  private firstLayer: FieldLinear | null = null;
  private prepared = -1;
  /** Each network's first-layer output buffer (kept until its backward). */
  private readonly firstOut = new WeakMap<Mlp, Float32Array>();
}

/** Shared request checks of the request-level agents (clear errors, nothing changed). */
export function checkRankRequest(agent: string, fields: FeatureFields, request: RankRequest, out: Float32Array): void {
  checkRankRequests(agent, fields, [request], out);
}

/**
 * The checks of {@link checkRankRequest} for a batch (`scoreRequests`): every
 * request, and `out` holding all their candidates; returns that count.
 */
export function checkRankRequests(agent: string, fields: FeatureFields, requests: readonly RankRequest[], out: Float32Array): number {
  let total = 0;
  for (const request of requests) {
    const n = request.candidates.length;
    fields.checkUser(request.user, agent);
    if (request.summary.length < SESSION_SUMMARY_DIM)
      throw new RangeError(`${agent}.score: summary has ${request.summary.length} values, ${SESSION_SUMMARY_DIM} needed`);
    if (request.candidatePairCounts.length < n * PAIR_COUNT_DIM) {
      throw new RangeError(`${agent}.score: candidatePairCounts has ${request.candidatePairCounts.length} values, ${n} x ${PAIR_COUNT_DIM} needed`);
    }
    fields.checkItems(request.candidates, agent);
    total += n;
  }
  if (out.length < total) throw new RangeError(`${agent}.score: output buffer holds ${out.length} values for ${total} candidates`);
  return total;
}

/**
 * Sets the rows of every candidate of `requests`, back to back from row 0
 * (kinds with a state: the request's user and summary; with an item: the
 * candidate); returns the row count. The caller sized the input.
 */
export function setRequestRows(input: RequestInput, requests: readonly RankRequest[], withItems: boolean): number {
  let m = 0;
  for (const request of requests) {
    const n = request.candidates.length;
    for (let c = 0; c < n; c++) input.set(m++, request.user, request.summary, 0, withItems ? request.candidates[c]! : 0);
  }
  return m;
}
