/**
 * TD3 baseline: Twin Delayed DDPG (Fujimoto, van Hoof & Meger 2018,
 * "Addressing Function Approximation Error in Actor-Critic Methods", ICML)
 * on the request-level MDP, with the actor acting in item-embedding space
 * (as in Zhao et al. 2018's list-wise actor-critic recommenders).
 *
 * State s = [h_user | h_userCats | session summary]; item embedding
 * e_i = h_item + h_author + h_tag + h_itemCats (one hashed table, 32-d).
 * Actor: a = maxAction * tanh(MLP_pi(s)) in R^32; a request's candidates are
 * scored by <a, e_i> (higher first). The logged action of a request is the
 * mean embedding of its exposed slate, a_t = mean_{i in slate} e_i; its
 * reward is the slate's summed item reward (click + 0.25 log1p(watch s), see
 * request-replay.ts); the session end is terminal.
 *
 * Critics (twin, each with a target copy), mean over a batch:
 *   a'  = clip(pi_target(s') + clip(N(0, sigma^2), -c, c), -maxAction, maxAction)   (target policy smoothing)
 *   y   = r + gamma * (1 - done) * min(Q1_target(s', a'), Q2_target(s', a'))
 *   L_Q = sum_k (Q_k(s, a_t) - y)^2
 * Actor, every `policyDelay` critic steps (delayed policy updates):
 *   L_pi = -Q1(s, pi(s))
 * after which all targets move by Polyak averaging with tau. The critic loss
 * trains the embeddings (state and item); the actor's gradient stops at its
 * input. Table 1: critic lr 1e-3, actor lr 1e-4, gamma 0.9, tau 0.005.
 */
import { Adam } from '../numeric/adam.js';
import { EmbeddingTable } from '../numeric/embedding.js';
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
import { td3StyleDefaults, type Td3StyleConfig } from './td3-style-config.js';

/** TD3 configuration; `embeddingDim` is also the width of the action (a point in item-embedding space). */
export interface Td3Config extends Td3StyleConfig {
  /** Requests kept in the replay. */
  replayCapacity: number;
  /** Largest slate stored per request. */
  maxSlate: number;
  /** Weights of the per-item reward (summed over the slate). */
  reward: RewardWeights;
  /** Std of the initial embedding values. */
  initScale: number;
}

export const TD3_DEFAULTS: Td3Config = {
  ...td3StyleDefaults(),
  replayCapacity: 100_000,
  maxSlate: 16,
  reward: { ...DEFAULT_REWARD_WEIGHTS },
  initScale: 0.05,
};

export class Td3 implements Ranker {
  readonly name = 'TD3';
  readonly towerLiv = null;
  readonly config: Td3Config;
  private readonly fields: FeatureFields;
  private readonly emb: EmbeddingTable;
  private readonly stateInput: RequestInput;
  private readonly itemInput: RequestInput;
  private readonly actor: Mlp;
  private readonly actorTarget: Mlp;
  private readonly critics: [Mlp, Mlp];
  private readonly criticTargets: [Mlp, Mlp];
  private readonly criticOpt: Adam;
  private readonly actorOpt: Adam;
  private readonly rng: Rng;
  readonly replay: RequestReplay;
  private steps = 0;
  private actorSteps = 0;
  private lastActorLoss = 0;

  /** Width of the state part of a critic input. */
  private readonly sd: number;
  /** Width of the action. */
  private readonly ad: number;
  private readonly xcCur: Float32Array;
  private readonly xcNext: Float32Array;
  private readonly idx: Int32Array;
  private readonly nextRow: Int32Array;
  private readonly y: Float32Array;
  private readonly dq: Float32Array;
  private readonly dxSum: Float32Array;
  private readonly itemGrad: Float32Array;
  private readonly itemOwner: Int32Array;
  private readonly action: Float32Array;

