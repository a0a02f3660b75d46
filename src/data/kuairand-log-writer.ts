/**
 * Writes interaction logs in the exact KuaiRand log format (the 19-column
 * header of `log_standard_*`, integer fields, `date` YYYYMMDD and `hourmin`
 * HHMM in Beijing time, UTC+8, as KuaiRand's are), and rliv's gifts file
 * (`user_id,author_id,time_ms,amount`) for what KuaiRand lacks.
 *
 * Output is buffered (1 MiB) and written synchronously, so memory stays
 * bounded and callers need no backpressure handling. The file is written to
 * `<path>.partial` and renamed on `close()`, so a crashed run never leaves a
 * log that looks complete; a run that fails calls `abort()`, which deletes
 * the partial file.
 */
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
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
    userId: 0,
    videoId: 0,
    timeMs: 0,
    isClick: 0,
    isLike: 0,
    isFollow: 0,
    isComment: 0,
    isForward: 0,
    isHate: 0,
    longView: 0,
    playTimeMs: 0,
    durationMs: 0,
    profileStayTime: 0,
    commentStayTime: 0,
    isProfileEnter: 0,
    isRand: 0,
    tab: 0,
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

/**
 * Buffered synchronous writer of ASCII lines to `<path>.partial`, renamed to
 * `path` on close. Numbers are formatted straight into a byte buffer, so
 * writing a row allocates nothing.
 */
class ByteLineFile {
  private fd: number;
  private readonly buf: Buffer;
  private pos = 0;
  private closed = false;
  rows = 0;

  constructor(
    readonly path: string,
    header: string,
    capacity = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.fd = openSync(`${path}.partial`, 'w');
    this.text(header);
    this.newline();
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.closed) throw new Error(`${this.path}: write after close`);
    if (this.pos + n > this.buf.length) this.flush();
  }

  text(s: string): void {
    this.reserve(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  comma(): void {
    this.buf[this.pos++] = 44;
  }

  newline(): void {
    this.buf[this.pos++] = 10;
  }

  /** Writes round(v) in decimal; NaN/Infinity write nothing (an empty, missing field). */
  int(v: number): void {
    if (!Number.isFinite(v)) return;
    let x = Math.round(v);
    if (x < 0) {
      this.buf[this.pos++] = 45;
      x = -x;
    }
    if (x > 9007199254740991) {
      this.pos += this.buf.write(String(x), this.pos, 'latin1');
      return;
    }
    const buf = this.buf;
    if (x < 10) {
      buf[this.pos++] = 48 + x;
      return;
    }
    let digits = 1;
    for (let t = x; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits - 1;
    if (x < 2147483648) {
      // Small integers: 32-bit integer arithmetic.
      do {
        const q = (x / 10) | 0;
        buf[p--] = 48 + (x - q * 10);
        x = q;
      } while (x > 0);
    } else {
      do {
        const q = Math.floor(x / 10);
        buf[p--] = 48 + (x - q * 10);
        x = q;
      } while (x > 0);
    }
    this.pos += digits;
  }

  /** Writes a finite number as JavaScript prints it (e.g. 2.5). */
  num(v: number): void {
    if (Number.isInteger(v)) this.int(v);
    else this.pos += this.buf.write(String(v), this.pos, 'latin1');
  }

  flush(): void {
    if (this.pos === 0) return;
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    closeSync(this.fd);
    renameSync(`${this.path}.partial`, this.path);
    this.closed = true;
  }

  /** Discards the file: closes it and deletes `<path>.partial` (no-op after close or abort). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(`${this.path}.partial`);
    } catch {
      /* already gone */
    }
  }
}

/** Longest possible row in bytes (19 fields of at most 21 characters + commas + newline). */
const MAX_ROW_BYTES = 19 * 22 + 1;

/** Writer of a KuaiRand-format log (19 columns). */
export class KuaiRandLogWriter {
  private readonly file: ByteLineFile;
  private lastMinute = NaN;
  private date = 0;
  private hourmin = 0;

  constructor(path: string) {
    this.file = new ByteLineFile(path, LOG_COLUMNS.join(','));
  }

  get path(): string {
    return this.file.path;
  }

  /** Rows written so far (without the header). */
  get rows(): number {
    return this.file.rows;
  }

  append(r: KuaiRandLogRow): void {
    const minute = Math.floor(r.timeMs / 60000);
    if (minute !== this.lastMinute) {
      // Date fields change at most once a minute: compute them only then.
      this.lastMinute = minute;
      this.date = kuaiRandDate(r.timeMs);
      this.hourmin = kuaiRandHourMin(r.timeMs);
    }
    const f = this.file;
    f.reserve(MAX_ROW_BYTES);
    f.int(r.userId);
    f.comma();
    f.int(r.videoId);
    f.comma();
    f.int(this.date);
    f.comma();
    f.int(this.hourmin);
    f.comma();
    f.int(r.timeMs);
    f.comma();
    f.int(r.isClick);
    f.comma();
    f.int(r.isLike);
    f.comma();
    f.int(r.isFollow);
    f.comma();
    f.int(r.isComment);
    f.comma();
    f.int(r.isForward);
    f.comma();
    f.int(r.isHate);
    f.comma();
    f.int(r.longView);
    f.comma();
    f.int(r.playTimeMs);
    f.comma();
    f.int(r.durationMs);
    f.comma();
    f.int(r.profileStayTime);
    f.comma();
    f.int(r.commentStayTime);
    f.comma();
    f.int(r.isProfileEnter);
    f.comma();
    f.int(r.isRand);
    f.comma();
    f.int(r.tab);
    f.newline();
    f.rows++;
  }

  /** Flushes and renames the finished file into place. */
  close(): void {
    this.file.close();
  }

  /** Discards an unfinished log: deletes its `.partial` file (no-op after close). */
  abort(): void {
    this.file.abort();
  }
}

/** Writer of rliv's gifts file: `user_id,author_id,time_ms,amount`. */
export class GiftLogWriter {
  private readonly file: ByteLineFile;

  constructor(path: string) {
    this.file = new ByteLineFile(path, GIFT_COLUMNS.join(','), 1 << 16);
  }

  get path(): string {
    return this.file.path;
  }

  get rows(): number {
    return this.file.rows;
  }

  append(userId: number, authorId: number, timeMs: number, amount: number): void {
    if (!(amount > 0)) throw new RangeError(`GiftLogWriter: amount must be > 0, got ${amount}`);
    if (!Number.isFinite(amount)) throw new RangeError(`GiftLogWriter: amount must be finite, got ${amount}`);
    const f = this.file;
    f.reserve(4 * 25);
    f.int(userId);
    f.comma();
    f.int(authorId);
    f.comma();
    f.int(timeMs);
    f.comma();
    f.num(amount);
    f.newline();
    f.rows++;
  }

  close(): void {
    this.file.close();
  }

  /** Discards an unfinished gifts file: deletes its `.partial` file (no-op after close). */
  abort(): void {
    this.file.abort();
  }
}
