import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_QUIT_OPTIONS, QuitModel } from '../../src/environment/quit-model.js';
import { sessionOptionsFromWorld } from '../../src/environment/world-session-options.js';
import { DEFAULT_WORLD_CONFIG, mergeWorldConfig } from '../../src/world/world-config.js';

test('the refund is linear without a ceiling', () => {
  const q = new QuitModel();
  assert.equal(q.options.refundCeiling, Infinity);
  for (const s of [-0.7, 0, 0.4, 3]) assert.equal(q.refund(s), s);
  assert.equal(q.spend(5, 0.4), 4.4);
});

test('the refund saturates at refundCeiling * cost: values by hand, slope 1 at 0, penalties unchanged', () => {
  const q = new QuitModel({ refundCeiling: 0.5, costPerRequest: 2 });
  // c = 0.5 * 2 = 1: refund(s) = 1 - exp(-s).
  assert.ok(Math.abs(q.refund(1) - (1 - Math.exp(-1))) < 1e-12);
  assert.ok(Math.abs(q.refund(0.25) - 0.22119921692859512) < 1e-12);
  assert.equal(q.refund(-0.3), -0.3, 'a penalty passes through');
  assert.equal(q.refund(0), 0);
  const h = 1e-6;
  assert.ok(Math.abs(q.refund(h) / h - 1) < 1e-5, 'slope 1 at 0 (finite difference)');
  assert.ok(q.refund(10) < 1 && q.refund(10) > 0.9999, 'below the ceiling, close to it');
  assert.ok(q.refund(1e9) <= 1, 'never above it');
  assert.ok(Math.abs(q.spend(3, 1) - (3 - 2 + (1 - Math.exp(-1)))) < 1e-12);
});

test("the world's ceiling ends the session of the most active user at the cap however engaging the slates", () => {
  const options = sessionOptionsFromWorld(DEFAULT_WORLD_CONFIG).quit;
  const q = new QuitModel(options);
  assert.ok(Math.abs(q.options.refundCeiling - 52 / 60) < 1e-15);
  let temper = q.initialTemper(1);
  assert.equal(temper, 8);
  let requests = 0;
  do {
    temper = q.spend(temper, 1e9);
    requests++;
  } while (!q.quits(temper, requests) && requests < 1000);
  // 8 - n (1 - 52/60) <= 0 at n = 60, up to rounding: the cap and the budget end together.
  assert.ok(requests >= 59 && requests <= 60, `ended after ${requests} requests`);
  assert.ok(Math.abs(temper) < 1e-9, 'the budget is spent exactly at the cap');
});

test('world files written before the ceiling refund linearly, as they ran', () => {
  const old = mergeWorldConfig({});
  delete (old.session as { refundCeiling?: number }).refundCeiling;
  assert.equal(sessionOptionsFromWorld(old).quit.refundCeiling, Infinity);
});

test('a bad ceiling is refused, naming it', () => {
  for (const bad of [0, -1, Number.NaN]) assert.throws(() => new QuitModel({ refundCeiling: bad }), /refundCeiling must be > 0/);
  assert.throws(() => new QuitModel({ clickWeight: Infinity }), /clickWeight must be finite/);
  assert.throws(() => mergeWorldConfig({ session: { refundCeiling: 0 } }), /session\.refundCeiling/);
  assert.deepEqual(Object.keys(DEFAULT_QUIT_OPTIONS).includes('refundCeiling'), true);
});
