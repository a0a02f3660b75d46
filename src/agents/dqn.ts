/**
 * DQN baseline: double DQN on the request-level MDP (Mnih et al. 2015,
 * "Human-level control through deep reinforcement learning"; double
 * Q-learning: van Hasselt, Guez & Silver 2016, "Deep Reinforcement Learning
 * with Double Q-learning", AAAI). CQL (cql.ts) is this agent plus a
 * conservative term: it overrides the two hooks of step 3 below
 * (`setCurrentRows`, `extraLoss`).
 *
 * MDP: one step per request. State s_t = (user features, session summary
 * before request t); action = one exposed item (item-level Q(s, i): every
 * exposed item of the slate is a sample); reward of item i
 *   r_i = click_i + 0.25 * log1p(watch seconds_i)     (RewardWeights, configurable)
 * (the request's reward is the sum over its slate); s_{t+1} = the next
 * request of the same session; the session end is a real termination.
 *
 * Loss (Huber, delta 1, mean over a batch of sampled exposures):
 *   a*  = argmax_{j in C_{t+1}} Q_theta(s_{t+1}, j)          (online net picks)
 *   y   = r_i + gamma * (1 - done_t) * Q_target(s_{t+1}, a*)  (target net evaluates)
 *   L_TD = Huber(Q_theta(s_t, i) - y)
 * C_{t+1} = the next request's candidates kept in the replay (its slate plus
 * random others, up to maxCandidates). Target network: Polyak soft update
 * with tau after every step; it shares the online embedding table (only the
 * MLP has a target copy).
 *
 * Network: Q(s, i) = MLP([h_user | h_userCats | h_item | h_author | h_tag |
 * h_itemCats | summary]) with hidden [64, 64], embeddings 32 (Table 1).
 * Scores a request's candidates by Q(s, i).
 */
import { Adam } from '../numeric/adam.js';
import { EmbeddingTable } from '../numeric/embedding.js';
import { huberLoss } from '../numeric/losses.js';
import { Mlp } from '../numeric/mlp.js';
import type { Param } from '../numeric/param.js';
import { Rng } from '../numeric/rng.js';
import { hardCopy, softUpdate } from '../numeric/soft-update.js';
import { SESSION_SUMMARY_DIM, type SessionTrace } from '../environment/trace.js';
import { requireHidden, requireInt, requireRange, resolveConfig } from './agent-config.js';
import { assertFiniteLoss, loadAgentCheckpoint, replayStore, saveAgentCheckpoint, type AgentState, type CheckpointedStore } from './agent-checkpoint.js';
import { FeatureFields } from './feature-fields.js';
import type { Ranker, RankerContext, RankRequest, TrainStats } from './ranker.js';
import { checkRankRequests, RequestInput, setRequestRows } from './request-input.js';
import { DEFAULT_REWARD_WEIGHTS, RequestReplay, type RewardWeights } from './request-replay.js';

export interface DqnConfig {
  /** Width of every field embedding (Table 1: 32). */
  embeddingDim: number;
  /** Rows of the hashed embedding table. */
  embeddingRows: number;
  /** Hidden widths of the Q network (Table 1: [64, 64]). */
  hidden: number[];
  /** Adam learning rate of the Q network and the embeddings (Table 1: 1e-3). */
  criticLr: number;
  /** Discount factor (Table 1: 0.9). */
  gamma: number;
  /** Soft target-update rate (Table 1: 0.005). */
  tau: number;
  /** Exposures per gradient step (Table 1: 1024). */
  batchSize: number;
  /** Huber delta of the TD loss. */
  huberDelta: number;
  /** Requests kept in the replay. */
  replayCapacity: number;
  /** Candidates kept per request (slate + random others): the max over next candidates (and CQL's logsumexp) runs over these. */
  maxCandidates: number;
  /** Largest slate stored per request. */
  maxSlate: number;
  /** Weights of the per-item reward. */
  reward: RewardWeights;
  /** Std of the initial embedding values. */
  initScale: number;
}

export const DQN_DEFAULTS: DqnConfig = {
  embeddingDim: 32,
  embeddingRows: 1 << 16,
  hidden: [64, 64],
  criticLr: 1e-3,
  gamma: 0.9,
  tau: 0.005,
  batchSize: 1024,
  huberDelta: 1,
  replayCapacity: 100_000,
  maxCandidates: 16,
  maxSlate: 16,
  reward: { ...DEFAULT_REWARD_WEIGHTS },
  initScale: 0.05,
};

