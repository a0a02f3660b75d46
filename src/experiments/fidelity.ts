/**
 * The fidelity gates of the offline instrument (docs/design.md, the offline
 * instrument): computed on every `rliv experiment` run from figures the run
 * measured anyway, reported with their figures and PASS / FAIL. A failed
 * gate does not stop the run; it tells the reader how much the simulator
 * column of Tables 2 and 3 is worth.
 *
 * - G1 calibration: on uniformly random slates the simulator's click rate
 *   is within 15 % of the world's; under the logging policy its click,
 *   long-view and play-time rates are within 10 %.
 * - G2 no exploitation: for every trained model, simulator / world of
 *   session length and of CTR in [0.67, 1.5]; at most 5 % of sessions end
 *   at the request cap, in either environment.
 * - G3 agreement: Spearman of the models' rankings, simulator vs world, at
 *   least 0.8 on session length and on watch time; no pair of models whose
 *   world difference is significant (paired t-test over seeds, p < 0.05) is
 *   ordered the other way by the simulator. The world's own seed-to-seed
 *   rank reliability is reported beside it: the ceiling noise sets.
 *
 * Every function here is pure: the gates can be checked on hand-built figures.
 */
import { holmAdjusted, mean, pairedTTest, spearman } from './statistics.js';

/** Bounds of the gates (the numbers; changing one changes docs/design.md). */
export const FIDELITY_BOUNDS = {
  randomClickRelError: 0.15,
  loggingRelError: 0.1,
  ratioLow: 0.67,
  ratioHigh: 1.5,
  maxCapShare: 0.05,
  minSpearman: 0.8,
  significance: 0.05,
} as const;

/** One measured figure of a gate and whether it is inside its bound. */
export interface FidelityCheck {
  name: string;
  value: number;
  /** The bound as text, e.g. "|rel. error| <= 0.15" or "in [0.67, 1.5]". */
  bound: string;
  pass: boolean;
  detail?: string;
}

export interface FidelityGate {
  id: 'G1' | 'G2' | 'G3';
  title: string;
  pass: boolean;
  checks: FidelityCheck[];
  /** Set when the gate cannot be computed (real logs have no ground truth): why. `pass` is then false and means nothing; reports show "not applicable". */
  notApplicable?: string;
}

/** What one policy did in one environment: pooled per-exposure rates and per-session figures. */
export interface PolicyFigures {
  /** Clicks / exposures, long views / exposures, play seconds / exposure (pooled over sessions). */
  click: number;
  longView: number;
  playTimeS: number;
  /** Mean requests per session, watch seconds per session, per-session CTR. */
  sessionLength: number;
  watchTime: number;
  ctr: number;
  /** Share of sessions that ended at the request cap. */
  capShare: number;
  sessions: number;
}

/** The reference policies, each in the simulator and (when there is one) in the world. */
export type ReferenceFigures = Record<string, { sim: PolicyFigures; world?: PolicyFigures }>;

/** Per model, per seed: the figures the gates need, in the simulator and in the world. */
export interface ModelSeedFigures {
  sim: { sessionLength: number; watchTime: number; ctr: number; capShare: number };
  world: { sessionLength: number; watchTime: number; ctr: number; capShare: number };
}

export interface FidelityInput {
  /** Models in report order. */
  models: string[];
  /** Per model, one entry per seed (same seed order for every model). */
  runs: Record<string, ModelSeedFigures[]>;
  /** Reference policies (names: 'uniform random', 'logging policy', 'click oracle', 'simulator-greedy'). */
  reference: ReferenceFigures;
}

export interface FidelityResults {
  gates: FidelityGate[];
  /** All three gates passed. */
  pass: boolean;
  reference: ReferenceFigures;
  /** The world's seed-to-seed rank reliability per G3 metric: mean Spearman between the models' rankings on two different seeds. */
  worldRankReliability: Record<'sessionLength' | 'watchTime', number>;
  /** The same projected to the mean over the run's seeds ({@link projectedRankReliability}): the noise ceiling of G3's Spearman. Absent in older results. */
  worldRankReliabilityOfMean?: Record<'sessionLength' | 'watchTime', number>;
  /** Extra facts of the instrument (the simulator's pessimism, its pair-count response ...), filled by the runner. */
  instrument?: Record<string, unknown>;
}

const relError = (sim: number, world: number): number => sim / world - 1;

function relCheck(name: string, sim: number, world: number, tolerance: number): FidelityCheck {
  const e = relError(sim, world);
  return {
    name,
    value: e,
    bound: `|sim / world - 1| <= ${tolerance}`,
    pass: Number.isFinite(e) && Math.abs(e) <= tolerance,
    detail: `simulator ${fmt(sim)}, world ${fmt(world)}`,
  };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4)) : String(x);
}

