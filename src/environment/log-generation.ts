/**
 * `rliv generate` as a library function: build the ground-truth world
 * (synthetic, or on the real KuaiRand tables), calibrate its head
 * intercepts so the logging policy reproduces KuaiRand-Pure's rates, run
 * the logging policy over the calendar and write
 *   - `log_standard_rliv.csv`: KuaiRand's 19-column log (up to 6 rows per
 *     request sharing time_ms; is_rand marks the logging policy's random slots),
 *   - `log_random_rliv.csv`: the same format, the requests served uniformly
 *     at random (KuaiRand's random log; all is_rand = 1),
 *   - `gifts_rliv.csv`: user_id, author_id, time_ms, amount,
 *   - `world.json`: what rebuilds the same catalog and (calibrated) world,
 *   - `calibration.json`: generated vs KuaiRand-Pure rates.
 *
 * Columns KuaiRand has but the world does not model: `is_profile_enter` is 1
 * on a follow (following happens on the author's profile), the two stay
 * times are 0, `tab` is 0.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GiftLogWriter, KuaiRandLogWriter, emptyLogRow } from '../data/kuairand-log-writer.js';
import { Rng } from '../numeric/rng.js';
import type { Catalog } from '../world/catalog.js';
import { createWorld, type GroundTruthWorld } from '../world/ground-truth-world.js';
import { mergeWorldConfig } from '../world/world-config.js';
import {
  CALIBRATION_TOLERANCE,
  KUAIRAND_PURE_RATES,
  RATE_KEYS,
  RateAccumulator,
  calibrateWorld,
  calibrationJson,
  calibrationTable,
  type MeasuredRates,
} from './calibration.js';
import { Environment, type EnvironmentOptions } from './environment.js';
import { LoggingPolicy, type LoggingPolicyOptions } from './logging-policy.js';
import { isRandomRequest } from './slate-policy.js';
import type { SessionTrace } from './trace.js';
import { WORLD_DESCRIPTION_FILE, buildDescribedCatalog, type WorldDescription } from './world-description.js';
import { sessionOptionsFromWorld } from './world-session-options.js';

/** Scale of a generation run. */
export interface GenerationScale {
  /** Synthetic users (ignored when a user table is given). */
  numUsers: number;
  /** Synthetic items (ignored when a video table is given). */
  numItems: number;
  /** Calendar days of logging-policy traffic. */
  days: number;
  /**
   * Days of the same traffic before the logs, not written (docs/design.md
   * §5.5): KuaiRand's users are established when its logs begin (99.5 %
   * registered more than 30 days before), so the world's come to the logs
   * with a history. Calibration measures its rates after the same warm-up.
   */
  warmUpDays: number;
  /** Candidates per request. */
  numCandidates: number;
  /**
   * User-days each calibration evaluation simulates: the first
   * {@link calibrationUsersFor} users over the logged `days`. A budget, not a
   * user count, so that a shorter `days` calibrates on more users instead of
   * on a smaller sample: the rare rates (comment 0.26 %, follow 0.11 %)
   * need thousands of user-days to be measured inside the ±20 % tolerance
   * (600 users x 1 day put comment at -22 % to +24 % in the full log).
   */
  calibrationUserDays: number;
  /** Passes over the heads during calibration. */
  calibrationRounds: number;
  /** Share of requests served uniformly at random (the random log). */
  randomRequestRate: number;
}

export const GENERATION_PRESETS: Record<'smoke' | 'quick' | 'paper', GenerationScale> = {
  smoke: { numUsers: 300, numItems: 2000, days: 3, warmUpDays: 1, numCandidates: 50, calibrationUserDays: 900, calibrationRounds: 2, randomRequestRate: 0.3 },
  quick: {
    numUsers: 3000,
    numItems: 20000,
    days: 7,
    warmUpDays: 30,
    numCandidates: 100,
    calibrationUserDays: 4200,
    calibrationRounds: 2,
    randomRequestRate: 0.3,
  },
  paper: {
    numUsers: 27285,
    numItems: 200000,
    days: 14,
    warmUpDays: 30,
    numCandidates: 100,
    calibrationUserDays: 21000,
    calibrationRounds: 2,
    randomRequestRate: 0.3,
  },
};

/**
 * Users of one calibration evaluation: enough for `calibrationUserDays`
 * over `days` days, at most all `numUsers` (then the calibration run is the
 * logged run itself).
 */
export function calibrationUsersFor(scale: Pick<GenerationScale, 'calibrationUserDays' | 'days'>, numUsers: number): number {
  const { calibrationUserDays, days } = scale;
  if (!(Number.isInteger(calibrationUserDays) && calibrationUserDays >= 0))
    throw new RangeError(`calibrationUserDays must be a non-negative integer, got ${calibrationUserDays}`);
  if (!(Number.isInteger(days) && days >= 1)) throw new RangeError(`days must be a positive integer, got ${days}`);
  return Math.min(numUsers, Math.ceil(calibrationUserDays / days));
}

