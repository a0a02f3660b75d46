/**
 * The experiment of the paper's §4 (Tables 2 and 3, Fig. 5), end to end:
 *
 *   1. generate the ground-truth world (synthetic, or on the real KuaiRand
 *      user/video tables), with an optional world-config override;
 *   2. log `logDays` days of logging-policy traffic in the world and fit the
 *      learned simulator on those logs (the paper's protocol: agents are
 *      trained and evaluated in a simulator learned from logs);
 *   3. calibration: the same rates measured in the world's logs, in the
 *      learned simulator under the same policy, and KuaiRand-Pure's targets;
 *   4. train every model over every seed with the generic training loop
 *      (collect -> observe -> train -> evaluate on held-out users; the figure
 *      is the mean of the last 10 evaluation epochs). All models of one seed
 *      see the same users, the same held-out panel and the same environment
 *      seed;
 *   5. sim-to-real: each trained policy runs greedily on the same held-out
 *      users in the ground-truth world for as many rounds as it had
 *      evaluation epochs; its world figure is the mean of the last 10;
 *   6. write DIR/results.json, DIR/report.html and DIR/report.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createAgent } from '../agents/registry.js';
import type { Ranker } from '../agents/ranker.js';
import { RankerPolicy } from '../agents/ranker-policy.js';
import { GREEDY } from '../agents/exploration.js';
import { Rng } from '../numeric/rng.js';
import { Environment, type EnvironmentOptions } from '../simulator/environment.js';
import { computeMetrics } from '../simulator/metrics.js';
import type { SlatePolicy } from '../simulator/slate-policy.js';
import type { SessionTrace } from '../simulator/trace.js';
import type { Catalog } from '../world/catalog.js';
import type { ResponseModel } from '../world/response.js';
import { experimentPreset, type ExperimentPreset } from './experiment-presets.js';
import { SILENT_PROGRESS, type ProgressSink } from './progress.js';
import { renderHtmlReport } from './report-html.js';
import { renderMarkdownReport } from './report-markdown.js';
import { buildResults, REPORT_METRICS, resultsToJson, type Calibration, type ExperimentResults, type ReportMetric, type SeedRun } from './results.js';
import { ReplayableEnvironment } from './replayable-environment.js';
import { splitUsers, TrainingRun, type EvaluationMetrics } from './training-loop.js';
import { buildExperimentWorld, type ExperimentWorld } from './experiment-world.js';

export interface ExperimentOptions {
  /** The scale (see experiment-presets.ts); fields may be overridden. */
  preset: ExperimentPreset;
  /** Training seeds (each model is trained once per seed). */
  seeds: number[];
  /** Directory for results.json, report.html, report.md (created if missing). */
  outDir: string;
  /** Seed of the world and of the logs the simulator is fitted on. Default 1. */
  worldSeed?: number;
  /** `--world FILE.json`: a world description written by `rliv generate` (that exact world), or a partial world config. */
  worldPath?: string;
  /** Real KuaiRand user feature table (`--users`). */
  usersPath?: string;
  /** Real KuaiRand video feature table (`--videos`). */
  videosPath?: string;
  /** Models to run (default: the preset's, i.e. all ten in the paper's order). */
  models?: string[];
  /** Progress hooks (the CLI draws bars); default silent. */
  progress?: ProgressSink;
}

export interface ExperimentOutput {
  results: ExperimentResults;
  files: { results: string; html: string; markdown: string };
}

