/**
 * Saving and loading parameters (model checkpoints).
 *
 * File format "RLIVPARM" version 1, all integers and floats little-endian:
 *
 *   offset  size  content
 *   0       8     magic: the ASCII bytes "RLIVPARM"
 *   8       4     format version, uint32 (= 1)
 *   12      4     H = byte length of the JSON header, uint32
 *   16      H     JSON header, UTF-8:
 *                   {"params": [{"name": string, "shape": number[]}, ...], "meta": any}
 *   16+H    P     zero padding so that the payload starts at a multiple of 4
 *   ...     4*N   payload: float32 values of every param, in header order,
 *                 each row-major (N = total number of values)
 *   end-4   4     CRC-32 (IEEE 802.3, as zlib's crc32) of every byte before it, uint32
 *
 * Loading verifies magic, version, checksum, that the file's param names and
 * shapes equal those of the params given (matched by name), and the payload
 * length, BEFORE writing any value: on any mismatch it throws a
 * ParamsFormatError that says what differs, and the params are unchanged.
 * Saving writes a temporary file in the same directory and renames it, so a
 * crash never leaves a half-written checkpoint under the final name.
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Param } from './param.js';

export const PARAMS_MAGIC = 'RLIVPARM';
export const PARAMS_VERSION = 1;

export class ParamsFormatError extends Error {
  override name = 'ParamsFormatError';
}

/** One tensor as the header lists it. */
export interface ParamsHeaderEntry {
  name: string;
  shape: number[];
}

/** The JSON header of a params file and where its payload starts (see {@link readParamsHeader}). */
export interface ParamsHeader {
  /** The tensors, in payload order. */
  params: ParamsHeaderEntry[];
  /** The meta the writer stored (null when none). */
  meta: unknown;
  /** Byte offset of the first float of the payload. */
  payloadStart: number;
  /** Number of float32 values the header describes (sum over the shapes). */
  floats: number;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE) of bytes[from, to). */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Encodes params (and any JSON-serialisable meta) in the format above. */
export function serializeParams(params: readonly Param[], meta: unknown = null): Uint8Array {
  const names = new Set<string>();
  for (const p of params) {
    if (names.has(p.name)) throw new ParamsFormatError(`serializeParams: duplicate param name "${p.name}"`);
    names.add(p.name);
  }
  const header = new TextEncoder().encode(JSON.stringify({ params: params.map((p) => ({ name: p.name, shape: p.shape })), meta: meta ?? null }));
  const payloadStart = align4(16 + header.length);
  let count = 0;
  for (const p of params) count += p.size;
  const total = payloadStart + 4 * count + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 8; i++) bytes[i] = PARAMS_MAGIC.charCodeAt(i);
  view.setUint32(8, PARAMS_VERSION, true);
  view.setUint32(12, header.length, true);
  bytes.set(header, 16);
  let off = payloadStart;
  for (const p of params) {
    const v = p.value;
    for (let i = 0; i < v.length; i++, off += 4) view.setFloat32(off, v[i]!, true);
  }
  view.setUint32(total - 4, crc32(bytes, 0, total - 4), true);
  return bytes;
}

/** Checks size, magic and version; returns a view of the bytes. */
function checkPrologue(bytes: Uint8Array, source: string): DataView {
  if (bytes.length < 20) throw new ParamsFormatError(`${source}: only ${bytes.length} bytes, too short to be an rliv params file`);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== PARAMS_MAGIC)
    throw new ParamsFormatError(`${source}: not an rliv params file (magic "${magic.replace(/[^\x20-\x7e]/g, '?')}", expected "${PARAMS_MAGIC}")`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== PARAMS_VERSION) throw new ParamsFormatError(`${source}: format version ${version}, this build reads version ${PARAMS_VERSION}`);
  return view;
}

