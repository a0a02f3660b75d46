import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { smallSystem, candidatesOf, waitFor } from './helpers.js';
import type { OnlineSystem } from '../../src/serving/online-system.js';
import { Rng } from '../../src/numeric/rng.js';
import { PAIR_COUNT_DIM, TOWER_COUNT } from '../../src/data/interaction-kinds.js';
import { SESSION_SUMMARY_DIM } from '../../src/environment/trace.js';
import type { MemoryPairStore } from '../../src/serving/pair-store.js';
import { fuseScores } from '../../src/agents/score-fusion.js';
import { combineTowerLivs, towerWeightVector } from '../../src/agents/tower-liv.js';

let sys: OnlineSystem;
before(async () => {
  sys = await smallSystem({ joiner: { windowMs: 100 } });
});
after(async () => {
  await sys.close();
});

async function post(url: string, payload: unknown) {
  const r = await sys.service.app.inject({ method: 'POST', url, payload: payload as object });
  return { status: r.statusCode, body: r.json() as Record<string, any> };
}

test("rank returns the top K by the model's score with per-tower LIV, and logs K impressions", async () => {
  const cands = candidatesOf(sys, 50);
  const before = sys.service.pipeline.joiner.counters.impressions;
  const { status, body } = await post('/v1/rank', { userId: 3, candidates: cands, k: 6 });
  assert.equal(status, 200);
  assert.equal(body.modelVersion, 1);
  assert.equal(body.degraded, false);
  assert.equal(body.items.length, 6);
  // Recompute the scores with the served model: the response's order and scores are the top 6.
  const model = sys.service.holder.current;
  const req = {
    user: 3,
    candidates: Int32Array.from(cands.map((c) => c.itemId)),
    candidatePairCounts: new Float32Array(50 * PAIR_COUNT_DIM),
    summary: new Float32Array(SESSION_SUMMARY_DIM),
  };
  const scores = new Float32Array(50);
  model.ranker.score(req, scores);
  const expected = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, 6);
  assert.deepEqual(
    body.items.map((it: any) => it.itemId),
    expected.map((i) => cands[i]!.itemId),
  );
  for (let j = 0; j < 6; j++) {
    assert.equal(body.items[j].score, scores[expected[j]!]);
    assert.equal(body.items[j].authorId, cands[expected[j]!]!.authorId);
  }
  // LIV: the watch-time LIV is the default ranking score of RLIV-UA.
  const liv = new Float32Array(50 * TOWER_COUNT);
  model.ranker.towerLiv!.livPerTower(req, liv);
  const top = expected[0]!;
  // The service computes the LIV of the K exposed items in one small batch: equal up to float rounding.
  const got = body.items[0].liv;
  const want = { click: liv[top * 4]!, watchTime: liv[top * 4 + 1]!, follow: liv[top * 4 + 2]!, gift: liv[top * 4 + 3]! };
  for (const k of Object.keys(want) as (keyof typeof want)[]) assert.ok(Math.abs(got[k] - want[k]) < 1e-5, `${k}: ${got[k]} vs ${want[k]}`);
  // The default score is the watch-time LIV standardized over the request's candidates.
  const w = Array.from({ length: 50 }, (_, i) => liv[i * 4 + 1]!);
  const mean = w.reduce((x, y) => x + y, 0) / 50;
  const sd = Math.sqrt(w.reduce((x, y) => x + (y - mean) ** 2, 0) / 50);
  assert.ok(Math.abs((w[top]! - mean) / sd - body.items[0].score) < 1e-4, 'default score = standardized watch-time LIV');
  assert.equal(sys.service.pipeline.joiner.counters.impressions - before, 6);
});

test('the default ranking and explicit default towerWeights give identical items and scores', async () => {
  const cands = candidatesOf(sys, 40, 20);
  const model = sys.service.holder.current;
  assert.deepEqual(model.ranker.towerLiv!.scoreWeights, { watchTime: 1 });
  const implicit = await post('/v1/rank', { userId: 5, candidates: cands, k: 8 });
  const explicit = await post('/v1/rank', { userId: 5, candidates: cands, k: 8, towerWeights: { watchTime: 1 } });
  assert.equal(implicit.status, 200);
  assert.equal(explicit.status, 200);
  assert.deepEqual(
    explicit.body.items.map((it: any) => [it.itemId, it.score]),
    implicit.body.items.map((it: any) => [it.itemId, it.score]),
  );
  // A different weight on the same tower scales the standardized scores (same order).
  const doubled = await post('/v1/rank', { userId: 5, candidates: cands, k: 8, towerWeights: { watchTime: 2 } });
  assert.deepEqual(
    doubled.body.items.map((it: any) => it.itemId),
    implicit.body.items.map((it: any) => it.itemId),
  );
  for (let j = 0; j < 8; j++) assert.ok(Math.abs(doubled.body.items[j].score - 2 * implicit.body.items[j].score) < 1e-5);
});

