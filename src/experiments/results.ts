/**
 * The shape of `DIR/results.json` written by `rliv experiment`, and the one
 * function that turns raw per-seed figures into it (summaries, significance
 * against RLIV-UA). The report generators read only this shape, so a report
 * can be rebuilt from a results file without re-running anything.
 *
 * Shape (issue 6): `{preset, seeds, models: {NAME: {METRIC: {mean, std, ci95},
 * curves: {epoch, METRIC: [[per epoch] per seed]}}}, simToReal: {NAME:
 * {METRIC: {...}}}, calibration, significance: {NAME: {METRIC:
 * {"diffVsRLIV-UA", ci95, pValue}}}, wallSeconds}` plus additive fields
 * (per-seed values, n, test kind, settings, machine, phases).
 */
import type { FidelityResults } from './fidelity.js';
import { curveConvergence, DEFAULT_CONVERGENCE, meanCurve, seedsConverged, type Convergence, type ConvergenceOptions } from './convergence.js';
import { differenceTest, summarize } from './statistics.js';
import type { TuningRecord } from './tuning-record.js';

/** The reference model every other model is tested against. */
export const REFERENCE_MODEL = 'RLIV-UA';

/** Models of the paper's Table 2 (baselines and RLIV-UA), in the paper's order. */
export const TABLE2_MODELS = ['RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR', 'RLIV-UA'] as const;
/** Models of the paper's Table 3 (ablations and RLIV-UA). */
export const TABLE3_MODELS = ['RLIV-UA(w/o MT & SL)', 'RLIV-UA(w/o MT)', 'RLIV-UA(w/o SL)', 'RLIV-UA(w/o AL & SL)', 'RLIV-UA'] as const;

/** Metrics of the offline experiment (docs/design.md §6.4), in table order. */
export const REPORT_METRICS = ['sessionLength', 'watchTime', 'ctr', 'diversity', 'newFans'] as const;
export type ReportMetric = (typeof REPORT_METRICS)[number];

/** How each metric is labelled, formatted and which direction is better. */
export const METRIC_INFO: Record<ReportMetric, { label: string; unit: string; digits: number; higherIsBetter: boolean; description: string }> = {
  sessionLength: { label: 'Session Length', unit: 'requests', digits: 4, higherIsBetter: true, description: 'requests per session' },
  watchTime: { label: 'Watch Time', unit: 's', digits: 4, higherIsBetter: true, description: 'seconds watched per session' },
  ctr: { label: 'CTR', unit: '', digits: 4, higherIsBetter: true, description: 'clicks / exposures' },
  diversity: { label: 'Diversity', unit: '', digits: 4, higherIsBetter: true, description: "1 - share of same-tag pairs among a session's exposed items" },
  newFans: { label: 'New Fans', unit: 'per session', digits: 4, higherIsBetter: true, description: 'first follows per session' },
};

/** Summary of one metric of one model over seeds, as written to JSON. */
export interface MetricSummary {
  mean: number;
  std: number;
  /** 95 % t-interval of the mean; NaN (null in JSON) with fewer than two seeds. */
  ci95: [number, number];
  /** Number of seeds. */
  n: number;
  /** The per-seed figures, in the order of `seeds`. */
  values: number[];
}

/**
 * Learning curves: per metric, one array of per-epoch evaluation figures per
 * seed; `probe` and `world` the same for the probe evaluation and the
 * world's (SeedRun.curve), present when every seed has one.
 */
export type Curves = { epoch: number[]; probe?: { [M in ReportMetric]?: number[][] }; world?: { [M in ReportMetric]?: number[][] } } & {
  [M in ReportMetric]?: number[][];
};

export type ModelResult = { [M in ReportMetric]: MetricSummary } & { curves: Curves };

/** Difference of one model to RLIV-UA on one metric (model minus RLIV-UA). */
export interface SignificanceEntry {
  'diffVsRLIV-UA': number;
  ci95: [number, number];
  pValue: number;
  /** Paired t over seeds (same seeds) or Welch. */
  test: 'paired' | 'welch';
  df: number;
}

