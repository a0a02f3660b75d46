/**
 * FieldLinear equals the dense path it replaces: gathering the summed field
 * embeddings into x and running Linear forward/backward (then scattering dX
 * into the table) gives the same pre-activation, weight and bias gradients
 * and table gradients up to float32 rounding, on both backends; one prepare
 * serves two layers; Mlp.forwardFrom / backwardTo match Mlp.forward /
 * backward; bad rows and shapes are refused with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingTable } from '../../src/numeric/embedding.js';
import { FieldLinear } from '../../src/numeric/field-linear.js';
import { gemmBackend, nativeAvailable, setGemmBackend, type GemmBackendName } from '../../src/numeric/gemm.js';
import { sumRowsToSlots } from '../../src/numeric/kernels.js';
import { Linear } from '../../src/numeric/linear.js';
import { Mlp } from '../../src/numeric/mlp.js';
import { Rng } from '../../src/numeric/rng.js';
import { randn } from './gradcheck.js';

const DIM = 8;
const SLOT_OF = Int32Array.from([0, 1, 1, 1, 2, 3, 3]);
const SLOTS = 4;
const DENSE = 3;
const BATCH = 29;
const CAP = 32;

function close(a: Float32Array, b: Float32Array, what: string, tol = 2e-5): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

/** Rows with many repeats (a few users, items drawn from a small pool) like a baseline's batch. */
function batchRows(rng: Rng, tableRows: number): Int32Array {
  const rows = new Int32Array(SLOT_OF.length * CAP);
  for (let j = 0; j < SLOT_OF.length; j++) {
    const pool = j === 0 ? 3 : j < 4 ? 5 : 40;
    for (let b = 0; b < BATCH; b++) rows[j * CAP + b] = (j * 131 + rng.int(pool) * 7) % tableRows;
  }
  return rows;
}

function run(): { h: Float32Array; hDense: Float32Array; gW: Float32Array[]; gB: Float32Array[]; gT: Float32Array[]; h2: Float32Array; h2Dense: Float32Array } {
  const rng = new Rng(11);
  const inDim = SLOTS * DIM + DENSE;
  const tables = [new EmbeddingTable({ rows: 97, dim: DIM, name: 'a' }, new Rng(2)), new EmbeddingTable({ rows: 97, dim: DIM, name: 'b' }, new Rng(2))];
  const layers = [new Linear(inDim, 6, new Rng(3), 'l'), new Linear(inDim, 6, new Rng(3), 'l')];
  const other = new Linear(inDim, 5, new Rng(4), 'other');
  const rows = batchRows(rng, 97);
  const x = new Float32Array(BATCH * inDim);
  const dense = randn(BATCH * inDim, rng);
  // Dense path: x = [slots | dense columns] gathered, then Linear.
  sumRowsToSlots(tables[1]!.table.value, DIM, rows, CAP, SLOT_OF, SLOT_OF.length, SLOTS, BATCH, x, inDim, 0);
  for (let b = 0; b < BATCH; b++) for (let c = 0; c < DENSE; c++) x[b * inDim + SLOTS * DIM + c] = dense[b * inDim + SLOTS * DIM + c]!;
  const hDense = layers[1]!.forward(x, BATCH).slice();
  const h2Dense = other.forward(x, BATCH).slice();
  // FieldLinear path on the same rows; the dense columns read in place from their buffer.
  const f = new FieldLinear({ table: tables[0]!, slotOf: SLOT_OF, slotCount: SLOTS, denseCols: DENSE, name: 'f' });
  f.prepare(rows, CAP, BATCH, dense, inDim, SLOTS * DIM);
  assert.ok(f.distinct < (BATCH * SLOT_OF.length) / 3, `rows repeat: ${f.distinct} distinct pairs`);
  const h = f.forward(layers[0]!).slice(0, BATCH * 6);
  const h2 = f.forward(other).slice(0, BATCH * 5);
  f.forward(layers[0]!);
  const dOut = randn(BATCH * 6, rng);
  f.backward(layers[0]!, dOut);
  layers[1]!.forward(x, BATCH);
  const dx = layers[1]!.backward(dOut, BATCH);
  for (let j = 0; j < SLOT_OF.length; j++) tables[1]!.scatterAddGrad(rows.subarray(j * CAP, j * CAP + BATCH), BATCH, dx, inDim, SLOT_OF[j]! * DIM);
  return {
    h,
    hDense,
    h2,
    h2Dense,
    gW: layers.map((l) => l.weight.grad.slice()),
    gB: layers.map((l) => l.bias.grad.slice()),
    gT: tables.map((t) => t.table.grad.slice()),
  };
}

for (const backend of ['typescript', 'openblas'] as GemmBackendName[]) {
  test(
    `FieldLinear matches gather + Linear (forward, weight/bias/table gradients), ${backend} backend`,
    { skip: backend === 'openblas' && !nativeAvailable() },
    () => {
      const previous = gemmBackend();
      setGemmBackend(backend);
      try {
        const r = run();
        close(r.h, r.hDense, 'pre-activation');
        close(r.h2, r.h2Dense, 'second layer on the same prepare');
        close(r.gW[0]!, r.gW[1]!, 'weight gradient');
        close(r.gB[0]!, r.gB[1]!, 'bias gradient');
        close(r.gT[0]!, r.gT[1]!, 'table gradient');
        assert.ok(r.gT[0]!.some((v) => v !== 0));
      } finally {
        setGemmBackend(previous);
      }
    },
  );
}

