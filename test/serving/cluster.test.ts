/**
 * The online system on a Redis Cluster: three masters on loopback (ports
 * 6610-6612, cluster bus 6620-6622), started here with redis-server
 * --cluster-enabled yes and joined with redis-cli --cluster create.
 *   1. pair-count store and sample stream keep their contracts on the
 *      cluster, with users spread over the masters and the stream on one;
 *   2. end to end: rank -> feedback -> joiner -> ASA -> trainer (a separate
 *      consumer of the stream) -> new version served;
 *   3. two `rliv serve --redis-cluster` replicas see the same pair counts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { REPO_ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { HAS_REDIS_SERVER, NO_REDIS_REASON, TestRedisCluster, redisCliOut, smallSystem, candidatesOf, waitFor } from './helpers.js';
import { MemoryPairStore, type PairDelta } from '../../src/serving/pair-store.js';
import { RedisPairStore } from '../../src/serving/redis-pair-store.js';
import { RedisSampleStream } from '../../src/serving/redis-sample-stream.js';
import { OnlineTrainer } from '../../src/serving/online-trainer.js';
import { allocSampleBatch } from '../../src/mdp/scri-mdp.js';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';

const PORTS = [6610, 6611, 6612];
const skip = !HAS_REDIS_SERVER && NO_REDIS_REASON;
let cluster: TestRedisCluster | undefined;
const children: ChildProcess[] = [];

before(async () => {
  if (!HAS_REDIS_SERVER) return;
  cluster = await TestRedisCluster.start(PORTS);
  console.log(
    `# ${cluster.createOutput
      .replace(/\x1b\[[0-9;]*m/g, '')
      .trim()
      .split('\n')
      .filter((l) => /Performing|slots|\[OK\]|Master\[/.test(l))
      .join('\n# ')}`,
  );
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await cluster?.stop();
});

/** Keys matching `pattern` on each master (KEYS on each node: the cluster has no global view). */
async function keysPerNode(pattern: string): Promise<string[][]> {
  return Promise.all(PORTS.map(async (p) => (await redisCliOut(p, ['--raw', 'keys', pattern])).split('\n').filter(Boolean)));
}

test(
  'pair store and sample stream on a 3-master cluster: same counts as the memory store, users spread over the masters, the stream on one slot',
  { skip },
  async () => {
    const rs = new RedisPairStore({ url: cluster!.url, cluster: true, prefix: 'c1:' });
    assert.equal(await rs.connect(), true, rs.status().lastError);
    const ms = new MemoryPairStore();
    const rng = new Rng(11);
    for (let round = 0; round < 8; round++) {
      const ds: PairDelta[] = [];
      for (let i = 0; i < 60; i++) {
        const delta = new Float32Array(PAIR_COUNT_DIM);
        for (let k = 0; k < PAIR_COUNT_DIM; k++) if (rng.bernoulli(0.3)) delta[k] = k === 6 ? 7.5 : 1;
        ds.push({ user: rng.int(30), author: rng.int(20), delta });
      }
      await rs.apply(ds);
      await ms.apply(ds);
    }
    assert.equal(rs.status().appliedUpdates, 480);
    const authors = Int32Array.from({ length: 20 }, (_, i) => i);
    for (let u = 0; u < 30; u++) {
      const a = new Float32Array(20 * PAIR_COUNT_DIM),
        b = new Float32Array(20 * PAIR_COUNT_DIM);
      assert.equal(await rs.read(u, authors, 20, a), true);
      await ms.read(u, authors, 20, b);
      assert.deepEqual(Array.from(a), Array.from(b), `user ${u}`);
    }
    const perNode = await keysPerNode('c1:pc:*');
    assert.equal(perNode.flat().length, 30, 'one hash per user');
    assert.ok(perNode.filter((k) => k.length > 0).length >= 2, `users spread over the masters: ${perNode.map((k) => k.length)}`);
    assert.ok(
      perNode.flat().every((k) => /^c1:pc:\{\d+\}$/.test(k)),
      'the user id is the hash tag',
    );
    await rs.close();

    const ss = new RedisSampleStream({ url: cluster!.url, cluster: true, prefix: 'c1:' });
    assert.equal(await ss.connect(), true);
    for (let i = 0; i < 5; i++) {
      const b = allocSampleBatch(2, 1, 1);
      b.user[0] = i;
      b.count = 2;
      await ss.publish(b);
    }
    const got = await ss.read('g', 'A', 10, 100);
    assert.deepEqual(
      got.map((e) => e.batch.user[0]),
      [0, 1, 2, 3, 4],
    );
    await ss.ack(
      'g',
      got.map((e) => e.id),
    );
    assert.deepEqual(await ss.read('g', 'A', 10, 50), []);
    const streamNodes = await keysPerNode('c1:{samples}');
    assert.equal(streamNodes.filter((k) => k.length > 0).length, 1, 'the stream lives on one master');
    await ss.close();
    assert.throws(() => new RedisPairStore({ url: cluster!.url, cluster: true, prefix: 'a{b}:' }), /must not contain \{ or \}/);
  },
);

