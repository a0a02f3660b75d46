/**
 * RLUR baseline (Cai, Liu, Jiang et al. 2023, "Reinforcing User Retention in
 * a Billion Scale Short Video Recommender System", WWW companion): an actor
 * chooses the WEIGHTS with which the ranking model's predicted signals are
 * combined; two TD3-style critics value those choices, one for immediate
 * feedback and one for retention.
 *
 * Signals x_j (per candidate j, standardized over the request's candidates):
 * the embedded DeepFM RankingModel's [P(click), P(long view), predicted
 * log1p(watch s), P(follow)] (deepfm.ts; trained supervised on the observed
 * sessions: each `train(steps)` first runs the ranking model's steps, then
 * the RL steps, which read the stored candidates' signals as computed by the
 * ranking model after its steps: an entry's signals are computed the first
 * time a step of this `train` samples it (in batched forwards), which gives
 * the values a full recomputation of the replay would, for the entries used).
 * State s = [h_user | h_userCats | session summary] (own embedding table).
 * Action w = maxAction * tanh(MLP_pi(s)) in R^4; a candidate's score is w . x_j.
 *
 * Critics see the action through the slate it produces, in signal space:
 * the logged slate's profile p_t = mean_{j in slate} x_j, and for the actor
 * the soft top slate p(w) = sum_j softmax_j(beta w . x_j) x_j over the
 * request's kept candidates (differentiable in w). Rewards per request:
 *   r_I = sum_{slate} (click + 0.25 log1p(watch s) + follow + 0.5 like)
 *         + rndWeight * RND(s) / mean RND           (optional novelty bonus)
 *   r_T = 1                        if the session continues after the request
 *         returnWeight / (1 + returnGapDays)   at the session end (0 if it never returns)
 * Each critic k in {I, T} is a TD3 twin (Q_k1, Q_k2 + targets):
 *   y_k = r_k + gamma (1 - done) min_m Q_km_target(s', p(clip(pi_target(s') + eps)))
 *   L_k = sum_m (Q_km(s, p_t) - y_k)^2,  eps = clip(N(0, sigma^2), -c, c)
 * Actor (delayed, every policyDelay steps), then Polyak target updates:
 *   L_pi = -(lambda_T Q_T1(s, p(pi(s))) + lambda_I Q_I1(s, p(pi(s))))
 * RND (Burda et al. 2019): a fixed random MLP f and a predictor g trained by
 * MSE on visited states; RND(s) = |g(s) - f(s)|^2 / dim.
 * Table 1: critic lr 1e-3, actor lr 1e-4, gamma 0.9, tau 0.005, [64, 64], 32.
 */
import { Adam } from '../numeric/adam.js';
import { EmbeddingTable } from '../numeric/embedding.js';
import { Mlp } from '../numeric/mlp.js';
import type { Param } from '../numeric/param.js';
import { Rng } from '../numeric/rng.js';
import { hardCopy, softUpdate } from '../numeric/soft-update.js';
import { SESSION_SUMMARY_DIM, type SessionTrace } from '../environment/trace.js';
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import { requireHidden, requireInt, requireRange, resolveConfig } from './agent-config.js';
import { assertFiniteLoss, loadAgentCheckpoint, replayStore, saveAgentCheckpoint, type AgentState, type CheckpointedStore } from './agent-checkpoint.js';
import { RANKING_HEAD_COUNT, RankingModel, signalsFromLogits } from './deepfm.js';
import { FeatureFields } from './feature-fields.js';
import type { Ranker, RankerContext, RankRequest, TrainStats } from './ranker.js';
import { checkRankRequests, RequestInput } from './request-input.js';
import { RequestReplay, type RewardWeights } from './request-replay.js';
import { td3StyleDefaults, type Td3StyleConfig } from './td3-style-config.js';

/** Number of ranking signals the actor weighs. */
export const RLUR_SIGNALS = RANKING_HEAD_COUNT;

