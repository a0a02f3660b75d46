/**
 * The statistics of the experiment reports: mean, sample standard deviation,
 * Student-t 95 % intervals, the paired and Welch difference tests against
 * RLIV-UA (two-sided p-values), relative deltas of an A/B test with a
 * delta-method interval, and a seeded percentile bootstrap.
 *
 * The Student t distribution is computed from the regularized incomplete
 * beta function (Lentz continued fraction, as in Numerical Recipes §6.4), so
 * no table or library is needed; quantiles invert the CDF by bisection on a
 * bracket, which is exact to ~1e-10 and runs a few hundred times per report.
 *
 * Conventions: fewer than two observations carry no spread, so `std` is 0 and
 * every interval or p-value that needs a spread is NaN (written as null in
 * JSON, "n/a" in reports) rather than a made-up number.
 */
import type { Rng } from '../numeric/rng.js';
import { erfc, logGamma, normalCdf } from '../numeric/special-functions.js';

export { erfc, logGamma, normalCdf };

/** Mean, spread and 95 % interval of a set of per-seed figures. */
export interface Summary {
  /** Arithmetic mean (NaN for no observations). */
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); 0 when n < 2. */
  std: number;
  /** Student-t 95 % confidence interval of the mean; [NaN, NaN] when n < 2. */
  ci95: [number, number];
  /** Number of observations. */
  n: number;
}

/** Result of testing the difference `a - b` of two samples. */
export interface DifferenceTest {
  /** mean(a) - mean(b) (for paired samples: the mean of the differences, the same number). */
  diff: number;
  /** 95 % interval of the difference; [NaN, NaN] when there is no spread to estimate it. */
  ci95: [number, number];
  /** Two-sided p-value of "no difference"; NaN when it cannot be computed. */
  pValue: number;
  /** Which test was used: paired t (same seeds) or Welch's unequal-variance t. */
  test: 'paired' | 'welch';
  /** Degrees of freedom of the t statistic (Welch–Satterthwaite for Welch). */
  df: number;
  /** The t statistic (NaN when undefined). */
  t: number;
}

/** A relative change `treatment / control - 1` with its interval. */
export interface RelativeDelta {
  /** mean(treatment) / mean(control) - 1. */
  delta: number;
  /** Delta-method 95 % interval of `delta` (normal approximation; both samples are large). */
  ci95: [number, number];
  /** Two-sided p-value of "no change" from the same normal approximation. */
  pValue: number;
  /** Mean of the control sample. */
  controlMean: number;
  /** Mean of the treatment sample. */
  treatmentMean: number;
}

/** Throws when a sample holds a non-finite number, naming where. */
function checkFinite(xs: ArrayLike<number>, what: string): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i]!)) throw new RangeError(`${what}: element ${i} is ${xs[i]}, every value must be a finite number`);
  }
}

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}

/** Sample variance (n - 1); 0 for fewer than two values. Two-pass for accuracy. */
export function variance(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - m;
    s += d * d;
  }
  return s / (n - 1);
}

export function std(xs: ArrayLike<number>): number {
  return Math.sqrt(variance(xs));
}

