import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseFusionWeight, fuseScores, FusedRanker, FUSION_WEIGHT_GRID } from '../../src/agents/score-fusion.js';
import { createAgent } from '../../src/agents/registry.js';
import type { RankRequest } from '../../src/agents/ranker.js';
import { requestsOf, tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `element ${i}: ${a[i]} vs ${b[i]}`);
};

test('fuseScores on a hand-built request: base + w x sd(base) x z(LIV)', () => {
  // base [2, 1, 0]: sd sqrt(2/3); LIV [10, 30, 20]: mean 20, sd sqrt(200/3), z = [-sqrt(3/2), +sqrt(3/2), 0].
  const base = [2, 1, 0];
  const liv = [10, 30, 20];
  const out = new Float32Array(3);
  fuseScores(base, liv, 3, 0.5, out);
  // w * sd(base) * z = 0.5 * sqrt(2/3) * sqrt(3/2) * [-1, 1, 0] = [-0.5, 0.5, 0].
  close(out, [1.5, 1.5, 0]);
  fuseScores(base, liv, 3, 2, out);
  close(out, [0, 3, 0]);
  // w = 0 is the production ranking, exactly.
  fuseScores(base, liv, 3, 0, out);
  assert.deepEqual(Array.from(out), base);
  // The fused order is the order of z(base) + w z(LIV), whatever the base's scale and offset.
  const shifted = base.map((b) => 1000 + 7 * b);
  const a = new Float32Array(3);
  fuseScores(shifted, liv, 3, 0.8, a);
  const zb = [1.224744871, 0, -1.224744871];
  const zl = [-1.224744871, 1.224744871, 0];
  const ref = zb.map((x, i) => x + 0.8 * zl[i]!);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) assert.equal(a[i]! > a[j]!, ref[i]! > ref[j]!, `pair ${i}, ${j}`);
});

test('fuseScores: a constant LIV adds nothing; a constant base takes the LIV in units of 1; bad input is named', () => {
  const out = new Float32Array(3);
  fuseScores([3, 1, 2], [5, 5, 5], 3, 4, out);
  assert.deepEqual(Array.from(out), [3, 1, 2]);
  fuseScores([1, 1, 1], [0, 2, 4], 3, 1, out);
  close(out, [1 - 1.224744871, 1, 1 + 1.224744871]);
  assert.throws(() => fuseScores([1, NaN], [0, 1], 2, 1, out), /base score of candidate 1 is NaN/);
  assert.throws(() => fuseScores([1, 2], [0, Infinity], 2, 1, out), /LIV score of candidate 1 is Infinity/);
  assert.throws(() => fuseScores([1, 2], [0, 1], 2, -0.1, out), /fusion weight must be a finite number in \[0, 1000000\], got -0.1/);
  assert.throws(() => fuseScores([1, 2], [0, 1], 2, NaN, out), /fusion weight/);
});

/**
 * One request, K = 1, three candidates: base [2, 1, 0], LIV [0, 2, 3],
 * P(click) [0.5, 0.49, 0.1]. With sd(base) = sqrt(2/3) and z(LIV) =
 * [-1.336, 0.267, 1.069]: fused = [2 - 1.091 w, 1 + 0.218 w, 0.873 w], so the
 * top item is 0 for w < 0.764, item 1 for 0.764 < w < 1.528, item 2 above.
 * Kept click rate: 100 % up to w = 0.75, 98 % at 1 and 1.5, 20 % from 2 on.
 */
const KNOWN = [{ base: Float32Array.of(2, 1, 0), liv: Float32Array.of(0, 2, 3), clickProbability: Float32Array.of(0.5, 0.49, 0.1) }];

