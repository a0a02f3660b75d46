/**
 * Streaming loaders for the KuaiRand tables (Pure, 1K and 27K layouts are
 * the same): interaction logs as an async iterable of struct-of-arrays
 * batches in bounded memory, and the (small) feature tables loaded whole.
 *
 * Validation: the header must be exactly the documented column list (the
 * first mismatching column is named); every row must have exactly that many
 * fields (a short last line is reported as a truncated file); every numeric
 * field must parse, flags must be 0 or 1, integers integral, numbers finite
 * and inside the column's sane range ({@link LOG_RANGES}: no negative play
 * time or duration, times between 1970 and 2100); feature tables must have
 * at least one row and no id twice. Any violation throws
 * {@link KuaiRandFormatError} naming file, line and column.
 *
 * Missing values (see kuairand-schema.ts): empty fields in optional numeric
 * columns become NaN; in categorical columns code 0; negative sentinels in
 * user features (e.g. is_live_streamer = -124) are treated as missing. In
 * logs, `duration_ms`, `profile_stay_time`, `comment_stay_time` and
 * `play_time_ms` may be empty (NaN); ids, dates, times and flags may not.
 */
import { createReadStream } from 'node:fs';
import { readLineChunks, splitCsvLine } from './line-stream.js';
import { KuaiRandFormatError } from './kuairand-format-error.js';
import {
  LOG_COLUMNS,
  USER_FEATURE_COLUMNS,
  USER_CATEGORICAL_COLUMNS,
  USER_NUMERIC_COLUMNS,
  VIDEO_BASIC_COLUMNS,
  VIDEO_CATEGORICAL_COLUMNS,
  type CategoricalColumn,
  type UserFeatureTable,
  type VideoFeatureTable,
  type VideoStatisticTable,
} from './kuairand-schema.js';

/** One batch of log rows as struct-of-arrays (arrays have exactly `count` entries). */
export interface LogBatch {
  count: number;
  /** 1-based file line of row 0 (for error messages downstream). */
  firstLine: number;
  userId: Int32Array;
  videoId: Int32Array;
  /** YYYYMMDD. */
  date: Int32Array;
  /** HHMM. */
  hourmin: Int32Array;
  /** Request time, ms since the epoch (rows of one request share it). */
  timeMs: Float64Array;
  isClick: Uint8Array;
  isLike: Uint8Array;
  isFollow: Uint8Array;
  isComment: Uint8Array;
  isForward: Uint8Array;
  isHate: Uint8Array;
  longView: Uint8Array;
  /** NaN when missing. */
  playTimeMs: Float64Array;
  /** NaN when missing. */
  durationMs: Float64Array;
  /** NaN when missing. */
  profileStayTime: Float64Array;
  /** NaN when missing. */
  commentStayTime: Float64Array;
  isProfileEnter: Uint8Array;
  isRand: Uint8Array;
  tab: Int32Array;
}

export interface LogReaderOptions {
  /** Rows per batch. Default 65,536. */
  batchSize?: number;
  /** Read buffer in bytes. Default 1 MiB. */
  highWaterMark?: number;
}

/** Parses a plain decimal ("12", "-3", "4.50", "1e3"); NaN when not a number. Empty input is the caller's concern. */
export function parseDecimal(s: string): number {
  const len = s.length;
  let i = 0;
  let neg = false;
  const c0 = s.charCodeAt(0);
  if (c0 === 45) {
    neg = true;
    i = 1;
  }
  if (i >= len) return NaN;
  let v = 0;
  for (; i < len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
  }
  if (i === len) return neg ? -v : v;
  // Fractions, exponents and anything unusual: defer to Number() but refuse blanks, hex and Infinity.
  const trimmed = s.trim();
  if (trimmed !== s || /[xXoObB]|Infinity/.test(s)) return NaN;
  return Number(s);
}

type FieldKind = 'int' | 'flag' | 'float';
interface LogField {
  kind: FieldKind;
  optional: boolean;
}

/** Latest accepted event time: 2100-01-01T00:00:00Z in ms (times are ms since the epoch). */
export const MAX_TIME_MS = Date.UTC(2100, 0, 1);
/** Longest accepted play time or video duration: 24 h in ms (a short-video platform's items last seconds to minutes). */
export const MAX_DURATION_MS = 86_400_000;

