/**
 * A simulated online A/B test as the paper deploys RLIV-UA (§4.4, Fig. 4:
 * Tables 4 and 5, Fig. 6) in the ground-truth world: the LIV is fused into
 * the production ranking score (src/agents/score-fusion.ts), it does not
 * replace it.
 *
 *   1. Calibrate the world to KuaiRand-Pure as the offline experiment does,
 *      then pre-train every model once with the generic training loop in the
 *      world (the "production logs" before the test): the RankingModel (the
 *      production ranking model and the control) and each treatment's
 *      RLIV-UA variant.
 *   2. Each test (revenue: the three RLIV-UA variants ranked with follow +
 *      gift LIV, Table 4; watch time: RLIV-UA ranked with watch-time LIV,
 *      Table 5) runs once per bucket seed, from copies of the pre-trained
 *      models, in a fresh environment: users are split into persistent
 *      buckets (a seeded shuffle, equal sizes), one arm per bucket.
 *   3. Pre-period (`preDays`, before the reported weeks): every bucket is
 *      served by the production ranking (its own copy of the RankingModel,
 *      the control's for the control bucket) while every model learns online
 *      from its bucket. At its end each fused arm's weight is chosen by the
 *      rule of chooseFusionWeight on a seeded sample of its own bucket's
 *      pre-period requests, with the arm's models as they are then: the
 *      largest grid weight whose top K keeps >= 97 % of the RankingModel's
 *      predicted click rate. Nothing of the reported weeks exists yet.
 *   4. The reported weeks: the control bucket sees the RankingModel; a fused
 *      arm's bucket sees base + w * sd(base) * z(LIV); a LIV-only arm (an
 *      option, reported as such) sees the LIV alone. Every day each arm
 *      serves its bucket (with the final exploration of the training
 *      schedule, the same for every arm), then its models observe the day's
 *      sessions of the bucket and train (online learning, as in production).
 *   5. Per-user outcomes of the reported weeks -> relative deltas of each
 *      treatment over the control: with a delta-method 95 % interval over
 *      users (every seed's users pooled), per seed, and as the mean of the
 *      per-seed deltas with a Student-t 95 % interval over the bucket seeds.
 *      UA count (deep pairs formed), weekly gifted users, total revenue, new
 *      fans (Table 4); watch time, app usage time, weekly retention (Table 5).
 *   6. Fig. 6, on the revenue test's arms: for the user-author pairs of each
 *      arm's bucket that received gifts, the model's gift-tower LIV per
 *      grade of the pair's gift amount (grades = quintiles of the amount;
 *      grade 0 = clicked, no gift), and the rank correlation of LIV and
 *      amount, every seed pooled.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RankingModel } from '../agents/deepfm.js';
import { explorationAtEpoch } from '../agents/exploration.js';
import { createAgent } from '../agents/registry.js';
import type { Ranker, RankRequest, TowerLiv } from '../agents/ranker.js';
import { RankerPolicy } from '../agents/ranker-policy.js';
import { chooseFusionWeight, DEFAULT_CLICK_KEEP, FUSION_WEIGHT_GRID, FusedRanker, type FusionRequestScores } from '../agents/score-fusion.js';
import { PAIR_COUNT_DIM, TOWERS } from '../data/interaction-kinds.js';
import { Rng } from '../numeric/rng.js';
import { DAY_MS, Environment } from '../environment/environment.js';
import type { PendingRequest, SlatePolicy } from '../environment/slate-policy.js';
import { SESSION_SUMMARY_DIM, type RequestRecord, type SessionTrace } from '../environment/trace.js';
import type { Catalog } from '../world/catalog.js';
import type { ExperimentPreset } from './experiment-presets.js';
import { spearman } from './statistics.js';
import { SILENT_PROGRESS, type ProgressSink } from './progress.js';
import { ReplayableEnvironment } from './replayable-environment.js';
import { mean, relativeDelta, std, summarize, type RelativeDelta, type Summary } from './statistics.js';
import { computeMetrics } from '../environment/metrics.js';
import { REPORT_METRICS, type ReportMetric } from './results.js';
import { abCurveRows, abMetricRows, longCsv, resolvedAgentConfigs, resolvedEnvironment, runJson, writeRunFile } from './run-files.js';
import { TrainingRun } from './training-loop.js';
import { renderSavedReports } from './results-file.js';
import { modelConfigs } from './model-configs.js';
import { buildCalibratedWorld, type CalibratedWorld } from './experiment-world.js';
import {
  AB_METRICS,
  AB_RANKINGS,
  AB_TEST_KINDS,
  AB_TEST_SPECS,
  type AbArmResult,
  type AbMetric,
  type AbRanking,
  type AbTestKind,
  type AbTestResults,
  type AbTestRun,
  type GiftGrade,
} from './ab-results.js';

export {
  AB_METRICS,
  AB_METRIC_INFO,
  AB_RANKINGS,
  AB_TEST_KINDS,
  AB_TEST_SPECS,
  PAPER_AB,
  type AbArmResult,
  type AbMetric,
  type AbRanking,
  type AbTestKind,
  type AbTestResults,
  type AbTestRun,
  type GiftGrade,
} from './ab-results.js';

/** The control, and the production ranking model every fused arm fuses its LIV into. */
export const AB_CONTROL = 'RankingModel';
/** The revenue test's treatments (Table 4); the watch-time test has RLIV-UA alone (Table 5). */
export const AB_TREATMENTS = AB_TEST_SPECS.revenue.treatments;
/** Default number of bucket seeds (one simulation of each test per seed). */
export const DEFAULT_BUCKET_SEEDS = 3;
/** Default pre-period length in days. */
export const DEFAULT_PRE_DAYS = 7;
/** Default number of pre-period requests per arm the weight rule looks at (a seeded sample). */
export const DEFAULT_WEIGHT_REQUESTS = 2000;

