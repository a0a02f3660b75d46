/**
 * The experiment on real KuaiRand logs (`rliv experiment --logs DIR`): the
 * paper's protocol as the paper ran it, with agents trained and evaluated
 * in a simulator learned from KuaiRand's own logs.
 *
 *   1. DIR is checked before any work (src/data/kuairand-directory.ts): the
 *      standard and random logs, the user and basic video tables;
 *   2. the catalog is built from the directory's feature tables;
 *   3. the logs (standard + random; whole users up to the preset's row cap)
 *      are loaded, rows flagged by the file they came from;
 *   4. the pessimistic ensemble is fitted on them exactly as on a world's
 *      logs (src/simulator/simulator-ensemble.ts): a share of users' random
 *      log joins the fit, the rest is held out to validate it and to fit
 *      the pessimism lambda;
 *   5. the calibration table compares the logs with the ensemble on the
 *      held-out rows (standard and random).
 *
 * The result is a {@link FittedInstrument} without a ground truth; the rest
 * of the run is runExperiment's, as for a world. What the missing ground
 * truth changes: no world columns in the tables, gates G2 and G3 not
 * applicable, G1 against the random log's own click rate
 * (fidelity-logs.ts); the logging policy of real logs is unknown, so
 * offline agents learn from a stand-in (src/environment/log-behaviour-policy.ts)
 * and it is not a reference policy; sessions end and users return by the
 * default world config's quit and return models (not fitted on the logs).
 */
import { findKuaiRandDirectory, type KuaiRandDirectory } from '../data/kuairand-directory.js';
import { Rng } from '../numeric/rng.js';
import { KUAIRAND_PURE_RANDOM_RATES, KUAIRAND_PURE_RATES } from '../environment/calibration.js';
import { standardLogExposures } from '../environment/log-behaviour-policy.js';
import { loadLogDirectory } from '../environment/log-dataset.js';
import type { EnsembleReport } from '../simulator/simulator-ensemble.js';
import { buildDescribedCatalog, type WorldDescription } from '../environment/world-description.js';
import { sessionOptionsFromWorld } from '../environment/world-session-options.js';
import { mergeWorldConfig } from '../world/world-config.js';
import type { ExperimentPreset } from './experiment-presets.js';
import { logsBehaviourPolicyFactory, type FittedInstrument } from './instrument.js';
import { fitPresetSimulator } from './preset-simulator.js';
import type { ProgressSink } from './progress.js';
import type { Calibration, CalibrationRow } from './results.js';

/** Rows of real logs read per preset (whole users, seeded; see loadLogDirectory). */
export const LOGS_MAX_ROWS: Readonly<Record<string, number>> = { smoke: 300_000, quick: 3_000_000, paper: Infinity };

/** Why a run on real logs has no world columns (shown in the report). */
export const NO_GROUND_TRUTH =
  'These are real KuaiRand logs: no ground-truth world exists for them, so the trained policies cannot be evaluated anywhere but in the simulator learned from the logs. ' +
  'The tables have no world columns, and the fidelity gates that compare the simulator with a ground truth (G2 no exploitation, G3 agreement) are not applicable; ' +
  'G1 checks the simulator against the held-out random log instead.';

/** Why gates G2 and G3 are not applicable on real logs (the gate table's detail). */
export const NO_GROUND_TRUTH_GATE = 'no ground truth: real logs have no world in which to evaluate the trained policies';

export interface LogsSourceOptions {
  preset: ExperimentPreset;
  /** `--logs DIR`: a KuaiRand-Pure, -1K or -27K directory. */
  logsDir: string;
  /** Root seed: the catalog's synthetic parts, the user subset under the row cap, the ensemble's fit. */
  seed: number;
  /** At most this many log rows (whole users). Default: {@link LOGS_MAX_ROWS} of the preset, else all. */
  maxRows?: number;
  progress: ProgressSink;
  /** Wraps a phase to time it (the runner's phase table). */
  timed: <T>(name: string, f: () => T | Promise<T>) => Promise<T>;
}

/** Thrown when the directory's logs and tables do not fit together (no row survives the id mapping). */
export class KuaiRandLogsError extends Error {
  override name = 'KuaiRandLogsError';
}