export interface GenerateOptions {
  /** Output directory (created). */
  outDir: string;
  /** Scale; see {@link GENERATION_PRESETS}. */
  scale: GenerationScale;
  /** Real `user_features_*` table: its users instead of synthetic ones. */
  usersPath?: string;
  /** Real `video_features_basic_*` table: its videos, authors, tags, durations. */
  videosPath?: string;
  /** Partial world config (parsed `--world FILE.json`) over the defaults. */
  worldOverride?: unknown;
  /** Root seed. */
  seed: number;
  /** Skip calibration (use the config's intercepts as given). Default false. */
  skipCalibration?: boolean;
  /** Logging-policy options (seed is derived from `seed`). */
  loggingPolicy?: Partial<Omit<LoggingPolicyOptions, 'seed'>>;
  /** Human progress lines. */
  log?: (line: string) => void;
}

export interface GenerateResult {
  files: { log: string; randomLog: string; gifts: string; world: string; calibration: string };
  /** Rows of the standard log. */
  rows: number;
  /** Rows of the random log. */
  randomRows: number;
  giftRows: number;
  sessions: number;
  users: number;
  items: number;
  authors: number;
  rates: MeasuredRates;
  /** True when every calibrated rate is within ±20 % of KuaiRand-Pure's. */
  withinTolerance: boolean;
  calibrationEvaluations: number;
  /** Users each calibration evaluation simulated (0 when calibration was skipped). */
  calibrationUsers: number;
  catalog: Catalog;
  world: GroundTruthWorld;
}

/**
 * Watch-time shape `rliv generate` starts from (before `--world`): with the
 * world's defaults (replays up to 2x, noisy ratio strongly tied to
 * affinity) no intercept reaches KuaiRand's long_view share at its mean play
 * time — too many clicked plays end just past 7 s while long replays hold up
 * the mean. Capping replays at 1.2x and tightening the ratio's spread puts
 * all six rates within a few percent once the intercepts are fitted.
 */
export const GENERATION_WORLD_DEFAULTS = { watch: { maxRatio: 1.2, noise: 0.3, affinity: 0.3 } } as const;

/** The logging policy of generated data: the world's item appeal as its (noisy) relevance estimate. */
export function worldLoggingPolicy(
  catalog: Catalog,
  world: GroundTruthWorld,
  seed: number,
  options: Partial<Omit<LoggingPolicyOptions, 'seed'>> = {},
): LoggingPolicy {
  const s = world.config.affinityScale;
  const quality = world.authorQuality;
  // The policy that writes the world's logs: in a learned simulator its choices are answered as the standard log answered them.
  return new LoggingPolicy(catalog, (u, i) => s * world.affinity(u, i) + quality[catalog.itemAuthor[i]!]!, { ...options, seed }, true);
}