  constructor(context: RankerContext, overrides?: Record<string, unknown>) {
    const c = resolveTd3Config(overrides);
    this.config = c;
    const root = new Rng(context.seed).fork('TD3');
    this.rng = root.fork('sampling');
    this.emb = new EmbeddingTable({ rows: c.embeddingRows, dim: c.embeddingDim, name: 'TD3.embedding', initScale: c.initScale }, root.fork('embedding'));
    this.fields = new FeatureFields(context.catalog, this.emb);
    this.stateInput = new RequestInput(this.fields, 'state');
    this.itemInput = new RequestInput(this.fields, 'item');
    this.sd = this.stateInput.inDim;
    this.ad = c.embeddingDim;
    const criticSizes = [this.sd + this.ad, ...c.hidden, 1];
    this.actor = new Mlp({ sizes: [this.sd, ...c.hidden, this.ad], name: 'TD3.actor' }, root.fork('actor'));
    this.actorTarget = new Mlp({ sizes: [this.sd, ...c.hidden, this.ad], name: 'TD3.actorTarget' }, root.fork('actor'));
    this.critics = [
      new Mlp({ sizes: criticSizes, name: 'TD3.critic1' }, root.fork('critic1')),
      new Mlp({ sizes: criticSizes, name: 'TD3.critic2' }, root.fork('critic2')),
    ];
    this.criticTargets = [
      new Mlp({ sizes: criticSizes, name: 'TD3.critic1Target' }, root.fork('critic1')),
      new Mlp({ sizes: criticSizes, name: 'TD3.critic2Target' }, root.fork('critic2')),
    ];
    hardCopy(this.actorTarget.params(), this.actor.params());
    for (let k = 0; k < 2; k++) hardCopy(this.criticTargets[k]!.params(), this.critics[k]!.params());
    this.criticOpt = new Adam([this.emb.table, ...this.critics[0].params(), ...this.critics[1].params()], { lr: c.criticLr });
    this.actorOpt = new Adam(this.actor.params(), { lr: c.actorLr });
    this.replay = new RequestReplay({ capacity: c.replayCapacity, maxCandidates: c.maxSlate, maxSlate: c.maxSlate });
    const B = c.batchSize;
    const w = this.sd + this.ad;
    this.xcCur = new Float32Array(B * w);
    this.xcNext = new Float32Array(B * w);
    this.idx = new Int32Array(B);
    this.nextRow = new Int32Array(B);
    this.y = new Float32Array(B);
    this.dq = new Float32Array(B);
    this.dxSum = new Float32Array(B * w);
    this.itemGrad = new Float32Array(B * c.maxSlate * this.ad);
    this.itemOwner = new Int32Array(B * c.maxSlate);
    this.action = new Float32Array(this.ad);
  }

  params(): Param[] {
    return [
      this.emb.table,
      ...this.actor.params(),
      ...this.actorTarget.params(),
      ...this.critics[0].params(),
      ...this.critics[1].params(),
      ...this.criticTargets[0].params(),
      ...this.criticTargets[1].params(),
    ];
  }

  /** The actor's action for one state (deterministic, no noise): maxAction * tanh(MLP(s)). */
  act(user: number, summary: Float32Array, out: Float32Array): void {
    this.stateInput.set(0, user, summary, 0, 0);
    const z = this.actor.forward(this.stateInput.gather(1), 1);
    for (let k = 0; k < this.ad; k++) out[k] = this.config.maxAction * Math.tanh(z[k]!);
  }

  /** <pi(s), e_i> for every candidate. */
  score(request: RankRequest, out: Float32Array): void {
    this.scoreRequests([request], out);
  }

  /** {@link score} of several requests: the actor on all their states in one forward, their candidates' item embeddings in one gather. */
  scoreRequests(requests: readonly RankRequest[], out: Float32Array): void {
    const n = checkRankRequests(this.name, this.fields, requests, out);
    const R = requests.length;
    const d = this.ad;
    const st = this.stateInput;
    st.ensureCapacity(R);
    for (let r = 0; r < R; r++) st.set(r, requests[r]!.user, requests[r]!.summary, 0, 0);
    const z = this.actor.forward(st.gather(R), R);
    const inp = this.itemInput;
    inp.ensureCapacity(n);
    setRequestRows(inp, requests, true);
    const e = inp.gather(n);
    let row = 0;
    for (let r = 0; r < R; r++) {
      for (let k = 0; k < d; k++) this.action[k] = this.config.maxAction * Math.tanh(z[r * d + k]!);
      const m = requests[r]!.candidates.length;
      for (let c = row; c < row + m; c++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += this.action[k]! * e[c * d + k]!;
        out[c] = s;
      }
      row += m;
    }
  }

  observe(sessions: readonly SessionTrace[]): void {
    this.replay.push(sessions, this.rng, this.fields.catalog.numItems, this.fields.catalog.numUsers);
  }