test('end to end on the cluster: rank -> feedback -> joiner -> ASA -> trainer -> new version served', { skip, timeout: 300_000 }, async () => {
  const sys = await smallSystem({ redisUrl: cluster!.url, redisCluster: true, redisPrefix: 'e2e:', joiner: { windowMs: 30 } });
  const trainerStream = new RedisSampleStream({ url: cluster!.url, cluster: true, prefix: 'e2e:' });
  await trainerStream.connect();
  const trainer = new OnlineTrainer(sys.service.holder.current, trainerStream, sys.registry, {
    publishEverySamples: 24,
    minPublishIntervalMs: 0,
    blockMs: 50,
    stepsPerRound: 5,
    consumer: 'cluster-trainer',
  });
  const running = trainer.run();
  try {
    const rank = async (userId: number, offset: number) => {
      const r = await sys.service.app.inject({ method: 'POST', url: '/v1/rank', payload: { userId, candidates: candidatesOf(sys, 30, offset), k: 6 } });
      assert.equal(r.statusCode, 200, r.body);
      return r.json() as { requestId: string; modelVersion: number; degraded: boolean; items: { itemId: number }[] };
    };
    const first = await rank(1, 0);
    assert.equal(first.modelVersion, 1);
    assert.equal(first.degraded, false);
    for (let i = 0; i < 12; i++) {
      const res = await rank(i % 40, (i * 7) % 150);
      const events = res.items.flatMap((it, j) => [
        { requestId: res.requestId, itemId: it.itemId, kind: 'click', value: 1 },
        ...(j % 2 === 0 ? [{ requestId: res.requestId, itemId: it.itemId, kind: 'watchTime', value: 10 + j }] : []),
      ]);
      const f = await sys.service.app.inject({ method: 'POST', url: '/v1/feedback/batch', payload: { events } });
      assert.equal(f.statusCode, 202, f.body);
    }
    try {
      await waitFor(() => sys.service.holder.current.version > 1, 240_000, "the trainer's version to be served");
    } catch (err) {
      // Say where it stopped: the trainer's and the stream's figures at the time.
      throw new Error(
        `${(err as Error).message}; trainer ${JSON.stringify(trainer.stats)}; stream ${JSON.stringify(sys.service.stream.status())}; store ${JSON.stringify(sys.service.store.status())}; joiner ${JSON.stringify(sys.service.pipeline.joiner.counters)}`,
      );
    }
    const after = await rank(3, 0);
    assert.ok(after.modelVersion > 1, `version ${after.modelVersion}`);
    assert.ok(sys.service.pipeline.joiner.counters.joinedFeedback > 0, 'the joiner joined feedback');
    assert.ok(sys.service.store.status().appliedUpdates > 0, 'ASA updates reached the cluster');
    assert.ok(trainer.stats.samplesConsumed > 0 && trainer.stats.published > 0);
    const h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
    assert.deepEqual(h.degraded, { store: false, stream: false, modelReload: false });
    const perNode = await keysPerNode('e2e:pc:*');
    assert.ok(perNode.filter((k) => k.length > 0).length >= 2, `pair counts on several masters: ${perNode.map((k) => k.length)}`);
    console.log(
      `# e2e on the cluster: served version ${after.modelVersion}; trainer consumed ${trainer.stats.samplesConsumed} samples, ${trainer.stats.steps} steps, published ${trainer.stats.published}; pair-count hashes per master ${perNode.map((k) => k.length).join('/')}`,
    );
  } finally {
    trainer.stop();
    await sys.close();
    await running;
    await trainerStream.close();
  }
});

