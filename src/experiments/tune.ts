/**
 * `rliv tune` (issue 15 item 2; docs/design.md §8.5): the same budget of
 * candidate configs for every model, each trained exactly as the experiment
 * trains it, and the one with the best VALIDATION figure selected.
 *
 *   1. the instrument, built as `rliv experiment` builds it (buildInstrument:
 *      a world, its logs and the learned simulator; or, with `logsDir`, the
 *      simulator fitted on real KuaiRand logs — tuning needs only the
 *      simulator and the users' split, so it runs the same on either);
 *   2. per model, `budget` candidates from its grid (tuning-grid.ts:
 *      config 0 = the default, the rest a seeded random sample);
 *   3. one job per (model, candidate, seed): the experiment's schedule in the
 *      learned simulator, training users only, every epoch evaluated on the
 *      VALIDATION users (training-loop.ts `splitUsers`: a share of the
 *      non-held-out users that is never trained on). The HELD-OUT users — the
 *      ones every experiment seed is judged on, the split seed being the
 *      world's — are never run;
 *   4. per model, the candidate with the highest mean over seeds of the
 *      validation figure (`metric`, default watch time: the mean of the last
 *      10 epochs, as the experiment's figures are) wins; ties go to the lower
 *      index, so the default wins a tie;
 *   5. DIR/agent-config.json (the winners, the file `rliv experiment
 *      --agent-config` reads), DIR/tune-results.json (every candidate's
 *      figures and curves, the selection, the grid and settings) and
 *      DIR/tune-report.md.
 *
 * Jobs run on the experiment's job runners (worker threads, or a BullMQ
 * queue): a tuning job is one more kind of experiment job.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExplorationOptions } from '../agents/exploration.js';
import { resolveAgentConfig } from '../agents/registry.js';
import { DEFAULT_CONVERGENCE, curveConvergence, meanCurve, type Convergence } from './convergence.js';
import type { ExperimentPreset } from './experiment-presets.js';
import type { ExperimentJob, JobParts, JobSetup, TuneJobResult } from './experiment-job.js';
import { instrumentHistory } from './instrument.js';
import { buildInstrument, checkInstrumentSource, type InstrumentSourceOptions } from './experiment.js';
import { threadJobRunner, type JobRunner } from './job-runner.js';
import { modelConfigs, modelExplorations, splitModelOverrides } from './model-configs.js';
import { SILENT_PROGRESS, type ProgressSink } from './progress.js';
import { METRIC_INFO, REPORT_METRICS, type ReportMetric } from './results.js';
import type { TrainPreset } from './train-presets.js';
import { candidateConfigs, gridSize, TUNING_GRIDS, type Knob } from './tuning-grid.js';

/** The instrument's source is the experiment's (`worldSeed` also seeds the users' split); `preset` gives the world and the training schedule. */
export interface TuneOptions extends InstrumentSourceOptions {
  /** Tuning seeds (each candidate trains once per seed; the figure is the mean). */
  seeds: number[];
  /** Candidate configs per model, the same for every model (config 0 is the default). */
  budget: number;
  /** The validation figure a candidate is selected on (a REPORT_METRICS name, higher is better). Default watchTime. */
  metric?: ReportMetric;
  /** Models to tune (default: the preset's). */
  models?: string[];
  /** Directory of agent-config.json, tune-results.json, tune-report.md (and world.json, simulator.bin). */
  outDir: string;
  /** Worker threads (default: one per CPU); results do not depend on it. */
  workers?: number;
  /** Where the jobs run (default: worker threads). */
  jobRunner?: JobRunner;
  progress?: ProgressSink;
  /** The command line, recorded in tune-results.json. */
  command?: string;
}

/** One candidate of one model: its overrides and what it scored on the validation users. */
export interface TunedCandidate {
  /** Index in the model's candidates (0 = the default). */
  index: number;
  /** Its --agent-config entry (agent fields and `exploration`); {} for the default. */
  overrides: Record<string, unknown>;
  /** The validation figure of each tuning seed, per metric. */
  figures: Array<Record<ReportMetric, number>>;
  /** Mean over seeds of the selection metric. */
  score: number;
  /** Convergence of the selection metric's mean validation curve (convergence.ts). */
  convergence: Convergence;
}