// ---------------------------------------------------------------- special functions

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b), for a, b > 0 and 0 <= x <= 1. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0)) throw new RangeError(`incomplete beta needs a, b > 0, got a=${a}, b=${b}`);
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const front = Math.exp(lnFront);
  // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `df` degrees of freedom (df may be fractional, as in Welch). */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`Student t needs df > 0, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const x = df / (df + t * t);
  const tail = 0.5 * regularizedIncompleteBeta(x, df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/** Two-sided p-value of a t statistic: P(|T| >= |t|). */
export function twoSidedTPValue(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** Quantile of the standard normal (bisection on the CDF). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normal quantile needs 0 < p < 1, got ${p}`);
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200 && hi - lo > 1e-13; i++) {
    const mid = 0.5 * (lo + hi);
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Quantile of Student's t: the t with P(T <= t) = p. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`t quantile needs 0 < p < 1, got ${p}`);
  if (!(df > 0)) throw new RangeError(`t quantile needs df > 0, got ${df}`);
  if (p === 0.5) return 0;
  // Bracket: grow until the CDF straddles p (df = 1 at p = 0.9995 needs ~637).
  let hi = 1;
  const target = p > 0.5 ? p : 1 - p;
  while (studentTCdf(hi, df) < target) {
    hi *= 2;
    if (hi > 1e12) break;
  }
  let lo = 0;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < target) lo = mid;
    else hi = mid;
  }
  const q = 0.5 * (lo + hi);
  return p > 0.5 ? q : -q;
}

// ---------------------------------------------------------------- summaries and tests

/** Mean, std and 95 % t-interval of per-seed figures. */
export function summarize(xs: ArrayLike<number>): Summary {
  checkFinite(xs, 'summarize');
  const n = xs.length;
  const m = mean(xs);
  const s = std(xs);
  if (n < 2) return { mean: m, std: 0, ci95: [NaN, NaN], n };
  const half = studentTQuantile(0.975, n - 1) * (s / Math.sqrt(n));
  return { mean: m, std: s, ci95: [m - half, m + half], n };
}

/**
 * Paired t-test of `a - b` (the samples are matched element by element,
 * e.g. the same seeds of two models). Both must have the same length.
 */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): DifferenceTest {
  if (a.length !== b.length) throw new RangeError(`paired test needs samples of equal length, got ${a.length} and ${b.length}`);
  checkFinite(a, 'paired test, first sample');
  checkFinite(b, 'paired test, second sample');
  const n = a.length;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = a[i]! - b[i]!;
  const diff = mean(d);
  const df = n - 1;
  if (n < 2) return { diff, ci95: [NaN, NaN], pValue: NaN, test: 'paired', df, t: NaN };
  const se = std(d) / Math.sqrt(n);
  if (se === 0) {
    // Identical differences: no noise to test against.
    const p = diff === 0 ? 1 : 0;
    return { diff, ci95: [diff, diff], pValue: p, test: 'paired', df, t: diff === 0 ? 0 : Math.sign(diff) * Infinity };
  }
  const t = diff / se;
  const half = studentTQuantile(0.975, df) * se;
  return { diff, ci95: [diff - half, diff + half], pValue: twoSidedTPValue(t, df), test: 'paired', df, t };
}

/** Welch's unequal-variance t-test of mean(a) - mean(b). */
export function welchTTest(a: ArrayLike<number>, b: ArrayLike<number>): DifferenceTest {
  checkFinite(a, 'Welch test, first sample');
  checkFinite(b, 'Welch test, second sample');
  const na = a.length;
  const nb = b.length;
  const diff = mean(a) - mean(b);
  if (na < 2 || nb < 2) return { diff, ci95: [NaN, NaN], pValue: NaN, test: 'welch', df: NaN, t: NaN };
  const va = variance(a) / na;
  const vb = variance(b) / nb;
  const se2 = va + vb;
  if (se2 === 0) {
    const p = diff === 0 ? 1 : 0;
    return { diff, ci95: [diff, diff], pValue: p, test: 'welch', df: na + nb - 2, t: diff === 0 ? 0 : Math.sign(diff) * Infinity };
  }
  const df = (se2 * se2) / ((va * va) / (na - 1) + (vb * vb) / (nb - 1));
  const se = Math.sqrt(se2);
  const t = diff / se;
  const half = studentTQuantile(0.975, df) * se;
  return { diff, ci95: [diff - half, diff + half], pValue: twoSidedTPValue(t, df), test: 'welch', df, t };
}

/**
 * Difference of a model against a reference: paired when both ran on the
 * same seeds (the same users, candidates and sessions per seed), Welch otherwise.
 */
export function differenceTest(a: ArrayLike<number>, b: ArrayLike<number>, seedsA?: readonly number[], seedsB?: readonly number[]): DifferenceTest {
  const samePairs =
    a.length === b.length && (seedsA === undefined || seedsB === undefined || (seedsA.length === seedsB.length && seedsA.every((s, i) => s === seedsB[i])));
  return samePairs ? pairedTTest(a, b) : welchTTest(a, b);
}

/**
 * Relative change of the treatment mean over the control mean, with a
 * delta-method 95 % interval: Var(T̄/C̄) ≈ Var(T̄)/C̄² + T̄² Var(C̄)/C̄⁴ (the
 * A/B buckets hold hundreds to thousands of users: normal approximation).
 * The p-value is the two-sided normal test of the same statistic,
 * z = delta / se, so the interval excludes 0 exactly when p < 0.05 (a
 * Welch p-value beside a delta-method interval could disagree near the
 * boundary, since the ratio's SE grows with T̄). When the first-order
 * approximation degenerates (e.g. a treatment bucket with no gifts at all
 * has Var(T̄) = 0 and T̄ = 0), Welch's test of the difference of the means
 * gives both: its interval divided by C̄, and its p-value.
 */
export function relativeDelta(treatment: ArrayLike<number>, control: ArrayLike<number>): RelativeDelta {
  checkFinite(treatment, 'relative delta, treatment');
  checkFinite(control, 'relative delta, control');
  if (treatment.length === 0 || control.length === 0) {
    throw new RangeError(`relative delta needs non-empty samples, got ${treatment.length} treatment and ${control.length} control values`);
  }
  const mt = mean(treatment);
  const mc = mean(control);
  if (mc === 0) return { delta: NaN, ci95: [NaN, NaN], pValue: NaN, controlMean: mc, treatmentMean: mt };
  const delta = mt / mc - 1;
  const vt = treatment.length > 1 ? variance(treatment) / treatment.length : 0;
  const vc = control.length > 1 ? variance(control) / control.length : 0;
  const se = Math.sqrt(vt / (mc * mc) + (mt * mt * vc) / (mc * mc * mc * mc));
  if (se > 0 && !(vt === 0 && mt === 0)) {
    const z = normalQuantile(0.975);
    const pValue = 2 * normalCdf(-Math.abs(delta) / se);
    return { delta, ci95: [delta - z * se, delta + z * se], pValue, controlMean: mc, treatmentMean: mt };
  }
  const welch = welchTTest(treatment, control);
  const lo = welch.ci95[0] / mc;
  const hi = welch.ci95[1] / mc;
  return { delta, ci95: mc > 0 ? [lo, hi] : [hi, lo], pValue: welch.pValue, controlMean: mc, treatmentMean: mt };
}

/**
 * Percentile bootstrap interval of a statistic (default: the mean), from
 * `resamples` resamples with replacement drawn by `rng`.
 */
export function bootstrapInterval(
  xs: ArrayLike<number>,
  rng: Rng,
  resamples = 2000,
  level = 0.95,
  statistic: (sample: Float64Array) => number = mean,
): [number, number] {
  checkFinite(xs, 'bootstrap');
  const n = xs.length;
  if (n === 0) throw new RangeError('bootstrap needs at least one value');
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap level must be in (0, 1), got ${level}`);
  const stats = new Float64Array(resamples);
  const sample = new Float64Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = xs[rng.int(n)]!;
    stats[r] = statistic(sample);
  }
  stats.sort();
  const alpha = (1 - level) / 2;
  return [quantileSorted(stats, alpha), quantileSorted(stats, 1 - alpha)];
}

