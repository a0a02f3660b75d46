/**
 * An {@link InteractionLog} as one binary file: what a run writes beside its
 * simulator (`history.bin`) so that worker threads and queue workers start
 * their environments after the same logged history (environment-history.ts)
 * without the logs' directory. Format: one JSON header line
 * `{"kind":"rliv-interaction-log","version":1,"count":N}` then the columns
 * below in order, each little-endian and padded to 8 bytes. A run's history
 * may hold, before the logs, a world's traffic that was not logged (its
 * warm-up): the header's `"preLogRows":P` counts those first rows, which
 * {@link readHistoryFile} returns apart and {@link readInteractionLogFile}
 * leaves out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { allocInteractionLog, interactionLogRows, type InteractionLog } from './interaction-log.js';

type Column = [keyof InteractionLog, 'i32' | 'f64' | 'f32' | 'u8'];

const COLUMNS: Column[] = [
  ['user', 'i32'],
  ['item', 'i32'],
  ['timeMs', 'f64'],
  ['fromRandomLog', 'u8'],
  ['click', 'u8'],
  ['longView', 'u8'],
  ['like', 'u8'],
  ['follow', 'u8'],
  ['comment', 'u8'],
  ['forward', 'u8'],
  ['hate', 'u8'],
  ['playTimeMs', 'f32'],
  ['giftAmount', 'f32'],
];
const BYTES = { i32: 4, f64: 8, f32: 4, u8: 1 } as const;
const KIND = 'rliv-interaction-log';

/** Thrown when a file is not an interaction log this version reads; names the file and what is wrong. */
export class InteractionLogFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InteractionLogFileError';
  }
}

const padded = (n: number) => Math.ceil(n / 8) * 8;

/** The bytes of `log` in the format above; with `preLog`, its rows first (the header's `preLogRows`). */
export function interactionLogBytes(log: InteractionLog, preLog?: InteractionLog): Buffer {
  const logs = preLog && preLog.count > 0 ? [preLog, log] : [log];
  const count = logs.reduce((n, l) => n + l.count, 0);
  const pre = logs.length > 1 ? { preLogRows: preLog!.count } : {};
  const header = Buffer.from(JSON.stringify({ kind: KIND, version: 1, count, ...pre }) + '\n', 'utf8');
  const parts: Buffer[] = [header, Buffer.alloc(padded(header.length) - header.length)];
  for (const [name, type] of COLUMNS) {
    // A column is the pre-log rows' then the logs', padded as one.
    for (const l of logs) {
      const a = l[name] as ArrayBufferView;
      parts.push(Buffer.from(a.buffer, a.byteOffset, l.count * BYTES[type]));
    }
    parts.push(Buffer.alloc(padded(count * BYTES[type]) - count * BYTES[type]));
  }
  return Buffer.concat(parts);
}

/** What a history file holds: the logs, and the traffic before them when the file has some. */
export interface HistoryFileContent {
  log: InteractionLog;
  /** The world's traffic before the logs (not logged); absent when the file has none. */
  preLog?: InteractionLog;
}

/** Parses {@link interactionLogBytes}: the logs without the pre-log rows; `source` names the file in errors. */
export function interactionLogFromBytes(bytes: Buffer, source: string): InteractionLog {
  return historyFromBytes(bytes, source).log;
}

/** Parses {@link interactionLogBytes} into the logs and the rows before them (views on one buffer). */
export function historyFromBytes(bytes: Buffer, source: string): HistoryFileContent {
  const nl = bytes.indexOf(10);
  let header: { kind?: unknown; version?: unknown; count?: unknown; preLogRows?: unknown };
  try {
    header = JSON.parse(bytes.subarray(0, nl < 0 ? 0 : nl).toString('utf8'));
  } catch {
    throw new InteractionLogFileError(`${source}: not an interaction log (no JSON header line)`);
  }
  if (header.kind !== KIND || header.version !== 1)
    throw new InteractionLogFileError(`${source}: not an interaction log of version 1 (kind ${JSON.stringify(header.kind)})`);
  const count = header.count;
  if (!(typeof count === 'number' && Number.isInteger(count) && count >= 0))
    throw new InteractionLogFileError(`${source}: bad row count ${JSON.stringify(count)}`);
  const preLogRows = header.preLogRows ?? 0;
  if (!(typeof preLogRows === 'number' && Number.isInteger(preLogRows) && preLogRows >= 0 && preLogRows <= count))
    throw new InteractionLogFileError(`${source}: bad preLogRows ${JSON.stringify(header.preLogRows)} (of ${count} rows)`);
  let offset = padded(nl + 1);
  const expected = offset + COLUMNS.reduce((s, [, type]) => s + padded(count * BYTES[type]), 0);
  if (bytes.length !== expected)
    throw new InteractionLogFileError(`${source}: ${bytes.length} bytes, ${count} rows need ${expected} (truncated or not this format)`);
  const log = allocInteractionLog(count);
  for (const [name, type] of COLUMNS) {
    const target = log[name] as unknown as Uint8Array;
    const n = count * BYTES[type];
    new Uint8Array(target.buffer, target.byteOffset, n).set(bytes.subarray(offset, offset + n));
    offset += padded(n);
  }
  log.count = count;
  if (preLogRows === 0) return { log };
  return { log: interactionLogRows(log, preLogRows), preLog: interactionLogRows(log, 0, preLogRows) };
}

/** Writes `log` (and, before it, `preLog`: a history file) in the format above. */
export function writeInteractionLogFile(path: string, log: InteractionLog, preLog?: InteractionLog): void {
  writeFileSync(path, interactionLogBytes(log, preLog));
}

/** The logs of the file at `path` (without its pre-log rows, if any). */
export function readInteractionLogFile(path: string): InteractionLog {
  return interactionLogFromBytes(readFileSync(path), path);
}

/** The logs of the file at `path` and the traffic before them. */
export function readHistoryFile(path: string): HistoryFileContent {
  return historyFromBytes(readFileSync(path), path);
}
