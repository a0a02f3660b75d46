import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RlivUaAgent } from '../../src/agents/rliv-ua.js';
import { RlivUaConfigError } from '../../src/agents/rliv-ua-config.js';
import { createRlivUaVariant, RLIV_UA_VARIANTS } from '../../src/agents/rliv-ua-variants.js';
import { AGENTS, createAgent } from '../../src/agents/registry.js';
import { NonFiniteLossError } from '../../src/agents/agent-checkpoint.js';
import type { RankRequest } from '../../src/agents/ranker.js';
import { combineTowerLivs, towerWeightVector } from '../../src/agents/tower-liv.js';
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW, PC_GIFT, PC_LONG_VIEW, PC_WATCH_TIME, TOWER_COUNT } from '../../src/data/interaction-kinds.js';
import { familiarityCatalog, familiarityTraces, freshRequest } from './rliv-ua-fixtures.js';

const catalog = familiarityCatalog(12);
const traces = familiarityTraces(catalog, { sessionsPerUser: 3, requestsPerSession: 6 });
const SMALL = { embeddingRows: 1024, batchSize: 64, minReplaySize: 64, replayCapacity: 5000 };

/** Requests with fresh and with non-zero pair counts. */
function requests(): RankRequest[] {
  const out: RankRequest[] = [];
  for (const u of [0, 3, 7]) out.push(freshRequest(catalog, u));
  out.push(...traces.slice(0, 3).map((t) => t.requests[t.requests.length - 1]!));
  return out;
}

function scores(agent: RlivUaAgent): number[] {
  const all: number[] = [];
  for (const r of requests()) {
    const out = new Float32Array(r.candidates.length);
    agent.score(r, out);
    all.push(...out);
  }
  return all;
}

function trained(seed: number, steps: number, config: Record<string, unknown> = {}): RlivUaAgent {
  const agent = new RlivUaAgent({ catalog, seed }, { ...SMALL, ...config });
  agent.observe(traces);
  agent.train(steps);
  return agent;
}

test('observe: every exposure becomes one joined ASA sample in the replay buffer', () => {
  const agent = new RlivUaAgent({ catalog, seed: 1 }, SMALL);
  agent.observe(traces);
  let exposures = 0;
  let clicks = 0;
  for (const t of traces)
    for (const r of t.requests) {
      exposures += r.slate.length;
      for (let k = 0; k < r.slate.length; k++) clicks += r.responses.click[k]!;
    }
  const stats = agent.pipelineStats();
  assert.equal(agent.replay.size, exposures);
  assert.equal(stats.samples, exposures);
  assert.equal(stats.joiner.impressions, exposures);
  assert.equal(stats.joiner.emitted, exposures);
  assert.equal(stats.joiner.lateFeedback + stats.joiner.orphanFeedback + stats.joiner.duplicateImpressions, 0);
  // ASA on the stored samples: s' = s + 1 on clicked counts, + seconds on watch time, unchanged otherwise.
  const s = agent.replay.storage;
  let rewardedClicks = 0;
  for (let i = 0; i < agent.replay.size; i++) {
    const p = i * PAIR_COUNT_DIM;
    const clicked = s.rewards[i * TOWER_COUNT]! > 0;
    rewardedClicks += clicked ? 1 : 0;
    assert.equal(s.nextPairCounts[p + PC_CLICK], s.pairCounts[p + PC_CLICK]! + (clicked ? 1 : 0));
    const watched = s.rewards[i * TOWER_COUNT + 1]!;
    assert.ok(Math.abs(s.nextPairCounts[p + PC_WATCH_TIME]! - s.pairCounts[p + PC_WATCH_TIME]! - Math.expm1(watched)) < 1e-3);
    assert.ok(s.nextPairCounts[p + PC_LONG_VIEW]! >= s.pairCounts[p + PC_LONG_VIEW]!);
    assert.equal(s.nextPairCounts[p + PC_FOLLOW], s.pairCounts[p + PC_FOLLOW]);
    assert.equal(s.nextPairCounts[p + PC_GIFT]! - s.pairCounts[p + PC_GIFT]!, s.giftLabel[i]);
  }
  assert.equal(rewardedClicks, clicks);
  assert.throws(() => agent.observe([{ ...traces[0]!, user: 999 }]), /user 999/);
});

