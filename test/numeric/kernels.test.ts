/**
 * The elementwise kernels: hand-checked values, and the native (addon) and
 * TypeScript implementations agree on random inputs (skipped with the
 * reason when the addon is not built).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gemmBackend, nativeAvailable, nativeStatus, setGemmBackend, type GemmBackendName } from '../../src/numeric/gemm.js';
import {
  adamRows,
  adamSpan,
  addRowsAt,
  colSumAdd,
  fillRows,
  gatherRows,
  reluMask,
  reluRange,
  scatterAddRows,
  segDot,
  segDotBackward,
  sumRowsToSlots,
  zeroRows,
  scatterRowsAt,
} from '../../src/numeric/kernels.js';
import { Rng } from '../../src/numeric/rng.js';
import { randn } from './gradcheck.js';

/** Runs every kernel on fixed random inputs and returns all outputs. */
function runAll(seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const out: Float32Array[] = [];
  const y = randn(103, rng);
  reluRange(y, 5, 90);
  out.push(y);
  const d = randn(103, rng);
  reluMask(d, y, 103);
  out.push(d);
  const rows = new Float32Array(7 * 9);
  fillRows(rows, 7, 9, randn(9, rng));
  out.push(rows);
  const w = randn(50, rng),
    g = randn(50, rng),
    m = randn(50, rng, 0.1),
    v = randn(50, rng, 0.1).map(Math.abs);
  adamSpan(w, g, m, v, 3, 47, 0.9, 0.999, 0.01, 1.5, 1e-8);
  out.push(w, m, v);
  const tw = randn(40, rng),
    tg = randn(40, rng),
    tm = new Float32Array(40),
    tv = new Float32Array(40);
  adamRows(tw, tg, tm, tv, Int32Array.from([3, 0, 7]), 3, 4, 0.9, 0.999, 0.01, 1.2, 1e-8);
  out.push(tw, tm, tv);
  const table = randn(10 * 4, rng);
  const gathered = new Float32Array(5 * 12);
  gatherRows(table, 4, Int32Array.from([9, 2, 2, 0, 5]), 5, gathered, 12, 4);
  out.push(gathered);
  const summed = randn(4 * 5, rng);
  addRowsAt(table, Int32Array.from([36, -1, 0, 7, 13, 20, -1, -1]), 4, 2, 4, summed, 5);
  out.push(summed);
  const grad = new Float32Array(40),
    flags = new Uint8Array(10),
    touched = new Int32Array(10);
  const count = scatterAddRows(grad, 4, Int32Array.from([9, 2, 2, 0, 5]), 5, randn(60, rng), 12, 8, flags, touched, 0);
  out.push(grad, Float32Array.from(touched.subarray(0, count)));
  zeroRows(grad, 4, touched, 2, flags);
  out.push(grad, Float32Array.from(flags));
  const cs = randn(6, rng);
  colSumAdd(randn(5 * 6, rng), 5, 6, cs);
  out.push(cs);
  const a = randn(6 * 3 * 8, rng),
    sw = randn(3 * 8, rng),
    sb = randn(3, rng),
    so = new Float32Array(18);
  segDot(a, 6, 3, 8, sw, sb, so);
  out.push(so);
  const gw = new Float32Array(24),
    dA = new Float32Array(6 * 24);
  segDotBackward(randn(18, rng), a, 6, 3, 8, sw, gw, dA);
  out.push(gw, dA);
  // 3 examples (capacity 4), 5 positions into 2 slots of a 4-wide table, at offset 2 of stride 11 (the gap columns stay).
  const slotted = randn(3 * 11, rng);
  sumRowsToSlots(
    table,
    4,
    Int32Array.from([1, 2, 3, 0, 9, 8, 7, 0, 4, 4, 4, 0, 0, 5, 6, 0, 2, 2, 1, 0]),
    4,
    Int32Array.from([0, 1, 1, 0, 1]),
    5,
    2,
    3,
    slotted,
    11,
    2,
  );
  out.push(slotted);
  const scattered = randn(20, rng);
  scatterRowsAt(randn(4 * 6, rng), 6, 4, 2, 4, Int32Array.from([16, -1, 0, 7, 13, 16, -1, 2]), scattered);
  out.push(scattered);
  return out;
}

