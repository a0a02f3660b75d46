/**
 * A behaviour policy for real logs, whose production policy is unknown.
 *
 * Offline agents (CQL, the RankingModel) learn from sessions of a behaviour
 * policy. On generated logs that is the world's logging policy; KuaiRand
 * does not publish Kuaishou's ranker. What the standard log does record is
 * how often the production policy showed each item, so the stand-in is the
 * production-like ranker of logging-policy.ts with its relevance estimate
 * replaced by the item's exposure share in the standard log:
 *
 *   estimate(u, i) = log((1 + n_i) / (1 + mean_j n_j))
 *
 * (n_i: standard-log exposures of item i; the random log is left out, it
 * records no choice), plus the ranker's noise, author popularity and its
 * bias toward followed and clicked authors. It is the same for every model
 * and chosen from the logs alone.
 */
import type { Catalog } from '../world/catalog.js';
import type { InteractionLog } from './interaction-log.js';
import { LoggingPolicy, type LoggingPolicyOptions } from './logging-policy.js';

/** Standard-log exposures per item (rows flagged `fromRandomLog` are not counted). */
export function standardLogExposures(log: InteractionLog, numItems: number): Float64Array {
  const n = new Float64Array(numItems);
  for (let r = 0; r < log.count; r++) {
    if (log.fromRandomLog[r] === 1) continue;
    const i = log.item[r]!;
    if (i < 0 || i >= numItems) throw new RangeError(`log row ${r} has item ${i}, outside the catalog's ${numItems} items`);
    n[i]!++;
  }
  return n;
}

/** The relevance estimate of the file comment, one value per item. */
export function exposureEstimate(exposures: ArrayLike<number>): Float32Array {
  const m = exposures.length;
  if (m === 0) throw new RangeError('exposureEstimate needs at least one item');
  let total = 0;
  for (let i = 0; i < m; i++) {
    const v = exposures[i]!;
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`exposure count of item ${i} must be finite and >= 0, got ${v}`);
    total += v;
  }
  const ref = Math.log1p(total / m);
  const out = new Float32Array(m);
  for (let i = 0; i < m; i++) out[i] = Math.log1p(exposures[i]!) - ref;
  return out;
}

/** The stand-in behaviour policy over `catalog`, from its items' standard-log exposures. */
export function exposureBehaviourPolicy(
  catalog: Catalog,
  exposures: ArrayLike<number>,
  seed: number,
  options: Partial<Omit<LoggingPolicyOptions, 'seed'>> = {},
): LoggingPolicy {
  if (exposures.length !== catalog.numItems) throw new RangeError(`exposures has ${exposures.length} entries, the catalog ${catalog.numItems} items`);
  const estimate = exposureEstimate(exposures);
  return new LoggingPolicy(catalog, (_u, i) => estimate[i]!, { ...options, seed });
}
