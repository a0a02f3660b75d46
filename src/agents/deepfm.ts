/**
 * RankingModel: a multi-head DeepFM, the supervised ranking baseline of the
 * paper (§4.1.2; Guo et al. 2017, "DeepFM: A Factorization-Machine based
 * Neural Network for CTR Prediction", IJCAI).
 *
 * Fields (F of them, see feature-fields.ts): user id, user categorical
 * features, item id, author id, tag, item categorical features and the 7
 * bucketized pair counts f_ua. Each field f has a shared embedding v_f
 * (Table 1: 32-d) and first-order weights w_f (one per head). For head h:
 *
 *   logit_h = sum_f w_{f,h}                                   (first order)
 *           + a_h * FM + c_h,  FM = 1/2 sum_d [(sum_f v_fd)^2 - sum_f v_fd^2]
 *           + MLP_h(concat_f v_f)                              (deep part, [64, 64])
 *
 * (a_h, c_h: one learned scale and bias per head on the shared FM term.)
 * Heads and losses (a weighted sum of per-head means over exposures):
 *   click     BCE(logit, is_click)
 *   longView  BCE(logit, long_view)
 *   watchTime MSE(logit, log1p(play seconds))    (0 when not played)
 *   follow    BCE(logit, is_follow)
 * Trained on exposures of observed sessions (by default only the logging
 * policy's: `learnsOffline`); ranks by the click logit. `predict` exposes
 * all heads (RLUR ranks with a weighted sum of them).
 */
import type { Catalog } from '../world/catalog.js';
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import { Adam } from '../numeric/adam.js';
import { EmbeddingTable } from '../numeric/embedding.js';
import { FieldLinear } from '../numeric/field-linear.js';
import { gatherRows, scatterRowsAt } from '../numeric/kernels.js';
import { Linear } from '../numeric/linear.js';
import { bceWithLogitsLoss, mseLoss } from '../numeric/losses.js';
import { Mlp } from '../numeric/mlp.js';
import type { Param } from '../numeric/param.js';
import { Rng } from '../numeric/rng.js';
import type { SessionTrace } from '../environment/trace.js';
import { requireHidden, requireInt, requireRange, resolveConfig } from './agent-config.js';
import { assertFiniteLoss, loadAgentCheckpoint, replayStore, saveAgentCheckpoint, type AgentState, type CheckpointedStore } from './agent-checkpoint.js';
import { FeatureFields, scatterSlots } from './feature-fields.js';
import type { Ranker, RankerContext, RankRequest, TrainStats } from './ranker.js';
import { RequestReplay, RESP_CLICK, RESP_DIM, RESP_FOLLOW, RESP_LONG_VIEW, RESP_WATCH_SEC } from './request-replay.js';

/** The heads, in column order of the logits. */
export const RANKING_HEADS = ['click', 'longView', 'watchTime', 'follow'] as const;
export const RANKING_HEAD_COUNT = RANKING_HEADS.length;
const H_CLICK = 0;
const H_LONG_VIEW = 1;
const H_WATCH = 2;
const H_FOLLOW = 3;

export interface RankingModelConfig {
  /** Width of every field embedding (Table 1: 32). */
  embeddingDim: number;
  /** Rows of the hashed embedding tables (all fields share them). */
  embeddingRows: number;
  /** Hidden widths of the deep part (Table 1: [64, 64]). */
  hidden: number[];
  /** Adam learning rate of every parameter (Table 1: critic/embedding lr 1e-3). */
  lr: number;
  /** Exposures per gradient step (Table 1: 1024). */
  batchSize: number;
  /** Requests kept in the replay of observed sessions. */
  replayCapacity: number;
  /** Largest slate stored per request. */
  maxSlate: number;
  /** Loss weight of each head. */
  headWeights: { click: number; longView: number; watchTime: number; follow: number };
  /** Std of the initial embedding values. */
  initScale: number;
  /** Also learn from sessions collected with its own scores (default false: logs of the logging policy only, as the paper's offline RankingModel). */
  trainOnCollected: boolean;
}

