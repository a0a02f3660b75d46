/**
 * The offline instrument of an experiment run: the fitted simulator and
 * everything that goes with it. Both sources of the experiment produce one:
 *
 * - a ground-truth world (experiment-world.ts): the world's logs, the
 *   ensemble fitted on them, the world itself for the world columns and the
 *   gates G2 and G3;
 * - real KuaiRand logs (experiment-logs.ts, `rliv experiment --logs DIR`):
 *   the catalog of the directory's feature tables, the ensemble fitted on
 *   the real logs, and no world (no ground truth).
 *
 * Everything after the simulator is fitted (training every model, the
 * reference policies, the gates, results and reports) is the same code,
 * runExperiment's, over this one shape. A worker thread (or a queue worker)
 * rebuilds the catalog, the world (if any) and the behaviour policy from
 * {@link FittedInstrument.shipped} ({@link rebuildJobWorld}); the simulator
 * from its file.
 */
import type { Rng } from '../numeric/rng.js';
import { resolvedEnvironmentOptions, type EnvironmentOptions } from '../environment/environment.js';
import { EnvironmentHistory } from '../environment/environment-history.js';
import type { InteractionLog } from '../environment/interaction-log.js';
import { readHistoryFile, writeInteractionLogFile } from '../environment/interaction-log-file.js';
import { exposureBehaviourPolicy } from '../environment/log-behaviour-policy.js';
import type { EnsembleReport, PairHistory, SimulatorEnsemble } from '../simulator/simulator-ensemble.js';
import type { SlatePolicy } from '../environment/slate-policy.js';
import { buildDescribedCatalog, buildDescribedWorld, type WorldDescription } from '../environment/world-description.js';
import type { Catalog } from '../world/catalog.js';
import type { GroundTruthWorld } from '../world/ground-truth-world.js';
import { loggingPolicyFactory, type ExperimentWorld } from './experiment-world.js';
import type { Calibration } from './results.js';

/** What another thread or machine rebuilds a run's catalog, world and behaviour policy from (part of experiment-worker.ts's WorkerData). */
export interface ShippedWorld {
  /** The world; on real logs (`logs` set) only its catalog's tables and seed are used, and its config is the default one, unused. */
  description: WorldDescription;
  /** Set on real logs: there is no world, and offline agents learn from the stand-in behaviour policy over these standard-log exposures per item. */
  logs?: { itemExposures: number[] };
}

export interface FittedInstrument {
  catalog: Catalog;
  /** What agents are trained and evaluated in: the pessimistic ensemble. */
  simulator: SimulatorEnsemble;
  simulatorReport: EnsembleReport;
  /** Environment options of every environment of the run. */
  environment: Partial<EnvironmentOptions>;
  /** The behaviour policy offline agents learn from (a fresh instance per seed). */
  loggingPolicy: (rng: Rng) => SlatePolicy;
  /** True when `loggingPolicy` is the policy that wrote the logs (then it is a reference policy of the gates). */
  loggingPolicyKnown: boolean;
  /** The ground truth; absent for real logs. */
  groundTruth?: GroundTruthWorld;
  /** Why there is no ground truth (real logs); set exactly when `groundTruth` is absent. */
  noGroundTruth?: string;
  /** The world's description, written as world.json; absent for real logs. */
  description?: WorldDescription;
  /** What another thread or machine rebuilds the catalog, world and behaviour policy from (see WorkerData). */
  shipped: ShippedWorld;
  calibration: Calibration;
  /** Where the data came from (one line). */
  dataSource: string;
  /** Days of logs the simulator was fitted on (the world's logging run; absent for real logs, whose files say). */
  logDays?: number;
  /** Rows of logs the simulator was fitted on (standard + random). */
  logRows: number;
  /** Those logs: every environment of the run starts after them (instrumentHistory). */
  log: InteractionLog;
  /** The world's traffic before its logs, never logged nor seen by the simulator: the world's environments start after it and the logs. Absent for real logs. */
  preLog?: InteractionLog;
  /** Click rate of the whole random log (real logs: G1's reference). */
  randomLogClickRate?: number;
  /** Caveats for the report. */
  notes: string[];
  /** Extra settings to record (the log files, the row cap, ...). */
  settings?: Record<string, unknown>;
}