const runningTs = import.meta.url.endsWith('.ts');
const ENTRY = runningTs ? join(REPO_ROOT, 'src/cli/main.ts') : join(REPO_ROOT, 'dist/src/cli/main.js');

function serve(port: number, models: string): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [
      ...(runningTs ? ['--import', 'tsx'] : []),
      ENTRY,
      'serve',
      '--port',
      String(port),
      '--models',
      models,
      '--redis',
      cluster!.url,
      '--redis-cluster',
      '--trainer',
      'none',
      '--join-window',
      '0.5',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return { child, stderr: () => err, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

async function post(url: string, body: unknown): Promise<any> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await r.json();
  assert.ok(r.status < 300, `${url}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

test('two rliv serve replicas on the same cluster see the same pair counts', { skip, timeout: 300_000 }, async () => {
  const models = tempDir('rliv-cluster-models-');
  const a = serve(6630, models);
  await waitFor(() => /listening on/.test(a.stderr()) || a.child.exitCode !== null, 240_000, 'replica A to listen');
  assert.match(a.stderr(), /listening on http:\/\/127\.0\.0\.1:6630/, a.stderr());
  const b = serve(6631, models); // the registry has version 1 now: B serves the same model
  await waitFor(() => /listening on/.test(b.stderr()) || b.child.exitCode !== null, 240_000, 'replica B to listen');
  assert.match(b.stderr(), /listening on http:\/\/127\.0\.0\.1:6631/, b.stderr());
  const A = 'http://127.0.0.1:6630',
    B = 'http://127.0.0.1:6631';
  const items = ((await (await fetch(`${A}/v1/catalog/items?limit=40`)).json()) as { items: { itemId: number; authorId: number }[] }).items;
  const client = new Cluster(PORTS.map((port) => ({ host: '127.0.0.1', port })));
  try {
    const scores = async (base: string, userId: number) => {
      const r = await post(`${base}/v1/rank`, { userId, candidates: items, k: 40 });
      assert.equal(r.degraded, false);
      assert.equal(r.modelVersion, 1);
      return Object.fromEntries(r.items.map((it: { itemId: number; score: number }) => [it.itemId, it.score]));
    };
    // Feedback through one replica, ranking through the other, both ways.
    for (const [write, read, userId] of [
      [A, B, 7],
      [B, A, 8],
    ] as const) {
      const before = await scores(read, userId);
      assert.deepEqual(await scores(write, userId), before, 'no counts yet: same scores on both replicas');
      const r = await post(`${write}/v1/rank`, { userId, candidates: items, k: 6 });
      await post(`${write}/v1/feedback/batch`, {
        events: r.items.flatMap((it: { itemId: number }) => [
          { requestId: r.requestId, itemId: it.itemId, kind: 'click', value: 1 },
          { requestId: r.requestId, itemId: it.itemId, kind: 'watchTime', value: 40 },
        ]),
      });
      // The writer's joiner closes the window and applies ASA to the cluster.
      await waitFor(async () => Object.keys(await client.hgetall(`rliv:pc:{${userId}}`)).length > 0, 30_000, `pair counts of user ${userId} in the cluster`);
      const counts = await client.hgetall(`rliv:pc:{${userId}}`);
      const fromRead = await scores(read, userId);
      const fromWrite = await scores(write, userId);
      assert.deepEqual(fromRead, fromWrite, `user ${userId}: both replicas score with the same pair counts`);
      assert.notDeepEqual(fromRead, before, `user ${userId}: the counts written through one replica changed the other's scores`);
      console.log(
        `# user ${userId}: feedback via ${write}, ${Object.keys(counts).length} pair(s) in the cluster (${Object.entries(counts)
          .slice(0, 2)
          .map(([k, v]) => `author ${k}: ${v}`)
          .join('; ')}); ${read} ranks with them`,
      );
    }
  } finally {
    client.disconnect();
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
  }
  assert.equal(await a.exited, 0, a.stderr());
  assert.equal(await b.exited, 0, b.stderr());
});
