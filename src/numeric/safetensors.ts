/**
 * Writes tensors in the safetensors format (Hugging Face), which Python
 * (`safetensors.numpy.load_file`, `safetensors.torch.load_file`), Rust and
 * most ML runtimes read:
 *
 *   8 bytes    N, the header's length (unsigned 64-bit little-endian)
 *   N bytes    JSON: {"NAME": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
 *              "__metadata__": {"key": "string", ...}}, padded with spaces to a multiple of 8
 *   the rest   the tensors' bytes, little-endian, row-major, in header order, back to back
 *
 * Offsets count from the first byte after the header.
 */

/** One float32 tensor to write. */
export interface SafetensorsTensor {
  name: string;
  /** Row-major shape; its product must equal `data.length`. */
  shape: number[];
  data: Float32Array;
}

/** A tensor that cannot be written (name, shape or size). */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** The bytes of a safetensors file holding `tensors` (float32) and string `metadata`. */
export function encodeSafetensors(tensors: readonly SafetensorsTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name.length === 0 || seen.has(t.name))
      throw new SafetensorsError(`tensor name ${JSON.stringify(t.name)} is empty, reserved or given twice`);
    seen.add(t.name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || count !== t.data.length) {
      throw new SafetensorsError(`tensor ${t.name}: shape [${t.shape.join(', ')}] holds ${count} values but the data has ${t.data.length}`);
    }
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = JSON.stringify(header);
  const jsonBytes = () => Buffer.byteLength(json, 'utf8');
  while (jsonBytes() % 8 !== 0) json += ' ';
  const n = jsonBytes();
  const out = new Uint8Array(8 + n + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(n), true);
  out.set(Buffer.from(json, 'utf8'), 8);
  let at = 8 + n;
  for (const t of tensors) {
    // Float32Array is little-endian on every platform Node runs on; copy through a DataView to be explicit.
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i]!, true);
  }
  return out;
}
