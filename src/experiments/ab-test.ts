/**
 * A simulated online A/B test (the paper's §4.4: Tables 4 and 5, Fig. 6) in
 * the ground-truth world.
 *
 *   1. Calibrate the world to KuaiRand-Pure as the offline experiment does,
 *      then pre-train each arm's model with the generic training loop in the
 *      world (the "production logs" before the test): control = RankingModel,
 *      treatments = RLIV-UA(w/o AL & SL), RLIV-UA(w/o SL), RLIV-UA.
 *   2. Split users into persistent buckets (a seeded shuffle, equal sizes):
 *      a user sees only her bucket's model for the whole test.
 *   3. Walk the calendar for W weeks in one world environment shared by all
 *      buckets; every day each arm serves its bucket (with the final
 *      exploration of the training schedule, the same for every arm), then
 *      observes that day's sessions of its bucket and trains (online
 *      learning, as in production).
 *   4. Per-user outcomes -> relative deltas of each treatment over control
 *      with delta-method 95 % intervals: UA count (deep pairs), weekly gifted
 *      users, total revenue, new fans (Table 4); watch time, app usage time,
 *      weekly retention (Table 5).
 *   5. Fig. 6: for the user-author pairs of each RLIV-UA arm's bucket that
 *      received gifts, the model's gift-tower LIV per grade of the pair's
 *      gift amount (grades = quintiles of the amount; grade 0 = clicked, no
 *      gift), and the rank correlation of LIV and amount.
 *
 * The paper ranks the Kwai revenue test by follow + gift LIV and the
 * Kuaishou watch-time test by watch-time LIV; `scoreWeights` sets the
 * towers the RLIV-UA arms rank by (default: follow + gift, as in Table 4's
 * test).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { explorationAtEpoch } from '../agents/exploration.js';
import { createAgent } from '../agents/registry.js';
import type { Ranker, TowerLiv } from '../agents/ranker.js';
import { RankerPolicy } from '../agents/ranker-policy.js';
import { PAIR_COUNT_DIM, TOWERS } from '../data/interaction-kinds.js';
import { Rng } from '../numeric/rng.js';
import { DAY_MS, Environment } from '../simulator/environment.js';
import type { PendingRequest, SlatePolicy } from '../simulator/slate-policy.js';
import { SESSION_SUMMARY_DIM, type SessionTrace } from '../simulator/trace.js';
import type { Catalog } from '../world/catalog.js';
import type { ExperimentPreset } from './experiment-presets.js';
import { spearman } from './statistics.js';
import { SILENT_PROGRESS, type ProgressSink } from './progress.js';
import { ReplayableEnvironment } from './replayable-environment.js';
import { mean, relativeDelta, std, type RelativeDelta } from './statistics.js';
import { computeMetrics } from '../simulator/metrics.js';
import { REPORT_METRICS, type ReportMetric } from './results.js';
import { abCurveRows, abMetricRows, longCsv, resolvedAgentConfigs, resolvedEnvironment, runJson, writeRunFile } from './run-files.js';
import { TrainingRun } from './training-loop.js';
import { renderSavedReports } from './results-file.js';
import { modelConfigs } from './model-configs.js';
import { buildCalibratedWorld, type CalibratedWorld } from './experiment-world.js';
import { AB_METRICS, type AbArmResult, type AbMetric, type AbTestResults, type GiftGrade } from './ab-results.js';

export { AB_METRICS, AB_METRIC_INFO, type AbArmResult, type AbMetric, type AbTestResults, type GiftGrade } from './ab-results.js';

export const AB_CONTROL = 'RankingModel';
export const AB_TREATMENTS = ['RLIV-UA(w/o AL & SL)', 'RLIV-UA(w/o SL)', 'RLIV-UA'] as const;


export interface AbTestOptions {
  /** Length of the test in weeks (>= 1). */
  weeks: number;
  /** Output directory for ab-results.json, ab-report.html, ab-report.md, config.json, curves.csv and metrics.csv. */
  outDir: string;
  /** World size, environment and the pre-training schedule (epochs, steps, batch). */
  preset: ExperimentPreset;
  /** Seed of the world, the buckets, the agents and the environment. */
  seed: number;
  /** Control model (default RankingModel). */
  control?: string;
  /** Treatment models (default the paper's three RLIV-UA variants). */
  treatments?: string[];
  /** Gradient steps each arm takes after every simulated day (online learning). Default: the preset's stepsPerEpoch. */
  onlineStepsPerDay?: number;
  /** Tower weights the RLIV-UA arms rank by (default follow 1 + gift 1, the paper's revenue test). */
  scoreWeights?: Partial<Record<(typeof TOWERS)[number], number>>;
  /** `--world FILE.json`: a world description from `rliv generate`, or a partial world config. */
  worldPath?: string;
  /**
   * Config overrides per arm, by arm name (e.g. `{"RLIV-UA": {"targetCritics": "mean"}}`),
   * over the preset's batch size. Checked before the world is built: an
   * unknown arm or a bad field throws.
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

  constructor(readonly numUsers: number, readonly weeks: number) {
    this.watch = new Float64Array(numUsers);
    this.usage = new Float64Array(numUsers);
    this.fans = new Float64Array(numUsers);
    this.revenue = new Float64Array(numUsers);
    this.giftedWeeks = new Uint8Array(numUsers * weeks);
    this.sessions = new Int32Array(numUsers);
    this.returnsWithinWeek = new Int32Array(numUsers);
  }

  add(t: SessionTrace, startTimeMs: number): void {
    const u = t.user;
    this.sessions[u]!++;
    if (t.returnGapDays <= 7) this.returnsWithinWeek[u]!++;
    if (t.requests.length === 0) return;
    for (const r of t.requests) {
      const week = Math.min(this.weeks - 1, Math.floor((r.timeMs - startTimeMs) / DAY_MS / 7));
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
  constructor(private readonly bucketOf: Int32Array, private readonly policies: SlatePolicy[]) {}

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    const groups: number[][] = this.policies.map(() => []);
    for (let i = 0; i < requests.length; i++) groups[this.bucketOf[requests[i]!.user]!]!.push(i);
    const slates: Int32Array[] = new Array(requests.length);
    const flags: Uint8Array[] = new Array(requests.length);
    groups.forEach((idx, b) => {
      if (idx.length === 0) return;
      const policy = this.policies[b]!;
      const chosen = policy.chooseSlates(idx.map((i) => requests[i]!), k);
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

/** Persistent buckets: a seeded shuffle of the users dealt round-robin into `arms` buckets. */
/**
 * Step 1 of the test for one arm: a fresh `name` agent trained on the
 * preset's schedule in the world, from the logging policy's traffic on
 * (every arm gets the same environment seed). Exported so a diagnostic can
 * pre-train exactly as the test does (scripts/liv-by-pair-state.mjs).
 */
