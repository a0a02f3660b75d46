/**
 * The data side of the experiment (steps 1-3 of experiment.ts):
 *
 * - the ground-truth world: synthetic, on the real KuaiRand tables
 *   (`--users/--videos`), or exactly the world `rliv generate` described in
 *   a world.json (`--world FILE.json` of kind "rliv-world"); a plain partial
 *   world config in `--world` overrides the defaults instead;
 * - its calibration: a fresh world's head intercepts are bisected until the
 *   logging policy reproduces KuaiRand-Pure's rates (src/environment/calibration.ts);
 *   a described world is already calibrated and is used as it is;
 * - `warmUpDays` days of logging-policy traffic that are not logged (the
 *   world's users come to the logs established, as KuaiRand's do), then
 *   `logDays` days of logs, the learned simulator fitted on the logs alone
 *   (src/simulator/simulator-training.ts), and the calibration table:
 *   KuaiRand-Pure's rates, the world's logs and the learned simulator under
 *   the same logging policy.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Rng } from '../numeric/rng.js';
import {
  calibrateWorld,
  KUAIRAND_NEXT_DAY_RETURN,
  KUAIRAND_PURE_RANDOM_RATES,
  KUAIRAND_PURE_RATES,
  RateAccumulator,
  type MeasuredRates,
} from '../environment/calibration.js';
import { Environment, resolvedEnvironmentOptions, type EnvironmentOptions } from '../environment/environment.js';
import { EnvironmentHistory } from '../environment/environment-history.js';
import { interactionLogFromTraces, type InteractionLog } from '../environment/interaction-log.js';
import { worldLoggingPolicy } from '../environment/log-generation.js';
import type { EnsembleReport, SimulatorEnsemble } from '../simulator/simulator-ensemble.js';
import type { SlatePolicy } from '../environment/slate-policy.js';
import type { SessionTrace } from '../environment/trace.js';
import { buildDescribedWorld, parseWorldDescription, type WorldDescription } from '../environment/world-description.js';
import { sessionOptionsFromWorld } from '../environment/world-session-options.js';
import type { Catalog } from '../world/catalog.js';
import type { GroundTruthWorld } from '../world/ground-truth-world.js';
import type { ResponseModel } from '../world/response.js';
import { mergeWorldConfig, type WorldConfig } from '../world/world-config.js';
import type { ExperimentPreset } from './experiment-presets.js';
import { fitPresetSimulator } from './preset-simulator.js';
import type { ProgressSink } from './progress.js';
import type { Calibration, CalibrationRow } from './results.js';

export interface WorldSourceOptions {
  preset: ExperimentPreset;
  /** Seed of the catalog, the world, its calibration and the logs. */
  worldSeed: number;
  /** `--world FILE.json`: a world description from `rliv generate`, or a partial world config. */
  worldPath?: string;
  usersPath?: string;
  videosPath?: string;
  progress: ProgressSink;
  /** Wraps a phase to time it (the runner's phase table). */
  timed: <T>(name: string, f: () => T | Promise<T>) => Promise<T>;
}

/** A calibrated ground-truth world with the environment settings and logging policy that go with it. */
export interface CalibratedWorld {
  catalog: Catalog;
  groundTruth: GroundTruthWorld;
  /** Environment options for every environment of the run: the preset's, plus the quit/return models of the world's config. */
  environment: Partial<EnvironmentOptions>;
  /** The behaviour policy (a fresh instance per seed): the standard log's ranker; offline agents learn from its sessions. */
  loggingPolicy: (rng: Rng) => SlatePolicy;
  /** The same ranker serving a share `randomRequestRate` of requests uniformly at random: what writes the logs (standard + random). */
  loggingWithRandom: (rng: Rng) => SlatePolicy;
  /** "synthetic", the real tables' paths, or the world description's path. */
  dataSource: string;
  /** The fitted intercepts, when this run calibrated the world. */
  intercepts?: Record<string, number>;
  /** Everything needed to rebuild this exact (calibrated) world: written as world.json, handed to worker threads. */
  description: WorldDescription;
}

export interface ExperimentWorld extends CalibratedWorld {
  /** What agents are trained and evaluated in (the paper's protocol): the pessimistic ensemble of learned simulators. */
  simulator: SimulatorEnsemble;
  /** How the ensemble was fitted and how it does on the held-out standard log and on the random log. */
  simulatorReport: EnsembleReport;
  calibration: Calibration;
  /** Rows of logs the simulator was fitted on. */
  logRows: number;
  /** The logs themselves (standard and random requests): every environment of the run starts after them (docs/design.md §10.6). */
  log: InteractionLog;
  /** The world's traffic before its logs (`warmUpDays`, not logged): the world's environments start after it and the logs, the simulator's after the logs alone. */
  preLog: InteractionLog;
  /** Caveats to print in the report. */
  notes: string[];
}