/** RLUR configuration; `embeddingRows` sizes both its own table and its ranking model's. */
export interface RlurConfig extends Td3StyleConfig {
  /** Sharpness beta of the soft top slate p(w) = sum softmax(beta w.x) x. */
  profileTemperature: number;
  /** Weight lambda_T of the retention critic in the actor loss. */
  lambdaRetention: number;
  /** Weight lambda_I of the immediate critic in the actor loss. */
  lambdaImmediate: number;
  /** Retention reward of a request after which the session continues. */
  continueReward: number;
  /** Retention reward at the session end is returnWeight / (1 + return gap in days). */
  returnWeight: number;
  /** Weights of the immediate feedback (summed over the slate). */
  reward: RewardWeights;
  /** Weight of the RND novelty bonus in r_I (0 = off). */
  rndWeight: number;
  /** Output width of the RND networks. */
  rndDim: number;
  /** Ranking-model (supervised) steps per RL step. */
  rankingStepsPerStep: number;
  /** Requests kept in the replay. */
  replayCapacity: number;
  /** Candidates kept per request for the soft slate (slate + random others). */
  maxCandidates: number;
  /** Largest slate stored per request. */
  maxSlate: number;
  /** Std of the initial embedding values. */
  initScale: number;
}

export const RLUR_DEFAULTS: RlurConfig = {
  ...td3StyleDefaults(),
  profileTemperature: 4,
  lambdaRetention: 1,
  lambdaImmediate: 1,
  continueReward: 1,
  returnWeight: 1,
  reward: { click: 1, watchLog1p: 0.25, follow: 1, like: 0.5 },
  rndWeight: 0.1,
  rndDim: 16,
  rankingStepsPerStep: 1,
  replayCapacity: 100_000,
  maxCandidates: 16,
  maxSlate: 16,
  initScale: 0.05,
};

/** Rows (kept candidates) per ranking-model forward when computing replay entries' signals. */
const SIGNAL_ROWS = 4096;

const CRITIC_I = 0;
const CRITIC_T = 1;

export class Rlur implements Ranker {
  readonly name = 'RLUR';
  readonly towerLiv = null;
  readonly config: RlurConfig;
  /** The embedded DeepFM whose predictions the actor weighs. */
  readonly rankingModel: RankingModel;
  private readonly fields: FeatureFields;
  private readonly emb: EmbeddingTable;
  private readonly stateInput: RequestInput;
  private readonly actor: Mlp;
  private readonly actorTarget: Mlp;
  /** critics[k][m]: critic k (0 immediate, 1 retention), twin m. */
  private readonly critics: [[Mlp, Mlp], [Mlp, Mlp]];
  private readonly criticTargets: [[Mlp, Mlp], [Mlp, Mlp]];
  private readonly rndTarget: Mlp;
  private readonly rndPredictor: Mlp;
  private readonly criticOpt: Adam;
  private readonly actorOpt: Adam;
  private readonly rndOpt: Adam;
  private readonly rng: Rng;
  readonly replay: RequestReplay;
  /** Standardized signals of each replay entry's kept candidates (capacity x maxCandidates x 4); entry i is current when signalsAt[i] = signalGeneration. */
  private readonly signals: Float32Array;
  /** The generation at which each entry's signals were computed. */
  private readonly signalsAt: Int32Array;
  /** Bumped by every train() (the ranking model may have moved, new entries may have replaced old ones): older signals are stale. */
  private signalGeneration = 0;
  /** Entries whose signals a step needs (sampled and next), and the entries of one signal batch (scratch). */
  private readonly needed: Int32Array;
  private readonly batchEntries = new Int32Array(SIGNAL_ROWS);
  private steps = 0;
  private actorSteps = 0;
  private rankingSteps = 0;
  /** Running mean of the raw RND error (normalizes the bonus). */
  private rndMean = 0;
  private lastActorLoss = 0;

  private readonly sd: number;
  private readonly xcCur: Float32Array;
  private readonly xcNext: Float32Array;
  private readonly idx: Int32Array;
  private readonly nextRow: Int32Array;
  private readonly yI: Float32Array;
  private readonly yT: Float32Array;
  private readonly minQ: Float32Array;
  private readonly dq: Float32Array;
  private readonly dxSum: Float32Array;
  private readonly weights: Float32Array;
  private readonly softPi: Float32Array;
  private readonly rndErr: Float32Array;
  private readonly rndGrad: Float32Array;
  private readonly dz: Float32Array;
  private readonly pScratch = new Float32Array(RLUR_SIGNALS);
  private scoreSignals = new Float32Array(300 * RLUR_SIGNALS);
  private readonly action = new Float32Array(RLUR_SIGNALS);

