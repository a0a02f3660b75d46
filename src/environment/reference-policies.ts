/**
 * Reference policies of the fidelity gates (docs/design.md, the offline
 * instrument): run beside the trained models, in the learned simulator and
 * in the ground-truth world, they show what each environment makes of a
 * known behaviour.
 *
 * - uniformly random slates (slate-policy.ts's `RandomPolicy`: the random
 *   log's policy; G1's off-distribution check).
 * - {@link GreedyClickPolicy} over the world's true click probability: the
 *   click oracle (an upper reference for CTR in the world).
 * - {@link GreedyClickPolicy} over the simulator's own click probability
 *   (the pessimistic p* it samples from): the strongest exploiter the
 *   simulator has; if it scores far better in the simulator than in the
 *   world, the simulator can be gamed.
 * The logging policy (logging-policy.ts) is the fourth.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import type { ExposureBatch } from '../world/response.js';
import { allocExposureBatch } from './environment.js';
import { topKIndices, type PendingRequest, type SlatePolicy } from './slate-policy.js';

/** Anything that gives the click probability of a batch of exposures: the world, the simulator ensemble. */
export interface ClickProbabilityModel {
  expectedClickProbabilities(batch: ExposureBatch, out: Float32Array): Float32Array;
}

/**
 * Exposes the K candidates with the highest click probability under
 * `model`, each scored as the first item of a fresh slate (position 0, no
 * repetition in the session): greedy on the pair's current f_ua and the
 * user-item appeal.
 */
export class GreedyClickPolicy implements SlatePolicy {
  private batch: ExposureBatch = allocExposureBatch(0);
  private probs = new Float32Array(0);

  constructor(private readonly model: ClickProbabilityModel) {}

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    let total = 0;
    for (const r of requests) total += r.candidates.length;
    if (this.batch.user.length < total) {
      this.batch = allocExposureBatch(total);
      this.probs = new Float32Array(total);
    }
    const b = this.batch;
    b.count = total;
    let e = 0;
    for (const r of requests) {
      const n = r.candidates.length;
      for (let i = 0; i < n; i++, e++) {
        b.user[e] = r.user;
        b.item[e] = r.candidates[i]!;
        b.repeatAuthor[e] = 0;
        b.repeatTag[e] = 0;
        b.position[e] = 0;
      }
      b.pairCounts.set(r.candidatePairCounts.subarray(0, n * PAIR_COUNT_DIM), (e - n) * PAIR_COUNT_DIM);
    }
    const p = this.model.expectedClickProbabilities(b, this.probs);
    const slates: Int32Array[] = [];
    let off = 0;
    for (const r of requests) {
      const n = r.candidates.length;
      const slate = new Int32Array(Math.min(k, n));
      topKIndices(p.subarray(off, off + n), n, k, slate);
      slates.push(slate);
      off += n;
    }
    return slates;
  }
}