/** A column's sane range [min, max] and what it means (for the error message). */
export interface ValueRange {
  min: number;
  max: number;
  meaning: string;
}

const TIME_RANGE: ValueRange = { min: 0, max: MAX_TIME_MS, meaning: 'ms since 1970-01-01 UTC, before the year 2100' };

/**
 * Sane ranges of the log columns that have one (flags are 0/1, ids any
 * 32-bit integer); a value outside is refused. The stay times keep their
 * KuaiRand meaning (a negative value is a sentinel there) and are only
 * required to be finite.
 */
export const LOG_RANGES: Partial<Record<(typeof LOG_COLUMNS)[number], ValueRange>> = {
  date: { min: 19700101, max: 21001231, meaning: 'YYYYMMDD' },
  hourmin: { min: 0, max: 2359, meaning: 'HHMM' },
  time_ms: TIME_RANGE,
  play_time_ms: { min: 0, max: MAX_DURATION_MS, meaning: 'a play time in ms, at most 24 h' },
  duration_ms: { min: 0, max: MAX_DURATION_MS, meaning: 'a video duration in ms, at most 24 h' },
};

/** The message of a value outside its column's range. */
function rangeProblem(text: string, r: ValueRange): string {
  return `out of range: '${text}' is not in [${r.min}, ${r.max}] (${r.meaning})`;
}
const LOG_FIELD: Record<(typeof LOG_COLUMNS)[number], LogField> = {
  user_id: { kind: 'int', optional: false },
  video_id: { kind: 'int', optional: false },
  date: { kind: 'int', optional: false },
  hourmin: { kind: 'int', optional: false },
  time_ms: { kind: 'float', optional: false },
  is_click: { kind: 'flag', optional: false },
  is_like: { kind: 'flag', optional: false },
  is_follow: { kind: 'flag', optional: false },
  is_comment: { kind: 'flag', optional: false },
  is_forward: { kind: 'flag', optional: false },
  is_hate: { kind: 'flag', optional: false },
  long_view: { kind: 'flag', optional: false },
  play_time_ms: { kind: 'float', optional: true },
  duration_ms: { kind: 'float', optional: true },
  profile_stay_time: { kind: 'float', optional: true },
  comment_stay_time: { kind: 'float', optional: true },
  is_profile_enter: { kind: 'flag', optional: false },
  is_rand: { kind: 'flag', optional: false },
  tab: { kind: 'int', optional: false },
};

function allocLogBatch(n: number, firstLine: number): LogBatch {
  return {
    count: 0,
    firstLine,
    userId: new Int32Array(n),
    videoId: new Int32Array(n),
    date: new Int32Array(n),
    hourmin: new Int32Array(n),
    timeMs: new Float64Array(n),
    isClick: new Uint8Array(n),
    isLike: new Uint8Array(n),
    isFollow: new Uint8Array(n),
    isComment: new Uint8Array(n),
    isForward: new Uint8Array(n),
    isHate: new Uint8Array(n),
    longView: new Uint8Array(n),
    playTimeMs: new Float64Array(n),
    durationMs: new Float64Array(n),
    profileStayTime: new Float64Array(n),
    commentStayTime: new Float64Array(n),
    isProfileEnter: new Uint8Array(n),
    isRand: new Uint8Array(n),
    tab: new Int32Array(n),
  };
}

/** Trims every array of a batch to `count` entries (views, no copy). */
function trimBatch(b: LogBatch): LogBatch {
  const out = { ...b } as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(b)) if (ArrayBuffer.isView(v)) out[k] = (v as Int32Array).subarray(0, b.count);
  return out as unknown as LogBatch;
}