/** One row of the calibration table: a quantity, its target and what the world and the learned simulator give. */
export interface CalibrationRow {
  /** What is measured, e.g. "click rate (logging policy)". */
  quantity: string;
  /** The target (e.g. the KuaiRand-Pure rate), or null when there is none. */
  target: number | null;
  /** The ground-truth world under the logging policy. */
  world: number | null;
  /** The learned simulator under the same policy. */
  simulator: number | null;
  /** Where the target comes from. */
  source?: string;
}

export interface Calibration {
  rows: CalibrationRow[];
  /** Header of the `world` column (default "World"; "Logs" on real logs, which have no world). */
  worldLabel?: string;
  /** The table's caption, when it is not the world's (rates under the logging policy). */
  caption?: string;
  /** Free-form notes (e.g. the fitted intercepts, held-out log loss). */
  notes?: string[];
}

/** Machine and load figures, so the wall time can be read in context. */
export interface MachineInfo {
  cpus: number;
  node: string;
  /** 1-minute load average at the start and the end of the run. */
  loadAverageStart: number;
  loadAverageEnd: number;
  /** CPU seconds (user + system) this process used: on a shared machine, the wall time an idle machine would roughly need. */
  cpuSeconds?: number;
}

export interface ExperimentResults {
  preset: string;
  seeds: number[];
  /** Exact model names, in the paper's order. */
  modelOrder: string[];
  models: Record<string, ModelResult>;
  /** The same policies evaluated in the ground-truth world. */
  simToReal: Record<string, { [M in ReportMetric]: MetricSummary }>;
  calibration: Calibration;
  significance: Record<string, { [M in ReportMetric]: SignificanceEntry }>;
  /** The same differences to RLIV-UA on the ground-truth world's figures (the sim-to-real evaluation); absent without a ground truth (real logs). */
  significanceWorld?: Record<string, { [M in ReportMetric]: SignificanceEntry }>;
  wallSeconds: number;
  /** When the run finished (ISO 8601, UTC): the report's date, so a report rebuilt from this file is the same byte for byte. */
  createdAt?: string;
  /**
   * Wall-clock seconds spent per phase: generate, calibrate, logs,
   * fit-simulator, sim-check, train (the whole training stage), and per model
   * "train: <model>" (whole jobs) and "<model>: <part>" with part one of
   * collect, observe, train steps, evaluation, world evaluation, summed over
   * seeds (jobs on worker threads overlap, so these sum to more than `train`).
   */
  phases?: Record<string, number>;
  /** CPU seconds of the thread that ran each "<model>: <part>" of `phases` (Linux; absent elsewhere): on a shared machine, what the parts cost without waiting for a core. */
  phasesCpu?: Record<string, number>;
  machine?: MachineInfo;
  /** The settings the run used (epochs, sessions per epoch, users, ...). */
  settings?: Record<string, unknown>;
  /** Notes the runner wants in the report (data source, caveats). */
  notes?: string[];
  /** The fidelity gates G1-G3 of the offline instrument (src/experiments/fidelity.ts). */
  fidelity?: FidelityResults;
  /** Set when there is no ground-truth world (real KuaiRand logs, `--logs`): why the tables have no world columns. `simToReal` is then empty. */
  noGroundTruth?: string;
  /** Per model, per seed: the raw final figures (simulator and world) and cap shares. */
  perSeed?: Record<string, SeedRun[] extends Array<infer R> ? Array<Omit<R, 'curve'>> : never>;
  /**
   * Per model and metric: is its learning curve (the mean over seeds of the
   * per-epoch evaluation figures in the simulator) converged by the
   * criterion of convergence.ts, with the slope, its interval, and how many
   * single-seed curves pass the same test.
   */
  convergence?: Record<string, { [M in ReportMetric]: ConvergenceEntry }>;
  /** The criterion `convergence` was judged by (window, largest relative slope, confidence). */
  convergenceCriterion?: ConvergenceOptions;
  /** Which curves `convergence` was judged on: the probe evaluation's (every epoch from the same fresh state) or, in runs without one, the evaluation's. */
  convergenceCurves?: 'probe' | 'evaluation';
  /** Where the models' configs came from: defaults, an --agent-config file, or an `rliv tune` selection (tuning-record.ts). */
  tuning?: TuningRecord;
}

