/**
 * Finite-difference gradient checking shared by the numeric tests (not a
 * test file itself). The objective is L = sum_i out_i * r_i with fixed
 * random weights r, accumulated in double precision; central differences
 * with step h are compared with the analytic gradient entry by entry.
 */
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';

/** Random float32 array with N(0, scale^2) entries. */
export function randn(n: number, rng: Rng, scale = 1): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = scale * rng.normal();
  return x;
}

/** sum_i out[i] * r[i] in double precision. */
export function dotObjective(out: Float32Array, r: Float32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += out[i]! * r[i]!;
  return s;
}

/**
 * Checks d objective / d x[i] == analytic[i] for every i < x.length (or the
 * listed indices), perturbing x in place and restoring it.
 */
export function checkGradient(
  label: string,
  x: Float32Array,
  analytic: Float32Array,
  objective: () => number,
  options: { h?: number; rtol?: number; atol?: number; indices?: number[] } = {},
): void {
  const h = options.h ?? 1e-2;
  const rtol = options.rtol ?? 1e-2;
  const atol = options.atol ?? 2e-3;
  const indices = options.indices ?? Array.from({ length: x.length }, (_, i) => i);
  let worst = 0;
  for (const i of indices) {
    const orig = x[i]!;
    x[i] = orig + h;
    const up = objective();
    x[i] = orig - h;
    const down = objective();
    x[i] = orig;
    const numeric = (up - down) / (2 * h);
    const a = analytic[i]!;
    const err = Math.abs(a - numeric);
    worst = Math.max(worst, err);
    assert.ok(err <= atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)), `${label}[${i}]: analytic ${a} vs finite difference ${numeric} (error ${err})`);
  }
  assert.ok(Number.isFinite(worst));
}
