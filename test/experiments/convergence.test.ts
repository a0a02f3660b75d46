/**
 * The convergence criterion (src/experiments/convergence.ts) on hand-built
 * curves: flat, rising, noisy (with and without a drift hidden in the
 * noise), a window that skips the early climb, too-short and all-zero
 * curves, and its place in results.json and the report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curveConvergence, meanCurve, seedsConverged } from '../../src/experiments/convergence.js';
import { renderHtmlReport } from '../../src/experiments/report-html.js';
import { renderMarkdownReport } from '../../src/experiments/report-markdown.js';
import { convergenceTable } from '../../src/experiments/report-tables.js';
import { computeFindings } from '../../src/experiments/findings.js';
import { fixtureResults } from './fixtures/results-fixture.js';
import { modelConvergence } from '../../src/experiments/results.js';

const near = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('flat curve with small jitter: converged, the interval brackets 0', () => {
  const c = curveConvergence([50, 50.2, 49.9, 50.1, 49.8, 50.1, 50, 49.9, 50.2, 49.9]);
  assert.equal(c.converged, true, c.reason);
  assert.ok(c.ci95[0] < 0 && c.ci95[1] > 0);
  assert.ok(Math.abs(c.relativeSlope) < 0.01);
  near(c.mean, 50.01);
  assert.equal(c.epochs, 10);
  assert.equal(c.reason, undefined);
});

test('rising curve: not converged, the slope is significantly above 0 (a noiseless line has slope 2 exactly)', () => {
  const line = Array.from({ length: 10 }, (_, e) => 20 + 2 * (e + 1));
  const c = curveConvergence(line);
  assert.equal(c.converged, false);
  near(c.slope, 2);
  near(c.ci95[0], 2);
  near(c.ci95[1], 2);
  assert.match(c.reason!, /significantly above 0/);
  const jittered = curveConvergence(line.map((y, e) => y + (e % 2 ? 0.5 : -0.5)));
  assert.equal(jittered.converged, false);
  assert.ok(jittered.ci95[0] > 0);
});

test('noisy curve around a level: the hand-computed slope (2/33 per epoch, 0.55 % of the mean) is small and not significant: converged', () => {
  // 10, 12, 10, 12, ... over epochs 1..10: Sxy = 5, Sxx = 82.5, slope = 5 / 82.5.
  const c = curveConvergence([10, 12, 10, 12, 10, 12, 10, 12, 10, 12]);
  near(c.slope, 2 / 33);
  near(c.mean, 11);
  near(c.relativeSlope, 2 / 33 / 11);
  assert.ok(c.ci95[0] < 0 && c.ci95[1] > 0);
  assert.equal(c.converged, true);
});

test('noisy curve drifting by 3 per epoch (2.6 % of its level), the drift hidden in the noise: not converged by the size rule', () => {
  const noise = [30, -30, 25, -25, 30, -30, 25, -25, 30, -30];
  const c = curveConvergence(noise.map((n, e) => 100 + 3 * (e + 1) + n));
  assert.ok(c.ci95[0] < 0 && c.ci95[1] > 0, `interval ${c.ci95} brackets 0: not significant`);
  assert.ok(Math.abs(c.relativeSlope) > 0.01);
  assert.equal(c.converged, false);
  assert.match(c.reason!, /% of the mean per epoch \(limit 1.00 %\)/);
});

test('only the last `window` epochs count; too short or non-finite curves are not converged; an all-zero curve is', () => {
  const climbThenFlat = [1, 5, 9, 13, 17, 20, 20.1, 19.9, 20, 20.05, 19.95, 20, 20.1, 19.9, 20];
  assert.equal(curveConvergence(climbThenFlat).converged, true);
  assert.equal(curveConvergence(climbThenFlat, { window: 15 }).converged, false);
  const short = curveConvergence([1, 2, 3]);
  assert.equal(short.converged, false);
  assert.match(short.reason!, /only 3 epoch/);
  assert.equal(curveConvergence([1, 1, 1, 1, 1, 1, 1, 1, 1, NaN]).converged, false);
  const zeros = curveConvergence(new Array(10).fill(0));
  assert.equal(zeros.converged, true);
  assert.equal(zeros.slope, 0);
  assert.throws(() => curveConvergence([1, 2, 3], { window: 2 }), /window must be an integer >= 3/);
});

test('mean curve over seeds and per-seed counts', () => {
  assert.deepEqual(
    meanCurve([
      [1, 2],
      [3, 6],
    ]),
    [2, 4],
  );
  const flat = new Array(10).fill(5);
  const rising = Array.from({ length: 10 }, (_, e) => e);
  assert.equal(seedsConverged([flat, rising, flat]), 2);
});

test('results.json carries a verdict per model and metric; the report shows the table and names the models that are not converged', () => {
  const r = fixtureResults();
  assert.deepEqual(r.convergenceCriterion, { window: 10, maxRelativeSlope: 0.01, confidence: 0.95 });
  for (const m of r.modelOrder) {
    for (const metric of ['sessionLength', 'watchTime', 'ctr', 'diversity', 'newFans'] as const) {
      const e = r.convergence![m]![metric];
      const mean = meanCurve(r.models[m]!.curves[metric]!);
      const direct = curveConvergence(mean, {}, r.models[m]!.curves.epoch);
      assert.equal(e.converged, direct.converged);
      near(e.slope, direct.slope);
      assert.equal(e.seeds, 3);
      assert.ok(e.seedsConverged >= 0 && e.seedsConverged <= 3);
    }
  }
  const t = convergenceTable(r)!;
  assert.equal(t.rows.length, r.modelOrder.length);
  assert.match(t.rows[0]![1]!.text, /^(yes|no): [+-]\d/);
  // Make one model's session-length curve rise: the table says no (bold) and the findings name it.
  r.convergence!.DQN!.sessionLength = { ...r.convergence!.DQN!.sessionLength, converged: false, reason: 'rising' };
  const row = convergenceTable(r)!.rows.find((x) => x[0]!.text === 'DQN')!;
  assert.ok(row[1]!.text.startsWith('no') && row[1]!.bold);
  // The cell says why, from the interval: above 0 = still rising, below = still falling, around 0 = too noisy for the size bound.
  const e = r.convergence!.DQN!.sessionLength;
  for (const [lo, hi, expected] of [
    [0.1, 0.3, 'still rising'],
    [-0.3, -0.1, 'still falling'],
    [-0.1, 0.3, 'too noisy for the size bound'],
  ] as const) {
    r.convergence!.DQN!.sessionLength = { ...e, converged: false, ci95: [lo, hi] };
    const text = convergenceTable(r)!.rows.find((x) => x[0]!.text === 'DQN')![1]!.text;
    assert.ok(text.endsWith(expected), text);
  }
  r.convergence!.DQN!.sessionLength = { ...e, converged: true, ci95: [-0.1, 0.1] };
  assert.ok(!/rising|falling|noisy/.test(convergenceTable(r)!.rows.find((x) => x[0]!.text === 'DQN')![1]!.text));
  r.convergence!.DQN!.sessionLength = e;
  assert.ok(computeFindings(r).some((f) => f.startsWith('Not converged') && f.includes('DQN (Session Length')));
  assert.match(renderHtmlReport(r), /data-table="convergence"/);
  assert.match(renderMarkdownReport(r), /Convergence of the learning curves/);
});

test('with probe curves, convergence is judged on them: an evaluation curve drifting with the panel\'s history does not make a frozen policy "not converged"', () => {
  const epochs = Array.from({ length: 12 }, (_, e) => e + 1);
  const drifting = epochs.map((e) => 10 + 0.5 * e); // 5 % per epoch at the start, the panel's history growing
  const flat = epochs.map(() => 12);
  const metrics = ['sessionLength', 'watchTime', 'ctr', 'diversity', 'newFans'] as const;
  const all = (c: number[]) => Object.fromEntries(metrics.map((m) => [m, [c, c]]));
  const curves = { epoch: epochs, ...all(drifting), probe: all(flat) };
  const verdict = modelConvergence(curves).sessionLength;
  assert.equal(verdict.converged, true);
  assert.equal(verdict.slope, 0);
  assert.equal(verdict.seedsConverged, 2);
  // The same curves without the probe: judged on the evaluation curve, not converged.
  const plain = modelConvergence({ epoch: epochs, ...all(drifting) }).sessionLength;
  assert.equal(plain.converged, false);
  near(plain.slope, 0.5);
  // The report says which curves were read.
  const r = fixtureResults();
  assert.match(convergenceTable({ ...r, convergenceCurves: 'probe' })!.caption, /probe figures/);
  assert.match(convergenceTable({ ...r, convergenceCurves: 'evaluation' })!.caption, /evaluation figures/);
});
