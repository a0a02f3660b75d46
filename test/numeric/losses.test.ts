/** Losses: hand-computed values and finite-difference checks of every gradient. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bceWithLogitsLoss, huberLoss, mseLoss, sumOfColumnMeans } from '../../src/numeric/losses.js';
import { Rng } from '../../src/numeric/rng.js';
import { checkGradient, randn } from './gradcheck.js';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('huberLoss: hand-computed values on both branches', () => {
  const pred = Float32Array.from([0.5, 3, -2]);
  const target = Float32Array.from([0, 0, 0]);
  const grad = new Float32Array(3);
  // delta 1: 0.5*0.25 = 0.125; 1*(3-0.5) = 2.5; 1*(2-0.5) = 1.5; mean = 4.125/3
  close(huberLoss(pred, target, 3, 1, grad), 4.125 / 3);
  close(grad[0]!, 0.5 / 3);
  close(grad[1]!, 1 / 3);
  close(grad[2]!, -1 / 3);
});

test('bceWithLogitsLoss: hand-computed values and stability for large logits', () => {
  const grad = new Float32Array(2);
  const l = bceWithLogitsLoss(Float32Array.from([0, 2]), Float32Array.from([1, 0]), 2, grad);
  close(l, (Math.log(2) + Math.log(1 + Math.exp(2))) / 2, 1e-6);
  close(grad[0]!, (0.5 - 1) / 2);
  close(grad[1]!, 1 / (1 + Math.exp(-2)) / 2);
  const big = bceWithLogitsLoss(Float32Array.from([1000, -1000]), Float32Array.from([0, 1]), 2);
  close(big, 1000, 1e-3);
});

test('mseLoss: hand-computed value', () => {
  const grad = new Float32Array(2);
  close(mseLoss(Float32Array.from([1, 3]), Float32Array.from([0, 1]), 2, grad), (1 + 4) / 2);
  close(grad[0]!, 1);
  close(grad[1]!, 2);
});

test('every loss gradient matches finite differences', () => {
  const rng = new Rng(4);
  const n = 12;
  const pred = randn(n, rng, 2);
  const target = randn(n, rng, 2);
  const labels = Float32Array.from({ length: n }, () => (rng.bernoulli(0.4) ? 1 : 0));
  const grad = new Float32Array(n);
  huberLoss(pred, target, n, 1.0, grad);
  checkGradient('huber', pred, grad.slice(), () => huberLoss(pred, target, n, 1.0), { h: 1e-3, atol: 1e-4 });
  bceWithLogitsLoss(pred, labels, n, grad);
  checkGradient('bce', pred, grad.slice(), () => bceWithLogitsLoss(pred, labels, n), { h: 1e-3, atol: 1e-4 });
  mseLoss(pred, target, n, grad);
  checkGradient('mse', pred, grad.slice(), () => mseLoss(pred, target, n), { h: 1e-3, atol: 1e-4 });
});

test('sumOfColumnMeans turns a mean over [batch, G] into the sum of per-column means', () => {
  const pred = Float32Array.from([1, 10, 2, 20]); // batch 2, 2 columns
  const target = new Float32Array(4);
  const grad = new Float32Array(4);
  const total = sumOfColumnMeans(mseLoss(pred, target, 4, grad), 2, grad, 4);
  close(total, (1 + 4) / 2 + (100 + 400) / 2, 1e-4);
  close(grad[1]!, (2 * 10) / 2);
});

test('losses reject bad sizes', () => {
  assert.throws(() => mseLoss(new Float32Array(2), new Float32Array(1), 2), /n = 2/);
  assert.throws(() => huberLoss(new Float32Array(2), new Float32Array(2), 2, 0), /delta/);
});
