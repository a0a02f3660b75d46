/**
 * The RLIV-UA network (paper Fig. 3): the shared embedding layer, the MTCL
 * towers (each with r_hat, two critics and their target copies) and the
 * assistance gift network, with the full training step:
 *
 *   1. H   = embed(s)                      for the batch (recorded for backward)
 *   2. H'_j = embed(f_u, f_a, f_ua^{t+1}, item j) for j in the author's items
 *      (sampled down to maxNextItems), no gradient (semi-gradient TD)
 *   3. per tower: y = r + gamma * max_j min(Q'_1, Q'_2)(H'_j)   (td-target.ts)
 *   4. per tower: L_Q = huber(r_hat, r) + sum_k huber(Q_k, y), backward to H
 *   5. L_A = BCE(gift | h_u, h_a), backward to (h_u, h_a)
 *   6. embedding backward, Adam (towers + assistance at lr, table at embeddingLr, lazy rows)
 *   7. soft update of every tower's target heads with tau
 *
 * Total loss L = sum_towers L_Q + L_A (eq. 10). The target side reads the
 * online embedding table (no target copy of the table): the table is shared
 * by definition ("one shared embedding layer") and a stale copy of a hashed
 * table would cost its full size per tau update.
 */
import { Adam } from '../numeric/adam.js';
import type { Param } from '../numeric/param.js';
import type { Rng } from '../numeric/rng.js';
import { PAIR_COUNT_DIM, TOWERS, TOWER_COUNT, type Tower } from '../data/interaction-kinds.js';
import type { Catalog } from '../world/catalog.js';
import type { SampleBatch } from '../mdp/scri-mdp.js';
import type { RlivUaConfig } from './rliv-ua-config.js';
import { StateEmbedding } from './rliv-ua-embedding.js';
import { FactorizedLivScorer } from './rliv-ua-scorer.js';
import { MtclTower, type LossTerms } from './mtcl-tower.js';
import { AssistanceGiftHead } from './assistance-gift-head.js';
import { computeTdTargets, sampleNextItems } from './td-target.js';
import { assertFiniteLoss } from './agent-checkpoint.js';
import type { RankRequest } from './ranker.js';

/** Losses of one step (means over the batch). */
export interface StepLosses {
  /** L_Q per trained tower. */
  towers: Partial<Record<Tower, number>>;
  /** Supervised part huber(r_hat, r) per trained tower (0 without SL). */
  supervised: Partial<Record<Tower, number>>;
  /** TD part sum_k huber(Q_k, y) per trained tower. */
  td: Partial<Record<Tower, number>>;
  /** L_A (0 without AL). */
  assistance: number;
  /** L = sum L_Q + L_A. */
  total: number;
}

/** Which loss terms to back-propagate (tests isolate one; training uses all). */
export interface GradientTerms extends LossTerms {
  assistance: boolean;
}

const ALL_TERMS: GradientTerms = { supervised: true, td: true, assistance: true };

export class RlivUaNetwork {
  readonly config: Readonly<RlivUaConfig>;
  readonly embedding: StateEmbedding;
  /** Trained towers, in TOWERS order. */
  readonly towers: MtclTower[];
  readonly assistance: AssistanceGiftHead | null;
  /** Index in TOWERS of each entry of `towers`. */
  readonly towerColumn: number[];
  private readonly catalog: Catalog;
  private readonly denseOptimizer: Adam;
  private readonly embeddingOptimizer: Adam;
  private stepsTaken = 0;
  // Training buffers, sized for batchSize (and batchSize * maxNextItems next rows).
  private readonly H: Float32Array;
  private readonly dH: Float32Array;
  private readonly Hn: Float32Array;
  private readonly nextItems: Int32Array;
  private readonly nextOffsets: Int32Array;
  private readonly nextSample: Int32Array;
  private readonly q1n: Float32Array;
  private readonly q2n: Float32Array;
  /** TD targets of the last step, one buffer per trained tower. */
  private readonly y: Float32Array[];
  /** Scoring path (first layer factorized over H's slots, per-version caches). */
  private readonly scorer: FactorizedLivScorer;

