/**
 * Binary encoding of SCRI-MDP sample batches for the sample stream: a small
 * header and the struct-of-arrays columns back to back, little endian, with
 * an FNV-1a checksum. One stream entry carries a whole batch, so the stream
 * moves ~100 bytes per sample and one Redis entry per few hundred samples.
 */
import { PAIR_COUNT_DIM, TOWER_COUNT } from '../data/interaction-kinds.js';
import { allocSampleBatch, type SampleBatch } from '../mdp/scri-mdp.js';
import { fnv1a } from '../numeric/fnv1a.js';

const MAGIC = 0x52534231; // "RSB1"
const HEADER_BYTES = 20;

/** Thrown for bytes that are not an encoded sample batch (or are corrupt). */
export class SampleCodecError extends Error {
  override name = 'SampleCodecError';
}

function columns(b: SampleBatch, n: number): ArrayBufferView[] {
  return [
    b.timeMs.subarray(0, n), // Float64 first keeps every column naturally aligned after a 24-byte prefix
    b.user.subarray(0, n),
    b.item.subarray(0, n),
    b.author.subarray(0, n),
    b.userFeatures.subarray(0, n * b.userFeatureDim),
    b.itemFeatures.subarray(0, n * b.itemFeatureDim),
    b.pairCounts.subarray(0, n * PAIR_COUNT_DIM),
    b.nextPairCounts.subarray(0, n * PAIR_COUNT_DIM),
    b.rewards.subarray(0, n * TOWER_COUNT),
    b.giftLabel.subarray(0, n),
  ];
}

/** Encodes rows [0, batch.count) of `batch`. */
export function encodeSamples(batch: SampleBatch): Uint8Array {
  const n = batch.count;
  const cols = columns(batch, n);
  let size = HEADER_BYTES;
  for (const c of cols) size += c.byteLength;
  const out = new Uint8Array(size + 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, n, true);
  dv.setUint32(8, batch.userFeatureDim, true);
  dv.setUint32(12, batch.itemFeatureDim, true);
  dv.setUint32(16, 0, true);
  let off = HEADER_BYTES;
  for (const c of cols) {
    out.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), off);
    off += c.byteLength;
  }
  dv.setUint32(off, fnv1a(out, 0, off), true);
  return out;
}

/** Decodes what `encodeSamples` wrote into a fresh batch (count = capacity = rows). */
export function decodeSamples(bytes: Uint8Array): SampleBatch {
  if (bytes.byteLength < HEADER_BYTES + 4) throw new SampleCodecError(`sample batch too short (${bytes.byteLength} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new SampleCodecError('not an encoded sample batch (bad magic)');
  const end = bytes.byteLength - 4;
  if (dv.getUint32(end, true) !== fnv1a(bytes, 0, end)) throw new SampleCodecError('sample batch checksum mismatch (corrupt entry)');
  const n = dv.getUint32(4, true);
  const uf = dv.getUint32(8, true);
  const itf = dv.getUint32(12, true);
  const batch = allocSampleBatch(Math.max(1, n), uf, itf);
  const cols = columns(batch, n);
  let need = HEADER_BYTES;
  for (const c of cols) need += c.byteLength;
  if (need !== end) throw new SampleCodecError(`sample batch has ${end} bytes of data, expected ${need} for ${n} rows`);
  let off = HEADER_BYTES;
  for (const c of cols) {
    new Uint8Array(c.buffer, c.byteOffset, c.byteLength).set(bytes.subarray(off, off + c.byteLength));
    off += c.byteLength;
  }
  batch.count = n;
  return batch;
}