test('fusion: base scores + fusionWeight rank by base + w x sd(base) x z(model score), and return base, model and fused scores with the LIV', async () => {
  const cands = candidatesOf(sys, 30, 40);
  const n = cands.length;
  // A base ranking that disagrees with the model: descending by position.
  const base = cands.map((_, i) => 2 - i / 10);
  const withBase = cands.map((c, i) => ({ ...c, baseScore: base[i]! }));
  const model = sys.service.holder.current;
  const req = {
    user: 4,
    candidates: Int32Array.from(cands.map((c) => c.itemId)),
    candidatePairCounts: new Float32Array(n * PAIR_COUNT_DIM),
    summary: new Float32Array(SESSION_SUMMARY_DIM),
  };
  const modelScores = new Float32Array(n);
  model.ranker.score(req, modelScores);
  for (const w of [0, 0.5, 3]) {
    const { status, body } = await post('/v1/rank', { userId: 4, candidates: withBase, k: 10, fusionWeight: w });
    assert.equal(status, 200, JSON.stringify(body));
    const fused = new Float32Array(n);
    fuseScores(base, modelScores, n, w, fused);
    const expected = [...fused.keys()].sort((a, b) => fused[b]! - fused[a]! || a - b).slice(0, 10);
    assert.deepEqual(
      body.items.map((it: any) => it.itemId),
      expected.map((i) => cands[i]!.itemId),
      `w = ${w}`,
    );
    for (let j = 0; j < 10; j++) {
      const i = expected[j]!;
      const it = body.items[j];
      assert.equal(it.score, fused[i], 'score = the fused score');
      assert.equal(it.baseScore, base[i]);
      assert.equal(it.modelScore, modelScores[i]);
      assert.ok(it.liv && Number.isFinite(it.liv.watchTime), 'LIV per tower');
    }
    if (w === 0)
      assert.deepEqual(
        body.items.map((it: any) => it.itemId),
        cands.slice(0, 10).map((c) => c.itemId),
        'w = 0 is the base ranking',
      );
  }
  // towerWeights choose the model score that is fused: follow + gift here.
  const tw = await post('/v1/rank', { userId: 4, candidates: withBase, k: 5, fusionWeight: 1, towerWeights: { follow: 1, gift: 1 } });
  assert.equal(tw.status, 200);
  const livs = new Float32Array(n * 4);
  model.ranker.towerLiv!.livPerTower(req, livs);
  const combined = new Float32Array(n);
  combineTowerLivs(livs, n, towerWeightVector({ follow: 1, gift: 1 }), combined);
  const fused = new Float32Array(n);
  fuseScores(base, combined, n, 1, fused);
  assert.deepEqual(
    tw.body.items.map((it: any) => it.score),
    [...fused].sort((a, b) => b - a).slice(0, 5),
  );
  // Without base scores nothing is fused: baseScore is null and score = modelScore.
  const plain = await post('/v1/rank', { userId: 4, candidates: cands, k: 3 });
  for (const it of plain.body.items) {
    assert.equal(it.baseScore, null);
    assert.equal(it.score, it.modelScore);
  }
});

