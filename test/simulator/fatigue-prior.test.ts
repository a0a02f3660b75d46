import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nonIncreasingFatigue } from '../../src/simulator/fatigue-prior.js';

const close = (a: ArrayLike<number>, b: number[]) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `at ${i}: ${a[i]} vs ${b[i]}`);
};

test('the fatigue prior pools a rise into the weighted mean and carries the last identified bucket flat', () => {
  // Buckets 0..3 identified (>= 200 rows), bucket 4 not: -0.1 then 0.05 rise; pooled (-0.1*500 + 0.05*500) / 1000 = -0.025.
  const out = nonIncreasingFatigue([0, -0.1, 0.05, -0.3, 0.2, 0.4], [1000, 500, 500, 300, 10, 0]);
  close(out, [0, -0.025, -0.025, -0.3, -0.3, -0.3]);
});

test('a chain of rises pools back to the first bucket, weighted by rows', () => {
  // 0 (w 100), 0.3 (w 300), 0.6 (w 600): all pooled to (0 + 90 + 360) / 1000 = 0.45.
  close(nonIncreasingFatigue([0, 0.3, 0.6], [100, 300, 600], 50), [0.45, 0.45, 0.45]);
  // Pooling 0.2 into -0.1 gives 0.05, above 0: then all three pool to (0*1 + -0.1*1 + 0.2*2) / 4 = 0.075.
  close(nonIncreasingFatigue([0, -0.1, 0.2], [1, 1, 2], 1), [0.075, 0.075, 0.075]);
});

test('offsets already non-increasing keep their identified values; nothing identified changes nothing', () => {
  close(nonIncreasingFatigue([0, -0.2, -0.5, -0.4], [900, 800, 700, 100]), [0, -0.2, -0.5, -0.5]);
  close(nonIncreasingFatigue([0, 0.5, -0.3], [150, 900, 900]), [0, 0.5, -0.3]);
});

test('mismatched lengths are refused', () => {
  assert.throws(() => nonIncreasingFatigue([0, 1], [1]), /2 offsets but 1 row counts/);
});
