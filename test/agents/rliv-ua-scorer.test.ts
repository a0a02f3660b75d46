import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RlivUaAgent } from '../../src/agents/rliv-ua.js';
import { FactorizedLivScorer } from '../../src/agents/rliv-ua-scorer.js';
import { countBucket } from '../../src/agents/rliv-ua-embedding.js';
import { PAIR_COUNT_DIM, TOWER_COUNT } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { familiarityCatalog, familiarityTraces } from './rliv-ua-fixtures.js';

const catalog = familiarityCatalog(12);
const traces = familiarityTraces(catalog, { sessionsPerUser: 2, requestsPerSession: 4 });
const SMALL = { embeddingRows: 1024, batchSize: 64, minReplaySize: 64, replayCapacity: 5000 };

/** Reference LIV: the towers' online heads on the unfactorized H of encodeCandidates. */
function reference(agent: RlivUaAgent, user: number, items: Int32Array, counts: Float32Array, t: number): Float32Array {
  const n = items.length;
  const H = new Float32Array(n * agent.network.embedding.hDim);
  agent.network.embedding.encodeCandidates(user, items, counts, n, H);
  const out = new Float32Array(n);
  agent.network.towers[t]!.liv(H, n, out, 1, 0);
  return out;
}

function randomCase(rng: Rng, n: number): { user: number; items: Int32Array; counts: Float32Array } {
  const items = Int32Array.from({ length: n }, () => rng.int(catalog.numItems));
  const counts = new Float32Array(n * PAIR_COUNT_DIM);
  for (let i = 0; i < counts.length; i++) counts[i] = rng.bernoulli(0.4) ? rng.int(3000) * (rng.bernoulli(0.5) ? 1 : 0.37) : 0;
  // A user outside the catalog hashes its id (writeUser's path).
  return { user: rng.bernoulli(0.2) ? catalog.numUsers + rng.int(50) : rng.int(catalog.numUsers), items, counts };
}

test('countBucket (clz32 path) equals 1 + floor(log2(count)), capped', () => {
  for (const c of [0, -3, NaN, 0.99, 1, 1.5, 2, 3, 3.999, 4, 1023, 1024, 65535.5, 2 ** 30, 2 ** 31 - 1, 2 ** 31, 2 ** 40 + 5]) {
    const want = !(c >= 1) ? 0 : Math.min(64 - 1, 1 + Math.floor(Math.log2(c)));
    assert.equal(countBucket(c, 64), want, `count ${c}`);
  }
  assert.equal(countBucket(1e6, 16), 15);
});

test('factorized scorer = heads on encodeCandidates (every tower, repeated items, tiny colliding cache, across parameter versions)', () => {
  const agent = new RlivUaAgent({ catalog, seed: 4 }, SMALL);
  agent.observe(traces);
  const net = agent.network;
  // 3 slots for 8 items: collisions and evictions inside one batch.
  const width = net.towers[0]!.online.heads * net.towers[0]!.online.sizes[1]!;
  const scorer = new FactorizedLivScorer(net.embedding, net.towers, net.config.gamma, 40, catalog.numItems, 3 * width);
  const rng = new Rng(11);
  for (let round = 0; round < 4; round++) {
    if (round > 0) agent.train(2); // new parameters: every cache must follow
    for (let rep = 0; rep < 5; rep++) {
      const { user, items, counts } = randomCase(rng, 1 + rng.int(40));
      for (let t = 0; t < net.towers.length; t++) {
        const want = reference(agent, user, items, counts, t);
        const got = new Float32Array(items.length * 2);
        scorer.liv(t, user, items, counts, items.length, got, 2, 1);
        for (let i = 0; i < items.length; i++) {
          assert.ok(
            Math.abs(got[i * 2 + 1]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)),
            `round ${round} tower ${t} row ${i}: ${got[i * 2 + 1]} vs ${want[i]}`,
          );
          assert.equal(got[i * 2], 0, 'other columns untouched');
        }
      }
    }
  }
});

test('agent.livPerTower = reference for a w/o SL variant too; a row does not depend on its batch', () => {
  const agent = new RlivUaAgent({ catalog, seed: 5 }, { ...SMALL, supervised: false });
  agent.observe(traces);
  agent.train(3);
  const rng = new Rng(3);
  const { user, items, counts } = randomCase(rng, 30);
  const summary = new Float32Array(8);
  const all = new Float32Array(30 * TOWER_COUNT);
  agent.livPerTower({ user, candidates: items, candidatePairCounts: counts, summary }, all);
  for (let t = 0; t < agent.network.towers.length; t++) {
    const want = reference(agent, user, items, counts, t);
    const col = agent.network.towerColumn[t]!;
    for (let i = 0; i < 30; i++) assert.ok(Math.abs(all[i * TOWER_COUNT + col]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)));
  }
  const one = new Float32Array(TOWER_COUNT);
  for (const i of [0, 17, 29]) {
    agent.livPerTower(
      { user, candidates: items.subarray(i, i + 1), candidatePairCounts: counts.subarray(i * PAIR_COUNT_DIM, (i + 1) * PAIR_COUNT_DIM), summary },
      one,
    );
    for (let c = 0; c < TOWER_COUNT; c++) assert.ok(Math.abs(one[c]! - all[i * TOWER_COUNT + c]!) <= 1e-5 * (1 + Math.abs(one[c]!)));
  }
});

test('loadParameters: same scores as load, no replay, save refuses; corrupt parameters throw and change nothing', () => {
  const src = new RlivUaAgent({ catalog, seed: 6 }, SMALL);
  src.observe(traces);
  src.train(2);
  const bytes = src.save();
  const full = new RlivUaAgent({ catalog, seed: 6 }, SMALL);
  full.load(bytes);
  const lean = new RlivUaAgent({ catalog, seed: 6 }, SMALL);
  lean.loadParameters(bytes);
  const rng = new Rng(8);
  const { user, items, counts } = randomCase(rng, 20);
  const req = { user, candidates: items, candidatePairCounts: counts, summary: new Float32Array(8) };
  const a = new Float32Array(20);
  const b = new Float32Array(20);
  full.score(req, a);
  lean.score(req, b);
  assert.deepEqual(Array.from(b), Array.from(a));
  assert.equal(lean.replay.size, 0);
  assert.throws(() => lean.save(), /loadParameters/);
  // A flipped byte inside the parameter section: refused by its CRC-32, scores unchanged.
  const bad = bytes.slice();
  bad[200]! ^= 0xff;
  const other = new RlivUaAgent({ catalog, seed: 7 }, SMALL);
  const before = new Float32Array(20);
  other.score(req, before);
  assert.throws(() => other.loadParameters(bad), /checksum/);
  const after = new Float32Array(20);
  other.score(req, after);
  assert.deepEqual(Array.from(after), Array.from(before));
  // A full load makes it saveable again.
  lean.load(bytes);
  assert.ok(lean.save().length > 0);
});
