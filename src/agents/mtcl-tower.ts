/**
 * One LIV tower of Multi-Task Critic Learning (MTCL, paper §3.2-§3.3):
 * click, watch time, follow or gift.
 *
 * With auxiliary supervised learning (SL, eq. 8) the tower has three heads on
 * the shared H — a reward head r_hat and two critics V_hat_1, V_hat_2 — and
 *
 *   Q_k(H) = r_hat(H) + gamma * V_hat_k(H),   LIV(H) = min(Q_1, Q_2)(H)  (eq. 5)
 *
 * Without SL (`w/o SL`) the two heads output Q_1, Q_2 directly. The heads are
 * one numeric MlpGroup (their first layers run as one wide gemm). The target
 * critics are a second MlpGroup of the same shape (target copies of every
 * head, including r_hat: the target network has "the same structure as the
 * LIV network", §3.2), soft-updated with tau after each step.
 *
 * Loss (eq. 9): huber(r_hat, r) + sum_k huber(Q_k, y), y from td-target.ts.
 * The TD part's gradient is stopped at r_hat by default (docs/design.md §4.4): the
 * point of the split is that r_hat is anchored to the observed reward — if
 * the TD error, which is dominated by the inaccurate target critics early on
 * (§3.3, the deviation SL is introduced to fix), could also move r_hat, the
 * supervised anchor would be dragged along with it. With the stop, r_hat
 * learns the immediate reward only and V_hat carries the long-term remainder.
 */
import { MlpGroup } from '../numeric/mlp-group.js';
import { huberLoss } from '../numeric/losses.js';
import { hardCopy, softUpdate } from '../numeric/soft-update.js';
import type { Param } from '../numeric/param.js';
import type { Rng } from '../numeric/rng.js';
import type { Tower } from '../data/interaction-kinds.js';

/** Options of one {@link MtclTower}. */
export interface MtclTowerOptions {
  tower: Tower;
  /** Width of H. */
  inDim: number;
  /** Hidden sizes of every head. */
  hidden: number[];
  /** Heads r_hat + V_1 + V_2 (true) or Q_1 + Q_2 (false). */
  supervised: boolean;
  /** Discount factor. */
  gamma: number;
  huberDelta: number;
  /** Stop the TD gradient at r_hat (only meaningful with `supervised`). */
  stopTdGradientAtRewardHead: boolean;
  /** Largest training batch (buffers are sized for it). */
  capacity: number;
}

/** Loss terms of one tower for one batch (means over the batch). */
export interface TowerLoss {
  /** Supervised reward-head loss huber(r_hat, r) (0 without SL). */
  supervised: number;
  /** sum_k huber(Q_k, y). */
  td: number;
  /** supervised + td. */
  total: number;
}

/** Which loss terms to back-propagate (all by default; tests isolate one). */
export interface LossTerms {
  supervised: boolean;
  td: boolean;
}

export class MtclTower {
  readonly tower: Tower;
  readonly online: MlpGroup;
  readonly target: MlpGroup;
  private readonly o: MtclTowerOptions;
  /** Column of r_hat (-1 without SL), of critic 1 and critic 2 in a group's output. */
  private readonly colR: number;
  private readonly colV1: number;
  private readonly colV2: number;
  private readonly heads: number;
  private readonly rHat: Float32Array;
  private readonly rew: Float32Array;
  private readonly q1: Float32Array;
  private readonly q2: Float32Array;
  private readonly gR: Float32Array;
  private readonly g1: Float32Array;
  private readonly g2: Float32Array;
  private readonly dOut: Float32Array;

  constructor(options: MtclTowerOptions, rng: Rng) {
    this.o = { ...options, hidden: options.hidden.slice() };
    this.tower = options.tower;
    this.heads = options.supervised ? 3 : 2;
    this.colR = options.supervised ? 0 : -1;
    this.colV1 = options.supervised ? 1 : 0;
    this.colV2 = options.supervised ? 2 : 1;
    const sizes = [options.inDim, ...options.hidden, 1];
    this.online = new MlpGroup({ heads: this.heads, sizes, name: `rliv.${options.tower}` }, rng);
    this.target = new MlpGroup({ heads: this.heads, sizes, name: `rliv.${options.tower}.target`, inputGrad: false }, rng);
    hardCopy(this.target.params(), this.online.params());
    const n = options.capacity;
    this.rHat = new Float32Array(n);
    this.rew = new Float32Array(n);
    this.q1 = new Float32Array(n);
    this.q2 = new Float32Array(n);
    this.gR = new Float32Array(n);
    this.g1 = new Float32Array(n);
    this.g2 = new Float32Array(n);
    this.dOut = new Float32Array(n * this.heads);
  }

  /** Trainable parameters (the online heads). */
  params(): Param[] {
    return this.online.params();
  }