/**
 * Reads the header of a params file (magic, version, the JSON header with
 * every tensor's name and shape, the meta) without reading or checksumming
 * the payload: for callers that need the meta or the shapes before (or
 * instead of) loading, e.g. to build a model of the stored shape. Every
 * entry is checked (a name, a shape of non-negative integers) and the payload
 * length must be what the shapes describe, so a corrupt header never makes a
 * caller allocate more than the bytes hold. Throws {@link ParamsFormatError}.
 */
export function readParamsHeader(bytes: Uint8Array, source = 'params data'): ParamsHeader {
  const view = checkPrologue(bytes, source);
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength > bytes.length - 4) throw new ParamsFormatError(`${source}: header length ${headerLength} runs past the end of the file`);
  let header: { params: ParamsHeaderEntry[]; meta: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength)));
  } catch (err) {
    throw new ParamsFormatError(`${source}: header is not valid JSON (${(err as Error).message})`);
  }
  if (!header || !Array.isArray(header.params)) throw new ParamsFormatError(`${source}: header has no "params" list`);
  let floats = 0;
  for (const entry of header.params) {
    if (!entry || typeof entry.name !== 'string' || !Array.isArray(entry.shape) || !entry.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ParamsFormatError(`${source}: malformed header entry ${JSON.stringify(entry)}`);
    }
    floats += entry.shape.reduce((a, d) => a * d, 1);
  }
  const payloadStart = align4(16 + headerLength);
  if (payloadStart + 4 * floats + 4 !== bytes.length) {
    throw new ParamsFormatError(`${source}: payload is ${bytes.length - 4 - payloadStart} bytes, the header describes ${4 * floats}`);
  }
  return { params: header.params, meta: header.meta ?? null, payloadStart, floats };
}

/** The meta JSON of a params file, without loading its tensors (see {@link readParamsHeader}). */
export function readParamsMeta(bytes: Uint8Array, source = 'params data'): unknown {
  return readParamsHeader(bytes, source).meta;
}

/**
 * Decodes `bytes` into `params` (matched by name; every param must be in the
 * file with the same shape and vice versa). Returns the stored meta. Throws
 * ParamsFormatError and leaves every param unchanged on any problem.
 */
export function deserializeParams(bytes: Uint8Array, params: readonly Param[], source = 'params data'): unknown {
  const view = checkPrologue(bytes, source);
  const stored = view.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes, 0, bytes.length - 4);
  if (stored !== actual)
    throw new ParamsFormatError(`${source}: checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}): the file is corrupted or truncated`);
  const header = readParamsHeader(bytes, source);
  const byName = new Map<string, Param>();
  for (const p of params) byName.set(p.name, p);
  const fileNames = new Set<string>();
  for (const entry of header.params) {
    fileNames.add(entry.name);
    const p = byName.get(entry.name);
    if (!p)
      throw new ParamsFormatError(`${source}: the file has param "${entry.name}" which the model does not (model params: ${[...byName.keys()].join(', ')})`);
    if (entry.shape.join('x') !== p.shape.join('x'))
      throw new ParamsFormatError(`${source}: param "${entry.name}" has shape [${entry.shape}] in the file but [${p.shape}] in the model`);
  }
  const missing = params.filter((p) => !fileNames.has(p.name)).map((p) => p.name);
  if (missing.length > 0) throw new ParamsFormatError(`${source}: the model's params ${missing.join(', ')} are not in the file`);
  // Everything is verified: only now write values.
  let off = header.payloadStart;
  for (const entry of header.params) {
    const v = byName.get(entry.name)!.value;
    for (let i = 0; i < v.length; i++, off += 4) v[i] = view.getFloat32(off, true);
  }
  return header.meta;
}

/** Writes params atomically (temporary file + rename) to `path`, creating its directory. */
export function saveParams(path: string, params: readonly Param[], meta: unknown = null): void {
  const bytes = serializeParams(params, meta);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw err;
  }
}

/** Reads `path` into params; returns the stored meta (see deserializeParams for the checks). */
export function loadParams(path: string, params: readonly Param[]): unknown {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ParamsFormatError(`cannot read params file ${path}: ${(err as Error).message}`);
  }
  return deserializeParams(bytes, params, path);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
