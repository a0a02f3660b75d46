/**
 * Training checkpoints: everything needed to resume a run bit-for-bit.
 *
 * File layout (little endian):
 *   magic "RLIVCKPT" (8 bytes) | format version u32 | header length u32 |
 *   header (UTF-8 JSON: agent name, agent config, loop state, section table) |
 *   sections (raw bytes, back to back: the agent's `save()` bytes, the
 *   environment's state, ...) | SHA-256 of everything before it (32 bytes).
 *
 * Writes are atomic (a temporary file in the same directory, fsync, rename),
 * so a run killed while writing leaves the previous checkpoint intact. Reading
 * verifies magic, version, lengths and the checksum before parsing anything,
 * and throws a {@link CheckpointError} that says what is wrong.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const MAGIC = 'RLIVCKPT';
export const CHECKPOINT_VERSION = 1;
const DIGEST_BYTES = 32;

/** A checkpoint that cannot be read: corrupt, truncated, wrong format. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** What a checkpoint holds. */
export interface Checkpoint {
  /** Exact agent name (registry key), e.g. "RLIV-UA(w/o SL)". */
  agent: string;
  /** Agent config overrides passed to the factory (JSON). */
  agentConfig: Record<string, unknown>;
  /** Any JSON the writer needs to resume (loop state: epoch, RNG states, curves, options). */
  state: Record<string, unknown>;
  /** Named binary blobs: "model" = the agent's save() bytes; "env" = environment state, ... */
  sections: Record<string, Uint8Array>;
}

interface Header {
  agent: string;
  agentConfig: Record<string, unknown>;
  state: Record<string, unknown>;
  sections: { name: string; bytes: number }[];
}

/** Serializes a checkpoint to bytes (with checksum). */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const names = Object.keys(ckpt.sections);
  const header: Header = {
    agent: ckpt.agent,
    agentConfig: ckpt.agentConfig,
    state: ckpt.state,
    sections: names.map((name) => ({ name, bytes: ckpt.sections[name]!.byteLength })),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const bodyLength = names.reduce((s, n) => s + ckpt.sections[n]!.byteLength, 0);
  const total = 8 + 4 + 4 + headerBytes.length + bodyLength + DIGEST_BYTES;
  const out = Buffer.alloc(total);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(CHECKPOINT_VERSION, 8);
  out.writeUInt32LE(headerBytes.length, 12);
  headerBytes.copy(out, 16);
  let at = 16 + headerBytes.length;
  for (const n of names) {
    const s = ckpt.sections[n]!;
    out.set(s, at);
    at += s.byteLength;
  }
  createHash('sha256').update(out.subarray(0, at)).digest().copy(out, at);
  return out;
}

/** Parses bytes written by {@link encodeCheckpoint}; `source` names the file in errors. */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 16 + DIGEST_BYTES || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw new CheckpointError(`${source} is not an rliv checkpoint (bad magic or too short: ${buf.length} bytes)`);
  }
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`${source} has checkpoint format version ${version}; this build reads version ${CHECKPOINT_VERSION}`);
  }
  const bodyEnd = buf.length - DIGEST_BYTES;
  const digest = createHash('sha256').update(buf.subarray(0, bodyEnd)).digest();
  if (!digest.equals(buf.subarray(bodyEnd))) {
    throw new CheckpointError(`${source} is corrupted (checksum mismatch); use an earlier checkpoint or retrain`);
  }
  const headerLength = buf.readUInt32LE(12);
  if (16 + headerLength > bodyEnd) throw new CheckpointError(`${source} is truncated (header length ${headerLength} exceeds the file)`);
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 16, 16 + headerLength)) as Header;
  } catch (err) {
    throw new CheckpointError(`${source} has an unreadable header (${(err as Error).message})`);
  }
  if (typeof header.agent !== 'string' || !Array.isArray(header.sections)) {
    throw new CheckpointError(`${source} header lacks the agent name or the section table`);
  }
  const sections: Record<string, Uint8Array> = {};
  let at = 16 + headerLength;
  for (const s of header.sections) {
    if (at + s.bytes > bodyEnd) throw new CheckpointError(`${source} is truncated (section "${s.name}" runs past the end)`);
    // Copy so the caller owns aligned bytes independent of the file buffer.
    sections[s.name] = new Uint8Array(buf.subarray(at, at + s.bytes));
    at += s.bytes;
  }
  if (at !== bodyEnd) throw new CheckpointError(`${source} has ${bodyEnd - at} unexpected trailing bytes`);
  return { agent: header.agent, agentConfig: header.agentConfig ?? {}, state: header.state ?? {}, sections };
}

/** Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Encodes and writes a checkpoint atomically. */
export function saveCheckpoint(path: string, ckpt: Checkpoint): void {
  writeFileAtomic(path, encodeCheckpoint(ckpt));
}

/** Reads and verifies a checkpoint file. */
export function loadCheckpoint(path: string): Checkpoint {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(err as Error).message}`);
  }
  return decodeCheckpoint(bytes, `checkpoint ${path}`);
}
