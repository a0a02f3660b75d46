import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { HAS_REDIS_SERVER, NO_REDIS_REASON, TestRedis, waitFor } from './helpers.js';
import { MemoryPairStore, type PairDelta } from '../../src/serving/pair-store.js';
import { RedisPairStore } from '../../src/serving/redis-pair-store.js';
import { MemorySampleStream, type SampleStream } from '../../src/serving/sample-stream.js';
import { RedisSampleStream } from '../../src/serving/redis-sample-stream.js';
import { decodeSamples, encodeSamples, SampleCodecError } from '../../src/serving/sample-codec.js';
import { allocSampleBatch, type SampleBatch } from '../../src/mdp/scri-mdp.js';
import { asaDelta } from '../../src/mdp/adjacent-state-approximation.js';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';

if (!HAS_REDIS_SERVER) console.log(`# ${NO_REDIS_REASON}`);

let redis: TestRedis | undefined;
before(async () => {
  if (HAS_REDIS_SERVER) redis = await TestRedis.start();
});
after(async () => {
  await redis?.stop();
});

function randomDeltas(rng: Rng, n: number, users = 5, authors = 30): PairDelta[] {
  const out: PairDelta[] = [];
  for (let i = 0; i < n; i++) {
    const outcome = new Float32Array(PAIR_COUNT_DIM);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) if (rng.bernoulli(0.3)) outcome[k] = k === 6 ? Math.round(rng.uniform() * 600) / 4 : 1;
    const delta = new Float32Array(PAIR_COUNT_DIM);
    asaDelta(outcome, 0, delta, 0);
    out.push({ user: rng.int(users), author: rng.int(authors), delta });
  }
  return out;
}

function samples(n: number, tag: number): SampleBatch {
  const b = allocSampleBatch(n, 2, 3);
  for (let i = 0; i < n; i++) {
    b.user[i] = tag;
    b.item[i] = i;
    b.author[i] = 100 + i;
    b.timeMs[i] = 1e12 + i;
    b.userFeatures[i * 2] = 7;
    b.itemFeatures[i * 3 + 2] = i;
    b.pairCounts[i * 7 + 6] = 0.5 * i;
    b.nextPairCounts[i * 7] = 1;
    b.rewards[i * 4 + 1] = 2.5;
    b.giftLabel[i] = i & 1;
  }
  b.count = n;
  return b;
}

test('sample codec round-trips every column and detects corruption', () => {
  const b = samples(17, 3);
  const back = decodeSamples(encodeSamples(b));
  assert.equal(back.count, 17);
  for (const k of ['user', 'item', 'author', 'userFeatures', 'itemFeatures', 'pairCounts', 'nextPairCounts', 'rewards', 'giftLabel', 'timeMs'] as const) {
    assert.deepEqual(Array.from(back[k].subarray(0, (b[k].length / b.capacity) * 17)), Array.from(b[k].subarray(0, (b[k].length / b.capacity) * 17)), k);
  }
  const bytes = encodeSamples(b);
  bytes[40]! ^= 1;
  assert.throws(() => decodeSamples(bytes), SampleCodecError);
});

test('memory pair store applies ASA deltas (counts +1, watch seconds added, follow a flag)', async () => {
  const s = new MemoryPairStore();
  const d = new Float32Array([1, 0, 1, 1, 0, 1, 12.5]);
  await s.apply([
    { user: 1, author: 2, delta: d },
    { user: 1, author: 2, delta: d },
  ]);
  const out = new Float32Array(2 * PAIR_COUNT_DIM);
  assert.equal(await s.read(1, Int32Array.of(2, 3), 2, out), true);
  assert.deepEqual(Array.from(out), [2, 0, 2, 1, 0, 2, 25, 0, 0, 0, 0, 0, 0, 0]);
});

test('redis pair store: one HMGET per request, same ASA semantics as the memory store', { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON }, async () => {
  const rs = new RedisPairStore({ url: redis!.url, prefix: 't1:' });
  assert.equal(await rs.connect(), true);
  const ms = new MemoryPairStore();
  const rng = new Rng(5);
  for (let round = 0; round < 10; round++) {
    const ds = randomDeltas(rng, 40);
    await rs.apply(ds);
    await ms.apply(ds);
  }
  const authors = Int32Array.from({ length: 30 }, (_, i) => i);
  for (let u = 0; u < 5; u++) {
    const a = new Float32Array(30 * PAIR_COUNT_DIM),
      b = new Float32Array(30 * PAIR_COUNT_DIM);
    assert.equal(await rs.read(u, authors, 30, a), true);
    await ms.read(u, authors, 30, b);
    assert.deepEqual(Array.from(a), Array.from(b), `user ${u}`);
  }
  // Readable encoding: one hash per user, one field per author.
  const c = new Redis(redis!.url);
  const raw = await c.hgetall('t1:pc:{0}');
  c.disconnect();
  assert.ok(Object.keys(raw).length > 0);
  assert.match(Object.values(raw)[0]!, /^[\d.]+(,[\d.]+){6}$/);
  await rs.close();
});

