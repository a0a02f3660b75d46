/**
 * Calibration of the ground-truth world to KuaiRand-Pure: each head's
 * intercept is FITTED by bisection until the logging policy, run in the
 * environment over the world, reproduces the rate KuaiRand-Pure's standard
 * log shows (docs/design.md §5.4). The world's own config object is adjusted in
 * place (`world.config.<head>.intercept`), so the world the caller holds is
 * the calibrated one.
 *
 * Heads are fitted one after the other (click first: every other head is
 * conditioned on it), for `rounds` rounds, because heads interact through
 * familiarity and session length. Every evaluation reruns the same users,
 * days and seeds (common random numbers), so the measured rate moves
 * monotonically with the intercept and bisection is stable. long_view has no
 * intercept of its own (KuaiRand derives it from play time): with the mean
 * play time fixed by the watch intercept, it is fitted on the spread of the
 * watch ratio (`watch.noise`, bisected as its negative so the rate rises
 * with the parameter; clamped to [0.05, 2]). The next-day return share (61.7 %) is fitted on the return
 * model's intercept.
 */
import { PAIR_COUNT_DIM as PAIR_COUNT_DIM_, PC_FOLLOW as PC_FOLLOW_ } from '../data/interaction-kinds.js';
import type { Catalog } from '../world/catalog.js';
import type { GroundTruthWorld } from '../world/ground-truth-world.js';
import type { WorldConfig } from '../world/world-config.js';
import { Environment, type EnvironmentOptions } from './environment.js';
import { isRandomRequest } from './slate-policy.js';
import type { SlatePolicy } from './slate-policy.js';
import type { SessionTrace } from './trace.js';
import { sessionOptionsFromWorld } from './world-session-options.js';

const PAIR_COUNT_DIM = PAIR_COUNT_DIM_;
const PC_FOLLOW = PC_FOLLOW_;

/** KuaiRand-Pure standard-log rates (docs/design.md §5.2), keyed as in calibration.json. */
export const KUAIRAND_PURE_RATES = {
  click: 0.46,
  long_view: 0.332,
  like: 0.0185,
  comment: 0.0026,
  follow: 0.0011,
  play_time_s: 15.7,
} as const;
export type RateKey = keyof typeof KUAIRAND_PURE_RATES;
/**
 * KuaiRand-Pure random-log rates (`log_random_*`: uniformly random items
 * inserted in users' feeds; DESIGN §4 of docs/design.md), the targets of
 * requests served uniformly at random. Calibrated within
 * {@link RANDOM_CALIBRATION_TOLERANCE}.
 */
export const KUAIRAND_PURE_RANDOM_RATES = {
  click: 0.176,
  long_view: 0.085,
  like: 0.0048,
} as const;
export type RandomRateKey = keyof typeof KUAIRAND_PURE_RANDOM_RATES;
export const RANDOM_RATE_KEYS = Object.keys(KUAIRAND_PURE_RANDOM_RATES) as RandomRateKey[];
/** Relative tolerance of the random-log rates (they are measured on fewer, less engaging exposures). */
export const RANDOM_CALIBRATION_TOLERANCE = 0.2;
export const RATE_KEYS = Object.keys(KUAIRAND_PURE_RATES) as RateKey[];
/** KuaiRand-Pure: share of users who come back the next day. */
export const KUAIRAND_NEXT_DAY_RETURN = 0.617;
/** Relative tolerance every calibrated rate must meet. */
export const CALIBRATION_TOLERANCE = 0.2;

/** Rates measured on a set of sessions. */
export interface MeasuredRates {
  click: number;
  long_view: number;
  like: number;
  comment: number;
  follow: number;
  play_time_s: number;
  /** Exposures the rates are over. */
  exposures: number;
  /** Share of random (is_rand) exposures. */
  is_rand: number;
  /** P(click | the author is already followed). */
  click_given_follow: number;
  /** Share of sessions followed by a session the next day. */
  next_day_return: number;
  /** The same rates on the requests served uniformly at random (the random log); NaN when there were none. */
  random: { click: number; long_view: number; like: number; play_time_s: number; exposures: number };
}