export interface AbTestOptions {
  /** Reported weeks, after the pre-period (>= 1). */
  weeks: number;
  /** Output directory for ab-results.json, ab-report.html, ab-report.md, config.json, curves.csv and metrics.csv. */
  outDir: string;
  /** World size, environment and the pre-training schedule (epochs, steps, batch). */
  preset: ExperimentPreset;
  /** Seed of the world, the pre-training and (through it) of every bucket seed. */
  seed: number;
  /** Which of the paper's tests to run. Default both: ['revenue', 'watchTime']. */
  tests?: AbTestKind[];
  /** How the treatment arms rank: 'fused' (the paper's deployment) and/or 'liv-only' (one arm each per treatment). Default ['fused']. */
  rankings?: AbRanking[];
  /** Simulations of each test, each with its own bucket split and environment seed (>= 1). Default 3. */
  bucketSeeds?: number;
  /** Pre-period days before the reported weeks (>= 1 when a ranking is fused). Default 7. */
  preDays?: number;
  /** Gradient steps each model takes after every simulated day (online learning). Default: the preset's stepsPerEpoch. */
  onlineStepsPerDay?: number;
  /** The weight rule's share of the RankingModel's predicted click rate to keep, in (0, 1]. Default 0.97. */
  clickKeep?: number;
  /** The weight rule's candidate weights (ascending, from 0). Default FUSION_WEIGHT_GRID. */
  fusionGrid?: number[];
  /** Pre-period requests per arm the weight rule scores (a seeded uniform sample of the bucket's requests). Default 2000. */
  weightRequests?: number;
  /** `--world FILE.json`: a world description from `rliv generate`, or a partial world config. */
  worldPath?: string;
  /**
   * Config overrides per model, by model name (e.g. `{"RLIV-UA": {"targetCritics": "mean"}}`),
   * over the preset's batch size. Checked before the world is built: an
   * unknown model or a bad field throws.
   */
  agentConfigs?: Record<string, unknown>;
  progress?: ProgressSink;
}

/** Per-user accumulators over the test. */
class UserOutcomes {
  watch: Float64Array;
  usage: Float64Array;
  fans: Float64Array;
  revenue: Float64Array;
  giftedWeeks: Uint8Array;
  sessions: Int32Array;
  returnsWithinWeek: Int32Array;

  /** @param startTimeMs the first moment of the reported weeks (week 0 starts here). */
  constructor(
    readonly numUsers: number,
    readonly weeks: number,
    readonly startTimeMs: number,
  ) {
    this.watch = new Float64Array(numUsers);
    this.usage = new Float64Array(numUsers);
    this.fans = new Float64Array(numUsers);
    this.revenue = new Float64Array(numUsers);
    this.giftedWeeks = new Uint8Array(numUsers * weeks);
    this.sessions = new Int32Array(numUsers);
    this.returnsWithinWeek = new Int32Array(numUsers);
  }

  add(t: SessionTrace): void {
    const u = t.user;
    this.sessions[u]!++;
    if (t.returnGapDays <= 7) this.returnsWithinWeek[u]!++;
    if (t.requests.length === 0) return;
    for (const r of t.requests) {
      const week = Math.min(this.weeks - 1, Math.floor((r.timeMs - this.startTimeMs) / DAY_MS / 7));
      for (let p = 0; p < r.slate.length; p++) {
        this.watch[u]! += r.responses.playTimeMs[p]! / 1000;
        this.fans[u]! += r.responses.follow[p]!;
        const g = r.responses.giftAmount[p]!;
        if (g > 0) {
          this.revenue[u]! += g;
          this.giftedWeeks[u * this.weeks + Math.max(0, week)] = 1;
        }
      }
    }
    const start = t.requests[0]!.timeMs;
    const end = t.endTimeMs ?? t.requests[t.requests.length - 1]!.timeMs;
    this.usage[u]! += Math.max(0, end - start) / 1000;
  }
}

