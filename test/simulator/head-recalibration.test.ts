import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampedPlayMean, interceptShift, playShift } from '../../src/simulator/head-recalibration.js';
import { interactionLogFromTraces, replayExposures, type InteractionLog, type ReplayedExposures } from '../../src/environment/interaction-log.js';
import {
  BINARY_HEADS,
  HEAD_CLICK,
  HEAD_PLAY_LONG,
  HEAD_PLAY_SKIM,
  OFFSET_AFTER_CHOSEN,
  OFFSET_BUCKETS,
  OFFSET_RANDOM,
  OFFSET_STANDARD,
  OUTPUT_DIM,
  classInterval,
  playClass,
} from '../../src/simulator/learned-simulator.js';
import {
  PLAY_CLASSES,
  allocLoggedBatch,
  fillBatch,
  recalibrateHeads,
  recalibratePlay,
  simulatorTrainingOptions,
  trainSimulatorOnRows,
} from '../../src/simulator/simulator-training.js';
import { tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const logit = (p: number) => Math.log(p / (1 - p));

/** The trunk outputs of `sim` for every row of `log` (in row order). */
function outputsOf(sim: ReturnType<typeof trainSimulatorOnRows>['simulator'], log: InteractionLog, rep: ReplayedExposures, rows: Int32Array): Float32Array {
  const out = new Float32Array(log.count * OUTPUT_DIM);
  const batch = allocLoggedBatch(256);
  for (let from = 0; from < log.count; from += 256) {
    const n = Math.min(256, log.count - from);
    fillBatch(log, rep, rows, from, n, batch);
    out.set(sim.forward(batch).subarray(0, n * OUTPUT_DIM), from * OUTPUT_DIM);
  }
  return out;
}

/**
 * A one-epoch simulator without recalibration, fitted on every row of a tiny
 * world's log; with `randomThird`, every third request is the random log.
 */
function fittedTiny(randomThird: boolean) {
  const world = tinyWorld();
  const { catalog } = world;
  const log = interactionLogFromTraces(tinySessions(world, 4, 7));
  if (randomThird) {
    const rep0 = replayExposures(log, catalog, { pairCountView: 'session-start' });
    for (let r = 0; r < log.count; r++) log.fromRandomLog[r] = rep0.requestId[r]! % 3 === 0 ? 1 : 0;
  }
  const rep = replayExposures(log, catalog, { pairCountView: 'session-start' });
  const rows = Int32Array.from({ length: log.count }, (_, r) => r);
  const o = simulatorTrainingOptions({ epochs: 1, minSteps: 20, seed: 3, pairCountView: 'session-start', recalibrateHeads: false, shape: { selectionDim: 0 } });
  // Training shuffles the rows it is given: it gets a copy.
  const { simulator: sim } = trainSimulatorOnRows(log, rep, catalog, rows.slice(), o);
  return { catalog, log, rep, rows, sim };
}

test('interceptShift: the shift that makes the mean probability the observed rate, by hand', () => {
  // Four rows at logit 0 with one click: sigmoid(d) = 1/4, d = ln(1/3).
  assert.ok(Math.abs(interceptShift([0, 0, 0, 0], 4, 1) - Math.log(1 / 3)) < 1e-9);
  // Constant logits z at rate q: d = logit(q) - z.
  const z = new Float32Array(10).fill(-0.7);
  assert.ok(Math.abs(interceptShift(z, 10, 3) - (logit(0.3) + 0.7)) < 1e-6);
  // sigmoid(-1 + d) + sigmoid(1 + d) = 1 at d = 0 (symmetry).
  assert.ok(Math.abs(interceptShift([-1, 1], 2, 1)) < 1e-9);
  // Only the first n rows count.
  assert.ok(Math.abs(interceptShift([0, 0, 5, 5], 2, 1)) < 1e-9);
  // Far-off logits still converge (a model off by 12 logits).
  const far = new Float64Array(50).fill(12);
  assert.ok(Math.abs(interceptShift(far, 50, 10) - (logit(0.2) - 12)) < 1e-6);
  assert.throws(() => interceptShift([0, 0], 2, 0), /strictly between 0 and the 2 rows/);
  assert.throws(() => interceptShift([0, 0], 2, 2), /strictly between/);
  assert.throws(() => interceptShift([0, NaN], 2, 1), /logit of row 1 must be finite/);
  assert.throws(() => interceptShift([0, 0], 3, 1), /needs 1\.\.2 rows/);
});

test('recalibrateHeads: each head (click per log source) then predicts its training rows at their rate; repeat effects and play heads unchanged', () => {
  // Every third request's exposures become the random log (the sources then have their own click shifts).
  const { log, rep, rows, sim } = fittedTiny(true);
  const outputs = (): Float32Array => outputsOf(sim, log, rep, rows);
  const before = outputs();
  const offBefore = Float32Array.from(sim.clickOffsets!.value);
  const shifts = recalibrateHeads(sim, log, rep, rows);
  const after = outputs();

  // Click, per source: mean probability = click rate, and the shift moved every row of that source by it.
  for (const [random, shift] of [
    [1, shifts.click],
    [0, shifts.clickStandard],
  ] as const) {
    assert.ok(Number.isFinite(shift), `a shift for the ${random ? 'random' : 'standard'} log`);
    let n = 0,
      p = 0,
      y = 0;
    for (let r = 0; r < log.count; r++) {
      if (log.fromRandomLog[r] !== random) continue;
      const z = after[r * OUTPUT_DIM + HEAD_CLICK]!;
      assert.ok(
        Math.abs(z - before[r * OUTPUT_DIM + HEAD_CLICK]! - shift) < 1e-4,
        `row ${r} (random ${random}): moved ${z - before[r * OUTPUT_DIM + HEAD_CLICK]!}, shift ${shift}`,
      );
      n++;
      p += 1 / (1 + Math.exp(-z));
      y += log.click[r]!;
    }
    assert.ok(Math.abs(p / n - y / n) < 1e-5, `source ${random}: mean probability ${p / n} vs rate ${y / n}`);
  }
  // Hate reads every row: mean probability = hate rate when the log has any hate; else it is left alone.
  const hates = Array.from(log.hate.subarray(0, log.count)).reduce((a, v) => a + v, 0);
  assert.equal(Number.isFinite(shifts.hate), hates > 0 && hates < log.count);
  // Repeat effects: every bucket of a set moved by the same shift, so the differences between buckets are as fitted.
  const off = sim.clickOffsets!.value;
  for (const [set, shift] of [
    [OFFSET_RANDOM, shifts.click],
    [OFFSET_AFTER_CHOSEN, shifts.click],
    [OFFSET_STANDARD, shifts.clickStandard],
  ] as const) {
    for (let k = 0; k < OFFSET_BUCKETS; k++) {
      const i = sim.offsetIndex(set, 0, 0) + k;
      assert.ok(Math.abs(off[i]! - offBefore[i]! - shift) < 1e-6);
      const t = sim.offsetIndex(set, 1, 0) + k;
      assert.equal(off[t], offBefore[t], 'tag offsets are untouched');
    }
  }
  // Play heads are not binary heads: unchanged.
  for (let r = 0; r < log.count; r++) assert.equal(after[r * OUTPUT_DIM + HEAD_PLAY_LONG], before[r * OUTPUT_DIM + HEAD_PLAY_LONG]);
  assert.deepEqual(Object.keys(shifts).sort(), [...BINARY_HEADS, 'clickStandard'].sort());
});

/** E[clamp(1000 expm1(m + sigma Z), lo, hi)] by the trapezoid rule over z in [-12, 12]. */
function integratedPlayMean(m: number, sigma: number, lo: number, hi: number): number {
  const steps = 200_000;
  const h = 24 / steps;
  let s = 0;
  for (let i = 0; i <= steps; i++) {
    const z = -12 + i * h;
    const v = Math.min(hi, Math.max(lo, 1000 * Math.expm1(m + sigma * z)));
    s += (i === 0 || i === steps ? 0.5 : 1) * v * Math.exp(-0.5 * z * z);
  }
  return (s * h) / Math.sqrt(2 * Math.PI);
}

test('clampedPlayMean: the clamped log-normal mean matches numeric integration, its slope a finite difference', () => {
  for (const [m, sigma, lo, hi] of [
    [1.5, 0.6, 0, 7000], // a skim: most mass above the 7 s ceiling is clamped
    [2.5, 0.5, 7001, 18000], // a click without long view
    [3.4, 0.7, 18001, 120000], // a long view of a 60 s video at maxRatio 2
    [-0.5, 0.8, 0, 7000], // draws below 0 s clamp at 0
  ] as const) {
    const { mean, slope } = clampedPlayMean(m, sigma, lo, hi);
    const want = integratedPlayMean(m, sigma, lo, hi);
    assert.ok(Math.abs(mean - want) < 1e-6 * Math.max(1, want), `m ${m}: ${mean} vs integrated ${want}`);
    const eps = 1e-5;
    const fd = (clampedPlayMean(m + eps, sigma, lo, hi).mean - clampedPlayMean(m - eps, sigma, lo, hi).mean) / (2 * eps);
    assert.ok(Math.abs(slope - fd) < 1e-4 * Math.max(1, Math.abs(fd)), `m ${m}: slope ${slope} vs finite difference ${fd}`);
    assert.ok(mean >= lo && mean <= hi);
  }
  // A degenerate interval is its bound.
  assert.deepEqual(clampedPlayMean(2, 0.5, 5000, 5000), { mean: 5000, slope: 0 });
});

test('playShift: the shift at which the draws have the target mean, by hand and by its equation', () => {
  // Unclamped in effect (lo 0 far below, hi far above): 1000 (e^(m + d + sigma^2/2) - 1) = target, so
  // d = ln(target / 1000 + 1) - m - sigma^2 / 2.
  const sigma = 0.3;
  const d = playShift([4, 4], [0, 0], [1e9, 1e9], 2, sigma, 2 * 30_000);
  assert.ok(Math.abs(d - (Math.log(31) - 4 - sigma ** 2 / 2)) < 1e-7, `shift ${d}`);
  // Clamped rows of mixed intervals: the equation holds at the shift.
  const mu = [1.2, 2.9, 3.6, 2.0],
    lo = [0, 7001, 18001, 0],
    hi = [7000, 18000, 90000, 7000];
  const total = 3000 + 12000 + 40000 + 5000;
  const s = playShift(mu, lo, hi, 4, 0.6, total);
  const sum = mu.reduce((a, m, r) => a + clampedPlayMean(m + s, 0.6, lo[r]!, hi[r]!).mean, 0);
  assert.ok(Math.abs(sum - total) < 1e-6 * total, `sum ${sum} vs ${total}`);
  // Only the first n rows count.
  assert.equal(playShift([4, 99], [0, 0], [1e9, 1], 1, sigma, 30_000), playShift([4], [0], [1e9], 1, sigma, 30_000));
  // Bad input is refused by name.
  assert.throws(() => playShift([1], [0], [7000], 1, 0.5, 7000), /outside what the rows' intervals allow/);
  assert.throws(() => playShift([1], [0], [7000], 1, 0, 100), /positive finite sigma/);
  assert.throws(() => playShift([NaN], [0], [7000], 1, 0.5, 100), /play mean of row 0 must be finite/);
  assert.throws(() => playShift([1], [10], [5], 1, 0.5, 7), /row 0 has the play interval \[10, 5\]/);
  assert.throws(() => playShift([1], [0], [7000], 2, 0.5, 100), /needs 1\.\.1 rows/);
});

test('recalibratePlay: per class, the draws over its training rows then have the rows mean play; only the play heads move', () => {
  const { catalog, log, rep, rows, sim } = fittedTiny(false);
  const outputs = (): Float32Array => outputsOf(sim, log, rep, rows);
  const before = outputs();
  const shifts = recalibratePlay(sim, log, rep, rows);
  const after = outputs();
  const maxRatio = sim.calibration.maxWatchRatio;
  PLAY_CLASSES.forEach((name, cls) => {
    let drawn = 0,
      observed = 0,
      n = 0;
    for (let r = 0; r < log.count; r++) {
      if (playClass(log.click[r]!, log.longView[r]!) !== cls) continue;
      const [lo, hi] = classInterval(cls, catalog.itemDurationMs[log.item[r]!]!, maxRatio);
      if (lo > hi) continue;
      const o = r * OUTPUT_DIM + HEAD_PLAY_SKIM + cls;
      assert.ok(Math.abs(after[o]! - before[o]! - shifts[name]) < 1e-4, `row ${r}: moved by the class's shift`);
      drawn += clampedPlayMean(after[o]!, sim.calibration.playStd[cls]!, lo, hi).mean;
      observed += Math.min(hi, Math.max(lo, log.playTimeMs[r]!));
      n++;
    }
    assert.ok(n > 20, `${n} rows of class ${name}`);
    assert.ok(Math.abs(drawn / observed - 1) < 1e-4, `${name}: draws' mean ${drawn / n} ms vs observed ${observed / n} ms`);
    assert.ok(Math.abs(shifts[name]) > 1e-4, `${name}: a one-epoch fit is off (shift ${shifts[name]})`);
  });
  // The binary heads did not move.
  for (let r = 0; r < log.count; r++) for (let k = 0; k < BINARY_HEADS.length; k++) assert.equal(after[r * OUTPUT_DIM + k], before[r * OUTPUT_DIM + k]);
});