/** Accumulates the calibration rates over sessions (streaming). */
export class RateAccumulator {
  private n = 0;
  private sums = { click: 0, long_view: 0, like: 0, comment: 0, follow: 0, play: 0, rand: 0 };
  private followed = 0;
  private followedClicks = 0;
  private sessions = 0;
  private nextDay = 0;
  private randomSums = { n: 0, click: 0, long_view: 0, like: 0, play: 0 };

  /** Adds a session: its standard-log exposures to the main rates, its random-log requests to `random` (KuaiRand reports them apart). */
  add(t: SessionTrace): void {
    this.sessions++;
    if (t.returnGapDays === 1) this.nextDay++;
    for (const r of t.requests) {
      const s = r.responses;
      if (isRandomRequest(r.isRand)) {
        const z = this.randomSums;
        for (let p = 0; p < r.slate.length; p++) {
          z.n++;
          z.click += s.click[p]!;
          z.long_view += s.longView[p]!;
          z.like += s.like[p]!;
          z.play += s.playTimeMs[p]!;
        }
        continue;
      }
      for (let p = 0; p < r.slate.length; p++) {
        this.n++;
        this.sums.click += s.click[p]!;
        this.sums.long_view += s.longView[p]!;
        this.sums.like += s.like[p]!;
        this.sums.comment += s.comment[p]!;
        this.sums.follow += s.follow[p]!;
        this.sums.play += s.playTimeMs[p]!;
        this.sums.rand += r.isRand ? r.isRand[p]! : 0;
        if (r.candidatePairCounts[r.slate[p]! * PAIR_COUNT_DIM + PC_FOLLOW]! > 0) {
          this.followed++;
          this.followedClicks += s.click[p]!;
        }
      }
    }
  }

  rates(): MeasuredRates {
    const n = Math.max(1, this.n);
    return {
      click: this.sums.click / n,
      long_view: this.sums.long_view / n,
      like: this.sums.like / n,
      comment: this.sums.comment / n,
      follow: this.sums.follow / n,
      play_time_s: this.sums.play / n / 1000,
      exposures: this.n,
      is_rand: this.sums.rand / n,
      click_given_follow: this.followed > 0 ? this.followedClicks / this.followed : NaN,
      next_day_return: this.sessions > 0 ? this.nextDay / this.sessions : NaN,
      random: (() => {
        const z = this.randomSums;
        const m = z.n > 0 ? 1 / z.n : NaN;
        return { click: z.click * m, long_view: z.long_view * m, like: z.like * m, play_time_s: (z.play * m) / 1000, exposures: z.n };
      })(),
    };
  }
}

export interface CalibrationOptions {
  /** Users whose sessions are simulated per evaluation (the first ones of the catalog). Default min(numUsers, 500). */
  users: number;
  /** Calendar days per evaluation: the rates are measured on these. Default 2. */
  days: number;
  /**
   * Days of unmeasured traffic before them, so the rates are those of users
   * with a history, as the logs' are (the world's warm-up, docs/design.md
   * §5.5). Default 0.
   */
  warmUpDays: number;
  /** Environment options of the evaluation runs (seed, candidates, ...); quit/return come from the world config. */
  environment: Partial<EnvironmentOptions>;
  /** Fresh logging policy per evaluation (same seed each time: common random numbers). */
  policy: () => SlatePolicy;
  /** Passes over the heads. Default 2. */
  rounds: number;
  /** Bisection steps per head and round at most. Default 14. */
  maxSteps: number;
  /** Stop a head's bisection once within this relative error. Default 0.02. */
  tolerance: number;
  /** Final single steps on the worst head until the last run has every rate within polishTolerance. Default 8. */
  maxPolish: number;
  /** Relative error the final run should meet on every fitted rate. Default 0.1. */
  polishTolerance: number;
  /** Progress callback: head, step, intercept, measured value. */
  onStep?: (head: string, step: number, intercept: number, value: number) => void;
}

/** What a calibration did. */
export interface CalibrationResult {
  /** Rates of the final evaluation run. */
  rates: MeasuredRates;
  /** The fitted intercepts. */
  intercepts: Record<string, number>;
  /** Environment runs made. */
  evaluations: number;
}