export async function generateDataset(o: GenerateOptions): Promise<GenerateResult> {
  const say = o.log ?? (() => {});
  const root = new Rng(o.seed);
  const description: Omit<WorldDescription, 'worldConfig'> = {
    kind: 'rliv-world',
    version: 1,
    catalogSeed: root.fork('catalog').seed,
    worldSeed: root.fork('world').seed,
    ...(o.usersPath ? { usersPath: resolve(o.usersPath) } : { numUsers: o.scale.numUsers }),
    ...(o.videosPath ? { videosPath: resolve(o.videosPath) } : { numItems: o.scale.numItems }),
  };
  const config = mergeWorldConfig(o.worldOverride ?? {}, mergeWorldConfig(GENERATION_WORLD_DEFAULTS));
  const catalog = await buildDescribedCatalog(description, config.popularityExponent);
  const world = createWorld(catalog, config, description.worldSeed);
  say(
    `world: ${catalog.numUsers} users, ${catalog.numAuthors} authors, ${catalog.numItems} items, ${catalog.numTags} tags${o.usersPath || o.videosPath ? ' (KuaiRand tables)' : ' (synthetic)'}`,
  );

  const environment: Partial<EnvironmentOptions> = { seed: root.fork('logs').seed, numCandidates: Math.min(o.scale.numCandidates, catalog.numItems) };
  const policySeed = root.fork('logging-policy').seed;
  const policy = () => worldLoggingPolicy(catalog, world, policySeed, { randomRequestRate: o.scale.randomRequestRate, ...o.loggingPolicy });
  let evaluations = 0;
  const calibrationUsers = o.skipCalibration ? 0 : calibrationUsersFor(o.scale, catalog.numUsers);
  if (!o.skipCalibration) {
    say(`calibrating head intercepts on ${calibrationUsers} users x ${o.scale.days} days (after ${o.scale.warmUpDays} unlogged) ...`);
    const res = calibrateWorld(catalog, world, {
      policy,
      environment,
      users: calibrationUsers,
      days: o.scale.days,
      warmUpDays: o.scale.warmUpDays,
      rounds: o.scale.calibrationRounds,
      onStep: (head, step, x, v) => {
        if (step === 0) say(`  ${head}: intercept ${x.toFixed(3)} -> ${v.toPrecision(4)}`);
      },
    });
    evaluations = res.evaluations;
    say(`calibration: ${evaluations} environment runs`);
  }

  mkdirSync(o.outDir, { recursive: true });
  const files = {
    log: join(o.outDir, 'log_standard_rliv.csv'),
    randomLog: join(o.outDir, 'log_random_rliv.csv'),
    gifts: join(o.outDir, 'gifts_rliv.csv'),
    world: join(o.outDir, WORLD_DESCRIPTION_FILE),
    calibration: join(o.outDir, 'calibration.json'),
  };
  const opened: { abort(): void }[] = [];
  let logWriter: KuaiRandLogWriter, randomWriter: KuaiRandLogWriter, giftWriter: GiftLogWriter;
  try {
    opened.push((logWriter = new KuaiRandLogWriter(files.log)));
    opened.push((randomWriter = new KuaiRandLogWriter(files.randomLog)));
    opened.push((giftWriter = new GiftLogWriter(files.gifts)));
  } catch (err) {
    for (const w of opened) w.abort();
    throw err;
  }
  const acc = new RateAccumulator();
  const row = emptyLogRow();
  let sessions = 0;
  const writeSession = (t: SessionTrace): void => {
    sessions++;
    acc.add(t);
    const userId = catalog.userRawId[t.user]!;
    for (const r of t.requests) {
      const s = r.responses;
      const writer = isRandomRequest(r.isRand) ? randomWriter : logWriter;
      for (let p = 0; p < r.slate.length; p++) {
        const item = r.candidates[r.slate[p]!]!;
        row.userId = userId;
        row.videoId = catalog.itemRawId[item]!;
        row.timeMs = r.timeMs;
        row.isClick = s.click[p]!;
        row.isLike = s.like[p]!;
        row.isFollow = s.follow[p]!;
        row.isComment = s.comment[p]!;
        row.isForward = s.forward[p]!;
        row.isHate = s.hate[p]!;
        row.longView = s.longView[p]!;
        row.playTimeMs = s.playTimeMs[p]!;
        row.durationMs = catalog.itemDurationMs[item]!;
        row.isProfileEnter = s.follow[p]!;
        row.isRand = r.isRand ? r.isRand[p]! : 0;
        writer.append(row);
        if (s.giftAmount[p]! > 0) giftWriter.append(userId, catalog.authorRawId[catalog.itemAuthor[item]!]!, r.timeMs, s.giftAmount[p]!);
      }
    }
  };
  try {
    const env = new Environment(catalog, world, { ...environment, ...sessionOptionsFromWorld(world.config) });
    const logPolicy = policy();
    // The warm-up: the same traffic, not written; the logs continue its calendar and history.
    for (let d = 0; d < o.scale.warmUpDays; d++) {
      const summary = env.runDays(1, logPolicy);
      say(`warm-up day ${d + 1}/${o.scale.warmUpDays} (not logged): ${summary.sessions} sessions`);
    }
    for (let d = 0; d < o.scale.days; d++) {
      const summary = env.runDays(1, logPolicy, writeSession);
      say(`day ${d + 1}/${o.scale.days}: ${summary.sessions} sessions, ${logWriter.rows} rows so far`);
    }
    logWriter.close();
    randomWriter.close();
    giftWriter.close();
  } catch (err) {
    // A failed run leaves no *.partial file behind (closed files are kept: they are complete).
    for (const w of opened) w.abort();
    throw err;
  }
  const rates = acc.rates();
  const withinTolerance = RATE_KEYS.every((k) => Math.abs(rates[k] / KUAIRAND_PURE_RATES[k] - 1) <= CALIBRATION_TOLERANCE);
  writeFileSync(files.world, JSON.stringify({ ...description, worldConfig: world.config }, null, 2) + '\n');
  writeFileSync(
    files.calibration,
    JSON.stringify(
      calibrationJson(rates, {
        tolerance: CALIBRATION_TOLERANCE,
        withinTolerance,
        exposures: rates.exposures,
        extra: {
          is_rand: rates.is_rand,
          click_given_follow: rates.click_given_follow,
          next_day_return: rates.next_day_return,
        },
        // The rates are those of the logged days, after this many unlogged ones.
        warmUpDays: o.scale.warmUpDays,
      }),
      null,
      2,
    ) + '\n',
  );
  for (const line of calibrationTable(rates)) say(line);
  return {
    files,
    rows: logWriter.rows,
    randomRows: randomWriter.rows,
    giftRows: giftWriter.rows,
    sessions,
    users: catalog.numUsers,
    items: catalog.numItems,
    authors: catalog.numAuthors,
    rates,
    withinTolerance,
    calibrationEvaluations: evaluations,
    calibrationUsers,
    catalog,
    world,
  };
}