/** Range checks shared by DQN and CQL. */
export function validateDqnConfig(agent: string, c: DqnConfig): void {
  requireInt(agent, 'embeddingDim', c.embeddingDim, 1, 1024);
  requireInt(agent, 'embeddingRows', c.embeddingRows, 1, 1 << 26);
  requireHidden(agent, 'hidden', c.hidden);
  requireRange(agent, 'criticLr', c.criticLr, 0, 1);
  requireRange(agent, 'gamma', c.gamma, 0, 1);
  requireRange(agent, 'tau', c.tau, 0, 1);
  requireInt(agent, 'batchSize', c.batchSize, 1);
  requireRange(agent, 'huberDelta', c.huberDelta, 0, Infinity, true);
  requireInt(agent, 'replayCapacity', c.replayCapacity, 2);
  requireInt(agent, 'maxSlate', c.maxSlate, 1, 300);
  requireInt(agent, 'maxCandidates', c.maxCandidates, c.maxSlate, 300);
  requireRange(agent, 'initScale', c.initScale, 0, 10);
}

export class DoubleDqn implements Ranker {
  readonly name: string;
  readonly towerLiv = null;
  readonly learnsOffline: boolean;
  readonly config: DqnConfig;
  protected readonly fields: FeatureFields;
  protected readonly emb: EmbeddingTable;
  protected readonly q: Mlp;
  protected readonly qTarget: Mlp;
  protected readonly optimizer: Adam;
  protected readonly rng: Rng;
  readonly replay: RequestReplay;
  protected readonly input: RequestInput;
  protected steps = 0;

  // Per-batch scratch (sized in the constructor from batchSize and maxCandidates).
  /** Replay entry of each sample. */
  protected readonly idx: Int32Array;
  /** Slate position of each sample's logged item; after `setCurrentRows`, its row among the current rows. */
  protected readonly loggedRow: Int32Array;
  /** Rows of each sample: its next request's candidates in step 1-2, its current rows from step 3 on. */
  protected readonly groupStart: Int32Array;
  protected readonly groupCount: Int32Array;
  private readonly y: Float32Array;
  private readonly pred: Float32Array;
  private readonly gradPred: Float32Array;
  private readonly dQ: Float32Array;
  private readonly reward: Float32Array;
  private readonly bestRow: Int32Array;
  /** Step 2: the chosen row a* of each non-terminal sample, in sample order (the target network's rows). */
  private readonly targetRows: Int32Array;

  /**
   * @param config a resolved, validated config (use the `createDqn`/`createCql` factories from overrides).
   */
  constructor(context: RankerContext, config: DqnConfig, name: string, learnsOffline: boolean) {
    this.name = name;
    this.config = config;
    this.learnsOffline = learnsOffline;
    const c = config;
    const root = new Rng(context.seed).fork(name);
    this.rng = root.fork('sampling');
    this.emb = new EmbeddingTable({ rows: c.embeddingRows, dim: c.embeddingDim, name: `${name}.embedding`, initScale: c.initScale }, root.fork('embedding'));
    this.fields = new FeatureFields(context.catalog, this.emb);
    this.input = new RequestInput(this.fields, 'state+item');
    this.q = new Mlp({ sizes: [this.input.inDim, ...c.hidden, 1], name: `${name}.q` }, root.fork('q'));
    this.qTarget = new Mlp({ sizes: [this.input.inDim, ...c.hidden, 1], name: `${name}.qTarget` }, root.fork('q'));
    hardCopy(this.qTarget.params(), this.q.params());
    this.optimizer = new Adam([this.emb.table, ...this.q.params()], { lr: c.criticLr });
    this.replay = new RequestReplay({ capacity: c.replayCapacity, maxCandidates: c.maxCandidates, maxSlate: c.maxSlate });
    const B = c.batchSize;
    const rows = B * c.maxCandidates;
    this.idx = new Int32Array(B);
    this.loggedRow = new Int32Array(B);
    this.groupStart = new Int32Array(B);
    this.groupCount = new Int32Array(B);
    this.y = new Float32Array(B);
    this.pred = new Float32Array(B);
    this.gradPred = new Float32Array(B);
    this.dQ = new Float32Array(rows);
    this.reward = new Float32Array(B);
    this.bestRow = new Int32Array(B);
    this.targetRows = new Int32Array(B);
  }

