/**
 * Exactly-once training from the sample stream (issue 17): a restarted
 * trainer trains on its unacknowledged entries once, then on new ones;
 * entries a published version already contains are never trained again;
 * nothing is lost. Before: a restarted `rliv train-online` re-read its first
 * page of pending entries from id 0 until a publish acknowledged them (never,
 * with fewer pending samples than --publish-every), training on 606 samples
 * about 49 times and never reaching new entries.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { HAS_REDIS_SERVER, NO_REDIS_REASON, SMALL_AGENT_CONFIG, SMALL_CATALOG, TestRedis, candidatesOf, smallSystem, waitFor } from './helpers.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { MemorySampleStream, type SampleStream } from '../../src/serving/sample-stream.js';
import { RedisSampleStream } from '../../src/serving/redis-sample-stream.js';
import { OnlineTrainer, trainedEntriesOf, type TrainedEntries } from '../../src/serving/online-trainer.js';
import { freshModel, ModelRegistry, servingModelCheckpoint, syntheticCatalogSpec } from '../../src/serving/model-registry.js';
import { decodeCheckpoint } from '../../src/agents/checkpoint.js';
import { allocSampleBatch, type SampleBatch } from '../../src/mdp/scri-mdp.js';
import type { OnlineSystem } from '../../src/serving/online-system.js';

let redis: TestRedis | undefined;
/** A private server on a port of issue 17's range, 6500-6549. */
before(async () => {
  if (HAS_REDIS_SERVER) redis = await TestRedis.startInRange(6500, 6549);
});
after(async () => {
  await redis?.stop();
});

/** `n` plausible samples of the small catalog (user `tag`), feature widths of that catalog. */
function samples(n: number, tag: number, userDim: number, itemDim: number): SampleBatch {
  const b = allocSampleBatch(n, userDim, itemDim);
  for (let i = 0; i < n; i++) {
    b.user[i] = tag % SMALL_CATALOG.users;
    b.item[i] = (tag * 7 + i) % SMALL_CATALOG.items;
    b.author[i] = 0;
    b.timeMs[i] = 1.7e12 + tag * 1000 + i;
    b.rewards[i * 4] = (tag + i) % 3 === 0 ? 1 : 0;
    b.nextPairCounts[i * 7] = b.rewards[i * 4]!;
  }
  b.count = n;
  return b;
}

