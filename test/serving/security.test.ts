/**
 * Security of the ranking service (issue 17): unguessable request ids,
 * feedback only for issued requests and their items at plausible times,
 * bearer tokens on writes, and precise refusals of bodies the API does not
 * take (415 for non-JSON or compressed bodies, duplicate and forbidden keys).
 * Before: ids were `bootId-sequence` in base 36, so feedback posted for the
 * next id before that rank happened was joined into another user's
 * impressions; no route was authenticated; `time: 1e14` was accepted; a
 * gzip or text/plain body was a 400; duplicate keys were accepted (last won);
 * `__proto__` got "Body is not valid JSON".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SMALL_AGENT_CONFIG, SMALL_CATALOG, candidatesOf, smallSystem, waitFor } from './helpers.js';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import type { OnlineSystem } from '../../src/serving/online-system.js';
import type { MemoryPairStore } from '../../src/serving/pair-store.js';
import { jsonKeyProblem } from '../../src/serving/request-guards.js';
import { freshModel, ModelRegistry, servingModelCheckpoint, syntheticCatalogSpec } from '../../src/serving/model-registry.js';

const WRITE = 'w'.repeat(20) + '0123456789abcdef';
const RANK = 'r'.repeat(20) + '0123456789abcdef';

let sys: OnlineSystem;
before(async () => {
  sys = await smallSystem({ joiner: { windowMs: 60_000 } });
});
after(async () => {
  await sys.close();
});

async function post(s: OnlineSystem, url: string, payload: unknown, headers: Record<string, string> = {}) {
  const r = await s.service.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers });
  return { status: r.statusCode, body: r.json() as any, headers: r.headers };
}

const rank = async (s: OnlineSystem, userId: number, offset = 0, headers: Record<string, string> = {}) => {
  const r = await post(s, '/v1/rank', { userId, candidates: candidatesOf(s, 20, offset), k: 4 }, headers);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as { requestId: string; items: { itemId: number; authorId: number }[] };
};

const snapshot = (s: OnlineSystem) =>
  JSON.stringify([s.service.pipeline.joiner.counters, s.service.pipeline.joiner.pendingCount, s.service.pipeline.joiner.earlyCount, s.service.store.status()]);

test('request ids are random 128-bit values: distinct, no shared prefix or sequence', async () => {
  const ids = new Set<string>();
  const prefixes = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const { requestId } = await rank(sys, i % SMALL_CATALOG.users, (i * 7) % 150);
    assert.match(requestId, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(requestId, 'base64url').length, 16);
    ids.add(requestId);
    prefixes.add(requestId.slice(0, 8));
  }
  assert.equal(ids.size, 300);
  assert.equal(prefixes.size, 300, '48-bit prefixes of random ids do not repeat in 300 draws');
});

test("forged feedback: an id predicted from an observed one is refused and never joins another user's impressions", async () => {
  const s = await smallSystem({ joiner: { windowMs: 60_000 } });
  try {
    const mine = await rank(s, 1);
    // The attacker's guesses: the next id of a "boot-sequence" scheme, and a few random-looking ones.
    const m = /^(.*)-([0-9a-z]+)$/.exec(mine.requestId);
    const guesses = m ? [1, 2, 3].map((k) => `${m[1]}-${(parseInt(m[2]!, 36) + k).toString(36)}`) : [];
    guesses.push(mine.requestId.slice(0, -1) + (mine.requestId.endsWith('A') ? 'B' : 'A'), 'AAAAAAAAAAAAAAAAAAAAAA');
    const victimItems = candidatesOf(s, 20, 40);
    const before = snapshot(s);
    for (const requestId of guesses) {
      for (const c of victimItems) {
        const r = await post(s, '/v1/feedback', { requestId, itemId: c.itemId, kind: 'follow', value: 1 });
        assert.equal(r.status, 400, `forged ${requestId}: ${JSON.stringify(r.body)}`);
        assert.match(r.body.message, /requestId ".*" was not issued by this service/);
      }
    }
    assert.equal(snapshot(s), before, 'refused feedback changed nothing');
    // The victim's rank happens afterwards: none of the forged events reaches its impressions.
    const store = s.service.store as MemoryPairStore;
    const victim = await rank(s, 7, 40);
    assert.ok(!guesses.includes(victim.requestId));
    await s.service.pipeline.flush();
    assert.equal(s.service.pipeline.joiner.counters.joinedFeedback, 0);
    assert.equal(s.service.pipeline.joiner.counters.emittedWithFeedback, 0);
    for (const it of victim.items) assert.deepEqual(Array.from(store.get(7, it.authorId)), [0, 0, 0, 0, 0, 0, 0], 'victim pair counts untouched');
    const h = (await s.service.app.inject({ method: 'GET', url: '/healthz' })).json();
    assert.equal(h.requests.feedbackRejected.unknownRequest, guesses.length * victimItems.length);
  } finally {
    await s.close();
  }
});

test('feedback only for items of the request, not before the impression, not ahead of the clock (1e14); a batch with one bad event applies nothing', async () => {
  const r = await rank(sys, 3, 60);
  const it = r.items[0]!;
  const other = candidatesOf(sys, 200).find((c) => !r.items.some((x) => x.itemId === c.itemId))!;
  const s0 = snapshot(sys);
  const cases: [unknown, RegExp][] = [
    [{ requestId: r.requestId, itemId: other.itemId, kind: 'click', value: 1 }, new RegExp(`body/itemId ${other.itemId} was not ranked in request`)],
    [
      { requestId: r.requestId, itemId: it.itemId, kind: 'click', value: 1, time: 1e14 },
      /body\/time 100000000000000 is \d+ s after the server clock .* at most 60 s ahead/,
    ],
    [{ requestId: r.requestId, itemId: it.itemId, kind: 'click', value: 1, time: Date.now() - 3_600_000 }, /body\/time \d+ is before the impression of item/],
  ];
  for (const [payload, message] of cases) {
    const res = await post(sys, '/v1/feedback', payload);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.message, message);
  }
  const batch = await post(sys, '/v1/feedback/batch', {
    events: [
      { requestId: r.requestId, itemId: it.itemId, kind: 'click', value: 1 },
      { requestId: r.requestId, itemId: it.itemId, kind: 'like', value: 1, time: 1e14 },
      { requestId: 'nope', itemId: it.itemId, kind: 'like', value: 1 },
    ],
  });
  assert.equal(batch.status, 400);
  assert.match(batch.body.message, /^body\/events\/1\/time 100000000000000 .* \(and 1 more refused event; nothing was applied\)$/);
  assert.equal(snapshot(sys), s0, 'refused feedback changed nothing');
  const h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
  assert.ok(h.requests.feedbackRejected.futureTime >= 2 && h.requests.feedbackRejected.unknownItem >= 1 && h.requests.feedbackRejected.beforeImpression >= 1);
  const metrics = (await sys.service.app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /rliv_feedback_rejected_total\{reason="futureTime"\} [1-9]/);
  // Valid: its own item, now or slightly ahead (clock skew), and the default server time.
  const ok = await post(sys, '/v1/feedback/batch', {
    events: [
      { requestId: r.requestId, itemId: it.itemId, kind: 'click', value: 1, time: Date.now() + 30_000 },
      { requestId: r.requestId, itemId: it.itemId, kind: 'watchTime', value: 12 },
    ],
  });
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
  assert.equal(sys.service.pipeline.joiner.counters.joinedFeedback, JSON.parse(s0)[0].joinedFeedback + 2);
});

test('feedback after the join window closed is accepted and counted late (not refused)', async () => {
  const s = await smallSystem({ joiner: { windowMs: 30 } });
  try {
    const r = await rank(s, 2);
    await waitFor(() => s.service.pipeline.joiner.pendingCount === 0, 5000, 'the window to close');
    const res = await post(s, '/v1/feedback', { requestId: r.requestId, itemId: r.items[0]!.itemId, kind: 'click', value: 1 });
    assert.equal(res.status, 202);
    assert.equal(s.service.pipeline.joiner.counters.lateFeedback, 1);
  } finally {
    await s.close();
  }
});

test('bearer tokens: feedback needs the write token, rank the rank token when set; 401 changes nothing; reads stay open', async () => {
  const s = await smallSystem({ auth: { writeToken: WRITE, rankToken: RANK } });
  try {
    const noRank = await post(s, '/v1/rank', { userId: 1, candidates: candidatesOf(s, 5), k: 2 });
    assert.equal(noRank.status, 401);
    assert.match(noRank.body.message, /POST \/v1\/rank needs "Authorization: Bearer <token>" with the rank token .*none was given/);
    assert.equal(noRank.headers['www-authenticate'], 'Bearer realm="rliv"');
    const wrongRank = await post(s, '/v1/rank', { userId: 1, candidates: candidatesOf(s, 5), k: 2 }, { authorization: `Bearer ${WRITE}` });
    assert.equal(wrongRank.status, 401);
    assert.match(wrongRank.body.message, /the token given is wrong/);
    const r = await rank(s, 1, 0, { authorization: `Bearer ${RANK}` });
    const s0 = snapshot(s);
    const event = { requestId: r.requestId, itemId: r.items[0]!.itemId, kind: 'click', value: 1 };
    for (const headers of [
      {},
      { authorization: `Bearer ${RANK}` },
      { authorization: `Bearer ${WRITE}x` },
      { authorization: WRITE },
      { authorization: `Basic ${WRITE}` },
    ] as Record<string, string>[]) {
      for (const [url, body] of [
        ['/v1/feedback', event],
        ['/v1/feedback/batch', { events: [event] }],
      ] as const) {
        const res = await post(s, url, body, headers);
        assert.equal(res.status, 401, `${url} with ${JSON.stringify(headers)}`);
        assert.match(res.body.message, /needs "Authorization: Bearer <token>" with the write token \(rliv serve --auth-token-file\)/);
      }
    }
    assert.equal(snapshot(s), s0, '401s changed nothing');
    assert.equal((await post(s, '/v1/feedback', event, { authorization: `Bearer ${WRITE}` })).status, 202);
    for (const url of ['/healthz', '/metrics', '/v1/catalog/items?limit=3'])
      assert.equal((await s.service.app.inject({ method: 'GET', url })).statusCode, 200, url);
    const h = (await s.service.app.inject({ method: 'GET', url: '/healthz' })).json();
    assert.equal(h.requests.unauthorized, 2 + 10);
  } finally {
    await s.close();
  }
});

test('bodies: text/plain and compressed bodies are 415, duplicate and forbidden keys are refused naming where', async () => {
  const inject = (url: string, payload: string | Buffer, headers: Record<string, string>) => sys.service.app.inject({ method: 'POST', url, payload, headers });
  const body = JSON.stringify({ userId: 1, candidates: candidatesOf(sys, 3), k: 2 });
  const s0 = snapshot(sys);
  const text = await inject('/v1/rank', body, { 'content-type': 'text/plain' });
  assert.equal(text.statusCode, 415);
  assert.equal(text.json().message, 'Content-Type "text/plain" is not supported; send the body as application/json');
  const gz = await inject('/v1/rank', gzipSync(body), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.equal(gz.statusCode, 415);
  assert.match(gz.json().message, /Content-Encoding "gzip" is not supported; send the JSON body uncompressed/);
  const cases: [string, string][] = [
    [
      '{"userId":1,"k":2,"candidates":[{"itemId":0,"authorId":0}],"__proto__":{"x":1}}',
      'body has the key "__proto__", which is refused (no field of this API has that name)',
    ],
    [
      '{"userId":1,"k":2,"candidates":[{"itemId":0,"authorId":0,"constructor":{"prototype":{}}}]}',
      'body/candidates/0 has the key "constructor", which is refused (no field of this API has that name)',
    ],
    ['{"userId":1,"k":2,"userId":3,"candidates":[]}', 'body has the key "userId" twice; send each field once'],
    [
      '{"userId":1,"k":2,"candidates":[{"itemId":0,"authorId":0},{"itemId":1,"item\\u0049d":2,"authorId":0}]}',
      'body/candidates/1 has the key "itemId" twice; send each field once',
    ],
  ];
  for (const [payload, message] of cases) {
    const r = await inject('/v1/rank', payload, { 'content-type': 'application/json' });
    assert.equal(r.statusCode, 400, payload);
    assert.equal(r.json().message, message);
  }
  const nested = await inject(
    '/v1/feedback/batch',
    '{"events":[{"requestId":"a","itemId":1,"kind":"click","value":1},{"requestId":"a","itemId":1,"kind":"click","kind":"like","value":1}]}',
    { 'content-type': 'application/json' },
  );
  assert.equal(nested.json().message, 'body/events/1 has the key "kind" twice; send each field once');
  const broken = await inject('/v1/rank', '{"userId":', { 'content-type': 'application/json' });
  assert.equal(broken.statusCode, 400);
  assert.match(broken.json().message, /^body is not valid JSON: /);
  assert.equal(snapshot(sys), s0);
  // Strings that look like keys, escapes and nesting do not confuse the scan.
  assert.equal(jsonKeyProblem('{"a":"b,\\"a\\":1","c":[{"a":1},{"a":2}],"d":{"a":{"a":1}}}'), null);
  assert.equal(jsonKeyProblem('[{"x":1,"y":[1,{"z":1,"z":2}]}]'), 'body/0/y/1 has the key "z" twice; send each field once');
});

test('rliv serve: --auth-token-file is enforced; a short token is a usage error; a non-loopback host without a token warns', async () => {
  const models = tempDir('rliv-models-');
  const registry = new ModelRegistry(models);
  registry.publish(
    servingModelCheckpoint(await freshModel('RLIV-UA', syntheticCatalogSpec(SMALL_CATALOG.users, SMALL_CATALOG.items, 7), 3, SMALL_AGENT_CONFIG)),
  );
  const dir = tempDir();
  const short = join(dir, 'short');
  writeFileSync(short, 'abc\n');
  const r1 = await runCli(['serve', '--models', models, '--auth-token-file', short, '--port', '0', '--duration', '1']);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /--auth-token-file .*short: the token has 3 characters; use at least 32/);
  const r2 = await runCli(['serve', '--models', models, '--host', '0.0.0.0', '--port', '0', '--duration', '1', '--trainer', 'none']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /WARNING: listening on 0\.0\.0\.0 without --auth-token-file/);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, WRITE + '\n');
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'dist/src/cli/main.js'), 'serve', '--models', models, '--auth-token-file', tokenFile, '--port', '0', '--trainer', 'none'],
    { cwd: REPO_ROOT },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((r) => child.on('close', r));
  try {
    await waitFor(() => /listening on (http:\/\/\S+)/.test(stderr), 60_000, 'serve to listen');
    assert.doesNotMatch(stderr, /WARNING/);
    const base = /listening on (http:\/\/\S+)/.exec(stderr)![1]!;
    const call = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const cands = ((await (await fetch(`${base}/v1/catalog/items?limit=10`)).json()) as { items: unknown[] }).items;
    const ranked = await call('/v1/rank', { userId: 1, candidates: cands, k: 2 });
    assert.equal(ranked.status, 200);
    const { requestId, items } = (await ranked.json()) as { requestId: string; items: { itemId: number }[] };
    const event = { requestId, itemId: items[0]!.itemId, kind: 'click', value: 1 };
    assert.equal((await call('/v1/feedback', event)).status, 401);
    assert.equal((await call('/v1/feedback', event, { authorization: `Bearer ${WRITE}` })).status, 202);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test("the key check's fast path agrees with the precise scan on random bodies with and without duplicates", async () => {
  const { Rng } = await import('../../src/numeric/rng.js');
  const rng = new Rng(17);
  const value = (depth: number): string => {
    const r = rng.int(depth > 2 ? 3 : 5);
    if (r === 0) return String(rng.int(1000));
    if (r === 1) return JSON.stringify(['a:b', 'x', 'k' + rng.int(3), ''][rng.int(4)]);
    if (r === 2) return 'null';
    if (r === 3) return `[${Array.from({ length: rng.int(4) }, () => value(depth + 1)).join(',')}]`;
    const n = rng.int(4);
    return `{${Array.from({ length: n }, () => `"k${rng.int(4)}":${value(depth + 1)}`).join(',')}}`;
  };
  let dups = 0;
  for (let i = 0; i < 2000; i++) {
    const text = value(0);
    const fast = jsonKeyProblem(text, JSON.parse(text));
    assert.equal(fast, jsonKeyProblem(text), text);
    if (fast !== null) dups++;
  }
  assert.ok(dups > 100 && dups < 1900, `${dups} bodies with duplicates`);
});