  params(): Param[] {
    return [this.emb.table, ...this.q.params(), ...this.qTarget.params()];
  }

  /** Q(s, i) of every candidate, with the online network. */
  score(request: RankRequest, out: Float32Array): void {
    this.scoreRequests([request], out);
  }

  /** {@link score} of several requests in one forward (their candidates back to back in `out`). */
  scoreRequests(requests: readonly RankRequest[], out: Float32Array): void {
    const n = checkRankRequests(this.name, this.fields, requests, out);
    const inp = this.input;
    inp.ensureCapacity(n);
    setRequestRows(inp, requests, true);
    inp.prepare(n);
    const q = inp.forward(this.q, n);
    for (let c = 0; c < n; c++) out[c] = q[c]!;
  }

  observe(sessions: readonly SessionTrace[]): void {
    this.replay.push(sessions, this.rng, this.fields.catalog.numItems, this.fields.catalog.numUsers);
  }

  train(steps: number): TrainStats {
    requireInt(this.name, 'train(steps)', steps, 0);
    if (this.replay.size === 0 || steps === 0) return { steps: 0, losses: {} };
    let td = 0;
    let extra = 0;
    let qMean = 0;
    for (let s = 0; s < steps; s++) {
      const r = this.trainStep();
      td += r.td;
      extra += r.extra;
      qMean += r.q;
    }
    const losses: Record<string, number> = { td: td / steps, q: qMean / steps };
    if (this.extraLossName) losses[this.extraLossName] = extra / steps;
    return { steps, losses };
  }

  /** One gradient step; returns the TD loss, the {@link extraLoss} (0 for DQN) and the mean Q(s, logged item). */
  trainStep(): { td: number; extra: number; q: number } {
    const c = this.config;
    const B = c.batchSize;
    const C = c.maxCandidates;
    const rp = this.replay;
    const inp = this.input;
    inp.ensureCapacity(B * C);
    const S = SESSION_SUMMARY_DIM;

    // 1. Sample exposures (entry, slate position) and build the next requests' candidate rows.
    let m = 0;
    for (let b = 0; b < B; b++) {
      const i = rp.sample(this.rng);
      this.idx[b] = i;
      this.loggedRow[b] = this.rng.int(rp.slateCount[i]!);
      this.groupStart[b] = m;
      if (rp.done[i]) {
        this.groupCount[b] = 0;
        continue;
      }
      const j = rp.next(i);
      const n = rp.candidateCount[j]!;
      for (let k = 0; k < n; k++) inp.set(m + k, rp.user[j]!, rp.summary, j * S, rp.candidates[j * C + k]!);
      this.groupCount[b] = n;
      m += n;
    }

    // 2. Double-DQN targets: the online net picks a*, the target net evaluates it.
    for (let b = 0; b < B; b++) this.reward[b] = rp.itemReward(this.idx[b]!, this.loggedRow[b]!, c.reward);
    if (m > 0) {
      inp.prepare(m); // one pass over the distinct embedding rows serves both networks
      argmaxPerGroup(inp.forward(this.q, m), this.groupStart, this.groupCount, B, this.bestRow);
      // The target network is read at a* only: one row per non-terminal sample, not every candidate row.
      let count = 0;
      for (let b = 0; b < B; b++) {
        if (this.groupCount[b]! === 0) continue;
        this.targetRows[count] = this.bestRow[b]!;
        this.bestRow[b] = count++;
      }
      const qT = inp.forwardRows(this.qTarget, m, this.targetRows, count);
      doubleDqnTargets(qT, this.bestRow, this.groupCount, this.reward, c.gamma, B, this.y);
    } else {
      doubleDqnTargets(this.dQ, this.bestRow, this.groupCount, this.reward, c.gamma, B, this.y);
    }

    // 3. The current requests' rows (DQN: each sample's logged item), their Q, the TD loss and any extra term.
    const rows = this.setCurrentRows();
    this.optimizer.zeroGrad();
    inp.prepare(rows);
    const q = inp.forward(this.q, rows);
    let qSum = 0;
    for (let b = 0; b < B; b++) {
      this.pred[b] = q[this.loggedRow[b]!]!;
      qSum += this.pred[b]!;
    }
    const td = huberLoss(this.pred, this.y, B, c.huberDelta, this.gradPred);
    assertFiniteLoss(this.name, 'td', td, this.steps);
    const dQ = this.dQ;
    dQ.fill(0, 0, rows);
    for (let b = 0; b < B; b++) dQ[this.loggedRow[b]!]! += this.gradPred[b]!;
    const extra = this.extraLoss(q, dQ);
    assertFiniteLoss(this.name, this.extraLossName ?? 'extra', extra, this.steps);

    // 4. Backward into the Q network and the embedding rows; Adam; soft target update.
    inp.backward(this.q, dQ, rows);
    this.optimizer.step();
    softUpdate(this.qTarget.params(), this.q.params(), c.tau);
    this.steps++;
    return { td, extra, q: qSum / B };
  }

