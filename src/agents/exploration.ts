/**
 * Exploration for data collection: turns one request's candidate scores into
 * a slate of K candidate indices.
 *
 * - `greedy`: the top K by score (ties -> lower index). Used at evaluation.
 * - `epsilon-greedy`: each slate position, with probability epsilon, takes a
 *   uniformly random candidate not yet in the slate; otherwise the best
 *   remaining one.
 * - `softmax`: K draws without replacement (Plackett-Luce) with
 *   P(i) ∝ exp((s_i - max s) / (temperature * std(s))). The temperature is in
 *   units of the request's score standard deviation, so one setting explores
 *   equally for agents whose scores live on different scales (Q values,
 *   logits, seconds) — the experiment compares them on the same footing.
 *
 * Epsilon and temperature decay linearly from their start to their final
 * value over `decayEpochs` epochs (see {@link explorationAtEpoch}).
 * Every random choice draws from the Rng passed in; no allocation per call
 * once the scratch buffers have grown to the largest N seen.
 */
import type { Rng } from '../numeric/rng.js';

export const EXPLORATION_KINDS = ['greedy', 'epsilon-greedy', 'softmax'] as const;
export type ExplorationKind = (typeof EXPLORATION_KINDS)[number];

export interface ExplorationOptions {
  /** Which rule picks the slate while collecting training sessions. Default 'epsilon-greedy'. */
  kind: ExplorationKind;
  /** epsilon-greedy: probability that a slate position is filled at random, at epoch 0. Default 0.2. */
  epsilon: number;
  /** epsilon-greedy: epsilon after `decayEpochs` epochs. Default 0.05. */
  epsilonFinal: number;
  /** softmax: temperature (in score standard deviations) at epoch 0. Default 1. */
  temperature: number;
  /** softmax: temperature after `decayEpochs` epochs. Default 0.25. */
  temperatureFinal: number;
  /** Epochs over which epsilon/temperature decay linearly; 0 = no decay. Default 50. */
  decayEpochs: number;
}

export const DEFAULT_EXPLORATION: ExplorationOptions = {
  kind: 'epsilon-greedy',
  epsilon: 0.2,
  epsilonFinal: 0.05,
  temperature: 1,
  temperatureFinal: 0.25,
  decayEpochs: 50,
};

/** Exploration parameters in force at one epoch. */
export interface ExplorationSetting {
  kind: ExplorationKind;
  /** Current epsilon (epsilon-greedy). */
  epsilon: number;
  /** Current temperature (softmax). */
  temperature: number;
}

/** Validates options; the error names the bad field. */
export function validateExploration(options: ExplorationOptions): ExplorationOptions {
  if (!EXPLORATION_KINDS.includes(options.kind)) {
    throw new RangeError(`exploration.kind must be one of ${EXPLORATION_KINDS.join(', ')}; got ${JSON.stringify(options.kind)}`);
  }
  for (const f of ['epsilon', 'epsilonFinal'] as const) {
    if (!(options[f] >= 0 && options[f] <= 1)) throw new RangeError(`exploration.${f} must be in [0, 1]; got ${options[f]}`);
  }
  for (const f of ['temperature', 'temperatureFinal'] as const) {
    if (!(options[f] > 0) || !Number.isFinite(options[f])) throw new RangeError(`exploration.${f} must be a finite number > 0; got ${options[f]}`);
  }
  if (!(Number.isInteger(options.decayEpochs) && options.decayEpochs >= 0)) {
    throw new RangeError(`exploration.decayEpochs must be an integer >= 0; got ${options.decayEpochs}`);
  }
  return options;
}

/** Linear decay from the start value to the final value over decayEpochs. */
export function explorationAtEpoch(options: ExplorationOptions, epoch: number): ExplorationSetting {
  const f = options.decayEpochs === 0 ? 1 : Math.min(1, epoch / options.decayEpochs);
  return {
    kind: options.kind,
    epsilon: options.epsilon + (options.epsilonFinal - options.epsilon) * f,
    temperature: options.temperature + (options.temperatureFinal - options.temperature) * f,
  };
}

/** The greedy setting used at evaluation: exploration off. */
export const GREEDY: ExplorationSetting = { kind: 'greedy', epsilon: 0, temperature: 1 };

