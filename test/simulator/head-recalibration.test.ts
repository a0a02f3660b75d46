import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interceptShift } from '../../src/simulator/head-recalibration.js';
import { interactionLogFromTraces, replayExposures } from '../../src/environment/interaction-log.js';
import {
  BINARY_HEADS,
  HEAD_CLICK,
  HEAD_PLAY_LONG,
  OFFSET_AFTER_CHOSEN,
  OFFSET_BUCKETS,
  OFFSET_RANDOM,
  OFFSET_STANDARD,
  OUTPUT_DIM,
} from '../../src/simulator/learned-simulator.js';
import { allocLoggedBatch, fillBatch, recalibrateHeads, simulatorTrainingOptions, trainSimulatorOnRows } from '../../src/simulator/simulator-training.js';
import { tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const logit = (p: number) => Math.log(p / (1 - p));

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
  const world = tinyWorld();
  const { catalog } = world;
  const log = interactionLogFromTraces(tinySessions(world, 4, 7));
  // Every third request's exposures become the random log (the sources then have their own click shifts).
  const rep0 = replayExposures(log, catalog, { pairCountView: 'session-start' });
  for (let r = 0; r < log.count; r++) log.fromRandomLog[r] = rep0.requestId[r]! % 3 === 0 ? 1 : 0;
  const rep = replayExposures(log, catalog, { pairCountView: 'session-start' });
  const rows = Int32Array.from({ length: log.count }, (_, r) => r);
  const o = simulatorTrainingOptions({ epochs: 1, minSteps: 20, seed: 3, pairCountView: 'session-start', recalibrateHeads: false, shape: { selectionDim: 0 } });
  // Training shuffles the rows it is given: it gets a copy.
  const { simulator: sim } = trainSimulatorOnRows(log, rep, catalog, rows.slice(), o);

  const outputs = (): Float32Array => {
    const out = new Float32Array(log.count * OUTPUT_DIM);
    const batch = allocLoggedBatch(256);
    for (let from = 0; from < log.count; from += 256) {
      const n = Math.min(256, log.count - from);
      fillBatch(log, rep, rows, from, n, batch);
      out.set(sim.forward(batch).subarray(0, n * OUTPUT_DIM), from * OUTPUT_DIM);
    }
    return out;
  };
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
