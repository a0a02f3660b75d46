import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { smallSystem, candidatesOf, captureLog, waitFor, HAS_REDIS_SERVER, NO_REDIS_REASON, TestRedis, SMALL_AGENT_CONFIG, SMALL_CATALOG } from './helpers.js';
import type { OnlineSystem } from '../../src/serving/online-system.js';
import { freshModel, servingModelCheckpoint, sha256Hex, instantiateModel } from '../../src/serving/model-registry.js';
import { OnlineTrainer } from '../../src/serving/online-trainer.js';
import { RedisSampleStream } from '../../src/serving/redis-sample-stream.js';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { SESSION_SUMMARY_DIM } from '../../src/environment/trace.js';

if (!HAS_REDIS_SERVER) console.log(`# ${NO_REDIS_REASON}`);

async function rank(sys: OnlineSystem, userId: number, n = 30, offset = 0, k = 6) {
  const r = await sys.service.app.inject({ method: 'POST', url: '/v1/rank', payload: { userId, candidates: candidatesOf(sys, n, offset), k } });
  assert.equal(r.statusCode, 200, r.body);
  return r.json() as { requestId: string; modelVersion: number; degraded: boolean; items: { itemId: number; authorId: number; score: number }[] };
}

/** Ranks for several users and sends click + watch feedback on every exposed item. */
async function traffic(sys: OnlineSystem, requests: number, offset = 0): Promise<void> {
  for (let i = 0; i < requests; i++) {
    const res = await rank(sys, i % 40, 30, (offset + i * 7) % 150);
    const events = res.items.flatMap((it, j) => [
      { requestId: res.requestId, itemId: it.itemId, kind: 'click', value: 1 },
      ...(j % 2 === 0 ? [{ requestId: res.requestId, itemId: it.itemId, kind: 'watchTime', value: 10 + j }] : []),
    ]);
    const f = await sys.service.app.inject({ method: 'POST', url: '/v1/feedback/batch', payload: { events } });
    assert.equal(f.statusCode, 202, f.body);
  }
}

test('end to end (memory): rank -> feedback -> joiner -> ASA -> trainer -> new checkpoint -> server reports the new version', async () => {
  const sys = await smallSystem({
    inlineTrainer: true,
    joiner: { windowMs: 30 },
    trainer: { publishEverySamples: 24, minPublishIntervalMs: 0, blockMs: 30, stepsPerRound: 5 },
  });
  try {
    const first = await rank(sys, 1);
    assert.equal(first.modelVersion, 1);
    await traffic(sys, 12);
    await waitFor(() => sys.service.holder.current.version > 1, 30_000, 'a new model version');
    const after = await rank(sys, 1);
    assert.ok(after.modelVersion > 1, `version ${after.modelVersion}`);
    const h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
    assert.equal(h.modelVersion, sys.service.holder.current.version);
    assert.ok(sys.trainer!.stats!.steps > 0 && sys.trainer!.stats!.samplesConsumed > 0);
    // The published file is what the pointer says (SHA-256) and loads as a model.
    const pointer = sys.registry.latest()!;
    const bytes = readFileSync(join(sys.registry.dir, pointer.file));
    assert.equal(sha256Hex(bytes), pointer.sha256);
    const fresh = await instantiateModel(bytes, pointer.version, 'test');
    assert.equal(fresh.agent, 'RLIV-UA');
    // From version 3 on, reloads reuse the idle previous ranker object: it must score exactly like a freshly built one.
    await traffic(sys, 12, 20);
    await waitFor(() => sys.service.holder.current.version >= 3, 30_000, 'a third version');
    await sys.trainer!.stop();
    await waitFor(() => sys.service.holder.current.version === sys.registry.latest()!.version, 30_000, 'the server to serve the latest version');
    const served = sys.service.holder.current;
    const p3 = sys.registry.latest()!;
    {
      const rebuilt = await instantiateModel(readFileSync(join(sys.registry.dir, p3.file)), p3.version, 'test');
      const req = {
        user: 2,
        candidates: Int32Array.from({ length: 50 }, (_, i) => i),
        candidatePairCounts: new Float32Array(50 * PAIR_COUNT_DIM),
        summary: new Float32Array(SESSION_SUMMARY_DIM),
      };
      const a = new Float32Array(50),
        b = new Float32Array(50);
      served.ranker.score(req, a);
      rebuilt.ranker.score(req, b);
      assert.deepEqual(a, b, 'recycled ranker = fresh ranker');
    }
    // Samples carried the feedback: the joiner joined clicks, ASA moved the store.
    assert.ok(sys.service.pipeline.joiner.counters.joinedFeedback > 0);
    assert.ok(sys.service.store.status().appliedUpdates > 0);
  } finally {
    await sys.close();
  }
});

