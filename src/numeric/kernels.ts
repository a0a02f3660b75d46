/**
 * The elementwise loops around gemm, each with a native (vectorised C in the
 * addon) and a TypeScript implementation; the backend chosen in native.ts
 * decides which runs. In plain JS these loops are branchy and scalar and,
 * measured, cost more than the gemms of a 96-64-64 layer stack; in C they
 * are a few percent of it. The TS versions are written branch-free where a
 * data-dependent branch would mispredict (ReLU on random signs).
 */
import { activeNative } from './native.js';

/** y[off .. off+n) = max(y, 0). */
export function reluRange(y: Float32Array, off: number, n: number): void {
  const native = activeNative();
  if (native) return native.relu(y, off, n);
  for (let i = off, end = off + n; i < end; i++) {
    const v = y[i]!;
    y[i] = (v + Math.abs(v)) * 0.5; // exact in double, branch-free
  }
}

/** d[i] = y[i] > 0 ? d[i] : 0 for i < n, with y a ReLU output (so y >= 0). */
export function reluMask(d: Float32Array, y: Float32Array, n: number): void {
  const native = activeNative();
  if (native) return native.reluMask(d, y, n);
  for (let i = 0; i < n; i++) d[i] = d[i]! * +(y[i]! > 0);
}

/** Every row r < rows of out (row length width) = bias[0..width). */
export function fillRows(out: Float32Array, rows: number, width: number, bias: Float32Array): void {
  const native = activeNative();
  if (native) return native.fillRows(out, rows, width, bias);
  const b = width === bias.length ? bias : bias.subarray(0, width);
  for (let r = 0; r < rows; r++) out.set(b, r * width);
}

/** Adam update of w[from..to) (PyTorch rule; stepSize = lr / (1 - beta1^t), invBc2 = 1 / sqrt(1 - beta2^t)). */
export function adamSpan(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  from: number,
  to: number,
  beta1: number,
  beta2: number,
  stepSize: number,
  invBc2: number,
  eps: number,
): void {
  const native = activeNative();
  if (native) return native.adam(w, g, m, v, from, to, beta1, beta2, stepSize, invBc2, eps);
  adamTs(w, g, m, v, from, to, beta1, beta2, stepSize, invBc2, eps);
}

/** Lazy Adam: the update of adamSpan applied to rows rows[0..count) of width dim only. */
export function adamRows(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  rows: Int32Array,
  count: number,
  dim: number,
  beta1: number,
  beta2: number,
  stepSize: number,
  invBc2: number,
  eps: number,
): void {
  const native = activeNative();
  if (native) return native.adamRows(w, g, m, v, rows, count, dim, beta1, beta2, stepSize, invBc2, eps);
  for (let k = 0; k < count; k++) {
    const s = rows[k]! * dim;
    adamTs(w, g, m, v, s, s + dim, beta1, beta2, stepSize, invBc2, eps);
  }
}

function adamTs(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  from: number,
  to: number,
  beta1: number,
  beta2: number,
  stepSize: number,
  invBc2: number,
  eps: number,
): void {
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let j = from; j < to; j++) {
    const gj = g[j]!;
    const mj = beta1 * m[j]! + c1 * gj;
    const vj = beta2 * v[j]! + c2 * gj * gj;
    m[j] = mj;
    v[j] = vj;
    w[j] = w[j]! - (stepSize * mj) / (Math.sqrt(vj) * invBc2 + eps);
  }
}

/** out[i*stride + off .. +dim) = table[rows[i]*dim .. +dim) for i < count (bounds checked by the caller). */
export function gatherRows(table: Float32Array, dim: number, rows: Int32Array, count: number, out: Float32Array, stride: number, off: number): void {
  const native = activeNative();
  if (native) return native.gatherRows(table, dim, rows, count, out, stride, off);
  for (let i = 0; i < count; i++) {
    const src = rows[i]! * dim;
    const dst = i * stride + off;
    for (let j = 0; j < dim; j++) out[dst + j] = table[src + j]!;
  }
}

/**
 * out[i*outStride .. +width) += src[offsets[i*perRow + r] .. +width) for
 * every r < perRow whose offset is >= 0 (-1 = no row), for i < count: each
 * output row gets a sum of cached rows (the learned simulator's factored
 * first layer). Offsets are element offsets, so rows of any stride can be
 * summed; bounds are checked by the caller in TypeScript, by the addon in C.
 */
export function addRowsAt(src: Float32Array, offsets: Int32Array, count: number, perRow: number, width: number, out: Float32Array, outStride: number): void {
  const native = activeNative();
  if (native) return native.addRowsAt(src, offsets, count, perRow, width, out, outStride);
  for (let i = 0; i < count; i++) {
    const dst = i * outStride;
    for (let r = 0; r < perRow; r++) {
      const from = offsets[i * perRow + r]!;
      if (from < 0) continue;
      for (let j = 0; j < width; j++) out[dst + j]! += src[from + j]!;
    }
  }
}

/**
 * Dense inputs made of summed embedding rows: for every example b < batch,
 * slots 0..slotCount-1 (dim floats each) of out row b (at
 * out[b*outStride + outOffset]) are zeroed, then for each position
 * j = 0..positions-1 in order, table row rows[j*capacity + b] is added into
 * slot slotOf[j]. Row indices are position-major (the rows of one field over
 * a batch are contiguous). The native loop adds in the same order, so both
 * backends give the same float32 values. Bounds are checked by the caller in
 * TypeScript, by the addon in C.
 */