/** Checks a header line against the expected columns; throws a KuaiRandFormatError naming the first mismatch. */
export function checkHeader(path: string, header: string | undefined, expected: readonly string[]): void {
  if (header === undefined)
    throw new KuaiRandFormatError(
      path,
      1,
      undefined,
      undefined,
      `empty file: expected a header with ${expected.length} columns (${expected.slice(0, 3).join(', ')}, ...)`,
    );
  const fields: string[] = [];
  const n = splitCsvLine(header.charCodeAt(0) === 0xfeff ? header.slice(1) : header, fields);
  for (let c = 0; c < expected.length; c++) {
    if (c >= n)
      throw new KuaiRandFormatError(
        path,
        1,
        expected[c],
        c,
        `header ends after ${n} columns; expected '${expected[c]}' here (${expected.length} columns in all)`,
      );
    if (fields[c] !== expected[c]) throw new KuaiRandFormatError(path, 1, expected[c], c, `header has '${fields[c]}' where '${expected[c]}' is expected`);
  }
  if (n > expected.length)
    throw new KuaiRandFormatError(path, 1, fields[expected.length], expected.length, `header has ${n} columns, expected ${expected.length}`);
}

function fieldCountError(path: string, line: number, got: number, expected: number, lastUnterminated: boolean): KuaiRandFormatError {
  if (got < 0) return new KuaiRandFormatError(path, line, undefined, undefined, 'unterminated quote');
  const hint = got < expected && lastUnterminated ? '; the file looks truncated (last line cut short)' : '';
  return new KuaiRandFormatError(path, line, undefined, undefined, `expected ${expected} fields, found ${got}${hint}`);
}

const SCAN_FIELD_COUNT = 1;
const SCAN_MISSING = 2;
const SCAN_NOT_NUMBER = 3;
const SCAN_NOT_FLAG = 4;
const SCAN_NOT_INT = 5;
const SCAN_NOT_FINITE = 6;
const SCAN_OUT_OF_RANGE = 7;
/** Where the last failed scan stopped (read only after a non-zero scan code). */
const scan = { column: 0, fieldStart: 0, fieldEnd: 0, fields: 0 };

/**
 * Parses one comma-separated numeric line buf[start, end) into `values`
 * without allocating. kinds: 0 int, 1 flag, 2 float; every value must lie in
 * [lo[c], hi[c]] (+-Infinity for no bound). Returns 0 or a SCAN_* code
 * (details in `scan`).
 */
function scanLogLine(
  buf: Uint8Array,
  start: number,
  end: number,
  values: Float64Array,
  kinds: Uint8Array,
  optional: Uint8Array,
  lo: Float64Array,
  hi: Float64Array,
  ncol: number,
): number {
  let pos = start;
  for (let c = 0; c < ncol; c++) {
    const fs = pos;
    let v = 0;
    let digits = 0;
    let neg = false;
    let simple = true;
    if (pos < end && buf[pos] === 45) {
      neg = true;
      pos++;
    }
    while (pos < end) {
      const ch = buf[pos]!;
      if (ch === 44) break;
      const dgt = ch - 48;
      if (dgt >= 0 && dgt <= 9) {
        v = v * 10 + dgt;
        digits++;
      } else simple = false;
      pos++;
    }
    const fe = pos;
    scan.column = c;
    scan.fieldStart = fs;
    scan.fieldEnd = fe;
    if (fe === fs) {
      if (c < ncol - 1 && pos >= end) {
        scan.fields = c + 1;
        return SCAN_FIELD_COUNT;
      }
      if (optional[c] === 0) return SCAN_MISSING;
      values[c] = NaN;
    } else {
      if (!simple || digits === 0) {
        v = parseDecimal(Buffer.from(buf.buffer, buf.byteOffset + fs, fe - fs).toString('latin1'));
        if (Number.isNaN(v)) return SCAN_NOT_NUMBER;
      } else if (neg) v = -v;
      const kind = kinds[c];
      if (kind === 1 && v !== 0 && v !== 1) return SCAN_NOT_FLAG;
      if (kind === 0 && (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)) return SCAN_NOT_INT;
      if (v === Infinity || v === -Infinity) return SCAN_NOT_FINITE;
      if (v < lo[c]! || v > hi[c]!) return SCAN_OUT_OF_RANGE;
      values[c] = v;
    }
    if (c < ncol - 1) {
      if (pos >= end) {
        scan.fields = c + 1;
        return SCAN_FIELD_COUNT;
      }
      pos++; // the comma
    }
  }
  if (pos < end) {
    let n = ncol;
    for (let k = pos; k < end; k++) if (buf[k] === 44) n++;
    scan.fields = n;
    return SCAN_FIELD_COUNT;
  }
  return 0;
}