/** G1 from the uniform-random and logging reference policies. */
export function gateCalibration(reference: ReferenceFigures): FidelityGate {
  const checks: FidelityCheck[] = [];
  const random = reference['uniform random'];
  const logging = reference['logging policy'];
  if (random?.world) checks.push(relCheck('uniform random: click rate', random.sim.click, random.world.click, FIDELITY_BOUNDS.randomClickRelError));
  if (logging?.world) {
    checks.push(relCheck('logging policy: click rate', logging.sim.click, logging.world.click, FIDELITY_BOUNDS.loggingRelError));
    checks.push(relCheck('logging policy: long-view rate', logging.sim.longView, logging.world.longView, FIDELITY_BOUNDS.loggingRelError));
    checks.push(relCheck('logging policy: play time per exposure', logging.sim.playTimeS, logging.world.playTimeS, FIDELITY_BOUNDS.loggingRelError));
  }
  return { id: 'G1', title: 'Calibration: random slates and the logging policy', pass: checks.length === 4 && checks.every((c) => c.pass), checks };
}

/** G2 over the trained models (means over seeds). */
export function gateNoExploitation(models: string[], runs: Record<string, ModelSeedFigures[]>): FidelityGate {
  const checks: FidelityCheck[] = [];
  const b = FIDELITY_BOUNDS;
  for (const m of models) {
    const r = runs[m] ?? [];
    if (r.length === 0) continue;
    const avg = (f: (x: ModelSeedFigures) => number) => mean(r.map(f));
    for (const [metric, label] of [
      ['sessionLength', 'session length'],
      ['ctr', 'CTR'],
    ] as const) {
      const sim = avg((x) => x.sim[metric]);
      const world = avg((x) => x.world[metric]);
      const ratio = sim / world;
      checks.push({
        name: `${m}: ${label} sim / world`,
        value: ratio,
        bound: `in [${b.ratioLow}, ${b.ratioHigh}]`,
        pass: ratio >= b.ratioLow && ratio <= b.ratioHigh,
        detail: `simulator ${fmt(sim)}, world ${fmt(world)}`,
      });
    }
    const cap = Math.max(
      avg((x) => x.sim.capShare),
      avg((x) => x.world.capShare),
    );
    checks.push({
      name: `${m}: sessions at the request cap`,
      value: cap,
      bound: `<= ${b.maxCapShare} in both`,
      pass: cap <= b.maxCapShare,
      detail: `simulator ${fmt(avg((x) => x.sim.capShare))}, world ${fmt(avg((x) => x.world.capShare))}`,
    });
  }
  return {
    id: 'G2',
    title: 'No exploitation: trained policies score alike in simulator and world',
    pass: checks.length > 0 && checks.every((c) => c.pass),
    checks,
  };
}

/** A significant world difference the simulator orders the other way ({@link reversedSignificantPairs}). */
export interface ReversedPair {
  a: string;
  b: string;
  /** World mean of a minus b, and its paired t-test's p over seeds. */
  worldDiff: number;
  p: number;
  /** The same p after Holm's correction over every pair of models tested (statistics.ts holmAdjusted), and how many pairs that was. */
  pHolm: number;
  family: number;
  /** Simulator mean of a minus b. */
  simDiff: number;
}

/**
 * Pairs (a, b) whose world difference is significant over seeds (paired t,
 * p < alpha per pair: G3's rule) but whose simulator means are ordered the
 * other way; each with its p after Holm's correction over all the pairs
 * tested, reported beside the gate (docs/design.md §10.4).
 */
export function reversedSignificantPairs(
  models: string[],
  runs: Record<string, ModelSeedFigures[]>,
  metric: 'sessionLength' | 'watchTime',
  alpha: number = FIDELITY_BOUNDS.significance,
): ReversedPair[] {
  const tested: Array<{ a: string; b: string; worldDiff: number; p: number; simDiff: number }> = [];
  for (let i = 0; i < models.length; i++) {
    for (let j = i + 1; j < models.length; j++) {
      const ra = runs[models[i]!]!,
        rb = runs[models[j]!]!;
      if (ra.length < 2 || ra.length !== rb.length) continue;
      const t = pairedTTest(
        ra.map((x) => x.world[metric]),
        rb.map((x) => x.world[metric]),
      );
      const simDiff = mean(ra.map((x) => x.sim[metric])) - mean(rb.map((x) => x.sim[metric]));
      tested.push({ a: models[i]!, b: models[j]!, worldDiff: t.diff, p: t.pValue, simDiff });
    }
  }
  const holm = holmAdjusted(tested.map((t) => t.p));
  return tested
    .map((t, k) => ({ ...t, pHolm: holm[k]!, family: tested.length }))
    .filter((t) => t.p < alpha && Math.sign(t.simDiff) !== Math.sign(t.worldDiff) && t.worldDiff !== 0);
}