  constructor(context: RankerContext, overrides?: Record<string, unknown>) {
    const c = resolveRlurConfig(overrides);
    this.config = c;
    const root = new Rng(context.seed).fork('RLUR');
    this.rng = root.fork('sampling');
    this.rankingModel = new RankingModel(
      { catalog: context.catalog, seed: context.seed },
      {
        embeddingDim: c.embeddingDim,
        embeddingRows: c.embeddingRows,
        hidden: c.hidden,
        lr: c.criticLr,
        batchSize: c.batchSize,
        replayCapacity: c.replayCapacity,
        maxSlate: c.maxSlate,
        initScale: c.initScale,
        trainOnCollected: true,
      },
      'RLUR.rankingModel',
    );
    this.emb = new EmbeddingTable({ rows: c.embeddingRows, dim: c.embeddingDim, name: 'RLUR.embedding', initScale: c.initScale }, root.fork('embedding'));
    this.fields = new FeatureFields(context.catalog, this.emb);
    this.stateInput = new RequestInput(this.fields, 'state');
    this.sd = this.stateInput.inDim;
    const S = RLUR_SIGNALS;
    const criticSizes = [this.sd + S, ...c.hidden, 1];
    const mk = (name: string, seedLabel: string, sizes: number[]) => new Mlp({ sizes, name: `RLUR.${name}` }, root.fork(seedLabel));
    this.actor = mk('actor', 'actor', [this.sd, ...c.hidden, S]);
    this.actorTarget = mk('actorTarget', 'actor', [this.sd, ...c.hidden, S]);
    this.critics = [
      [mk('immediate1', 'i1', criticSizes), mk('immediate2', 'i2', criticSizes)],
      [mk('retention1', 't1', criticSizes), mk('retention2', 't2', criticSizes)],
    ];
    this.criticTargets = [
      [mk('immediate1Target', 'i1', criticSizes), mk('immediate2Target', 'i2', criticSizes)],
      [mk('retention1Target', 't1', criticSizes), mk('retention2Target', 't2', criticSizes)],
    ];
    this.rndTarget = mk('rndTarget', 'rnd-target', [this.sd, ...c.hidden, c.rndDim]);
    this.rndPredictor = mk('rndPredictor', 'rnd-predictor', [this.sd, ...c.hidden, c.rndDim]);
    this.rndPredictor.layers[0]!.computeInputGrad = false;
    hardCopy(this.actorTarget.params(), this.actor.params());
    for (let k = 0; k < 2; k++) for (let m = 0; m < 2; m++) hardCopy(this.criticTargets[k]![m]!.params(), this.critics[k]![m]!.params());
    this.criticOpt = new Adam([this.emb.table, ...this.critics.flat().flatMap((q) => q.params())], { lr: c.criticLr });
    this.actorOpt = new Adam(this.actor.params(), { lr: c.actorLr });
    this.rndOpt = new Adam(this.rndPredictor.params(), { lr: c.criticLr });
    this.replay = new RequestReplay({ capacity: c.replayCapacity, maxCandidates: c.maxCandidates, maxSlate: c.maxSlate });
    this.signals = new Float32Array(c.replayCapacity * c.maxCandidates * S);
    this.signalsAt = new Int32Array(c.replayCapacity);
    this.needed = new Int32Array(2 * c.batchSize);
    const B = c.batchSize;
    const w = this.sd + S;
    this.xcCur = new Float32Array(B * w);
    this.xcNext = new Float32Array(B * w);
    this.idx = new Int32Array(B);
    this.nextRow = new Int32Array(B);
    this.yI = new Float32Array(B);
    this.yT = new Float32Array(B);
    this.minQ = new Float32Array(B);
    this.dq = new Float32Array(B);
    this.dxSum = new Float32Array(B * w);
    this.weights = new Float32Array(B * S);
    this.softPi = new Float32Array(c.maxCandidates);
    this.rndErr = new Float32Array(B);
    this.rndGrad = new Float32Array(B * c.rndDim);
    this.dz = new Float32Array(B * S);
  }

  params(): Param[] {
    return [
      this.emb.table,
      ...this.actor.params(),
      ...this.actorTarget.params(),
      ...this.critics.flat().flatMap((q) => q.params()),
      ...this.criticTargets.flat().flatMap((q) => q.params()),
      ...this.rndTarget.params(),
      ...this.rndPredictor.params(),
    ];
  }

  /** The actor's signal weights for one state (deterministic). */
  act(user: number, summary: Float32Array, out: Float32Array): void {
    this.stateInput.set(0, user, summary, 0, 0);
    const z = this.actor.forward(this.stateInput.gather(1), 1);
    for (let k = 0; k < RLUR_SIGNALS; k++) out[k] = this.config.maxAction * Math.tanh(z[k]!);
  }