test('a corrupt or unloadable version is refused; the current model keeps serving; healthz and the log say so', async () => {
  const log = captureLog();
  const sys = await smallSystem({ log: { level: 'info', destination: log.destination } });
  try {
    const v1 = sys.service.holder.current;
    // (a) bytes changed after publishing: SHA-256 mismatch.
    const spec = v1.catalogSpec;
    const other = await freshModel('RLIV-UA', spec, 99, SMALL_AGENT_CONFIG);
    const p2 = sys.registry.publish(servingModelCheckpoint(other));
    const path2 = join(sys.registry.dir, p2.file);
    const bytes = readFileSync(path2);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(path2, bytes);
    assert.equal(await sys.service.holder.checkNow(), false);
    assert.equal(sys.service.holder.current, v1);
    assert.equal(sys.service.holder.reload.failures, 1);
    assert.match(sys.service.holder.reload.lastError!, /corrupted/);
    const r = await rank(sys, 2);
    assert.equal(r.modelVersion, 1);
    const h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
    assert.equal(h.status, 'degraded');
    assert.equal(h.degraded.modelReload, true);
    // (b) a pointer whose SHA matches, but the file is not a checkpoint.
    const junk = Buffer.from('definitely not a checkpoint');
    writeFileSync(join(sys.registry.dir, 'v000003.ckpt'), junk);
    writeFileSync(sys.registry.pointerPath, JSON.stringify({ version: 3, file: 'v000003.ckpt', sha256: sha256Hex(junk), agent: 'RLIV-UA', publishedAt: '' }));
    assert.equal(await sys.service.holder.checkNow(), false);
    assert.equal(sys.service.holder.reload.failures, 2);
    assert.match(sys.service.holder.reload.lastError!, /not an rliv checkpoint/);
    assert.equal((await rank(sys, 2)).modelVersion, 1);
    // (c) a good version after that is picked up.
    const p4 = sys.registry.publish(servingModelCheckpoint(other));
    await waitFor(() => sys.service.holder.current.version === p4.version, 5000, 'the good version');
    assert.equal((await rank(sys, 2)).modelVersion, p4.version);
    // The log: a warning for the refused versions (a poll of the reload status), info when the good one is served.
    await waitFor(() => log.messages(40).length > 0, 5000, 'the refusal in the log');
    const refused = log.lines.find((l) => l.level === 40)!;
    assert.match(refused.msg, /model version refused by hot reload; the current version keeps serving/);
    assert.match(refused.error, /not an rliv checkpoint|corrupted/);
    assert.equal(refused.servingVersion, 1);
    assert.ok(log.lines.some((l) => l.level === 30 && l.msg === 'serving a new model version' && l.modelVersion === p4.version));
  } finally {
    await sys.close();
  }
});