export function sumRowsToSlots(
  table: Float32Array,
  dim: number,
  rows: Int32Array,
  capacity: number,
  slotOf: Int32Array,
  positions: number,
  slotCount: number,
  batch: number,
  out: Float32Array,
  outStride: number,
  outOffset: number,
): void {
  const native = activeNative();
  if (native) return native.sumRowsToSlots(table, dim, rows, capacity, slotOf, positions, slotCount, batch, out, outStride, outOffset);
  for (let b = 0; b < batch; b++) out.fill(0, b * outStride + outOffset, b * outStride + outOffset + slotCount * dim);
  for (let j = 0; j < positions; j++) {
    const slotBase = outOffset + slotOf[j]! * dim;
    const rowBase = j * capacity;
    for (let b = 0; b < batch; b++) {
      const src = rows[rowBase + b]! * dim;
      const dst = b * outStride + slotBase;
      for (let d = 0; d < dim; d++) out[dst + d]! += table[src + d]!;
    }
  }
}

/**
 * The transpose of {@link addRowsAt}: out[offsets[i*perRow + r] .. +width)
 * += src[i*srcStride .. +width) for every r < perRow whose offset is >= 0,
 * for i < count (gradients of rows that were summed per example, gathered
 * back per distinct row). Bounds are checked by the caller in TypeScript, by
 * the addon in C.
 */
export function scatterRowsAt(
  src: Float32Array,
  srcStride: number,
  count: number,
  perRow: number,
  width: number,
  offsets: Int32Array,
  out: Float32Array,
): void {
  const native = activeNative();
  if (native) return native.scatterRowsAt(src, srcStride, count, perRow, width, offsets, out);
  for (let i = 0; i < count; i++) {
    const from = i * srcStride;
    for (let r = 0; r < perRow; r++) {
      const to = offsets[i * perRow + r]!;
      if (to < 0) continue;
      for (let j = 0; j < width; j++) out[to + j]! += src[from + j]!;
    }
  }
}

/**
 * grad[rows[i]*dim ..] += d[i*stride + off ..] for i < count; rows not yet
 * flagged are flagged and appended to `touched`. Returns the new touched count.
 */
export function scatterAddRows(
  grad: Float32Array,
  dim: number,
  rows: Int32Array,
  count: number,
  d: Float32Array,
  stride: number,
  off: number,
  flags: Uint8Array,
  touched: Int32Array,
  touchedCount: number,
): number {
  const native = activeNative();
  if (native) return native.scatterAddRows(grad, dim, rows, count, d, stride, off, flags, touched, touchedCount);
  let tc = touchedCount;
  for (let i = 0; i < count; i++) {
    const r = rows[i]!;
    const dst = r * dim;
    const src = i * stride + off;
    for (let j = 0; j < dim; j++) grad[dst + j] = grad[dst + j]! + d[src + j]!;
    if (flags[r] === 0) {
      flags[r] = 1;
      touched[tc++] = r;
    }
  }
  return tc;
}

/** out[j] += sum over rows r < rows of d[r*width + j] (bias gradients). */
export function colSumAdd(d: Float32Array, rows: number, width: number, out: Float32Array): void {
  const native = activeNative();
  if (native) return native.colSumAdd(d, rows, width, out);
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (let j = 0; j < width; j++) out[j] = out[j]! + d[base + j]!;
  }
}

/**
 * The last layer of an MlpGroup whose heads have ONE output: for every row b
 * and head g, out[b*heads + g] = bias[g] + dot(a[b, g*h .. g*h+h), w[g*h .. g*h+h)),
 * with a laid out [rows, heads*h]. One pass instead of `heads` one-column gemms.
 */
export function segDot(a: Float32Array, rows: number, heads: number, h: number, w: Float32Array, bias: Float32Array, out: Float32Array): void {
  const native = activeNative();
  if (native) return native.segDot(a, rows, heads, h, w, bias, out);
  for (let b = 0; b < rows; b++) {
    for (let g = 0; g < heads; g++) {
      const x = (b * heads + g) * h;
      const wg = g * h;
      let s0 = 0,
        s1 = 0;
      let j = 0;
      for (; j + 1 < h; j += 2) {
        s0 += a[x + j]! * w[wg + j]!;
        s1 += a[x + j + 1]! * w[wg + j + 1]!;
      }
      if (j < h) s0 += a[x + j]! * w[wg + j]!;
      out[b * heads + g] = bias[g]! + (s0 + s1);
    }
  }
}

/** Backward of segDot: gW[g*h + j] += sum_b dOut[b*heads+g] a[b, g*h+j]; dA[b, g*h+j] = dOut[b*heads+g] w[g*h+j]. */
export function segDotBackward(
  dOut: Float32Array,
  a: Float32Array,
  rows: number,
  heads: number,
  h: number,
  w: Float32Array,
  gW: Float32Array,
  dA: Float32Array,
): void {
  const native = activeNative();
  if (native) return native.segDotBackward(dOut, a, rows, heads, h, w, gW, dA);
  const width = heads * h;
  for (let b = 0; b < rows; b++) {
    for (let g = 0; g < heads; g++) {
      const dv = dOut[b * heads + g]!;
      const x = b * width + g * h;
      const wg = g * h;
      for (let j = 0; j < h; j++) {
        gW[wg + j] = gW[wg + j]! + dv * a[x + j]!;
        dA[x + j] = dv * w[wg + j]!;
      }
    }
  }
}

/** Zeroes rows rows[0..count) of grad (width dim) and clears their flags. */
export function zeroRows(grad: Float32Array, dim: number, rows: Int32Array, count: number, flags: Uint8Array): void {
  const native = activeNative();
  if (native) return native.zeroRows(grad, dim, rows, count, flags);
  for (let i = 0; i < count; i++) {
    const r = rows[i]!;
    grad.fill(0, r * dim, r * dim + dim);
    flags[r] = 0;
  }
}
