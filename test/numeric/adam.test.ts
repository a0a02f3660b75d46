/** Adam: a step checked against a hand computation; lazy updates leave untouched embedding rows alone. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam } from '../../src/numeric/adam.js';
import { MlpGroup } from '../../src/numeric/mlp-group.js';
import { Param } from '../../src/numeric/param.js';
import { Rng } from '../../src/numeric/rng.js';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('dense Adam: two steps equal the hand computation', () => {
  const p = new Param({ name: 'w', shape: [2] });
  p.value.set([1, -2]);
  const adam = new Adam([p], { lr: 0.1 });
  p.grad.set([0.5, -1]);
  adam.step();
  // Step 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2, so w -= 0.1 * g / (|g| + 1e-8) = 0.1 * sign(g).
  close(p.value[0]!, 0.9, 1e-6);
  close(p.value[1]!, -1.9, 1e-6);
  adam.zeroGrad();
  p.grad.set([0.1, 0]);
  adam.step();
  // Step 2 by hand for w[0]: m = 0.9*0.05 + 0.1*0.1 = 0.055; v = 0.999*0.00025 + 0.001*0.01 = 0.00025975
  const m = 0.055,
    v = 0.00025975;
  const mhat = m / (1 - 0.81),
    vhat = v / (1 - 0.999 ** 2);
  close(p.value[0]!, 0.9 - (0.1 * mhat) / (Math.sqrt(vhat) + 1e-8), 1e-6);
  // w[1]: gradient 0 but momentum continues: m = 0.9*(-0.1) = -0.09, v = 0.999*0.001
  close(p.value[1]!, -1.9 - (0.1 * (-0.09 / 0.19)) / (Math.sqrt(0.000999 / (1 - 0.999 ** 2)) + 1e-8), 1e-6);
  assert.equal(adam.stepCount, 2);
});

test('sparse Adam is lazy: only touched rows move, untouched moments stay frozen', () => {
  const table = new Param({ name: 'emb', shape: [4, 2], sparse: true });
  table.value.set([1, 1, 2, 2, 3, 3, 4, 4]);
  const adam = new Adam([table], { lr: 0.1 });
  for (const r of [1, 3]) {
    table.grad[r * 2] = 1;
    table.grad[r * 2 + 1] = -1;
    table.markTouched(r);
  }
  adam.step();
  adam.zeroGrad();
  assert.deepEqual(Array.from(table.value), [1, 1, 2 - 0.1, 2 + 0.1, 3, 3, 4 - 0.1, 4 + 0.1].map(Math.fround));
  let state = adam.getState();
  assert.deepEqual(Array.from(state.m[0]!.subarray(0, 2)), [0, 0]);
  const row1m = state.m[0]![2]!;
  // Step 2 touches only row 0: row 1's moment must not decay (dense Adam would decay it by beta1).
  table.grad[0] = 1;
  table.markTouched(0);
  adam.step();
  state = adam.getState();
  assert.equal(state.m[0]![2], row1m);
  close(table.value[2]!, 2 - 0.1, 1e-6);
  assert.ok(table.value[0]! < 1 && table.value[1] === 1);
  // The global step count drives the bias correction of row 0: m = 0.1, v = 0.001 at t = 2.
  const mhat = 0.1 / (1 - 0.81),
    vhat = 0.001 / (1 - 0.999 ** 2);
  close(table.value[0]!, 1 - (0.1 * mhat) / (Math.sqrt(vhat) + 1e-8), 1e-6);
});

test('Adam state round trip and validation', () => {
  const p = new Param({ name: 'w', shape: [3] });
  const adam = new Adam([p]);
  p.grad.set([1, 2, 3]);
  adam.step();
  const state = adam.getState();
  const q = new Param({ name: 'w', shape: [3] });
  q.value.set(p.value);
  const other = new Adam([q]);
  other.setState(state);
  adam.step();
  q.grad.set([1, 2, 3]);
  other.step();
  assert.deepEqual(Array.from(q.value), Array.from(p.value));
  assert.throws(() => other.setState({ step: 1, m: [new Float32Array(2)], v: [new Float32Array(3)] }), /must have 3 values/);
  assert.throws(() => new Adam([p, p]), /share memory/);
});

test('Adam refuses a head view next to its fused MlpGroup tensor', () => {
  const group = new MlpGroup({ heads: 2, sizes: [3, 4, 1], name: 'g' }, new Rng(1));
  assert.throws(() => new Adam([...group.params(), ...group.headParams(1)]), /share memory/);
  assert.doesNotThrow(() => new Adam(group.params()));
});
