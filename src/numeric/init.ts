/**
 * Weight initialisation shared by Linear and MlpGroup: PyTorch's nn.Linear
 * default (Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in))
 * for both weight and bias), so our networks start like the PyTorch
 * reference and train comparably. All draws come from the caller's Rng.
 */
import type { Rng } from './rng.js';

/** Fills `x[from, to)` with U(-bound, bound) draws. */
export function fillUniform(x: Float32Array, bound: number, rng: Rng, from = 0, to = x.length): void {
  for (let i = from; i < to; i++) x[i] = rng.uniformRange(-bound, bound);
}

/** PyTorch nn.Linear default bound for fan-in `inDim`. */
export function linearInitBound(inDim: number): number {
  return inDim > 0 ? 1 / Math.sqrt(inDim) : 0;
}