  /** Target-critic parameters (not trained; soft-updated). */
  targetParams(): Param[] {
    return this.target.params();
  }

  /** Column of the reward head in the group output, -1 without SL (for tests and inspection). */
  get rewardHeadIndex(): number {
    return this.colR;
  }

  /** Q'_1 and Q'_2 of the TARGET heads for `n` rows of H, into q1Out and q2Out (the TD target takes their min). */
  targetQ(H: Float32Array, n: number, q1Out: Float32Array, q2Out: Float32Array): void {
    this.qValues(this.target.forward(H, n), n, q1Out, q2Out);
  }

  /** LIV = min(Q_1, Q_2) of the ONLINE heads for `n` rows, into out[r * stride + offset]. */
  liv(H: Float32Array, n: number, out: Float32Array, stride: number, offset: number): void {
    const y = this.online.forward(H, n);
    const G = this.heads;
    const gamma = this.o.gamma;
    for (let r = 0; r < n; r++) {
      const base = r * G;
      const r0 = this.colR >= 0 ? y[base + this.colR]! : 0;
      const s = this.colR >= 0 ? gamma : 1;
      const a = r0 + s * y[base + this.colV1]!;
      const b = r0 + s * y[base + this.colV2]!;
      out[r * stride + offset] = a < b ? a : b;
    }
  }

  /**
   * Forward + loss + backward on `n` rows of H (online heads), with rewards
   * `rewards[b * rewardStride + rewardOffset]` and TD targets `y`. Accumulates
   * the heads' parameter gradients and returns dLoss/dH (n x inDim, owned by
   * the online group; valid until its next forward/backward).
   */
  lossAndBackward(
    H: Float32Array,
    n: number,
    rewards: Float32Array,
    rewardStride: number,
    rewardOffset: number,
    y: Float32Array,
    terms: LossTerms = { supervised: true, td: true },
  ): { loss: TowerLoss; dH: Float32Array } {
    const out = this.online.forward(H, n);
    const G = this.heads;
    const { gamma, huberDelta, supervised } = this.o;
    const rHat = this.rHat;
    const q1 = this.q1;
    const q2 = this.q2;
    const rew = this.rew;
    const v1Col = this.colV1;
    const v2Col = this.colV2;
    for (let b = 0; b < n; b++) {
      const base = b * G;
      if (supervised) {
        const r0 = out[base + this.colR]!;
        rHat[b] = r0;
        q1[b] = r0 + gamma * out[base + v1Col]!;
        q2[b] = r0 + gamma * out[base + v2Col]!;
      } else {
        q1[b] = out[base + v1Col]!;
        q2[b] = out[base + v2Col]!;
      }
      rew[b] = rewards[b * rewardStride + rewardOffset]!;
    }
    let supLoss = 0;
    if (supervised) {
      supLoss = huberLoss(rHat, rew, n, huberDelta, terms.supervised ? this.gR : undefined);
      if (!terms.supervised) this.gR.fill(0, 0, n);
    }
    const td = huberLoss(q1, y, n, huberDelta, this.g1) + huberLoss(q2, y, n, huberDelta, this.g2);
    if (!terms.td) {
      this.g1.fill(0, 0, n);
      this.g2.fill(0, 0, n);
    }
    const dOut = this.dOut;
    const stop = this.o.stopTdGradientAtRewardHead;
    for (let b = 0; b < n; b++) {
      const base = b * G;
      const g1 = this.g1[b]!;
      const g2 = this.g2[b]!;
      if (supervised) {
        // dQ_k/dr_hat = 1, dQ_k/dV_k = gamma.
        dOut[base + this.colR] = this.gR[b]! + (stop ? 0 : g1 + g2);
        dOut[base + v1Col] = gamma * g1;
        dOut[base + v2Col] = gamma * g2;
      } else {
        dOut[base + v1Col] = g1;
        dOut[base + v2Col] = g2;
      }
    }
    const dH = this.online.backward(dOut, n);
    return { loss: { supervised: supLoss, td, total: supLoss + td }, dH };
  }

  /** Soft update of every target head: target <- tau * online + (1 - tau) * target. */
  softUpdateTargets(tau: number): void {
    softUpdate(this.target.params(), this.online.params(), tau);
  }

  private qValues(y: Float32Array, n: number, q1Out: Float32Array, q2Out: Float32Array): void {
    const G = this.heads;
    const gamma = this.o.gamma;
    for (let r = 0; r < n; r++) {
      const base = r * G;
      if (this.colR >= 0) {
        const r0 = y[base + this.colR]!;
        q1Out[r] = r0 + gamma * y[base + this.colV1]!;
        q2Out[r] = r0 + gamma * y[base + this.colV2]!;
      } else {
        q1Out[r] = y[base + this.colV1]!;
        q2Out[r] = y[base + this.colV2]!;
      }
    }
  }
}