  /** w . x_j with x_j the ranking model's standardized signals of candidate j. */
  score(request: RankRequest, out: Float32Array): void {
    this.scoreRequests([request], out);
  }

  /**
   * {@link score} of several requests: the ranking model's signals of all
   * their candidates in one forward, the actor's weights of all their states
   * in one forward; each request's signals standardized over its own
   * candidates.
   */
  scoreRequests(requests: readonly RankRequest[], out: Float32Array): void {
    const n = checkRankRequests(this.name, this.fields, requests, out);
    const S = RLUR_SIGNALS;
    const R = requests.length;
    if (this.scoreSignals.length < n * S) this.scoreSignals = new Float32Array(Math.max(n * S, 2 * this.scoreSignals.length));
    const x = this.scoreSignals;
    this.rankingModel.predictRequests(requests, x);
    const inp = this.stateInput;
    inp.ensureCapacity(R);
    for (let r = 0; r < R; r++) inp.set(r, requests[r]!.user, requests[r]!.summary, 0, 0);
    const z = this.actor.forward(inp.gather(R), R);
    let row = 0;
    for (let r = 0; r < R; r++) {
      const m = requests[r]!.candidates.length;
      standardizeColumns(x, row * S, m, S);
      for (let k = 0; k < S; k++) this.action[k] = this.config.maxAction * Math.tanh(z[r * S + k]!);
      for (let j = row; j < row + m; j++) {
        let s = 0;
        for (let k = 0; k < S; k++) s += this.action[k]! * x[j * S + k]!;
        out[j] = s;
      }
      row += m;
    }
  }

  observe(sessions: readonly SessionTrace[]): void {
    const catalog = this.fields.catalog;
    this.replay.push(sessions, this.rng, catalog.numItems, catalog.numUsers); // validates first; throws before any change
    this.rankingModel.observe(sessions);
  }

  /**
   * Makes the signals of `entries[0..count)` current: the entries not yet
   * computed in this generation get the standardized signals of their kept
   * candidates from the current ranking model, in forwards of up to
   * SIGNAL_ROWS rows, so the critics judge slates in the signal space the
   * actor ranks with.
   */
  private ensureSignals(entries: Int32Array, count: number): void {
    const rp = this.replay;
    const C = rp.maxCandidates;
    const S = RLUR_SIGNALS;
    const rm = this.rankingModel;
    const gen = this.signalGeneration;
    rm.ensureCapacity(Math.max(C, SIGNAL_ROWS));
    let k = 0;
    while (k < count) {
      // One batch: the next stale entries whose candidates fit in SIGNAL_ROWS rows.
      let rows = 0;
      let batch = 0;
      for (; k < count; k++) {
        const i = entries[k]!;
        if (this.signalsAt[i] === gen) continue;
        const n = rp.candidateCount[i]!;
        if (rows + n > SIGNAL_ROWS) break;
        for (let j = 0; j < n; j++) rm.setExample(rows + j, rp.user[i]!, rp.candidates[i * C + j]!, rp.pairCounts, (i * C + j) * PAIR_COUNT_DIM);
        this.signalsAt[i] = gen; // a repeat of i later in this batch is skipped
        this.batchEntries[batch++] = i;
        rows += n;
      }
      if (batch === 0) continue;
      const logits = rm.forward(rows);
      let r = 0;
      for (let q = 0; q < batch; q++) {
        const i = this.batchEntries[q]!;
        const n = rp.candidateCount[i]!;
        signalsFromLogits(logits.subarray(r * S), n, this.signals.subarray(i * C * S, (i * C + n) * S));
        standardizeColumns(this.signals, i * C * S, n, S);
        r += n;
      }
    }
  }

  train(steps: number): TrainStats {
    requireInt(this.name, 'train(steps)', steps, 0);
    if (this.replay.size === 0 || steps === 0) return { steps: 0, losses: {} };
    let ranking = 0;
    let immediate = 0;
    let retention = 0;
    let rnd = 0;
    let actor = 0;
    let actorUpdates = 0;
    // 1. the ranking model first (its predictions are the actor's inputs), 2. the RL steps on signals of the updated model.
    const rankingSteps = steps * this.config.rankingStepsPerStep;
    for (let r = 0; r < rankingSteps; r++) {
      const l = this.rankingModel.trainStep();
      ranking += l[0]! + l[1]! + l[2]! + l[3]!;
      this.rankingSteps++;
    }
    this.signalGeneration++;
    for (let s = 0; s < steps; s++) {
      const c = this.criticStep();
      immediate += c.immediate;
      retention += c.retention;
      rnd += c.rnd;
      if (this.steps % this.config.policyDelay === 0) {
        actor += this.actorStep();
        actorUpdates++;
      }
    }
    const rs = Math.max(1, steps * this.config.rankingStepsPerStep);
    return {
      steps,
      losses: {
        ranking: ranking / rs,
        immediateCritic: immediate / steps,
        retentionCritic: retention / steps,
        rnd: rnd / steps,
        actor: actorUpdates > 0 ? actor / actorUpdates : this.lastActorLoss,
      },
    };
  }

