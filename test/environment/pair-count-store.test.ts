import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW, PC_GIFT, PC_LONG_VIEW, PC_WATCH_TIME } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { PairCountStore } from '../../src/environment/pair-count-store.js';
import { allocResponseBatch } from '../../src/world/response.js';

// Per-user tables, their growth (into fresh pool regions and into regions other users' growth
// freed: half the users only join in the second half) against a plain Map reference.
test('PairCountStore matches a Map reference through table and pool growth and region reuse', () => {
  const users = 40;
  const authors = 700;
  const store = new PairCountStore(users, 4);
  const ref = new Map<string, Float32Array>();
  const giftDays = new Map<string, Set<number>>();
  const rng = new Rng(3);
  const r = allocResponseBatch(1);
  for (let step = 0; step < 20_000; step++) {
    const u = rng.int(step < 10_000 ? users / 2 : users);
    const a = rng.int(step < 10_000 ? 50 : authors);
    r.click[0] = rng.int(2);
    r.longView[0] = rng.int(2);
    r.like[0] = 0;
    r.comment[0] = 0;
    r.follow[0] = rng.int(5) === 0 ? 1 : 0;
    r.giftAmount[0] = rng.int(7) === 0 ? 2 : 0;
    r.playTimeMs[0] = rng.int(20_000);
    const key = `${u},${a}`;
    let v = ref.get(key);
    if (!v) ref.set(key, (v = new Float32Array(PAIR_COUNT_DIM)));
    const first = store.add(u, a, r, 0, step >> 10);
    assert.equal(first, r.follow[0] === 1 && v[PC_FOLLOW] === 0);
    v[PC_CLICK]! += r.click[0]!;
    v[PC_LONG_VIEW]! += r.longView[0]!;
    v[PC_WATCH_TIME]! += r.playTimeMs[0]! / 1000;
    if (first) v[PC_FOLLOW] = 1;
    if (r.giftAmount[0]! > 0) {
      v[PC_GIFT]! += 1;
      if (!giftDays.has(key)) giftDays.set(key, new Set());
      giftDays.get(key)!.add(step >> 10);
    }
  }
  assert.equal(store.size, ref.size);
  const out = new Float32Array(PAIR_COUNT_DIM);
  let pairs = 0;
  for (let u = 0; u < users; u++) {
    for (let a = 0; a < authors; a++) {
      const v = ref.get(`${u},${a}`);
      assert.equal(store.rowOf(u, a) >= 0, v !== undefined);
      out.fill(0);
      store.readIfSeen(u, a, out, 0);
      const got = store.get(u, a);
      const want = v ?? new Float32Array(PAIR_COUNT_DIM);
      assert.deepEqual(out, want, `pair ${u},${a}`);
      assert.deepEqual(got, want);
      assert.equal(store.giftDaysOf(u, a), giftDays.get(`${u},${a}`)?.size ?? 0);
      if (v) pairs++;
    }
    assert.equal(store.pairsOf(u), [...ref.keys()].filter((k) => k.startsWith(`${u},`)).length);
  }
  assert.equal(pairs, ref.size);
});

// readItems (a request's N candidates in one call) against per-pair reads: users with few pairs
// (authors marked, then direct lookups), with up to 2N pairs (same path, many marks) and with far
// more pairs than candidates (hash probes). Candidate authors above every stored author are unseen.
test('PairCountStore.readItems equals per-pair reads for small and large user tables', () => {
  const authors = 1200;
  const store = new PairCountStore(3);
  const r = allocResponseBatch(1);
  const rng = new Rng(5);
  const touch = (u: number, a: number): void => {
    r.click[0] = 1;
    r.playTimeMs[0] = 1000 + rng.int(9000);
    r.giftAmount[0] = rng.int(5) === 0 ? 1 : 0;
    store.add(u, a, r, 0, 0);
  };
  for (let j = 0; j < 5; j++) touch(0, rng.int(authors));
  for (let j = 0; j < 900; j++) touch(1, rng.int(authors));
  for (let j = 0; j < 200; j++) touch(2, rng.int(authors));
  const n = 100;
  assert.ok(store.pairsOf(0) <= 5 && store.pairsOf(1) > 2 * n && store.pairsOf(2) > n && store.pairsOf(2) <= 2 * n);
  const itemAuthor = Int32Array.from({ length: authors + 50 }, (_, i) => (i * 7) % (authors + 50)); // items -> authors, some never stored
  const items = Int32Array.from({ length: n }, () => rng.int(authors + 50));
  for (const u of [0, 1, 2]) {
    const out = new Float32Array(3 + items.length * PAIR_COUNT_DIM).fill(0);
    store.readItems(u, items, itemAuthor, out, 3);
    for (let n = 0; n < items.length; n++) {
      const want = store.get(u, itemAuthor[items[n]!]!);
      assert.deepEqual(out.subarray(3 + n * PAIR_COUNT_DIM, 3 + (n + 1) * PAIR_COUNT_DIM), want, `user ${u}, candidate ${n}`);
    }
  }
});
