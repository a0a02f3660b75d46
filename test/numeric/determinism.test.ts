/** Same seed, same parameters after N training steps of the full embedding + MlpGroup + Adam stack. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam } from '../../src/numeric/adam.js';
import { EmbeddingTable } from '../../src/numeric/embedding.js';
import { huberLoss } from '../../src/numeric/losses.js';
import { MlpGroup } from '../../src/numeric/mlp-group.js';
import { Rng } from '../../src/numeric/rng.js';

function train(seed: number, steps: number): { params: Float32Array[]; losses: number[] } {
  const rng = new Rng(seed);
  const emb = new EmbeddingTable({ rows: 200, dim: 4, name: 'emb' }, rng.fork('emb'));
  const group = new MlpGroup({ heads: 3, sizes: [8, 8, 1], name: 'heads' }, rng.fork('heads'));
  const adam = new Adam([emb.table, ...group.params()], { lr: 1e-2 });
  const batch = 16;
  const ids = [new Int32Array(batch), new Int32Array(batch)];
  const x = new Float32Array(batch * 8);
  const target = new Float32Array(batch * 3);
  const grad = new Float32Array(batch * 3);
  const data = rng.fork('data');
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    for (let b = 0; b < batch; b++) {
      for (let f = 0; f < 2; f++) ids[f]![b] = emb.rowOf(f, data.int(1000));
      for (let g = 0; g < 3; g++) target[b * 3 + g] = data.normal();
    }
    for (let f = 0; f < 2; f++) emb.gather(ids[f]!, batch, x, 8, f * 4);
    const out = group.forward(x, batch);
    losses.push(huberLoss(out, target, batch * 3, 1, grad));
    const dx = group.backward(grad, batch);
    for (let f = 0; f < 2; f++) emb.scatterAddGrad(ids[f]!, batch, dx, 8, f * 4);
    adam.step();
    adam.zeroGrad();
  }
  return { params: [emb.table.value, ...group.params().map((p) => p.value)].map((v) => v.slice()), losses };
}

test('same seed gives identical parameters after 20 steps; another seed does not', () => {
  const a = train(3, 20);
  const b = train(3, 20);
  assert.deepEqual(a.losses, b.losses);
  a.params.forEach((v, i) => assert.deepEqual(Array.from(v), Array.from(b.params[i]!)));
  const c = train(4, 20);
  assert.notDeepEqual(Array.from(c.params[1]!), Array.from(a.params[1]!));
  assert.ok(a.losses.every(Number.isFinite));
});