/** The instrument of a ground-truth world. */
export function worldInstrument(world: ExperimentWorld, logDays: number): FittedInstrument {
  return {
    catalog: world.catalog,
    simulator: world.simulator,
    simulatorReport: world.simulatorReport,
    environment: world.environment,
    loggingPolicy: world.loggingPolicy,
    loggingPolicyKnown: true,
    groundTruth: world.groundTruth,
    description: world.description,
    shipped: { description: world.description },
    calibration: world.calibration,
    dataSource: world.dataSource,
    logDays,
    logRows: world.logRows,
    log: world.log,
    preLog: world.preLog,
    notes: world.notes,
  };
}

/**
 * The histories a run's environments start after (environment-history.ts):
 * `environment.history` for the simulator's, `worldHistory` for the world's
 * when the two differ; without it the world's environments start after
 * `environment.history` too. A `logs` simulator's start after the logs
 * alone, the world's after its traffic before the logs and the logs; a
 * `lifelong` simulator (its f_ua start from the pairs' counters when the
 * logs begin) and the world both start after that traffic and the logs.
 */
export interface RunHistories {
  environment: Partial<EnvironmentOptions>;
  worldHistory?: EnvironmentHistory;
}

/**
 * The instrument's histories ({@link RunHistories}); its logs, and the
 * world's traffic before them, are written to `path` (history.bin) for
 * worker threads and queue workers.
 */
export function instrumentHistory(instrument: FittedInstrument, path: string): RunHistories {
  writeInteractionLogFile(path, instrument.log, instrument.preLog);
  return withHistory(instrument.catalog, instrument.environment, instrument.simulator.pairHistory, instrument.log, instrument.preLog);
}

/**
 * `environment` plus the simulator's history, and the world's when it
 * differs (what a worker builds from the shipped history.bin): see
 * {@link RunHistories}.
 */
export function withHistory(
  catalog: Catalog,
  environment: Partial<EnvironmentOptions>,
  simulatorPairHistory: PairHistory,
  log: InteractionLog,
  preLog?: InteractionLog,
): RunHistories {
  const { startTimeMs, recentAuthorsPerUser } = resolvedEnvironmentOptions(environment);
  const options = { startTimeMs, recentAuthorsPerUser };
  const whole = preLog && preLog.count > 0 ? EnvironmentHistory.fromLogs(catalog, [preLog, log], options) : undefined;
  if (whole && simulatorPairHistory === 'lifelong') return { environment: { ...environment, history: whole } };
  return {
    environment: { ...environment, history: EnvironmentHistory.fromLog(catalog, log, options) },
    ...(whole ? { worldHistory: whole } : {}),
  };
}

/** {@link withHistory} from a history file, or `environment` unchanged without one. */
export function withHistoryFile(
  catalog: Catalog,
  environment: Partial<EnvironmentOptions>,
  simulatorPairHistory: PairHistory,
  path: string | undefined,
): RunHistories {
  if (path === undefined) return { environment };
  const { log, preLog } = readHistoryFile(path);
  return withHistory(catalog, environment, simulatorPairHistory, log, preLog);
}

/** Catalog, world (none on real logs) and behaviour policy of shipped data, rebuilt (worker threads, queue workers). */
export async function rebuildJobWorld(
  data: ShippedWorld,
): Promise<{ catalog: Catalog; groundTruth?: GroundTruthWorld; loggingPolicy: (rng: Rng) => SlatePolicy }> {
  if (!data.logs) {
    const { catalog, world } = await buildDescribedWorld(data.description);
    return { catalog, groundTruth: world, loggingPolicy: loggingPolicyFactory(catalog, world) };
  }
  const catalog = await buildDescribedCatalog(data.description);
  return { catalog, loggingPolicy: logsBehaviourPolicyFactory(catalog, data.logs.itemExposures) };
}

/** The stand-in behaviour policy of real logs, seeded like the world's logging policy (a fresh instance per call). */
export function logsBehaviourPolicyFactory(catalog: Catalog, itemExposures: ArrayLike<number>): (rng: Rng) => SlatePolicy {
  return (rng: Rng) => exposureBehaviourPolicy(catalog, itemExposures, rng.nextUint32());
}