export const RANKING_MODEL_DEFAULTS: RankingModelConfig = {
  embeddingDim: 32,
  embeddingRows: 1 << 16,
  hidden: [64, 64],
  lr: 1e-3,
  batchSize: 1024,
  replayCapacity: 100_000,
  maxSlate: 16,
  headWeights: { click: 1, longView: 1, watchTime: 1, follow: 1 },
  initScale: 0.05,
  trainOnCollected: false,
};

/** Validated config of a RankingModel (shared by RLUR, which embeds one). */
export function resolveRankingModelConfig(agent: string, overrides?: Record<string, unknown>): RankingModelConfig {
  const c = resolveConfig(agent, RANKING_MODEL_DEFAULTS, overrides);
  requireInt(agent, 'embeddingDim', c.embeddingDim, 1, 1024);
  requireInt(agent, 'embeddingRows', c.embeddingRows, 1, 1 << 26);
  requireHidden(agent, 'hidden', c.hidden);
  requireRange(agent, 'lr', c.lr, 0, 1);
  requireInt(agent, 'batchSize', c.batchSize, 1);
  requireInt(agent, 'replayCapacity', c.replayCapacity, 2);
  requireInt(agent, 'maxSlate', c.maxSlate, 1, 300);
  for (const [k, w] of Object.entries(c.headWeights)) requireRange(agent, `headWeights.${k}`, w, 0, 1e6);
  requireRange(agent, 'initScale', c.initScale, 0, 10);
  return c;
}

export class RankingModel implements Ranker {
  readonly name: string;
  readonly towerLiv = null;
  readonly learnsOffline: boolean;
  readonly config: RankingModelConfig;
  readonly fields: FeatureFields;
  /** Field count F. */
  readonly fieldCount: number;
  private readonly emb: EmbeddingTable;
  /** First-order weights: one row per field value, one column per head (same hashing as `emb`). */
  private readonly first: EmbeddingTable;
  private readonly deep: Mlp;
  /** The deep part's first layer over the batch's distinct field rows (each field its own slot). */
  private readonly firstLayer: FieldLinear;
  private readonly fmHead: Linear;
  private readonly optimizer: Adam;
  private readonly rng: Rng;
  readonly replay: RequestReplay;
  private readonly fieldSlots: Int32Array;
  private readonly zeroSlots: Int32Array;
  private steps = 0;

  // Batch buffers, grown by ensureCapacity (never per call once sized).
  private cap = 0;
  private rows = new Int32Array(0);
  /** Pre-activation of the deep part's first layer (n x hidden[0]), kept for its backward. */
  private h0 = new Float32Array(0);
  /** Squared norm of each distinct embedding row of the batch, and the FM gradient's per-row count (scratch). */
  private sqNorm = new Float32Array(0);
  private dfmCount = new Float32Array(0);
  private lin = new Float32Array(0);
  /** First-order weight rows of the batch's distinct field rows (distinct x 4). */
  private firstRows = new Float32Array(0);
  private fm = new Float32Array(0);
  private sumV = new Float32Array(0);
  private logits = new Float32Array(0);
  private dLogits = new Float32Array(0);
  /** Labels of a training batch, head-major (labelCols[h * n + b]). */
  private labelCols = new Float32Array(0);
  private headPred = new Float32Array(0);
  private headLabel = new Float32Array(0);
  private headGrad = new Float32Array(0);

