/**
 * Parity with PyTorch: an Mlp and an embedding + MlpGroup built by the rliv
 * core are exported with saveParams, rebuilt in PyTorch by
 * bench/torch_parity.py from that file, and the forward outputs, Huber
 * losses and every gradient must agree to 1e-4. Skipped (with the reason
 * printed) when /usr/bin/python3 cannot import torch.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { findBenchScript, SYSTEM_PYTHON, torchAvailability } from '../../bench/numeric.js';
import { EmbeddingTable } from '../../src/numeric/embedding.js';
import { huberLoss, sumOfColumnMeans } from '../../src/numeric/losses.js';
import { Mlp } from '../../src/numeric/mlp.js';
import { MlpGroup } from '../../src/numeric/mlp-group.js';
import { saveParams } from '../../src/numeric/params-io.js';
import { Rng } from '../../src/numeric/rng.js';
import { tempDir } from '../helpers/paths.js';
import { randn } from './gradcheck.js';

interface TorchCase {
  loss: number;
  out: number[];
  dx?: number[];
  grads: Record<string, number[]>;
}

function assertClose(label: string, ours: ArrayLike<number>, theirs: number[], tol = 1e-4): void {
  assert.equal(theirs.length, ours.length, `${label}: length`);
  for (let i = 0; i < theirs.length; i++) {
    const err = Math.abs(ours[i]! - theirs[i]!);
    assert.ok(err <= tol * Math.max(1, Math.abs(theirs[i]!)), `${label}[${i}]: rliv ${ours[i]} vs torch ${theirs[i]} (error ${err})`);
  }
}

test('Mlp and embedding + MlpGroup match PyTorch: outputs, Huber losses and gradients to 1e-4', (t) => {
  const torch = torchAvailability();
  if (!torch.ok) {
    const reason = `PyTorch parity skipped: ${torch.reason}`;
    console.log(reason);
    t.skip(reason);
    return;
  }
  const script = findBenchScript('torch_parity.py');
  assert.ok(script, 'bench/torch_parity.py not found');
  const rng = new Rng(2024);
  const batch = 8,
    dim = 8,
    fields = 3,
    heads = 3,
    delta = 1.0;
  const sizes = [fields * dim, 16, 12, 1];
  const mlp = new Mlp({ sizes, name: 'mlp' }, rng.fork('mlp'));
  const emb = new EmbeddingTable({ rows: 40, dim, name: 'emb', initScale: 0.5 }, rng.fork('emb'));
  const group = new MlpGroup({ heads, sizes, name: 'group' }, rng.fork('group'));

  // Single MLP: forward, Huber loss, backward.
  const mlpX = randn(batch * sizes[0]!, rng);
  const mlpTarget = randn(batch, rng, 2);
  const grad = new Float32Array(batch * heads);
  const mlpOut = mlp.forward(mlpX, batch).slice();
  const mlpLoss = huberLoss(mlpOut, mlpTarget, batch, delta, grad);
  const mlpDx = mlp.backward(grad, batch).slice();

  // Embedding + group: gather 3 fields, 3 heads, sum of per-head Huber losses, scatter dX back.
  const groupRows = Array.from({ length: fields }, () => Int32Array.from({ length: batch }, () => rng.int(40)));
  groupRows[1]![3] = groupRows[1]![0]!; // a repeated row: its gradients must add up
  const x = new Float32Array(batch * fields * dim);
  groupRows.forEach((rows, f) => emb.gather(rows, batch, x, fields * dim, f * dim));
  const groupTarget = randn(batch * heads, rng, 2);
  const groupOut = group.forward(x, batch).slice();
  const n = batch * heads;
  const groupLoss = sumOfColumnMeans(huberLoss(groupOut, groupTarget, n, delta, grad), heads, grad, n);
  const dx = group.backward(grad, batch);
  groupRows.forEach((rows, f) => emb.scatterAddGrad(rows, batch, dx, fields * dim, f * dim));

  const file = join(tempDir(), 'parity.params');
  saveParams(file, [...mlp.params(), emb.table, ...group.params()], {
    batch,
    dim,
    heads,
    sizes,
    delta,
    mlpX: Array.from(mlpX),
    mlpTarget: Array.from(mlpTarget),
    groupRows: groupRows.map((r) => Array.from(r)),
    groupTarget: Array.from(groupTarget),
  });
  const r = spawnSync(SYSTEM_PYTHON, [script!, file], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' }, timeout: 120_000 });
  assert.equal(r.status, 0, `torch_parity.py failed: ${r.stderr}`);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { mlp: TorchCase; group: TorchCase };

  assert.ok(Math.abs(result.mlp.loss - mlpLoss) <= 1e-4 * Math.max(1, mlpLoss), `mlp loss ${mlpLoss} vs ${result.mlp.loss}`);
  assertClose('mlp out', mlpOut, result.mlp.out);
  assertClose('mlp dx', mlpDx, result.mlp.dx!);
  for (const p of mlp.params()) assertClose(p.name, p.grad, result.mlp.grads[p.name]!);

  assert.ok(Math.abs(result.group.loss - groupLoss) <= 1e-4 * Math.max(1, groupLoss), `group loss ${groupLoss} vs ${result.group.loss}`);
  assertClose('group out', groupOut, result.group.out);
  for (const p of group.params()) assertClose(p.name, p.grad, result.group.grads[p.name]!);
  assertClose('emb grad', emb.table.grad, result.group.grads.emb!);
});
