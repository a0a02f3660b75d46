/**
 * Fast LIV scoring of one user's candidates (paper eq. 5, serving path of
 * Fig. 4): the same numbers as embedding H and running each tower's online
 * heads on it, with the first layer factorized over H's three slots.
 *
 * The first layer of a tower's heads is z = W0 H + b with H = (h_u, h_a, h_ua),
 * so z = W0_a h_a + b + W0_u h_u + W0_ua h_ua, and h_ua is a sum of one table
 * vector e(k, b_k) per count kind. Between parameter changes (a served
 * version, a collection epoch):
 *   - W0_a h_a + b + W0_ua h_ua(no counts) is a function of the item only:
 *     kept per item in a bounded direct-mapped cache and gathered per row;
 *   - W0_u h_u is the same for every row: one rank-1 update per request;
 *   - the count part is W0_ua times sum_k (e(k, b_k) - e(k, 0)), zero for a
 *     pair without interactions: one gemm with k = dim, skipped when no
 *     candidate has counts.
 * So a request costs a 32-deep product instead of a 96-deep one, and the
 * elementwise work stays in the native kernels (JS loops over 192-wide rows
 * cost more than the gemms). The later layers run as in MlpGroup (one gemm
 * per head, segmented dot for the outputs).
 *
 * Results equal the unfactorized forward up to float rounding (sums in a
 * different order). Row r's result depends only on row r's inputs, so any
 * subset of candidates or towers scores each row identically.
 */
import { gemmAt } from '../numeric/gemm.js';
import { fillRows, gatherRows, reluRange, segDot } from '../numeric/kernels.js';
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import type { MtclTower } from './mtcl-tower.js';
import { countBucket, type StateEmbedding } from './rliv-ua-embedding.js';

/** Default of the most floats one tower's item-term cache may hold (16 MB); larger catalogs share slots (direct-mapped). */
export const ITEM_CACHE_FLOATS = 1 << 22;

/** Per-tower projections of the current parameter version. */
interface TowerProjection {
  /** Width of the first layer (heads x first hidden size). */
  width: number;
  version: number;
  /** b0 + W0_ua h_ua(all counts zero): the part of every item term that does not depend on the item. */
  zeroCounts: Float32Array;
  /** slots x width: W0_a h_a of the item in each slot. */
  itemTerm: Float32Array;
  /** Item held by each slot at `slotVersion`. */
  slotItem: Int32Array;
  slotVersion: Int32Array;
}

export class FactorizedLivScorer {
  private readonly embedding: StateEmbedding;
  private readonly towers: readonly MtclTower[];
  private readonly gamma: number;
  /** Rows the scratch buffers hold (grown by a larger batch of requests). */
  private maxRows = 0;
  private readonly widest: number;
  private readonly projections: (TowerProjection | null)[];
  private readonly slots: number[];
  /** Scratch: user vectors (one per request of the batch), h_a rows of cache misses, their items, each row's slot, miss projections, activations. */
  private hu: Float32Array;
  private missH = new Float32Array(0);
  private missItems = new Int32Array(0);
  private rowSource = new Int32Array(0);
  private missProj = new Float32Array(0);
  private ones = new Float32Array(0);
  /** Per row of the current requests: sum over nonzero count kinds of e(k, b_k) - e(k, 0) (rows x dim). */
  private countRows = new Float32Array(0);
  private acts: Float32Array[] = [];
  private heads = new Float32Array(0);
  /** The requests of the last begin: their count and the first row of each (requestStart[R] = rows). */
  private requests = 0;
  private requestStart = new Int32Array(2);
  /** W0_u h_u of each request of the batch (requests x width), per tower call. */
  private userTerm = new Float32Array(0);
  private anyCounts = false;
  private begunRows = -1;
  /** e(k, b) - e(k, 0) for every kind and bucket (tower-independent), valid for `vectorDeltaVersion`. */
  private readonly vectorDelta: Float32Array;
  private vectorDeltaVersion = 0;
  private readonly numItems: number;

