/**
 * The cross-session return model: after a session, the gap in days to the
 * user's next session is 1 + Geometric(p) (p = chance of coming back on any
 * given day), with
 *
 *   p = sigmoid(intercept + activityWeight * activity
 *               + satisfactionWeight * (satisfaction - satisfactionRef)
 *               + deepPairWeight * log1p(deep pairs of the user)
 *               + followWeight * log1p(authors the user follows)),
 *
 * so a satisfying session and deep user-author relationships (a follow and
 * gifts on >= 2 days; follows alone count less) make the user come back
 * sooner: the stickiness the paper's weekly-retention metric measures. The
 * defaults are the world config's (`returnGap`), which put about KuaiRand's
 * 61.7 % next-day return at typical satisfaction.
 */
import type { Rng } from '../numeric/rng.js';

export interface ReturnModelOptions {
  /** Daily-return logit of a user with activity 0, reference satisfaction, no follows. Default -0.5. */
  intercept: number;
  /** Logit change per unit of activity (0..1). Default 1.5. */
  activityWeight: number;
  /** Logit change per unit of mean per-request satisfaction above the reference. Default 2. */
  satisfactionWeight: number;
  /** Mean per-request satisfaction (quit-model units) taken as neutral. Default 0.5. */
  satisfactionRef: number;
  /** Logit change per log1p(deep pairs). Default 0.5. */
  deepPairWeight: number;
  /** Logit change per log1p(followed authors). Default 0.3. */
  followWeight: number;
  /** Longest gap drawn (days); longer draws are capped. Default 60. */
  maxGapDays: number;
}

export const DEFAULT_RETURN_OPTIONS: ReturnModelOptions = {
  intercept: -0.5,
  activityWeight: 1.5,
  satisfactionWeight: 2,
  satisfactionRef: 0.5,
  deepPairWeight: 0.5,
  followWeight: 0.3,
  maxGapDays: 60,
};

export class ReturnModel {
  readonly options: ReturnModelOptions;

  constructor(options: Partial<ReturnModelOptions> = {}) {
    const o = { ...DEFAULT_RETURN_OPTIONS, ...options };
    for (const [key, value] of Object.entries(o)) {
      if (!Number.isFinite(value)) throw new RangeError(`return model option ${key} must be finite, got ${value}`);
    }
    if (!Number.isInteger(o.maxGapDays) || o.maxGapDays < 1) throw new RangeError(`return model maxGapDays must be a positive integer, got ${o.maxGapDays}`);
    this.options = o;
  }

  /** Daily return probability p. */
  dailyReturnProbability(satisfaction: number, deepPairs: number, follows: number, activity: number): number {
    const o = this.options;
    const logit =
      o.intercept +
      o.activityWeight * activity +
      o.satisfactionWeight * (satisfaction - o.satisfactionRef) +
      o.deepPairWeight * Math.log1p(deepPairs) +
      o.followWeight * Math.log1p(follows);
    return 1 / (1 + Math.exp(-logit));
  }

  /** Draws the gap in days (>= 1). */
  sampleGapDays(satisfaction: number, deepPairs: number, follows: number, activity: number, rng: Rng): number {
    const p = Math.min(1 - 1e-9, Math.max(1e-6, this.dailyReturnProbability(satisfaction, deepPairs, follows, activity)));
    const u = 1 - rng.uniform(); // (0, 1]
    const failures = Math.floor(Math.log(u) / Math.log(1 - p));
    return Math.min(this.options.maxGapDays, 1 + failures);
  }
}
