/**
 * The data side of the experiment (steps 1-3 of experiment.ts): the
 * ground-truth world, the logging-policy traffic it produces, the learned
 * simulator fitted on that traffic, and the calibration table comparing
 * the world, the simulator and KuaiRand-Pure's published rates.
 */
import { PAIR_COUNT_DIM, PC_FOLLOW } from '../data/interaction-kinds.js';
import { Rng } from '../numeric/rng.js';
import { Environment } from '../simulator/environment.js';
import { RandomPolicy, type SlatePolicy } from '../simulator/slate-policy.js';
import type { SessionTrace } from '../simulator/trace.js';
import { buildCatalog } from '../world/catalog-builder.js';
import type { Catalog } from '../world/catalog.js';
import { createWorld, type GroundTruthWorld } from '../world/ground-truth-world.js';
import { mergeWorldConfig } from '../world/world-config.js';
import type { ResponseModel } from '../world/response.js';
import type { ExperimentPreset } from './experiment-presets.js';
import type { ProgressSink } from './progress.js';
import type { Calibration, CalibrationRow } from './results.js';

/** Loaded on demand (being built by the data engineer: World API in docs/contracts.md). */
const LOAD_CATALOG_MODULE = '../world/load-catalog.js';

export interface ExperimentWorldOptions {
  preset: ExperimentPreset;
  /** Seed of the catalog, the world and the logs. */
  worldSeed: number;
  /** Parsed `--world FILE.json` (partial world config), if any. */
  worldConfig?: unknown;
  usersPath?: string;
  videosPath?: string;
  progress: ProgressSink;
  /** Wraps a phase to time it (the runner's phase table). */
  timed: <T>(name: string, f: () => T | Promise<T>) => Promise<T>;
}

export interface ExperimentWorld {
  catalog: Catalog;
  /** The ground truth (sim-to-real evaluation). */
  groundTruth: GroundTruthWorld;
  /** What agents are trained and evaluated in (the paper's protocol). */
  simulator: ResponseModel;
  /** The behaviour policy of the logs; offline agents learn from its sessions. */
  loggingPolicy: (rng: Rng) => SlatePolicy;
  calibration: Calibration;
  /** Rows of logs the simulator was fitted on. */
  logRows: number;
  /** "synthetic" or the paths of the real tables. */
  dataSource: string;
  /** Caveats to print in the report. */
  notes: string[];
}

/** KuaiRand-Pure standard-log figures (DESIGN.md §4) the world is calibrated to. */
export const KUAIRAND_PURE_TARGETS = {
  click: 0.46,
  longView: 0.332,
  like: 0.0185,
  comment: 0.0026,
  follow: 0.0011,
  playSeconds: 15.7,
  clickGivenFollow: 0.89,
  nextDayReturn: 0.617,
};

/** Rates of a set of logged sessions, the quantities of the calibration table. */
export function logRates(traces: readonly SessionTrace[]): Record<keyof typeof KUAIRAND_PURE_TARGETS, number> {
  let n = 0;
  let click = 0;
  let longView = 0;
  let like = 0;
  let comment = 0;
  let follow = 0;
  let play = 0;
  let followedExposures = 0;
  let followedClicks = 0;
  let gaps = 0;
  let nextDay = 0;
  for (const t of traces) {
    for (const r of t.requests) {
      const res = r.responses;
      for (let p = 0; p < r.slate.length; p++) {
        n++;
        click += res.click[p]!;
        longView += res.longView[p]!;
        like += res.like[p]!;
        comment += res.comment[p]!;
        follow += res.follow[p]!;
        play += res.playTimeMs[p]! / 1000;
        if (r.candidatePairCounts[r.slate[p]! * PAIR_COUNT_DIM + PC_FOLLOW]! > 0) {
          followedExposures++;
          followedClicks += res.click[p]!;
        }
      }
    }
    if (Number.isFinite(t.returnGapDays)) {
      gaps++;
      if (t.returnGapDays <= 1) nextDay++;
    }
  }
  const d = (a: number, b: number) => (b > 0 ? a / b : NaN);
  return {
    click: d(click, n),
    longView: d(longView, n),
    like: d(like, n),
    comment: d(comment, n),
    follow: d(follow, n),
    playSeconds: d(play, n),
    clickGivenFollow: d(followedClicks, followedExposures),
    nextDayReturn: d(nextDay, gaps),
  };
}