test('Mlp.forwardFrom / backwardTo equal forward / backward with layer 0 applied outside', () => {
  const rng = new Rng(9);
  const a = new Mlp({ sizes: [10, 7, 6, 2], name: 'm' }, new Rng(5));
  const b = new Mlp({ sizes: [10, 7, 6, 2], name: 'm' }, new Rng(5));
  const x = randn(13 * 10, rng);
  const yA = a.forward(x, 13).slice();
  const h0 = b.layers[0]!.forward(x, 13).slice();
  const yB = b.forwardFrom(h0, 13).slice();
  close(yB, yA, 'output', 1e-6);
  const dOut = randn(13 * 2, rng);
  const dxA = a.backward(dOut, 13).slice();
  const dh0 = b.backwardTo(dOut, 13);
  const dxB = b.layers[0]!.backward(dh0, 13).slice();
  close(dxB, dxA, 'dX', 1e-6);
  a.params().forEach((p, k) => close(b.params()[k]!.grad, p.grad, p.name, 1e-6));
});

test('FieldLinear refuses rows outside the table, a layer of another width and a short dense input', () => {
  const table = new EmbeddingTable({ rows: 10, dim: 2, name: 't' }, new Rng(1));
  const f = new FieldLinear({ table, slotOf: Int32Array.from([0, 1]), slotCount: 2, denseCols: 1, name: 'f' });
  const rows = Int32Array.from([1, 2, 3, 10]);
  assert.throws(() => f.prepare(rows, 2, 2, new Float32Array(2), 1, 0), /row 10 of example 1, position 1 is outside the table/);
  assert.throws(() => f.prepare(Int32Array.from([1, 2, 3, 4]), 2, 2, new Float32Array(1), 1, 0), /dense input of 1 columns/);
  f.prepare(Int32Array.from([1, 2, 3, 4]), 2, 2, new Float32Array(2), 1, 0);
  assert.throws(() => f.forward(new Linear(4, 3, new Rng(1), 'wrong')), /takes 4 inputs, this input has 5/);
  assert.throws(() => new FieldLinear({ table, slotOf: Int32Array.from([0, 2]), slotCount: 2, denseCols: 0, name: 'g' }), /position 1 maps to slot 2/);
});

test('sharedPrefix: runs of rows sharing the prefix positions and the dense columns give the same forward and sums (bit for bit on the TypeScript backend)', () => {
  for (const backend of (nativeAvailable() ? ['typescript', 'openblas'] : ['typescript']) as GemmBackendName[]) {
    const previous = gemmBackend();
    setGemmBackend(backend);
    try {
      const rng = new Rng(21);
      const P = SLOT_OF.length;
      const prefix = 2; // positions 0 and 1 (slots 0 and 1) play the user's fields
      const cap = 64;
      const n = 60;
      const inDim = SLOTS * DIM + DENSE;
      const table = new EmbeddingTable({ rows: 97, dim: DIM, name: 'p' }, new Rng(2));
      const layer = new Linear(inDim, 6, new Rng(3), 'l');
      // Runs of 1-9 rows: the same prefix rows and dense columns within a run, the other positions drawn per row;
      // one run boundary is only a change of the dense columns.
      const rows = new Int32Array(P * cap);
      const dense = new Float32Array(n * inDim);
      let b = 0;
      let runs = 0;
      while (b < n) {
        const len = Math.min(n - b, 1 + rng.int(9));
        const pre = [rng.int(97), rng.int(97)];
        const d = randn(DENSE, rng);
        for (let i = 0; i < len; i++, b++) {
          for (let j = 0; j < P; j++) rows[j * cap + b] = j < prefix ? pre[j]! : rng.int(97);
          for (let c = 0; c < DENSE; c++) dense[b * inDim + SLOTS * DIM + c] = i === len - 1 && runs === 3 ? d[c]! + 1 : d[c]!;
        }
        runs++;
      }
      const plain = new FieldLinear({ table, slotOf: SLOT_OF, slotCount: SLOTS, denseCols: DENSE, name: 'plain' });
      const shared = new FieldLinear({ table, slotOf: SLOT_OF, slotCount: SLOTS, denseCols: DENSE, name: 'shared', sharedPrefix: prefix });
      plain.prepare(rows, cap, n, dense, inDim, SLOTS * DIM);
      shared.prepare(rows, cap, n, dense, inDim, SLOTS * DIM);
      const want = plain.forward(layer).slice(0, n * 6);
      const got = shared.forward(layer).slice(0, n * 6);
      const src = randn(plain.distinct * 3, rng);
      const sumWant = new Float32Array(n * 3);
      const sumGot = new Float32Array(n * 3);
      plain.sumPositions(src, 3, sumWant);
      shared.sumPositions(src, 3, sumGot);
      if (backend === 'typescript') {
        assert.deepEqual(got, want, 'forward');
        assert.deepEqual(sumGot, sumWant, 'sumPositions');
      } else {
        close(got, want, 'forward');
        close(sumGot, sumWant, 'sumPositions');
      }
      // The backward is the plain one: the same gradients either way.
      const dOut = randn(n * 6, rng);
      layer.weight.grad.fill(0);
      plain.forward(layer);
      plain.backward(layer, dOut);
      const gPlain = layer.weight.grad.slice();
      layer.weight.grad.fill(0);
      shared.forward(layer);
      shared.backward(layer, dOut);
      assert.deepEqual(layer.weight.grad, gPlain, 'weight gradient');
    } finally {
      setGemmBackend(previous);
    }
  }
  const table = new EmbeddingTable({ rows: 10, dim: 2, name: 't' }, new Rng(1));
  assert.throws(
    () => new FieldLinear({ table, slotOf: Int32Array.from([0, 1]), slotCount: 2, denseCols: 0, name: 'g', sharedPrefix: 3 }),
    /sharedPrefix 3 must be an integer in \[0, 2\]/,
  );
});