  constructor(catalog: Catalog, config: Readonly<RlivUaConfig>, rng: Rng) {
    this.catalog = catalog;
    this.config = config;
    const cap = config.batchSize;
    this.embedding = new StateEmbedding(
      catalog,
      {
        dim: config.embeddingDim,
        rows: config.embeddingRows,
        initScale: config.embeddingInitScale,
        countBuckets: config.countBuckets,
        capacity: cap,
      },
      rng.fork('embedding'),
    );
    const hDim = this.embedding.hDim;
    this.towers = config.towers.map(
      (tower) =>
        new MtclTower(
          {
            tower,
            inDim: hDim,
            hidden: config.hidden,
            supervised: config.supervised,
            gamma: config.gamma,
            huberDelta: config.huberDelta,
            stopTdGradientAtRewardHead: config.stopTdGradientAtRewardHead,
            capacity: cap,
          },
          rng.fork(`tower.${tower}`),
        ),
    );
    this.towerColumn = config.towers.map((t) => TOWERS.indexOf(t));
    this.assistance = config.assistance
      ? new AssistanceGiftHead({ inDim: this.embedding.staticDim, hDim, hidden: config.hidden[0]!, capacity: cap }, rng.fork('assistance'))
      : null;
    this.denseOptimizer = new Adam(this.denseParams(), { lr: config.lr });
    this.embeddingOptimizer = new Adam(this.embedding.params(), { lr: config.embeddingLr });

    const nextCap = cap * config.maxNextItems;
    this.H = new Float32Array(cap * hDim);
    this.dH = new Float32Array(cap * hDim);
    this.Hn = new Float32Array(nextCap * hDim);
    this.nextItems = new Int32Array(nextCap);
    this.nextOffsets = new Int32Array(cap + 1);
    this.nextSample = new Int32Array(nextCap);
    this.q1n = new Float32Array(nextCap);
    this.q2n = new Float32Array(nextCap);
    this.y = this.towers.map(() => new Float32Array(cap));
    this.scorer = new FactorizedLivScorer(this.embedding, this.towers, config.gamma, config.maxCandidates, catalog.numItems);
  }

  /** Gradient steps taken. */
  get steps(): number {
    return this.stepsTaken;
  }

  /** Parameters trained at `lr`: every tower's online heads and the assistance network. */
  denseParams(): Param[] {
    return [...this.towers.flatMap((t) => t.params()), ...(this.assistance ? this.assistance.params() : [])];
  }

  /** Every parameter of the model, trained or target (what a checkpoint stores). */
  allParams(): Param[] {
    return [...this.embedding.params(), ...this.denseParams(), ...this.towers.flatMap((t) => t.targetParams())];
  }

  /** The two optimizers: [dense, embedding]. */
  optimizers(): [Adam, Adam] {
    return [this.denseOptimizer, this.embeddingOptimizer];
  }

  /** TD targets y of the last step for trained tower `t` (index into `towers`), first batch-size entries valid. */
  tdTargets(t: number): Float32Array {
    return this.y[t]!;
  }

  /** Next items used by the last step: sample b's are items[offsets[b] .. offsets[b+1]). */
  lastNextItems(): { items: Int32Array; offsets: Int32Array } {
    return { items: this.nextItems, offsets: this.nextOffsets };
  }

  /** The step counter, for checkpoints. */
  setSteps(steps: number): void {
    this.stepsTaken = steps;
  }

  /**
   * Zeroes the gradients and accumulates those of the loss on `batch`
   * (no parameter change). `rng` draws the next-item samples. Exposed for
   * gradient tests; training calls {@link step}.
   */
  computeGradients(batch: SampleBatch, rng: Rng, terms: GradientTerms = ALL_TERMS): StepLosses {
    const n = batch.count;
    const cfg = this.config;
    if (n < 1 || n > cfg.batchSize) throw new RangeError(`RLIV-UA step: batch of ${n} samples, expected 1..${cfg.batchSize}`);
    this.denseOptimizer.zeroGrad();
    this.embeddingOptimizer.zeroGrad();
    const hDim = this.embedding.hDim;

    // 1-2. H of the states; H' of every next item of each sample's author (s' from ASA).
    this.embedding.encodeStates(batch.user, batch.item, batch.pairCounts, n, this.H);
    const nn = sampleNextItems(this.catalog, batch.author, n, cfg.maxNextItems, rng, this.nextItems, this.nextOffsets);
    for (let b = 0; b < n; b++) {
      for (let j = this.nextOffsets[b]!; j < this.nextOffsets[b + 1]!; j++) this.nextSample[j] = b;
    }
    this.embedding.encodeNextStates(this.H, batch.item, batch.pairCounts, this.nextSample, this.nextItems, batch.nextPairCounts, nn, this.Hn);

    const losses: StepLosses = { towers: {}, supervised: {}, td: {}, assistance: 0, total: 0 };
    this.dH.fill(0, 0, n * hDim);
    for (let t = 0; t < this.towers.length; t++) {
      const tower = this.towers[t]!;
      // 3. TD target from the target heads (constant w.r.t. the online parameters).
      tower.targetQ(this.Hn, nn, this.q1n, this.q2n);
      computeTdTargets(n, batch.rewards, TOWER_COUNT, this.towerColumn[t]!, this.q1n, this.q2n, this.nextOffsets, cfg.gamma, this.y[t]!, cfg.targetCritics);
      // 4. Tower loss and its gradient w.r.t. H.
      const { loss, dH } = tower.lossAndBackward(this.H, n, batch.rewards, TOWER_COUNT, this.towerColumn[t]!, this.y[t]!, terms);
      addInto(this.dH, dH, n * hDim);
      losses.towers[tower.tower] = loss.total;
      losses.supervised[tower.tower] = loss.supervised;
      losses.td[tower.tower] = loss.td;
      losses.total += loss.total;
    }
    // 5. Assistance gift network on (h_u, h_a).
    if (this.assistance) {
      if (terms.assistance) {
        losses.assistance = this.assistance.lossAndBackward(this.H, n, batch.giftLabel, this.dH);
      } else {
        // Loss for the report only: back-propagate into a scratch row block that is then discarded.
        const scratch = new Float32Array(n * hDim);
        losses.assistance = this.assistance.lossAndBackward(this.H, n, batch.giftLabel, scratch);
        for (const p of this.assistance.params()) p.grad.fill(0);
      }
      losses.total += losses.assistance;
    }
    // 6a. Embedding gradient.
    this.embedding.backward(this.dH, n);
    return losses;
  }

