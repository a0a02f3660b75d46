/**
 * `gemm`: the one matrix-multiply routine every layer of the numeric core
 * uses. Row-major, BLAS semantics: C = alpha * op(A) * op(B) + beta * C with
 * op(X) = X or X^T, op(A) m x k, op(B) k x n, C m x n; `beta = 0` overwrites
 * C without reading it (NaNs in C do not propagate), like BLAS.
 *
 * Two backends with identical results (to float32 rounding):
 * - `openblas`: `cblas_sgemm` of the system OpenBLAS through the optional
 *   N-API addon in native/ (built by scripts/build-native.mjs, single-threaded).
 * - `typescript`: a cache-blocked, register-tiled pure-TypeScript kernel
 *   that always works and never allocates.
 * The backend is chosen once for the whole numeric core (native.ts): the
 * addon if it loads, else TypeScript; `RLIV_GEMM=typescript` forces the
 * fallback and `gemmBackend()` says which runs. `gemmAt` is the same routine
 * with element offsets into A, B and C, so fused layers can multiply
 * sub-blocks without subarray allocation or copies.
 */
import { activeNative, backendName, nativeAvailable, nativeStatus, setBackend, BackendError, type GemmBackendName } from './native.js';

export { nativeAvailable, nativeStatus, BackendError as GemmError, type GemmBackendName };

/** The backend gemm (and every kernel of the numeric core) currently uses. */
export function gemmBackend(): GemmBackendName {
  return backendName();
}

/** Selects the backend; 'openblas' throws when the addon is unavailable. */
export function setGemmBackend(name: GemmBackendName): void {
  setBackend(name);
}

/** C = alpha * op(A) * op(B) + beta * C, row-major (see the file comment). */
export function gemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
): void {
  gemmAt(transA, transB, m, n, k, alpha, a, 0, lda, b, 0, ldb, beta, c, 0, ldc);
}