test('fusion validation: base scores on every candidate or none, with a fusionWeight, finite and bounded; nothing changes on a 400', async () => {
  const cands = candidatesOf(sys, 4, 80);
  const all = cands.map((c, i) => ({ ...c, baseScore: i }));
  const cases: [unknown, RegExp][] = [
    [
      { userId: 1, k: 2, candidates: [all[0], cands[1], all[2], cands[3]] },
      /candidates\/1\/baseScore is missing: give a baseScore for every candidate or for none \(2 of 4 have one\)/,
    ],
    [{ userId: 1, k: 2, candidates: all }, /fusionWeight is required when the candidates carry baseScore/],
    [{ userId: 1, k: 2, candidates: cands, fusionWeight: 1 }, /fusionWeight needs a baseScore on every candidate/],
    [{ userId: 1, k: 2, candidates: all, fusionWeight: -1 }, /fusionWeight must be >= 0/],
    [{ userId: 1, k: 2, candidates: all, fusionWeight: 2e6 }, /fusionWeight must be <= 1000000/],
    [{ userId: 1, k: 2, candidates: all, fusionWeight: 'a' }, /fusionWeight must be number/],
    [{ userId: 1, k: 2, candidates: [{ ...all[0], baseScore: 'high' }, ...all.slice(1)], fusionWeight: 1 }, /candidates\/0\/baseScore must be number/],
    [{ userId: 1, k: 2, candidates: [...all.slice(0, 3), { ...all[3], baseScore: 5e9 }], fusionWeight: 1 }, /candidates\/3\/baseScore must be <= 1000000000/],
  ];
  // Let the impressions of earlier tests leave the join window and reach the stream first.
  const joiner = sys.service.pipeline.joiner;
  await waitFor(
    () => joiner.pendingCount === 0 && (sys.service.stream.status() as { publishedSamples: number }).publishedSamples === joiner.counters.emitted,
    10_000,
    'the joiner to flush',
  );
  const snapshot = () => JSON.stringify([joiner.counters, joiner.pendingCount, sys.service.store.status(), sys.service.stream.status()]);
  const s0 = snapshot();
  for (const [payload, message] of cases) {
    const r = await post('/v1/rank', payload);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.message, message);
  }
  // A non-finite base score (1e999 parses to Infinity) is refused by the schema.
  const inf = await sys.service.app.inject({
    method: 'POST',
    url: '/v1/rank',
    headers: { 'content-type': 'application/json' },
    payload: `{"userId":1,"k":1,"fusionWeight":1,"candidates":[{"itemId":${cands[0]!.itemId},"authorId":${cands[0]!.authorId},"baseScore":1e999}]}`,
  });
  assert.equal(inf.statusCode, 400);
  assert.match(inf.json().message, /candidates\/0\/baseScore must be number/);
  assert.equal(snapshot(), s0, 'rejected requests changed no state');
});

test('towerWeights rank by standardized tower LIVs; k larger than N returns N', async () => {
  const cands = candidatesOf(sys, 5, 60);
  const { status, body } = await post('/v1/rank', { userId: 1, candidates: cands, k: 10, towerWeights: { click: 1, gift: 0.5 } });
  assert.equal(status, 200);
  assert.equal(body.items.length, 5);
  for (let j = 1; j < 5; j++) assert.ok(body.items[j - 1].score >= body.items[j].score);
});

test('concurrent rank requests of different sizes each get their own answer (scratch arrays are per request)', async () => {
  const bodies = Array.from({ length: 12 }, (_, r) => ({ userId: r, candidates: candidatesOf(sys, 5 + 7 * r, 10 * r), k: 4 }));
  const alone = [];
  for (const b of bodies) {
    const r = await post('/v1/rank', b);
    assert.equal(r.status, 200);
    alone.push(r.body.items);
  }
  // Hold every store read a while, first requests longest, so all 12 are in flight together and resume in reverse.
  const store = sys.service.store;
  const read = store.read;
  store.read = async (user, authors, count, out) => {
    const ok = await read.call(store, user, authors, count, out);
    await new Promise((r) => setTimeout(r, 2 * (bodies.length - user)));
    return ok;
  };
  const together = await Promise.all(bodies.map((b) => post('/v1/rank', b))).finally(() => {
    store.read = read;
  });
  for (let r = 0; r < bodies.length; r++) {
    assert.equal(together[r]!.status, 200);
    assert.deepEqual(together[r]!.body.items, alone[r], `request ${r}`);
  }
});

test('feedback joins with the impression; ASA updates the pair store; joiner counts it', async () => {
  const cands = candidatesOf(sys, 20, 100);
  const { body } = await post('/v1/rank', { userId: 5, candidates: cands, k: 3 });
  const item = body.items[0];
  const store = sys.service.store as MemoryPairStore;
  const beforeCounts = store.get(5, item.authorId);
  assert.equal((await post('/v1/feedback', { requestId: body.requestId, itemId: item.itemId, kind: 'click', value: 1 })).status, 202);
  const batch = await post('/v1/feedback/batch', {
    events: [
      { requestId: body.requestId, itemId: item.itemId, kind: 'watchTime', value: 42.5 },
      { requestId: body.requestId, itemId: item.itemId, kind: 'follow', value: 1, time: Date.now() },
    ],
  });
  assert.equal(batch.status, 202);
  assert.equal(batch.body.accepted, 2);
  await waitFor(() => store.get(5, item.authorId)[0]! > beforeCounts[0]!, 5000, 'the pair store update');
  const after = store.get(5, item.authorId);
  assert.equal(after[0], beforeCounts[0]! + 1, 'click +1');
  assert.equal(after[6], Math.fround(beforeCounts[6]! + 42.5), 'watch seconds added');
  assert.equal(after[3], 1, 'follow flag');
  // The next rank of this pair sees the new counts (the impression logs them).
  const h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
  assert.ok(h.joiner.joinedFeedback >= 3);
});

