import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import { fillNormals, inverseNormalCdf, normalTable } from '../../src/world/fast-normal.js';

test('inverse normal CDF at known quantiles', () => {
  assert.ok(Math.abs(inverseNormalCdf(0.5)) < 1e-12);
  assert.ok(Math.abs(inverseNormalCdf(0.975) - 1.959963984540054) < 1e-8);
  assert.ok(Math.abs(inverseNormalCdf(0.001) + 3.090232306167814) < 1e-8);
  assert.throws(() => inverseNormalCdf(1), /0 < p < 1/);
});

test('the quantile table has mean 0 and variance 1; draws are standard normal', () => {
  const t = normalTable();
  let m = 0,
    v = 0;
  for (const x of t) m += x;
  m /= t.length;
  for (const x of t) v += (x - m) ** 2;
  v /= t.length;
  assert.ok(Math.abs(m) < 1e-6);
  assert.ok(Math.abs(v - 1) < 2e-3, `variance ${v}`);
  const xs = fillNormals(new Rng(3), new Float32Array(200001), 2);
  let s = 0,
    s2 = 0,
    tail = 0;
  for (const x of xs) {
    s += x;
    s2 += x * x;
    if (Math.abs(x) > 2 * 1.959964) tail++;
  }
  assert.ok(Math.abs(s / xs.length) < 0.02);
  assert.ok(Math.abs(s2 / xs.length / 4 - 1) < 0.02);
  assert.ok(Math.abs(tail / xs.length - 0.05) < 0.003, `two-sided 5 % tail ${tail / xs.length}`);
  assert.deepEqual(fillNormals(new Rng(3), new Float32Array(11)), fillNormals(new Rng(3), new Float32Array(11)));
});