/** `gemm` with element offsets: A starts at a[aOff], B at b[bOff], C at c[cOff]. */
export function gemmAt(
  transA: boolean,
  transB: boolean,
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
): void {
  if (m === 0 || n === 0) return;
  checkOperand('A', a, aOff, lda, transA ? k : m, transA ? m : k);
  checkOperand('B', b, bOff, ldb, transB ? n : k, transB ? k : n);
  checkOperand('C', c, cOff, ldc, m, n);
  const native = activeNative();
  if (native) {
    native.sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
  } else {
    gemmTs(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
  }
}

function checkOperand(what: string, x: Float32Array, off: number, ld: number, rows: number, cols: number): void {
  if (!(off >= 0) || !(ld >= cols) || !(ld >= 1) || (rows > 0 && cols > 0 && off + (rows - 1) * ld + cols > x.length)) {
    throw new BackendError(`gemm: operand ${what} (${rows} x ${cols}, offset ${off}, leading dim ${ld}) does not fit in an array of ${x.length} floats`);
  }
}

/** Rows of C per cache block of the TypeScript kernel: a block of A rows and a panel of B stay in L1/L2 while it is computed. */
const BLOCK_I = 64;

/**
 * The pure-TypeScript kernel (exported for the parity tests). Any transpose
 * combination is handled by addressing elements through (row, column)
 * strides, so one register-blocked micro-kernel serves all four cases: it
 * keeps a 4 x 4 block of C in 16 locals and streams a column of op(A) and a
 * row of op(B) per step of k (8 loads for 16 multiply-adds), which is what
 * makes plain JavaScript reach a few GFLOP/s. Edges fall back to a scalar loop.
 */
export function gemmTs(
  transA: boolean,
  transB: boolean,
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
): void {
  // C = beta * C first, so the kernel only accumulates.
  if (beta !== 1) {
    for (let i = 0; i < m; i++) {
      const row = cOff + i * ldc;
      if (beta === 0) c.fill(0, row, row + n);
      else for (let j = 0; j < n; j++) c[row + j]! *= beta;
    }
  }
  if (k === 0 || alpha === 0) return;
  // op(A)[i, p] = a[aOff + i*ars + p*acs]; op(B)[p, j] = b[bOff + p*brs + j*bcs].
  const ars = transA ? 1 : lda;
  const acs = transA ? lda : 1;
  const brs = transB ? 1 : ldb;
  const bcs = transB ? ldb : 1;
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i0 = 0; i0 < m; i0 += BLOCK_I) {
    const iEnd = Math.min(m, i0 + BLOCK_I);
    const iEnd4 = Math.min(iEnd, m4);
    for (let j = 0; j < n4; j += 4) {
      let i = i0;
      for (; i < iEnd4; i += 4) {
        let c00 = 0,
          c01 = 0,
          c02 = 0,
          c03 = 0,
          c10 = 0,
          c11 = 0,
          c12 = 0,
          c13 = 0;
        let c20 = 0,
          c21 = 0,
          c22 = 0,
          c23 = 0,
          c30 = 0,
          c31 = 0,
          c32 = 0,
          c33 = 0;
        let pa = aOff + i * ars;
        let pb = bOff + j * bcs;
        for (let p = 0; p < k; p++, pa += acs, pb += brs) {
          const a0 = a[pa]!,
            a1 = a[pa + ars]!,
            a2 = a[pa + 2 * ars]!,
            a3 = a[pa + 3 * ars]!;
          const b0 = b[pb]!,
            b1 = b[pb + bcs]!,
            b2 = b[pb + 2 * bcs]!,
            b3 = b[pb + 3 * bcs]!;
          c00 += a0 * b0;
          c01 += a0 * b1;
          c02 += a0 * b2;
          c03 += a0 * b3;
          c10 += a1 * b0;
          c11 += a1 * b1;
          c12 += a1 * b2;
          c13 += a1 * b3;
          c20 += a2 * b0;
          c21 += a2 * b1;
          c22 += a2 * b2;
          c23 += a2 * b3;
          c30 += a3 * b0;
          c31 += a3 * b1;
          c32 += a3 * b2;
          c33 += a3 * b3;
        }
        let q = cOff + i * ldc + j;
        c[q] = c[q]! + alpha * c00;
        c[q + 1] = c[q + 1]! + alpha * c01;
        c[q + 2] = c[q + 2]! + alpha * c02;
        c[q + 3] = c[q + 3]! + alpha * c03;
        q += ldc;
        c[q] = c[q]! + alpha * c10;
        c[q + 1] = c[q + 1]! + alpha * c11;
        c[q + 2] = c[q + 2]! + alpha * c12;
        c[q + 3] = c[q + 3]! + alpha * c13;
        q += ldc;
        c[q] = c[q]! + alpha * c20;
        c[q + 1] = c[q + 1]! + alpha * c21;
        c[q + 2] = c[q + 2]! + alpha * c22;
        c[q + 3] = c[q + 3]! + alpha * c23;
        q += ldc;
        c[q] = c[q]! + alpha * c30;
        c[q + 1] = c[q + 1]! + alpha * c31;
        c[q + 2] = c[q + 2]! + alpha * c32;
        c[q + 3] = c[q + 3]! + alpha * c33;
      }
      for (; i < iEnd; i++) edge(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, k, alpha, i, j, j + 4);
    }
    if (n4 < n) for (let i = i0; i < iEnd; i++) edge(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, k, alpha, i, n4, n);
  }
}

/** Scalar dot products for C[i, j0..j1) (the edges the 4 x 4 kernel does not cover). */
function edge(
  a: Float32Array,
  aOff: number,
  ars: number,
  acs: number,
  b: Float32Array,
  bOff: number,
  brs: number,
  bcs: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  k: number,
  alpha: number,
  i: number,
  j0: number,
  j1: number,
): void {
  for (let j = j0; j < j1; j++) {
    let s = 0;
    let pa = aOff + i * ars;
    let pb = bOff + j * bcs;
    for (let p = 0; p < k; p++, pa += acs, pb += brs) s += a[pa]! * b[pb]!;
    const q = cOff + i * ldc + j;
    c[q] = c[q]! + alpha * s;
  }
}