test('hot reload under load: no failed request, every response consistent with exactly one version', async () => {
  const sys = await smallSystem({ reloadIntervalMs: 5 });
  try {
    const spec = sys.service.holder.current.catalogSpec;
    const cands = candidatesOf(sys, 40);
    const req = {
      user: 4,
      candidates: Int32Array.from(cands.map((c) => c.itemId)),
      candidatePairCounts: new Float32Array(40 * PAIR_COUNT_DIM),
      summary: new Float32Array(SESSION_SUMMARY_DIM),
    };
    const expectedTop = new Map<number, { item: number; score: number }>();
    const remember = (version: number, model = sys.service.holder.current) => {
      const s = new Float32Array(40);
      model.ranker.score(req, s);
      let best = 0;
      for (let i = 1; i < 40; i++) if (s[i]! > s[best]!) best = i;
      expectedTop.set(version, { item: cands[best]!.itemId, score: s[best]! });
    };
    remember(1);
    const versions = await Promise.all([11, 12, 13].map((seed) => freshModel('RLIV-UA', spec, seed, SMALL_AGENT_CONFIG)));
    let published = 0;
    const publisher = (async () => {
      for (const m of versions) {
        await new Promise((r) => setTimeout(r, 30));
        const p = sys.registry.publish(servingModelCheckpoint(m));
        remember(p.version, m);
        published++;
      }
    })();
    const responses: Promise<{ statusCode: number; body: string }>[] = [];
    while (published < versions.length || responses.length < 150) {
      responses.push(sys.service.app.inject({ method: 'POST', url: '/v1/rank', payload: { userId: 4, candidates: cands, k: 1 } }));
      await new Promise((r) => setImmediate(r));
      if (responses.length > 5000) break;
    }
    await publisher;
    const seen = new Set<number>();
    for (const p of await Promise.all(responses)) {
      assert.equal(p.statusCode, 200, p.body);
      const body = JSON.parse(p.body);
      const want = expectedTop.get(body.modelVersion);
      assert.ok(want, `unknown version ${body.modelVersion}`);
      assert.equal(body.items[0].itemId, want.item, `version ${body.modelVersion}: top item`);
      assert.equal(body.items[0].score, want.score, `version ${body.modelVersion}: score from that version's parameters`);
      seen.add(body.modelVersion);
    }
    assert.ok(seen.size >= 2, `responses saw versions ${[...seen]}`);
  } finally {
    await sys.close();
  }
});