const STANDARD_ROWS: Array<{ head: keyof EnsembleReport['standard']['heads']; label: string; target: number }> = [
  { head: 'click', label: 'click rate (is_click)', target: KUAIRAND_PURE_RATES.click },
  { head: 'longView', label: 'long-view rate', target: KUAIRAND_PURE_RATES.long_view },
  { head: 'like', label: 'like rate', target: KUAIRAND_PURE_RATES.like },
  { head: 'comment', label: 'comment rate', target: KUAIRAND_PURE_RATES.comment },
  { head: 'follow', label: 'follow rate', target: KUAIRAND_PURE_RATES.follow },
];
const RANDOM_ROWS: Array<{ head: keyof EnsembleReport['standard']['heads']; label: string; target: number }> = [
  { head: 'click', label: 'click rate', target: KUAIRAND_PURE_RANDOM_RATES.click },
  { head: 'longView', label: 'long-view rate', target: KUAIRAND_PURE_RANDOM_RATES.long_view },
  { head: 'like', label: 'like rate', target: KUAIRAND_PURE_RANDOM_RATES.like },
];

/** The calibration table of a run on logs: observed vs the (pessimistic) ensemble on the held-out rows. */
export function logsCalibration(report: EnsembleReport, files: KuaiRandDirectory): Calibration {
  const source = 'KuaiRand-Pure standard log (for reference)';
  const rows: CalibrationRow[] = STANDARD_ROWS.map((r) => ({
    quantity: `held-out standard log: ${r.label}`,
    target: r.target,
    world: report.standard.heads[r.head].rate,
    simulator: report.standard.heads[r.head].predictedRate,
    source,
  }));
  rows.push({
    quantity: 'held-out standard log: mean play time per exposure (s)',
    target: KUAIRAND_PURE_RATES.play_time_s,
    world: report.standard.watchTimeMeanSec,
    simulator: report.standard.watchTimePredictedMeanSec,
    source,
  });
  if (report.random) {
    for (const r of RANDOM_ROWS) {
      rows.push({
        quantity: `held-out random log: ${r.label}`,
        target: r.target,
        world: report.random.heads[r.head].rate,
        simulator: report.random.heads[r.head].predictedRate,
        source: 'KuaiRand-Pure random log (for reference)',
      });
    }
  }
  return {
    rows,
    worldLabel: 'Logs',
    caption: `Rates on the log rows held out of the simulator's fit (${report.heldOutRows} standard-log rows, ${report.randomRows} random-log rows of ${files.randomLogs.map((p) => p.slice(files.dir.length + 1)).join(', ')}): what users did ("Logs") and the mean probability the pessimistic ensemble gives the same exposures ("Simulator"); the KuaiRand-Pure rates for reference. There is no ground-truth world for real logs.`,
    notes: [
      `Learned simulator: an ensemble of ${report.members} members (bootstrap over users, ${report.trainRows[0]} rows each; ${report.randomTrainRows} random-log rows trained on), f_ua read as of the session start; watch-time MAE ${report.standard.watchTimeMaeSec.toFixed(2)} s on the held-out standard rows.`,
      report.clickRandom
        ? `Random log held out of the fit (${report.randomRows} rows): observed click ${report.clickRandom.observed.toFixed(4)}, ensemble mean ${report.clickRandom.predictedMean.toFixed(4)}, pessimistic ${report.clickRandom.predictedPessimistic.toFixed(4)}. Pessimism: ${report.lambdaRule}: lambda = ${report.lambda.toFixed(4)}.`
        : 'No random-log rows were held out: no pessimism (lambda = 0).',
    ],
  };
}

