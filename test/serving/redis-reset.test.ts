/**
 * A Redis that comes back empty is noticed (issue 17): the pair store's boot
 * marker is gone after a restart without persistence (or a flush), the reset
 * is counted and reported by /healthz and /metrics. With AOF persistence (the
 * README's recommendation) a restart keeps the counts and is no reset.
 * Before: the counts vanished and no counter said so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { HAS_REDIS_SERVER, NO_REDIS_REASON, TestRedis, candidatesOf, smallSystem, waitFor } from './helpers.js';
import { tempDir } from '../helpers/paths.js';
import { RedisPairStore } from '../../src/serving/redis-pair-store.js';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';

/** Issue 17's tests start their servers on ports 6500-6549. */
const LO = 6500,
  HI = 6549;

const clickDelta = () => Float32Array.from({ length: PAIR_COUNT_DIM }, (_, k) => (k === 0 ? 1 : 0));

async function readCount(store: RedisPairStore, user: number, author: number): Promise<number> {
  const out = new Float32Array(PAIR_COUNT_DIM);
  assert.equal(await store.read(user, Int32Array.of(author), 1, out), true);
  return out[0]!;
}

test(
  'a Redis restarted without persistence: the store counts the reset, healthz and metrics report it',
  { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON },
  async () => {
    const redis = await TestRedis.startInRange(LO, HI);
    const sys = await smallSystem({ redisUrl: redis.url });
    try {
      const store = sys.service.store as RedisPairStore;
      await waitFor(() => store.checkReset(), 10_000, 'a first marker check');
      await store.apply([{ user: 1, author: 2, delta: clickDelta() }]);
      assert.equal(await readCount(store, 1, 2), 1);
      assert.equal(store.status().resets, 0);
      await redis.stop();
      await redis.start();
      await waitFor(() => store.status().healthy, 20_000, 'the store to reconnect');
      await waitFor(
        async () => {
          await store.checkReset();
          return store.status().resets === 1;
        },
        10_000,
        'the reset to be counted',
      );
      assert.equal(await readCount(store, 1, 2), 0, 'the count is gone: that is what the counter reports');
      const h = (await sys.service.app.inject({ method: 'GET', url: '/healthz' })).json();
      assert.equal(h.store.resets, 1);
      assert.match(h.store.lastResetAt, /^\d{4}-\d\d-\d\dT/);
      const m = (await sys.service.app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(m, /^rliv_store_resets_total 1$/m);
      // Ranking still works on the emptied store (default counts).
      const r = await sys.service.app.inject({ method: 'POST', url: '/v1/rank', payload: { userId: 1, candidates: candidatesOf(sys, 10), k: 3 } });
      assert.equal(r.statusCode, 200);
      // A flush without a restart is noticed by the periodic check too.
      const admin = new Redis(redis.url);
      await admin.flushall();
      admin.disconnect();
      await waitFor(() => store.checkReset(), 10_000, 'a marker check');
      assert.equal(store.status().resets, 2);
    } finally {
      await sys.close();
      await redis.stop();
    }
  },
);

test('two replicas share one marker: both count the reset once, whoever re-creates the marker', { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON }, async () => {
  const redis = await TestRedis.startInRange(LO, HI);
  const a = new RedisPairStore({ url: redis.url, resetCheckIntervalMs: 0 });
  const b = new RedisPairStore({ url: redis.url, resetCheckIntervalMs: 0 });
  try {
    await Promise.all([a.connect(), b.connect()]);
    assert.equal(await a.checkReset(), true);
    assert.equal(await b.checkReset(), true);
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    await a.checkReset(); // a re-creates the marker with a new value...
    await b.checkReset(); // ...b sees a value it does not know: the same reset
    await a.checkReset();
    assert.equal(a.status().resets, 1);
    assert.equal(b.status().resets, 1);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
  }
});

test('with AOF persistence (appendonly yes) a Redis restart keeps the counts and is not a reset', { skip: !HAS_REDIS_SERVER && NO_REDIS_REASON }, async () => {
  const redis = await TestRedis.startInRange(LO, HI, tempDir('rliv-aof-'));
  const store = new RedisPairStore({ url: redis.url, resetCheckIntervalMs: 0 });
  try {
    await store.connect();
    assert.equal(await store.checkReset(), true);
    await store.apply([
      { user: 5, author: 9, delta: clickDelta() },
      { user: 5, author: 9, delta: clickDelta() },
    ]);
    assert.equal(await readCount(store, 5, 9), 2);
    await redis.stop(); // SIGKILL: a crash
    await redis.start();
    await waitFor(() => store.status().healthy, 20_000, 'the store to reconnect');
    await waitFor(() => store.checkReset(), 10_000, 'a marker check after the restart');
    assert.equal(store.status().resets, 0);
    assert.equal(await readCount(store, 5, 9), 2, 'AOF kept the counts');
  } finally {
    await store.close();
    await redis.stop();
  }
});