/** Routes each request to the policy of the user's bucket, keeping the environment's request order. */
class BucketRouter implements SlatePolicy {
  private flags: Uint8Array[] = [];
  constructor(
    private readonly bucketOf: Int32Array,
    private readonly policies: SlatePolicy[],
  ) {}

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    const groups: number[][] = this.policies.map(() => []);
    for (let i = 0; i < requests.length; i++) groups[this.bucketOf[requests[i]!.user]!]!.push(i);
    const slates: Int32Array[] = new Array(requests.length);
    const flags: Uint8Array[] = new Array(requests.length);
    groups.forEach((idx, b) => {
      if (idx.length === 0) return;
      const policy = this.policies[b]!;
      const chosen = policy.chooseSlates(
        idx.map((i) => requests[i]!),
        k,
      );
      const f = policy.lastRandomFlags?.() ?? [];
      idx.forEach((i, j) => {
        slates[i] = chosen[j]!;
        flags[i] = f[j] ?? new Uint8Array(chosen[j]!.length);
      });
    });
    this.flags = flags;
    return slates;
  }

  lastRandomFlags(): readonly Uint8Array[] {
    return this.flags;
  }
}

/**
 * Step 1 of the test for one arm: a fresh `name` agent trained on the
 * preset's schedule in the world, from the logging policy's traffic on
 * (every arm gets the same environment seed). Exported so a diagnostic can
 * pre-train exactly as the test does (scripts/liv-by-pair-state.mjs).
 */
export function pretrainArm(
  cw: CalibratedWorld,
  preset: ExperimentPreset,
  name: string,
  agentConfig: Record<string, unknown>,
  seed: number,
  onEpoch: () => void = () => {},
): Ranker {
  const t = preset.train;
  const agent = createAgent(name, { catalog: cw.catalog, seed }, agentConfig);
  const env = new ReplayableEnvironment(
    new Environment(cw.catalog, cw.groundTruth, { ...cw.environment, seed: new Rng(seed).fork('pretrain-env').seed }),
    cw.loggingPolicy,
  );
  new TrainingRun(
    env,
    agent,
    {
      agentName: name,
      agentConfig,
      seed,
      epochs: t.epochs,
      sessionsPerEpoch: t.sessionsPerEpoch,
      evalSessionsPerEpoch: t.evalSessionsPerEpoch,
      stepsPerEpoch: t.stepsPerEpoch,
      heldOutFraction: t.heldOutFraction,
      lastEpochsForFigure: t.lastEpochsForFigure,
      exploration: t.exploration,
    },
    () => ({}),
  ).run(onEpoch);
  return agent;
}

/** Persistent buckets: a seeded shuffle of the users dealt round-robin into `arms` buckets. */
export function assignBuckets(numUsers: number, arms: number, seed: number): Int32Array {
  if (!(Number.isInteger(arms) && arms >= 2)) throw new RangeError(`an A/B test needs at least 2 arms, got ${arms}`);
  if (numUsers < arms) throw new RangeError(`an A/B test needs at least one user per arm: ${numUsers} users for ${arms} arms`);
  const ids = Array.from({ length: numUsers }, (_, i) => i);
  new Rng(seed).fork('ab-buckets').shuffle(ids);
  const bucket = new Int32Array(numUsers);
  ids.forEach((u, j) => {
    bucket[u] = j % arms;
  });
  return bucket;
}

/** Fig. 6 for one arm: the gift-tower LIV per gift-amount grade over the pairs of its bucket. */

/** The models of one arm in one simulation. */
interface ArmModels {
  label: string;
  model: string;
  ranking: 'control' | AbRanking;
  /** Serves the bucket during the pre-period (the production ranking). */
  pre: Ranker;
  /** Serves the bucket during the reported weeks. */
  serve: Ranker;
  /** Learn online during the pre-period / the reported weeks. */
  preLearners: Ranker[];
  learners: Ranker[];
  /** Fused arms: the fused ranker (its weight is set at the end of the pre-period). */
  fused?: FusedRanker;
  /** The RankingModel whose predictions the weight rule reads (fused arms). */
  base?: RankingModel;
  /** Arms with LIV towers (Fig. 6). */
  towerLiv: TowerLiv | null;
}