test('memory stream: a restarted consumer gets each unacknowledged entry once, in order, then new ones', async () => {
  const mem = new MemorySampleStream();
  for (let i = 0; i < 10; i++) await mem.publish(samples(1, i, 0, 0));
  const first = await mem.read('g', 'A', 10, 0);
  assert.equal(first.length, 10);
  mem.restartConsumer('g', 'A');
  await mem.publish(samples(1, 99, 0, 0));
  const seen: string[] = [];
  for (let r = 0; r < 6; r++) for (const e of await mem.read('g', 'A', 3, 0)) seen.push(e.id);
  // Before: ['0','1','2'] again and again, entry 10 never.
  assert.deepEqual(seen, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  await mem.close();
});

test(
  'redis stream: pending entries re-read once each after a restart; entries held unacknowledged are not claimed back',
  { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON },
  async () => {
    const prefix = 'rst1:';
    const producer = new RedisSampleStream({ url: redis!.url, prefix });
    await producer.connect();
    for (let i = 0; i < 10; i++) await producer.publish(samples(1, i, 0, 0));
    const a = new RedisSampleStream({ url: redis!.url, prefix, claimIdleMs: 100 });
    assert.equal((await a.read('g', 'A', 10, 10)).length, 10);
    await a.close();
    // Restart: each pending entry once, then the new one.
    const b = new RedisSampleStream({ url: redis!.url, prefix, claimIdleMs: 100 });
    await producer.publish(samples(1, 99, 0, 0));
    const ids: string[] = [];
    for (let r = 0; r < 6; r++) for (const e of await b.read('g', 'A', 3, 10)) ids.push(e.id);
    assert.equal(ids.length, 11, `got ${ids.length}: ${ids.join(' ')}`);
    assert.equal(new Set(ids).size, 11);
    // Held long past claimIdleMs: XAUTOCLAIM (every read after 100 ms) must not hand them back.
    await new Promise((r) => setTimeout(r, 300));
    for (let r = 0; r < 3; r++) {
      assert.deepEqual(await b.read('g', 'A', 10, 10), []);
      await new Promise((res) => setTimeout(res, 120));
    }
    // Another live consumer does not take them either: the holder's heartbeat keeps them busy.
    const other = new RedisSampleStream({ url: redis!.url, prefix, claimIdleMs: 300 });
    for (let r = 0; r < 4; r++) {
      await b.read('g', 'A', 10, 10);
      assert.deepEqual(await other.read('g', 'B', 10, 10), []);
      await new Promise((res) => setTimeout(res, 110));
    }
    await b.ack('g', ids);
    await Promise.all([producer.close(), b.close(), other.close()]);
  },
);

test('a trainer that died between publishing and acknowledging: the restart skips what the version contains', async () => {
  const registry = new ModelRegistry(tempDir('rliv-models-'));
  const spec = syntheticCatalogSpec(SMALL_CATALOG.users, SMALL_CATALOG.items, 7);
  const base = await freshModel('RLIV-UA', spec, 3, SMALL_AGENT_CONFIG);
  registry.publish(servingModelCheckpoint(base));
  const ud = base.catalog.userFeatureFields.length,
    id = base.catalog.itemFeatureFields.length;
  const mem = new MemorySampleStream();
  for (let i = 0; i < 8; i++) await mem.publish(samples(5, i, ud, id));
  /** The acknowledgement never reaches the stream: the process died right after publishing. */
  const dying: SampleStream = Object.assign(Object.create(mem) as SampleStream, { ack: () => Promise.reject(new Error('killed')) });
  const t1 = new OnlineTrainer((await registry.loadLatest())!, dying, registry, {
    publishEverySamples: 40,
    minPublishIntervalMs: 0,
    blockMs: 0,
    stepsPerRound: 1,
    maxEntriesPerRead: 8,
  });
  const p = await t1.round();
  assert.ok(p, 'published after 40 samples');
  assert.equal(mem.pendingCount('trainers'), 8, 'nothing acknowledged');
  const v2 = (await registry.loadLatest())!;
  const rec = trainedEntriesOf(v2)!;
  assert.deepEqual(rec.entries, ['0', '1', '2', '3', '4', '5', '6', '7']);
  assert.equal(rec.samplesTotal, 40);
  // The restarted trainer (same consumer) continues from v2: the 8 redelivered entries are acknowledged, not trained.
  mem.restartConsumer('trainers', 'trainer-1');
  for (let i = 8; i < 10; i++) await mem.publish(samples(5, i, ud, id));
  const t2 = new OnlineTrainer(v2, mem, registry, { publishEverySamples: 1000, minPublishIntervalMs: 0, blockMs: 0, stepsPerRound: 1, maxEntriesPerRead: 3 });
  for (let r = 0; r < 6; r++) await t2.round();
  assert.equal(t2.stats.entriesAlreadyTrained, 8);
  assert.equal(t2.stats.entriesConsumed, 2);
  assert.equal(t2.stats.samplesConsumed, 10);
  // Stopping publishes what it trained; the lineage holds every entry once.
  const done = t2.run();
  t2.stop();
  await done;
  assert.equal(mem.pendingCount('trainers'), 0);
  const v3 = trainedEntriesOf((await registry.loadLatest())!)!;
  assert.deepEqual(v3.entries, ['8', '9']);
  assert.equal(v3.entriesTotal, 10);
  assert.equal(v3.samplesTotal, 50);
});

// ---- the scenario: rliv serve --redis --trainer none + rliv train-online, SIGKILL, restart ----

interface Trainer {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number>;
}

function startTrainer(url: string, models: string, publishEvery: number): Trainer {
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'dist/src/cli/main.js'),
      'train-online',
      '--redis',
      url,
      '--models',
      models,
      '--publish-every',
      String(publishEvery),
      '--publish-interval',
      '0',
      '--steps-per-round',
      '2',
      '--wait-model',
      '5',
    ],
    { cwd: REPO_ROOT },
  );
  const t: Trainer = { child, stdout: '', stderr: '', exited: new Promise((r) => child.on('close', (code, signal) => r(code ?? (signal ? -1 : 0)))) };
  child.stdout!.on('data', (d) => (t.stdout += d));
  child.stderr!.on('data', (d) => (t.stderr += d));
  return t;
}