  /**
   * @param embedding the network's shared embedding (its `paramVersion` says when projections are stale).
   * @param towers the network's towers (their online heads, read at scoring time); each needs >= 1 hidden layer.
   * @param gamma discount of Q = r_hat + gamma V (supervised towers).
   * @param maxRows largest candidate list.
   * @param numItems catalog size (bounds the item-term cache).
   * @param itemCacheFloats most floats of one tower's item-term cache; default {@link ITEM_CACHE_FLOATS}.
   */
  constructor(embedding: StateEmbedding, towers: readonly MtclTower[], gamma: number, maxRows: number, numItems: number, itemCacheFloats = ITEM_CACHE_FLOATS) {
    this.embedding = embedding;
    this.towers = towers;
    this.gamma = gamma;
    this.projections = towers.map(() => null);
    const d = embedding.dim;
    this.slots = towers.map((t) => Math.max(1, Math.min(numItems, Math.floor(itemCacheFloats / (t.online.heads * t.online.sizes[1]!)))));
    this.hu = new Float32Array(d);
    this.vectorDelta = new Float32Array(PAIR_COUNT_DIM * embedding.countBuckets * d);
    this.numItems = numItems;
    let widest = 1;
    for (const t of towers) for (let l = 1; l < t.online.sizes.length; l++) widest = Math.max(widest, t.online.heads * t.online.sizes[l]!);
    this.widest = widest;
    this.userTerm = new Float32Array(widest);
    this.ensureRows(maxRows);
  }

  /** Grows the row buffers to `n` rows (a batch of requests may exceed one request's maxRows). */
  private ensureRows(n: number): void {
    if (n <= this.maxRows) return;
    const d = this.embedding.dim;
    const w = this.widest;
    const g = this.towers[0]?.online;
    this.maxRows = n;
    this.missH = new Float32Array(n * d);
    this.missItems = new Int32Array(n);
    this.rowSource = new Int32Array(n);
    this.ones = new Float32Array(n).fill(1);
    this.countRows = new Float32Array(n * d);
    this.missProj = new Float32Array(n * w);
    const layers = g ? g.sizes.length - 1 : 0;
    this.acts = Array.from({ length: layers }, () => new Float32Array(n * w));
    this.heads = new Float32Array(n * (g ? g.heads : 1));
  }

  /**
   * LIV = min(Q_1, Q_2) of tower `t` (index into the network's towers) for
   * `n` candidates of `user` (items, PAIR_COUNT_DIM counts per row) into
   * out[r * stride + offset].
   */
  liv(t: number, user: number, items: Int32Array, pairCounts: Float32Array, n: number, out: Float32Array, stride: number, offset: number): void {
    this.begin(user, pairCounts, n);
    this.towerLiv(t, items, n, out, stride, offset);
  }

  /**
   * The tower-independent part of a request: h_u and, per row, the sum of
   * (e(k, b_k) - e(k, 0)) over its nonzero count buckets. Call once, then
   * {@link towerLiv} for each tower (same user, counts and n).
   */
  begin(user: number, pairCounts: Float32Array, n: number): void {
    this.beginRequests([{ user, candidatePairCounts: pairCounts, rows: n }]);
  }