/** The convergence verdict on one model's curve of one metric (see convergence.ts). */
export type ConvergenceEntry = Convergence & {
  /** Seeds whose own curve passes the criterion, of `seeds`. */
  seedsConverged: number;
  seeds: number;
};

/** Raw figures of one model on one seed: the "mean of the last 10 evaluation epochs" per metric, and the curves. */
export interface SeedRun {
  seed: number;
  /** Final figures in the learned simulator. */
  sim: Record<ReportMetric, number>;
  /** Final figures in the ground-truth world, measured as `sim` is (the mean of the last epochs' evaluations of a panel that keeps its history); absent when there is none (real logs). */
  real?: Record<ReportMetric, number>;
  /**
   * Per-epoch evaluation figures in the learned simulator; `probe`: the
   * probe evaluation's (every epoch from the same fresh state, see
   * training-loop.ts EpochReport.probe), which convergence is judged on;
   * `world`: the same policies evaluated every epoch in the world, by the
   * simulator's protocol (EpochReport.mirror), whose last epochs give `real`.
   */
  curve: { epoch: number[]; probe?: Record<ReportMetric, number[]>; world?: Record<ReportMetric, number[]> } & Record<ReportMetric, number[]>;
  /** Share of evaluation sessions that ended at the request cap, in the simulator and in the world (fidelity gate G2). */
  capShare?: { sim: number; real?: number };
}

export interface BuildResultsInput {
  preset: string;
  seeds: number[];
  modelOrder: string[];
  /** Per model, one run per seed in the order of `seeds`. */
  runs: Record<string, SeedRun[]>;
  calibration: Calibration;
  wallSeconds: number;
  /** When the run finished (ISO 8601); default: now. */
  createdAt?: string;
  phases?: Record<string, number>;
  phasesCpu?: Record<string, number>;
  machine?: MachineInfo;
  settings?: Record<string, unknown>;
  notes?: string[];
  /** Why there is no ground truth (real logs); the runs then have no `real` figures. */
  noGroundTruth?: string;
}

function metricSummary(values: number[]): MetricSummary {
  const s = summarize(values);
  return { mean: s.mean, std: s.std, ci95: s.ci95, n: s.n, values };
}