interface FittedHead {
  name: string;
  target: number;
  /** Estimated intercept change that moves the measured value to the target (for the first probe). */
  shift: (target: number, value: number) => number;
  measure: (r: MeasuredRates) => number;
  get: (c: WorldConfig) => number;
  set: (c: WorldConfig, v: number) => void;
  /** A head re-fitted at every probe of this one (its rates are what this head measures). */
  inner?: string;
}

function logitShift(target: number, value: number): number {
  const c = (p: number) => Math.min(1 - 1e-6, Math.max(1e-6, p));
  const logit = (p: number) => Math.log(c(p) / (1 - c(p)));
  return logit(target) - logit(value);
}

const HEADS: FittedHead[] = [
  // Returns first: they decide which sessions exist, which every other rate is measured on.
  {
    name: 'return (next_day_return)',
    target: KUAIRAND_NEXT_DAY_RETURN,
    shift: logitShift,
    measure: (r) => r.next_day_return,
    get: (c) => c.returnGap.intercept,
    set: (c, v) => {
      c.returnGap.intercept = v;
    },
  },
  // The affinity scale s sets how much better than chance a ranker over affinity does: KuaiRand's
  // random log clicks 0.176 where its standard log clicks 0.460. s is bisected on the random-log
  // click rate with the click intercept re-fitted to the standard rate at every probe (`inner`):
  // at a calibrated standard rate, the random rate falls as s rises (bisected on -s). Skipped when
  // the policy serves no random requests; never polished (each probe is a whole click fit).
  {
    name: 'affinity scale (random-log click)',
    target: KUAIRAND_PURE_RANDOM_RATES.click,
    shift: (t, v) => 0.5 * logitShift(t, v),
    measure: (r) => r.random.click,
    get: (c) => -c.affinityScale,
    set: (c, v) => {
      c.affinityScale = Math.max(0.05, -v);
    },
    inner: 'click',
  },
  {
    name: 'click',
    target: KUAIRAND_PURE_RATES.click,
    shift: logitShift,
    measure: (r) => r.click,
    get: (c) => c.click.intercept,
    set: (c, v) => {
      c.click.intercept = v;
    },
  },
  {
    name: 'watch (play_time_s)',
    target: KUAIRAND_PURE_RATES.play_time_s,
    shift: (t, v) => 2 * Math.log(t / Math.max(v, 1e-3)),
    measure: (r) => r.play_time_s,
    get: (c) => c.watch.intercept,
    set: (c, v) => {
      c.watch.intercept = v;
    },
  },
  // long_view has no intercept (KuaiRand derives it from play time): at a fixed mean play time, a wider
  // spread of the watch ratio puts fewer plays past 18 s. Bisected on -noise so the rate rises with it.
  {
    name: 'watch noise (long_view)',
    target: KUAIRAND_PURE_RATES.long_view,
    shift: (t, v) => 0.5 * logitShift(t, v),
    measure: (r) => r.long_view,
    get: (c) => -c.watch.noise,
    set: (c, v) => {
      c.watch.noise = Math.min(2, Math.max(0.05, -v));
    },
  },
  {
    name: 'like',
    target: KUAIRAND_PURE_RATES.like,
    shift: logitShift,
    measure: (r) => r.like,
    get: (c) => c.like.intercept,
    set: (c, v) => {
      c.like.intercept = v;
    },
  },
  {
    name: 'comment',
    target: KUAIRAND_PURE_RATES.comment,
    shift: logitShift,
    measure: (r) => r.comment,
    get: (c) => c.comment.intercept,
    set: (c, v) => {
      c.comment.intercept = v;
    },
  },
  {
    name: 'follow',
    target: KUAIRAND_PURE_RATES.follow,
    shift: logitShift,
    measure: (r) => r.follow,
    get: (c) => c.follow.intercept,
    set: (c, v) => {
      c.follow.intercept = v;
    },
  },
];

/** Runs the logging policy over `world` for the calibration users and days; returns the rates. */
export function measureRates(
  catalog: Catalog,
  world: GroundTruthWorld,
  o: Pick<CalibrationOptions, 'users' | 'days' | 'environment' | 'policy'> & Partial<Pick<CalibrationOptions, 'warmUpDays'>>,
): MeasuredRates {
  const env = new Environment(catalog, world, { ...o.environment, ...sessionOptionsFromWorld(world.config) });
  const acc = new RateAccumulator();
  const users = Int32Array.from({ length: Math.min(o.users, catalog.numUsers) }, (_, i) => i);
  const policy = o.policy();
  // The warm-up and the measured days are one calendar of one environment and one policy: the measured users have its history.
  env.runDays(o.warmUpDays ?? 0, policy, undefined, users);
  env.runDays(o.days, policy, (t) => acc.add(t), users);
  return acc.rates();
}