/**
 * Streams a `log_standard_*` / `log_random_*` file (or a log rliv wrote) as
 * batches of typed rows. Memory: one read buffer plus one batch. Parsing
 * works on the raw bytes (logs are ASCII numbers), so no per-field strings
 * are allocated; the text of a field is decoded only to report an error.
 *
 *   for await (const batch of readKuaiRandLog(path)) { ... batch.count rows ... }
 */
export async function* readKuaiRandLog(path: string, options: LogReaderOptions = {}): AsyncGenerator<LogBatch> {
  const batchSize = options.batchSize ?? 65536;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`readKuaiRandLog: batchSize must be a positive integer, got ${batchSize}`);
  const ncol = LOG_COLUMNS.length;
  const kinds = new Uint8Array(ncol);
  const optional = new Uint8Array(ncol);
  const lo = new Float64Array(ncol).fill(-Infinity);
  const hi = new Float64Array(ncol).fill(Infinity);
  LOG_COLUMNS.forEach((c, k) => {
    kinds[k] = LOG_FIELD[c].kind === 'int' ? 0 : LOG_FIELD[c].kind === 'flag' ? 1 : 2;
    optional[k] = LOG_FIELD[c].optional ? 1 : 0;
    const range = LOG_RANGES[c];
    if (range) {
      lo[k] = range.min;
      hi[k] = range.max;
    }
  });
  const values = new Float64Array(ncol);
  const stream = createReadStream(path, { highWaterMark: options.highWaterMark ?? 1 << 20 });
  let carry: Buffer | null = null;
  let lineNo = 0;
  let headerSeen = false;
  let batch: LogBatch | null = null;

  const fieldText = (buf: Buffer, s: number, e: number): string => {
    const t = buf.toString('latin1', s, Math.min(e, s + 40));
    return e - s > 40 ? t + '...' : t;
  };

  /** Parses one data line buf[start, end) into `values`; throws KuaiRandFormatError. */
  const parseLine = (buf: Buffer, start: number, end: number, truncated: boolean): void => {
    const code = scanLogLine(buf, start, end, values, kinds, optional, lo, hi, ncol);
    if (code === 0) return;
    const c = scan.column;
    const fs = scan.fieldStart,
      fe = scan.fieldEnd;
    if (code === SCAN_FIELD_COUNT) throw fieldCountError(path, lineNo, scan.fields, ncol, truncated);
    if (code === SCAN_MISSING) throw new KuaiRandFormatError(path, lineNo, LOG_COLUMNS[c], c, 'missing value in a required column');
    if (code === SCAN_NOT_NUMBER) throw new KuaiRandFormatError(path, lineNo, LOG_COLUMNS[c], c, `expected a number, got '${fieldText(buf, fs, fe)}'`);
    if (code === SCAN_NOT_FLAG) throw new KuaiRandFormatError(path, lineNo, LOG_COLUMNS[c], c, `expected 0 or 1, got '${fieldText(buf, fs, fe)}'`);
    if (code === SCAN_NOT_FINITE) throw new KuaiRandFormatError(path, lineNo, LOG_COLUMNS[c], c, `expected a finite number, got '${fieldText(buf, fs, fe)}'`);
    if (code === SCAN_OUT_OF_RANGE)
      throw new KuaiRandFormatError(path, lineNo, LOG_COLUMNS[c], c, rangeProblem(fieldText(buf, fs, fe), LOG_RANGES[LOG_COLUMNS[c]!]!));
    throw new KuaiRandFormatError(path, lineNo, LOG_COLUMNS[c], c, `expected a 32-bit integer, got '${fieldText(buf, fs, fe)}'`);
  };

  const pushRow = (): void => {
    const b = batch!;
    const r = b.count++;
    b.userId[r] = values[0]!;
    b.videoId[r] = values[1]!;
    b.date[r] = values[2]!;
    b.hourmin[r] = values[3]!;
    b.timeMs[r] = values[4]!;
    b.isClick[r] = values[5]!;
    b.isLike[r] = values[6]!;
    b.isFollow[r] = values[7]!;
    b.isComment[r] = values[8]!;
    b.isForward[r] = values[9]!;
    b.isHate[r] = values[10]!;
    b.longView[r] = values[11]!;
    b.playTimeMs[r] = values[12]!;
    b.durationMs[r] = values[13]!;
    b.profileStayTime[r] = values[14]!;
    b.commentStayTime[r] = values[15]!;
    b.isProfileEnter[r] = values[16]!;
    b.isRand[r] = values[17]!;
    b.tab[r] = values[18]!;
  };

  /** Handles one line [s, e) (without its newline); returns true when the batch is full. */
  const handleLine = (buf: Buffer, s: number, e: number, truncated: boolean): boolean => {
    lineNo++;
    if (e > s && buf[e - 1] === 13) e--;
    if (!headerSeen) {
      checkHeader(path, buf.toString('utf8', s, e), LOG_COLUMNS);
      headerSeen = true;
      return false;
    }
    if (e === s) return false;
    parseLine(buf, s, e, truncated);
    if (batch === null) batch = allocLogBatch(batchSize, lineNo);
    pushRow();
    return batch.count === batchSize;
  };

  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      const buf: Buffer = carry ? Buffer.concat([carry, piece]) : piece;
      let s = 0;
      for (;;) {
        const nl = buf.indexOf(10, s);
        if (nl < 0) break;
        const full = handleLine(buf, s, nl, false);
        s = nl + 1;
        if (full) {
          yield batch!;
          batch = null;
        }
      }
      carry = s < buf.length ? Buffer.from(buf.subarray(s)) : null;
    }
  } finally {
    stream.destroy();
  }
  if (carry && carry.length) {
    if (handleLine(carry, 0, carry.length, true)) {
      yield batch!;
      batch = null;
    }
  }
  if (!headerSeen) checkHeader(path, undefined, LOG_COLUMNS);
  if (batch !== null && (batch as LogBatch).count > 0) yield trimBatch(batch);
}

