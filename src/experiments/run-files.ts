/**
 * The files every run writes beside its results, for tools other than this
 * one (pandas, R, a spreadsheet):
 *
 * - `config.json`: the fully resolved configuration: every model's agent
 *   config with all defaults filled in (not only the user's overrides), the
 *   environment with its quit and return models, the world (its calibrated
 *   config), the training schedule and the seeds;
 * - `curves.csv`: learning curves in long format, one row per (model, seed,
 *   epoch, metric);
 * - `metrics.csv`: the final figures in the same long format.
 *
 * CSV: a header `model,seed,epoch,metric,value`, RFC 4180 quoting where a
 * field needs it, numbers in full precision (JavaScript's shortest
 * round-trip form), an empty field for a missing value (NaN, no epoch).
 */
import { writeFileSync } from 'node:fs';
import { resolveAgentConfig } from '../agents/registry.js';
import { resolvedEnvironmentOptions, type EnvironmentOptions } from '../environment/environment.js';
import type { AbTestResults } from './ab-results.js';
import { REPORT_METRICS, type ExperimentResults } from './results.js';
import type { TrainingResult } from './training-loop.js';

/** Header of curves.csv and metrics.csv. */
export const LONG_CSV_HEADER = ['model', 'seed', 'epoch', 'metric', 'value'] as const;

/** One row of a long-format CSV. `epoch` is null when the value belongs to no single epoch. */
export interface LongRow {
  model: string;
  seed: number;
  epoch: number | null;
  metric: string;
  value: number | null;
}