async function kill(t: Trainer, signal: NodeJS.Signals): Promise<Record<string, any> | undefined> {
  t.child.kill(signal);
  await t.exited;
  const last = t.stdout.trim().split('\n').pop();
  try {
    return last ? JSON.parse(last) : undefined;
  } catch {
    return undefined;
  }
}

/** Ranks `requests` times with feedback and flushes the joiner: the samples are in the stream. */
async function traffic(sys: OnlineSystem, requests: number, seed: number): Promise<void> {
  for (let i = 0; i < requests; i++) {
    const r = await sys.service.app.inject({
      method: 'POST',
      url: '/v1/rank',
      payload: { userId: (seed + i) % SMALL_CATALOG.users, candidates: candidatesOf(sys, 30, (seed * 13 + i * 7) % 150), k: 6 },
    });
    assert.equal(r.statusCode, 200, r.body);
    const res = r.json() as { requestId: string; items: { itemId: number }[] };
    const events = res.items.filter((_, j) => (i + j) % 3 === 0).map((it) => ({ requestId: res.requestId, itemId: it.itemId, kind: 'click', value: 1 }));
    if (events.length) assert.equal((await sys.service.app.inject({ method: 'POST', url: '/v1/feedback/batch', payload: { events } })).statusCode, 202);
  }
  await sys.service.pipeline.flush();
}

/** Stream ids and their sample counts. */
async function streamEntries(client: Redis, key: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [id, fields] of await client.xrange(key, '-', '+')) out.set(id, Number(fields[fields.indexOf('n') + 1]));
  return out;
}

/** True once the group has been delivered every entry of the stream (its own pending re-reads come first). */
async function allDelivered(client: Redis, key: string): Promise<boolean> {
  const groups = (await client.xinfo('GROUPS', key)) as unknown[][];
  const g = groups
    .map((row) => Object.fromEntries(Array.from({ length: row.length / 2 }, (_, i) => [row[2 * i], row[2 * i + 1]])))
    .find((x) => x.name === 'trainers');
  const last = await client.xrevrange(key, '+', '-', 'COUNT', 1);
  return g !== undefined && last.length > 0 && g['last-delivered-id'] === last[0]![0];
}

/**
 * The stream records of the latest version's lineage, oldest first: from the
 * pointer back through each version's parentVersion to the service's v1. (A
 * trainer killed while publishing may leave a claimed, empty version file
 * behind; it is in no lineage.)
 */
function lineage(registry: ModelRegistry): TrainedEntries[] {
  const out: TrainedEntries[] = [];
  let v = registry.latest()!.version;
  while (v > 1) {
    const ckpt = decodeCheckpoint(readFileSync(join(registry.dir, `v${String(v).padStart(6, '0')}.ckpt`)));
    const online = ckpt.state.online as { parentVersion: number; stream: TrainedEntries };
    assert.ok(online.parentVersion < v, `version ${v} continues version ${online.parentVersion}`);
    out.unshift(online.stream);
    v = online.parentVersion;
  }
  return out;
}