test('kernels compute the hand-checked values', () => {
  const y = Float32Array.from([-1, 2, -3, 4]);
  reluRange(y, 1, 2);
  assert.deepEqual(Array.from(y), [-1, 2, 0, 4]);
  const d = Float32Array.from([1, 1, 1, 1]);
  reluMask(d, Float32Array.from([0, 3, 0, 1]), 4);
  assert.deepEqual(Array.from(d), [0, 1, 0, 1]);
  const s = new Float32Array(2);
  colSumAdd(Float32Array.from([1, 2, 3, 4, 5, 6]), 3, 2, s);
  assert.deepEqual(Array.from(s), [9, 12]);
  const o = new Float32Array(2);
  segDot(Float32Array.from([1, 2, 3, 4]), 1, 2, 2, Float32Array.from([1, 1, 2, 0]), Float32Array.from([0.5, -1]), o);
  assert.deepEqual(Array.from(o), [3.5, 5]);
  // Row 0 of out gets src[4..6) + src[0..2), row 1 only src[2..4) (-1 = no row); the stride-3 gap stays.
  const summed = Float32Array.from([1, 1, 9, 1, 1, 9]);
  addRowsAt(Float32Array.from([1, 2, 3, 4, 5, 6]), Int32Array.from([4, 0, -1, 2]), 2, 2, 2, summed, 3);
  assert.deepEqual(Array.from(summed), [7, 9, 9, 4, 5, 9]);
  // Table rows r = [r, 10 r]; example 0 sums rows 1 + 3 into slot 0 and row 2 into slot 1, example 1 rows 0 + 0 and 4; column 0 of each row is left alone.
  const table = Float32Array.from([0, 0, 1, 10, 2, 20, 3, 30, 4, 40]);
  const slots = Float32Array.from([-1, 9, 9, 9, 9, -1, 9, 9, 9, 9]);
  sumRowsToSlots(table, 2, Int32Array.from([1, 0, 2, 4, 3, 0]), 2, Int32Array.from([0, 1, 0]), 3, 2, 2, slots, 5, 1);
  assert.deepEqual(Array.from(slots), [-1, 4, 40, 2, 20, -1, 0, 0, 4, 40]);
  // scatterRowsAt is addRowsAt's transpose: row 0 of src goes to offsets 4 and 0, row 1 to offset 2 (-1 = none).
  const back = Float32Array.from([0, 0, 0, 0, 0, 0]);
  scatterRowsAt(Float32Array.from([1, 2, 9, 3, 4, 9]), 3, 2, 2, 2, Int32Array.from([4, 0, -1, 2]), back);
  assert.deepEqual(Array.from(back), [1, 2, 3, 4, 1, 2]);
});

test('native and TypeScript kernels agree', (t) => {
  if (!nativeAvailable()) {
    t.skip(`OpenBLAS addon unavailable: ${nativeStatus()}`);
    return;
  }
  const previous: GemmBackendName = gemmBackend();
  try {
    setGemmBackend('typescript');
    const ts = runAll(77);
    setGemmBackend('openblas');
    const native = runAll(77);
    assert.equal(ts.length, native.length);
    ts.forEach((arr, k) => {
      assert.equal(arr.length, native[k]!.length);
      for (let i = 0; i < arr.length; i++) {
        assert.ok(
          Math.abs(arr[i]! - native[k]![i]!) <= 1e-5 * Math.max(1, Math.abs(arr[i]!)),
          `output ${k}[${i}]: typescript ${arr[i]} vs native ${native[k]![i]}`,
        );
      }
    });
  } finally {
    setGemmBackend(previous);
  }
});

test("the embedding-sum kernel gives bit-identical results on both backends (the agents' figures do not depend on the addon)", (t) => {
  if (!nativeAvailable()) {
    t.skip(`OpenBLAS addon unavailable: ${nativeStatus()}`);
    return;
  }
  const previous: GemmBackendName = gemmBackend();
  const run = (): Float32Array[] => {
    const rng = new Rng(5);
    const dim = 32,
      fields = 23,
      n = 37,
      cap = 40;
    const table = randn(500 * dim, rng);
    const rows = Int32Array.from({ length: fields * cap }, () => rng.int(500));
    const slotOf = Int32Array.from({ length: fields }, (_, j) => (j < 8 ? 0 : j < 12 ? 1 : 2 + (j % 4)));
    const x = new Float32Array(n * 6 * dim + 3);
    sumRowsToSlots(table, dim, rows, cap, slotOf, fields, 6, n, x, 6 * dim, 0);
    const wide = new Float32Array(n * fields * dim);
    sumRowsToSlots(
      table,
      dim,
      rows,
      cap,
      Int32Array.from({ length: fields }, (_, j) => j),
      fields,
      fields,
      n,
      wide,
      fields * dim,
      0,
    );
    return [x, wide];
  };
  try {
    setGemmBackend('typescript');
    const ts = run();
    setGemmBackend('openblas');
    const native = run();
    ts.forEach((a, k) => assert.deepEqual(native[k], a, `output ${k} differs between backends`));
  } finally {
    setGemmBackend(previous);
  }
});

test('native kernels reject out-of-range rows with an error instead of crashing', (t) => {
  if (!nativeAvailable()) {
    t.skip(`OpenBLAS addon unavailable: ${nativeStatus()}`);
    return;
  }
  const previous = gemmBackend();
  try {
    setGemmBackend('openblas');
    assert.throws(() => gatherRows(new Float32Array(8), 4, Int32Array.from([2]), 1, new Float32Array(4), 4, 0), /row out of range/);
    assert.throws(() => reluRange(new Float32Array(4), 2, 5), /out of bounds/);
    assert.throws(() => addRowsAt(new Float32Array(8), Int32Array.from([6]), 1, 1, 4, new Float32Array(4), 4), /row offset out of range/);
    assert.throws(() => scatterRowsAt(new Float32Array(4), 4, 1, 1, 4, Int32Array.from([6]), new Float32Array(8)), /row offset out of range/);
    assert.throws(
      () => sumRowsToSlots(new Float32Array(8), 4, Int32Array.from([2]), 1, Int32Array.from([0]), 1, 1, 1, new Float32Array(4), 4, 0),
      /row out of range/,
    );
    assert.throws(
      () => sumRowsToSlots(new Float32Array(8), 4, Int32Array.from([1]), 1, Int32Array.from([1]), 1, 1, 1, new Float32Array(8), 8, 0),
      /slot out of range/,
    );
  } finally {
    setGemmBackend(previous);
  }
});
