import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, hashString32 } from '../../src/numeric/rng.js';

test('same seed gives the same sequence; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const sa = Array.from({ length: 20 }, () => a.nextUint32());
  const sb = Array.from({ length: 20 }, () => b.nextUint32());
  const sc = Array.from({ length: 20 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('uniform is in [0,1) with mean 1/2 and variance 1/12', () => {
  const r = new Rng(1);
  const n = 200_000;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    sq += u * u;
  }
  const mean = sum / n;
  assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(sq / n - mean * mean - 1 / 12) < 0.003);
});

test('normal has mean 0 and variance 1', () => {
  const r = new Rng(7);
  const n = 200_000;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    sum += x;
    sq += x * x;
  }
  assert.ok(Math.abs(sum / n) < 0.01);
  assert.ok(Math.abs(sq / n - 1) < 0.02);
});

test('int(n) covers [0, n) uniformly and rejects bad n', () => {
  const r = new Rng(3);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `count ${c}`);
  assert.throws(() => r.int(0), /integer/);
  assert.throws(() => r.int(2.5), /integer/);
});

test('categorical follows the weights and rejects invalid weights', () => {
  const r = new Rng(9);
  const w = [1, 0, 3];
  const counts = [0, 0, 0];
  for (let i = 0; i < 40_000; i++) counts[r.categorical(w)]!++;
  assert.equal(counts[1], 0);
  assert.ok(Math.abs(counts[2]! / 40_000 - 0.75) < 0.01);
  assert.throws(() => r.categorical([0, 0]), /not all be zero/);
  assert.throws(() => r.categorical([1, -1]), /weight 1/);
});

test('shuffle is a permutation and is seeded', () => {
  const a = new Rng(5).shuffle(Int32Array.from({ length: 50 }, (_, i) => i));
  const b = new Rng(5).shuffle(Int32Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(a, b);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.notDeepEqual(
    [...a],
    Array.from({ length: 50 }, (_, i) => i),
  );
});

test('getState/setState resumes the exact sequence, including a cached normal', () => {
  const r = new Rng(11);
  r.normal(); // leaves a spare normal cached
  const state = JSON.parse(JSON.stringify(r.getState()));
  const expected = [r.normal(), r.uniform(), r.int(1000)];
  const q = new Rng(0);
  q.setState(state);
  assert.deepEqual([q.normal(), q.uniform(), q.int(1000)], expected);
  assert.throws(() => q.setState({ s: [1, 2, 3], spare: null, seed: 0 } as never), /four unsigned/);
});

test('fork gives independent, reproducible streams without consuming the parent', () => {
  const p = new Rng(100);
  const before = p.getState();
  const f1 = p.fork('env');
  const f2 = p.fork('agent');
  assert.deepEqual(p.getState(), before);
  assert.notEqual(f1.nextUint32(), f2.nextUint32());
  assert.equal(new Rng(100).fork('env').nextUint32(), new Rng(100).fork('env').nextUint32());
  assert.equal(hashString32(''), 0x811c9dc5);
});