export interface TuneResults {
  kind: 'rliv-tune';
  version: 1;
  preset: string;
  metric: ReportMetric;
  budget: number;
  seeds: number[];
  /** The users' split: the world's seed, held-out and validation shares. */
  split: { splitSeed: number; heldOutFraction: number; validationFraction: number };
  /** Per model: the knobs of its grid, every candidate, and the selected one. */
  models: Record<
    string,
    { grid: Array<{ name: string; values: Array<Record<string, unknown>> }>; gridSize: number; candidates: TunedCandidate[]; selected: number }
  >;
  /** The winners, exactly as written to agent-config.json. */
  selected: Record<string, Record<string, unknown>>;
  settings: Record<string, unknown>;
  command?: string;
  wallSeconds: number;
  /** Seconds per model and part of its jobs (as the experiment's phases). */
  phases: Record<string, number>;
  createdAt: string;
}

export interface TuneOutput {
  results: TuneResults;
  /** `world` is absent on real logs (there is no world). */
  files: { agentConfig: string; results: string; report: string; world?: string; simulator: string; history: string };
}

/**
 * The index of the best candidate: the highest mean over seeds of `metric`
 * (NaN counts as worst); ties go to the lower index. Pure, for tests.
 */
export function selectCandidate(
  figures: ReadonlyArray<ReadonlyArray<Partial<Record<ReportMetric, number>>>>,
  metric: ReportMetric,
): { index: number; scores: number[] } {
  if (figures.length === 0) throw new RangeError('selectCandidate: no candidates');
  const scores = figures.map((perSeed) => (perSeed.length ? perSeed.reduce((s, f) => s + (f[metric] ?? NaN), 0) / perSeed.length : NaN));
  let best = 0;
  for (let i = 1; i < scores.length; i++) {
    const s = scores[i]!;
    const b = scores[best]!;
    if (Number.isFinite(s) && (!Number.isFinite(b) || s > b)) best = i;
  }
  return { index: best, scores };
}

/** Whether a per-model entry resolves to the model's default agent config and the schedule's exploration. */
function defaultTester(model: string, batchSize: number, base: ExplorationOptions): (entry: Record<string, unknown>) => boolean {
  const reference = JSON.stringify(resolveAgentConfig(model, { batchSize }));
  const baseJson = JSON.stringify(base);
  return (entry) => {
    const { agent, exploration } = splitModelOverrides(entry);
    if (JSON.stringify(resolveAgentConfig(model, { batchSize, ...agent })) !== reference) return false;
    return !exploration || JSON.stringify({ ...base, ...exploration }) === baseJson;
  };
}