/** Linear-interpolated quantile (type 7, as R and numpy) of an ascending array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Holm's step-down adjusted p-values (Holm 1979), in the input's order: with
 * the m p-values sorted ascending, p_(i) becomes max over j <= i of
 * min(1, (m - j + 1) p_(j)). Rejecting where the adjusted p < alpha keeps
 * the family-wise error rate of the m tests at alpha. NaN p-values (tests
 * that could not be computed) stay NaN and do not count in m.
 */
export function holmAdjusted(pValues: readonly number[]): number[] {
  const idx = pValues.map((p, i) => [p, i] as const).filter(([p]) => !Number.isNaN(p));
  for (const [p, i] of idx) if (!(p >= 0 && p <= 1)) throw new RangeError(`p-value ${i} must be in [0, 1], got ${p}`);
  idx.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const m = idx.length;
  const out = pValues.map(() => NaN);
  let running = 0;
  idx.forEach(([p, i], k) => {
    running = Math.max(running, Math.min(1, (m - k) * p));
    out[i] = running;
  });
  return out;
}

/** Spearman rank correlation (average ranks for ties). */
export function spearman(a: number[], b: number[]): number {
  const rank = (xs: number[]) => {
    const idx = xs.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(xs.length);
    for (let i = 0; i < idx.length;) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
      for (let k = i; k <= j; k++) r[idx[k]![1]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const n = a.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n;
  const mb = rb.reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return da === 0 || db === 0 ? NaN : num / Math.sqrt(da * db);
}