/** Picks slates from scores under an {@link ExplorationSetting}. Reuses its scratch buffers. */
export class SlateSelector {
  private taken = new Uint8Array(0);
  private weights = new Float64Array(0);

  /**
   * Writes K candidate indices (into `scores`, display order) to `out`.
   * @param scores n scores, higher = better; NaN is an error (the agent is broken).
   * @param n number of candidates (scores may be longer).
   * @param k slate size; must be <= n.
   * @param rng drawn from only when the setting explores.
   * @param randomFlags optional, K entries: 1 where epsilon-greedy filled the position at random (KuaiRand `is_rand`).
   */
  select(scores: Float32Array, n: number, k: number, setting: ExplorationSetting, rng: Rng, out: Int32Array, randomFlags?: Uint8Array): void {
    if (!(k >= 1 && k <= n)) throw new RangeError(`slate size k=${k} must be in [1, n=${n}]`);
    if (out.length < k) throw new RangeError(`slate output buffer has ${out.length} slots, needs ${k}`);
    if (this.taken.length < n) {
      this.taken = new Uint8Array(n);
      this.weights = new Float64Array(n);
    }
    const taken = this.taken;
    taken.fill(0, 0, n);
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(scores[i]!)) throw new RangeError(`score of candidate ${i} is NaN; the ranker produced an invalid score`);
    }
    if (randomFlags) randomFlags.fill(0, 0, k);
    if (setting.kind === 'softmax') {
      this.softmaxSlate(scores, n, k, setting.temperature, rng, out);
      return;
    }
    const epsilon = setting.kind === 'epsilon-greedy' ? setting.epsilon : 0;
    for (let pos = 0; pos < k; pos++) {
      let pick: number;
      if (epsilon > 0 && rng.uniform() < epsilon) {
        // Uniform over the n - pos candidates not yet taken.
        let r = rng.int(n - pos);
        pick = -1;
        for (let i = 0; i < n; i++) {
          if (taken[i]) continue;
          if (r === 0) {
            pick = i;
            break;
          }
          r--;
        }
        if (randomFlags) randomFlags[pos] = 1;
      } else {
        pick = -1;
        let best = -Infinity;
        for (let i = 0; i < n; i++) {
          if (taken[i]) continue;
          const s = scores[i]!;
          if (pick < 0 || s > best) {
            best = s;
            pick = i;
          }
        }
      }
      taken[pick] = 1;
      out[pos] = pick;
    }
  }

  private softmaxSlate(scores: Float32Array, n: number, k: number, temperature: number, rng: Rng, out: Int32Array): void {
    const taken = this.taken;
    const w = this.weights;
    let max = -Infinity;
    let mean = 0;
    let finite = 0;
    for (let i = 0; i < n; i++) {
      const s = scores[i]!;
      if (s > max) max = s;
      if (Number.isFinite(s)) {
        mean += s;
        finite++;
      }
    }
    mean = finite > 0 ? mean / finite : 0;
    let variance = 0;
    for (let i = 0; i < n; i++) {
      const s = scores[i]!;
      if (Number.isFinite(s)) variance += (s - mean) * (s - mean);
    }
    const std = finite > 1 ? Math.sqrt(variance / finite) : 0;
    // All scores equal (or one candidate): the softmax is uniform.
    const scale = std > 1e-12 ? 1 / (temperature * std) : 0;
    for (let i = 0; i < n; i++) {
      const s = scores[i]!;
      w[i] = s === -Infinity ? 0 : Math.exp((s - max) * scale);
    }
    for (let pos = 0; pos < k; pos++) {
      let total = 0;
      for (let i = 0; i < n; i++) if (!taken[i]) total += w[i]!;
      let pick = -1;
      if (total > 0) {
        let x = rng.uniform() * total;
        for (let i = 0; i < n; i++) {
          if (taken[i]) continue;
          pick = i;
          x -= w[i]!;
          if (x < 0) break;
        }
      } else {
        // Only -Infinity scores left: fill in index order.
        for (let i = 0; i < n; i++)
          if (!taken[i]) {
            pick = i;
            break;
          }
      }
      taken[pick] = 1;
      out[pos] = pick;
    }
  }
}
