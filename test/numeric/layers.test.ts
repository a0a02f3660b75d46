/**
 * Finite-difference gradient checks of Linear, ReLU, Mlp, MlpGroup and the
 * embedding gather/scatter, run once per available backend (TypeScript, and
 * OpenBLAS + native kernels when the addon is built).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmbeddingTable } from '../../src/numeric/embedding.js';
import { nativeAvailable, setGemmBackend, type GemmBackendName } from '../../src/numeric/gemm.js';
import { Linear } from '../../src/numeric/linear.js';
import { Mlp } from '../../src/numeric/mlp.js';
import { MlpGroup } from '../../src/numeric/mlp-group.js';
import { ReLU } from '../../src/numeric/relu.js';
import { Rng } from '../../src/numeric/rng.js';
import { hardCopy } from '../../src/numeric/soft-update.js';
import { checkGradient, dotObjective, randn } from './gradcheck.js';

const BACKENDS: GemmBackendName[] = nativeAvailable() ? ['typescript', 'openblas'] : ['typescript'];

for (const backend of BACKENDS) {
  test(`[${backend}] ` + 'Linear forward equals x W^T + b computed by hand', () => {
    setGemmBackend(backend);
    const lin = new Linear(2, 3, new Rng(1), 'lin');
    lin.weight.value.set([1, 2, 3, 4, 5, 6]); // rows: out units
    lin.bias.value.set([0.5, -1, 2]);
    const y = lin.forward(new Float32Array([1, -1, 2, 0.5]), 2);
    assert.deepEqual(Array.from(y.subarray(0, 6)), [1 - 2 + 0.5, 3 - 4 - 1, 5 - 6 + 2, 2 + 1 + 0.5, 6 + 2 - 1, 10 + 3 + 2]);
  });

  test(`[${backend}] ` + 'Linear gradients match finite differences (weight, bias, input)', () => {
    setGemmBackend(backend);
    const rng = new Rng(7);
    const batch = 5,
      inDim = 4,
      outDim = 3;
    const lin = new Linear(inDim, outDim, rng, 'lin');
    const x = randn(batch * inDim, rng);
    const r = randn(batch * outDim, rng);
    const objective = () => dotObjective(lin.forward(x, batch), r, batch * outDim);
    lin.forward(x, batch);
    const dx = lin.backward(r, batch).slice();
    checkGradient('dW', lin.weight.value, lin.weight.grad.slice(), objective);
    checkGradient('db', lin.bias.value, lin.bias.grad.slice(), objective);
    checkGradient('dx', x, dx, objective);
  });

  test(`[${backend}] ` + 'Linear backward accumulates parameter gradients', () => {
    setGemmBackend(backend);
    const rng = new Rng(3);
    const lin = new Linear(3, 2, rng, 'lin');
    const x = randn(6, rng);
    const d = randn(4, rng);
    lin.forward(x, 2);
    lin.backward(d, 2);
    const once = lin.weight.grad.slice();
    lin.forward(x, 2);
    lin.backward(d, 2);
    for (let i = 0; i < once.length; i++) assert.ok(Math.abs(lin.weight.grad[i]! - 2 * once[i]!) < 1e-6);
  });

  test(`[${backend}] ` + 'ReLU forward/backward', () => {
    setGemmBackend(backend);
    const relu = new ReLU();
    const y = relu.forward(new Float32Array([-1, 0, 2, -3, 4, 0.5]), 2, 3);
    assert.deepEqual(Array.from(y.subarray(0, 6)), [0, 0, 2, 0, 4, 0.5]);
    const dx = relu.backward(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3);
    assert.deepEqual(Array.from(dx.subarray(0, 6)), [0, 0, 3, 0, 5, 6]);
    const rng = new Rng(11);
    const x = randn(20, rng);
    const r = randn(20, rng);
    const g = new ReLU();
    g.forward(x, 4, 5);
    const analytic = g.backward(r, 4, 5).slice();
    checkGradient('relu dx', x, analytic, () => dotObjective(new ReLU().forward(x, 4, 5), r, 20), { h: 1e-3 });
  });

  test(`[${backend}] ` + 'Mlp gradients match finite differences for every parameter and the input', () => {
    setGemmBackend(backend);
    const rng = new Rng(21);
    const batch = 4,
      sizes = [5, 6, 4, 2];
    const mlp = new Mlp({ sizes, name: 'mlp' }, rng);
    const x = randn(batch * 5, rng);
    const r = randn(batch * 2, rng);
    const objective = () => dotObjective(mlp.forward(x, batch), r, batch * 2);
    mlp.forward(x, batch);
    const dx = mlp.backward(r, batch).slice();
    // h = 1e-3 keeps perturbations from crossing ReLU kinks of the hidden units.
    for (const p of mlp.params()) checkGradient(p.name, p.value, p.grad.slice(), objective, { h: 1e-3 });
    checkGradient('mlp dx', x, dx, objective, { h: 1e-3 });
  });

  test(`[${backend}] ` + 'MlpGroup gradients match finite differences (fused and per-head layers, summed dX)', () => {
    setGemmBackend(backend);
    const rng = new Rng(5);
    const batch = 3,
      heads = 3,
      sizes = [4, 5, 3, 2];
    const group = new MlpGroup({ heads, sizes, name: 'grp' }, rng);
    const x = randn(batch * 4, rng);
    const r = randn(batch * heads * 2, rng);
    const objective = () => dotObjective(group.forward(x, batch), r, batch * heads * 2);
    group.forward(x, batch);
    const dx = group.backward(r, batch).slice();
    for (const p of group.params()) checkGradient(p.name, p.value, p.grad.slice(), objective, { h: 1e-3 });
    checkGradient('group dx', x, dx, objective, { h: 1e-3 });
  });

  test(`[${backend}] ` + 'MlpGroup with width-1 layers (segmented dot products, last or hidden) matches finite differences', () => {
    setGemmBackend(backend);
    for (const sizes of [
      [5, 6, 4, 1],
      [4, 3, 1, 2],
    ]) {
      const rng = new Rng(6);
      const batch = 4,
        heads = 3;
      const outDim = sizes[sizes.length - 1]!;
      const group = new MlpGroup({ heads, sizes, name: 'grp1' }, rng);
      const x = randn(batch * sizes[0]!, rng);
      const r = randn(batch * heads * outDim, rng);
      const objective = () => dotObjective(group.forward(x, batch), r, batch * heads * outDim);
      group.forward(x, batch);
      const dx = group.backward(r, batch).slice();
      for (const p of group.params()) checkGradient(`${sizes} ${p.name}`, p.value, p.grad.slice(), objective, { h: 1e-3 });
      checkGradient(`${sizes} group dx`, x, dx, objective, { h: 1e-3 });
    }
  });

  test(`[${backend}] ` + 'MlpGroup head g computes exactly what an Mlp with the same weights computes', () => {
    setGemmBackend(backend);
    const rng = new Rng(9);
    const batch = 6,
      heads = 4,
      sizes = [8, 16, 16, 1];
    const group = new MlpGroup({ heads, sizes, name: 'grp' }, rng);
    const x = randn(batch * 8, rng);
    const out = group.forward(x, batch).slice();
    const dOut = randn(batch * heads, rng);
    group.backward(dOut, batch);
    for (let g = 0; g < heads; g++) {
      const mlp = new Mlp({ sizes, name: `m${g}` }, new Rng(100 + g));
      hardCopy(mlp.params(), group.headParams(g));
      const y = mlp.forward(x, batch);
      const d = new Float32Array(batch);
      for (let b = 0; b < batch; b++) {
        assert.ok(Math.abs(y[b]! - out[b * heads + g]!) < 1e-5, `head ${g} row ${b}: ${y[b]} vs ${out[b * heads + g]}`);
        d[b] = dOut[b * heads + g]!;
      }
      mlp.backward(d, batch);
      const mine = mlp.params();
      const views = group.headParams(g);
      for (let i = 0; i < mine.length; i++) {
        for (let j = 0; j < mine[i]!.size; j++) {
          assert.ok(Math.abs(mine[i]!.grad[j]! - views[i]!.grad[j]!) < 1e-5, `${views[i]!.name}[${j}] grad`);
        }
      }
    }
  });

  test(`[${backend}] ` + 'MlpGroup built with the same seed as G Mlps starts with the same weights', () => {
    setGemmBackend(backend);
    const sizes = [3, 4, 1];
    const group = new MlpGroup({ heads: 2, sizes, name: 'g' }, new Rng(42));
    const rng = new Rng(42);
    const a = new Mlp({ sizes, name: 'a' }, rng);
    const b = new Mlp({ sizes, name: 'b' }, rng);
    for (const [g, mlp] of [a, b].entries()) {
      const views = group.headParams(g);
      mlp.params().forEach((p, i) => assert.deepEqual(Array.from(p.value), Array.from(views[i]!.value)));
    }
  });

  test(`[${backend}] ` + 'embedding gather/scatter: strided gather and a finite-difference check through a Linear', () => {
    setGemmBackend(backend);
    const rng = new Rng(13);
    const dim = 3,
      fields = 2,
      batch = 4;
    const emb = new EmbeddingTable({ rows: 10, dim, name: 'emb', initScale: 0.5 }, rng);
    const ids = [
      [1, 4, 4, 9],
      [2, 2, 7, 1],
    ].map((a) => Int32Array.from(a));
    const x = new Float32Array(batch * fields * dim);
    for (let f = 0; f < fields; f++) emb.gather(ids[f]!, batch, x, fields * dim, f * dim);
    for (let b = 0; b < batch; b++) {
      for (let f = 0; f < fields; f++) {
        for (let j = 0; j < dim; j++) assert.equal(x[b * fields * dim + f * dim + j], emb.table.value[ids[f]![b]! * dim + j]);
      }
    }
    const lin = new Linear(fields * dim, 2, rng, 'lin');
    const r = randn(batch * 2, rng);
    const xs = new Float32Array(x.length);
    const objective = () => {
      for (let f = 0; f < fields; f++) emb.gather(ids[f]!, batch, xs, fields * dim, f * dim);
      return dotObjective(lin.forward(xs, batch), r, batch * 2);
    };
    objective();
    const dx = lin.backward(r, batch);
    for (let f = 0; f < fields; f++) emb.scatterAddGrad(ids[f]!, batch, dx, fields * dim, f * dim);
    checkGradient('emb table', emb.table.value, emb.table.grad.slice(), objective);
    const touched = Array.from(emb.table.touchedRows.subarray(0, emb.table.touchedCount)).sort((a, b) => a - b);
    assert.deepEqual(touched, [1, 2, 4, 7, 9]);
    emb.table.zeroGrad();
    assert.equal(emb.table.touchedCount, 0);
    assert.ok(emb.table.grad.every((v) => v === 0));
  });

  test(`[${backend}] ` + 'embedding rowOf is deterministic, in range, and separates fields', () => {
    setGemmBackend(backend);
    const emb = new EmbeddingTable({ rows: 1000, dim: 2, name: 'e' }, new Rng(1));
    const seen = new Set<number>();
    let sameAcrossFields = 0;
    for (let id = 0; id < 500; id++) {
      const r0 = emb.rowOf(0, id);
      assert.ok(r0 >= 0 && r0 < 1000 && Number.isInteger(r0));
      assert.equal(r0, emb.rowOf(0, id));
      if (r0 === emb.rowOf(1, id)) sameAcrossFields++;
      seen.add(r0);
    }
    assert.ok(seen.size > 350, `500 ids should spread over many of 1000 rows, got ${seen.size}`);
    assert.ok(sameAcrossFields < 10);
    assert.ok(emb.rowOf(0, 2 ** 40 + 3) !== emb.rowOf(0, 3) || emb.rowOf(0, 2 ** 41 + 3) !== emb.rowOf(0, 3));
    assert.throws(() => emb.gather(Int32Array.from([1000]), 1, new Float32Array(2), 2, 0), /outside \[0, 1000\)/);
  });
}