async function streamContract(makeStream: () => Promise<SampleStream>, restart: (s: SampleStream) => Promise<SampleStream>) {
  const s = await makeStream();
  for (let i = 0; i < 6; i++) await s.publish(samples(3, i));
  // Two consumers of one group share the entries: disjoint, together all of them.
  const a = await s.read('g', 'A', 4, 50);
  const b = await s.read('g', 'B', 10, 50);
  assert.equal(a.length + b.length, 6);
  const tags = [...a, ...b].map((e) => e.batch.user[0]).sort();
  assert.deepEqual(tags, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(a[0]!.batch.rewards.subarray(0, 4)), [0, 2.5, 0, 0]);
  // Another group sees everything too.
  assert.equal((await s.read('other', 'X', 100, 50)).length, 6);
  // A acknowledges one entry and "restarts": it gets back exactly its unacknowledged ones.
  await s.ack('g', [a[0]!.id]);
  const s2 = await restart(s);
  const again = await s2.read('g', 'A', 10, 50);
  assert.deepEqual(
    again.map((e) => e.id).sort(),
    a
      .slice(1)
      .map((e) => e.id)
      .sort(),
  );
  await s2.ack(
    'g',
    again.map((e) => e.id),
  );
  // Nothing new: the read waits and returns nothing.
  assert.deepEqual(await s2.read('g', 'A', 10, 50), []);
  return s2;
}

test('memory sample stream: consumer groups, acknowledgement, redelivery after a restart', async () => {
  const mem = new MemorySampleStream();
  const s = await streamContract(
    async () => mem,
    async (x) => {
      (x as MemorySampleStream).restartConsumer('g', 'A');
      return x;
    },
  );
  await s.close();
});

test('memory sample stream: retention is bounded; unread trimmed entries are counted as dropped; reads continue in order', async () => {
  const mem = new MemorySampleStream({ maxLength: 50 });
  const first = await mem.read('early', 'A', 10, 0); // group 'early' exists before publishing
  assert.equal(first.length, 0);
  for (let i = 0; i < 3000; i++) await mem.publish(samples(1, i));
  // 'early' had read nothing: all but the 50 retained entries were trimmed unread.
  assert.equal(mem.status().droppedEntries, 3000 - 50);
  const got = await mem.read('early', 'A', 100, 0);
  assert.deepEqual(
    got.map((e) => Number(e.id)),
    Array.from({ length: 50 }, (_, j) => 2950 + j),
  );
  // A group created now starts at the oldest retained entry.
  const late = await mem.read('late', 'B', 1, 0);
  assert.equal(late[0]!.id, '2950');
  await mem.publish(samples(1, 3000));
  const next = await mem.read('early', 'A', 10, 0);
  assert.deepEqual(
    next.map((e) => e.id),
    ['3000'],
  );
  assert.throws(() => new MemorySampleStream({ maxLength: 0 }), /maxLength must be a positive integer/);
  await mem.close();
});

test('redis sample stream: consumer groups, acknowledgement, redelivery after a restart', { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON }, async () => {
  let first: RedisSampleStream | undefined;
  const s = await streamContract(
    async () => {
      first = new RedisSampleStream({ url: redis!.url, prefix: 't2:' });
      await first.connect();
      return first;
    },
    async () => {
      await first!.close();
      const n = new RedisSampleStream({ url: redis!.url, prefix: 't2:' });
      await n.connect();
      return n;
    },
  );
  await s.close();
});

test('redis down: reads give default counts and say degraded, updates wait, everything recovers', { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON }, async () => {
  const rs = new RedisPairStore({ url: redis!.url, prefix: 't3:' });
  const ss = new RedisSampleStream({ url: redis!.url, prefix: 't3:' });
  await rs.connect();
  await ss.connect();
  const d = new Float32Array([1, 0, 0, 0, 0, 0, 10]);
  await rs.apply([{ user: 1, author: 1, delta: d }]);
  const out = new Float32Array(PAIR_COUNT_DIM);
  assert.equal(await rs.read(1, Int32Array.of(1), 1, out), true);
  assert.equal(out[0], 1);

  await redis!.stop();
  await waitFor(() => !rs.status().healthy && !ss.status().healthy, 5000, 'clients to notice');
  assert.equal(await rs.read(1, Int32Array.of(1), 1, out), false);
  assert.deepEqual(Array.from(out), [0, 0, 0, 0, 0, 0, 0], 'default counts while down');
  await rs.apply([
    { user: 2, author: 5, delta: d },
    { user: 2, author: 5, delta: d },
  ]);
  assert.equal(rs.status().deferredUpdates, 1, 'merged per pair while waiting');
  await ss.publish(samples(2, 9));
  assert.equal(ss.status().bufferedEntries, 1);
  assert.ok(rs.status().readFailures >= 1);

  await redis!.start();
  await waitFor(() => rs.status().healthy && rs.status().deferredUpdates === 0 && ss.status().bufferedEntries === 0, 10_000, 'recovery');
  assert.equal(await rs.read(2, Int32Array.of(5), 1, out), true);
  assert.deepEqual(Array.from(out), [2, 0, 0, 0, 0, 0, 20], 'deferred updates written after recovery');
  const got = await ss.read('g', 'c', 10, 100);
  assert.equal(got.length, 1);
  assert.equal(got[0]!.batch.user[0], 9);
  await rs.close();
  await ss.close();
});