/** Mean Spearman between the models' world figures on every pair of seeds. */
export function worldRankReliability(models: string[], runs: Record<string, ModelSeedFigures[]>, metric: 'sessionLength' | 'watchTime'): number {
  const seeds = seedsOf(models, runs);
  const rhos: number[] = [];
  for (let s = 0; s < seeds; s++) {
    for (let t = s + 1; t < seeds; t++)
      rhos.push(
        spearman(
          models.map((m) => runs[m]![s]!.world[metric]),
          models.map((m) => runs[m]![t]!.world[metric]),
        ),
      );
  }
  return rhos.length > 0 ? mean(rhos) : NaN;
}

/**
 * The world's rank reliability projected to the mean of `seeds` seeds
 * (Spearman-Brown: k r / (1 + (k - 1) r) from the single-seed reliability r):
 * about how well two independent k-seed world rankings would agree, so the
 * ceiling that noise sets on G3's Spearman, which compares k-seed means.
 * NaN when r is not finite; r <= 0 stays as it is (noise gives no ceiling).
 */
export function projectedRankReliability(singleSeed: number, seeds: number): number {
  if (!Number.isFinite(singleSeed) || !(seeds >= 1)) return NaN;
  if (singleSeed <= 0) return singleSeed;
  return (seeds * singleSeed) / (1 + (seeds - 1) * singleSeed);
}

/** Seeds every model has (the k of G3's k-seed means). */
function seedsOf(models: string[], runs: Record<string, ModelSeedFigures[]>): number {
  return Math.min(...models.map((m) => runs[m]?.length ?? 0));
}

/** G3: rankings agree. */
export function gateAgreement(models: string[], runs: Record<string, ModelSeedFigures[]>): FidelityGate {
  const checks: FidelityCheck[] = [];
  const k = seedsOf(models, runs);
  for (const [metric, label] of [
    ['sessionLength', 'session length'],
    ['watchTime', 'watch time'],
  ] as const) {
    const sim = models.map((m) => mean(runs[m]!.map((x) => x.sim[metric])));
    const world = models.map((m) => mean(runs[m]!.map((x) => x.world[metric])));
    const rho = models.length >= 3 ? spearman(sim, world) : NaN;
    const r = worldRankReliability(models, runs, metric);
    checks.push({
      name: `Spearman of the models' ${label}, simulator vs world`,
      value: rho,
      bound: `>= ${FIDELITY_BOUNDS.minSpearman}`,
      pass: rho >= FIDELITY_BOUNDS.minSpearman,
      detail: `world seed-to-seed rank reliability ${fmt(r)}; projected to the mean of ${k} seeds ${fmt(projectedRankReliability(r, k))} (the ceiling noise sets)`,
    });
    const reversed = reversedSignificantPairs(models, runs, metric);
    checks.push({
      name: `significant world differences in ${label} the simulator reverses`,
      value: reversed.length,
      bound: '= 0',
      pass: reversed.length === 0,
      detail: reversed.length
        ? reversed.map((r) => `${r.a} vs ${r.b} (world ${fmt(r.worldDiff)}, p = ${r.p.toFixed(3)}; simulator ${fmt(r.simDiff)})`).join('; ') +
          `. Corrected for the ${reversed[0]!.family} pairs tested (Holm, family-wise 5 %; not the gate's rule): ${reversed.filter((r) => r.pHolm < FIDELITY_BOUNDS.significance).length} of them significant (adjusted p ${reversed.map((r) => r.pHolm.toFixed(3)).join(', ')})`
        : undefined,
    });
  }
  return { id: 'G3', title: 'Agreement: the simulator ranks the models as the world does', pass: checks.every((c) => c.pass), checks };
}

/** All three gates. */
export function computeFidelity(input: FidelityInput): FidelityResults {
  const gates = [gateCalibration(input.reference), gateNoExploitation(input.models, input.runs), gateAgreement(input.models, input.runs)];
  const single = {
    sessionLength: worldRankReliability(input.models, input.runs, 'sessionLength'),
    watchTime: worldRankReliability(input.models, input.runs, 'watchTime'),
  };
  const k = seedsOf(input.models, input.runs);
  return {
    gates,
    pass: gates.every((g) => g.pass),
    reference: input.reference,
    worldRankReliability: single,
    worldRankReliabilityOfMean: {
      sessionLength: projectedRankReliability(single.sessionLength, k),
      watchTime: projectedRankReliability(single.watchTime, k),
    },
  };
}
