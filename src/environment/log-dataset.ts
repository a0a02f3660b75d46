/**
 * Reading a directory of KuaiRand-format logs into an {@link InteractionLog}
 * for the learned simulator: every `log_standard_*.csv` (and
 * `log_random_*.csv`) in the directory, streamed by the data layer's reader,
 * raw ids mapped to the catalog's dense ids, gifts joined from
 * `gifts_*.csv` (rliv's gifts file) onto the row of the same user, request
 * time and author. Rows whose user or video is not in the catalog are
 * skipped and counted, never silently dropped. Under a row cap, whole users
 * are kept (see {@link LoadLogOptions.maxRows}).
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readGiftLog, readKuaiRandLog, type LogBatch } from '../data/kuairand-reader.js';
import { Rng } from '../numeric/rng.js';
import type { Catalog } from '../world/catalog.js';
import { allocInteractionLog, type InteractionLog } from './interaction-log.js';

/** KuaiRand's random log: `log_random_*.csv` (exposures of uniformly random items). */
const RANDOM_LOG_NAME = /^log_random_.*\.csv$/;

export interface LogDirectoryFiles {
  logs: string[];
  gifts: string[];
}

/** The log and gift files of a directory (sorted by name). */
export function findLogFiles(dir: string): LogDirectoryFiles {
  if (!existsSync(dir)) throw new Error(`log directory ${dir} does not exist; create it with rliv generate --out ${dir}`);
  const names = readdirSync(dir).sort();
  const logs = names.filter((n) => /^log_(standard|random)_.*\.csv$/.test(n)).map((n) => join(dir, n));
  const gifts = names.filter((n) => /^gifts_.*\.csv$/.test(n)).map((n) => join(dir, n));
  if (logs.length === 0) throw new Error(`no log_standard_*.csv or log_random_*.csv files in ${dir}`);
  return { logs, gifts };
}

export interface LoadedLogs {
  log: InteractionLog;
  files: LogDirectoryFiles;
  /** Rows read from the files. */
  rowsRead: number;
  /** Rows skipped because the user or video is not in the catalog. */
  rowsSkippedUnknownId: number;
  /** Gift rows matched to a log row / not matched. */
  giftsJoined: number;
  giftsUnmatched: number;
  /** Users whose rows were kept: all of the catalog's, or the subset a `maxRows` cap chose. */
  usersKept: number;
}

function grow(log: InteractionLog, capacity: number): InteractionLog {
  const next = allocInteractionLog(capacity);
  next.count = log.count;
  for (const key of Object.keys(log) as (keyof InteractionLog)[]) {
    if (key === 'count') continue;
    (next[key] as { set(a: ArrayLike<number>): void }).set((log[key] as Float32Array).subarray(0, log.count));
  }
  return next;
}

export interface LoadLogOptions {
  /**
   * At most this many rows (default all). A cap keeps the COMPLETE histories
   * of a seeded random subset of users, in every file: a prefix of the files
   * would be the random log alone (it sorts first) or the first days alone,
   * and an arbitrary row sample would break the pair counts f_ua that the
   * simulator's features rebuild from each user's history.
   */
  maxRows?: number;
  /** Seed of the user subset under a cap. Default 1. */
  seed?: number;
}