  /**
   * One full training step on `batch`. Throws NonFiniteLossError (agent-checkpoint.ts)
   * naming the tower (or 'assistance'), before any parameter changes, when a loss is NaN or infinite.
   */
  step(batch: SampleBatch, rng: Rng): StepLosses {
    const losses = this.computeGradients(batch, rng);
    for (const tower of this.towers) assertFiniteLoss(this.config.name, tower.tower, losses.towers[tower.tower]!, this.stepsTaken);
    assertFiniteLoss(this.config.name, 'assistance', losses.assistance, this.stepsTaken);
    this.denseOptimizer.step();
    this.embeddingOptimizer.step();
    this.embedding.invalidate();
    for (const tower of this.towers) tower.softUpdateTargets(this.config.tau);
    this.stepsTaken++;
    return losses;
  }

  /**
   * Per-tower LIV = min(Q_1, Q_2) of `n` candidates of one user into
   * `out[i * TOWER_COUNT + TOWERS.indexOf(tower)]` for the towers with
   * `mask[towerIndex]` set (all trained towers when mask is null); entries
   * of towers not computed are left untouched. No allocation once the
   * scorer's caches exist. Equal to running the towers' online heads on
   * `embedding.encodeCandidates` up to float rounding (rliv-ua-scorer.ts).
   */
  livPerTower(user: number, items: Int32Array, pairCounts: Float32Array, n: number, out: Float32Array, mask: Uint8Array | null): void {
    this.checkCandidates(items, pairCounts, n);
    // h_u and the count rows are the same for every tower: computed once.
    this.scorer.begin(user, pairCounts, n);
    this.scoreTowers(items, n, out, mask);
  }

  /**
   * {@link livPerTower} of several requests in one pass: their candidates'
   * rows back to back in `out` (request r's rows after the earlier ones'),
   * one gemm per layer over all of them.
   */
  livPerTowerRequests(requests: readonly RankRequest[], out: Float32Array, mask: Uint8Array | null): void {
    let n = 0;
    for (const q of requests) {
      this.checkCandidates(q.candidates, q.candidatePairCounts, q.candidates.length);
      n += q.candidates.length;
    }
    if (this.batchItems.length < n) this.batchItems = new Int32Array(Math.max(n, 2 * this.batchItems.length));
    const items = this.batchItems;
    let row = 0;
    for (const q of requests) {
      items.set(q.candidates, row);
      row += q.candidates.length;
    }
    this.scorer.beginRequests(requests.map((q) => ({ user: q.user, candidatePairCounts: q.candidatePairCounts, rows: q.candidates.length })));
    this.scoreTowers(items, n, out, mask);
  }

  /** Items of a batch of requests, back to back (grown as needed). */
  private batchItems = new Int32Array(0);

  private checkCandidates(items: Int32Array, pairCounts: Float32Array, n: number): void {
    if (n > this.config.maxCandidates) throw new RangeError(`RLIV-UA scoring: ${n} candidates exceed maxCandidates ${this.config.maxCandidates}`);
    if (pairCounts.length < n * PAIR_COUNT_DIM)
      throw new RangeError(`RLIV-UA scoring: candidatePairCounts holds ${pairCounts.length} values, ${n} x ${PAIR_COUNT_DIM} needed`);
    for (let r = 0; r < n; r++) {
      const item = items[r]!;
      if (!(item >= 0 && item < this.catalog.numItems) || !Number.isInteger(item)) {
        throw new RangeError(`StateEmbedding: item ${item} (row ${r}) is not in the catalog (0..${this.catalog.numItems - 1})`);
      }
    }
  }

  /** Every (unmasked) tower's LIV of the rows of the scorer's last begin into out[r * TOWER_COUNT + column]. */
  private scoreTowers(items: Int32Array, n: number, out: Float32Array, mask: Uint8Array | null): void {
    for (let t = 0; t < this.towers.length; t++) {
      const col = this.towerColumn[t]!;
      if (mask !== null && mask[col] === 0) continue;
      this.scorer.towerLiv(t, items, n, out, TOWER_COUNT, col);
    }
  }
}

function addInto(dst: Float32Array, src: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i]! += src[i]!;
}