test('validation: every kind of bad body is a 4xx naming the field, and changes nothing', async () => {
  const good = { userId: 1, candidates: candidatesOf(sys, 3), k: 2 };
  const cases: [unknown, number, RegExp][] = [
    [{ ...good, userId: 'x' }, 400, /userId must be integer/],
    [{ candidates: good.candidates, k: 2 }, 400, /missing required field "userId"/],
    [{ ...good, extra: 1 }, 400, /unknown field "extra"/],
    [{ ...good, candidates: [{ ...good.candidates[0], color: 'red' }] }, 400, /candidates\/0 has unknown field "color"/],
    [
      { ...good, candidates: candidatesOf(sys, 200).concat(candidatesOf(sys, 101).map((c) => ({ ...c }))) },
      400,
      /candidates must NOT have more than 300 items/,
    ],
    [{ ...good, candidates: [] }, 400, /candidates must NOT have fewer than 1 items/],
    [{ ...good, k: 0 }, 400, /k must be >= 1/],
    [{ ...good, towerWeights: { watchTime: 'a' } }, 400, /towerWeights\/watchTime must be number/],
    [{ ...good, candidates: [{ itemId: 100000, authorId: 0 }] }, 400, /candidates\/0\/itemId 100000 is not an item/],
    [{ ...good, candidates: [{ itemId: 0, authorId: good.candidates[0]!.authorId + 1 }] }, 400, /candidates\/0\/authorId .* does not match item 0/],
    [{ ...good, candidates: [good.candidates[0], good.candidates[0]] }, 400, /candidates\/1\/itemId 0 appears twice/],
    [{ ...good, userId: 999999 }, 400, /userId 999999 is not a user/],
  ];
  const snapshot = () =>
    JSON.stringify([sys.service.pipeline.joiner.counters, sys.service.pipeline.joiner.pendingCount, sys.service.store.status(), sys.service.stream.status()]);
  const s0 = snapshot();
  for (const [payload, status, message] of cases) {
    const r = await post('/v1/rank', payload);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.body.message, message);
  }
  // Non-finite numbers: 1e999 parses to Infinity and is refused.
  const inf = await sys.service.app.inject({
    method: 'POST',
    url: '/v1/feedback',
    headers: { 'content-type': 'application/json' },
    payload: '{"requestId":"a","itemId":1,"kind":"click","value":1e999}',
  });
  assert.equal(inf.statusCode, 400);
  assert.match(inf.json().message, /value must be number/);
  const kind = await post('/v1/feedback', { requestId: 'a', itemId: 1, kind: 'dance', value: 1 });
  assert.equal(kind.status, 400);
  assert.match(kind.body.message, /kind must be one of click, longView/);
  const neg = await post('/v1/feedback/batch', {
    events: [
      { requestId: 'a', itemId: 1, kind: 'click', value: 1 },
      { requestId: 'a', itemId: 1, kind: 'gift', value: -3 },
    ],
  });
  assert.equal(neg.status, 400);
  assert.match(neg.body.message, /events\/1\/value must be >= 0/);
  const big = await sys.service.app.inject({
    method: 'POST',
    url: '/v1/rank',
    headers: { 'content-type': 'application/json' },
    payload: '{"userId":1,"k":1,"candidates":[' + '{"itemId":1,"authorId":1},'.repeat(60000) + '{"itemId":1,"authorId":1}]}',
  });
  assert.equal(big.statusCode, 413);
  const notJson = await sys.service.app.inject({ method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId":' });
  assert.equal(notJson.statusCode, 400);
  assert.equal(snapshot(), s0, 'rejected requests changed no state');
});

test('randomized malformed bodies: never a 5xx, never a state change', async () => {
  const rng = new Rng(2024);
  const base = () => ({ userId: rng.int(40), candidates: candidatesOf(sys, 1 + rng.int(10), rng.int(150)), k: 1 + rng.int(5) }) as Record<string, any>;
  // Every value below is invalid wherever the mutations put it (no in-range number, no empty array).
  const junk = (): unknown => [null, 'x', true, {}, [1, 'a'], { a: 1 }, 1e300, -1e300, 2 ** 40][rng.int(9)];
  const snapshot = () =>
    JSON.stringify([sys.service.pipeline.joiner.counters, sys.service.pipeline.joiner.pendingCount, sys.service.store.status(), sys.service.stream.status()]);
  const s0 = snapshot();
  let rejected = 0;
  for (let i = 0; i < 300; i++) {
    const body = base();
    const mutation = rng.int(7);
    if (mutation === 0) delete body[['userId', 'candidates', 'k'][rng.int(3)]!];
    else if (mutation === 1) body[['userId', 'candidates', 'k', 'towerWeights', 'userFeatures'][rng.int(5)]!] = junk();
    else if (mutation === 2) body['f' + rng.int(100)] = junk();
    else if (mutation === 3) body.candidates[rng.int(body.candidates.length)][['itemId', 'authorId', 'features', 'zzz'][rng.int(4)]!] = junk();
    else if (mutation === 4) body.candidates[rng.int(body.candidates.length)] = junk();
    else if (mutation === 5) body.candidates.push({ itemId: 1e6 + rng.int(10), authorId: 0 });
    else body.towerWeights = { [['click', 'watchTime', 'nope'][rng.int(3)]!]: junk() };
    const url = rng.bernoulli(0.8) ? '/v1/rank' : ['/v1/feedback', '/v1/feedback/batch'][rng.int(2)]!;
    const payload = rng.bernoulli(0.1) ? JSON.stringify(body).slice(0, rng.int(40)) : JSON.stringify(body);
    const r = await sys.service.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });
    assert.ok(r.statusCode < 500, `5xx for ${payload.slice(0, 200)}: ${r.body}`);
    if (r.statusCode >= 400) {
      rejected++;
      assert.equal(typeof r.json().message, 'string');
    } else {
      assert.fail(`mutation ${mutation} produced a valid request: ${payload.slice(0, 200)}`);
    }
  }
  assert.equal(rejected, 300);
  assert.equal(snapshot(), s0);
});