test(
  'end to end (redis): separate trainer consumes the Redis stream, publishes, the server hot-reloads; kill Redis mid-run: degraded, then recovered',
  { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON },
  async () => {
    const redis = await TestRedis.start();
    const log = captureLog();
    const sys = await smallSystem({ redisUrl: redis.url, joiner: { windowMs: 30 }, log: { level: 'info', destination: log.destination } });
    const trainerStream = new RedisSampleStream({ url: redis.url });
    await trainerStream.connect();
    const trainer = new OnlineTrainer(sys.service.holder.current, trainerStream, sys.registry, {
      publishEverySamples: 24,
      minPublishIntervalMs: 0,
      blockMs: 50,
      stepsPerRound: 5,
      consumer: 'test-trainer',
    });
    const running = trainer.run();
    try {
      assert.equal((await rank(sys, 3)).modelVersion, 1);
      await traffic(sys, 12);
      await waitFor(() => sys.service.holder.current.version > 1, 30_000, "the trainer's version to be served");
      assert.ok((await rank(sys, 3)).modelVersion > 1);
      assert.equal(sys.service.store.kind, 'redis');
      assert.ok(sys.service.store.status().appliedUpdates > 0, 'ASA updates reached Redis');

      // Redis dies mid-run.
      await redis.stop();
      await waitFor(() => !sys.service.store.status().healthy, 5000, 'the store to notice');
      const during = await rank(sys, 3);
      assert.equal(during.degraded, true);
      assert.equal(during.items.length, 6);
      let h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
      assert.equal(h.status, 'degraded');
      assert.equal(h.degraded.store, true);
      assert.equal(h.degraded.stream, true);
      const m = (await sys.service.app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(m, /^rliv_store_degraded 1$/m);
      assert.match(m, /^rliv_rank_degraded_total [1-9]\d*$/m);
      await traffic(sys, 3, 40); // feedback while down: store updates and samples wait in bounded buffers

      await redis.start();
      await waitFor(() => sys.service.store.status().healthy && sys.service.stream.status().healthy, 15_000, 'reconnection');
      await waitFor(async () => (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json().status === 'ok', 10_000, 'healthz ok');
      h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
      assert.deepEqual(h.degraded, { store: false, stream: false, modelReload: false });
      const back = await rank(sys, 3);
      assert.equal(back.degraded, false);
      await waitFor(() => sys.service.store.status().deferredUpdates === 0 && sys.service.stream.status().bufferedEntries === 0, 10_000, 'buffers flushed');
      // The outage in the log: a warning when the store and stream went down, info when they came back.
      await waitFor(() => log.messages(30).includes('pair-count store available again'), 5000, 'the recovery in the log');
      const warns = log.messages(40);
      assert.ok(warns.includes('pair-count store unavailable: ranking with default pair counts (degraded)'), warns.join('\n'));
      assert.ok(warns.includes('sample stream unavailable: samples are buffered (bounded) until it returns'), warns.join('\n'));
      const down = log.lines.find((l) => l.msg.startsWith('pair-count store unavailable'))!;
      assert.equal(down.store, 'redis');
      assert.ok(down.error === undefined || typeof down.error === 'string', "the store's last error, when it has one");
    } finally {
      trainer.stop();
      await sys.close();
      await running;
      await trainerStream.close();
      await redis.stop();
    }
  },
);

test('redis + inline trainer in its worker thread: versions published and served', { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON }, async () => {
  const redis = await TestRedis.start();
  const sys = await smallSystem({
    redisUrl: redis.url,
    inlineTrainer: true,
    joiner: { windowMs: 30 },
    trainer: { publishEverySamples: 24, minPublishIntervalMs: 0, blockMs: 50, stepsPerRound: 5 },
  });
  try {
    await traffic(sys, 12);
    await waitFor(() => sys.service.holder.current.version > 1, 60_000, 'a version from the worker trainer');
    assert.ok((await rank(sys, 2)).modelVersion > 1);
    assert.equal(sys.trainer!.error, undefined);
  } finally {
    await sys.close();
    await redis.stop();
  }
});

test("serves a checkpoint in rliv train's layout: catalog rebuilt from its world description, env kept verbatim on re-publish", async () => {
  const { encodeCheckpoint } = await import('../../src/agents/checkpoint.js');
  const { buildDescribedCatalog } = await import('../../src/environment/world-description.js');
  const { createAgent } = await import('../../src/agents/registry.js');
  const { startOnlineSystem } = await import('../../src/serving/online-system.js');
  const { tempDir } = await import('../helpers/paths.js');
  const world = { kind: 'rliv-world', version: 1, catalogSeed: 12345, worldSeed: 678, numUsers: 30, numItems: 150, worldConfig: { marker: 'kept' } };
  const catalog = await buildDescribedCatalog(world as never);
  const agent = createAgent('RLIV-UA', { catalog, seed: 5 }, SMALL_AGENT_CONFIG);
  const dir = tempDir('rliv-train-ckpt-');
  const file = join(dir, 'checkpoint.ckpt');
  writeFileSync(
    file,
    encodeCheckpoint({
      agent: 'RLIV-UA',
      agentConfig: SMALL_AGENT_CONFIG,
      state: { options: { agentName: 'RLIV-UA', meta: { env: { kind: 'world', scale: 'smoke', seed: 9, world }, agentSeed: 5 } }, epoch: 3 },
      sections: { model: agent.save() },
    }),
  );
  const sys = await startOnlineSystem({ modelsDir: tempDir('rliv-models-'), checkpointPath: file, seed: 1, inlineTrainer: false });
  try {
    const served = sys.service.holder.current;
    assert.equal(served.catalog.numItems, 150);
    assert.equal(served.catalog.numAuthors, catalog.numAuthors);
    assert.deepEqual(Array.from(served.catalog.itemAuthor), Array.from(catalog.itemAuthor), 'same catalog as training built');
    const cands = Array.from({ length: 20 }, (_, i) => ({ itemId: i, authorId: catalog.itemAuthor[i]! }));
    const r = await sys.service.app.inject({ method: 'POST', url: '/v1/rank', payload: { userId: 2, candidates: cands, k: 3 } });
    assert.equal(r.statusCode, 200, r.body);
    // Same scores as the agent that wrote the checkpoint.
    const s = new Float32Array(20);
    agent.score(
      {
        user: 2,
        candidates: Int32Array.from(cands.map((c) => c.itemId)),
        candidatePairCounts: new Float32Array(20 * PAIR_COUNT_DIM),
        summary: new Float32Array(SESSION_SUMMARY_DIM),
      },
      s,
    );
    assert.equal(r.json().items[0].score, Math.max(...s));
    // The registry copy keeps the world description (worldConfig included) for rliv evaluate.
    const p = sys.registry.latest()!;
    const { decodeCheckpoint } = await import('../../src/agents/checkpoint.js');
    const back = decodeCheckpoint(readFileSync(join(sys.registry.dir, p.file)));
    assert.deepEqual((back.state.options as any).meta.env.world, world);
  } finally {
    await sys.close();
  }
});
