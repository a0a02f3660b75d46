/**
 * The experiment of the paper's §4 (Tables 2 and 3, Fig. 5), end to end:
 *
 *   1. generate the ground-truth world (synthetic, or on the real KuaiRand
 *      user/video tables), with an optional world-config override — or,
 *      with `logsDir` (`--logs DIR`), read real KuaiRand logs instead
 *      (experiment-logs.ts: no world, no ground truth);
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
 *      users in the ground-truth world for `lastEpochsForFigure` (10) rounds;
 *      its world figure is their mean;
 *   6. write DIR/results.json, DIR/report.html and DIR/report.md (and
 *      DIR/world.json + DIR/simulator.bin, the exact world and simulator),
 *      DIR/config.json (the fully resolved config of every model, the
 *      environment and the world; written before training starts) and the
 *      long-format DIR/curves.csv and DIR/metrics.csv (run-files.ts).
 *
 * Steps 1-3 produce a FittedInstrument (instrument.ts); everything after it
 * is the same code for a world and for real logs, which differ only where
 * the world is needed: no world evaluation, no world columns, gates G2/G3
 * not applicable and G1 against the random log (fidelity-logs.ts).
 *
 * The (model, seed) jobs run through a job runner (job-runner.ts): worker
 * threads (one per CPU by default) or a BullMQ queue served by `rliv worker`
 * processes; each job's result depends only on the job (its seed), so where
 * it runs never changes the numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExplorationOptions } from '../agents/exploration.js';
import { experimentPreset, type ExperimentPreset } from './experiment-presets.js';
import { runReferencePolicies, type ExperimentJob, type JobParts, type JobResult, type JobSetup } from './experiment-job.js';
import { computeFidelity, type ModelSeedFigures, type ReferenceFigures } from './fidelity.js';
import { computeLogsFidelity } from './fidelity-logs.js';
import { threadJobRunner, type JobRunner } from './job-runner.js';
import { buildLogsInstrument, NO_GROUND_TRUTH_GATE } from './experiment-logs.js';
import { instrumentHistory, worldInstrument, type FittedInstrument } from './instrument.js';
import { findKuaiRandDirectory } from '../data/kuairand-directory.js';
import { clickLogitByPairCount, clickLogitByRepeat } from '../simulator/simulator-ensemble.js';
import type { HeadShifts } from '../simulator/simulator-training.js';
import { modelConfigs, modelExplorations } from './model-configs.js';
import type { TrainPreset } from './train-presets.js';
import { tuningRecord } from './tuning-record.js';
import { mean } from './statistics.js';
import { buildExperimentWorld } from './experiment-world.js';
import { SILENT_PROGRESS, type ProgressSink } from './progress.js';
import { renderSavedReports } from './results-file.js';
import { buildResults, resultsToJson, type ExperimentResults, type SeedRun } from './results.js';
import { experimentCurveRows, experimentMetricRows, longCsv, resolvedAgentConfigs, resolvedEnvironment, runJson, writeRunFile } from './run-files.js';

export { reportMetrics } from './experiment-job.js';

/**
 * Where a run's instrument comes from (`rliv experiment` and `rliv tune`): a
 * world (generated, `worldPath`, or on the real tables `usersPath` +
 * `videosPath`) or real logs (`logsDir`).
 */
export interface InstrumentSourceOptions {
  /** The scale (see experiment-presets.ts); fields may be overridden. */
  preset: ExperimentPreset;
  /** Seed of the world and of the logs the simulator is fitted on. Default 1. */
  worldSeed?: number;
  /** `--world FILE.json`: a world description written by `rliv generate` (that exact world), or a partial world config. */
  worldPath?: string;
  /** Real KuaiRand user feature table (`--users`). */
  usersPath?: string;
  /** Real KuaiRand video feature table (`--videos`). */
  videosPath?: string;
  /**
   * `--logs DIR`: a KuaiRand-Pure, -1K or -27K directory; the simulator is
   * fitted on its real logs over the catalog of its feature tables, and
   * there is no world (excludes worldPath, usersPath, videosPath).
   */
  logsDir?: string;
  /** Under `logsDir`: at most this many log rows, whole users (default: LOGS_MAX_ROWS of the preset). */
  maxLogRows?: number;
}

