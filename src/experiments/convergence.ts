/**
 * When is a learning curve converged? (issue 15 item 1; docs/design.md §8.3)
 *
 * Criterion, per model and metric, on the curve of the per-epoch evaluation
 * figures averaged over seeds (`results.json` curves), over its last
 * `window` epochs (default 10, the epochs the model's figure averages):
 *
 *   fit y_e = a + b e by least squares (e = epoch number);
 *   se(b) = sqrt( sum of squared residuals / (n - 2) / sum (e - mean e)^2 );
 *   95 % interval of the slope: b +- t_{0.975, n-2} se(b);
 *
 *   converged  <=>  the interval contains 0 (the slope is not significantly
 *                   different from zero at the 5 % level)
 *              and  |b| < 1 % of |mean y| over the window, per epoch.
 *
 * The first condition alone would call any noisy curve converged (a wide
 * interval always contains 0); the second bounds the estimated drift itself:
 * a curve still moving by 1 % of its level per epoch would move ~10 % over
 * ten more epochs. A curve shorter than the window is not converged (there
 * is not enough of it to say). A flat curve whose level is 0 (e.g. new fans
 * when nobody follows) has no relative scale: it is converged when its
 * slope is exactly 0 and its interval contains 0.
 *
 * `curveConvergence` is the one function the results and the report call;
 * `seedsConverged` counts how many single-seed curves pass the same test.
 */
import { studentTQuantile } from './statistics.js';

/** Options of the criterion (the defaults are the documented criterion). */
export interface ConvergenceOptions {
  /** Last epochs the slope is fitted on (default 10). */
  window: number;
  /** Largest |slope| per epoch, as a share of |mean| over the window (default 0.01). */
  maxRelativeSlope: number;
  /** Confidence of the slope's interval (default 0.95). */
  confidence: number;
}

export const DEFAULT_CONVERGENCE: Readonly<ConvergenceOptions> = { window: 10, maxRelativeSlope: 0.01, confidence: 0.95 };

/** The verdict on one curve. */
export interface Convergence {
  converged: boolean;
  /** Least-squares slope per epoch over the window (NaN when the curve is too short). */
  slope: number;
  /** Its interval at `confidence` (two-sided t, n - 2 degrees of freedom). */
  ci95: [number, number];
  /** Mean of the curve over the window. */
  mean: number;
  /** slope / |mean| (per epoch); NaN when the mean is 0. */
  relativeSlope: number;
  /** Epochs the slope was fitted on. */
  epochs: number;
  /** Why it is not converged (absent when it is). */
  reason?: string;
}

/**
 * Applies the criterion to the last `window` values of `curve` (one value
 * per evaluation epoch, in order). `epochs` are their epoch numbers
 * (default 1, 2, ...).
 */
export function curveConvergence(curve: readonly number[], options: Partial<ConvergenceOptions> = {}, epochs?: readonly number[]): Convergence {
  const o = { ...DEFAULT_CONVERGENCE, ...options };
  if (!(Number.isInteger(o.window) && o.window >= 3))
    throw new RangeError(`convergence window must be an integer >= 3 (a slope needs an interval); got ${o.window}`);
  if (!(o.maxRelativeSlope > 0)) throw new RangeError(`maxRelativeSlope must be > 0; got ${o.maxRelativeSlope}`);
  if (!(o.confidence > 0 && o.confidence < 1)) throw new RangeError(`confidence must be in (0, 1); got ${o.confidence}`);
  if (epochs && epochs.length !== curve.length) throw new RangeError(`convergence: ${epochs.length} epoch numbers for ${curve.length} values`);
  const n = Math.min(o.window, curve.length);
  if (curve.length < o.window) {
    return {
      converged: false,
      slope: NaN,
      ci95: [NaN, NaN],
      mean: NaN,
      relativeSlope: NaN,
      epochs: curve.length,
      reason: `only ${curve.length} epoch(s), the criterion needs the last ${o.window}`,
    };
  }
  const ys = curve.slice(curve.length - n);
  const xs = epochs ? epochs.slice(epochs.length - n) : ys.map((_, i) => curve.length - n + i + 1);
  if (ys.some((y) => !Number.isFinite(y))) {
    return { converged: false, slope: NaN, ci95: [NaN, NaN], mean: NaN, relativeSlope: NaN, epochs: n, reason: 'the curve has non-finite values' };
  }
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  const slope = sxy / sxx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (my + slope * (xs[i]! - mx))) ** 2;
  const se = Math.sqrt(sse / (n - 2) / sxx);
  const t = studentTQuantile(1 - (1 - o.confidence) / 2, n - 2);
  const ci95: [number, number] = [slope - t * se, slope + t * se];
  const relativeSlope = my !== 0 ? slope / Math.abs(my) : NaN;
  const containsZero = ci95[0] <= 0 && ci95[1] >= 0;
  const small = my !== 0 ? Math.abs(relativeSlope) < o.maxRelativeSlope : slope === 0;
  const result: Convergence = { converged: containsZero && small, slope, ci95, mean: my, relativeSlope, epochs: n };
  if (!containsZero)
    result.reason = `the slope is significantly ${slope > 0 ? 'above' : 'below'} 0 (${Math.round(o.confidence * 100)} % interval [${fmt(ci95[0])}, ${fmt(ci95[1])}] per epoch)`;
  else if (!small)
    result.reason =
      my !== 0
        ? `|slope| is ${fmt(100 * Math.abs(relativeSlope))} % of the mean per epoch (limit ${fmt(100 * o.maxRelativeSlope)} %)`
        : 'the mean is 0 and the slope is not';
  return result;
}

/** How many of the per-seed curves pass the same criterion. */
export function seedsConverged(curves: readonly (readonly number[])[], options: Partial<ConvergenceOptions> = {}): number {
  return curves.filter((c) => curveConvergence(c, options).converged).length;
}

/** The element-wise mean of equally long curves (one per seed). */
export function meanCurve(curves: readonly (readonly number[])[]): number[] {
  if (curves.length === 0) return [];
  const len = curves[0]!.length;
  if (curves.some((c) => c.length !== len)) throw new RangeError('meanCurve: curves of different lengths');
  return Array.from({ length: len }, (_, e) => curves.reduce((s, c) => s + c[e]!, 0) / curves.length);
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2);
}