export async function runTune(options: TuneOptions): Promise<TuneOutput> {
  const progress = options.progress ?? SILENT_PROGRESS;
  const preset = options.preset;
  const models = options.models ?? preset.models;
  const metric = options.metric ?? 'watchTime';
  const seeds = options.seeds;
  if (!REPORT_METRICS.includes(metric)) throw new RangeError(`unknown metric "${metric}"; choose one of ${REPORT_METRICS.join(', ')}`);
  if (!METRIC_INFO[metric].higherIsBetter) throw new RangeError(`metric "${metric}" is not higher-is-better`);
  if (seeds.length === 0 || new Set(seeds).size !== seeds.length) throw new RangeError(`tuning needs distinct seeds, got [${seeds.join(', ')}]`);
  for (const m of models) if (!TUNING_GRIDS[m]) throw new RangeError(`no tuning grid for model "${m}"; models: ${Object.keys(TUNING_GRIDS).join(', ')}`);
  const worldSeed = options.worldSeed ?? 1;
  const t: TrainPreset = { ...preset.train, splitSeed: preset.train.splitSeed ?? worldSeed };
  if (!(t.validationFraction > 0)) throw new RangeError(`the preset's validationFraction is ${t.validationFraction}: tuning needs validation users`);
  checkInstrumentSource(options);

  // Candidates first: a bad budget fails before anything is built.
  const candidates: Record<string, Array<Record<string, unknown>>> = {};
  const agentConfigs: Record<string, Array<Record<string, unknown>>> = {};
  const explorations: Record<string, Array<ExplorationOptions | undefined>> = {};
  for (const model of models) {
    candidates[model] = candidateConfigs(model, options.budget, worldSeed, defaultTester(model, t.batchSize, t.exploration));
    agentConfigs[model] = candidates[model]!.map((c) => modelConfigs([model], t.batchSize, { [model]: c }, 'models tuned', true)[model]!);
    explorations[model] = candidates[model]!.map((c) => modelExplorations([model], { [model]: c }, t.exploration)[model]);
  }

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
  const world = await buildInstrument({ ...options, worldSeed }, progress, timed);
  const files: TuneOutput['files'] = {
    agentConfig: join(outDir, 'agent-config.json'),
    results: join(outDir, 'tune-results.json'),
    report: join(outDir, 'tune-report.md'),
    ...(world.description ? { world: join(outDir, 'world.json') } : {}),
    simulator: join(outDir, 'simulator.bin'),
    history: join(outDir, 'history.bin'),
  };
  if (files.world) writeFileSync(files.world, JSON.stringify(world.description, null, 2) + '\n');
  world.simulator.save(files.simulator);
  const { environment, worldHistory } = instrumentHistory(world, files.history);

  const setup: JobSetup = {
    catalog: world.catalog,
    simulator: world.simulator,
    groundTruth: world.groundTruth,
    environment,
    ...(worldHistory ? { worldHistory } : {}),
    loggingPolicy: world.loggingPolicy,
    train: t,
    worldRounds: t.lastEpochsForFigure,
    agentConfigs: {},
  };
  const jobs: ExperimentJob[] = [];
  for (const model of models) {
    for (let config = 0; config < options.budget; config++) {
      for (const seed of seeds) {
        const exploration = explorations[model]![config];
        jobs.push({ kind: 'tune', model, seed, config, agentConfig: agentConfigs[model]![config]!, ...(exploration ? { exploration } : {}) });
      }
    }
  }
  const results: Record<string, Array<Array<TuneJobResult | undefined>>> = Object.fromEntries(
    models.map((m) => [m, candidates[m]!.map(() => seeds.map(() => undefined))]),
  );
  const workers = Math.max(1, Math.min(options.workers ?? cpus().length, jobs.length));
  const runner = options.jobRunner ?? threadJobRunner(workers);
  let units = 0;
  progress.start('tune', jobs.length * t.epochs, 'epochs');
  const trainStart = performance.now();
  await runner.run(
    {
      setup,
      shipped: {
        ...world.shipped,
        simulatorPath: files.simulator,
        historyPath: files.history,
        environment: world.environment,
        train: t,
        worldRounds: t.lastEpochsForFigure,
      },
    },
    jobs,
    {
      onUnit: (note) => progress.update(++units, note),
      onStatus: (note) => progress.update(units, note),
      onDone: (job, r) => {
        if (job.kind !== 'tune') return;
        const result = r as TuneJobResult;
        results[job.model]![job.config]![seeds.indexOf(job.seed)] = result;
        for (const part of Object.keys(result.parts) as Array<keyof JobParts>) {
          const key = `${job.model}: ${part}`;
          phases[key] = (phases[key] ?? 0) + result.parts[part];
        }
      },
      log: (message) => progress.log(message),
    },
  );
  phases.tune = (performance.now() - trainStart) / 1000;
  progress.stop();

  const out: TuneResults['models'] = {};
  const selected: Record<string, Record<string, unknown>> = {};
  for (const model of models) {
    const perCandidate = results[model]!.map((perSeed) => perSeed.map((r) => r!.figure));
    const { index, scores } = selectCandidate(perCandidate, metric);
    out[model] = {
      grid: TUNING_GRIDS[model]!.map((k: Knob) => ({ name: k.name, values: k.values })),
      gridSize: gridSize(TUNING_GRIDS[model]!),
      candidates: candidates[model]!.map((overrides, i) => ({
        index: i,
        overrides,
        figures: perCandidate[i]!,
        score: scores[i]!,
        // On the probe curves (no drift from the validation users' history) when the jobs have them.
        convergence: curveConvergence(
          meanCurve(results[model]![i]!.map((r) => (r!.curve.probe ?? r!.curve)[metric])),
          DEFAULT_CONVERGENCE,
          results[model]![i]![0]!.curve.epoch,
        ),
      })),
      selected: index,
    };
    selected[model] = candidates[model]![index]!;
    progress.log(
      `${model}: candidate ${index} of ${options.budget} (${JSON.stringify(selected[model])}), validation ${METRIC_INFO[metric].label} ${scores[index]!.toFixed(3)} (default ${scores[0]!.toFixed(3)})`,
    );
  }
  const tune: TuneResults = {
    kind: 'rliv-tune',
    version: 1,
    preset: preset.name,
    metric,
    budget: options.budget,
    seeds: seeds.slice(),
    split: { splitSeed: t.splitSeed!, heldOutFraction: t.heldOutFraction, validationFraction: t.validationFraction },
    models: out,
    selected,
    settings: {
      dataSource: world.dataSource,
      ...(world.noGroundTruth ? { groundTruth: false } : {}),
      ...(world.settings?.logs ? { logs: world.settings.logs } : {}),
      epochs: t.epochs,
      stepsPerEpoch: t.stepsPerEpoch,
      batchSize: t.batchSize,
      sessionsPerEpoch: t.sessionsPerEpoch,
      evalSessionsPerEpoch: t.evalSessionsPerEpoch,
      worldSeed,
      workers,
      runner: runner.description,
      users: world.catalog.numUsers,
      loadAverageStart: loadStart,
      loadAverageEnd: loadavg()[0]!,
    },
    ...(options.command ? { command: options.command } : {}),
    wallSeconds: (performance.now() - started) / 1000,
    phases,
    createdAt: new Date().toISOString(),
  };
  writeFileSync(files.agentConfig, JSON.stringify(selected, null, 2) + '\n');
  writeFileSync(files.results, JSON.stringify(tune, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  writeFileSync(files.report, renderTuneReport(tune));
  return { results: tune, files };
}

/**
 * How the tune report shows one value of a knob: the value of its first
 * field, or of that field's first field when it nests an object
 * (`{exploration: {epsilon: 0.2}}` shows 0.2); an array shows whole
 * (`{hidden: [64, 64]}` shows [64,64]).
 */
export function knobValueText(value: Record<string, unknown>): string {
  const first = Object.values(value)[0];
  const shown = first !== null && typeof first === 'object' && !Array.isArray(first) ? Object.values(first)[0] : first;
  return JSON.stringify(shown);
}

/** tune-report.md: per model, every candidate's overrides and validation score, the winner marked. */
export function renderTuneReport(r: TuneResults): string {
  const label = METRIC_INFO[r.metric].label;
  const lines = [
    `# rliv tune (${r.preset})`,
    '',
    `${r.budget} candidate configs per model (config 0 = the default), ${r.seeds.length} seed(s) [${r.seeds.join(', ')}]; selected on the VALIDATION users' ${label} (mean of the last epochs, mean over seeds); the held-out users (split seed ${r.split.splitSeed}, ${r.split.heldOutFraction * 100} %) were never run. Wall time ${r.wallSeconds.toFixed(0)} s.`,
    ...(r.command ? ['', `Command: \`${r.command}\``] : []),
    '',
  ];
  for (const [model, m] of Object.entries(r.models)) {
    lines.push(
      `## ${model}`,
      '',
      `Grid (${m.gridSize} points): ${m.grid.map((k) => `${k.name} ∈ {${k.values.map(knobValueText).join(', ')}}`).join('; ')}.`,
      '',
    );
    lines.push(`| config | overrides | validation ${label} | converged |`, '|---|---|---|---|');
    for (const c of m.candidates) {
      const mark = c.index === m.selected ? ' **(selected)**' : '';
      lines.push(
        `| ${c.index}${mark} | ${c.index === 0 ? 'default' : '`' + JSON.stringify(c.overrides) + '`'} | ${Number.isFinite(c.score) ? c.score.toFixed(3) : 'n/a'} | ${c.convergence.converged ? 'yes' : 'no'} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n') + '\n';
}