export interface ExperimentOptions extends InstrumentSourceOptions {
  /** Training seeds (each model is trained once per seed). */
  seeds: number[];
  /** Directory for results.json, report.html, report.md (created if missing). */
  outDir: string;
  /** Models to run (default: the preset's, i.e. all ten in the paper's order). */
  models?: string[];
  /**
   * Config overrides per model, by model name (e.g. `{"RLIV-UA": {"gamma": 0.95}}`),
   * over the preset's batch size. Checked before anything runs: a name that
   * is not one of `models` or a bad field throws.
   */
  agentConfigs?: Record<string, unknown>;
  /**
   * The file `agentConfigs` were read from (`--agent-config`): recorded in
   * results.json `tuning`, with the `rliv tune` run that wrote it when its
   * tune-results.json lies beside it (tuning-record.ts).
   */
  agentConfigPath?: string;
  /** Worker threads for the (model, seed) jobs; default: the number of CPUs. 1 = everything in this thread. Results do not depend on it. */
  workers?: number;
  /**
   * Runs the jobs instead of this process's worker threads (job-runner.ts),
   * e.g. a BullMQ queue served by `rliv worker` processes (queue-runner.ts).
   * Results do not depend on it. `workers` is then ignored.
   */
  jobRunner?: JobRunner;
  /** Progress hooks (the CLI draws bars); default silent. */
  progress?: ProgressSink;
}

export interface ExperimentOutput {
  results: ExperimentResults;
  /** `world` is absent on real logs (there is no world). */
  files: {
    results: string;
    html: string;
    markdown: string;
    world?: string;
    simulator: string;
    /** The logs every environment of the run starts after (instrument.ts). */
    history: string;
    config: string;
    curves: string;
    metrics: string;
  };
}

/** Keys of the per-model, per-part phases of results.json (`"<model>: <part>"`), summed over seeds. */
export const PART_LABELS: Record<keyof JobParts, string> = {
  collect: 'collect',
  observe: 'observe',
  trainSteps: 'train steps',
  evaluation: 'evaluation',
  world: 'world evaluation',
};

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentOutput> {
  const progress = options.progress ?? SILENT_PROGRESS;
  const preset = options.preset;
  const models = options.models ?? preset.models;
  const seeds = options.seeds;
  if (seeds.length === 0) throw new RangeError('the experiment needs at least one seed');
  if (new Set(seeds).size !== seeds.length) throw new RangeError(`seeds must be distinct, got [${seeds.join(', ')}]`);
  const agentConfigs = modelConfigs(models, preset.train.batchSize, options.agentConfigs ?? {}, 'models of this experiment', true);
  const explorations = modelExplorations(models, options.agentConfigs ?? {}, preset.train.exploration);
  checkInstrumentSource(options);
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const started = performance.now();
  const loadStart = loadavg()[0]!;
  const cpuStart = process.cpuUsage();
  const phases: Record<string, number> = {};
  /** CPU seconds of the thread that ran each job part (keys as in `phases`); empty where there is no per-thread clock. */
  const phasesCpu: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const v = await f();
    phases[name] = (phases[name] ?? 0) + (performance.now() - t0) / 1000;
    return v;
  };

  // 1-3. World (or real logs), logs, learned simulator, calibration.
  const world = await buildInstrument(options, progress, timed);
  return runOnInstrument(options, world, { models, seeds, agentConfigs, explorations, outDir, started, loadStart, cpuStart, phases, phasesCpu, timed });
}

/** Refuses a source that mixes real logs with a world, and a bad logs directory, before any work. */
export function checkInstrumentSource(options: InstrumentSourceOptions): void {
  if (options.logsDir === undefined) return;
  const other = (['worldPath', 'usersPath', 'videosPath'] as const).filter((k) => options[k] !== undefined);
  if (other.length) throw new RangeError(`logsDir (--logs) reads the catalog from the directory's tables and has no world; it excludes ${other.join(', ')}`);
  findKuaiRandDirectory(options.logsDir); // a bad directory fails here, before any work
}

/**
 * Steps 1-3: the fitted instrument of a world (generated, loaded, or on real
 * tables) or of real logs; `rliv experiment` and `rliv tune` build the same.
 */
export async function buildInstrument(
  options: InstrumentSourceOptions,
  progress: ProgressSink,
  timed: <T>(name: string, f: () => T | Promise<T>) => Promise<T>,
): Promise<FittedInstrument> {
  const { preset } = options;
  if (options.logsDir !== undefined) {
    return buildLogsInstrument({ preset, logsDir: options.logsDir, seed: options.worldSeed ?? 1, maxRows: options.maxLogRows, progress, timed });
  }
  return worldInstrument(
    await buildExperimentWorld({
      preset,
      worldSeed: options.worldSeed ?? 1,
      worldPath: options.worldPath,
      usersPath: options.usersPath,
      videosPath: options.videosPath,
      progress,
      timed,
    }),
    preset.logDays,
  );
}