/** What one simulation (one test, one bucket seed) yields. */
interface SeedOutcome {
  /** values[arm][metric] = per-user values of the arm's bucket. */
  values: Record<AbMetric, number[]>[];
  fusionWeights: (number | undefined)[];
  retention: (ReturnType<typeof chooseFusionWeight>['retention'] | undefined)[];
  lastSelectionRequestMs: number;
  firstReportedRequestMs: number;
  reportStartMs: number;
  slateSize: number;
  selectionRequests: number[];
  /** Fig. 6 material per arm: gifted pairs' (amount, LIV) and clicked-no-gift pairs' LIV. */
  gifted: { amount: number; liv: number }[][];
  clickedLiv: number[][];
  /** Per arm: session metrics of each reported day. */
  daily: ({ day: number[] } & Record<ReportMetric, number[]>)[];
}

/** Arm label in reports: "RLIV-UA (fused)", "RLIV-UA (LIV only)", or the control's name. */
export function abArmLabel(model: string, ranking: 'control' | AbRanking): string {
  return ranking === 'control' ? model : `${model} (${ranking === 'fused' ? 'fused' : 'LIV only'})`;
}

/** The weight rule's inputs for one request: the base model's score and P(click), the LIV model's score. */
function fusionScores(request: RankRequest, base: RankingModel, liv: Ranker): FusionRequestScores {
  const n = request.candidates.length;
  const scores: FusionRequestScores = { base: new Float32Array(n), liv: new Float32Array(n), clickProbability: new Float32Array(n) };
  base.score(request, scores.base);
  liv.score(request, scores.liv);
  const signals = new Float32Array(n * 4);
  base.predict(request, signals);
  for (let i = 0; i < n; i++) scores.clickProbability[i] = signals[i * 4]!;
  return scores;
}

/** The gift-tower LIV of pairs (user, author) as the model sees them now (the pair's current counts). */
function pairGiftLiv(towerLiv: TowerLiv, env: Environment, catalog: Catalog, user: number, author: number, out: Float32Array): number {
  const start = catalog.authorItemOffsets[author]!;
  const request: PendingRequest = {
    user,
    timeMs: 0,
    summary: new Float32Array(SESSION_SUMMARY_DIM),
    candidates: Int32Array.of(catalog.authorItemIds[start]!),
    candidatePairCounts: env.pairCounts(user, author).subarray(0, PAIR_COUNT_DIM),
  };
  towerLiv.livPerTower(request, out);
  return out[TOWERS.indexOf('gift')]!;
}

/** Fig. 6 from pooled (amount, LIV) of gifted pairs and LIV of clicked-no-gift pairs. */
export function giftValueByGrade(
  gifted: { amount: number; liv: number }[],
  clickedLiv: number[],
): { grades: GiftGrade[]; spearman: number; giftedPairs: number } {
  const pairs = gifted.filter((p) => Number.isFinite(p.liv)).sort((a, b) => a.amount - b.amount);
  const grades: GiftGrade[] = [];
  const zero = clickedLiv.filter(Number.isFinite);
  if (zero.length) grades.push({ grade: 0, amountRange: [0, 0], pairs: zero.length, meanLiv: mean(zero), stdLiv: std(zero) });
  const g = 5;
  for (let k = 0; k < g; k++) {
    const part = pairs.slice(Math.floor((k * pairs.length) / g), Math.floor(((k + 1) * pairs.length) / g));
    if (part.length === 0) continue;
    const livs = part.map((p) => p.liv);
    grades.push({ grade: k + 1, amountRange: [part[0]!.amount, part[part.length - 1]!.amount], pairs: part.length, meanLiv: mean(livs), stdLiv: std(livs) });
  }
  const rho =
    pairs.length >= 3
      ? spearman(
          pairs.map((p) => p.amount),
          pairs.map((p) => p.liv),
        )
      : NaN;
  return { grades, spearman: rho, giftedPairs: pairs.length };
}