  /**
   * Step 3's rows: sets the input rows of the current requests whose Q the
   * loss reads and each sample's `loggedRow` to the row of its logged item
   * (on entry, its slate position); returns the row count. DQN: one row per
   * sample, its logged item.
   */
  protected setCurrentRows(): number {
    const rp = this.replay;
    const C = rp.maxCandidates;
    const S = SESSION_SUMMARY_DIM;
    const B = this.config.batchSize;
    for (let b = 0; b < B; b++) {
      const i = this.idx[b]!;
      this.input.set(b, rp.user[i]!, rp.summary, i * S, rp.candidates[i * C + this.loggedRow[b]!]!);
      this.loggedRow[b] = b;
    }
    return B;
  }

  /**
   * A loss term besides TD on the current rows' Q: adds its gradient into
   * dQ and returns its value. DQN has none (0).
   */
  protected extraLoss(_q: Float32Array, _dQ: Float32Array): number {
    return 0;
  }

  /** The name `train` reports {@link extraLoss} under; null when there is none. */
  protected get extraLossName(): string | null {
    return null;
  }

  /** Config + parameters (online, target, embedding) + Adam + sampling RNG + step counter + the replay's contents (agent-checkpoint.ts). */
  save(): Uint8Array {
    return saveAgentCheckpoint(this.state(), this.stores());
  }

  /** Restores what `save` wrote, all or nothing (corrupt or mismatched bytes throw and change nothing). */
  load(bytes: Uint8Array): void {
    this.steps = loadAgentCheckpoint(bytes, this.state(), this.stores()).steps ?? 0;
  }

  protected state(): AgentState {
    return { agent: this.name, config: this.config, params: this.params(), optimizers: [this.optimizer], rngs: [this.rng], counters: { steps: this.steps } };
  }

  protected stores(): CheckpointedStore[] {
    const { numUsers, numItems } = this.fields.catalog;
    return [replayStore(this.replay, { numUsers, numItems })];
  }
}

/** The defaults with `overrides` applied, validated (throws naming the bad field). */
export function resolveDqnConfig(overrides?: Record<string, unknown>): DqnConfig {
  const config = resolveConfig('DQN', DQN_DEFAULTS, overrides);
  validateDqnConfig('DQN', config);
  return config;
}

/** DQN from config overrides (registry factory). */
export function createDqn(context: RankerContext, overrides?: Record<string, unknown>): DoubleDqn {
  return new DoubleDqn(context, resolveDqnConfig(overrides), 'DQN', false);
}

/**
 * For each group b (rows groupStart[b] .. + groupCount[b] of q), the row of
 * the largest q (first on ties) into best[b]; groups of size 0 get -1.
 */
export function argmaxPerGroup(q: Float32Array, groupStart: Int32Array, groupCount: Int32Array, groups: number, best: Int32Array): void {
  for (let b = 0; b < groups; b++) {
    const n = groupCount[b]!;
    if (n === 0) {
      best[b] = -1;
      continue;
    }
    const s0 = groupStart[b]!;
    let k = s0;
    for (let r = s0 + 1; r < s0 + n; r++) if (q[r]! > q[k]!) k = r;
    best[b] = k;
  }
}

/**
 * Double-DQN targets y_b = r_b + gamma * qTarget[best[b]], or r_b when the
 * sample is terminal (groupCount[b] = 0: the session ended, no next request).
 */
export function doubleDqnTargets(
  qTarget: Float32Array,
  best: Int32Array,
  groupCount: Int32Array,
  reward: Float32Array,
  gamma: number,
  n: number,
  y: Float32Array,
): void {
  for (let b = 0; b < n; b++) y[b] = groupCount[b]! > 0 ? reward[b]! + gamma * qTarget[best[b]!]! : reward[b]!;
}