  /** Soft top slate of weights w over entry i's kept candidates: writes p(w) into out[offset..+4], pi into softPi. */
  private softProfile(i: number, w: Float32Array, wOffset: number, out: Float32Array, offset: number): void {
    const C = this.replay.maxCandidates;
    softSlateProfile(
      this.signals,
      i * C * RLUR_SIGNALS,
      this.replay.candidateCount[i]!,
      RLUR_SIGNALS,
      w,
      wOffset,
      this.config.profileTemperature,
      this.softPi,
      out,
      offset,
    );
  }

  /** Updates both twin critics (immediate and retention) and the RND predictor; returns their losses. */
  private criticStep(): { immediate: number; retention: number; rnd: number } {
    const c = this.config;
    const B = c.batchSize;
    const rp = this.replay;
    const sd = this.sd;
    const S = RLUR_SIGNALS;
    const w = sd + S;
    const SD = SESSION_SUMMARY_DIM;
    const C = rp.maxCandidates;
    const si = this.stateInput;
    si.ensureCapacity(B);

    // Next states -> smoothed target weights -> soft slates -> target critics.
    let nNext = 0;
    for (let b = 0; b < B; b++) {
      const i = rp.sample(this.rng);
      this.idx[b] = i;
      if (rp.done[i]) {
        this.nextRow[b] = -1;
        continue;
      }
      const j = rp.next(i);
      si.set(nNext, rp.user[j]!, rp.summary, j * SD, 0);
      this.nextRow[b] = nNext++;
    }
    let needed = 0;
    for (let b = 0; b < B; b++) {
      this.needed[needed++] = this.idx[b]!;
      if (this.nextRow[b]! >= 0) this.needed[needed++] = rp.next(this.idx[b]!);
    }
    this.ensureSignals(this.needed, needed);
    if (nNext > 0) {
      const xs = si.gather(nNext);
      const z = this.actorTarget.forward(xs, nNext);
      const maxA = c.maxAction;
      for (let b = 0; b < B; b++) {
        const r = this.nextRow[b]!;
        if (r < 0) continue;
        for (let k = 0; k < S; k++) {
          const noise = clip(c.policyNoise * maxA * this.rng.normal(), -c.noiseClip * maxA, c.noiseClip * maxA);
          this.weights[r * S + k] = clip(maxA * Math.tanh(z[r * S + k]!) + noise, -maxA, maxA);
        }
        this.xcNext.set(xs.subarray(r * sd, (r + 1) * sd), r * w);
        this.softProfile(rp.next(this.idx[b]!), this.weights, r * S, this.xcNext, r * w + sd);
      }
    }
    for (let k = 0; k < 2; k++) {
      const y = k === CRITIC_I ? this.yI : this.yT;
      if (nNext > 0) {
        const q1 = this.criticTargets[k]![0]!.forward(this.xcNext, nNext);
        for (let r = 0; r < nNext; r++) this.minQ[r] = q1[r]!;
        const q2 = this.criticTargets[k]![1]!.forward(this.xcNext, nNext);
        for (let r = 0; r < nNext; r++) this.minQ[r] = Math.min(this.minQ[r]!, q2[r]!);
      }
      for (let b = 0; b < B; b++) {
        const i = this.idx[b]!;
        const r = k === CRITIC_I ? rp.requestReward(i, c.reward) : rp.done[i] ? c.returnWeight / (1 + rp.returnGapDays[i]!) : c.continueReward;
        const nr = this.nextRow[b]!;
        y[b] = nr < 0 ? r : r + c.gamma * this.minQ[nr]!;
      }
    }

    // Current states and logged slate profiles.
    for (let b = 0; b < B; b++) {
      const i = this.idx[b]!;
      si.set(b, rp.user[i]!, rp.summary, i * SD, 0);
    }
    const xs = si.gather(B);
    for (let b = 0; b < B; b++) {
      const i = this.idx[b]!;
      this.xcCur.set(xs.subarray(b * sd, (b + 1) * sd), b * w);
      const k = rp.slateCount[i]!;
      for (let s = 0; s < S; s++) {
        let m = 0;
        for (let p = 0; p < k; p++) m += this.signals[(i * C + p) * S + s]!;
        this.xcCur[b * w + sd + s] = m / k;
      }
    }

    // RND novelty of the current states: bonus into r_I, predictor step.
    let rndLoss = 0;
    if (c.rndWeight > 0) rndLoss = this.rndStep(xs, B);

    this.criticOpt.zeroGrad();
    this.dxSum.fill(0, 0, B * w);
    const losses = [0, 0];
    for (let k = 0; k < 2; k++) {
      const y = k === CRITIC_I ? this.yI : this.yT;
      for (let m = 0; m < 2; m++) {
        const q = this.critics[k]![m]!.forward(this.xcCur, B);
        let l = 0;
        for (let b = 0; b < B; b++) {
          const r = q[b]! - y[b]!;
          l += r * r;
          this.dq[b] = (2 * r) / B;
        }
        l /= B;
        assertFiniteLoss(this.name, k === CRITIC_I ? `immediate${m + 1}` : `retention${m + 1}`, l, this.steps);
        losses[k]! += l;
        const dx = this.critics[k]![m]!.backward(this.dq, B);
        for (let t = 0; t < B * w; t++) this.dxSum[t]! += dx[t]!;
      }
    }
    si.scatter(this.dxSum, B, w, 0);
    this.criticOpt.step();
    this.steps++;
    return { immediate: losses[CRITIC_I]!, retention: losses[CRITIC_T]!, rnd: rndLoss };
  }

