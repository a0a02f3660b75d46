/**
 * Reading a directory of KuaiRand-format logs into an {@link InteractionLog}
 * for the learned simulator: every `log_standard_*.csv` (and
 * `log_random_*.csv`) in the directory, streamed by the data layer's reader,
 * raw ids mapped to the catalog's dense ids, gifts joined from
 * `gifts_*.csv` (rliv's gifts file) onto the row of the same user, request
 * time and author. Rows whose user or video is not in the catalog are
 * skipped and counted, never silently dropped.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readGiftLog, readKuaiRandLog } from '../data/kuairand-reader.js';
import type { Catalog } from '../world/catalog.js';
import { allocInteractionLog, type InteractionLog } from './interaction-log.js';

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

/** Loads every log file of `dir` (optionally at most `maxRows` rows) for `catalog`. */
export async function loadLogDirectory(dir: string, catalog: Catalog, maxRows = Infinity): Promise<LoadedLogs> {
  const files = findLogFiles(dir);
  const userOf = new Map<number, number>();
  for (let u = 0; u < catalog.numUsers; u++) userOf.set(catalog.userRawId[u]!, u);
  const itemOf = new Map<number, number>();
  for (let i = 0; i < catalog.numItems; i++) itemOf.set(catalog.itemRawId[i]!, i);
  let log = allocInteractionLog(1 << 16);
  let rowsRead = 0;
  let skipped = 0;
  outer: for (const path of files.logs) {
    for await (const b of readKuaiRandLog(path)) {
      for (let r = 0; r < b.count; r++) {
        if (log.count >= maxRows) break outer;
        rowsRead++;
        const u = userOf.get(b.userId[r]!);
        const i = itemOf.get(b.videoId[r]!);
        if (u === undefined || i === undefined) {
          skipped++;
          continue;
        }
        if (log.count === log.user.length) log = grow(log, log.user.length * 2);
        const e = log.count++;
        log.user[e] = u;
        log.item[e] = i;
        log.timeMs[e] = b.timeMs[r]!;
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
      }
    }
  }
  // Gifts: (raw user, time_ms, raw author) -> amount, joined onto the first matching row.
  let joined = 0;
  let unmatched = 0;
  if (files.gifts.length > 0) {
    const pending = new Map<string, number[]>();
    for (const path of files.gifts) {
      const g = await readGiftLog(path);
      for (let k = 0; k < g.count; k++) {
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
  return { log, files, rowsRead, rowsSkippedUnknownId: skipped, giftsJoined: joined, giftsUnmatched: unmatched };
}