/** One row of a gifts file (rliv's addition: KuaiRand has no gifts). */
export const GIFT_COLUMNS = ['user_id', 'author_id', 'time_ms', 'amount'] as const;

export interface GiftBatch {
  count: number;
  userId: Int32Array;
  authorId: Int32Array;
  timeMs: Float64Array;
  amount: Float64Array;
}

/** Reads a gifts file written by {@link GiftLogWriter} whole (gifts are rare). */
export async function readGiftLog(path: string): Promise<GiftBatch> {
  const user: number[] = [],
    author: number[] = [],
    time: number[] = [],
    amount: number[] = [];
  const fields: string[] = [];
  let headerSeen = false;
  for await (const chunk of readLineChunks(path)) {
    let start = 0;
    if (!headerSeen) {
      checkHeader(path, chunk.lines[0], GIFT_COLUMNS);
      headerSeen = true;
      start = 1;
    }
    for (let li = start; li < chunk.lines.length; li++) {
      const line = chunk.lines[li]!;
      if (!line.length) continue;
      const lineNo = chunk.firstLine + li;
      const n = splitCsvLine(line, fields);
      if (n !== GIFT_COLUMNS.length) throw fieldCountError(path, lineNo, n, GIFT_COLUMNS.length, chunk.lastLineUnterminated && li === chunk.lines.length - 1);
      const v = fields.slice(0, 4).map((s, c) => {
        const x = s.length ? parseDecimal(s) : NaN;
        if (Number.isNaN(x) || (c < 2 && !Number.isInteger(x)) || x < 0)
          throw new KuaiRandFormatError(path, lineNo, GIFT_COLUMNS[c], c, `expected a non-negative ${c < 2 ? 'integer' : 'number'}, got '${s}'`);
        if (x === Infinity) throw new KuaiRandFormatError(path, lineNo, GIFT_COLUMNS[c], c, `expected a finite number, got '${s}'`);
        if (c === 2 && x > TIME_RANGE.max) throw new KuaiRandFormatError(path, lineNo, GIFT_COLUMNS[c], c, rangeProblem(s, TIME_RANGE));
        return x;
      });
      user.push(v[0]!);
      author.push(v[1]!);
      time.push(v[2]!);
      amount.push(v[3]!);
    }
  }
  if (!headerSeen) checkHeader(path, undefined, GIFT_COLUMNS);
  return {
    count: user.length,
    userId: Int32Array.from(user),
    authorId: Int32Array.from(author),
    timeMs: Float64Array.from(time),
    amount: Float64Array.from(amount),
  };
}

