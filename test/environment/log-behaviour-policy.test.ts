import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { allocInteractionLog } from '../../src/environment/interaction-log.js';
import { exposureBehaviourPolicy, exposureEstimate, standardLogExposures } from '../../src/environment/log-behaviour-policy.js';
import type { PendingRequest } from '../../src/environment/slate-policy.js';
import { tinyCatalog } from './fixtures.js';

test('standardLogExposures counts standard-log rows per item and leaves the random log out', () => {
  const log = allocInteractionLog(8);
  const rows: Array<[item: number, random: number]> = [
    [3, 0],
    [3, 0],
    [5, 0],
    [3, 1],
    [7, 1],
    [0, 0],
  ];
  rows.forEach(([item, random], r) => {
    log.item[r] = item;
    log.fromRandomLog[r] = random;
  });
  log.count = rows.length;
  assert.deepEqual(Array.from(standardLogExposures(log, 8)), [1, 0, 0, 2, 0, 1, 0, 0]);
  log.item[0] = 8;
  assert.throws(() => standardLogExposures(log, 8), /log row 0 has item 8, outside the catalog's 8 items/);
});

test('exposureEstimate is log((1 + n_i) / (1 + mean n)); bad counts are refused', () => {
  const e = exposureEstimate([0, 2, 10]);
  const mean = 4;
  [0, 2, 10].forEach((n, i) => assert.ok(Math.abs(e[i]! - Math.log((1 + n) / (1 + mean))) < 1e-6, `item ${i}: ${e[i]}`));
  assert.throws(() => exposureEstimate([]), /at least one item/);
  assert.throws(() => exposureEstimate([1, -1]), /item 1 must be finite and >= 0, got -1/);
  assert.throws(() => exposureEstimate([1, NaN]), /item 1 must be finite/);
});

test('the stand-in behaviour policy shows what production showed most, and is seeded', () => {
  const catalog = tinyCatalog(4, 4, 5); // 20 items
  const exposures = new Float64Array(20);
  exposures[17] = 50;
  exposures[4] = 30;
  exposures[11] = 20;
  exposures[2] = 1;
  const request = (): PendingRequest => ({
    user: 1,
    timeMs: 0,
    summary: new Float32Array(8),
    candidates: Int32Array.from({ length: 20 }, (_, i) => i),
    candidatePairCounts: new Float32Array(20 * PAIR_COUNT_DIM),
  });
  // Without noise and the other terms, the slate is the three most exposed items, in order.
  const exact = exposureBehaviourPolicy(catalog, exposures, 3, { noiseStd: 0, popularityWeight: 0, followBoost: 0, historyWeight: 0, randomRate: 0 });
  assert.deepEqual(Array.from(exact.chooseSlates([request()], 3)[0]!), [17, 4, 11]);
  // With the production-like defaults (noise, popularity, random slots) the choice is seeded: same seed, same slates.
  const a = exposureBehaviourPolicy(catalog, exposures, 9);
  const b = exposureBehaviourPolicy(catalog, exposures, 9);
  for (let k = 0; k < 5; k++) assert.deepEqual(a.chooseSlates([request()], 6), b.chooseSlates([request()], 6));
  // Over many requests the most exposed item is shown far more often than an item never exposed.
  const shown = new Float64Array(20);
  for (let k = 0; k < 400; k++) for (const i of a.chooseSlates([request()], 6)[0]!) shown[i]!++;
  assert.ok(shown[17]! > 3 * shown[0]!, `item 17 shown ${shown[17]} times, item 0 ${shown[0]}`);
  assert.throws(() => exposureBehaviourPolicy(catalog, new Float64Array(19), 1), /exposures has 19 entries, the catalog 20 items/);
  // A stand-in did not write the logs: a learned simulator answers its choices as unselected (docs/design.md §10.2).
  assert.notEqual(a.wroteTheStandardLog, true);
});