export function pretrainArm(cw: CalibratedWorld, preset: ExperimentPreset, name: string, agentConfig: Record<string, unknown>, seed: number, onEpoch: () => void = () => {}): Ranker {
  const t = preset.train;
  const agent = createAgent(name, { catalog: cw.catalog, seed }, agentConfig);
  const env = new ReplayableEnvironment(new Environment(cw.catalog, cw.groundTruth, { ...cw.environment, seed: new Rng(seed).fork('pretrain-env').seed }), cw.loggingPolicy);
  new TrainingRun(env, agent, {
    agentName: name, agentConfig, seed,
    epochs: t.epochs, sessionsPerEpoch: t.sessionsPerEpoch, evalSessionsPerEpoch: t.evalSessionsPerEpoch,
    stepsPerEpoch: t.stepsPerEpoch, heldOutFraction: t.heldOutFraction, lastEpochsForFigure: t.lastEpochsForFigure,
    exploration: t.exploration,
  }, () => ({})).run(onEpoch);
  return agent;
}

export function assignBuckets(numUsers: number, arms: number, seed: number): Int32Array {
  if (!(Number.isInteger(arms) && arms >= 2)) throw new RangeError(`an A/B test needs at least 2 arms, got ${arms}`);
  if (numUsers < arms) throw new RangeError(`an A/B test needs at least one user per arm: ${numUsers} users for ${arms} arms`);
  const ids = Array.from({ length: numUsers }, (_, i) => i);
  new Rng(seed).fork('ab-buckets').shuffle(ids);
  const bucket = new Int32Array(numUsers);
  ids.forEach((u, j) => { bucket[u] = j % arms; });
  return bucket;
}