/**
 * Fits the world's head intercepts (in place) so the logging policy
 * reproduces KuaiRand-Pure's rates; see the file comment.
 */
export function calibrateWorld(
  catalog: Catalog,
  world: GroundTruthWorld,
  options: Partial<CalibrationOptions> & Pick<CalibrationOptions, 'policy'>,
): CalibrationResult {
  const o: CalibrationOptions = {
    users: options.users ?? Math.min(catalog.numUsers, 500),
    days: options.days ?? 2,
    warmUpDays: options.warmUpDays ?? 0,
    environment: options.environment ?? {},
    policy: options.policy,
    rounds: options.rounds ?? 2,
    maxSteps: options.maxSteps ?? 14,
    tolerance: options.tolerance ?? 0.02,
    maxPolish: options.maxPolish ?? 8,
    polishTolerance: options.polishTolerance ?? 0.1,
    onStep: options.onStep,
  };
  const config = world.config as WorldConfig; // the world's own (mutable) copy
  let evaluations = 0;
  const evaluate = (): MeasuredRates => {
    evaluations++;
    return measureRates(catalog, world, o);
  };
  let lastRates: MeasuredRates | null = null;
  const evaluateFor = (head: FittedHead): MeasuredRates => {
    if (!head.inner) return (lastRates = evaluate());
    fitHead(HEADS.find((h) => h.name === head.inner)!);
    return lastRates!;
  };
  const fitHead = (head: FittedHead): void => {
    let x = head.get(config);
    let value = head.measure(evaluateFor(head));
    o.onStep?.(head.name, 0, x, value);
    if (Number.isNaN(value)) return; // e.g. the random-log click under a policy that serves no random requests
    if (Math.abs(value / head.target - 1) <= o.tolerance) return;
    // First probe: the shift that would close the gap if the rate were a
    // logistic function of the intercept; keep stepping until the target
    // is bracketed, then bisect.
    const up = value < head.target; // rates rise with their intercept
    let lo = x;
    let hi = x;
    let bracketed = false;
    for (let widen = 0; widen < 8 && !bracketed; widen++) {
      const shift = Math.min(4, Math.max(0.05, Math.abs(head.shift(head.target, value)))) * (widen + 1);
      const probe = up ? hi + shift : lo - shift;
      head.set(config, probe);
      const v = head.measure(evaluateFor(head));
      o.onStep?.(head.name, 0, probe, v);
      if (Math.abs(v / head.target - 1) <= o.tolerance) {
        x = probe;
        value = v;
        break;
      }
      if (up) {
        if (v >= head.target) {
          hi = probe;
          bracketed = true;
        } else {
          lo = probe;
          hi = probe;
          value = v;
        }
      } else if (v <= head.target) {
        lo = probe;
        bracketed = true;
      } else {
        lo = probe;
        hi = probe;
        value = v;
      }
    }
    if (bracketed) {
      for (let step = 1; step <= o.maxSteps; step++) {
        x = (lo + hi) / 2;
        head.set(config, x);
        value = head.measure(evaluateFor(head));
        o.onStep?.(head.name, step, x, value);
        if (Math.abs(value / head.target - 1) <= o.tolerance) break;
        if (value < head.target) lo = x;
        else hi = x;
      }
    }
    head.set(config, x);
  };
  for (let round = 0; round < o.rounds; round++) for (const head of HEADS) fitHead(head);
  // Polish: any change reshuffles which sessions happen (and so the random
  // numbers each exposure draws), so at small scales rare rates move by
  // their sampling noise between runs. Until the LAST run — the one the
  // caller reproduces — has every rate within polishTolerance, take one
  // logistic step on the worst head.
  let rates = evaluate();
  for (let polish = 0; polish < o.maxPolish; polish++) {
    let worst: FittedHead | null = null;
    let worstErr = 0;
    for (const h of HEADS) {
      const m = h.measure(rates);
      if (Number.isNaN(m) || h.inner) continue;
      const err = Math.abs(Math.log(Math.max(m, 1e-9) / h.target));
      if (err > worstErr) {
        worst = h;
        worstErr = err;
      }
    }
    if (!worst || worstErr <= Math.log(1 + o.polishTolerance)) break;
    const v = worst.measure(rates);
    worst.set(config, worst.get(config) + Math.max(-2, Math.min(2, worst.shift(worst.target, v))));
    o.onStep?.(`${worst.name} (polish)`, 0, worst.get(config), v);
    rates = evaluate();
  }
  const intercepts: Record<string, number> = {};
  for (const h of HEADS) intercepts[h.name] = h.get(config);
  return { rates, intercepts, evaluations };
}

