/**
 * The selection model (src/simulator/selection-model.ts): on a log where
 * the logging policy's choice is known by construction, the fitted r ranks
 * each user's chosen authors first; early stopping keeps the best pass;
 * the fit is reproducible from its seed; bad options fail clearly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import { fitSelectionModel, type SelectionRows } from '../../src/simulator/selection-model.js';
import { tinyCatalog } from '../helpers/tiny-world.js';

const catalog = tinyCatalog();

/**
 * Users with an even id are shown (standard log) only items of even
 * authors, odd users only odd authors; the random log shows uniform items
 * to everyone. Returns the rows and a split by row index.
 */
function parityLog(rows: number, seed: number): { log: SelectionRows; train: Int32Array; validation: Int32Array } {
  const rng = new Rng(seed);
  const user = new Int32Array(rows),
    item = new Int32Array(rows),
    fromRandomLog = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const u = rng.int(catalog.numUsers);
    user[r] = u;
    if (rng.uniform() < 0.3) {
      fromRandomLog[r] = 1;
      item[r] = rng.int(catalog.numItems);
      continue;
    }
    let i: number;
    do i = rng.int(catalog.numItems);
    while (catalog.itemAuthor[i]! % 2 !== u % 2);
    item[r] = i;
  }
  const all = Int32Array.from({ length: rows }, (_, r) => r);
  return { log: { user, item, fromRandomLog }, train: all.filter((r) => r % 10 !== 0), validation: all.filter((r) => r % 10 === 0) };
}

test("the fitted selection model ranks the authors each user's logging policy chose above the others, on held-out pairs", () => {
  assert.ok(catalog.numAuthors >= 4, 'the tiny catalog has authors of both parities');
  const { log, train, validation } = parityLog(20_000, 1);
  const fit = fitSelectionModel(log, catalog, train, validation, { dim: 4, seed: 3, maxEpochs: 30 });
  // Every user, every item: items of the user's parity score higher on average, for almost every user.
  let usersRight = 0;
  for (let u = 0; u < catalog.numUsers; u++) {
    let same = 0,
      sameN = 0,
      other = 0,
      otherN = 0;
    for (let i = 0; i < catalog.numItems; i++) {
      const r = fit.model.logit(u, i);
      if (catalog.itemAuthor[i]! % 2 === u % 2) {
        same += r;
        sameN++;
      } else {
        other += r;
        otherN++;
      }
    }
    if (same / sameN > other / otherN + 1) usersRight++;
  }
  assert.ok(usersRight >= 0.95 * catalog.numUsers, `${usersRight} of ${catalog.numUsers} users rank their parity first by a margin`);
  // Standard against random on held-out rows: a random item has the right parity half the time, so the AUC is well above 0.5 but below 1.
  assert.ok(fit.validationAuc > 0.7 && fit.validationAuc < 0.9, `validation AUC ${fit.validationAuc}`);
  // Early stopping: the kept pass has the lowest validation loss, and training stopped one pass after it (or at the cap).
  const best = Math.min(...fit.validationLoss);
  assert.equal(fit.validationLoss[fit.bestEpoch - 1], best);
  assert.ok(fit.epochs === fit.bestEpoch + 1 || fit.epochs === 30, `ran ${fit.epochs} passes, kept ${fit.bestEpoch}`);
});

test('the same seed gives the same selection model; another seed another', () => {
  const { log, train, validation } = parityLog(3000, 2);
  const a = fitSelectionModel(log, catalog, train, validation, { dim: 3, seed: 5, maxEpochs: 3 });
  const b = fitSelectionModel(log, catalog, train, validation, { dim: 3, seed: 5, maxEpochs: 3 });
  const c = fitSelectionModel(log, catalog, train, validation, { dim: 3, seed: 6, maxEpochs: 3 });
  assert.deepEqual(a.model.table.value, b.model.table.value);
  assert.notDeepEqual(a.model.table.value, c.model.table.value);
});

test('bad selection options and empty training rows fail with the option named', () => {
  const { log, train, validation } = parityLog(100, 3);
  assert.throws(() => fitSelectionModel(log, catalog, train, validation, { dim: 0, seed: 1 }), /selection model's dim must be a positive integer, got 0/);
  assert.throws(() => fitSelectionModel(log, catalog, train, validation, { dim: 2, seed: 1, maxEpochs: 0 }), /maxEpochs must be a positive integer, got 0/);
  assert.throws(() => fitSelectionModel(log, catalog, train, validation, { dim: 2, seed: 1, negatives: -1 }), /negatives must be an integer >= 0, got -1/);
  assert.throws(() => fitSelectionModel(log, catalog, new Int32Array(0), validation, { dim: 2, seed: 1 }), /needs at least one training row/);
});
