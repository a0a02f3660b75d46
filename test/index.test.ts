import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as rliv from '../src/index.js';

test("the library entry point exports every layer's main API", () => {
  for (const name of [
    'gemm',
    'Mlp',
    'MlpGroup',
    'EmbeddingTable',
    'Adam',
    'huberLoss',
    'Rng',
    'softUpdate',
    'saveParams',
    'Environment',
    'computeMetrics',
    'LabelJoiner',
    'ReplayBuffer',
    'createAgent',
    'RlivUaAgent',
    'TrainingRun',
    'runExperiment',
    'threadJobRunner',
    'queueJobRunner',
    'startQueueWorker',
    'runAbTest',
    'startOnlineSystem',
  ]) {
    assert.ok(name in rliv, `rliv exports ${name}`);
  }
});

test('every model of the paper is registered under its exact name', () => {
  assert.deepEqual(
    [...rliv.PAPER_MODEL_ORDER].filter((n) => !(n in rliv.AGENTS)),
    [],
  );
  assert.equal(Object.keys(rliv.AGENTS).length, rliv.PAPER_MODEL_ORDER.length);
});
