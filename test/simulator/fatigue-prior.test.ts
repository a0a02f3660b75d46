import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replayExposures } from '../../src/environment/interaction-log.js';
import { nonIncreasingFatigue } from '../../src/simulator/fatigue-prior.js';
import { LearnedSimulator, OFFSET_BUCKETS, OFFSET_RANDOM } from '../../src/simulator/learned-simulator.js';
import { applyFatiguePrior, chanceRepeatRows } from '../../src/simulator/simulator-training.js';
import { tinyCatalog } from '../helpers/tiny-world.js';
import { sessionLog } from '../helpers/session-log.js';

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

test('applyFatiguePrior projects the random log set of both kinds and nothing else; a fatigueFrom all simulator is untouched', () => {
  const catalog = tinyCatalog();
  const sim = new LearnedSimulator(catalog, { embeddingRows: 1 << 10, hidden: [4] }, 3);
  const off = sim.clickOffsets!.value;
  for (let i = 0; i < off.length; i++) off[i] = ((i * 7) % 5) * 0.1 - 0.2;
  const before = Float32Array.from(off);
  const rows: [Float64Array, Float64Array] = [new Float64Array(OFFSET_BUCKETS), new Float64Array(OFFSET_BUCKETS)];
  rows[0].set([5000, 900, 400, 250, 30]);
  rows[1].set([8000, 3000]);
  applyFatiguePrior(sim, rows);
  for (const kind of [0, 1]) {
    const start = sim.offsetIndex(OFFSET_RANDOM, kind, 0);
    const expected = nonIncreasingFatigue(before.subarray(start, start + OFFSET_BUCKETS), rows[kind]!);
    for (let b = 0; b < OFFSET_BUCKETS; b++) assert.equal(off[start + b], expected[b]);
    for (let b = 1; b < OFFSET_BUCKETS; b++) assert.ok(off[start + b]! <= off[start + b - 1]!, 'non-increasing');
  }
  // The standard-log and after-chosen sets keep their fitted values.
  for (let i = 2 * OFFSET_BUCKETS; i < off.length; i++) assert.equal(off[i], before[i]);
  const all = new LearnedSimulator(catalog, { embeddingRows: 1 << 10, hidden: [4], fatigueFrom: 'all' }, 3);
  all.clickOffsets!.value.set(before.subarray(0, all.clickOffsets!.value.length));
  applyFatiguePrior(all, rows);
  assert.deepEqual(Array.from(all.clickOffsets!.value), Array.from(before.subarray(0, all.clickOffsets!.value.length)));
});

test('chanceRepeatRows counts random-log rows whose earlier exposures of the author (tag) in the session were all random', () => {
  const catalog = tinyCatalog();
  // Another item of item 0's author.
  const a = (i: number) => catalog.itemAuthor[i]!;
  const sameAuthor = [...Array(catalog.numItems).keys()].filter((i) => i !== 0 && a(i) === a(0))[0]!;
  // One session: standard (item 0), random (sameAuthor), random (item 0 again).
  const log = sessionLog([
    [0, 1000, 0],
    [sameAuthor, 2000, 1],
    [0, 3000, 1],
  ]);
  const rep = replayExposures(log, catalog);
  const [author] = chanceRepeatRows(log, rep, Int32Array.of(0, 1, 2));
  // Rows 1 and 2 repeat author a(0), which the standard request chose: neither counts; the standard row never does.
  assert.equal(
    author.reduce((s, x) => s + x, 0),
    0,
  );
  // Without the standard request, row 1 is a first exposure (bucket 0) and row 2 a repeat by chance (bucket 1).
  const onlyRandom = Int32Array.of(1, 2);
  log.fromRandomLog[0] = 1;
  const rep2 = replayExposures(log, catalog);
  const [author2] = chanceRepeatRows(log, rep2, onlyRandom);
  assert.deepEqual(Array.from(author2.subarray(0, 3)), [0, 1, 1]);
});