/**
 * The production-like logging policy (`rliv generate`'s: a noisy estimate of
 * the world's item appeal, popularity and the pair's history), seeded;
 * `randomRequestRate` > 0 serves that share of requests uniformly at random
 * (the random log).
 */
export function loggingPolicyFactory(catalog: Catalog, world: GroundTruthWorld, randomRequestRate = 0): (rng: Rng) => SlatePolicy {
  return (rng: Rng) => worldLoggingPolicy(catalog, world, rng.nextUint32(), { randomRequestRate });
}

/** Builds (and, when fresh, calibrates) the ground-truth world. */
export async function buildCalibratedWorld(o: WorldSourceOptions): Promise<CalibratedWorld> {
  const { preset, progress } = o;
  const root = new Rng(o.worldSeed);
  progress.start('generate', 1, 'world');
  const built = await o.timed('generate', async () => {
    let override: unknown = {};
    if (o.worldPath) {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(o.worldPath, 'utf8'));
      } catch (err) {
        throw new Error(`--world ${o.worldPath}: cannot read JSON (${(err as Error).message})`);
      }
      if ((json as { kind?: unknown } | null)?.kind === 'rliv-world') {
        const description = parseWorldDescription(json, o.worldPath);
        const { catalog, world } = await buildDescribedWorld(description);
        return { catalog, world, description, described: true, dataSource: `world description ${o.worldPath}` };
      }
      override = json;
    }
    // Every world of a run is written as a description (world.json), so worker threads and later runs rebuild exactly it.
    const tables = Boolean(o.usersPath || o.videosPath);
    const description: WorldDescription = {
      kind: 'rliv-world',
      version: 1,
      catalogSeed: root.fork('catalog').seed,
      worldSeed: root.fork('world').seed,
      ...(tables
        ? { usersPath: o.usersPath && resolve(o.usersPath), videosPath: o.videosPath && resolve(o.videosPath) }
        : { numUsers: preset.numUsers, numItems: preset.numItems }),
      worldConfig: mergeWorldConfig(override),
    };
    const { catalog, world } = await buildDescribedWorld(description);
    const dataSource = tables ? `KuaiRand tables: ${[o.usersPath, o.videosPath].filter(Boolean).join(', ')}` : 'synthetic';
    return { catalog, world, description, described: false, dataSource };
  });
  progress.update(1);
  progress.stop();
  const { catalog, world } = built;
  progress.log(`world: ${catalog.numUsers} users, ${catalog.numAuthors} authors, ${catalog.numItems} items (${built.dataSource})`);
  const loggingPolicy = loggingPolicyFactory(catalog, world);
  const loggingWithRandom = loggingPolicyFactory(catalog, world, preset.randomRequestRate);
  const environmentOf = () => ({ ...preset.environment, ...sessionOptionsFromWorld(world.config) });

  let intercepts: Record<string, number> | undefined;
  if (!built.described) {
    const c = preset.calibration;
    // Each evaluation is one environment run; the bar counts them against the worst case.
    const worstCase = c.rounds * 6 * (c.maxSteps + 9) + 1;
    progress.start('calibrate', worstCase, 'runs');
    let runs = 0;
    const result = await o.timed('calibrate', () =>
      calibrateWorld(catalog, world, {
        users: Math.min(c.users, catalog.numUsers),
        days: c.days,
        // Measured after the warm-up, as the logs are: the rates of users with a history.
        warmUpDays: preset.warmUpDays,
        rounds: c.rounds,
        maxSteps: c.maxSteps,
        environment: { ...preset.environment, seed: root.fork('calibration').seed },
        // With the random requests: the random-log click rate fits the affinity scale.
        policy: () => loggingWithRandom(root.fork('calibration-policy')),
        onStep: (head) => progress.update(++runs, head),
      }),
    );
    progress.stop();
    intercepts = result.intercepts;
    progress.log(
      `calibration: ${result.evaluations} runs; click ${result.rates.click.toFixed(3)}, play ${result.rates.play_time_s.toFixed(1)} s, follow ${result.rates.follow.toFixed(4)}, next-day return ${result.rates.next_day_return.toFixed(3)}`,
    );
  }
  // The description carries the calibrated config.
  const description: WorldDescription = { ...built.description, worldConfig: world.config as WorldConfig };
  return { catalog, groundTruth: world, environment: environmentOf(), loggingPolicy, loggingWithRandom, dataSource: built.dataSource, intercepts, description };
}