/** Steps 1-5 of the file comment: a fitted instrument over real logs, with no ground truth. */
export async function buildLogsInstrument(o: LogsSourceOptions): Promise<FittedInstrument> {
  const { preset, progress } = o;
  const files = findKuaiRandDirectory(o.logsDir);
  const root = new Rng(o.seed);
  const maxRows = o.maxRows ?? LOGS_MAX_ROWS[preset.name] ?? Infinity;
  const catalogDescription: Omit<WorldDescription, 'worldConfig'> = {
    kind: 'rliv-world',
    version: 1,
    catalogSeed: root.fork('catalog').seed,
    worldSeed: root.fork('world').seed,
    usersPath: files.userFeatures,
    videosPath: files.videoFeatures,
  };
  progress.start('catalog', 1, 'tables');
  const catalog = await o.timed('catalog', () => buildDescribedCatalog(catalogDescription));
  progress.update(1);
  progress.stop();
  progress.log(`catalog: ${catalog.numUsers} users, ${catalog.numAuthors} authors, ${catalog.numItems} items (${files.userFeatures}, ${files.videoFeatures})`);

  progress.start('logs', 1, 'directory');
  const loaded = await o.timed('logs', () => loadLogDirectory(files.dir, catalog, { maxRows, seed: root.fork('log-users').seed }));
  progress.update(1);
  progress.stop();
  const log = loaded.log;
  let randomRows = 0,
    randomClicks = 0;
  for (let r = 0; r < log.count; r++) {
    if (log.fromRandomLog[r] !== 1) continue;
    randomRows++;
    randomClicks += log.click[r]!;
  }
  const tables = `${files.userFeatures} and ${files.videoFeatures}`;
  if (log.count === 0) {
    throw new KuaiRandLogsError(
      `no row of the logs in ${files.dir} names a user of ${files.userFeatures} and a video of ${files.videoFeatures} (${loaded.rowsRead} rows read, all skipped): the feature tables must be those of the same KuaiRand release as the logs`,
    );
  }
  if (randomRows === 0) {
    throw new KuaiRandLogsError(
      `the random log (${files.randomLogs.join(', ')}) has no row for a user and video of ${tables}${loaded.usersKept < catalog.numUsers ? ` among the ${loaded.usersKept} users kept under the row cap ${maxRows}` : ''}: the simulator cannot be validated; use the tables of the same release as the logs`,
    );
  }
  const subset =
    loaded.usersKept < catalog.numUsers ? ` (the complete histories of ${loaded.usersKept} of ${catalog.numUsers} users, within the row cap ${maxRows})` : '';
  progress.log(
    `logs: ${log.count} rows (${randomRows} from the random log) from ${loaded.files.logs.length} file(s)${subset}; ${loaded.rowsSkippedUnknownId} skipped (user or video not in the tables)`,
  );

  const { simulator, report } = await fitPresetSimulator(log, catalog, preset, root.fork('simulator').seed, progress, o.timed);

  const itemExposures = standardLogExposures(log, catalog.numItems);
  const environment = {
    ...preset.environment,
    numCandidates: Math.min(preset.environment.numCandidates ?? 100, catalog.numItems),
    ...sessionOptionsFromWorld(mergeWorldConfig({})),
  };
  const names = (paths: string[]) => paths.map((p) => p.slice(files.dir.length + 1)).join(', ');
  return {
    catalog,
    simulator,
    simulatorReport: report,
    environment,
    loggingPolicy: logsBehaviourPolicyFactory(catalog, itemExposures),
    loggingPolicyKnown: false,
    noGroundTruth: NO_GROUND_TRUTH,
    // The catalog's description with the default world config (never built into a world: `logs` says there is none).
    shipped: { description: { ...catalogDescription, worldConfig: mergeWorldConfig({}) }, logs: { itemExposures: Array.from(itemExposures) } },
    calibration: logsCalibration(report, files),
    dataSource: `KuaiRand logs: ${files.dir}`,
    logRows: log.count,
    log,
    randomLogClickRate: randomClicks / randomRows,
    notes: [
      `Data: real KuaiRand logs in ${files.dir} (standard: ${names(files.standardLogs)}; random: ${names(files.randomLogs)}), catalog from ${names([files.userFeatures, files.videoFeatures])}; ${log.count} rows${subset}, ${loaded.rowsSkippedUnknownId} rows skipped (user or video not in the tables).`,
      "No ground truth: every figure is measured in the simulator learned from the logs (the paper's protocol); there is no world column and gates G2 and G3 are not applicable.",
      "Behaviour policy: the production policy of real logs is unknown; offline agents (CQL, the RankingModel) learn from a stand-in, the production-like ranker with each item's standard-log exposure share as its relevance estimate (src/environment/log-behaviour-policy.ts). It is not a reference policy of the gates.",
      "Sessions: users leave and return by the default world config's quit and return models (not fitted on these logs).",
    ],
    settings: {
      logs: {
        dir: files.dir,
        standard: files.standardLogs,
        random: files.randomLogs,
        userFeatures: files.userFeatures,
        videoFeatures: files.videoFeatures,
        gifts: files.gifts,
      },
      maxLogRows: maxRows,
      usersKept: loaded.usersKept,
      rowsSkippedUnknownId: loaded.rowsSkippedUnknownId,
      randomLogRows: randomRows,
    },
  };
}