  constructor(context: RankerContext, overrides?: Record<string, unknown>, name = 'RankingModel') {
    this.name = name;
    this.config = resolveRankingModelConfig(name, overrides);
    this.learnsOffline = !this.config.trainOnCollected;
    const root = new Rng(context.seed).fork(name);
    this.rng = root.fork('sampling');
    const c = this.config;
    this.emb = new EmbeddingTable({ rows: c.embeddingRows, dim: c.embeddingDim, name: `${name}.embedding`, initScale: c.initScale }, root.fork('embedding'));
    this.first = new EmbeddingTable({ rows: c.embeddingRows, dim: RANKING_HEAD_COUNT, name: `${name}.firstOrder`, initScale: 0.01 }, root.fork('first-order'));
    this.fields = new FeatureFields(context.catalog, this.emb);
    this.fieldCount = this.fields.userFieldCount + this.fields.itemFieldCount + this.fields.pairFieldCount;
    this.deep = new Mlp({ sizes: [this.fieldCount * c.embeddingDim, ...c.hidden, RANKING_HEAD_COUNT], name: `${name}.deep` }, root.fork('deep'));
    this.fmHead = new Linear(1, RANKING_HEAD_COUNT, root.fork('fm-head'), `${name}.fmHead`);
    this.optimizer = new Adam(this.params(), { lr: c.lr });
    this.replay = new RequestReplay({ capacity: c.replayCapacity, maxCandidates: c.maxSlate, maxSlate: c.maxSlate });
    this.fieldSlots = Int32Array.from({ length: this.fieldCount }, (_, j) => j);
    // The user's fields come first: the candidates of one request share them (FieldLinear sums them once per request).
    this.firstLayer = new FieldLinear({
      table: this.emb,
      slotOf: this.fieldSlots,
      slotCount: this.fieldCount,
      denseCols: 0,
      name: `${name}.deep input`,
      sharedPrefix: this.fields.userFieldCount,
    });
    this.zeroSlots = new Int32Array(this.fieldCount);
    this.ensureCapacity(300);
  }

  /** Every trainable parameter (embedding tables, deep part, FM head). */
  params(): Param[] {
    return [this.emb.table, this.first.table, ...this.deep.params(), ...this.fmHead.params()];
  }

  /** Grows the batch buffers to hold `n` examples. Call before {@link setExample} for a batch of n. */
  ensureCapacity(n: number): void {
    if (n <= this.cap) return;
    const F = this.fieldCount;
    const d = this.config.embeddingDim;
    const H = RANKING_HEAD_COUNT;
    this.cap = n;
    this.rows = new Int32Array(F * n);
    this.h0 = new Float32Array(n * this.deep.sizes[1]!);
    this.lin = new Float32Array(n * H);
    this.fm = new Float32Array(n);
    this.sumV = new Float32Array(n * d);
    this.logits = new Float32Array(n * H);
    this.dLogits = new Float32Array(n * H);
    this.labelCols = new Float32Array(n * H);
    this.headPred = new Float32Array(n);
    this.headLabel = new Float32Array(n);
    this.headGrad = new Float32Array(n);
  }

  /** Sets example b of the next batch: user, item and the pair counts at counts[countsOffset .. +7]. */
  setExample(b: number, user: number, item: number, counts: Float32Array, countsOffset: number): void {
    const f = this.fields;
    const cap = this.cap;
    f.userRows(user, this.rows, b, cap);
    f.itemRows(item, this.rows, f.userFieldCount * cap + b, cap);
    f.pairRows(counts, countsOffset, this.rows, (f.userFieldCount + f.itemFieldCount) * cap + b, cap);
  }

