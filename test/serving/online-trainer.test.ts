import { test } from 'node:test';
import assert from 'node:assert/strict';
import { samplesToSessions } from '../../src/serving/online-trainer.js';
import { loadServingCatalog, syntheticCatalogSpec } from '../../src/serving/model-registry.js';
import { createAgent } from '../../src/agents/registry.js';
import type { RlivUaAgent } from '../../src/agents/rliv-ua.js';
import { AsaSampleBuilder } from '../../src/mdp/adjacent-state-approximation.js';
import { allocSampleBatch } from '../../src/mdp/scri-mdp.js';
import { OUTCOME_DIM } from '../../src/mdp/scri-mdp.js';
import { PAIR_COUNT_DIM, TOWER_COUNT } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { SMALL_AGENT_CONFIG, SMALL_CATALOG } from './helpers.js';

test("samples handed to a trace-learning agent come back as the same (s, a, r, s') samples", async () => {
  const catalog = await loadServingCatalog(syntheticCatalogSpec(SMALL_CATALOG.users, SMALL_CATALOG.items, 3));
  const rng = new Rng(8);
  const asa = new AsaSampleBuilder();
  const batch = allocSampleBatch(64);
  for (let i = 0; i < 64; i++) {
    const item = rng.int(catalog.numItems);
    const counts = new Float32Array(PAIR_COUNT_DIM);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) counts[k] = k === 3 ? rng.int(2) : k === 6 ? rng.int(400) / 4 : rng.int(6);
    const outcome = new Float32Array(OUTCOME_DIM);
    for (let k = 0; k < OUTCOME_DIM; k++) if (rng.bernoulli(0.4)) outcome[k] = k === 6 ? 1 + rng.int(120) / 4 : 1;
    asa.append(
      {
        requestId: `q${i}`,
        user: rng.int(catalog.numUsers),
        item,
        author: catalog.itemAuthor[item]!,
        timeMs: 1000 * i,
        userFeatures: undefined,
        itemFeatures: undefined,
        pairCounts: counts,
        outcome,
        feedbackCount: 1,
        closedBy: 'window',
      },
      batch,
    );
  }
  const agent = createAgent('RLIV-UA', { catalog, seed: 1 }, { ...SMALL_AGENT_CONFIG }) as RlivUaAgent;
  agent.observe(samplesToSessions(batch));
  const replay = agent.replay;
  assert.equal(replay.size, 64);
  // Same multiset of samples: compare rows keyed by (user, time).
  const key = (s: typeof batch, i: number) => `${s.user[i]}@${s.timeMs[i]}`;
  const got = new Map<string, number>();
  for (let i = 0; i < replay.size; i++) got.set(key(replay.storage, i), i);
  for (let i = 0; i < 64; i++) {
    const j = got.get(key(batch, i));
    assert.ok(j !== undefined, `sample ${i} missing`);
    assert.equal(replay.storage.item[j], batch.item[i]);
    assert.equal(replay.storage.author[j], batch.author[i]);
    assert.equal(replay.storage.giftLabel[j], batch.giftLabel[i]);
    assert.deepEqual(Array.from(replay.storage.pairCounts.subarray(j * 7, j * 7 + 7)), Array.from(batch.pairCounts.subarray(i * 7, i * 7 + 7)), `s of ${i}`);
    for (let k = 0; k < 7; k++) {
      const a = replay.storage.nextPairCounts[j * 7 + k]!,
        b = batch.nextPairCounts[i * 7 + k]!;
      // Watch time travels as float32 milliseconds of play time: equal up to float32 rounding.
      assert.ok(k === 6 ? Math.abs(a - b) <= 1e-4 * Math.max(1, b) : a === b, `s'[${k}] of ${i}: ${a} vs ${b}`);
    }
    for (let t = 0; t < TOWER_COUNT; t++) assert.ok(Math.abs(replay.storage.rewards[j * 4 + t]! - batch.rewards[i * 4 + t]!) < 1e-5, `reward ${t} of ${i}`);
  }
});