const LABELS: Record<keyof typeof KUAIRAND_PURE_TARGETS, string> = {
  click: 'click rate (is_click)',
  longView: 'long-view rate',
  like: 'like rate',
  comment: 'comment rate',
  follow: 'follow rate',
  playSeconds: 'mean play time per exposure (s)',
  clickGivenFollow: 'P(click | author followed)',
  nextDayReturn: 'share of sessions followed by a return within 1 day',
};

/** Runs `days` days of logging-policy traffic (all users) in an environment over `responder`. */
function logTraffic(catalog: Catalog, responder: ResponseModel, preset: ExperimentPreset, days: number, seed: number, policy: SlatePolicy, onDay?: (d: number) => void): SessionTrace[] {
  const env = new Environment(catalog, responder, { ...preset.environment, seed });
  const traces: SessionTrace[] = [];
  for (let d = 0; d < days; d++) {
    env.runDays(1, policy, (t) => traces.push(t));
    onDay?.(d + 1);
  }
  return traces;
}

export async function buildExperimentWorld(o: ExperimentWorldOptions): Promise<ExperimentWorld> {
  const { preset, progress } = o;
  const root = new Rng(o.worldSeed);
  const notes: string[] = [];

  progress.start('generate', 1, 'world');
  const { catalog, groundTruth, dataSource } = await o.timed('generate', async () => {
    let catalog: Catalog;
    let dataSource = 'synthetic';
    if (o.usersPath || o.videosPath) {
      const { loadCatalogFromKuaiRand } = await import(LOAD_CATALOG_MODULE) as { loadCatalogFromKuaiRand: (u: string | undefined, v: string | undefined, o: object, rng: Rng) => Promise<Catalog> };
      catalog = await loadCatalogFromKuaiRand(o.usersPath, o.videosPath, {}, root.fork('catalog'));
      dataSource = `KuaiRand tables: ${[o.usersPath, o.videosPath].filter(Boolean).join(', ')}`;
    } else {
      catalog = buildCatalog({ numUsers: preset.numUsers, numItems: preset.numItems }, root.fork('catalog'));
    }
    const config = mergeWorldConfig(o.worldConfig ?? {});
    return { catalog, groundTruth: createWorld(catalog, config, root.fork('world').seed), dataSource };
  });
  progress.update(1);
  progress.stop();
  progress.log(`world: ${catalog.numUsers} users, ${catalog.numAuthors} authors, ${catalog.numItems} items (${dataSource})`);

  const loggingPolicy = (rng: Rng): SlatePolicy => new RandomPolicy(rng);
  notes.push('Logging policy: uniformly random slates from the candidate set (the behaviour policy offline agents learn from).');

  progress.start('logs', preset.logDays, 'days');
  const logs = await o.timed('logs', () => logTraffic(catalog, groundTruth, preset, preset.logDays, root.fork('logs').seed, loggingPolicy(root.fork('logging-policy')), (d) => progress.update(d)));
  progress.stop();
  let logRows = 0;
  for (const t of logs) for (const r of t.requests) logRows += r.slate.length;
  progress.log(`logs: ${logs.length} sessions, ${logRows} exposures over ${preset.logDays} day(s)`);

  // The learned simulator is fitted on the world's logs.
  const simulator: ResponseModel = groundTruth;
  notes.push('The learned simulator is not yet available in this build: agents were trained and evaluated in the ground-truth world, so "sim" and "world" columns differ only by evaluation schedule.');

  progress.start('calibration', preset.logDays, 'days');
  const simLogs = await o.timed('calibration', () => logTraffic(catalog, simulator, preset, preset.logDays, root.fork('logs').seed, loggingPolicy(root.fork('logging-policy')), (d) => progress.update(d)));
  progress.stop();
  const worldRates = logRates(logs);
  const simRates = logRates(simLogs);
  const rows: CalibrationRow[] = (Object.keys(KUAIRAND_PURE_TARGETS) as Array<keyof typeof KUAIRAND_PURE_TARGETS>).map((k) => ({
    quantity: LABELS[k],
    target: KUAIRAND_PURE_TARGETS[k],
    world: worldRates[k],
    simulator: simRates[k],
    source: 'KuaiRand-Pure standard log (DESIGN.md §4)',
  }));
  const calibration: Calibration = {
    rows,
    notes: [
      'KuaiRand-Pure targets come from its standard log, whose behaviour policy is Kuaishou\'s production recommender; the world and simulator columns are measured under this run\'s logging policy, so they match the targets only as far as the world was calibrated for that policy.',
    ],
  };
  return { catalog, groundTruth, simulator, loggingPolicy, calibration, logRows, dataSource, notes };
}