  /**
   * Logits (n x 4, row-major, columns = RANKING_HEADS) of the first n
   * examples set. Buffer owned by the model. The deep part's first layer and
   * the FM term run over the batch's distinct embedding rows (FieldLinear:
   * the N candidates of a request share the user's fields, and items and
   * count buckets repeat), with the same values as on the concatenated
   * field embeddings up to float32 rounding.
   */
  forward(n: number): Float32Array {
    const F = this.fieldCount;
    const d = this.config.embeddingDim;
    const H = RANKING_HEAD_COUNT;
    const fl = this.firstLayer;
    fl.prepare(this.rows, this.cap, n);
    // First-order term: the fields' weight rows summed per example (from the distinct rows, in field order).
    const u = fl.distinct;
    if (this.firstRows.length < u * H) this.firstRows = new Float32Array(Math.max(u * H, 2 * this.firstRows.length));
    gatherRows(this.first.table.value, H, fl.distinctRows(), u, this.firstRows, H, 0);
    this.lin.fill(0, 0, n * H);
    fl.sumPositions(this.firstRows, H, this.lin);
    // FM second order via the sum-square trick, from the distinct rows:
    // sumV_b = sum_j v_jb (rows summed per example), fm_b = 1/2 (|sumV_b|^2 - sum_j |v_jb|^2).
    const e = fl.distinctEmbeddings();
    if (this.sqNorm.length < u) this.sqNorm = new Float32Array(Math.max(u, 2 * this.sqNorm.length));
    for (let r = 0; r < u; r++) {
      let q = 0;
      for (let k = 0; k < d; k++) q += e[r * d + k]! * e[r * d + k]!;
      this.sqNorm[r] = q;
    }
    this.sumV.fill(0, 0, n * d);
    fl.sumPositions(e, d, this.sumV);
    this.fm.fill(0, 0, n);
    fl.sumPositions(this.sqNorm, 1, this.fm);
    for (let b = 0; b < n; b++) {
      let s2 = 0;
      for (let k = 0; k < d; k++) s2 += this.sumV[b * d + k]! * this.sumV[b * d + k]!;
      this.fm[b] = 0.5 * (s2 - this.fm[b]!);
    }
    const deep = this.deep.forwardFrom(fl.forward(this.deep.layers[0]!, this.h0), n);
    const fmOut = this.fmHead.forward(this.fm, n);
    const logits = this.logits;
    for (let i = 0; i < n * H; i++) logits[i] = this.lin[i]! + deep[i]! + fmOut[i]!;
    return logits;
  }

  /** Backward of {@link forward} from dLogits (n x 4): accumulates every parameter's gradient. */
  backward(dLogits: Float32Array, n: number): void {
    const F = this.fieldCount;
    const d = this.config.embeddingDim;
    const H = RANKING_HEAD_COUNT;
    const fl = this.firstLayer;
    const dh0 = this.deep.backwardTo(dLogits, n);
    const dfm = this.fmHead.backward(dLogits, n);
    // d FM / d v_jb = sumV_b - v_jb: per distinct row u, sum over its occurrences (b, j) of
    // dfm_b sumV_b, minus (sum of dfm_b) v_u; added to the deep part's gradient of the rows.
    const u = fl.distinct;
    for (let b = 0; b < n; b++) {
      const g = dfm[b]!;
      for (let k = 0; k < d; k++) this.sumV[b * d + k]! *= g; // sumV is not needed after this
    }
    if (this.dfmCount.length < u) this.dfmCount = new Float32Array(Math.max(u, 2 * this.dfmCount.length));
    this.dfmCount.fill(0, 0, u);
    scatterRowsAt(dfm, 1, n, F, 1, fl.offsetsFor(1), this.dfmCount);
    const e = fl.distinctEmbeddings();
    fl.backward(this.deep.layers[0]!, dh0, (dE) => {
      scatterRowsAt(this.sumV, d, n, F, d, fl.offsetsFor(d), dE);
      for (let r = 0; r < u; r++) {
        const c = this.dfmCount[r]!;
        if (c !== 0) for (let k = 0; k < d; k++) dE[r * d + k]! -= c * e[r * d + k]!;
      }
    });
    scatterSlots(this.first, this.rows, this.cap, this.zeroSlots, n, dLogits, H, 0);
  }

  /**
   * Predicted signals of each candidate into out (N x 4, row-major):
   * [P(click), P(long view), predicted log1p(watch seconds) (>= 0), P(follow)].
   */
  predict(request: RankRequest, out: Float32Array): void {
    this.predictRequests([request], out);
  }