test('train: per-tower losses, nothing before minReplaySize', () => {
  const empty = new RlivUaAgent({ catalog, seed: 1 }, SMALL);
  assert.deepEqual(empty.train(5), { steps: 0, losses: {} });
  const agent = trained(1, 3);
  const stats = agent.train(4);
  assert.equal(stats.steps, 4);
  assert.deepEqual(Object.keys(stats.losses).sort(), ['assistance', 'click', 'follow', 'gift', 'total', 'watchTime']);
  for (const v of Object.values(stats.losses)) assert.ok(Number.isFinite(v) && v >= 0);
  assert.equal(agent.network.steps, 7);
  assert.throws(() => agent.train(-1), /steps/);
});

test('determinism: same seed, same scores after N steps; another seed differs', () => {
  const a = scores(trained(3, 12));
  const b = scores(trained(3, 12));
  const c = scores(trained(4, 12));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('save/load round trip: identical scores, and identical training afterwards', () => {
  const a = trained(5, 10);
  const bytes = a.save();
  const b = new RlivUaAgent({ catalog, seed: 99 }, SMALL);
  assert.notDeepEqual(scores(b), scores(a));
  b.load(bytes);
  assert.deepEqual(scores(b), scores(a));
  assert.equal(b.network.steps, 10);
  assert.equal(b.replay.size, a.replay.size);
  // Adam moments, the next-item RNG and the replay buffer (contents, position, RNG) came along:
  a.train(6);
  b.train(6);
  assert.deepEqual(scores(b), scores(a));
  const c = RlivUaAgent.fromCheckpoint(a.save(), { catalog, seed: 0 });
  assert.deepEqual(scores(c), scores(a));
  assert.equal(c.name, 'RLIV-UA');
});

test('load: corrupt or mismatched bytes throw a clear error and change nothing', () => {
  const a = trained(6, 4);
  const bytes = a.save();
  const b = trained(7, 2);
  const before = scores(b);
  const corrupt = bytes.slice();
  corrupt[Math.floor(corrupt.length / 2)]! ^= 0xff;
  assert.throws(() => b.load(corrupt), /checksum/);
  assert.throws(() => b.load(bytes.subarray(0, bytes.length - 100)), /checksum|corrupt|truncated/);
  assert.throws(() => b.load(new Uint8Array(10)), /save\(\)/);
  const other = new RlivUaAgent({ catalog, seed: 6 }, { ...SMALL, batchSize: 32 });
  assert.throws(() => other.load(bytes), /config/);
  const variant = createRlivUaVariant('RLIV-UA(w/o SL)', { catalog, seed: 6 }, SMALL);
  assert.throws(() => variant.load(bytes), /RLIV-UA/);
  assert.deepEqual(scores(b), before);
  assert.equal(b.network.steps, 2);
});

test('a NaN loss throws NonFiniteLossError naming the tower and changes no parameter', () => {
  const agent = trained(8, 2);
  const before = scores(agent);
  const s = agent.replay.storage;
  for (let i = 0; i < agent.replay.size; i++) s.rewards[i * TOWER_COUNT + 1] = NaN; // watch-time rewards
  assert.throws(
    () => agent.train(1),
    (err: unknown) => err instanceof NonFiniteLossError && err.component === 'watchTime' && /watchTime/.test(err.message),
  );
  assert.deepEqual(scores(agent), before);
});

test('variants: the five registered names, their towers, heads and assistance network', () => {
  for (const name of Object.keys(RLIV_UA_VARIANTS)) {
    assert.ok(AGENTS[name], `${name} is registered`);
    const agent = createAgent(name, { catalog, seed: 2 }, SMALL) as RlivUaAgent;
    assert.equal(agent.name, name);
    assert.equal(agent.learnsOffline, false);
    const v = RLIV_UA_VARIANTS[name as keyof typeof RLIV_UA_VARIANTS];
    assert.deepEqual(
      agent.network.towers.map((t) => t.tower),
      [...v.towers],
    );
    for (const t of agent.network.towers) assert.equal(t.rewardHeadIndex, v.supervised ? 0 : -1);
    assert.equal(agent.network.assistance !== null, v.assistance);
    agent.observe(traces);
    const stats = agent.train(3);
    assert.equal(stats.steps, 3);
    assert.deepEqual(Object.keys(stats.losses).sort(), [...v.towers, ...(v.assistance ? ['assistance'] : []), 'total'].sort());
    const r = freshRequest(catalog, 1);
    const livs = new Float32Array(r.candidates.length * TOWER_COUNT);
    agent.livPerTower(r, livs);
    for (let c = 0; c < TOWER_COUNT; c++) {
      const trainedTower = (v.towers as readonly string[]).includes(['click', 'watchTime', 'follow', 'gift'][c]!);
      assert.equal(Number.isNaN(livs[c]!), !trainedTower);
    }
  }
  assert.throws(() => createRlivUaVariant('RLIV-UA(w/o MT)', { catalog, seed: 1 }, { towers: ['click', 'watchTime'] }), /fixed by the variant/);
});

test('score: the standardized watch-time LIV by default; weighted standardized towers when configured', () => {
  const agent = trained(9, 8);
  const r = traces[1]!.requests[2]!;
  const n = r.candidates.length;
  const livs = new Float32Array(n * TOWER_COUNT);
  agent.livPerTower(r, livs);
  const z = (c: number): number[] => {
    const v = Array.from({ length: n }, (_, i) => livs[i * TOWER_COUNT + c]!);
    const mean = v.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    return v.map((x) => (x - mean) / std);
  };
  const zw = z(1);
  const zc = z(0);
  const out = new Float32Array(n);
  agent.score(r, out);
  assert.deepEqual(agent.scoreWeights, { watchTime: 1 });
  for (let i = 0; i < n; i++) assert.ok(Math.abs(out[i]! - zw[i]!) < 1e-4, `candidate ${i}: ${out[i]} vs ${zw[i]}`);
  // The same function as the service's towerWeights: identical numbers for the same weights.
  const viaCombine = new Float32Array(n);
  assert.equal(combineTowerLivs(livs, n, towerWeightVector({ watchTime: 1 }), viaCombine), null);
  assert.deepEqual(out, viaCombine);
  assert.equal(agent.towerLiv, agent);
  agent.setScoreWeights({ watchTime: 1, click: 2 });
  agent.score(r, out);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(out[i]! - (zw[i]! + 2 * zc[i]!)) < 1e-4, `candidate ${i}`);
  assert.throws(() => agent.setScoreWeights({}), /nonzero/);
  const wt = createRlivUaVariant('RLIV-UA(w/o MT)', { catalog, seed: 1 }, SMALL);
  assert.throws(() => wt.setScoreWeights({ gift: 1 }), /not trained/);
  const tooMany = { ...r, candidates: new Int32Array(301), candidatePairCounts: new Float32Array(301 * PAIR_COUNT_DIM) };
  assert.throws(() => agent.score(tooMany, new Float32Array(301)), /maxCandidates/);
});

test('config: defaults of Table 1; unknown or invalid fields are named', () => {
  const agent = new RlivUaAgent({ catalog, seed: 1 }, { embeddingRows: 256 });
  const c = agent.config;
  assert.equal(c.gamma, 0.9);
  assert.equal(c.tau, 0.005);
  assert.equal(c.lr, 1e-3);
  assert.equal(c.embeddingLr, 1e-3);
  assert.equal(c.batchSize, 1024);
  assert.deepEqual(c.hidden, [64, 64]);
  assert.equal(c.embeddingDim, 32);
  assert.equal(c.maxNextItems, 8);
  assert.deepEqual(c.scoreWeights, { watchTime: 1 });
  assert.equal(c.targetCritics, 'min', 'clipped double Q-learning (paper eq. 5) by default');
  assert.throws(() => new RlivUaAgent({ catalog, seed: 1 }, { targetCritics: 'max' }), /targetCritics/);
  assert.throws(
    () => new RlivUaAgent({ catalog, seed: 1 }, { gama: 0.9 }),
    (e: unknown) => e instanceof RlivUaConfigError && /gama/.test((e as Error).message),
  );
  assert.throws(() => new RlivUaAgent({ catalog, seed: 1 }, { tau: 2 }), /tau/);
  assert.throws(() => new RlivUaAgent({ catalog, seed: 1 }, { towers: ['click'] }), /scoreWeights\.watchTime/);
});

test('scoring caches h_a per item only while the parameters are unchanged', () => {
  const a = trained(10, 0);
  const b = trained(10, 0);
  const before = scores(a); // fills a's cache
  a.train(2);
  b.train(2);
  const after = scores(a);
  assert.notDeepEqual(after, before);
  assert.deepEqual(after, scores(b), 'a scores like an agent that never cached');
});