/** Reads a whole small CSV table with an exact header, calling `onRow(fields, lineNo)` per data row. */
async function readTable(
  path: string,
  expected: readonly string[] | null,
  onHeader: (cols: string[]) => void,
  onRow: (fields: string[], lineNo: number) => void,
): Promise<void> {
  const fields: string[] = [];
  let headerSeen = false;
  let rows = 0;
  let ncol = expected?.length ?? 0;
  for await (const chunk of readLineChunks(path)) {
    let start = 0;
    if (!headerSeen) {
      const header = chunk.lines[0]!;
      if (expected) checkHeader(path, header, expected);
      const cols: string[] = [];
      const n = splitCsvLine(header.charCodeAt(0) === 0xfeff ? header.slice(1) : header, cols);
      cols.length = n;
      ncol = n;
      onHeader(cols);
      headerSeen = true;
      start = 1;
    }
    for (let li = start; li < chunk.lines.length; li++) {
      const line = chunk.lines[li]!;
      if (!line.length) continue;
      const lineNo = chunk.firstLine + li;
      const n = splitCsvLine(line, fields);
      if (n !== ncol) throw fieldCountError(path, lineNo, n, ncol, chunk.lastLineUnterminated && li === chunk.lines.length - 1);
      onRow(fields, lineNo);
      rows++;
    }
  }
  if (!headerSeen) {
    if (expected) checkHeader(path, undefined, expected);
    throw new KuaiRandFormatError(path, 1, undefined, undefined, 'empty file: expected a header line');
  }
  if (rows === 0) throw new KuaiRandFormatError(path, 1, undefined, undefined, 'no data rows: the table has a header and nothing else');
}

/** Remembers the line of each id of a table and refuses an id seen before. */
class UniqueIds {
  private readonly lineOf = new Map<number, number>();
  constructor(
    private readonly path: string,
    private readonly column: string,
    private readonly columnIndex: number,
  ) {}
  add(id: number, lineNo: number): void {
    const first = this.lineOf.get(id);
    if (first !== undefined) throw new KuaiRandFormatError(this.path, lineNo, this.column, this.columnIndex, `duplicate id ${id} (first on line ${first})`);
    this.lineOf.set(id, lineNo);
  }
}

/** Growable buffer for tables of unknown length (plain arrays are fastest to grow; converted once at the end). */
class Grow<T extends Int32Array | Float64Array> {
  private readonly items: number[] = [];
  constructor(private readonly make: (values: number[]) => T) {}
  push(v: number): void {
    this.items.push(v);
  }
  done(): T {
    return this.make(this.items);
  }
}

/**
 * Builds categorical columns: raw strings -> codes (0 = missing), vocabulary
 * sorted. Values get provisional ids on first sight (one Map lookup per
 * field) and are renumbered in sorted order at the end.
 */
class CategoricalBuilder {
  private readonly idOf = new Map<string, number>();
  /** raw field text -> provisional id (0 = missing), so each field costs one lookup. */
  private readonly idOfRaw = new Map<string, number>();
  private readonly values: string[] = [];
  private readonly ids: number[] = [];
  constructor(
    readonly name: string,
    private readonly normalize: (s: string) => string | null,
  ) {}
  push(raw: string): void {
    let id = this.idOfRaw.get(raw);
    if (id === undefined) {
      const value = this.normalize(raw);
      id = 0;
      if (value !== null) {
        id = this.idOf.get(value) ?? 0;
        if (id === 0) {
          this.values.push(value);
          id = this.values.length;
          this.idOf.set(value, id);
        }
      }
      this.idOfRaw.set(raw, id);
    }
    this.ids.push(id);
  }
  done(): CategoricalColumn {
    const vocabulary = this.values.slice().sort();
    const remap = new Int32Array(this.values.length + 1);
    vocabulary.forEach((v, i) => (remap[this.idOf.get(v)!] = i + 1));
    const codes = new Int32Array(this.ids.length);
    for (let i = 0; i < codes.length; i++) codes[i] = remap[this.ids[i]!]!;
    return { name: this.name, vocabulary, codes };
  }
}