/** Turns per-seed runs into the results object: summaries, curves, sim-to-real and tests against RLIV-UA. */
export function buildResults(input: BuildResultsInput): ExperimentResults {
  const models: Record<string, ModelResult> = {};
  const simToReal: ExperimentResults['simToReal'] = {};
  for (const name of input.modelOrder) {
    const runs = input.runs[name];
    if (!runs || runs.length === 0) throw new Error(`buildResults: no runs for model "${name}"`);
    const seedsOfRuns = runs.map((r) => r.seed);
    if (seedsOfRuns.some((s, i) => s !== input.seeds[i]) || seedsOfRuns.length !== input.seeds.length) {
      throw new Error(`buildResults: runs of "${name}" are for seeds [${seedsOfRuns.join(', ')}], expected [${input.seeds.join(', ')}]`);
    }
    const hasWorld = runs.map((r) => r.real !== undefined);
    if (hasWorld.some((x) => x !== hasWorld[0])) throw new Error(`buildResults: some runs of "${name}" have world figures and some do not`);
    if (hasWorld[0] === (input.noGroundTruth !== undefined)) {
      throw new Error(
        `buildResults: runs of "${name}" ${hasWorld[0] ? 'have world figures but the results say there is no ground truth' : 'have no world figures and no reason is given (noGroundTruth)'}`,
      );
    }
    const curves: Curves = { epoch: runs[0]!.curve.epoch.slice() };
    const result = { curves } as ModelResult;
    const real = {} as { [M in ReportMetric]: MetricSummary };
    for (const m of REPORT_METRICS) {
      result[m] = metricSummary(runs.map((r) => r.sim[m]));
      if (hasWorld[0]) real[m] = metricSummary(runs.map((r) => r.real![m]));
      curves[m] = runs.map((r) => r.curve[m].slice());
    }
    for (const kind of ['probe', 'world'] as const) {
      if (!runs.every((r) => r.curve[kind])) continue;
      const c: NonNullable<Curves[typeof kind]> = {};
      for (const m of REPORT_METRICS) c[m] = runs.map((r) => r.curve[kind]![m].slice());
      curves[kind] = c;
    }
    models[name] = result;
    if (hasWorld[0]) simToReal[name] = real;
  }
  const significance = differencesToReference(input, 'sim');
  // Real logs have no world figures, hence no world differences.
  const significanceWorld = input.noGroundTruth === undefined ? differencesToReference(input, 'real') : undefined;
  return {
    preset: input.preset,
    seeds: input.seeds.slice(),
    modelOrder: input.modelOrder.slice(),
    models,
    simToReal,
    calibration: input.calibration,
    significance,
    ...(significanceWorld ? { significanceWorld } : {}),
    wallSeconds: input.wallSeconds,
    createdAt: input.createdAt ?? new Date().toISOString(),
    phases: input.phases,
    ...(input.phasesCpu ? { phasesCpu: input.phasesCpu } : {}),
    machine: input.machine,
    settings: input.settings,
    notes: input.notes,
    ...(input.noGroundTruth !== undefined ? { noGroundTruth: input.noGroundTruth } : {}),
    perSeed: Object.fromEntries(input.modelOrder.map((m) => [m, input.runs[m]!.map(({ curve: _curve, ...rest }) => rest)])),
    convergence: Object.fromEntries(input.modelOrder.map((m) => [m, modelConvergence(models[m]!.curves)])),
    convergenceCriterion: { ...DEFAULT_CONVERGENCE },
    convergenceCurves: input.modelOrder.every((m) => models[m]!.curves.probe) ? 'probe' : 'evaluation',
  };
}

/** Each model's difference to RLIV-UA per metric, with its 95 % interval and p-value, on the simulator's ('sim') or the world's ('real') figures. */
function differencesToReference(input: BuildResultsInput, where: 'sim' | 'real'): ExperimentResults['significance'] {
  const out: ExperimentResults['significance'] = {};
  const reference = input.runs[REFERENCE_MODEL];
  if (!reference) return out;
  for (const name of input.modelOrder) {
    if (name === REFERENCE_MODEL) continue;
    const runs = input.runs[name]!;
    const entry = {} as { [M in ReportMetric]: SignificanceEntry };
    for (const m of REPORT_METRICS) {
      const t = differenceTest(
        runs.map((r) => r[where]![m]),
        reference.map((r) => r[where]![m]),
        runs.map((r) => r.seed),
        reference.map((r) => r.seed),
      );
      entry[m] = { 'diffVsRLIV-UA': t.diff, ci95: t.ci95, pValue: t.pValue, test: t.test, df: t.df };
    }
    out[name] = entry;
  }
  return out;
}

/**
 * Every metric's convergence verdict for one model's curves (the mean curve
 * over seeds, and the seeds one by one): on the probe curves when there are
 * some (they do not drift with the evaluation users' history), else on the
 * evaluation curves.
 */
export function modelConvergence(curves: Curves): { [M in ReportMetric]: ConvergenceEntry } {
  const out = {} as { [M in ReportMetric]: ConvergenceEntry };
  for (const m of REPORT_METRICS) {
    const perSeed = (curves.probe ? curves.probe[m] : curves[m]) ?? [];
    out[m] = { ...curveConvergence(meanCurve(perSeed), {}, curves.epoch), seedsConverged: seedsConverged(perSeed), seeds: perSeed.length };
  }
  return out;
}

/**
 * JSON text of the results: NaN and infinities (no spread with one seed) are
 * written as null, which the report generators show as "n/a".
 */
export function resultsToJson(results: ExperimentResults): string {
  return JSON.stringify(results, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
