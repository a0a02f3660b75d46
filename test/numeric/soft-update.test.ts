/** Polyak soft update and hard copy. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Param } from '../../src/numeric/param.js';
import { hardCopy, softUpdate } from '../../src/numeric/soft-update.js';

test('softUpdate moves the target tau of the way to the source; hardCopy copies', () => {
  const t = new Param({ name: 't', shape: [3] });
  const s = new Param({ name: 's', shape: [3] });
  t.value.set([0, 10, -4]);
  s.value.set([1, 0, 4]);
  softUpdate([t], [s], 0.25);
  assert.deepEqual(Array.from(t.value), [0.25, 7.5, -2]);
  softUpdate([t], [s], 0);
  assert.deepEqual(Array.from(t.value), [0.25, 7.5, -2]);
  hardCopy([t], [s]);
  assert.deepEqual(Array.from(t.value), [1, 0, 4]);
});

test('softUpdate rejects mismatched shapes and bad tau without changing anything', () => {
  const t = new Param({ name: 't', shape: [2, 2] });
  const ok = new Param({ name: 'ok', shape: [2, 2] });
  ok.value.fill(1);
  const bad = new Param({ name: 'b', shape: [4] });
  assert.throws(() => softUpdate([t, t], [ok, bad], 0.5), /shape mismatch/);
  assert.ok(t.value.every((v) => v === 0));
  assert.throws(() => softUpdate([t], [ok], 1.5), /tau/);
});
