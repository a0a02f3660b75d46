/** gemm: every transpose combination, offsets, alpha/beta, against a naive reference; backend parity when the addon is built. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gemmAt, gemmBackend, gemmTs, nativeAvailable, nativeStatus, setGemmBackend } from '../../src/numeric/gemm.js';
import { Rng } from '../../src/numeric/rng.js';
import { randn } from './gradcheck.js';

/**
 * Scale of each C entry: |alpha| sum_p |op(A)_ip op(B)_pj| + |beta C_ij|. Float32 rounding error is
 * proportional to this (not to |C_ij|, which can be tiny after cancellation), so tolerances use it.
 */
function magnitude(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): Float64Array {
  const out = new Float64Array(c.length).fill(1);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += Math.abs((tA ? a[aOff + p * lda + i]! : a[aOff + i * lda + p]!) * (tB ? b[bOff + j * ldb + p]! : b[bOff + p * ldb + j]!));
      }
      out[cOff + i * ldc + j] = Math.max(1, Math.abs(alpha) * s + Math.abs(beta * c[cOff + i * ldc + j]!));
    }
  }
  return out;
}

/** Naive double-precision reference. */
function reference(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): Float64Array {
  const out = new Float64Array(c);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (tA ? a[aOff + p * lda + i]! : a[aOff + i * lda + p]!) * (tB ? b[bOff + j * ldb + p]! : b[bOff + p * ldb + j]!);
      }
      out[cOff + i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * c[cOff + i * ldc + j]!);
    }
  }
  return out;
}

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [3, 5, 7],
  [37, 19, 140],
  [70, 300, 33],
  [1, 64, 1024],
  [130, 1, 64],
];

function cases(run: (label: string, args: Parameters<typeof gemmTs>) => void): void {
  const rng = new Rng(17);
  for (const [m, n, k] of SHAPES) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        for (const [alpha, beta] of [
          [1, 0],
          [0.5, 1],
          [-1.5, 0.25],
        ] as const) {
          const lda = (tA ? m : k) + 2,
            ldb = (tB ? k : n) + 1,
            ldc = n + 3;
          const aOff = 3,
            bOff = 1,
            cOff = 5;
          const a = randn(aOff + (tA ? k : m) * lda, rng);
          const b = randn(bOff + (tB ? n : k) * ldb, rng);
          const c = randn(cOff + m * ldc, rng);
          run(`${m}x${n}x${k} tA=${tA} tB=${tB} alpha=${alpha} beta=${beta}`, [tA, tB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc]);
        }
      }
    }
  }
}

test('TypeScript gemm matches the naive reference for all transposes, offsets, alpha and beta', () => {
  cases((label, args) => {
    const expected = reference(...args);
    const scale = magnitude(...args);
    const c = args[13];
    gemmTs(...args);
    for (let i = 0; i < c.length; i++) {
      assert.ok(Math.abs(c[i]! - expected[i]!) <= 1e-5 * scale[i]!, `${label} at ${i}: ${c[i]} vs ${expected[i]}`);
    }
  });
});

test('beta = 0 overwrites C without reading it (NaN in C does not propagate)', () => {
  const c = Float32Array.from([NaN, NaN]);
  gemmTs(false, false, 1, 2, 1, 1, Float32Array.from([2]), 0, 1, Float32Array.from([3, 4]), 0, 2, 0, c, 0, 2);
  assert.deepEqual(Array.from(c), [6, 8]);
});

test('gemm rejects operands that do not fit', () => {
  assert.throws(() => gemmAt(false, false, 2, 2, 2, 1, new Float32Array(3), 0, 2, new Float32Array(4), 0, 2, 0, new Float32Array(4), 0, 2), /operand A/);
});

test('OpenBLAS and TypeScript backends agree to 1e-5 (relative to the magnitude of the summed products)', (t) => {
  if (!nativeAvailable()) {
    t.skip(`OpenBLAS addon unavailable: ${nativeStatus()}`);
    return;
  }
  const previous = gemmBackend();
  try {
    setGemmBackend('openblas');
    cases((label, args) => {
      const scale = magnitude(...args);
      const c0 = args[13].slice();
      const cNative = c0.slice();
      const cTs = c0.slice();
      const nativeArgs = args.slice() as typeof args;
      nativeArgs[13] = cNative;
      gemmAt(...nativeArgs);
      const tsArgs = args.slice() as typeof args;
      tsArgs[13] = cTs;
      gemmTs(...tsArgs);
      for (let i = 0; i < cTs.length; i++) {
        assert.ok(Math.abs(cNative[i]! - cTs[i]!) <= 1e-5 * scale[i]!, `${label} at ${i}: openblas ${cNative[i]} vs typescript ${cTs[i]}`);
      }
    });
  } finally {
    setGemmBackend(previous);
  }
});
