/**
 * The one ranking score of a model's per-tower LIV (docs/design.md §4.6): a weighted sum of the
 * towers' LIVs, each standardized over the request's candidates (towers live
 * on different scales: log-seconds for watch time, 0/1 rewards for follow).
 *
 *   score_i = sum_t w_t * (LIV_{i,t} - mean_t) / std_t
 *
 * mean_t and std_t over the request's N candidates (population std). A tower
 * whose LIV is the same for every candidate carries no ranking signal in this
 * request and contributes nothing (its std is 0). RLIV-UA's `score` (with the
 * agent's `scoreWeights`), the ranking service's `towerWeights` and the A/B
 * test all call {@link combineTowerLivs}, so the same weights give the same
 * numbers everywhere.
 */
import { TOWERS, TOWER_COUNT, type Tower } from '../data/interaction-kinds.js';

/** Tower weights as a vector in TOWERS order (absent towers weigh 0). */
export function towerWeightVector(weights: Readonly<Partial<Record<Tower, number>>>, out: Float64Array = new Float64Array(TOWER_COUNT)): Float64Array {
  for (let t = 0; t < TOWER_COUNT; t++) out[t] = weights[TOWERS[t]!] ?? 0;
  return out;
}

/**
 * Writes score_i = sum_t w_t * standardized LIV_{i,t} into out[0..n).
 *
 * @param livs N x TOWER_COUNT LIVs, row-major (a model's `livPerTower`); only
 *   the columns of towers with a nonzero weight are read.
 * @param n number of candidates.
 * @param weights TOWER_COUNT weights in TOWERS order (see {@link towerWeightVector}).
 * @param out receives the n scores (Float32).
 * @returns the name of a weighted tower whose LIV is NaN (a tower the model
 *   does not train; `out` is then unspecified), else null.
 */
export function combineTowerLivs(livs: Float32Array, n: number, weights: ArrayLike<number>, out: Float32Array): Tower | null {
  out.fill(0, 0, n);
  if (n === 0) return null;
  for (let t = 0; t < TOWER_COUNT; t++) {
    const w = weights[t]!;
    if (w === 0) continue;
    if (Number.isNaN(livs[t]!)) return TOWERS[t]!;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += livs[i * TOWER_COUNT + t]!;
    mean /= n;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const d = livs[i * TOWER_COUNT + t]! - mean;
      sumSq += d * d;
    }
    const std = Math.sqrt(sumSq / n);
    // A tower that rates every candidate alike carries no ranking signal here.
    if (!(std > 1e-12)) continue;
    const k = w / std;
    for (let i = 0; i < n; i++) out[i] = out[i]! + k * (livs[i * TOWER_COUNT + t]! - mean);
  }
  return null;
}