function requireInt(path: string, lineNo: number, col: string, c: number, s: string): number {
  const v = s.length ? parseDecimal(s) : NaN;
  if (!Number.isInteger(v) || v < 0 || v > 2147483647) throw new KuaiRandFormatError(path, lineNo, col, c, `expected a non-negative integer id, got '${s}'`);
  return v;
}

function optionalNumber(path: string, lineNo: number, col: string, c: number, s: string): number {
  if (s.length === 0) return NaN;
  const v = parseDecimal(s);
  if (Number.isNaN(v)) throw new KuaiRandFormatError(path, lineNo, col, c, `expected a number or an empty field, got '${s}'`);
  if (v === Infinity || v === -Infinity) throw new KuaiRandFormatError(path, lineNo, col, c, `expected a finite number or an empty field, got '${s}'`);
  return v;
}

/** Sane range of `video_duration` in the video table (0 and empty mean unknown). */
const VIDEO_DURATION_RANGE: ValueRange = { min: 0, max: MAX_DURATION_MS, meaning: 'a video duration in ms, at most 24 h; empty or 0 when unknown' };

/**
 * Loads `user_features_*` (31 columns). Categorical columns keep their raw
 * string values in a vocabulary; a numeric-looking categorical value below 0
 * (e.g. is_live_streamer = -124) is a missing-value sentinel (code 0), and
 * "1.0" and "1" are the same value. Raw counts below 0 become NaN.
 */
export async function loadUserFeatures(path: string): Promise<UserFeatureTable> {
  const userId = new Grow((v) => Int32Array.from(v));
  const numeric = USER_NUMERIC_COLUMNS.map(() => new Grow((v) => Float64Array.from(v)));
  const numericIdx = USER_NUMERIC_COLUMNS.map((c) => USER_FEATURE_COLUMNS.indexOf(c));
  const catIdx = USER_CATEGORICAL_COLUMNS.map((c) => USER_FEATURE_COLUMNS.indexOf(c));
  const cats = USER_CATEGORICAL_COLUMNS.map((c) => new CategoricalBuilder(c, normalizeCategorical));
  const seen = new UniqueIds(path, 'user_id', 0);
  await readTable(
    path,
    USER_FEATURE_COLUMNS,
    () => {},
    (f, lineNo) => {
      const id = requireInt(path, lineNo, 'user_id', 0, f[0]!);
      seen.add(id, lineNo);
      userId.push(id);
      for (let k = 0; k < numericIdx.length; k++) {
        const c = numericIdx[k]!;
        const v = optionalNumber(path, lineNo, USER_FEATURE_COLUMNS[c]!, c, f[c]!);
        numeric[k]!.push(v < 0 ? NaN : v);
      }
      for (let k = 0; k < catIdx.length; k++) cats[k]!.push(f[catIdx[k]!]!);
    },
  );
  const numericOut = {} as UserFeatureTable['numeric'];
  USER_NUMERIC_COLUMNS.forEach((c, k) => (numericOut[c] = numeric[k]!.done()));
  const ids = userId.done();
  return { path, count: ids.length, userId: ids, numeric: numericOut, categorical: cats.map((c) => c.done()) };
}

/** Missing-value rules for categorical fields: '' and negative numbers are missing; '4.0' == '4'. */
function normalizeCategorical(s: string): string | null {
  if (s.length === 0) return null;
  const v = parseDecimal(s);
  if (!Number.isNaN(v)) {
    if (v < 0) return null;
    return String(v);
  }
  return s;
}

/**
 * Loads `video_features_basic_*` (12 columns). `video_duration` may be
 * empty (NaN: the catalog builder fills it from the real distribution);
 * `tag` is a comma list whose first entry is the primary tag (-1 when empty).
 */