/** Fig. 6 for one arm: the gift-tower LIV per gift-amount grade over the pairs of its bucket. */
function giftValueByGrade(agent: TowerLiv, env: Environment, catalog: Catalog, pairs: Map<number, { user: number; author: number; amount: number }>, clickedNoGift: Array<{ user: number; author: number }>): { grades: GiftGrade[]; spearman: number; giftedPairs: number } {
  const out = new Float32Array(TOWERS.length);
  const giftIndex = TOWERS.indexOf('gift');
  const liv = (user: number, author: number): number => {
    const start = catalog.authorItemOffsets[author]!;
    const request: PendingRequest = {
      user,
      timeMs: 0,
      summary: new Float32Array(SESSION_SUMMARY_DIM),
      candidates: Int32Array.of(catalog.authorItemIds[start]!),
      candidatePairCounts: env.pairCounts(user, author).subarray(0, PAIR_COUNT_DIM),
    };
    agent.livPerTower(request, out);
    return out[giftIndex]!;
  };
  const gifted = [...pairs.values()].map((p) => ({ ...p, liv: liv(p.user, p.author) })).filter((p) => Number.isFinite(p.liv));
  gifted.sort((a, b) => a.amount - b.amount);
  const grades: GiftGrade[] = [];
  const zero = clickedNoGift.map((p) => liv(p.user, p.author)).filter(Number.isFinite);
  if (zero.length) grades.push({ grade: 0, amountRange: [0, 0], pairs: zero.length, meanLiv: mean(zero), stdLiv: std(zero) });
  const g = 5;
  for (let k = 0; k < g; k++) {
    const part = gifted.slice(Math.floor((k * gifted.length) / g), Math.floor(((k + 1) * gifted.length) / g));
    if (part.length === 0) continue;
    const livs = part.map((p) => p.liv);
    grades.push({ grade: k + 1, amountRange: [part[0]!.amount, part[part.length - 1]!.amount], pairs: part.length, meanLiv: mean(livs), stdLiv: std(livs) });
  }
  const rho = gifted.length >= 3 ? spearman(gifted.map((p) => p.amount), gifted.map((p) => p.liv)) : NaN;
  return { grades, spearman: rho, giftedPairs: gifted.length };
}