test('the weight rule on a case with a known answer', () => {
  const choice = chooseFusionWeight(KNOWN, { k: 1 });
  assert.deepEqual(
    choice.retention.map((r) => r.weight),
    FUSION_WEIGHT_GRID,
  );
  const kept = [1, 1, 1, 1, 1, 1, 1, 0.98, 0.98, 0.2, 0.2, 0.2];
  close(
    choice.retention.map((r) => r.keptClickRate),
    kept,
    1e-6,
  );
  assert.equal(choice.weight, 1.5, 'the largest grid weight keeping >= 97 %');
  assert.equal(chooseFusionWeight(KNOWN, { k: 1, keep: 0.99 }).weight, 0.75);
  assert.equal(chooseFusionWeight(KNOWN, { k: 1, keep: 0.2 }).weight, 5);
  // K = 2: w <= 0.75 keeps {0, 1} (0.99); item 2 enters at w > 1.018 (0.6 / 0.99).
  const k2 = chooseFusionWeight(KNOWN, { k: 2, grid: [0, 0.75, 1, 1.5] });
  close(
    k2.retention.map((r) => r.keptClickRate),
    [1, 1, 1, 0.59 / 0.99],
    1e-6,
  );
  assert.equal(k2.weight, 1);
  // Summed over requests, not averaged per request: a second request that any w keeps at 100 % dilutes the loss.
  const steady = { base: Float32Array.of(1, 0), liv: Float32Array.of(1, 0), clickProbability: Float32Array.of(0.3, 0.1) };
  const both = chooseFusionWeight([KNOWN[0]!, steady], { k: 1, grid: [0, 2] });
  close(
    both.retention.map((r) => r.keptClickRate),
    [1, (0.1 + 0.3) / (0.5 + 0.3)],
    1e-6,
  );
  assert.equal(both.requests, 2);
});

test('the weight rule: no requests or no predicted clicks give 0; bad options are named', () => {
  assert.equal(chooseFusionWeight([], { k: 6 }).weight, 0);
  const noClicks = [{ ...KNOWN[0]!, clickProbability: new Float32Array(3) }];
  assert.equal(chooseFusionWeight(noClicks, { k: 1 }).weight, 0);
  assert.throws(() => chooseFusionWeight(KNOWN, { k: 0 }), /k must be an integer >= 1/);
  assert.throws(() => chooseFusionWeight(KNOWN, { k: 1, keep: 1.2 }), /keep must be in \(0, 1\]/);
  assert.throws(() => chooseFusionWeight(KNOWN, { k: 1, grid: [0.1, 1] }), /must start at 0/);
  assert.throws(() => chooseFusionWeight(KNOWN, { k: 1, grid: [0, 2, 1] }), /ascending/);
  assert.throws(() => chooseFusionWeight([{ ...KNOWN[0]!, liv: new Float32Array(2) }], { k: 1 }), /3 base scores, 2 LIV scores/);
});

test('FusedRanker: scores = fuseScores of its models, both learn, save/load round trip, bad bytes change nothing', () => {
  const world = tinyWorld();
  const sessions = tinySessions(world, 2, 1);
  const requests: RankRequest[] = requestsOf(tinySessions(world, 1, 9)).slice(0, 20);
  const make = () =>
    new FusedRanker(
      createAgent('RankingModel', { catalog: world.catalog, seed: 3 }, { batchSize: 64, embeddingRows: 4096 }),
      createAgent('RLIV-UA', { catalog: world.catalog, seed: 3 }, { batchSize: 64, embeddingRows: 4096, minReplaySize: 16 }),
      0.7,
    );
  const fused = make();
  assert.equal(fused.name, 'RLIV-UA');
  assert.equal(fused.towerLiv, fused.liv.towerLiv);
  fused.observe(sessions);
  const stats = fused.train(5);
  assert.equal(stats.steps, 5);
  assert.ok(
    Object.keys(stats.losses).some((k) => k.startsWith('base.')) && Object.keys(stats.losses).some((k) => k.startsWith('liv.')),
    JSON.stringify(stats.losses),
  );
  const scoresOf = (r: ReturnType<typeof make>) =>
    requests.map((q) => {
      const out = new Float32Array(q.candidates.length);
      r.score(q, out);
      return out;
    });
  const got = scoresOf(fused);
  requests.forEach((q, i) => {
    const n = q.candidates.length;
    const b = new Float32Array(n);
    const l = new Float32Array(n);
    fused.base.score(q, b);
    fused.liv.score(q, l);
    const want = new Float32Array(n);
    fuseScores(b, l, n, 0.7, want);
    assert.deepEqual(got[i], want);
  });
  const bytes = fused.save();
  const other = make();
  other.setWeight(0.1);
  other.load(bytes);
  assert.equal(other.weight, 0.7);
  assert.deepEqual(scoresOf(other), got);
  const bad = bytes.slice();
  bad[bad.length - 3]! ^= 0xff;
  const fresh = make();
  const before = scoresOf(fresh);
  assert.throws(() => fresh.load(bad));
  assert.deepEqual(scoresOf(fresh), before, 'a failed load changes neither model');
  assert.throws(() => fresh.load(bytes.subarray(0, 30)), /sections hold|runs past/);
  assert.throws(() => fresh.setWeight(-1), /fusion weight/);
  assert.equal(fresh.weight, 0.7);
});
