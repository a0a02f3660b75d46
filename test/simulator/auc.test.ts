import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logLoss, rocAuc } from '../../src/simulator/auc.js';

test('ROC AUC and log-loss on hand-computed cases', () => {
  assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.equal(rocAuc([0.5, 0.5], [0, 1]), 0.5);
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [1, 1])));
  assert.ok(Math.abs(logLoss([0.5, 0.9], [1, 0]) - (Math.log(2) + Math.log(10)) / 2) < 1e-12);
});
