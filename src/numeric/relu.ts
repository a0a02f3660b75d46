/**
 * `ReLU`: max(0, x) elementwise. Mlp and MlpGroup apply it in place on their
 * Linear outputs (reluInPlace / reluBackwardInPlace, backed by the native or
 * TypeScript kernels of kernels.ts); the `ReLU` class is the standalone
 * layer with its own buffers. The backward mask is taken from the output
 * (y > 0), which equals x > 0 and needs no copy of the input.
 */
import { reluMask, reluRange } from './kernels.js';

/** y = max(0, y) in place over the first n elements. */
export function reluInPlace(y: Float32Array, n: number): void {
  reluRange(y, 0, n);
}

/** d = d * (y > 0) in place, where y is the ReLU's output. */
export function reluBackwardInPlace(d: Float32Array, y: Float32Array, n: number): void {
  reluMask(d, y, n);
}

export class ReLU {
  private out = new Float32Array(0);
  private dx = new Float32Array(0);
  private size = 0;

  /** Returns max(0, x) for `batch` rows of `dim` values in a buffer owned by the layer. */
  forward(x: Float32Array, batch: number, dim: number): Float32Array {
    const n = batch * dim;
    if (this.out.length < n) this.out = new Float32Array(n);
    const out = this.out;
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      out[i] = (v + Math.abs(v)) * 0.5; // max(v, 0) without a data-dependent branch
    }
    this.size = n;
    return out;
  }

  /** dX = dOut where the output was positive, else 0. */
  backward(dOut: Float32Array, batch: number, dim: number): Float32Array {
    const n = batch * dim;
    if (n !== this.size) throw new RangeError(`ReLU.backward: ${batch} x ${dim} does not match the last forward (${this.size} values)`);
    if (this.dx.length < n) this.dx = new Float32Array(n);
    const dx = this.dx;
    const out = this.out;
    for (let i = 0; i < n; i++) dx[i] = dOut[i]! * +(out[i]! > 0);
    return dx;
  }
}