export async function runAbTest(options: AbTestOptions): Promise<{ results: AbTestResults; files: { json: string; html: string; markdown: string; config: string; curves: string; metrics: string } }> {
  const progress = options.progress ?? SILENT_PROGRESS;
  const started = performance.now();
  if (!(Number.isInteger(options.weeks) && options.weeks >= 1)) throw new RangeError(`--weeks must be an integer >= 1, got ${options.weeks}`);
  const preset = options.preset;
  const control = options.control ?? AB_CONTROL;
  const treatments = options.treatments ?? [...AB_TREATMENTS];
  const armNames = [control, ...treatments];
  const t = preset.train;
  const agentConfigs = modelConfigs(armNames, t.batchSize, options.agentConfigs ?? {}, 'arms of this A/B test');
  const onlineSteps = options.onlineStepsPerDay ?? t.stepsPerEpoch;
  const scoreWeights = options.scoreWeights ?? { follow: 1, gift: 1 };
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const files = {
    json: join(outDir, 'ab-results.json'), html: join(outDir, 'ab-report.html'), markdown: join(outDir, 'ab-report.md'),
    config: join(outDir, 'config.json'), curves: join(outDir, 'curves.csv'), metrics: join(outDir, 'metrics.csv'),
  };
  const root = new Rng(options.seed);

  // The calibrated world (as in the offline experiment), its environment settings and logging policy.
  const timed = async <T>(_name: string, f: () => T | Promise<T>): Promise<T> => f();
  const cw = await buildCalibratedWorld({ preset, worldSeed: options.seed, worldPath: options.worldPath, progress, timed });
  const { catalog, groundTruth: world, environment } = cw;
  writeRunFile(files.config, runJson({
    kind: 'rliv-ab-test-config',
    version: 1,
    preset: preset.name,
    seed: options.seed,
    weeks: options.weeks,
    control,
    treatments,
    models: resolvedAgentConfigs(agentConfigs),
    agentConfigOverrides: options.agentConfigs ?? {},
    pretraining: t,
    onlineStepsPerDay: onlineSteps,
    servingExploration: explorationAtEpoch(t.exploration, t.epochs),
    rlivScoreWeights: scoreWeights,
    environment: resolvedEnvironment(environment, root.fork('ab-env').seed),
    world: cw.description,
  }));

  // 1. Pre-train every arm on traffic before the test.
  const agents: Ranker[] = [];
  progress.start('pre-train', armNames.length * t.epochs, 'epochs');
  let done = 0;
  for (const name of armNames) {
    const agent = pretrainArm(cw, preset, name, agentConfigs[name]!, options.seed, () => progress.update(++done, name));
    agent.towerLiv?.setScoreWeights(scoreWeights);
    agents.push(agent);
  }
  progress.stop();

  // 2. Buckets; 3. the test.
  const bucketOf = assignBuckets(catalog.numUsers, armNames.length, options.seed);
  const explore = explorationAtEpoch(t.exploration, t.epochs);
  const policies = agents.map((a, b) => new RankerPolicy(a, root.fork(`ab-explore/${b}`), explore));
  const router = new BucketRouter(bucketOf, policies);
  const env = new Environment(catalog, world, { ...environment, seed: root.fork('ab-env').seed });
  const startTimeMs = env.options.startTimeMs;
  const days = options.weeks * 7;
  const outcomes = new UserOutcomes(catalog.numUsers, options.weeks);
  const giftPairs = agents.map(() => new Map<number, { user: number; author: number; amount: number }>());
  const clickedPairs = agents.map(() => new Map<number, { user: number; author: number }>());
  const daily = armNames.map(() => ({ day: [] as number[], ...Object.fromEntries(REPORT_METRICS.map((m) => [m, [] as number[]])) }) as { day: number[] } & Record<ReportMetric, number[]>);
  progress.start('a/b test', days, 'days');
  for (let d = 0; d < days; d++) {
    const byArm: SessionTrace[][] = agents.map(() => []);
    env.runDays(1, router, (trace) => {
      const b = bucketOf[trace.user]!;
      byArm[b]!.push(trace);
      outcomes.add(trace, startTimeMs);
      for (const r of trace.requests) {
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
    });
    byArm.forEach((traces, b) => {
      const m = computeMetrics(traces, catalog);
      daily[b]!.day.push(d + 1);
      for (const k of REPORT_METRICS) daily[b]![k].push(m[k]);
    });
    // Online learning: each arm learns from its own bucket's traffic of the day.
    agents.forEach((a, b) => {
      if (byArm[b]!.length === 0) return;
      a.observe(byArm[b]!);
      if (onlineSteps > 0) a.train(onlineSteps);
    });
    progress.update(d + 1, `week ${Math.floor(d / 7) + 1}`);
  }
  progress.stop();

  // 4. Per-user values per bucket and relative deltas.
  const perUser = (metric: AbMetric, b: number): number[] => {
    const vals: number[] = [];
    for (let u = 0; u < catalog.numUsers; u++) {
      if (bucketOf[u] !== b) continue;
      switch (metric) {
        case 'uaCount': vals.push(env.pairStore.deepPairs(u)); break;
        case 'weeklyGiftedUsers': {
          let w = 0;
          for (let k = 0; k < options.weeks; k++) w += outcomes.giftedWeeks[u * options.weeks + k]!;
          vals.push(w / options.weeks);
          break;
        }
        case 'totalRevenue': vals.push(outcomes.revenue[u]!); break;
        case 'newFans': vals.push(outcomes.fans[u]!); break;
        case 'watchTime': vals.push(outcomes.watch[u]!); break;
        case 'appUsageTime': vals.push(outcomes.usage[u]!); break;
        case 'weeklyRetention': if (outcomes.sessions[u]! > 0) vals.push(outcomes.returnsWithinWeek[u]! / outcomes.sessions[u]!); break;
      }
    }
    return vals;
  };
  const controlValues = Object.fromEntries(AB_METRICS.map((m) => [m, perUser(m, 0)])) as Record<AbMetric, number[]>;
  const arms: AbArmResult[] = armNames.map((model, b) => {
    const values = b === 0 ? controlValues : Object.fromEntries(AB_METRICS.map((m) => [m, perUser(m, b)])) as Record<AbMetric, number[]>;
    const arm: AbArmResult = {
      model,
      users: values.watchTime.length,
      means: Object.fromEntries(AB_METRICS.map((m) => [m, mean(values[m])])) as Record<AbMetric, number>,
      totals: Object.fromEntries(AB_METRICS.map((m) => [m, values[m].reduce((a, v) => a + v, 0)])) as Record<AbMetric, number>,
    };
    if (b > 0) arm.delta = Object.fromEntries(AB_METRICS.map((m) => [m, relativeDelta(values[m], controlValues[m])])) as Record<AbMetric, RelativeDelta>;
    return arm;
  });

  // 5. Fig. 6.
  const giftValue: AbTestResults['giftValue'] = {};
  agents.forEach((a, b) => {
    if (a.towerLiv !== null) giftValue[armNames[b]!] = giftValueByGrade(a.towerLiv, env, catalog, giftPairs[b]!, [...clickedPairs[b]!.values()]);
  });

  const results: AbTestResults = {
    weeks: options.weeks,
    days,
    seed: options.seed,
    preset: preset.name,
    control,
    arms,
    giftValue,
    daily: Object.fromEntries(armNames.map((name, b) => [name, daily[b]!])),
    settings: {
      users: catalog.numUsers, items: catalog.numItems, authors: catalog.numAuthors,
      buckets: armNames.length, pretrainEpochs: t.epochs, pretrainStepsPerEpoch: t.stepsPerEpoch, batchSize: t.batchSize, agentConfigOverrides: options.agentConfigs ?? {},
      onlineStepsPerDay: onlineSteps, servingExploration: explore, rlivScoreWeights: scoreWeights, environment, dataSource: cw.dataSource,
    },
    wallSeconds: (performance.now() - started) / 1000,
    notes: [
      'Simulated in the ground-truth world: users are split into persistent equal buckets, one model per bucket, all buckets in one environment over the same days.',
      'Deltas are relative differences of per-user means (treatment / control − 1) with delta-method 95 % intervals over users; bucket totals are in the JSON.',
      'Every arm learns online from its own bucket\'s traffic after each simulated day.',
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
