import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_EXPLORATION, explorationAtEpoch, GREEDY, SlateSelector, validateExploration } from '../../src/agents/exploration.js';
import { Rng } from '../../src/numeric/rng.js';

const scores = Float32Array.from([0.1, 0.9, 0.5, 0.9, -2, 0.7]);

test('greedy picks the top K in score order, ties to the lower index, and draws nothing', () => {
  const sel = new SlateSelector();
  const out = new Int32Array(4);
  const rng = new Rng(1);
  const before = rng.getState();
  sel.select(scores, 6, 4, GREEDY, rng, out);
  assert.deepEqual(Array.from(out), [1, 3, 5, 2]);
  assert.deepEqual(rng.getState(), before);
});

test('epsilon-greedy with epsilon 1 is uniform over slates; epsilon 0 is greedy', () => {
  const sel = new SlateSelector();
  const out = new Int32Array(1);
  const rng = new Rng(2);
  const counts = new Array(6).fill(0);
  const draws = 60000;
  for (let t = 0; t < draws; t++) {
    sel.select(scores, 6, 1, { kind: 'epsilon-greedy', epsilon: 1, temperature: 1 }, rng, out);
    counts[out[0]!]++;
  }
  // Each candidate ~ 1/6; 5 standard deviations of a binomial proportion.
  const sd = Math.sqrt(((1 / 6) * (5 / 6)) / draws);
  for (const c of counts) assert.ok(Math.abs(c / draws - 1 / 6) < 5 * sd, `share ${c / draws}`);
  const slate = new Int32Array(6);
  sel.select(scores, 6, 6, { kind: 'epsilon-greedy', epsilon: 1, temperature: 1 }, rng, slate);
  assert.deepEqual(Array.from(slate).sort(), [0, 1, 2, 3, 4, 5], 'a slate never repeats a candidate');
  sel.select(scores, 6, 3, { kind: 'epsilon-greedy', epsilon: 0, temperature: 1 }, rng, slate);
  assert.deepEqual(Array.from(slate.subarray(0, 3)), [1, 3, 5]);
});

test('softmax first pick follows exp(s / (T * std)) and is scale-free', () => {
  const s = Float32Array.from([0, 1, 2]);
  const mean = 1;
  const std = Math.sqrt(((0 - mean) ** 2 + 0 + (2 - mean) ** 2) / 3);
  const w = [0, 1, 2].map((x) => Math.exp(x / std));
  const total = w.reduce((a, b) => a + b, 0);
  const sel = new SlateSelector();
  const out = new Int32Array(1);
  for (const scale of [1, 1000]) {
    const scaled = Float32Array.from(s, (x) => x * scale);
    const rng = new Rng(3);
    const counts = [0, 0, 0];
    const draws = 60000;
    for (let t = 0; t < draws; t++) {
      sel.select(scaled, 3, 1, { kind: 'softmax', epsilon: 0, temperature: 1 }, rng, out);
      counts[out[0]!]!++;
    }
    for (let i = 0; i < 3; i++) {
      const p = w[i]! / total;
      const sd = Math.sqrt((p * (1 - p)) / draws);
      assert.ok(Math.abs(counts[i]! / draws - p) < 5 * sd, `scale ${scale} candidate ${i}: ${counts[i]! / draws} vs ${p}`);
    }
  }
});

test('same seed gives the same slates; NaN scores are rejected', () => {
  const a = new Int32Array(3);
  const b = new Int32Array(3);
  const setting = { kind: 'softmax' as const, epsilon: 0, temperature: 0.5 };
  new SlateSelector().select(scores, 6, 3, setting, new Rng(9), a);
  new SlateSelector().select(scores, 6, 3, setting, new Rng(9), b);
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.throws(() => new SlateSelector().select(Float32Array.from([1, NaN]), 2, 1, GREEDY, new Rng(1), a), /candidate 1 is NaN/);
  assert.throws(() => new SlateSelector().select(scores, 6, 7, GREEDY, new Rng(1), new Int32Array(7)), /slate size k=7/);
});

test('epsilon and temperature decay linearly and validation names the field', () => {
  const opts = { ...DEFAULT_EXPLORATION, epsilon: 0.3, epsilonFinal: 0.1, decayEpochs: 4 };
  assert.ok(Math.abs(explorationAtEpoch(opts, 0).epsilon - 0.3) < 1e-12);
  assert.ok(Math.abs(explorationAtEpoch(opts, 2).epsilon - 0.2) < 1e-12);
  assert.ok(Math.abs(explorationAtEpoch(opts, 10).epsilon - 0.1) < 1e-12);
  assert.throws(() => validateExploration({ ...opts, epsilon: 1.5 }), /exploration\.epsilon must be in \[0, 1\]/);
  assert.throws(() => validateExploration({ ...opts, kind: 'boltzmann' as never }), /exploration\.kind/);
});

test('RankerPolicy scores each request with the ranker, exposes the top K greedily, flags random positions, rejects NaN scores', async () => {
  const { RankerPolicy } = await import('../../src/agents/ranker-policy.js');
  const ranker = {
    name: 'ById',
    towerLiv: null,
    nan: false,
    score(req: { candidates: Int32Array }, out: Float32Array) {
      for (let i = 0; i < req.candidates.length; i++) out[i] = this.nan && i === 2 ? NaN : req.candidates[i]!;
    },
    observe() {},
    train() {
      return { steps: 0, losses: {} };
    },
    save() {
      return new Uint8Array(0);
    },
    load() {},
  };
  const req = (cands: number[]) => ({
    user: 0,
    timeMs: 0,
    summary: new Float32Array(8),
    candidates: Int32Array.from(cands),
    candidatePairCounts: new Float32Array(cands.length * 7),
  });
  const policy = new RankerPolicy(ranker, new Rng(4));
  const slates = policy.chooseSlates([req([5, 9, 1, 7]), req([3, 2, 8, 0, 6])], 2);
  assert.deepEqual(
    slates.map((s) => Array.from(s)),
    [
      [1, 3],
      [2, 4],
    ],
  );
  assert.deepEqual(
    policy.lastRandomFlags().map((f) => Array.from(f)),
    [
      [0, 0],
      [0, 0],
    ],
  );
  policy.setting = { kind: 'epsilon-greedy', epsilon: 1, temperature: 1 };
  policy.chooseSlates([req([5, 9, 1, 7])], 3);
  assert.deepEqual(Array.from(policy.lastRandomFlags()[0]!), [1, 1, 1]);
  ranker.nan = true;
  assert.throws(() => policy.chooseSlates([req([5, 9, 1, 7])], 2), /ById scored candidate 2 of user 0's request as NaN/);
});