  /** {@link predict} of several requests in one forward: their candidates' rows back to back in `out`. */
  predictRequests(requests: readonly RankRequest[], out: Float32Array): void {
    const n = this.checkRequests(requests, out, RANKING_HEAD_COUNT);
    signalsFromLogits(this.scoreRows(requests, n), n, out);
  }

  /** Ranks by the click logit (monotone in P(click)). */
  score(request: RankRequest, out: Float32Array): void {
    this.scoreRequests([request], out);
  }

  /** {@link score} of several requests in one forward (their candidates back to back in `out`). */
  scoreRequests(requests: readonly RankRequest[], out: Float32Array): void {
    const n = this.checkRequests(requests, out, 1);
    const logits = this.scoreRows(requests, n);
    for (let c = 0; c < n; c++) out[c] = logits[c * RANKING_HEAD_COUNT + H_CLICK]!;
  }

  observe(sessions: readonly SessionTrace[]): void {
    this.replay.push(sessions, this.rng, this.fields.catalog.numItems, this.fields.catalog.numUsers);
  }

  train(steps: number): TrainStats {
    requireInt(this.name, 'train(steps)', steps, 0);
    const sums = { click: 0, longView: 0, watchTime: 0, follow: 0 };
    if (this.replay.size === 0 || steps === 0) return { steps: 0, losses: {} };
    for (let s = 0; s < steps; s++) {
      const l = this.trainStep();
      sums.click += l[H_CLICK]!;
      sums.longView += l[H_LONG_VIEW]!;
      sums.watchTime += l[H_WATCH]!;
      sums.follow += l[H_FOLLOW]!;
    }
    return { steps, losses: { click: sums.click / steps, longView: sums.longView / steps, watchTime: sums.watchTime / steps, follow: sums.follow / steps } };
  }

  private readonly stepLosses = new Float64Array(RANKING_HEAD_COUNT);

  /** One supervised step on `batchSize` exposures drawn uniformly from the replay; returns the per-head mean losses. */
  trainStep(): Float64Array {
    const B = this.config.batchSize;
    this.ensureCapacity(B);
    const r = this.replay;
    const labels = this.headLabel;
    const labelCols = this.labelCols;
    for (let b = 0; b < B; b++) {
      const i = r.sample(this.rng);
      const p = this.rng.int(r.slateCount[i]!);
      const slot = i * r.maxCandidates + p;
      this.setExample(b, r.user[i]!, r.candidates[slot]!, r.pairCounts, slot * PAIR_COUNT_DIM);
      const o = (i * r.maxSlate + p) * RESP_DIM;
      labelCols[H_CLICK * B + b] = r.responses[o + RESP_CLICK]!;
      labelCols[H_LONG_VIEW * B + b] = r.responses[o + RESP_LONG_VIEW]!;
      labelCols[H_WATCH * B + b] = Math.log1p(r.responses[o + RESP_WATCH_SEC]!);
      labelCols[H_FOLLOW * B + b] = r.responses[o + RESP_FOLLOW]! > 0 ? 1 : 0;
    }
    this.optimizer.zeroGrad();
    const logits = this.forward(B);
    const w = this.config.headWeights;
    const weights = [w.click, w.longView, w.watchTime, w.follow];
    const H = RANKING_HEAD_COUNT;
    // Per head: contiguous predictions and labels -> loss and gradient.
    const gradAll = this.dLogits;
    for (let h = 0; h < H; h++) {
      for (let b = 0; b < B; b++) {
        this.headPred[b] = logits[b * H + h]!;
        labels[b] = labelCols[h * B + b]!;
      }
      const loss = h === H_WATCH ? mseLoss(this.headPred, labels, B, this.headGrad) : bceWithLogitsLoss(this.headPred, labels, B, this.headGrad);
      assertFiniteLoss(this.name, RANKING_HEADS[h]!, loss, this.steps);
      this.stepLosses[h] = loss;
      for (let b = 0; b < B; b++) gradAll[b * H + h] = weights[h]! * this.headGrad[b]!;
    }
    this.backward(gradAll, B);
    this.optimizer.step();
    this.steps++;
    return this.stepLosses;
  }