test(
  'rliv train-online killed with fewer pending samples than --publish-every: the restart trains each once, then the new ones',
  { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON },
  async () => {
    const prefix = 'rliv:';
    const client = new Redis(redis!.url);
    await client.flushall();
    const sys = await smallSystem({ redisUrl: redis!.url, joiner: { windowMs: 50 } });
    const key = `${prefix}{samples}`;
    try {
      await traffic(sys, 100, 1);
      const before = await streamEntries(client, key);
      const samples0 = [...before.values()].reduce((a, b) => a + b, 0);
      assert.ok(samples0 >= 600 && before.size >= 2, `${samples0} samples in ${before.size} entries`);
      const t1 = startTrainer(redis!.url, sys.registry.dir, 100_000);
      await waitFor(() => allDelivered(client, key), 60_000, 'the trainer to read every entry');
      await kill(t1, 'SIGKILL');
      assert.equal(((await client.xpending(key, 'trainers')) as [number])[0], before.size, 'all entries pending after the kill');

      const t2 = startTrainer(redis!.url, sys.registry.dir, 100_000);
      await new Promise((r) => setTimeout(r, 1500));
      await traffic(sys, 20, 2);
      const all = await streamEntries(client, key);
      const total = [...all.values()].reduce((a, b) => a + b, 0);
      await waitFor(() => allDelivered(client, key), 60_000, 'the restarted trainer to reach the new entries');
      const summary = await kill(t2, 'SIGTERM');
      assert.ok(summary, t2.stderr);
      // Each entry trained once by the restarted process: its pending ones, then the new ones.
      assert.equal(summary!.samplesConsumed, total, `trained ${summary!.samplesConsumed} samples from a stream of ${total}`);
      assert.equal(summary!.entriesConsumed, all.size);
      // On SIGTERM it published them: one version holding every entry once; nothing pending.
      const versions = lineage(sys.registry);
      assert.equal(versions.length, 1);
      assert.deepEqual([...versions[0]!.entries].sort(), [...all.keys()].sort());
      assert.equal(versions[0]!.samplesTotal, total);
      assert.equal(((await client.xpending(key, 'trainers')) as [number])[0], 0);
    } finally {
      await sys.close();
      client.disconnect();
    }
  },
);

test(
  'rliv train-online SIGKILLed at several points with more samples than --publish-every: every stream entry is in the final lineage exactly once',
  { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON },
  async () => {
    const client = new Redis(redis!.url);
    await client.flushall();
    const sys = await smallSystem({ redisUrl: redis!.url, joiner: { windowMs: 50 } });
    const key = 'rliv:{samples}';
    let killed = 0;
    try {
      await traffic(sys, 60, 3);
      // Kill 1: right after start (it may not have read anything).
      let t = startTrainer(redis!.url, sys.registry.dir, 150);
      await new Promise((r) => setTimeout(r, 400));
      await kill(t, 'SIGKILL');
      killed++;
      // Kill 2: after its first version, with entries trained but unpublished.
      t = startTrainer(redis!.url, sys.registry.dir, 150);
      await waitFor(() => sys.registry.versions().length >= 2, 60_000, 'a first trained version');
      await traffic(sys, 40, 4);
      await kill(t, 'SIGKILL');
      killed++;
      // Kill 3: mid-way through the next backlog.
      t = startTrainer(redis!.url, sys.registry.dir, 150);
      await traffic(sys, 40, 5);
      const v = sys.registry.versions().length;
      await waitFor(() => sys.registry.versions().length > v, 60_000, 'another version');
      await kill(t, 'SIGKILL');
      killed++;
      // Last run: drains everything and stops cleanly.
      t = startTrainer(redis!.url, sys.registry.dir, 150);
      await traffic(sys, 20, 6);
      await waitFor(() => allDelivered(client, key), 60_000, 'the last trainer to read every entry');
      const summary = await kill(t, 'SIGTERM');
      assert.ok(summary, t.stderr);
      const all = await streamEntries(client, key);
      const total = [...all.values()].reduce((a, b) => a + b, 0);
      const versions = lineage(sys.registry);
      const trained = versions.flatMap((r) => r.entries);
      const count = new Map<string, number>();
      for (const id of trained) count.set(id, (count.get(id) ?? 0) + 1);
      const twice = [...count].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], 'no entry trained twice in the lineage');
      assert.deepEqual([...count.keys()].sort(), [...all.keys()].sort(), 'every entry trained (nothing lost)');
      assert.equal(versions[versions.length - 1]!.samplesTotal, total, 'stream samples = samples trained');
      assert.equal(
        versions.reduce((a, r) => a + r.samples, 0),
        total,
      );
      assert.equal(((await client.xpending(key, 'trainers')) as [number])[0], 0);
      assert.equal(killed, 3);
    } finally {
      await sys.close();
      client.disconnect();
    }
  },
);
