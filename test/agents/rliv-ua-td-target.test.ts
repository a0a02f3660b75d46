import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeTdTargets, sampleNextItems } from '../../src/agents/td-target.js';
import { RlivUaNetwork } from '../../src/agents/rliv-ua-network.js';
import { parseRlivUaConfig } from '../../src/agents/rliv-ua-config.js';
import { allocSampleBatch } from '../../src/mdp/scri-mdp.js';
import { PAIR_COUNT_DIM, PC_CLICK, PC_WATCH_TIME, TOWER_COUNT } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import type { Catalog } from '../../src/world/catalog.js';
import { familiarityCatalog } from './rliv-ua-fixtures.js';

test("TD target, two items: y = r + gamma * max over items of min(Q1', Q2')", () => {
  // Sample 0: author with items j0, j1. Q'1 = [1.0, 3.0], Q'2 = [2.0, 2.5]
  //   min per item = [1.0, 2.5] -> max = 2.5 (not max of Q'1 = 3.0, not of Q'2 = 2.0 at j0...)
  //   y = 0.5 + 0.9 * 2.5 = 2.75
  // Sample 1: one item, Q'1 = -1, Q'2 = 4 -> min = -1 -> y = 1 + 0.9 * -1 = 0.1
  const q1 = Float32Array.from([1.0, 3.0, -1]);
  const q2 = Float32Array.from([2.0, 2.5, 4]);
  const offsets = Int32Array.from([0, 2, 3]);
  // Rewards stored two per sample; the tower's reward is column 1.
  const rewards = Float32Array.from([9, 0.5, 9, 1]);
  const y = new Float32Array(2);
  computeTdTargets(2, rewards, 2, 1, q1, q2, offsets, 0.9, y);
  assert.ok(Math.abs(y[0]! - 2.75) < 1e-6, `y0 = ${y[0]}`);
  assert.ok(Math.abs(y[1]! - 0.1) < 1e-6, `y1 = ${y[1]}`);
  // The max is over items: swapping which item is better changes nothing.
  const y2 = new Float32Array(2);
  computeTdTargets(2, rewards, 2, 1, Float32Array.from([3.0, 1.0, -1]), Float32Array.from([2.5, 2.0, 4]), offsets, 0.9, y2);
  assert.deepEqual([...y2], [...y]);
  // gamma = 0: the target is the reward alone.
  computeTdTargets(2, rewards, 2, 1, q1, q2, offsets, 0, y2);
  assert.deepEqual([...y2], [0.5, 1]);
  // The 'mean' control: means per item = [1.5, 2.75] -> max 2.75 -> y0 = 0.5 + 0.9 * 2.75 = 2.975;
  // sample 1: mean 1.5 -> y1 = 1 + 0.9 * 1.5 = 2.35.
  computeTdTargets(2, rewards, 2, 1, q1, q2, offsets, 0.9, y2, 'mean');
  assert.ok(Math.abs(y2[0]! - 2.975) < 1e-6 && Math.abs(y2[1]! - 2.35) < 1e-6, `mean targets ${[...y2]}`);
});

function bigAuthorCatalog(): Catalog {
  // Author 0 owns 10 items (0..9), author 1 owns 2 (10, 11).
  const c = familiarityCatalog(2);
  const itemAuthor = Int32Array.from({ length: 12 }, (_, i) => (i < 10 ? 0 : 1));
  return {
    ...c,
    numAuthors: 2,
    numItems: 12,
    itemAuthor,
    itemTag: new Int32Array(12),
    itemDurationMs: new Float32Array(12).fill(30_000),
    itemFeatures: new Int32Array(12),
    itemRawId: Int32Array.from({ length: 12 }, (_, i) => i),
    authorIsLive: new Uint8Array(2),
    authorPopularity: Float32Array.from([0.5, 0.5]),
    authorItemOffsets: Int32Array.from([0, 10, 12]),
    authorItemIds: Int32Array.from({ length: 12 }, (_, i) => i),
    authorRawId: Int32Array.from([0, 1]),
  };
}

