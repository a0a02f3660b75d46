import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import {
  bootstrapInterval,
  differenceTest,
  holmAdjusted,
  mean,
  normalCdf,
  normalQuantile,
  pairedTTest,
  quantileSorted,
  regularizedIncompleteBeta,
  relativeDelta,
  std,
  studentTCdf,
  studentTQuantile,
  summarize,
  twoSidedTPValue,
  welchTTest,
} from '../../src/experiments/statistics.js';

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected}, got ${actual}`);

test('mean and sample std of a hand-computed case', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  // squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, / (n-1) = 5/3
  close(std([1, 2, 3, 4]), Math.sqrt(5 / 3), 1e-15, 'std');
  assert.equal(std([7]), 0);
  assert.ok(Number.isNaN(mean([])));
});

test('incomplete beta: closed forms I_x(1,1)=x, I_x(a,1)=x^a, I_x(1,b)=1-(1-x)^b', () => {
  close(regularizedIncompleteBeta(0.3, 1, 1), 0.3, 1e-14, 'I(1,1)');
  close(regularizedIncompleteBeta(0.6, 3, 1), 0.216, 1e-14, 'I(3,1)');
  close(regularizedIncompleteBeta(0.2, 1, 4), 1 - 0.8 ** 4, 1e-14, 'I(1,4)');
  assert.throws(() => regularizedIncompleteBeta(0.5, 0, 1), /a, b > 0/);
});

test('Student t CDF matches the closed forms for df = 1 (Cauchy) and df = 2', () => {
  for (const t of [-3, -0.5, 0, 0.7, 2, 8]) {
    close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `df=1 t=${t}`);
    close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-13, `df=2 t=${t}`);
  }
});

test('t and normal quantiles match the printed tables', () => {
  close(studentTQuantile(0.975, 1), 12.706204736, 1e-7, 't(0.975, 1)');
  close(studentTQuantile(0.975, 2), 4.30265273, 1e-8, 't(0.975, 2)');
  close(studentTQuantile(0.975, 5), 2.570581836, 1e-8, 't(0.975, 5)');
  close(studentTQuantile(0.975, 10), 2.228138852, 1e-8, 't(0.975, 10)');
  close(studentTQuantile(0.975, 30), 2.042272456, 1e-8, 't(0.975, 30)');
  close(studentTQuantile(0.025, 10), -2.228138852, 1e-8, 't(0.025, 10)');
  close(normalQuantile(0.975), 1.959963985, 1e-8, 'z(0.975)');
  close(normalCdf(1), 0.841344746, 1e-9, 'Phi(1)');
  close(normalCdf(-2.5), 0.006209665, 1e-9, 'Phi(-2.5)');
});

test('summary: mean, std and the 95 % t-interval of [1,2,3,4]', () => {
  const s = summarize([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.equal(s.n, 4);
  // half width = t(0.975, 3) * sqrt(5/3) / 2 = 3.182446305 * 0.645497224
  const half = (3.182446305 * Math.sqrt(5 / 3)) / 2;
  close(s.ci95[0], 2.5 - half, 1e-8, 'lo');
  close(s.ci95[1], 2.5 + half, 1e-8, 'hi');
});

test('summary of one value has no interval (NaN), not a made-up one', () => {
  const s = summarize([3.5]);
  assert.equal(s.mean, 3.5);
  assert.equal(s.std, 0);
  assert.ok(Number.isNaN(s.ci95[0]) && Number.isNaN(s.ci95[1]));
  assert.throws(() => summarize([1, NaN]), /element 1 is NaN/);
});

test('paired t-test: d = [2,3,3] gives t = 8 on 2 df, p = 1 - 8/sqrt(66)', () => {
  const r = pairedTTest([3, 5, 7], [1, 2, 4]);
  close(r.diff, 8 / 3, 1e-14, 'diff');
  close(r.t, 8, 1e-12, 't');
  assert.equal(r.df, 2);
  assert.equal(r.test, 'paired');
  close(r.pValue, 1 - 8 / Math.sqrt(66), 1e-12, 'p');
  const half = 4.30265273 * (1 / 3);
  close(r.ci95[0], 8 / 3 - half, 1e-8, 'lo');
  close(r.ci95[1], 8 / 3 + half, 1e-8, 'hi');
  assert.throws(() => pairedTTest([1, 2], [1]), /equal length/);
});

test('Welch t-test: Welch–Satterthwaite df = 216/53, p from numerical integration', () => {
  const r = welchTTest([1, 2, 3], [4, 6, 8, 10]);
  close(r.diff, -5, 1e-14, 'diff');
  close(r.t, -5 / Math.SQRT2, 1e-12, 't');
  close(r.df, 216 / 53, 1e-12, 'df');
  // 2 * integral of the t(216/53) density from 5/sqrt(2) to infinity (trapezoid, 4e6 points).
  close(r.pValue, 0.0233767695, 1e-7, 'p');
  assert.equal(r.test, 'welch');
});

test('differenceTest pairs by seed only when the seeds agree', () => {
  assert.equal(differenceTest([1, 2, 4], [0, 1, 1], [1, 2, 3], [1, 2, 3]).test, 'paired');
  assert.equal(differenceTest([1, 2, 4], [0, 1, 1], [1, 2, 3], [1, 2, 4]).test, 'welch');
  assert.equal(differenceTest([1, 2, 4], [0, 1]).test, 'welch');
});

test('two-sided p-value: df=1 closed form and degenerate cases', () => {
  close(twoSidedTPValue(1, 1), 0.5, 1e-13, 'p(t=1, df=1)');
  const same = pairedTTest([1, 2, 3], [1, 2, 3]);
  assert.equal(same.diff, 0);
  assert.equal(same.pValue, 1);
});

test('relative delta: ratio of means, delta-method interval and the p-value of the same z', () => {
  const control = [10, 12, 8, 10];
  const treatment = [11, 13, 9, 11];
  const r = relativeDelta(treatment, control);
  close(r.delta, 0.1, 1e-14, 'delta');
  // Var(T̄) = (8/3)/4, Var(C̄) = (8/3)/4, C̄ = 10, T̄ = 11
  const se = Math.sqrt(2 / 3 / 100 + (121 * (2 / 3)) / 10000);
  close(r.ci95[0], 0.1 - 1.959963985 * se, 1e-8, 'lo');
  close(r.ci95[1], 0.1 + 1.959963985 * se, 1e-8, 'hi');
  // se = sqrt(0.0066667 + 0.0080667) = 0.121381, z = 0.1 / se = 0.82385: p = 2 (1 - Phi(0.82385)) = 0.4100
  close(r.pValue, 2 * normalCdf(-0.1 / se), 1e-12, 'p');
  close(r.pValue, 0.41, 1e-3, 'p value (normal table)');
  assert.ok(Number.isNaN(relativeDelta([1], [0, 0]).delta));
});

test('relative delta: the 95 % interval excludes 0 exactly when p < 0.05', () => {
  const rng = new Rng(21);
  let significant = 0;
  for (let trial = 0; trial < 300; trial++) {
    const lift = rng.uniformRange(-0.4, 0.4);
    const n = 20 + rng.int(200);
    const control = Array.from({ length: n }, () => Math.max(0, 10 + 6 * rng.normal()));
    const treatment = Array.from({ length: n }, () => Math.max(0, 10 * (1 + lift) + 6 * rng.normal()));
    const r = relativeDelta(treatment, control);
    const excludesZero = r.ci95[0] > 0 || r.ci95[1] < 0;
    assert.equal(excludesZero, r.pValue < 0.05, `trial ${trial}: ci [${r.ci95}], p ${r.pValue}`);
    if (excludesZero) significant++;
  }
  assert.ok(significant > 30 && significant < 270, `both outcomes occur (${significant} significant of 300)`);
});

test('relative delta when the treatment bucket is all zeros: Welch interval over C̄, not a zero-width one', () => {
  const r = relativeDelta([0, 0, 0, 0], [1, 0, 2, 1]);
  assert.equal(r.delta, -1);
  const w = welchTTest([0, 0, 0, 0], [1, 0, 2, 1]);
  close(r.ci95[0], w.ci95[0] / 1, 1e-12, 'lo');
  close(r.ci95[1], w.ci95[1] / 1, 1e-12, 'hi');
  assert.ok(r.ci95[1] - r.ci95[0] > 0.5);
  assert.ok(r.pValue > 0.05 && r.pValue < 0.2, `p ${r.pValue}`);
});

test('bootstrap is seeded and brackets the mean; quantiles interpolate like numpy', () => {
  const xs = [1, 3, 2, 5, 4, 6, 2, 3];
  const a = bootstrapInterval(xs, new Rng(7), 500);
  const b = bootstrapInterval(xs, new Rng(7), 500);
  assert.deepEqual(a, b);
  assert.ok(a[0] < mean(xs) && mean(xs) < a[1]);
  assert.ok(a[0] >= 1 && a[1] <= 6);
  close(quantileSorted([1, 2, 3, 4], 0.5), 2.5, 0, 'median');
  close(quantileSorted([1, 2, 3, 4], 0.25), 1.75, 1e-15, 'q25');
});

test('holmAdjusted: step-down adjusted p-values by hand, in the input order', () => {
  // Sorted 0.01, 0.02, 0.03, 0.04 of m = 4: 4*0.01 = 0.04, 3*0.02 = 0.06, 2*0.03 = 0.06, 1*0.04 = 0.04 -> running max 0.04, 0.06, 0.06, 0.06.
  const adj = holmAdjusted([0.03, 0.01, 0.04, 0.02]);
  const expected = [0.06, 0.04, 0.06, 0.06];
  adj.forEach((p, i) => assert.ok(Math.abs(p - expected[i]!) < 1e-12, `${i}: ${p} != ${expected[i]}`));
  // Capped at 1; a single test is unchanged; NaN stays NaN and is not counted in m.
  assert.deepEqual(holmAdjusted([0.5, 0.9]), [1, 1]);
  assert.deepEqual(holmAdjusted([0.03]), [0.03]);
  const withNaN = holmAdjusted([0.01, NaN, 0.02]);
  assert.ok(Math.abs(withNaN[0]! - 0.02) < 1e-12 && Number.isNaN(withNaN[1]!) && Math.abs(withNaN[2]! - 0.02) < 1e-12);
  // 45 pairs: the smallest p needs p < 0.05 / 45 to stay significant.
  const many = Array.from({ length: 45 }, (_, i) => (i === 0 ? 0.035 : 0.5));
  assert.ok(holmAdjusted(many)[0]! > 0.05);
  assert.throws(() => holmAdjusted([1.5]), /p-value 0 must be in \[0, 1\]/);
});