export async function loadVideoFeatures(path: string): Promise<VideoFeatureTable> {
  const videoId = new Grow((v) => Int32Array.from(v));
  const authorId = new Grow((v) => Int32Array.from(v));
  const duration = new Grow((v) => Float64Array.from(v));
  const primaryTag = new Grow((v) => Int32Array.from(v));
  const numCols = ['visible_status', 'server_width', 'server_height', 'music_id'] as const;
  const numIdx = numCols.map((c) => (VIDEO_BASIC_COLUMNS as readonly string[]).indexOf(c));
  const nums = numCols.map(() => new Grow((v) => Float64Array.from(v)));
  const catIdx = VIDEO_CATEGORICAL_COLUMNS.map((c) => (VIDEO_BASIC_COLUMNS as readonly string[]).indexOf(c));
  const cats = VIDEO_CATEGORICAL_COLUMNS.map((c) => new CategoricalBuilder(c, c === 'tag' ? (t: string) => t || null : normalizeCategorical));
  const tagCol = VIDEO_BASIC_COLUMNS.indexOf('tag');
  const durCol = VIDEO_BASIC_COLUMNS.indexOf('video_duration');
  const seen = new UniqueIds(path, 'video_id', 0);
  await readTable(
    path,
    VIDEO_BASIC_COLUMNS,
    () => {},
    (f, lineNo) => {
      const id = requireInt(path, lineNo, 'video_id', 0, f[0]!);
      seen.add(id, lineNo);
      videoId.push(id);
      authorId.push(requireInt(path, lineNo, 'author_id', 1, f[1]!));
      const d = optionalNumber(path, lineNo, 'video_duration', durCol, f[durCol]!);
      if (d < VIDEO_DURATION_RANGE.min || d > VIDEO_DURATION_RANGE.max)
        throw new KuaiRandFormatError(path, lineNo, 'video_duration', durCol, rangeProblem(f[durCol]!, VIDEO_DURATION_RANGE));
      duration.push(d > 0 ? d : NaN);
      for (let k = 0; k < numIdx.length; k++) nums[k]!.push(optionalNumber(path, lineNo, numCols[k]!, numIdx[k]!, f[numIdx[k]!]!));
      for (let k = 0; k < catIdx.length; k++) cats[k]!.push(f[catIdx[k]!]!);
      const tags = f[tagCol]!;
      if (tags.length === 0) primaryTag.push(-1);
      else {
        const first = tags.split(',')[0]!.trim();
        const t = parseDecimal(first);
        if (!Number.isInteger(t) || t < 0)
          throw new KuaiRandFormatError(path, lineNo, 'tag', tagCol, `expected a comma list of non-negative tag ids, got '${tags}'`);
        primaryTag.push(t);
      }
    },
  );
  const numeric = {} as VideoFeatureTable['numeric'];
  numCols.forEach((c, k) => (numeric[c] = nums[k]!.done()));
  const ids = videoId.done();
  return {
    path,
    count: ids.length,
    videoId: ids,
    authorId: authorId.done(),
    durationMs: duration.done(),
    primaryTag: primaryTag.done(),
    numeric,
    categorical: cats.map((c) => c.done()),
  };
}

/**
 * Loads `video_features_statistic_*`: the first column must be `video_id`;
 * every other column is read as a number (empty = NaN), whatever its name,
 * since the statistic columns differ between releases.
 */
export async function loadVideoStatistics(path: string): Promise<VideoStatisticTable> {
  const videoId = new Grow((v) => Int32Array.from(v));
  const values = new Grow((v) => Float64Array.from(v));
  let columns: string[] = [];
  const seen = new UniqueIds(path, 'video_id', 0);
  await readTable(
    path,
    null,
    (cols) => {
      if (cols[0] !== 'video_id') throw new KuaiRandFormatError(path, 1, 'video_id', 0, `header starts with '${cols[0]}', expected 'video_id'`);
      columns = cols.slice(1);
    },
    (f, lineNo) => {
      const id = requireInt(path, lineNo, 'video_id', 0, f[0]!);
      seen.add(id, lineNo);
      videoId.push(id);
      for (let c = 0; c < columns.length; c++) values.push(optionalNumber(path, lineNo, columns[c]!, c + 1, f[c + 1]!));
    },
  );
  const ids = videoId.done();
  return { path, count: ids.length, videoId: ids, columns, values: values.done() };
}