/** Checks every option that can be checked before the world is built; returns them resolved. */
function resolveAbOptions(options: AbTestOptions) {
  const int = (name: string, v: number, lo: number, hi: number): number => {
    if (!(Number.isInteger(v) && v >= lo && v <= hi)) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
    return v;
  };
  const weeks = int('--weeks', options.weeks, 1, 520);
  const tests = options.tests ?? [...AB_TEST_KINDS];
  const rankings = options.rankings ?? ['fused'];
  if (tests.length === 0 || new Set(tests).size !== tests.length || tests.some((t) => !AB_TEST_KINDS.includes(t)))
    throw new RangeError(`tests must be distinct names from ${AB_TEST_KINDS.join(', ')}, got ${JSON.stringify(tests)}`);
  if (rankings.length === 0 || new Set(rankings).size !== rankings.length || rankings.some((r) => !AB_RANKINGS.includes(r)))
    throw new RangeError(`rankings must be distinct names from ${AB_RANKINGS.join(', ')}, got ${JSON.stringify(rankings)}`);
  const bucketSeeds = int('--bucket-seeds', options.bucketSeeds ?? DEFAULT_BUCKET_SEEDS, 1, 100);
  const preDays = int('--pre-days', options.preDays ?? DEFAULT_PRE_DAYS, rankings.includes('fused') ? 1 : 0, 3650);
  const weightRequests = int('weightRequests', options.weightRequests ?? DEFAULT_WEIGHT_REQUESTS, 1, 10_000_000);
  const clickKeep = options.clickKeep ?? DEFAULT_CLICK_KEEP;
  const fusionGrid = options.fusionGrid ?? [...FUSION_WEIGHT_GRID];
  // The weight rule checks keep and the grid; run it on nothing to check them now.
  chooseFusionWeight([], { k: 1, keep: clickKeep, grid: fusionGrid });
  return { weeks, tests, rankings, bucketSeeds, preDays, weightRequests, clickKeep, fusionGrid };
}

/** The files of an A/B test run. */
export interface AbTestFiles {
  json: string;
  html: string;
  markdown: string;
  config: string;
  curves: string;
  metrics: string;
}