/** The metrics a figure is made of, from one evaluation's sessions. */
export function reportMetrics(sessions: readonly SessionTrace[], catalog: Catalog): EvaluationMetrics {
  const m = computeMetrics(sessions, catalog);
  const out: EvaluationMetrics = {};
  for (const k of REPORT_METRICS) out[k] = m[k];
  return out;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** The held-out panel the training loop evaluates on: the same rule (seeded shuffle of the held-out users, cycled). */
export function heldOutPanel(numUsers: number, heldOutFraction: number, seed: number, count: number): number[] {
  const pool = splitUsers(numUsers, heldOutFraction, seed).heldOut;
  const rng = new Rng(seed).fork('eval-users');
  const out: number[] = [];
  while (out.length < count) {
    for (const u of rng.shuffle(pool.slice())) {
      if (out.length === count) break;
      out.push(u);
    }
  }
  return out;
}

/**
 * Runs a trained policy greedily in `responder` (the ground-truth world) on
 * the held-out panel for `rounds` rounds; returns each round's metrics.
 */
export function evaluateInEnvironment(
  agent: Ranker,
  catalog: Catalog,
  responder: ResponseModel,
  environment: Partial<EnvironmentOptions>,
  panel: readonly number[],
  rounds: number,
  seed: number,
  onRound?: () => void,
): EvaluationMetrics[] {
  const env = new Environment(catalog, responder, { ...environment, seed });
  const policy: SlatePolicy = new RankerPolicy(agent, new Rng(seed).fork('world-eval'), GREEDY);
  const out: EvaluationMetrics[] = [];
  for (let r = 0; r < rounds; r++) {
    out.push(reportMetrics(env.runSessions(panel, policy), catalog));
    onRound?.();
  }
  return out;
}

function lastMean(rounds: EvaluationMetrics[], last: number, metric: string): number {
  return mean(rounds.slice(Math.max(0, rounds.length - last)).map((r) => r[metric]!));
}

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentOutput> {
  const progress = options.progress ?? SILENT_PROGRESS;
  const preset = options.preset;
  const models = options.models ?? preset.models;
  const seeds = options.seeds;
  if (seeds.length === 0) throw new RangeError('the experiment needs at least one seed');
  if (new Set(seeds).size !== seeds.length) throw new RangeError(`seeds must be distinct, got [${seeds.join(', ')}]`);
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const started = performance.now();
  const loadStart = loadavg()[0]!;
  const phases: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const v = await f();
    phases[name] = (phases[name] ?? 0) + (performance.now() - t0) / 1000;
    return v;
  };

  // 1-3. World, logs, learned simulator, calibration.
  const world: ExperimentWorld = await buildExperimentWorld({
    preset,
    worldSeed: options.worldSeed ?? 1,
    worldPath: options.worldPath,
    usersPath: options.usersPath,
    videosPath: options.videosPath,
    progress,
    timed,
  });
  const { catalog } = world;

  // 4-5. Train every model on every seed; evaluate each in the world too.
  const t = preset.train;
  const worldRounds = t.epochs;
  const runs: Record<string, SeedRun[]> = {};
  const total = models.length * seeds.length * (t.epochs + worldRounds);
  let done = 0;
  progress.start('train', total, 'epochs');
  for (const name of models) {
    runs[name] = [];
    for (const seed of seeds) {
      const t0 = performance.now();
      const agent = createAgent(name, { catalog, seed }, { batchSize: t.batchSize });
      const env = new ReplayableEnvironment(new Environment(catalog, world.simulator, { ...world.environment, seed }), world.loggingPolicy);
      const run = new TrainingRun(env, agent, {
        agentName: name,
        agentConfig: { batchSize: t.batchSize },
        seed,
        epochs: t.epochs,
        sessionsPerEpoch: t.sessionsPerEpoch,
        evalSessionsPerEpoch: t.evalSessionsPerEpoch,
        stepsPerEpoch: t.stepsPerEpoch,
        heldOutFraction: t.heldOutFraction,
        lastEpochsForFigure: t.lastEpochsForFigure,
        exploration: t.exploration,
      }, (sessions) => reportMetrics(sessions, catalog));
      const result = run.run(() => progress.update(++done, `${name} seed ${seed}`));
      phases[`train: ${name}`] = (phases[`train: ${name}`] ?? 0) + (performance.now() - t0) / 1000;

      const t1 = performance.now();
      const panel = heldOutPanel(catalog.numUsers, t.heldOutFraction, seed, t.evalSessionsPerEpoch);
      const worldEval = evaluateInEnvironment(agent, catalog, world.groundTruth, world.environment, panel, worldRounds, seed,
        () => progress.update(++done, `${name} seed ${seed} (world)`));
      phases['sim-to-real'] = (phases['sim-to-real'] ?? 0) + (performance.now() - t1) / 1000;

      const sim = {} as Record<ReportMetric, number>;
      const real = {} as Record<ReportMetric, number>;
      const curve = { epoch: result.reports.map((r) => r.epoch + 1) } as SeedRun['curve'];
      for (const m of REPORT_METRICS) {
        sim[m] = result.figure[m]!;
        real[m] = lastMean(worldEval, t.lastEpochsForFigure, m);
        curve[m] = result.reports.map((r) => r.eval[m]!);
      }
      runs[name]!.push({ seed, sim, real, curve });
    }
    progress.log(`${name}: session length ${mean(runs[name]!.map((r) => r.sim.sessionLength)).toFixed(3)}, watch time ${mean(runs[name]!.map((r) => r.sim.watchTime)).toFixed(1)} s (mean over ${seeds.length} seed(s))`);
  }
  progress.stop();

  const wallSeconds = (performance.now() - started) / 1000;
  const results = buildResults({
    preset: preset.name,
    seeds,
    modelOrder: models,
    runs,
    calibration: world.calibration,
    wallSeconds,
    phases,
    machine: { cpus: cpus().length, node: process.version, loadAverageStart: loadStart, loadAverageEnd: loadavg()[0]! },
    settings: {
      users: catalog.numUsers,
      items: catalog.numItems,
      authors: catalog.numAuthors,
      dataSource: world.dataSource,
      worldSeed: options.worldSeed ?? 1,
      logDays: preset.logDays,
      logRows: world.logRows,
      epochs: t.epochs,
      sessionsPerEpoch: t.sessionsPerEpoch,
      evalSessionsPerEpoch: t.evalSessionsPerEpoch,
      stepsPerEpoch: t.stepsPerEpoch,
      batchSize: t.batchSize,
      heldOutFraction: t.heldOutFraction,
      lastEpochsForFigure: t.lastEpochsForFigure,
      worldEvalRounds: worldRounds,
      exploration: t.exploration,
      environment: world.environment,
      calibration: preset.calibration,
      simulatorFit: preset.simulatorFit,
    },
    notes: world.notes,
  });
  const files = { results: join(outDir, 'results.json'), html: join(outDir, 'report.html'), markdown: join(outDir, 'report.md') };
  writeFileSync(files.results, resultsToJson(results));
  writeFileSync(files.html, renderHtmlReport(results));
  writeFileSync(files.markdown, renderMarkdownReport(results));
  return { results, files };
}

export { experimentPreset };