  train(steps: number): TrainStats {
    requireInt(this.name, 'train(steps)', steps, 0);
    if (this.replay.size === 0 || steps === 0) return { steps: 0, losses: {} };
    let critic = 0;
    let actor = 0;
    let actorUpdates = 0;
    for (let s = 0; s < steps; s++) {
      critic += this.criticStep();
      if (this.steps % this.config.policyDelay === 0) {
        actor += this.actorStep();
        actorUpdates++;
      }
    }
    const losses: Record<string, number> = { critic: critic / steps };
    losses.actor = actorUpdates > 0 ? actor / actorUpdates : this.lastActorLoss;
    return { steps, losses };
  }

  /** One twin-critic update; returns the summed critic loss. */
  private criticStep(): number {
    const c = this.config;
    const B = c.batchSize;
    const rp = this.replay;
    const sd = this.sd;
    const d = this.ad;
    const w = sd + d;
    const S = SESSION_SUMMARY_DIM;
    const si = this.stateInput;
    si.ensureCapacity(B);

    // Next states (non-terminal samples) -> smoothed target actions -> target critics.
    let nNext = 0;
    for (let b = 0; b < B; b++) {
      const i = rp.sample(this.rng);
      this.idx[b] = i;
      if (rp.done[i]) {
        this.nextRow[b] = -1;
        continue;
      }
      const j = rp.next(i);
      si.set(nNext, rp.user[j]!, rp.summary, j * S, 0);
      this.nextRow[b] = nNext++;
    }
    if (nNext > 0) {
      const xs = si.gather(nNext);
      const z = this.actorTarget.forward(xs, nNext);
      const maxA = c.maxAction;
      for (let r = 0; r < nNext; r++) {
        this.xcNext.set(xs.subarray(r * sd, (r + 1) * sd), r * w);
        for (let k = 0; k < d; k++) {
          const noise = clip(c.policyNoise * maxA * this.rng.normal(), -c.noiseClip * maxA, c.noiseClip * maxA);
          this.xcNext[r * w + sd + k] = clip(maxA * Math.tanh(z[r * d + k]!) + noise, -maxA, maxA);
        }
      }
      const q1 = this.criticTargets[0].forward(this.xcNext, nNext);
      for (let r = 0; r < nNext; r++) this.dq[r] = q1[r]!; // dq as scratch for min
      const q2 = this.criticTargets[1].forward(this.xcNext, nNext);
      for (let r = 0; r < nNext; r++) this.dq[r] = Math.min(this.dq[r]!, q2[r]!);
    }
    for (let b = 0; b < B; b++) {
      const i = this.idx[b]!;
      const r = rp.requestReward(i, c.reward);
      const nr = this.nextRow[b]!;
      this.y[b] = nr < 0 ? r : r + c.gamma * this.dq[nr]!;
    }

    // Logged actions: mean embedding of each slate.
    const ii = this.itemInput;
    let items = 0;
    for (let b = 0; b < B; b++) {
      const i = this.idx[b]!;
      for (let p = 0; p < rp.slateCount[i]!; p++) {
        this.itemOwner[items] = b;
        items++;
      }
    }
    ii.ensureCapacity(items);
    items = 0;
    for (let b = 0; b < B; b++) {
      const i = this.idx[b]!;
      for (let p = 0; p < rp.slateCount[i]!; p++) ii.set(items++, 0, rp.summary, 0, rp.candidates[i * rp.maxCandidates + p]!);
    }
    const e = ii.gather(items);
    this.xcCur.fill(0, 0, B * w);
    for (let t = 0; t < items; t++) {
      const b = this.itemOwner[t]!;
      const inv = 1 / rp.slateCount[this.idx[b]!]!;
      for (let k = 0; k < d; k++) this.xcCur[b * w + sd + k]! += inv * e[t * d + k]!;
    }
    // Current states.
    for (let b = 0; b < B; b++) {
      const i = this.idx[b]!;
      si.set(b, rp.user[i]!, rp.summary, i * S, 0);
    }
    const xs = si.gather(B);
    for (let b = 0; b < B; b++) this.xcCur.set(xs.subarray(b * sd, (b + 1) * sd), b * w);

    // Twin critics: MSE to the shared target y; gradients into critics and embeddings.
    this.criticOpt.zeroGrad();
    this.dxSum.fill(0, 0, B * w);
    let loss = 0;
    for (let k = 0; k < 2; k++) {
      const q = this.critics[k]!.forward(this.xcCur, B);
      let l = 0;
      for (let b = 0; b < B; b++) {
        const r = q[b]! - this.y[b]!;
        l += r * r;
        this.dq[b] = (2 * r) / B;
      }
      loss += l / B;
      assertFiniteLoss(this.name, `critic${k + 1}`, l / B, this.steps);
      const dx = this.critics[k]!.backward(this.dq, B);
      for (let t = 0; t < B * w; t++) this.dxSum[t]! += dx[t]!;
    }
    si.scatter(this.dxSum, B, w, 0);
    for (let t = 0; t < items; t++) {
      const b = this.itemOwner[t]!;
      const inv = 1 / rp.slateCount[this.idx[b]!]!;
      for (let k = 0; k < d; k++) this.itemGrad[t * d + k] = inv * this.dxSum[b * w + sd + k]!;
    }
    ii.scatter(this.itemGrad, items, d, 0);
    this.criticOpt.step();
    this.steps++;
    return loss;
  }