/** Loads the log files of `dir` for `catalog` (all rows, or whole users up to `maxRows`). */
export async function loadLogDirectory(dir: string, catalog: Catalog, options: LoadLogOptions = {}): Promise<LoadedLogs> {
  const maxRows = options.maxRows ?? Infinity;
  if (!(maxRows >= 1)) throw new RangeError(`maxRows must be >= 1, got ${maxRows}`);
  const files = findLogFiles(dir);
  const userOf = new Map<number, number>();
  for (let u = 0; u < catalog.numUsers; u++) userOf.set(catalog.userRawId[u]!, u);
  const itemOf = new Map<number, number>();
  for (let i = 0; i < catalog.numItems; i++) itemOf.set(catalog.itemRawId[i]!, i);
  /** Visits every row of every file with its dense user and item (-1 = not in the catalog). */
  const eachRow = async (visit: (b: LogBatch, r: number, user: number, item: number, random: number) => void): Promise<void> => {
    for (const path of files.logs) {
      const random = RANDOM_LOG_NAME.test(basename(path)) ? 1 : 0;
      for await (const b of readKuaiRandLog(path)) {
        for (let r = 0; r < b.count; r++) visit(b, r, userOf.get(b.userId[r]!) ?? -1, itemOf.get(b.videoId[r]!) ?? -1, random);
      }
    }
  };

  let keep: Uint8Array | null = null;
  let usersKept = catalog.numUsers;
  if (Number.isFinite(maxRows)) {
    // Pass 1: each user's row count, then whole users in a seeded order while they fit.
    const rowsOf = new Float64Array(catalog.numUsers);
    let total = 0;
    await eachRow((_b, _r, u, i) => {
      if (u < 0 || i < 0) return;
      rowsOf[u]!++;
      total++;
    });
    if (total > maxRows) {
      keep = new Uint8Array(catalog.numUsers);
      usersKept = 0;
      const order = Int32Array.from({ length: catalog.numUsers }, (_, u) => u);
      new Rng(options.seed ?? 1).fork('log-users').shuffle(order);
      let taken = 0;
      for (const u of order) {
        if (rowsOf[u]! === 0 || taken + rowsOf[u]! > maxRows) continue;
        keep[u] = 1;
        usersKept++;
        taken += rowsOf[u]!;
      }
      if (taken === 0) {
        let smallest = Infinity;
        for (const c of rowsOf) if (c > 0) smallest = Math.min(smallest, c);
        throw new RangeError(`maxRows ${maxRows} is smaller than any user's history in ${dir} (the smallest has ${smallest} rows); raise it`);
      }
    }
  }

  let log = allocInteractionLog(1 << 16);
  let rowsRead = 0;
  let skipped = 0;
  await eachRow((b, r, u, i, random) => {
    rowsRead++;
    if (u < 0 || i < 0) {
      skipped++;
      return;
    }
    if (keep && keep[u] === 0) return;
    if (log.count === log.user.length) log = grow(log, log.user.length * 2);
    const e = log.count++;
    log.user[e] = u;
    log.item[e] = i;
    log.timeMs[e] = b.timeMs[r]!;
    log.fromRandomLog[e] = random;
    log.click[e] = b.isClick[r]!;
    log.longView[e] = b.longView[r]!;
    log.like[e] = b.isLike[r]!;
    log.follow[e] = b.isFollow[r]!;
    log.comment[e] = b.isComment[r]!;
    log.forward[e] = b.isForward[r]!;
    log.hate[e] = b.isHate[r]!;
    const play = b.playTimeMs[r]!;
    log.playTimeMs[e] = Number.isFinite(play) ? play : 0;
    log.giftAmount[e] = 0;
  });
  // Gifts: (raw user, time_ms, raw author) -> amount, joined onto the first matching row.
  let joined = 0;
  let unmatched = 0;
  if (files.gifts.length > 0) {
    const pending = new Map<string, number[]>();
    for (const path of files.gifts) {
      const g = await readGiftLog(path);
      for (let k = 0; k < g.count; k++) {
        const giver = userOf.get(g.userId[k]!);
        if (keep && giver !== undefined && keep[giver] === 0) continue; // a user left out by the cap (an unknown user's gift stays unmatched)
        const key = `${g.userId[k]}:${g.timeMs[k]}:${g.authorId[k]}`;
        const list = pending.get(key);
        if (list) list.push(g.amount[k]!);
        else pending.set(key, [g.amount[k]!]);
        unmatched++;
      }
    }
    for (let e = 0; e < log.count && pending.size > 0; e++) {
      const key = `${catalog.userRawId[log.user[e]!]}:${log.timeMs[e]}:${catalog.authorRawId[catalog.itemAuthor[log.item[e]!]!]}`;
      const list = pending.get(key);
      if (!list) continue;
      log.giftAmount[e] = list.shift()!;
      if (list.length === 0) pending.delete(key);
      joined++;
      unmatched--;
    }
  }
  return { log, files, rowsRead, rowsSkippedUnknownId: skipped, giftsJoined: joined, giftsUnmatched: unmatched, usersKept };
}