  /**
   * {@link begin} for several requests scored together: their rows back to
   * back (request r's `rows` rows after the earlier requests'), each with its
   * own user. Then {@link towerLiv} over all the rows (items back to back).
   */
  beginRequests(requests: ReadonlyArray<{ user: number; candidatePairCounts: Float32Array; rows: number }>): void {
    const R = requests.length;
    let n = 0;
    for (const q of requests) n += q.rows;
    this.ensureRows(n);
    const d = this.embedding.dim;
    if (this.hu.length < R * d) this.hu = new Float32Array(Math.max(R * d, 2 * this.hu.length));
    if (this.requestStart.length < R + 1) this.requestStart = new Int32Array(Math.max(R + 1, 2 * this.requestStart.length));
    if (this.userTerm.length < R * this.widest) this.userTerm = new Float32Array(R * this.widest);
    const B = this.embedding.countBuckets;
    const ed = this.countVectorDelta();
    const hd = this.countRows;
    let anyCounts = false;
    let row = 0;
    for (let q = 0; q < R; q++) {
      const { user, candidatePairCounts: pairCounts, rows } = requests[q]!;
      this.embedding.userVector(user, this.hu, q * d);
      this.requestStart[q] = row;
      for (let i = 0; i < rows; i++, row++) {
        const o = row * d;
        const c = i * PAIR_COUNT_DIM;
        let first = true;
        for (let k = 0; k < PAIR_COUNT_DIM; k++) {
          const b = countBucket(pairCounts[c + k]!, B);
          if (b === 0) continue;
          const e = (k * B + b) * d;
          if (first) for (let j = 0; j < d; j++) hd[o + j] = ed[e + j]!;
          else for (let j = 0; j < d; j++) hd[o + j]! += ed[e + j]!;
          first = false;
        }
        if (first) hd.fill(0, o, o + d);
        else anyCounts = true;
      }
    }
    this.requestStart[R] = row;
    this.requests = R;
    this.anyCounts = anyCounts;
    this.begunRows = n;
  }

  /** LIV of tower t for the rows of the last {@link begin} into out[r * stride + offset]. */
  towerLiv(t: number, items: Int32Array, n: number, out: Float32Array, stride: number, offset: number): void {
    if (n !== this.begunRows) throw new RangeError(`RLIV-UA scoring: towerLiv for ${n} rows after begin for ${this.begunRows}`);
    const tower = this.towers[t]!;
    const group = tower.online;
    const p = this.projection(t);
    const W = p.width;
    const d = this.embedding.dim;
    const w0 = group.weights[0]!.value;
    const inDim = group.inDim;
    const z0 = this.acts[0]!;

    // 1. Item terms (which include b0 and the zero-count terms): cache misses are projected by one gemm
    //    and stored, then every row is gathered from its slot.
    const version = p.version;
    const S = this.slots[t]!;
    const slotOf = this.rowSource;
    let misses = 0;
    for (let r = 0; r < n; r++) {
      const item = items[r]!;
      const slot = item % S;
      slotOf[r] = slot;
      if (p.slotVersion[slot] !== version || p.slotItem[slot] !== item) {
        this.embedding.authorVector(item, this.missH, misses * d);
        this.missItems[misses++] = item;
      }
    }
    if (misses > 0) {
      const proj = this.missProj;
      fillRows(proj, misses, W, p.zeroCounts);
      gemmAt(false, true, misses, W, d, 1, this.missH, 0, d, w0, d, inDim, 1, proj, 0, W);
      for (let m = 0; m < misses; m++) {
        const slot = this.missItems[m]! % S;
        p.itemTerm.set(proj.subarray(m * W, m * W + W), slot * W);
        p.slotItem[slot] = this.missItems[m]!;
        p.slotVersion[slot] = version;
      }
    }
    gatherRows(p.itemTerm, W, slotOf, n, z0, W, 0);
    // Two items of this batch sharing a slot (catalogs larger than the cache): recompute the loser's row.
    if (S < this.numItems) {
      for (let r = 0; r < n; r++) {
        if (p.slotItem[slotOf[r]!] === items[r]!) continue;
        this.embedding.authorVector(items[r]!, this.missH, 0);
        z0.set(p.zeroCounts, r * W);
        gemmAt(false, true, 1, W, d, 1, this.missH, 0, d, w0, d, inDim, 1, z0, r * W, W);
      }
    }

    // 2. User term, the same for every row of a request: W0_u h_u of each request (one gemm), then a
    //    rank-1 update z0 += 1 (W0_u h_u) over each request's rows.
    const R = this.requests;
    const pu = this.userTerm;
    gemmAt(false, true, R, W, d, 1, this.hu, 0, d, w0, 0, inDim, 0, pu, 0, W);
    for (let q = 0; q < R; q++) {
      const r0 = this.requestStart[q]!;
      gemmAt(false, false, this.requestStart[q + 1]! - r0, W, 1, 1, this.ones, 0, 1, pu, q * W, W, 1, z0, r0 * W, W);
    }

    // 3. Count terms (rows from begin): one gemm, skipped when no candidate has counts.
    const hd = this.countRows;
    if (this.anyCounts) gemmAt(false, true, n, W, d, 1, hd, 0, d, w0, 2 * d, inDim, 1, z0, 0, W);

    // Later layers exactly as MlpGroup.forward.
    const G = group.heads;
    const L = group.weights.length;
    reluRange(z0, 0, n * W);
    let prev = z0;
    for (let l = 1; l < L; l++) {
      const fin = group.sizes[l]!;
      const fout = group.sizes[l + 1]!;
      const w = group.weights[l]!.value;
      const bias = group.biases[l]!.value;
      if (fout === 1) {
        segDot(prev, n, G, fin, w, bias, this.heads);
        prev = this.heads;
        break;
      }
      const width = G * fout;
      const outAct = this.acts[l]!;
      fillRows(outAct, n, width, bias);
      for (let g = 0; g < G; g++) gemmAt(false, true, n, fout, fin, 1, prev, g * fin, G * fin, w, g * fout * fin, fin, 1, outAct, g * fout, width);
      if (l + 1 < L) reluRange(outAct, 0, n * width);
      prev = outAct;
    }
    const colR = tower.rewardHeadIndex;
    const v1 = colR >= 0 ? 1 : 0;
    const s = colR >= 0 ? this.gamma : 1;
    for (let r = 0; r < n; r++) {
      const b = r * G;
      const r0 = colR >= 0 ? prev[b + colR]! : 0;
      const a = r0 + s * prev[b + v1]!;
      const c = r0 + s * prev[b + v1 + 1]!;
      out[r * stride + offset] = a < c ? a : c;
    }
  }