  /** Adds the normalized RND bonus to yI (before the critics use it) and trains the predictor; returns its MSE. */
  private rndStep(xs: Float32Array, B: number): number {
    const c = this.config;
    const D = c.rndDim;
    const target = this.rndTarget.forward(xs, B);
    const pred = this.rndPredictor.forward(xs, B);
    let total = 0;
    for (let b = 0; b < B; b++) {
      let e = 0;
      for (let k = 0; k < D; k++) {
        const r = pred[b * D + k]! - target[b * D + k]!;
        e += r * r;
        this.rndGrad[b * D + k] = (2 * r) / (B * D);
      }
      this.rndErr[b] = e / D;
      total += e / D;
    }
    const mean = total / B;
    assertFiniteLoss(this.name, 'rnd', mean, this.steps);
    this.rndMean = this.rndMean === 0 ? mean : 0.99 * this.rndMean + 0.01 * mean;
    const norm = this.rndMean > 1e-12 ? 1 / this.rndMean : 0;
    for (let b = 0; b < B; b++) this.yI[b]! += c.rndWeight * this.rndErr[b]! * norm;
    this.rndOpt.zeroGrad();
    this.rndPredictor.backward(this.rndGrad, B);
    this.rndOpt.step();
    return mean;
  }

  /** Delayed actor update on the last critic batch, then Polyak updates of every target. */
  private actorStep(): number {
    const c = this.config;
    const B = c.batchSize;
    const sd = this.sd;
    const S = RLUR_SIGNALS;
    const w = sd + S;
    const C = this.replay.maxCandidates;
    const beta = c.profileTemperature;
    const maxA = c.maxAction;
    const xs = this.stateInput.gather(B);
    const z = this.actor.forward(xs, B);
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < S; k++) this.weights[b * S + k] = maxA * Math.tanh(z[b * S + k]!);
      this.xcCur.set(xs.subarray(b * sd, (b + 1) * sd), b * w);
      this.softProfile(this.idx[b]!, this.weights, b * S, this.xcCur, b * w + sd);
    }
    // dL/dp from both first twins: L = -(lambda_T Q_T1 + lambda_I Q_I1)
    const dp = this.dxSum; // scratch: dL/dp, B x S
    dp.fill(0, 0, B * S);
    let loss = 0;
    for (let k = 0; k < 2; k++) {
      const lambda = k === CRITIC_I ? c.lambdaImmediate : c.lambdaRetention;
      if (lambda === 0) continue;
      const q = this.critics[k]![0]!.forward(this.xcCur, B);
      for (let b = 0; b < B; b++) {
        loss -= (lambda * q[b]!) / B;
        this.dq[b] = -lambda / B;
      }
      const dx = this.critics[k]![0]!.backward(this.dq, B); // critic grads: discarded by the next critic zeroGrad
      for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) dp[b * S + s]! += dx[b * w + sd + s]!;
    }
    assertFiniteLoss(this.name, 'actor', loss, this.steps);
    // dp -> dw through the soft slate: dL/dw_s = beta sum_j pi_j (g.x_j) (x_js - p_s); -> dz through tanh.
    const dz = this.dz;
    const p = this.pScratch;
    for (let b = 0; b < B; b++) {
      const i = this.idx[b]!;
      this.softProfile(i, this.weights, b * S, p, 0); // recomputes pi_j of entry i into softPi
      softSlateGrad(this.signals, i * C * S, this.replay.candidateCount[i]!, S, this.softPi, p, dp, b * S, beta, dz, b * S);
      for (let s = 0; s < S; s++) {
        const a = this.weights[b * S + s]! / maxA;
        dz[b * S + s] = dz[b * S + s]! * maxA * (1 - a * a);
      }
    }
    this.actorOpt.zeroGrad();
    this.actor.backward(dz, B);
    this.actorOpt.step();
    softUpdate(this.actorTarget.params(), this.actor.params(), c.tau);
    for (let k = 0; k < 2; k++) for (let m = 0; m < 2; m++) softUpdate(this.criticTargets[k]![m]!.params(), this.critics[k]![m]!.params(), c.tau);
    this.actorSteps++;
    this.lastActorLoss = loss;
    return loss;
  }

  /**
   * Config + parameters (own and the ranking model's) + Adam states + both
   * sampling RNGs + counters + both replays' contents (own and the ranking
   * model's; agent-checkpoint.ts). The stored candidates' signals are not
   * saved: they are a pure function of the ranking model and the replay, and
   * `load` marks them stale so the next `train` recomputes the ones it samples.
   */
  save(): Uint8Array {
    return saveAgentCheckpoint(this.state(), this.stores());
  }

  /** Restores what `save` wrote, all or nothing (corrupt or mismatched bytes throw and change nothing). */
  load(bytes: Uint8Array): void {
    const counters = loadAgentCheckpoint(bytes, this.state(), this.stores());
    this.steps = counters.steps ?? 0;
    this.actorSteps = counters.actorSteps ?? 0;
    this.rankingSteps = counters.rankingSteps ?? 0;
    this.rndMean = counters.rndMean ?? 0;
    this.lastActorLoss = counters.lastActorLoss ?? 0;
    this.rankingModel.internals().setSteps(counters.rankingModelSteps ?? this.rankingSteps);
    this.signalGeneration++; // the loaded ranking model and replay: every entry's signals are stale
  }

  private state(): AgentState {
    const rm = this.rankingModel.internals();
    return {
      agent: this.name,
      config: this.config,
      params: [...this.params(), ...this.rankingModel.params()],
      optimizers: [this.criticOpt, this.actorOpt, this.rndOpt, rm.optimizer],
      rngs: [this.rng, rm.rng],
      counters: {
        steps: this.steps,
        actorSteps: this.actorSteps,
        rankingSteps: this.rankingSteps,
        rndMean: this.rndMean,
        lastActorLoss: this.lastActorLoss,
        rankingModelSteps: rm.steps,
      },
    };
  }

  private stores(): CheckpointedStore[] {
    const { numUsers, numItems } = this.fields.catalog;
    return [replayStore(this.replay, { numUsers, numItems }), ...this.rankingModel.stores()];
  }
}