/** Steps 4-6 on a fitted instrument: the same for a world and for real logs. */
async function runOnInstrument(
  options: ExperimentOptions,
  world: FittedInstrument,
  run: {
    models: string[];
    seeds: number[];
    agentConfigs: Record<string, Record<string, unknown>>;
    explorations: Record<string, ExplorationOptions>;
    outDir: string;
    started: number;
    loadStart: number;
    cpuStart: NodeJS.CpuUsage;
    phases: Record<string, number>;
    phasesCpu: Record<string, number>;
    timed: <T>(name: string, f: () => T | Promise<T>) => Promise<T>;
  },
): Promise<ExperimentOutput> {
  const { models, seeds, agentConfigs, explorations, outDir, started, loadStart, cpuStart, phases, phasesCpu, timed } = run;
  const preset = options.preset;
  const progress = options.progress ?? SILENT_PROGRESS;
  const { catalog } = world;

  // Artifacts that make the run reproducible (and let worker threads rebuild the same world and simulator).
  const files: ExperimentOutput['files'] = {
    results: join(outDir, 'results.json'),
    html: join(outDir, 'report.html'),
    markdown: join(outDir, 'report.md'),
    ...(world.description ? { world: join(outDir, 'world.json') } : {}),
    simulator: join(outDir, 'simulator.bin'),
    history: join(outDir, 'history.bin'),
    config: join(outDir, 'config.json'),
    curves: join(outDir, 'curves.csv'),
    metrics: join(outDir, 'metrics.csv'),
  };
  if (files.world) writeFileSync(files.world, JSON.stringify(world.description, null, 2) + '\n');
  world.simulator.save(files.simulator);
  // Every environment of the run, simulator and world alike, starts after the logs; the world's after its
  // unlogged warm-up too, which the simulator never saw (docs/design.md §10.6).
  const { environment, worldHistory } = instrumentHistory(world, files.history);
  // What config.json and the settings record of the warm-up: its days, and the history the world's environments start after.
  const warmUpSettings = world.preLog ? { warmUpDays: preset.warmUpDays, worldHistory: (worldHistory ?? environment.history!).summary() } : {};
  // One user split per world: every seed is judged on the same held-out users, which `rliv tune` never runs.
  const t: TrainPreset = { ...preset.train, splitSeed: preset.train.splitSeed ?? options.worldSeed ?? 1 };
  const tuning = tuningRecord(options.agentConfigPath, options.agentConfigs, {
    splitSeed: t.splitSeed!,
    heldOutFraction: t.heldOutFraction,
    validationFraction: t.validationFraction,
  });
  const tuningNotes =
    tuning.tune && !tuning.tune.sameSplit
      ? [
          `The configs were tuned (${tuning.tune.results}) on another users' split (split seed ${tuning.tune.split.splitSeed}, this run's ${t.splitSeed}): on the same world the tuning may have selected on users this run holds out.`,
        ]
      : [];
  writeRunFile(
    files.config,
    runJson({
      kind: 'rliv-experiment-config',
      version: 1,
      preset: preset.name,
      seeds,
      models: resolvedAgentConfigs(agentConfigs),
      agentConfigOverrides: options.agentConfigs ?? {},
      explorations,
      training: t,
      environment: resolvedEnvironment(environment, 'the training seed of each (model, seed) job'),
      world: world.description ?? null,
      ...(world.settings?.logs ? { logs: world.settings.logs } : {}),
      logDays: world.logDays,
      simulatorPairHistory: world.simulator.pairHistory,
      ...warmUpSettings,
      calibration: preset.calibration,
      simulatorFit: preset.simulatorFit,
    }),
  );

  // 4-5. Train every model on every seed; evaluate each in the world too.
  const worldRounds = t.lastEpochsForFigure;
  const setup: JobSetup = {
    catalog,
    simulator: world.simulator,
    groundTruth: world.groundTruth,
    environment,
    ...(worldHistory ? { worldHistory } : {}),
    loggingPolicy: world.loggingPolicy,
    train: t,
    worldRounds,
    agentConfigs,
  };
  const jobs: ExperimentJob[] = models.flatMap((model) =>
    seeds.map((seed) => ({
      kind: 'model-seed' as const,
      model,
      seed,
      agentConfig: agentConfigs[model]!,
      ...(explorations[model] ? { exploration: explorations[model] } : {}),
    })),
  );
  const workers = Math.max(1, Math.min(options.workers ?? cpus().length, jobs.length));
  const runner = options.jobRunner ?? threadJobRunner(workers);
  const done: Record<string, Array<JobResult | undefined>> = Object.fromEntries(models.map((m) => [m, seeds.map(() => undefined)]));
  let units = 0;
  progress.start('train', jobs.length * t.epochs, 'epochs');
  const onDone = (job: ExperimentJob, r: JobResult): void => {
    const { model, seed } = job;
    done[model]![seeds.indexOf(seed)] = r;
    phases[`train: ${model}`] = (phases[`train: ${model}`] ?? 0) + r.trainSeconds;
    phases['sim-to-real'] = (phases['sim-to-real'] ?? 0) + r.worldSeconds;
    for (const part of Object.keys(PART_LABELS) as Array<keyof JobParts>) {
      const key = `${model}: ${PART_LABELS[part]}`;
      phases[key] = (phases[key] ?? 0) + r.parts[part];
      if (r.cpuParts) phasesCpu[key] = (phasesCpu[key] ?? 0) + r.cpuParts[part];
    }
    const all = done[model]!;
    if (all.every(Boolean)) {
      const sl = mean(all.map((x) => x!.run.sim.sessionLength));
      const wt = mean(all.map((x) => x!.run.sim.watchTime));
      progress.log(`${model}: session length ${sl.toFixed(3)}, watch time ${wt.toFixed(1)} s (mean over ${seeds.length} seed(s))`);
    }
  };
  const trainStart = performance.now();
  const shipped = { ...world.shipped, simulatorPath: files.simulator, historyPath: files.history, environment: world.environment, train: t, worldRounds };
  await runner.run({ setup, shipped }, jobs, {
    onUnit: (note) => progress.update(++units, note),
    onStatus: (note) => progress.update(units, note),
    onDone,
    log: (message) => progress.log(message),
  });
  phases.train = (performance.now() - trainStart) / 1000;
  progress.stop();
  const runs: Record<string, SeedRun[]> = Object.fromEntries(models.map((m) => [m, done[m]!.map((r) => r!.run)]));

  // 6. The fidelity gates: reference policies in both environments, then G1-G3 on everything measured
  // (real logs: in the simulator only, G1 against the random log, G2 and G3 not applicable).
  const groundTruth = world.groundTruth;
  progress.log(`fidelity: reference policies in the simulator${groundTruth ? ' and in the world' : ''} ...`);
  const referenceSetup = { ...setup, loggingPolicy: world.loggingPolicyKnown ? setup.loggingPolicy : undefined };
  const reference: ReferenceFigures = await timed('reference policies', () =>
    runReferencePolicies(referenceSetup, groundTruth, world.simulator, seeds[0]!, worldRounds),
  );
  let fidelity;
  if (groundTruth) {
    const seedFigures: Record<string, ModelSeedFigures[]> = Object.fromEntries(
      models.map((m) => [
        m,
        runs[m]!.map((r) => ({
          sim: { sessionLength: r.sim.sessionLength, watchTime: r.sim.watchTime, ctr: r.sim.ctr, capShare: r.capShare?.sim ?? NaN },
          world: { sessionLength: r.real!.sessionLength, watchTime: r.real!.watchTime, ctr: r.real!.ctr, capShare: r.capShare?.real ?? NaN },
        })),
      ]),
    );
    fidelity = computeFidelity({ models, runs: seedFigures, reference });
  } else {
    fidelity = computeLogsFidelity({
      reference,
      randomLogClickRate: world.randomLogClickRate ?? NaN,
      randomLogRows: Number(world.settings?.randomLogRows ?? NaN),
      reason: NO_GROUND_TRUTH_GATE,
    });
  }
  const counts = [1, 2, 4, 8, 16];
  const simResponse = clickLogitByPairCount(world.simulator, counts, 2000, options.worldSeed ?? 1);
  const bn = groundTruth?.config.familiarity.clicks;
  const rep = world.simulatorReport;
  fidelity.instrument = {
    simulator: `ensemble of ${rep.members} learned simulators (bootstrap over users${rep.headShifts ? '; every binary head and the play draws of each outcome class recalibrated in the large on its training rows' : ''}), f_ua as of the session start ${rep.pairHistory === 'lifelong' ? "and counted from the pairs' lifelong counters at the logs' start" : 'and counted from the first logged day'}, click pessimism p* = mean - lambda * std`,
    ...(rep.headShifts ? { headShifts: meanHeadShifts(rep.headShifts) } : {}),
    lambda: rep.lambda,
    lambdaRule: rep.lambdaRule,
    disagreementThreshold: rep.disagreementThreshold,
    disagreementQuantile: rep.disagreementQuantile,
    clickStandard: rep.clickStandard,
    clickRandom: rep.clickRandom,
    randomLogHeads: rep.random?.heads,
    pairBucketCap: rep.pairBucketCap,
    pairBucketMinShare: rep.pairBucketMinShare,
    pairCountResponse: counts.map((n, i) => ({ clicks: n, world: bn === undefined ? null : bn * Math.log1p(n), simulator: simResponse[i]! })),
    fatigueResponse: (['author', 'tag'] as const).flatMap((kind) => {
      const sim = clickLogitByRepeat(world.simulator, kind, counts, 2000, options.worldSeed ?? 1);
      const weight = groundTruth?.config.fatigue[kind];
      return counts.map((r, i) => ({ kind, repeats: r, world: weight === undefined ? null : -weight * Math.log1p(r), simulator: sim[i]! }));
    }),
  };
  for (const g of fidelity.gates) progress.log(`fidelity ${g.id} ${g.notApplicable ? 'not applicable' : g.pass ? 'PASS' : 'FAIL'}: ${g.title}`);

  const wallSeconds = (performance.now() - started) / 1000;
  const results = buildResults({
    preset: preset.name,
    seeds,
    modelOrder: models,
    runs,
    calibration: world.calibration,
    wallSeconds,
    phases,
    ...(Object.keys(phasesCpu).length > 0 ? { phasesCpu } : {}),
    machine: { cpus: cpus().length, node: process.version, loadAverageStart: loadStart, loadAverageEnd: loadavg()[0]!, cpuSeconds: cpuSecondsSince(cpuStart) },
    settings: {
      users: catalog.numUsers,
      items: catalog.numItems,
      authors: catalog.numAuthors,
      dataSource: world.dataSource,
      worldSeed: options.worldSeed ?? 1,
      logDays: world.logDays,
      logRows: world.logRows,
      ...world.settings,
      epochs: t.epochs,
      sessionsPerEpoch: t.sessionsPerEpoch,
      evalSessionsPerEpoch: t.evalSessionsPerEpoch,
      stepsPerEpoch: t.stepsPerEpoch,
      batchSize: t.batchSize,
      agentConfigOverrides: options.agentConfigs ?? {},
      heldOutFraction: t.heldOutFraction,
      lastEpochsForFigure: t.lastEpochsForFigure,
      worldEvaluation: groundTruth
        ? `every epoch's greedy policy on the held-out panel, in the world as in the simulator (the panel keeps its history from epoch to epoch); the figure is the mean of the last ${t.lastEpochsForFigure} epochs`
        : 'none (no ground-truth world)',
      ...(options.jobRunner ? {} : { workers }),
      jobRunner: runner.description,
      exploration: t.exploration,
      environment: world.environment,
      history: environment.history!.summary(),
      simulatorPairHistory: world.simulator.pairHistory,
      ...warmUpSettings,
      ...(groundTruth ? { calibration: preset.calibration } : {}),
      simulatorFit: preset.simulatorFit,
    },
    notes: [...world.notes, ...tuningNotes],
    noGroundTruth: world.noGroundTruth,
  });
  results.fidelity = fidelity;
  results.tuning = tuning;
  const json = resultsToJson(results);
  writeFileSync(files.results, json);
  // The reports are rendered from the saved JSON, exactly as `rliv report` rebuilds them.
  for (const f of renderSavedReports({ kind: 'experiment', results }, json)) writeFileSync(join(outDir, f.name), f.text);
  writeRunFile(files.curves, longCsv(experimentCurveRows(results)));
  writeRunFile(files.metrics, longCsv(experimentMetricRows(results)));
  return { results, files };
}

export { experimentPreset };

/** The members' mean logit shift per head (their calibration in the large; NaN members, whose head was left alone, are skipped). */
function meanHeadShifts(shifts: readonly HeadShifts[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(shifts[0] ?? {}) as Array<keyof HeadShifts>) {
    const v = shifts.map((s) => s[k]).filter((x) => Number.isFinite(x));
    out[k] = v.length > 0 ? mean(v) : NaN;
  }
  return out;
}
