import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import { IdCounter } from '../../src/environment/id-counter.js';

test('IdCounter matches a Map reference through growth', () => {
  const counter = new IdCounter(4);
  const ref = new Map<number, number>();
  const rng = new Rng(9);
  for (let step = 0; step < 5000; step++) {
    const id = step < 2500 ? rng.int(40) : rng.int(3000) * 7919;
    const before = counter.increment(id);
    assert.equal(before, ref.get(id) ?? 0);
    ref.set(id, before + 1);
  }
  assert.equal(counter.distinct, ref.size);
  for (const [id, n] of ref) assert.equal(counter.get(id), n);
  assert.equal(counter.get(123_456_789), 0);
});

test('IdCounter rejects ids it cannot hold and stays unchanged', () => {
  const counter = new IdCounter();
  counter.increment(5);
  for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) assert.throws(() => counter.increment(bad), /IdCounter: id must be an integer/);
  assert.equal(counter.distinct, 1);
  assert.equal(counter.get(5), 1);
});
