/**
 * `gemm`: the one matrix-multiply routine every layer of the numeric core
 * uses. Row-major, BLAS semantics: C = alpha * op(A) * op(B) + beta * C with
 * op(X) = X or X^T, op(A) m x k, op(B) k x n, C m x n; `beta = 0` overwrites
 * C without reading it (NaNs in C do not propagate), like BLAS.
 *
 * Two backends with identical results (to float32 rounding):
 * - `openblas`: `cblas_sgemm` of the system OpenBLAS through the optional
 *   N-API addon in native/ (built by scripts/build-native.mjs, single-threaded).
 * - `typescript`: a cache-tiled pure-TypeScript kernel that always works and
 *   never allocates.
 * The backend is chosen once for the whole numeric core (native.ts): the
 * addon if it loads, else TypeScript; `RLIV_GEMM=typescript` forces the
 * fallback and `gemmBackend()` says which runs. `gemmAt` is the same routine with element offsets
 * into A, B and C, so fused layers can multiply sub-blocks without subarray
 * allocation or copies.
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
export function gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number): void {
  gemmAt(transA, transB, m, n, k, alpha, a, 0, lda, b, 0, ldb, beta, c, 0, ldc);
}

/** `gemm` with element offsets: A starts at a[aOff], B at b[bOff], C at c[cOff]. */
export function gemmAt(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, aOff: number, lda: number, b: Float32Array, bOff: number, ldb: number,
  beta: number, c: Float32Array, cOff: number, ldc: number): void {
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

/** Tile sizes of the TypeScript kernel: a block of C rows x a block of k stays in L1/L2. */
const TILE_I = 32;
const TILE_P = 128;
const TILE_J = 256;

/** The pure-TypeScript kernel (exported for the parity tests). */
export function gemmTs(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, aOff: number, lda: number, b: Float32Array, bOff: number, ldb: number,
  beta: number, c: Float32Array, cOff: number, ldc: number): void {
  // C = beta * C first, so every case below only accumulates.
  if (beta !== 1) {
    for (let i = 0; i < m; i++) {
      const row = cOff + i * ldc;
      if (beta === 0) c.fill(0, row, row + n);
      else for (let j = 0; j < n; j++) c[row + j]! *= beta;
    }
  }
  if (k === 0 || alpha === 0) return;
  if (!transB) {
    // C[i, :] += alpha * op(A)[i, p] * B[p, :]: streaming rows of B (axpy form), tiled over i, p and j.
    for (let j0 = 0; j0 < n; j0 += TILE_J) {
      const j1 = Math.min(n, j0 + TILE_J);
      for (let i0 = 0; i0 < m; i0 += TILE_I) {
        const i1 = Math.min(m, i0 + TILE_I);
        for (let p0 = 0; p0 < k; p0 += TILE_P) {
          const p1 = Math.min(k, p0 + TILE_P);
          for (let i = i0; i < i1; i++) {
            const crow = cOff + i * ldc;
            for (let p = p0; p < p1; p++) {
              const av = alpha * (transA ? a[aOff + p * lda + i]! : a[aOff + i * lda + p]!);
              if (av === 0) continue;
              const brow = bOff + p * ldb;
              let j = j0;
              for (; j + 3 < j1; j += 4) {
                c[crow + j] = c[crow + j]! + av * b[brow + j]!;
                c[crow + j + 1] = c[crow + j + 1]! + av * b[brow + j + 1]!;
                c[crow + j + 2] = c[crow + j + 2]! + av * b[brow + j + 2]!;
                c[crow + j + 3] = c[crow + j + 3]! + av * b[brow + j + 3]!;
              }
              for (; j < j1; j++) c[crow + j] = c[crow + j]! + av * b[brow + j]!;
            }
          }
        }
      }
    }
    return;
  }
  if (!transA) {
    // C[i, j] += alpha * dot(A[i, :], B[j, :]): both rows contiguous; tile over j so a block of B rows stays cached.
    for (let j0 = 0; j0 < n; j0 += TILE_I) {
      const j1 = Math.min(n, j0 + TILE_I);
      for (let i = 0; i < m; i++) {
        const arow = aOff + i * lda;
        const crow = cOff + i * ldc;
        for (let j = j0; j < j1; j++) {
          const brow = bOff + j * ldb;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          let p = 0;
          for (; p + 3 < k; p += 4) {
            s0 += a[arow + p]! * b[brow + p]!;
            s1 += a[arow + p + 1]! * b[brow + p + 1]!;
            s2 += a[arow + p + 2]! * b[brow + p + 2]!;
            s3 += a[arow + p + 3]! * b[brow + p + 3]!;
          }
          for (; p < k; p++) s0 += a[arow + p]! * b[brow + p]!;
          c[crow + j] = c[crow + j]! + alpha * (s0 + s1 + s2 + s3);
        }
      }
    }
    return;
  }
  // A^T * B^T: rare (no layer uses it); straightforward triple loop.
  for (let i = 0; i < m; i++) {
    const crow = cOff + i * ldc;
    for (let j = 0; j < n; j++) {
      const brow = bOff + j * ldb;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[aOff + p * lda + i]! * b[brow + p]!;
      c[crow + j] = c[crow + j]! + alpha * s;
    }
  }
}
