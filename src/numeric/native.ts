/**
 * Loading of the optional native addon (native/src/rliv_native.c) and the
 * choice of backend for the whole numeric core: `openblas` (cblas_sgemm +
 * the addon's vectorised elementwise kernels) or `typescript` (pure TS,
 * always available). The addon is looked up lazily at first use; if it is
 * missing or fails to load, or `RLIV_GEMM=typescript` is set, everything
 * runs in TypeScript and `backendName()` says so.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type GemmBackendName = 'openblas' | 'typescript';

/** The addon's exports (see native/src/rliv_native.c). */
export interface NativeAddon {
  sgemm(
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
  ): void;
  relu(y: Float32Array, off: number, n: number): void;
  reluMask(d: Float32Array, y: Float32Array, n: number): void;
  fillRows(out: Float32Array, rows: number, width: number, bias: Float32Array): void;
  adam(
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
  ): void;
  adamRows(
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
  ): void;
  gatherRows(table: Float32Array, dim: number, rows: Int32Array, count: number, out: Float32Array, stride: number, off: number): void;
  addRowsAt(src: Float32Array, offsets: Int32Array, count: number, perRow: number, width: number, out: Float32Array, outStride: number): void;
  sumRowsToSlots(
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
  ): void;
  scatterRowsAt(src: Float32Array, srcStride: number, count: number, perRow: number, width: number, offsets: Int32Array, out: Float32Array): void;
  scatterAddRows(
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
  ): number;
  colSumAdd(d: Float32Array, rows: number, width: number, out: Float32Array): void;
  segDot(a: Float32Array, rows: number, heads: number, h: number, w: Float32Array, bias: Float32Array, out: Float32Array): void;
  segDotBackward(dOut: Float32Array, a: Float32Array, rows: number, heads: number, h: number, w: Float32Array, gW: Float32Array, dA: Float32Array): void;
  zeroRows(grad: Float32Array, dim: number, rows: Int32Array, count: number, flags: Uint8Array): void;
  setNumThreads(n: number): void;
  config(): string;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

let loaded: NativeAddon | null | undefined; // undefined = not tried yet
let loadError = '';
let chosen: GemmBackendName | undefined;
/** The addon when the openblas backend is active, else null. Read through `activeNative()`. */
let active: NativeAddon | null = null;

/** Where the built addon may be: RLIV_NATIVE_PATH, or native/build/ of the package root (found from src/ or dist/src/). */
function candidates(): string[] {
  const out: string[] = [];
  if (process.env.RLIV_NATIVE_PATH) out.push(process.env.RLIV_NATIVE_PATH);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    out.push(join(dir, 'native', 'build', 'rliv_native.node'));
    dir = dirname(dir);
  }
  return out;
}

/** Loads the addon once; null (with the reason in nativeStatus()) when unavailable. */
export function loadNative(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  // OpenBLAS reads this when the library is first loaded; the addon also calls openblas_set_num_threads(1).
  if (process.env.OPENBLAS_NUM_THREADS === undefined) process.env.OPENBLAS_NUM_THREADS = '1';
  const require = createRequire(import.meta.url);
  for (const path of candidates()) {
    if (!existsSync(path)) continue;
    try {
      const addon = require(path) as NativeAddon;
      if (typeof addon.scatterRowsAt !== 'function') throw new Error('the addon is out of date (run `npm run build:native`)');
      addon.setNumThreads(1);
      loaded = addon;
      return loaded;
    } catch (err) {
      loadError = `failed to load ${path}: ${(err as Error).message}`;
    }
  }
  if (!loadError) loadError = 'native addon not built (run `npm run build:native`)';
  return loaded;
}

/** A human-readable line: the OpenBLAS configuration, or why the addon is not available. */
export function nativeStatus(): string {
  const addon = loadNative();
  return addon ? `openblas addon loaded (${addon.config()})` : loadError;
}

/** True when the addon can be loaded (whatever backend is selected). */
export function nativeAvailable(): boolean {
  return loadNative() !== null;
}

function resolve(): GemmBackendName {
  if (chosen) return chosen;
  const forced = process.env.RLIV_GEMM;
  if (forced === 'typescript') chosen = 'typescript';
  else if (forced === 'openblas') {
    if (!loadNative()) throw new BackendError(`RLIV_GEMM=openblas but the OpenBLAS addon is unavailable: ${loadError}`);
    chosen = 'openblas';
  } else if (forced !== undefined && forced !== '') {
    throw new BackendError(`RLIV_GEMM must be "openblas" or "typescript", got "${forced}"`);
  } else chosen = loadNative() ? 'openblas' : 'typescript';
  active = chosen === 'openblas' ? loadNative() : null;
  return chosen;
}

/** The backend in use (resolving it on first call). */
export function backendName(): GemmBackendName {
  return resolve();
}

/** Selects the backend; 'openblas' throws a BackendError when the addon is unavailable. */
export function setBackend(name: GemmBackendName): void {
  if (name === 'openblas') {
    if (!loadNative()) throw new BackendError(`cannot select the openblas backend: ${loadError}`);
  } else if (name !== 'typescript') {
    throw new BackendError(`unknown backend "${String(name)}"; use "openblas" or "typescript"`);
  }
  chosen = name;
  active = name === 'openblas' ? loadNative() : null;
}

/** The addon if the openblas backend is active, else null (hot paths branch on this). */
export function activeNative(): NativeAddon | null {
  if (chosen === undefined) resolve();
  return active;
}
