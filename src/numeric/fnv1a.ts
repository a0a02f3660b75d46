/**
 * FNV-1a (32-bit) over bytes[from, to): the checksum of replay-buffer
 * snapshots and encoded sample batches (cheap, and enough to catch a
 * truncated or corrupted entry; params files use CRC-32, params-io.ts).
 */
export function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
