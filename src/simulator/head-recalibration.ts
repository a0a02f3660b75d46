/**
 * Calibration in the large of a fitted simulator's binary heads
 * (docs/design.md §10.2): for each head, the shift delta of its logit at
 * which the mean predicted probability over the member's own training rows
 * of that head (the rows its loss reads: click and hate on every exposure,
 * long view, like, follow, comment, forward and gift on clicks, as
 * simulator-training.ts conditions them) equals their observed rate,
 *
 *   sum_r sigmoid(z_r + delta) = sum_r y_r,
 *
 * the click head once per log source (the standard log's rows, the random
 * log's rows), since each source has its own click-logit offsets.
 *
 * Why: a logistic model with an intercept fitted to its optimum has this
 * property on its training rows; a member stopped after a few epochs of
 * Adam does not, and its rare heads least. Measured on the quick preset's
 * default world: single members missed their own logs' click rate by -6 %
 * to +3 % (held-out standard log) depending on seed and epochs; the
 * five-member mean predicted click 0.447 where the held-out standard log
 * had 0.466, like 0.0145 for 0.0191 and follow 0.00083 for 0.00119. A
 * follow raises every later click of the pair in the world (its largest
 * familiarity term), so too few simulated follows compound over rounds.
 * The shift restores the property exactly and leaves every relative
 * effect (user, item, pair counts, fatigue) as fitted.
 *
 * The play-time heads (log1p seconds per outcome class, a Gaussian with a
 * fitted spread, clamped to the class's interval when sampled) get the
 * same property for their draws: {@link playShift}.
 *
 * Pure: checkable on hand-built logits.
 */
import { normalCdf } from '../numeric/special-functions.js';

/**
 * delta with sum_r sigmoid(logits[r] + delta) = positives (Newton's method from
 * 0, safeguarded by bisection; the left side rises monotonically in delta).
 * Throws unless 0 < positives < n: rows all 1 or all 0 have no finite
 * shift.
 */
export function interceptShift(logits: ArrayLike<number>, n: number, positives: number): number {
  if (!(Number.isInteger(n) && n > 0 && n <= logits.length)) throw new RangeError(`interceptShift needs 1..${logits.length} rows, got ${n}`);
  if (!(positives > 0 && positives < n))
    throw new RangeError(`interceptShift needs a count of 1-labels strictly between 0 and the ${n} rows, got ${positives}`);
  for (let r = 0; r < n; r++) if (!Number.isFinite(logits[r]!)) throw new RangeError(`logit of row ${r} must be finite, got ${logits[r]}`);
  return monotoneRoot(-30, 30, 1e-9 * n, (d) => {
    let s = 0,
      ds = 0;
    for (let r = 0; r < n; r++) {
      const p = 1 / (1 + Math.exp(-(logits[r]! + d)));
      s += p;
      ds += p * (1 - p);
    }
    return { value: s - positives, slope: ds };
  });
}

/**
 * The root in (lower, upper) of f, which rises monotonically: Newton's method
 * from 0, each step kept inside the bracket the signs so far leave (else
 * bisection), until |f| < tol or 100 steps.
 */
function monotoneRoot(lower: number, upper: number, tol: number, f: (d: number) => { value: number; slope: number }): number {
  let d = 0;
  for (let it = 0; it < 100; it++) {
    const { value, slope } = f(d);
    if (Math.abs(value) < tol) break;
    if (value > 0) upper = d;
    else lower = d;
    const newton = d - value / slope;
    d = slope > 0 && newton > lower && newton < upper ? newton : (lower + upper) / 2;
  }
  return d;
}

/**
 * Mean of the simulator's play-time draw, clamp(1000 expm1(m + sigma Z), lo, hi)
 * in ms with Z standard normal (learned-simulator.ts samples play so, in its
 * class's interval [lo, hi]), and its derivative in m. With a = log1p(lo/1000),
 * b = log1p(hi/1000), alpha = (a - m)/sigma, beta = (b - m)/sigma:
 *
 *   E = lo Phi(alpha) + hi (1 - Phi(beta))
 *       + 1000 [e^(m + sigma^2/2) (Phi(beta - sigma) - Phi(alpha - sigma)) - (Phi(beta) - Phi(alpha))]
 *   dE/dm = 1000 e^(m + sigma^2/2) (Phi(beta - sigma) - Phi(alpha - sigma))
 *
 * (the draw moves with m only where it is not clamped). Rounding to whole ms is ignored.
 */
export function clampedPlayMean(m: number, sigma: number, loMs: number, hiMs: number): { mean: number; slope: number } {
  if (loMs >= hiMs) return { mean: loMs, slope: 0 };
  const a = Math.log1p(loMs / 1000);
  const b = Math.log1p(hiMs / 1000);
  const alpha = (a - m) / sigma;
  const beta = (b - m) / sigma;
  const pa = normalCdf(alpha),
    pb = normalCdf(beta);
  const inside = Math.exp(m + (sigma * sigma) / 2) * (normalCdf(beta - sigma) - normalCdf(alpha - sigma));
  return { mean: loMs * pa + hiMs * (1 - pb) + 1000 * (inside - (pb - pa)), slope: 1000 * inside };
}

/**
 * delta with sum_r clampedPlayMean(mu[r] + delta, sigma, lo[r], hi[r]) =
 * totalMs: the shift of a play class's log1p(seconds) mean at which the
 * simulator's draws over the class's training rows have their observed mean
 * (calibration in the large of a regression head). Newton from 0 with a
 * bisection guard in [-10, 10] (the left side rises in delta). Throws on
 * bad input, or when no shift reaches the target (it lies outside what the
 * rows' intervals allow).
 */
export function playShift(mu: ArrayLike<number>, lo: ArrayLike<number>, hi: ArrayLike<number>, n: number, sigma: number, totalMs: number): number {
  if (!(Number.isInteger(n) && n > 0 && n <= mu.length && n <= lo.length && n <= hi.length))
    throw new RangeError(`playShift needs 1..${Math.min(mu.length, lo.length, hi.length)} rows, got ${n}`);
  if (!(sigma > 0 && Number.isFinite(sigma))) throw new RangeError(`playShift needs a positive finite sigma, got ${sigma}`);
  if (!Number.isFinite(totalMs)) throw new RangeError(`playShift needs a finite total play, got ${totalMs}`);
  let minTotal = 0,
    maxTotal = 0;
  for (let r = 0; r < n; r++) {
    if (!Number.isFinite(mu[r]!)) throw new RangeError(`play mean of row ${r} must be finite, got ${mu[r]}`);
    if (!(lo[r]! >= 0 && hi[r]! >= lo[r]! && Number.isFinite(hi[r]!))) throw new RangeError(`row ${r} has the play interval [${lo[r]}, ${hi[r]}]`);
    minTotal += lo[r]!;
    maxTotal += hi[r]!;
  }
  if (!(totalMs > minTotal && totalMs < maxTotal))
    throw new RangeError(`playShift: a total play of ${totalMs} ms is outside what the rows' intervals allow (${minTotal}, ${maxTotal})`);
  return monotoneRoot(-10, 10, 1e-9 * totalMs, (d) => {
    let s = 0,
      ds = 0;
    for (let r = 0; r < n; r++) {
      const e = clampedPlayMean(mu[r]! + d, sigma, lo[r]!, hi[r]!);
      s += e.mean;
      ds += e.slope;
    }
    return { value: s - totalMs, slope: ds };
  });
}