function csvField(x: string | number | null): string {
  if (x === null || (typeof x === 'number' && !Number.isFinite(x))) return '';
  const s = String(x);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The CSV text of `rows` (header first, "\n" line ends, a final newline). */
export function longCsv(rows: Iterable<LongRow>): string {
  const lines = [LONG_CSV_HEADER.join(',')];
  for (const r of rows) lines.push([r.model, r.seed, r.epoch, r.metric, r.value].map(csvField).join(','));
  return lines.join('\n') + '\n';
}

/** JSON text as the run files write it (2-space indent, NaN as null, final newline). */
export function runJson(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

/** Every model's agent config with all defaults filled in, by model name. */
export function resolvedAgentConfigs(configs: Record<string, Record<string, unknown>>): Record<string, object> {
  return Object.fromEntries(Object.entries(configs).map(([name, c]) => [name, resolveAgentConfig(name, c)]));
}

/**
 * The environment as it runs, all defaults filled in. `seed` is the
 * environment's seed, or a sentence saying where the seeds come from when
 * the run has one environment per job.
 */
export function resolvedEnvironment(environment: Partial<EnvironmentOptions>, seed: number | string): Record<string, unknown> {
  const { history, historyUsers: _users, ...options } = resolvedEnvironmentOptions(environment);
  return {
    ...options,
    seed,
    history: history
      ? {
          ...history.summary(),
          what: 'every simulator environment starts after this history: the logs, after the pair counters at their start for a lifelong simulator (docs/design.md §5.5)',
        }
      : null,
  };
}

/**
 * Learning curves of an experiment: the simulator evaluation after every
 * epoch, per model, seed and metric (`simulator.<metric>`), and the probe's
 * and the world's evaluations where the run has them (`probe.<metric>`,
 * `world.<metric>`).
 */
export function* experimentCurveRows(results: ExperimentResults): Generator<LongRow> {
  for (const model of results.modelOrder) {
    const c = results.models[model]?.curves;
    if (!c) continue;
    for (const [prefix, curves] of [
      ['simulator', c],
      ['probe', c.probe],
      ['world', c.world],
    ] as const) {
      if (!curves) continue;
      for (const metric of REPORT_METRICS) {
        const perSeed = curves[metric];
        if (!perSeed) continue;
        for (let s = 0; s < perSeed.length; s++) {
          const row = perSeed[s]!;
          for (let e = 0; e < row.length; e++)
            yield { model, seed: results.seeds[s]!, epoch: c.epoch[e] ?? e + 1, metric: `${prefix}.${metric}`, value: row[e] ?? null };
        }
      }
    }
  }
}

/**
 * Final figures of an experiment per model and seed: `simulator.<metric>`
 * (mean of the last evaluation epochs) and `world.<metric>` (the trained
 * policy in the ground-truth world). No epoch: a figure spans several.
 */
export function* experimentMetricRows(results: ExperimentResults): Generator<LongRow> {
  for (const model of results.modelOrder) {
    const sim = results.models[model];
    const world = results.simToReal[model];
    for (let s = 0; s < results.seeds.length; s++) {
      const seed = results.seeds[s]!;
      for (const metric of REPORT_METRICS) {
        if (sim) yield { model, seed, epoch: null, metric: `simulator.${metric}`, value: sim[metric].values[s] ?? null };
        if (world) yield { model, seed, epoch: null, metric: `world.${metric}`, value: world[metric].values[s] ?? null };
      }
    }
  }
}

/**
 * A/B test curves: each arm's session metrics per reported day (`epoch` =
 * day, `world.<metric>`), per test and bucket seed; the model column is
 * `<test>/<arm label>`, e.g. `revenue/RLIV-UA (fused)`.
 */
export function* abCurveRows(results: AbTestResults): Generator<LongRow> {
  for (const run of results.tests) {
    for (const [label, perSeed] of Object.entries(run.daily ?? {})) {
      for (let s = 0; s < perSeed.length; s++) {
        const d = perSeed[s]!;
        for (const metric of REPORT_METRICS) {
          const values = d[metric];
          for (let i = 0; i < d.day.length; i++)
            yield { model: `${run.test}/${label}`, seed: results.bucketSeeds[s]!, epoch: d.day[i]!, metric: `world.${metric}`, value: values[i] ?? null };
        }
      }
    }
  }
}

/**
 * A/B test figures per test and arm (model column `<test>/<arm label>`):
 * with the run's seed, `users`, `mean.<metric>` and `total.<metric>` over
 * the arm's users of every bucket seed, and for the treatments
 * `delta.<metric>` (relative to the control, over users) with
 * `.ci95Low`, `.ci95High` and `.pValue`, and `acrossSeeds.<metric>` (mean
 * of the per-seed deltas) with `.ci95Low` and `.ci95High`; with each bucket
 * seed, `seedDelta.<metric>` and, for fused arms, `fusionWeight`.
 */
export function* abMetricRows(results: AbTestResults): Generator<LongRow> {
  for (const run of results.tests) {
    for (const arm of run.arms) {
      const model = `${run.test}/${arm.label}`;
      const row = (metric: string, value: number | null | undefined, seed = results.seed): LongRow => ({
        model,
        seed,
        epoch: null,
        metric,
        value: value ?? null,
      });
      yield row('users', arm.users);
      for (const [k, v] of Object.entries(arm.means)) yield row(`mean.${k}`, v);
      for (const [k, v] of Object.entries(arm.totals)) yield row(`total.${k}`, v);
      for (const [k, d] of Object.entries(arm.delta ?? {})) {
        yield row(`delta.${k}`, d.delta);
        yield row(`delta.${k}.ci95Low`, d.ci95[0]);
        yield row(`delta.${k}.ci95High`, d.ci95[1]);
        yield row(`delta.${k}.pValue`, d.pValue);
      }
      for (const [k, x] of Object.entries(arm.acrossSeeds ?? {})) {
        yield row(`acrossSeeds.${k}`, x.mean);
        yield row(`acrossSeeds.${k}.ci95Low`, x.ci95[0]);
        yield row(`acrossSeeds.${k}.ci95High`, x.ci95[1]);
      }
      for (let s = 0; s < results.bucketSeeds.length; s++) {
        const seed = results.bucketSeeds[s]!;
        for (const [k, d] of Object.entries(arm.seedDeltas?.[s] ?? {})) yield row(`seedDelta.${k}`, d.delta, seed);
        if (arm.fusionWeights) yield row('fusionWeight', arm.fusionWeights[s], seed);
      }
    }
  }
}

/**
 * One training run's curves: per epoch, the greedy evaluation on held-out
 * users (`<env>.<metric>`, env = world or simulator), the mean length of the
 * training sessions (`train.sessionLength`) and each training loss
 * (`loss.<name>`).
 */
export function* trainingCurveRows(result: TrainingResult, env: string, seed: number): Generator<LongRow> {
  for (const r of result.reports) {
    const epoch = r.epoch + 1;
    for (const [k, v] of Object.entries(r.eval)) yield { model: result.agent, seed, epoch, metric: `${env}.${k}`, value: v ?? null };
    yield { model: result.agent, seed, epoch, metric: 'train.sessionLength', value: r.trainSessionLength };
    for (const [k, v] of Object.entries(r.train.losses)) yield { model: result.agent, seed, epoch, metric: `loss.${k}`, value: v };
  }
}

/** One training run's figures (the mean of its last evaluation epochs), `<env>.<metric>`. */
export function* trainingMetricRows(result: TrainingResult, env: string, seed: number): Generator<LongRow> {
  for (const [k, v] of Object.entries(result.figure)) yield { model: result.agent, seed, epoch: null, metric: `${env}.${k}`, value: v ?? null };
}

/** Writes `text` to `path` (a helper so every run file is written the same way). */
export function writeRunFile(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}
