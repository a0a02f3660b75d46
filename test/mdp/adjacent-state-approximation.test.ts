import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjacentState, asaDelta, applyAsaDelta, AsaSampleBuilder } from '../../src/mdp/adjacent-state-approximation.js';
import { allocSampleBatch, towerRewards, OUTCOME_DIM } from '../../src/mdp/scri-mdp.js';
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW, PC_GIFT, PC_LIKE, PC_WATCH_TIME, TOWER_COUNT } from '../../src/data/interaction-kinds.js';
import type { JoinedInteraction } from '../../src/mdp/label-joiner.js';
import { Rng } from '../../src/numeric/rng.js';

test('ASA hand-computed case: click + 30 s watch + follow on a pair that already follows', () => {
  const counts = Float32Array.from([2, 1, 0, 1, 0, 3, 40]);
  const outcome = Float32Array.from([1, 0, 0, 1, 0, 0, 30]);
  const next = new Float32Array(PAIR_COUNT_DIM);
  adjacentState(counts, 0, outcome, 0, next, 0);
  assert.deepEqual(Array.from(next), [3, 1, 0, 1, 0, 3, 70]);
});

test('ASA invariant (randomized): increments exactly the positive counts; watch adds seconds; follow is a flag', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 2000; trial++) {
    const counts = new Float32Array(PAIR_COUNT_DIM);
    const outcome = new Float32Array(OUTCOME_DIM);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) {
      counts[k] = k === PC_FOLLOW ? rng.int(2) : k === PC_WATCH_TIME ? rng.uniform() * 500 : rng.int(20);
      outcome[k] = rng.bernoulli(0.4) ? (k === PC_WATCH_TIME ? rng.uniform() * 60 : k === PC_GIFT ? 1 + rng.int(100) : 1) : 0;
    }
    const next = new Float32Array(PAIR_COUNT_DIM);
    adjacentState(counts, 0, outcome, 0, next, 0);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) {
      if (outcome[k]! <= 0) assert.equal(next[k], counts[k], `kind ${k} unchanged without a positive signal`);
      else if (k === PC_WATCH_TIME) assert.equal(next[k], Math.fround(counts[k]! + outcome[k]!));
      else if (k === PC_FOLLOW) assert.equal(next[k], 1);
      else assert.equal(next[k], counts[k]! + 1, `kind ${k} incremented by exactly 1 (gift counts gifts, not amounts)`);
    }
    // the delta form gives the same next state
    const viaDelta = counts.slice();
    const delta = new Float32Array(PAIR_COUNT_DIM);
    asaDelta(outcome, 0, delta, 0);
    applyAsaDelta(viaDelta, 0, delta, 0);
    assert.deepEqual(viaDelta, next);
    // in place gives the same result
    const inPlace = counts.slice();
    adjacentState(inPlace, 0, outcome, 0, inPlace, 0);
    assert.deepEqual(inPlace, next);
  }
});

test('tower rewards: click 0/1, watch log1p(s), follow 0/1, gift flag or log1p(amount)', () => {
  const outcome = new Float32Array(OUTCOME_DIM);
  outcome[PC_CLICK] = 1;
  outcome[PC_WATCH_TIME] = 20;
  outcome[PC_GIFT] = 9;
  outcome[PC_LIKE] = 1;
  const r = new Float32Array(TOWER_COUNT);
  towerRewards(outcome, 0, r, 0);
  assert.deepEqual(Array.from(r), [1, Math.fround(Math.log1p(20)), 0, 1]);
  towerRewards(outcome, 0, r, 0, { giftReward: 'log1pAmount' });
  assert.equal(r[3], Math.fround(Math.log1p(9)));
  towerRewards(new Float32Array(OUTCOME_DIM), 0, r, 0);
  assert.deepEqual(Array.from(r), [0, 0, 0, 0]);
});

test("AsaSampleBuilder writes (s, a, r, s') rows with the assistance label and padded features", () => {
  const b = new AsaSampleBuilder();
  const batch = allocSampleBatch(2, 3, 2);
  const rec: JoinedInteraction = {
    requestId: 'r',
    user: 4,
    item: 9,
    author: 2,
    timeMs: 123,
    userFeatures: Int32Array.from([5, 6]),
    itemFeatures: Int32Array.from([7, 8, 9]),
    pairCounts: Float32Array.from([1, 0, 0, 0, 0, 0, 10]),
    outcome: Float32Array.from([1, 0, 0, 0, 0, 2, 5]),
    feedbackCount: 3,
    closedBy: 'window',
  };
  assert.ok(b.append(rec, batch));
  assert.equal(batch.count, 1);
  assert.deepEqual(Array.from(batch.userFeatures.subarray(0, 3)), [5, 6, 0]);
  assert.deepEqual(Array.from(batch.itemFeatures.subarray(0, 2)), [7, 8]);
  assert.deepEqual(Array.from(batch.pairCounts.subarray(0, 7)), [1, 0, 0, 0, 0, 0, 10]);
  assert.deepEqual(Array.from(batch.nextPairCounts.subarray(0, 7)), [2, 0, 0, 0, 0, 1, 15]);
  assert.deepEqual(Array.from(batch.rewards.subarray(0, 4)), [1, Math.fround(Math.log1p(5)), 0, 1]);
  assert.equal(batch.giftLabel[0], 1);
  assert.equal(batch.item[0], 9);
  assert.equal(batch.timeMs[0], 123);
  assert.ok(b.append(rec, batch));
  assert.equal(b.append(rec, batch), false, 'full batch refuses, writes nothing');
  assert.equal(batch.count, 2);
});