export async function runAbTest(options: AbTestOptions): Promise<{ results: AbTestResults; files: AbTestFiles }> {
  const progress = options.progress ?? SILENT_PROGRESS;
  const started = performance.now();
  const { weeks, tests, rankings, bucketSeeds: seedCount, preDays, weightRequests, clickKeep, fusionGrid } = resolveAbOptions(options);
  const preset = options.preset;
  const t = preset.train;
  const models = [AB_CONTROL, ...new Set(tests.flatMap((k) => AB_TEST_SPECS[k].treatments))];
  const agentConfigs = modelConfigs(models, t.batchSize, options.agentConfigs ?? {}, 'models of this A/B test');
  const onlineSteps = options.onlineStepsPerDay ?? t.stepsPerEpoch;
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const files: AbTestFiles = {
    json: join(outDir, 'ab-results.json'),
    html: join(outDir, 'ab-report.html'),
    markdown: join(outDir, 'ab-report.md'),
    config: join(outDir, 'config.json'),
    curves: join(outDir, 'curves.csv'),
    metrics: join(outDir, 'metrics.csv'),
  };
  const root = new Rng(options.seed);
  const bucketSeeds = Array.from({ length: seedCount }, (_, s) => root.fork(`ab-bucket-seed/${s}`).seed);

  // The calibrated world (as in the offline experiment), its environment settings and logging policy.
  const timed = async <T>(_name: string, f: () => T | Promise<T>): Promise<T> => f();
  const cw = await buildCalibratedWorld({ preset, worldSeed: options.seed, worldPath: options.worldPath, progress, timed });
  const { catalog, groundTruth: world, environment } = cw;
  writeRunFile(
    files.config,
    runJson({
      kind: 'rliv-ab-test-config',
      version: 2,
      preset: preset.name,
      seed: options.seed,
      weeks,
      preDays,
      bucketSeeds,
      tests: Object.fromEntries(tests.map((k) => [k, { towers: AB_TEST_SPECS[k].towers, treatments: AB_TEST_SPECS[k].treatments }])),
      rankings,
      control: AB_CONTROL,
      fusion: { grid: fusionGrid, clickKeep, weightRequests },
      models: resolvedAgentConfigs(agentConfigs),
      agentConfigOverrides: options.agentConfigs ?? {},
      pretraining: t,
      onlineStepsPerDay: onlineSteps,
      servingExploration: explorationAtEpoch(t.exploration, t.epochs),
      environment: resolvedEnvironment(environment, 'one environment per test and bucket seed, seeded from the bucket seed'),
      world: cw.description,
    }),
  );

  // 1. Pre-train every model once; each simulation starts from copies.
  const pretrained = new Map<string, Uint8Array>();
  progress.start('pre-train', models.length * t.epochs, 'epochs');
  let done = 0;
  for (const name of models) {
    pretrained.set(name, pretrainArm(cw, preset, name, agentConfigs[name]!, options.seed, () => progress.update(++done, name)).save());
  }
  progress.stop();
  const copy = (name: string): Ranker => {
    const agent = createAgent(name, { catalog, seed: options.seed }, agentConfigs[name]!);
    agent.load(pretrained.get(name)!);
    return agent;
  };
  const copyBase = (): RankingModel => {
    const agent = copy(AB_CONTROL);
    if (!(agent instanceof RankingModel)) throw new TypeError(`the A/B test's production ranking model must be a RankingModel, got ${agent.name}`);
    return agent;
  };

  const explore = explorationAtEpoch(t.exploration, t.epochs);
  const reportDays = weeks * 7;
  const armPlan = (test: AbTestKind): { model: string; ranking: 'control' | AbRanking }[] => [
    { model: AB_CONTROL, ranking: 'control' },
    ...rankings.flatMap((ranking) => AB_TEST_SPECS[test].treatments.map((model) => ({ model, ranking }))),
  ];
  const totalDays = tests.length * seedCount * (preDays + reportDays);
  let daysDone = 0;
  progress.start('a/b test', totalDays, 'days');

  /** One test on one bucket seed: pre-period, weight choice, reported weeks. */
  const simulate = (test: AbTestKind, s: number): SeedOutcome => {
    const spec = AB_TEST_SPECS[test];
    const seedRng = new Rng(bucketSeeds[s]!);
    const plan = armPlan(test);
    const control = copyBase();
    const arms: ArmModels[] = plan.map(({ model, ranking }) => {
      const label = abArmLabel(model, ranking);
      if (ranking === 'control') return { label, model, ranking, pre: control, serve: control, preLearners: [control], learners: [control], towerLiv: null };
      const liv = copy(model);
      if (liv.towerLiv === null) throw new TypeError(`A/B treatment ${model} has no LIV towers`);
      liv.towerLiv.setScoreWeights(spec.towers);
      const base = copyBase();
      if (ranking === 'fused') {
        const fused = new FusedRanker(base, liv, 0);
        return { label, model, ranking, pre: base, serve: fused, preLearners: [base, liv], learners: [base, liv], fused, base, towerLiv: liv.towerLiv };
      }
      return { label, model, ranking, pre: base, serve: liv, preLearners: [base, liv], learners: [liv], towerLiv: liv.towerLiv };
    });
    const bucketOf = assignBuckets(catalog.numUsers, arms.length, seedRng.fork(`buckets/${test}`).seed);
    const env = new Environment(catalog, world, { ...environment, seed: seedRng.fork('env').seed });
    const reportStartMs = env.options.startTimeMs + preDays * DAY_MS;
    const daily = arms.map(
      () =>
        ({ day: [] as number[], ...Object.fromEntries(REPORT_METRICS.map((m) => [m, [] as number[]])) }) as { day: number[] } & Record<ReportMetric, number[]>,
    );
    const day = (
      policies: SlatePolicy[],
      learners: (a: ArmModels) => Ranker[],
      onTrace: (trace: SessionTrace, b: number) => void,
      reportedDay?: number,
    ): void => {
      const byArm: SessionTrace[][] = arms.map(() => []);
      env.runDays(1, new BucketRouter(bucketOf, policies), (trace) => {
        const b = bucketOf[trace.user]!;
        byArm[b]!.push(trace);
        onTrace(trace, b);
      });
      if (reportedDay !== undefined) {
        byArm.forEach((traces, b) => {
          const m = computeMetrics(traces, catalog);
          daily[b]!.day.push(reportedDay);
          for (const k of REPORT_METRICS) daily[b]![k].push(m[k]);
        });
      }
      // Online learning: each arm's models learn from their own bucket's traffic of the day.
      arms.forEach((a, b) => {
        if (byArm[b]!.length === 0) return;
        for (const m of learners(a)) {
          m.observe(byArm[b]!);
          if (onlineSteps > 0) m.train(onlineSteps);
        }
      });
      progress.update(++daysDone, `${test} test, bucket seed ${s + 1}/${seedCount}`);
    };

    // 3. Pre-period: the production ranking everywhere; a seeded uniform sample of each bucket's requests (reservoir).
    const prePolicies = arms.map((a, b) => new RankerPolicy(a.pre, seedRng.fork(`pre-explore/${test}/${b}`), explore));
    const sampleRng = seedRng.fork(`weight-sample/${test}`);
    const sample: RequestRecord[][] = arms.map(() => []);
    const seen = new Array<number>(arms.length).fill(0);
    let lastSelectionRequestMs = -Infinity;
    for (let d = 0; d < preDays; d++) {
      day(
        prePolicies,
        (a) => a.preLearners,
        (trace, b) => {
          for (const r of trace.requests) {
            const i = seen[b]!++;
            if (i < weightRequests) sample[b]!.push(r);
            else {
              const j = sampleRng.int(i + 1);
              if (j < weightRequests) sample[b]![j] = r;
            }
          }
        },
      );
    }
    // The weight rule, per fused arm, on its own bucket's pre-period sample and its models as they are now.
    const fusionWeights: SeedOutcome['fusionWeights'] = arms.map(() => undefined);
    const retention: SeedOutcome['retention'] = arms.map(() => undefined);
    arms.forEach((a, b) => {
      if (!a.fused) return;
      for (const r of sample[b]!) lastSelectionRequestMs = Math.max(lastSelectionRequestMs, r.timeMs);
      const choice = chooseFusionWeight(
        sample[b]!.map((r) => fusionScores(r, a.base!, a.fused!.liv)),
        { k: env.options.slateSize, grid: fusionGrid, keep: clickKeep },
      );
      a.fused.setWeight(choice.weight);
      fusionWeights[b] = choice.weight;
      retention[b] = choice.retention;
    });
    const selectionRequests = sample.map((x) => x.length);
    sample.forEach((x) => {
      x.length = 0;
    });

    // 4. The reported weeks.
    const deepBefore = Int32Array.from({ length: catalog.numUsers }, (_, u) => env.pairStore.deepPairs(u));
    const policies = arms.map((a, b) => new RankerPolicy(a.serve, seedRng.fork(`explore/${test}/${b}`), explore));
    const outcomes = new UserOutcomes(catalog.numUsers, weeks, reportStartMs);
    const giftPairs = arms.map(() => new Map<number, { user: number; author: number; amount: number }>());
    const clickedPairs = arms.map(() => new Map<number, { user: number; author: number }>());
    let firstReportedRequestMs = Infinity;
    for (let d = 0; d < reportDays; d++) {
      day(
        policies,
        (a) => a.learners,
        (trace, b) => {
          outcomes.add(trace);
          for (const r of trace.requests) {
            firstReportedRequestMs = Math.min(firstReportedRequestMs, r.timeMs);
            for (let p = 0; p < r.slate.length; p++) {
              const author = catalog.itemAuthor[r.candidates[r.slate[p]!]!]!;
              const key = trace.user * catalog.numAuthors + author;
              const g = r.responses.giftAmount[p]!;
              if (g > 0) {
                const e = giftPairs[b]!.get(key);
                if (e) e.amount += g;
                else giftPairs[b]!.set(key, { user: trace.user, author, amount: g });
              } else if (r.responses.click[p]! > 0 && clickedPairs[b]!.size < 4000) {
                clickedPairs[b]!.set(key, { user: trace.user, author });
              }
            }
          }
        },
        d + 1,
      );
    }

    // 5. Per-user values of the reported weeks.
    const values = arms.map((_, b) => {
      const v = Object.fromEntries(AB_METRICS.map((m) => [m, [] as number[]])) as Record<AbMetric, number[]>;
      for (let u = 0; u < catalog.numUsers; u++) {
        if (bucketOf[u] !== b) continue;
        v.uaCount.push(env.pairStore.deepPairs(u) - deepBefore[u]!);
        let w = 0;
        for (let k = 0; k < weeks; k++) w += outcomes.giftedWeeks[u * weeks + k]!;
        v.weeklyGiftedUsers.push(w / weeks);
        v.totalRevenue.push(outcomes.revenue[u]!);
        v.newFans.push(outcomes.fans[u]!);
        v.watchTime.push(outcomes.watch[u]!);
        v.appUsageTime.push(outcomes.usage[u]!);
        if (outcomes.sessions[u]! > 0) v.weeklyRetention.push(outcomes.returnsWithinWeek[u]! / outcomes.sessions[u]!);
      }
      return v;
    });
    // 6. Fig. 6 material (revenue test): LIV of the arm's model at the end of the test.
    const livOut = new Float32Array(TOWERS.length);
    const gifted = arms.map((a, b) =>
      test === 'revenue' && a.towerLiv
        ? [...giftPairs[b]!.values()].map((p) => ({ amount: p.amount, liv: pairGiftLiv(a.towerLiv!, env, catalog, p.user, p.author, livOut) }))
        : [],
    );
    const clickedLiv = arms.map((a, b) =>
      test === 'revenue' && a.towerLiv ? [...clickedPairs[b]!.values()].map((p) => pairGiftLiv(a.towerLiv!, env, catalog, p.user, p.author, livOut)) : [],
    );
    return {
      values,
      fusionWeights,
      retention,
      lastSelectionRequestMs,
      firstReportedRequestMs,
      reportStartMs,
      slateSize: env.options.slateSize,
      selectionRequests,
      gifted,
      clickedLiv,
      daily,
    };
  };

  const runs: AbTestRun[] = [];
  const giftValue: AbTestResults['giftValue'] = {};
  let slateSize = 0;
  for (const test of tests) {
    const outcomes = bucketSeeds.map((_, s) => simulate(test, s));
    slateSize = outcomes[0]!.slateSize;
    const plan = armPlan(test);
    const pooled = (b: number, m: AbMetric): number[] => outcomes.flatMap((o) => o.values[b]![m]);
    const arms: AbArmResult[] = plan.map(({ model, ranking }, b) => {
      const arm: AbArmResult = {
        model,
        ranking,
        label: abArmLabel(model, ranking),
        users: outcomes.reduce((sum, o) => sum + o.values[b]!.watchTime.length, 0),
        means: Object.fromEntries(AB_METRICS.map((m) => [m, mean(pooled(b, m))])) as Record<AbMetric, number>,
        totals: Object.fromEntries(AB_METRICS.map((m) => [m, pooled(b, m).reduce((a, v) => a + v, 0)])) as Record<AbMetric, number>,
      };
      if (b > 0) {
        arm.delta = Object.fromEntries(AB_METRICS.map((m) => [m, relativeDelta(pooled(b, m), pooled(0, m))])) as Record<AbMetric, RelativeDelta>;
        arm.seedDeltas = outcomes.map(
          (o) => Object.fromEntries(AB_METRICS.map((m) => [m, relativeDelta(o.values[b]![m], o.values[0]![m])])) as Record<AbMetric, RelativeDelta>,
        );
        arm.acrossSeeds = Object.fromEntries(
          AB_METRICS.map((m) => {
            const ds = arm.seedDeltas!.map((d) => d[m].delta);
            const finite = ds.every(Number.isFinite);
            return [m, finite ? summarize(ds) : ({ mean: NaN, std: NaN, ci95: [NaN, NaN], n: ds.length } satisfies Summary)];
          }),
        ) as Record<AbMetric, Summary>;
      }
      if (ranking === 'fused') {
        arm.fusionWeights = outcomes.map((o) => o.fusionWeights[b]!);
        arm.weightRetention = outcomes.map((o) => o.retention[b]!);
      }
      if (test === 'revenue' && ranking !== 'control') {
        giftValue[arm.label] = giftValueByGrade(
          outcomes.flatMap((o) => o.gifted[b]!),
          outcomes.flatMap((o) => o.clickedLiv[b]!),
        );
      }
      return arm;
    });
    runs.push({
      test,
      towers: { ...AB_TEST_SPECS[test].towers },
      arms,
      selection: {
        lastRequestMs: outcomes.map((o) => o.lastSelectionRequestMs),
        firstReportedRequestMs: outcomes.map((o) => o.firstReportedRequestMs),
        reportStartMs: outcomes[0]!.reportStartMs,
        requestsPerArm: outcomes[0]!.selectionRequests,
      },
      daily: Object.fromEntries(plan.map(({ model, ranking }, b) => [abArmLabel(model, ranking), outcomes.map((o) => o.daily[b]!)])),
    });
  }
  progress.stop();

  const results: AbTestResults = {
    weeks,
    days: reportDays,
    preDays,
    seed: options.seed,
    bucketSeeds,
    preset: preset.name,
    control: AB_CONTROL,
    tests: runs,
    giftValue,
    settings: {
      users: catalog.numUsers,
      items: catalog.numItems,
      authors: catalog.numAuthors,
      pretrainEpochs: t.epochs,
      pretrainStepsPerEpoch: t.stepsPerEpoch,
      batchSize: t.batchSize,
      agentConfigOverrides: options.agentConfigs ?? {},
      onlineStepsPerDay: onlineSteps,
      servingExploration: explore,
      rankings,
      fusion: {
        rule: `largest grid weight keeping >= ${clickKeep} of the RankingModel's predicted click rate of the top ${slateSize}`,
        grid: fusionGrid,
        clickKeep,
        weightRequests,
      },
      environment,
      dataSource: cw.dataSource,
    },
    wallSeconds: (performance.now() - started) / 1000,
    notes: [
      'Simulated in the ground-truth world: each test runs once per bucket seed, users split into persistent equal buckets, one arm per bucket, all buckets in one environment over the same days.',
      `Fused arms rank by base + w x sd(base) x z(LIV) over the request's candidates (base = the RankingModel's click logit, LIV = the arm's tower LIVs standardized and weighted); w is chosen per arm and seed on a ${preDays}-day pre-period of the arm's own bucket, before the reported weeks. LIV-only arms rank by the LIV alone.`,
      "Deltas are relative differences of per-user means (treatment / control − 1): with a delta-method 95 % interval over users (every seed's users pooled), and as the mean of the per-seed deltas with a Student-t 95 % interval over the bucket seeds.",
      "Every model learns online from its own bucket's traffic after each simulated day, in the pre-period too.",
    ],
  };
  const json = runJson(results);
  writeFileSync(files.json, json);
  // Rendered from the saved JSON, exactly as `rliv report` rebuilds them.
  for (const f of renderSavedReports({ kind: 'ab-test', results }, json)) writeFileSync(join(outDir, f.name), f.text);
  writeRunFile(files.curves, longCsv(abCurveRows(results)));
  writeRunFile(files.metrics, longCsv(abMetricRows(results)));
  return { results, files };
}
