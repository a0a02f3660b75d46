/**
 * Writes interaction logs in the exact KuaiRand log format (the 19-column
 * header of `log_standard_*`, integer fields, `date` YYYYMMDD and `hourmin`
 * HHMM in Beijing time, UTC+8, as KuaiRand's are), and rliv's gifts file
 * (`user_id,author_id,time_ms,amount`) for what KuaiRand lacks.
 *
 * Output is buffered (1 MiB) and written synchronously, so memory stays
 * bounded and callers need no backpressure handling. The file is written to
 * `<path>.partial` and renamed on `close()`, so a crashed run never leaves a
 * log that looks complete.
 */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { LOG_COLUMNS } from './kuairand-schema.js';
import { GIFT_COLUMNS } from './kuairand-reader.js';

/** One log row. Reuse one object across `append` calls to avoid allocation. */
export interface KuaiRandLogRow {
  userId: number;
  videoId: number;
  /** Request time in ms since the epoch; `date` and `hourmin` are derived from it. */
  timeMs: number;
  isClick: number;
  isLike: number;
  isFollow: number;
  isComment: number;
  isForward: number;
  isHate: number;
  longView: number;
  playTimeMs: number;
  /** NaN writes an empty field (missing), as in KuaiRand. */
  durationMs: number;
  profileStayTime: number;
  commentStayTime: number;
  isProfileEnter: number;
  isRand: number;
  tab: number;
}

/** A fresh zeroed row object. */
export function emptyLogRow(): KuaiRandLogRow {
  return {
    userId: 0, videoId: 0, timeMs: 0, isClick: 0, isLike: 0, isFollow: 0, isComment: 0, isForward: 0, isHate: 0, longView: 0,
    playTimeMs: 0, durationMs: 0, profileStayTime: 0, commentStayTime: 0, isProfileEnter: 0, isRand: 0, tab: 0,
  };
}

const BEIJING_OFFSET_MS = 8 * 3600 * 1000;
const MS_PER_DAY = 86400000;

/** KuaiRand `date` (YYYYMMDD, Beijing time) of a time in ms. */
export function kuaiRandDate(timeMs: number): number {
  const d = new Date(timeMs + BEIJING_OFFSET_MS);
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/** KuaiRand `hourmin` (HHMM, Beijing time) of a time in ms. */
export function kuaiRandHourMin(timeMs: number): number {
  const msOfDay = (((timeMs + BEIJING_OFFSET_MS) % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY;
  const minutes = Math.floor(msOfDay / 60000);
  return Math.floor(minutes / 60) * 100 + (minutes % 60);
}

function intField(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v)) : '';
}

/** Buffered synchronous writer of text lines to `<path>.partial`, renamed to `path` on close. */
class LineFile {
  private fd: number;
  private buffer: string[] = [];
  private bufferedChars = 0;
  private closed = false;
  rows = 0;

  constructor(
    readonly path: string,
    header: string,
    private readonly flushChars = 1 << 20,
  ) {
    this.fd = openSync(`${path}.partial`, 'w');
    this.push(header);
  }

  push(line: string): void {
    if (this.closed) throw new Error(`${this.path}: write after close`);
    this.buffer.push(line);
    this.bufferedChars += line.length + 1;
    if (this.bufferedChars >= this.flushChars) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    writeSync(this.fd, this.buffer.join('\n') + '\n');
    this.buffer = [];
    this.bufferedChars = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    closeSync(this.fd);
    renameSync(`${this.path}.partial`, this.path);
    this.closed = true;
  }
}

/** Writer of a KuaiRand-format log (19 columns). */
export class KuaiRandLogWriter {
  private readonly file: LineFile;

  constructor(path: string) {
    this.file = new LineFile(path, LOG_COLUMNS.join(','));
  }

  get path(): string {
    return this.file.path;
  }

  /** Rows written so far (without the header). */
  get rows(): number {
    return this.file.rows;
  }

  append(r: KuaiRandLogRow): void {
    this.file.push(
      `${r.userId},${r.videoId},${kuaiRandDate(r.timeMs)},${kuaiRandHourMin(r.timeMs)},${Math.round(r.timeMs)},${r.isClick},${r.isLike},${r.isFollow},${r.isComment},${r.isForward},${r.isHate},${r.longView},${intField(r.playTimeMs)},${intField(r.durationMs)},${intField(r.profileStayTime)},${intField(r.commentStayTime)},${r.isProfileEnter},${r.isRand},${r.tab}`,
    );
    this.file.rows++;
  }

  /** Flushes and renames the finished file into place. */
  close(): void {
    this.file.close();
  }
}

/** Writer of rliv's gifts file: `user_id,author_id,time_ms,amount`. */
export class GiftLogWriter {
  private readonly file: LineFile;

  constructor(path: string) {
    this.file = new LineFile(path, GIFT_COLUMNS.join(','), 1 << 16);
  }

  get path(): string {
    return this.file.path;
  }

  get rows(): number {
    return this.file.rows;
  }

  append(userId: number, authorId: number, timeMs: number, amount: number): void {
    if (!(amount > 0)) throw new RangeError(`GiftLogWriter: amount must be > 0, got ${amount}`);
    this.file.push(`${userId},${authorId},${Math.round(timeMs)},${amount}`);
    this.file.rows++;
  }

  close(): void {
    this.file.close();
  }
}