  /** Config + parameters + Adam + sampling RNG + step counter + the stored exposures it learns from (agent-checkpoint.ts). */
  save(): Uint8Array {
    return saveAgentCheckpoint(this.state(), this.stores());
  }

  /** Restores what `save` wrote, all or nothing (corrupt or mismatched bytes throw and change nothing). */
  load(bytes: Uint8Array): void {
    const counters = loadAgentCheckpoint(bytes, this.state(), this.stores());
    this.steps = counters.steps ?? 0;
  }

  /** Parts of the checkpoint (RLUR folds these into its own). */
  state(): AgentState {
    return { agent: this.name, config: this.config, params: this.params(), optimizers: [this.optimizer], rngs: [this.rng], counters: { steps: this.steps } };
  }

  /** The sample stores of the checkpoint: the replay of observed exposures (RLUR folds it into its own). */
  stores(): CheckpointedStore[] {
    const { numUsers, numItems } = this.fields.catalog;
    return [replayStore(this.replay, { numUsers, numItems })];
  }

  /**
   * Optimizer, RNG and step counter, for agents that embed a RankingModel and
   * checkpoint it with themselves (`setSteps` restores the counter on load).
   */
  internals(): { optimizer: Adam; rng: Rng; steps: number; setSteps: (steps: number) => void } {
    return {
      optimizer: this.optimizer,
      rng: this.rng,
      steps: this.steps,
      setSteps: (steps) => {
        this.steps = steps;
      },
    };
  }

  /** Logits of the n candidates of `requests`, back to back. */
  private scoreRows(requests: readonly RankRequest[], n: number): Float32Array {
    this.ensureCapacity(n);
    let m = 0;
    for (const request of requests) {
      for (let c = 0; c < request.candidates.length; c++)
        this.setExample(m++, request.user, request.candidates[c]!, request.candidatePairCounts, c * PAIR_COUNT_DIM);
    }
    return this.forward(n);
  }

  /** Checks every request and that `out` holds `perRow` values per candidate; returns the candidate count. */
  private checkRequests(requests: readonly RankRequest[], out: Float32Array, perRow: number): number {
    let total = 0;
    for (const request of requests) {
      const n = request.candidates.length;
      this.fields.checkUser(request.user, this.name);
      if (request.candidatePairCounts.length < n * PAIR_COUNT_DIM) {
        throw new RangeError(`${this.name}.score: candidatePairCounts has ${request.candidatePairCounts.length} values, ${n} x ${PAIR_COUNT_DIM} needed`);
      }
      this.fields.checkItems(request.candidates, this.name);
      total += n;
    }
    if (out.length < total * perRow)
      throw new RangeError(`${this.name}.score: output buffer holds ${out.length} values, ${total * perRow} needed for ${total} candidates`);
    return total;
  }
}

/** Logits (n x 4) -> signals (n x 4): sigmoid for click/longView/follow, max(0, .) for log1p watch seconds. */
export function signalsFromLogits(logits: Float32Array, n: number, out: Float32Array): void {
  const H = RANKING_HEAD_COUNT;
  for (let c = 0; c < n; c++) {
    const o = c * H;
    out[o + H_CLICK] = sigmoid(logits[o + H_CLICK]!);
    out[o + H_LONG_VIEW] = sigmoid(logits[o + H_LONG_VIEW]!);
    out[o + H_WATCH] = Math.max(0, logits[o + H_WATCH]!);
    out[o + H_FOLLOW] = sigmoid(logits[o + H_FOLLOW]!);
  }
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