  /** One delayed actor update (-Q1(s, pi(s))) followed by the soft target updates; uses the states of the last critic batch. */
  private actorStep(): number {
    const c = this.config;
    const B = c.batchSize;
    const sd = this.sd;
    const d = this.ad;
    const w = sd + d;
    const xs = this.stateInput.gather(B);
    const z = this.actor.forward(xs, B);
    const maxA = c.maxAction;
    for (let b = 0; b < B; b++) {
      this.xcCur.set(xs.subarray(b * sd, (b + 1) * sd), b * w);
      for (let k = 0; k < d; k++) this.xcCur[b * w + sd + k] = maxA * Math.tanh(z[b * d + k]!);
    }
    const q = this.critics[0].forward(this.xcCur, B);
    let loss = 0;
    for (let b = 0; b < B; b++) {
      loss -= q[b]!;
      this.dq[b] = -1 / B;
    }
    loss /= B;
    assertFiniteLoss(this.name, 'actor', loss, this.steps);
    this.actorOpt.zeroGrad();
    const dx = this.critics[0].backward(this.dq, B); // critic grads are discarded by the next critic zeroGrad
    // through tanh: d a / d z = maxA (1 - tanh^2)
    const dz = this.dxSum;
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < d; k++) {
        const a = this.xcCur[b * w + sd + k]! / maxA;
        dz[b * d + k] = dx[b * w + sd + k]! * maxA * (1 - a * a);
      }
    }
    this.actor.backward(dz, B);
    this.actorOpt.step();
    softUpdate(this.actorTarget.params(), this.actor.params(), c.tau);
    for (let k = 0; k < 2; k++) softUpdate(this.criticTargets[k]!.params(), this.critics[k]!.params(), c.tau);
    this.actorSteps++;
    this.lastActorLoss = loss;
    return loss;
  }

  /** Config + parameters + Adam states + sampling RNG + counters + the replay's contents (agent-checkpoint.ts). */
  save(): Uint8Array {
    return saveAgentCheckpoint(this.state(), this.stores());
  }

  /** Restores what `save` wrote, all or nothing (corrupt or mismatched bytes throw and change nothing). */
  load(bytes: Uint8Array): void {
    const counters = loadAgentCheckpoint(bytes, this.state(), this.stores());
    this.steps = counters.steps ?? 0;
    this.actorSteps = counters.actorSteps ?? 0;
    // reported as the actor loss of a train() call without an actor update
    this.lastActorLoss = counters.lastActorLoss ?? 0;
  }

  private state(): AgentState {
    return {
      agent: this.name,
      config: this.config,
      params: this.params(),
      optimizers: [this.criticOpt, this.actorOpt],
      rngs: [this.rng],
      counters: { steps: this.steps, actorSteps: this.actorSteps, lastActorLoss: this.lastActorLoss },
    };
  }

  private stores(): CheckpointedStore[] {
    const { numUsers, numItems } = this.fields.catalog;
    return [replayStore(this.replay, { numUsers, numItems })];
  }
}

/** The defaults with `overrides` applied, validated (throws naming the bad field). */
export function resolveTd3Config(overrides?: Record<string, unknown>): Td3Config {
  const c = resolveConfig('TD3', TD3_DEFAULTS, overrides);
  validateTd3(c);
  return c;
}

function validateTd3(c: Td3Config): void {
  const a = 'TD3';
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
  requireInt(a, 'replayCapacity', c.replayCapacity, 2);
  requireInt(a, 'maxSlate', c.maxSlate, 1, 300);
  requireRange(a, 'initScale', c.initScale, 0, 10);
}

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