/** The calibration table as text lines (for stderr). */
export function calibrationTable(rates: MeasuredRates): string[] {
  const lines = ['rate              generated    KuaiRand-Pure   rel.err'];
  for (const k of RATE_KEYS) {
    const g = rates[k];
    const t = KUAIRAND_PURE_RATES[k];
    const err = g / t - 1;
    lines.push(
      `${k.padEnd(16)}  ${fmt(g).padStart(9)}    ${fmt(t).padStart(9)}       ${(err >= 0 ? '+' : '') + (err * 100).toFixed(1)}%${Math.abs(err) <= CALIBRATION_TOLERANCE ? '' : '  OUT OF TOLERANCE'}`,
    );
  }
  if (rates.random.exposures > 0) {
    lines.push(`random log (${rates.random.exposures} exposures served uniformly at random):`);
    for (const k of RANDOM_RATE_KEYS) {
      const g = rates.random[k];
      const t = KUAIRAND_PURE_RANDOM_RATES[k];
      const err = g / t - 1;
      lines.push(
        `${('random ' + k).padEnd(16)}  ${fmt(g).padStart(9)}    ${fmt(t).padStart(9)}       ${(err >= 0 ? '+' : '') + (err * 100).toFixed(1)}%${Math.abs(err) <= RANDOM_CALIBRATION_TOLERANCE ? '' : '  OUT OF TOLERANCE'}`,
      );
    }
  }
  lines.push(`is_rand share     ${fmt(rates.is_rand).padStart(9)}    ${fmt(0.0037).padStart(9)}`);
  lines.push(`P(click|follow)   ${fmt(rates.click_given_follow).padStart(9)}    ${fmt(0.89).padStart(9)}`);
  lines.push(`next-day return   ${fmt(rates.next_day_return).padStart(9)}    ${fmt(KUAIRAND_NEXT_DAY_RETURN).padStart(9)}`);
  return lines;
}

function fmt(x: number): string {
  return x >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

/**
 * calibration.json's shape: {"rates": {"click": {"generated": ..., "kuairand": 0.46}, ...},
 * "randomRates": {"click": {"generated": ..., "kuairand": 0.176}, ...}} (the second table when
 * random requests were served).
 */
export function calibrationJson(rates: MeasuredRates, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, { generated: number; kuairand: number }> = {};
  for (const k of RATE_KEYS) out[k] = { generated: rates[k], kuairand: KUAIRAND_PURE_RATES[k] };
  const random: Record<string, { generated: number; kuairand: number }> = {};
  for (const k of RANDOM_RATE_KEYS) random[k] = { generated: rates.random[k], kuairand: KUAIRAND_PURE_RANDOM_RATES[k] };
  return {
    rates: out,
    ...(rates.random.exposures > 0 ? { randomRates: random, randomExposures: rates.random.exposures, randomTolerance: RANDOM_CALIBRATION_TOLERANCE } : {}),
    ...extra,
  };
}

/** True when every random-log rate is within {@link RANDOM_CALIBRATION_TOLERANCE} (false when no random requests were served). */
export function randomRatesWithinTolerance(rates: MeasuredRates): boolean {
  return (
    rates.random.exposures > 0 && RANDOM_RATE_KEYS.every((k) => Math.abs(rates.random[k] / KUAIRAND_PURE_RANDOM_RATES[k] - 1) <= RANDOM_CALIBRATION_TOLERANCE)
  );
}