  /** e(k, b) - e(k, 0) for every count kind k and bucket b (bucket 0 rows unused), for the current parameter version. */
  private countVectorDelta(): Float32Array {
    const version = this.embedding.paramVersion;
    const ed = this.vectorDelta;
    if (this.vectorDeltaVersion === version) return ed;
    const d = this.embedding.dim;
    const B = this.embedding.countBuckets;
    const e = new Float32Array(d);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) {
      this.embedding.countVector(k, 0, e, 0);
      for (let b = 1; b < B; b++) {
        const q = (k * B + b) * d;
        this.embedding.countVector(k, b, ed, q);
        for (let j = 0; j < d; j++) ed[q + j]! -= e[j]!;
      }
    }
    this.vectorDeltaVersion = version;
    return ed;
  }

  /** The projections of tower t for the current parameter version (recomputed after any parameter change). */
  private projection(t: number): TowerProjection {
    const version = this.embedding.paramVersion;
    const group = this.towers[t]!.online;
    const W = group.heads * group.sizes[1]!;
    let p = this.projections[t];
    if (p === null || p === undefined) {
      const S = this.slots[t]!;
      p = {
        width: W,
        version: 0,
        zeroCounts: new Float32Array(W),
        itemTerm: new Float32Array(S * W),
        slotItem: new Int32Array(S).fill(-1),
        slotVersion: new Int32Array(S),
      };
      this.projections[t] = p;
    }
    if (p.version === version) return p;
    const d = this.embedding.dim;
    const B = this.embedding.countBuckets;
    const w0 = group.weights[0]!.value;
    const inDim = group.inDim;
    // h_ua of a pair with no interactions.
    const e0 = new Float32Array(d);
    const e = new Float32Array(d);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) {
      this.embedding.countVector(k, 0, e, 0);
      for (let j = 0; j < d; j++) e0[j]! += e[j]!;
    }
    // b0 + W0_ua h_ua(zero counts): part of every item term.
    p.zeroCounts.set(group.biases[0]!.value.subarray(0, W));
    gemmAt(false, true, 1, W, d, 1, e0, 0, d, w0, 2 * d, inDim, 1, p.zeroCounts, 0, W);
    // Item slots of older versions are stale: the version tag makes them misses.
    p.version = version;
    return p;
  }
}
