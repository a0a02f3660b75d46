/**
 * Standard normal draws by table lookup: one 16-bit slice of a uniform
 * 32-bit draw indexes a 65,536-entry table of normal quantiles
 * Φ^-1((k + 0.5) / 65536). Resolution is about 4e-5 near 0 and the tails are
 * cut at ±4.33σ — ample for the world's latent parameters and noise terms,
 * and 5-10x faster than Box-Muller (no log/sqrt/cos per draw), which matters
 * when a 27K-user, millions-of-items world draws tens of millions of them.
 */
import type { Rng } from '../numeric/rng.js';

let table: Float32Array | null = null;

/** Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9). */
export function inverseNormalCdf(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`inverseNormalCdf needs 0 < p < 1, got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -inverseNormalCdf(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** The 65,536-entry quantile table (built once). */
export function normalTable(): Float32Array {
  if (table === null) {
    const t = new Float32Array(65536);
    for (let k = 0; k < 65536; k++) t[k] = inverseNormalCdf((k + 0.5) / 65536);
    table = t;
  }
  return table;
}

/** Fills `out` with scale * N(0, 1) draws, two per 32-bit draw of `rng`. */
export function fillNormals(rng: Rng, out: Float32Array, scale = 1): Float32Array {
  const t = normalTable();
  const n = out.length;
  let k = 0;
  for (; k + 1 < n; k += 2) {
    const x = rng.nextUint32();
    out[k] = scale * t[x >>> 16]!;
    out[k + 1] = scale * t[x & 0xffff]!;
  }
  if (k < n) out[k] = scale * t[rng.nextUint32() >>> 16]!;
  return out;
}