/** `days` days of traffic: every session, and where each day's sessions end (`dayEnds[d]` = sessions of days 0..d). */
interface Traffic {
  traces: SessionTrace[];
  dayEnds: number[];
  /** The sessions of the `warmUpDays` before (not logged). */
  warmUp: SessionTrace[];
}

/**
 * Runs `warmUpDays` and then `days` days of logging-policy traffic (all
 * users) in one environment over `responder`: the logged days continue the
 * warm-up's calendar and history.
 */
function logTraffic(
  catalog: Catalog,
  responder: ResponseModel,
  environment: Partial<EnvironmentOptions>,
  warmUpDays: number,
  days: number,
  seed: number,
  policy: SlatePolicy,
  onDay?: (d: number) => void,
): Traffic {
  const env = new Environment(catalog, responder, { ...environment, seed });
  const warmUp: SessionTrace[] = [];
  const traces: SessionTrace[] = [];
  const dayEnds: number[] = [];
  for (let d = 0; d < warmUpDays + days; d++) {
    const logged = d >= warmUpDays;
    env.runDays(1, policy, (t) => (logged ? traces : warmUp).push(t));
    if (logged) dayEnds.push(traces.length);
    onDay?.(d + 1);
  }
  return { traces, dayEnds, warmUp };
}

/** Rates of one day of `traffic` (0-based). */
function dayRates(traffic: Traffic, day: number): MeasuredRates {
  return ratesOf(traffic.traces.slice(day === 0 ? 0 : traffic.dayEnds[day - 1]!, traffic.dayEnds[day]!));
}

function ratesOf(traces: readonly SessionTrace[]): MeasuredRates {
  const acc = new RateAccumulator();
  for (const t of traces) acc.add(t);
  return acc.rates();
}

const RATE_ROWS: Array<{ key: Exclude<keyof MeasuredRates, 'random'>; label: string; target: number }> = [
  { key: 'click', label: 'click rate (is_click)', target: KUAIRAND_PURE_RATES.click },
  { key: 'long_view', label: 'long-view rate', target: KUAIRAND_PURE_RATES.long_view },
  { key: 'like', label: 'like rate', target: KUAIRAND_PURE_RATES.like },
  { key: 'comment', label: 'comment rate', target: KUAIRAND_PURE_RATES.comment },
  { key: 'follow', label: 'follow rate', target: KUAIRAND_PURE_RATES.follow },
  { key: 'play_time_s', label: 'mean play time per exposure (s)', target: KUAIRAND_PURE_RATES.play_time_s },
  { key: 'click_given_follow', label: 'P(click | author followed)', target: 0.89 },
  { key: 'next_day_return', label: 'share of sessions followed by a session the next day', target: KUAIRAND_NEXT_DAY_RETURN },
];