test('healthz and metrics report version, store, stream and joiner counters', async () => {
  const h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
  assert.equal(h.status, 'ok');
  assert.equal(h.modelVersion, 1);
  assert.equal(h.store.kind, 'memory');
  assert.deepEqual(h.degraded, { store: false, stream: false, modelReload: false });
  const m = await sys.service.app.inject({ method: 'GET', url: '/metrics' });
  assert.match(m.headers['content-type'] as string, /text\/plain/);
  assert.match(m.body, /^rliv_model_version 1$/m);
  assert.match(m.body, /^rliv_http_requests_total\{route="\/v1\/rank",status="200"\} \d+$/m);
  assert.match(m.body, /^rliv_http_request_duration_seconds_bucket\{route="\/v1\/rank",le="0.01"\} \d+$/m);
  assert.match(m.body, /^rliv_joiner_events_total\{outcome="impressions"\} \d+$/m);
  assert.match(m.body, /^rliv_store_degraded 0$/m);
  const items = (await sys.service.app.inject({ method: 'GET', url: '/v1/catalog/items?offset=5&limit=3' })).json();
  assert.equal(items.numItems, 200);
  assert.deepEqual(items.items, candidatesOf(sys, 3, 5));
  const badQuery = await sys.service.app.inject({ method: 'GET', url: '/v1/catalog/items?limit=301' });
  assert.equal(badQuery.statusCode, 400);
  assert.match(badQuery.json().message, /querystring\/limit must match pattern/);
  const nf = await sys.service.app.inject({ method: 'GET', url: '/v2/nothing' });
  assert.equal(nf.statusCode, 404);
});

test('topK: the k best indices in order, ties by index, NaN last (against a full sort)', async () => {
  const { topK } = await import('../../src/serving/server.js');
  const rng = new Rng(11);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + rng.int(300);
    const k = 1 + rng.int(n);
    const s = new Float32Array(n);
    for (let i = 0; i < n; i++) s[i] = rng.bernoulli(0.05) ? NaN : rng.int(20) / 4 - 2; // many ties
    const key = (i: number) => (Number.isNaN(s[i]!) ? -Infinity : s[i]!);
    const want = [...Array(n).keys()].sort((a, b) => key(b) - key(a) || a - b).slice(0, k);
    assert.deepEqual(Array.from(topK(s, n, k)), want);
  }
});