/**
 * Soft top slate: pi_j = softmax_j(beta * w . x_j) over n candidates whose
 * S signals are x[xOffset + j*S ..]; writes pi into `pi` and the profile
 * p = sum_j pi_j x_j into out[outOffset .. +S].
 */
export function softSlateProfile(
  x: Float32Array,
  xOffset: number,
  n: number,
  S: number,
  w: Float32Array,
  wOffset: number,
  beta: number,
  pi: Float32Array,
  out: Float32Array,
  outOffset: number,
): void {
  let mx = -Infinity;
  for (let j = 0; j < n; j++) {
    let z = 0;
    for (let k = 0; k < S; k++) z += w[wOffset + k]! * x[xOffset + j * S + k]!;
    z *= beta;
    pi[j] = z;
    if (z > mx) mx = z;
  }
  let sum = 0;
  for (let j = 0; j < n; j++) sum += pi[j] = Math.exp(pi[j]! - mx);
  for (let k = 0; k < S; k++) out[outOffset + k] = 0;
  for (let j = 0; j < n; j++) {
    const pj = (pi[j]! /= sum);
    for (let k = 0; k < S; k++) out[outOffset + k]! += pj * x[xOffset + j * S + k]!;
  }
}

/**
 * Backward of {@link softSlateProfile}: given g = dL/dp (at gOffset), writes
 * dL/dw_s = beta * sum_j pi_j (g . x_j) (x_js - p_s) into dw[dwOffset + s].
 */