export async function buildExperimentWorld(o: WorldSourceOptions): Promise<ExperimentWorld> {
  const { preset, progress } = o;
  const root = new Rng(o.worldSeed);
  const base = await buildCalibratedWorld(o);
  const { catalog, groundTruth, environment, loggingWithRandom } = base;
  const notes: string[] = [
    "Logging policy: a production-like ranker over a noisy estimate of the world's item appeal, author popularity and the pair's history (src/environment/logging-policy.ts); offline agents (CQL, and the RankingModel's supervised data) learn from its sessions.",
    `Logs: the logging policy serves ${(preset.randomRequestRate * 100).toFixed(0)} % of requests uniformly at random (the random log, KuaiRand's log_random_*); the simulator is fitted on the standard log and validated on the random log.`,
  ];

  progress.start('logs', preset.warmUpDays + preset.logDays, 'days');
  const logs = await o.timed('logs', () =>
    logTraffic(
      catalog,
      groundTruth,
      environment,
      preset.warmUpDays,
      preset.logDays,
      root.fork('logs').seed,
      loggingWithRandom(root.fork('logging-policy')),
      (d) => progress.update(d),
    ),
  );
  progress.stop();
  const log = interactionLogFromTraces(logs.traces);
  const preLog = interactionLogFromTraces(logs.warmUp);
  progress.log(
    `logs: ${logs.traces.length} sessions, ${log.count} exposures over ${preset.logDays} day(s), after ${preset.warmUpDays} unlogged day(s) (${preLog.count} exposures)`,
  );

  // A lifelong simulator's f_ua start from the pairs' counters when the logs begin (the warm-up's), as a platform's
  // samples carry them; a `logs` one knows nothing before the logs (docs/design.md §10.2).
  const { startTimeMs, recentAuthorsPerUser } = resolvedEnvironmentOptions(environment);
  const counters =
    preset.simulatorPairHistory === 'lifelong' && preLog.count > 0
      ? EnvironmentHistory.fromLog(catalog, preLog, { startTimeMs, recentAuthorsPerUser })
      : undefined;
  const { simulator, report } = await fitPresetSimulator(log, catalog, preset, root.fork('simulator').seed, progress, o.timed, counters);

  // The simulator's own run of the logged days starts where its fit did: after the counters, or with no history.
  progress.start('sim-check', preset.logDays, 'days');
  const simLogs = await o.timed('sim-check', () =>
    logTraffic(
      catalog,
      simulator,
      counters ? { ...environment, history: counters } : environment,
      0,
      preset.logDays,
      root.fork('logs').seed,
      loggingWithRandom(root.fork('logging-policy')),
      (d) => progress.update(d),
    ),
  );
  progress.stop();
  const worldRates = ratesOf(logs.traces);
  const simRates = ratesOf(simLogs.traces);
  const rows: CalibrationRow[] = RATE_ROWS.map((r) => ({
    quantity: r.label,
    target: r.target,
    world: worldRates[r.key],
    simulator: simRates[r.key],
    source: 'KuaiRand-Pure standard log (docs/design.md §5.2)',
  }));
  for (const [key, label] of [
    ['click', 'random log: click rate'],
    ['long_view', 'random log: long-view rate'],
    ['like', 'random log: like rate'],
  ] as const) {
    rows.push({
      quantity: label,
      target: KUAIRAND_PURE_RANDOM_RATES[key],
      world: worldRates.random[key],
      simulator: simRates.random[key],
      source: 'KuaiRand-Pure random log (docs/design.md §5.2)',
    });
  }
  // The drift over the logged days: the world's familiarity (and the logging policy's click rate) grows with the
  // users' history; the warm-up before the logs slows it; the evaluation runs after the logs (docs/design.md §10.6).
  const last = preset.logDays - 1;
  if (last > 0) {
    for (const [day, label] of [
      [0, 'click rate on the first logged day'],
      [last, `click rate on the last logged day (day ${last + 1})`],
    ] as const) {
      rows.push({
        quantity: label,
        target: null,
        world: dayRates(logs, day).click,
        simulator: dayRates(simLogs, day).click,
        source: "the world's drift under the logging policy (docs/design.md §10.6)",
      });
    }
  }
  const heads = Object.entries(report.standard.heads)
    .map(
      ([k, h]) => `${k} AUC ${Number.isFinite(h.auc) ? h.auc.toFixed(3) : 'n/a'} (rate ${h.rate.toPrecision(3)}, predicted ${h.predictedRate.toPrecision(3)})`,
    )
    .join('; ');
  const calibration: Calibration = {
    rows,
    notes: [
      `"World" = the ${preset.logDays} day(s) of logging-policy traffic the simulator was fitted on (${log.count} exposures), after ${preset.warmUpDays} day(s) of the same traffic that were not logged (the users' history before the logs); "Simulator" = the learned simulator run with the same policy, users, days and seeds, ${counters ? "from the pairs' counters at the logs' start (its f_ua are lifelong ones)" : 'from no history (it knows nothing before the logs)'}.`,
      base.intercepts
        ? `World intercepts fitted by bisection in this run: ${Object.entries(base.intercepts)
            .map(([k, v]) => `${k} ${v.toFixed(3)}`)
            .join(', ')}.`
        : `The world comes from ${base.dataSource} (already calibrated by rliv generate).`,
      `Learned simulator: an ensemble of ${report.members} members (bootstrap over users, ${report.trainRows[0]} standard-log rows each), f_ua read as of the session start; held-out standard requests (${report.heldOutRows} rows): ${heads}; watch-time MAE ${report.standard.watchTimeMaeSec.toFixed(2)} s (mean ${report.standard.watchTimeMeanSec.toFixed(2)} s logged vs ${report.standard.watchTimePredictedMeanSec.toFixed(2)} s predicted).`,
      report.clickRandom
        ? `Random log (${report.randomRows} rows, held out of the fit): observed click ${report.clickRandom.observed.toFixed(4)}, ensemble mean ${report.clickRandom.predictedMean.toFixed(4)}, pessimistic ${report.clickRandom.predictedPessimistic.toFixed(4)}, click AUC ${report.random!.heads.click.auc.toFixed(3)}. Pessimism: ${report.lambdaRule}: lambda = ${report.lambda.toFixed(4)}.`
        : 'No random log: no pessimism (lambda = 0).',
    ],
  };
  return { ...base, simulator, simulatorReport: report, calibration, logRows: log.count, log, preLog, notes };
}