test('next items: all of a small author, a seeded sample without replacement of a large one', () => {
  const catalog = bigAuthorCatalog();
  const items = new Int32Array(3 * 4);
  const offsets = new Int32Array(4);
  const total = sampleNextItems(catalog, Int32Array.from([1, 0, 0]), 3, 4, new Rng(7), items, offsets);
  assert.equal(total, 2 + 4 + 4);
  assert.deepEqual([...offsets], [0, 2, 6, 10]);
  assert.deepEqual([...items.subarray(0, 2)], [10, 11]);
  for (const [a, b] of [
    [2, 6],
    [6, 10],
  ] as const) {
    const picked = [...items.subarray(a, b)];
    assert.equal(new Set(picked).size, 4, `distinct items ${picked}`);
    for (const i of picked) assert.ok(i >= 0 && i < 10, `item ${i} belongs to author 0`);
  }
  const again = new Int32Array(12);
  sampleNextItems(catalog, Int32Array.from([1, 0, 0]), 3, 4, new Rng(7), again, new Int32Array(4));
  assert.deepEqual([...again], [...items], 'same seed, same items');
  // Every item of the big author is reachable.
  const seen = new Set<number>();
  const rng = new Rng(1);
  for (let k = 0; k < 200; k++) {
    sampleNextItems(catalog, Int32Array.from([0]), 1, 4, rng, items, offsets);
    for (let j = 0; j < 4; j++) seen.add(items[j]!);
  }
  assert.equal(seen.size, 10);
  assert.throws(() => sampleNextItems(catalog, Int32Array.from([5]), 1, 4, rng, items, offsets), /author 5/);
});

test("the network's TD target equals the hand computation over the author's two items", () => {
  const catalog = familiarityCatalog(4);
  const config = parseRlivUaConfig({ batchSize: 2, gamma: 0.9 });
  const net = new RlivUaNetwork(catalog, config, new Rng(3));
  // Make the target critics differ from the online ones and from each other, so min and max both matter.
  for (const tower of net.towers) {
    const rng = new Rng(17);
    for (const p of tower.targetParams()) for (let i = 0; i < p.value.length; i++) p.value[i] = p.value[i]! + 0.3 * rng.normal();
  }
  const batch = allocSampleBatch(2);
  batch.count = 1;
  batch.user[0] = 2;
  batch.item[0] = 3; // author 1 owns items 2 and 3
  batch.author[0] = 1;
  batch.pairCounts.fill(0);
  batch.nextPairCounts[PC_CLICK] = 1;
  batch.nextPairCounts[PC_WATCH_TIME] = 30;
  const rewards = [1, Math.log1p(30), 0, 0];
  for (let k = 0; k < TOWER_COUNT; k++) batch.rewards[k] = rewards[k]!;
  net.computeGradients(batch, new Rng(1));
  const { items, offsets } = net.lastNextItems();
  assert.deepEqual([...items.subarray(offsets[0]!, offsets[1]!)], [2, 3]);

  // By hand: H' of both items with f_ua^{t+1}, Q' of both target critics, min per item, max over items.
  const H = new Float32Array(2 * net.embedding.hDim);
  const nextCounts = new Float32Array(2 * PAIR_COUNT_DIM);
  nextCounts.set(batch.nextPairCounts.subarray(0, PAIR_COUNT_DIM), 0);
  nextCounts.set(batch.nextPairCounts.subarray(0, PAIR_COUNT_DIM), PAIR_COUNT_DIM);
  net.embedding.encodeCandidates(2, Int32Array.from([2, 3]), nextCounts, 2, H);
  const q1 = new Float32Array(2);
  const q2 = new Float32Array(2);
  let minMattered = false;
  let bothItemsDiffer = false;
  for (let t = 0; t < net.towers.length; t++) {
    net.towers[t]!.targetQ(H, 2, q1, q2);
    const m0 = Math.min(q1[0]!, q2[0]!);
    const m1 = Math.min(q1[1]!, q2[1]!);
    const expected = rewards[net.towerColumn[t]!]! + 0.9 * Math.max(m0, m1);
    const got = net.tdTargets(t)[0]!;
    assert.ok(Math.abs(got - expected) < 1e-5, `tower ${net.towers[t]!.tower}: y = ${got}, by hand ${expected}`);
    if (q1[0] !== q2[0]) minMattered = true;
    if (m0 !== m1) bothItemsDiffer = true;
  }
  assert.ok(minMattered && bothItemsDiffer, 'the example exercises both the min and the max');
});