export function softSlateGrad(
  x: Float32Array,
  xOffset: number,
  n: number,
  S: number,
  pi: Float32Array,
  p: Float32Array,
  g: Float32Array,
  gOffset: number,
  beta: number,
  dw: Float32Array,
  dwOffset: number,
): void {
  for (let s = 0; s < S; s++) dw[dwOffset + s] = 0;
  for (let j = 0; j < n; j++) {
    const xo = xOffset + j * S;
    let gx = 0;
    for (let t = 0; t < S; t++) gx += g[gOffset + t]! * x[xo + t]!;
    const c = beta * pi[j]! * gx;
    for (let s = 0; s < S; s++) dw[dwOffset + s]! += c * (x[xo + s]! - p[s]!);
  }
}

/** Standardizes each of the `cols` columns of rows [0, n) of x (starting at offset) to mean 0, std 1 (std floored at 1e-3). */
export function standardizeColumns(x: Float32Array, offset: number, n: number, cols: number): void {
  if (n === 0) return;
  for (let k = 0; k < cols; k++) {
    let mean = 0;
    for (let j = 0; j < n; j++) mean += x[offset + j * cols + k]!;
    mean /= n;
    let v = 0;
    for (let j = 0; j < n; j++) {
      const d = x[offset + j * cols + k]! - mean;
      v += d * d;
    }
    const inv = 1 / Math.max(1e-3, Math.sqrt(v / n));
    for (let j = 0; j < n; j++) x[offset + j * cols + k] = (x[offset + j * cols + k]! - mean) * inv;
  }
}

/** The defaults with `overrides` applied, validated (throws naming the bad field). */
export function resolveRlurConfig(overrides?: Record<string, unknown>): RlurConfig {
  const c = resolveConfig('RLUR', RLUR_DEFAULTS, overrides);
  validateRlur(c);
  return c;
}

function validateRlur(c: RlurConfig): void {
  const a = 'RLUR';
  requireInt(a, 'embeddingDim', c.embeddingDim, 1, 1024);
  requireInt(a, 'embeddingRows', c.embeddingRows, 1, 1 << 26);
  requireHidden(a, 'hidden', c.hidden);
  requireRange(a, 'criticLr', c.criticLr, 0, 1);
  requireRange(a, 'actorLr', c.actorLr, 0, 1);
  requireRange(a, 'gamma', c.gamma, 0, 1);
  requireRange(a, 'tau', c.tau, 0, 1);
  requireInt(a, 'batchSize', c.batchSize, 1);
  requireRange(a, 'maxAction', c.maxAction, 0, 1e6, true);
  requireRange(a, 'policyNoise', c.policyNoise, 0, 1e3);
  requireRange(a, 'noiseClip', c.noiseClip, 0, 1e3);
  requireInt(a, 'policyDelay', c.policyDelay, 1);
  requireRange(a, 'profileTemperature', c.profileTemperature, 0, 1e3, true);
  requireRange(a, 'lambdaRetention', c.lambdaRetention, 0, 1e6);
  requireRange(a, 'lambdaImmediate', c.lambdaImmediate, 0, 1e6);
  requireRange(a, 'continueReward', c.continueReward, -1e6, 1e6);
  requireRange(a, 'returnWeight', c.returnWeight, -1e6, 1e6);
  requireRange(a, 'rndWeight', c.rndWeight, 0, 1e6);
  requireInt(a, 'rndDim', c.rndDim, 1, 1024);
  requireInt(a, 'rankingStepsPerStep', c.rankingStepsPerStep, 0, 100);
  requireInt(a, 'replayCapacity', c.replayCapacity, 2);
  requireInt(a, 'maxSlate', c.maxSlate, 1, 300);
  requireInt(a, 'maxCandidates', c.maxCandidates, c.maxSlate, 300);
  requireRange(a, 'initScale', c.initScale, 0, 10);
}

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
