import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WORLD_CONFIG, mergeWorldConfig, validateWorldConfig, WorldConfigError } from '../../src/world/world-config.js';

test('the defaults are valid and documented values', () => {
  const c = validateWorldConfig(structuredClone(DEFAULT_WORLD_CONFIG));
  assert.equal(c.latentDim, 16);
  assert.equal(c.familiarity.follow, 2.4);
});

test('a partial override deep-merges over the defaults and leaves them unchanged', () => {
  const c = mergeWorldConfig({ click: { intercept: -1.25 }, familiarity: { follow: 2 }, latentDim: 8 });
  assert.equal(c.click.intercept, -1.25);
  assert.equal(c.familiarity.follow, 2);
  assert.equal(c.familiarity.clicks, DEFAULT_WORLD_CONFIG.familiarity.clicks);
  assert.equal(c.latentDim, 8);
  assert.equal(DEFAULT_WORLD_CONFIG.click.intercept, -2.7);
  assert.equal(DEFAULT_WORLD_CONFIG.latentDim, 16);
  // Merging over another base.
  const d = mergeWorldConfig({ like: { affinity: 0 } }, c);
  assert.equal(d.click.intercept, -1.25);
  assert.equal(d.like.affinity, 0);
});

function rejects(override: unknown, message: string): void {
  assert.throws(
    () => mergeWorldConfig(override),
    (e: unknown) => {
      assert.ok(e instanceof WorldConfigError, String(e));
      assert.equal(e.message, message);
      return true;
    },
  );
}

test('unknown keys and bad values are rejected with the field named', () => {
  rejects({ familiarity: { folow: 1 } }, "world config: unknown field 'familiarity.folow'; valid fields here: clicks, follow, gifts");
  rejects({ latentDims: 4 }, "world config: unknown field 'latentDims'; valid fields here: " + Object.keys(DEFAULT_WORLD_CONFIG).join(', '));
  rejects({ click: { intercept: 'high' } }, "world config: field 'click.intercept': Invalid input: expected number, received string");
  rejects({ latentDim: 0 }, "world config: field 'latentDim': Too small: expected number to be >=1");
  rejects({ latentDim: 2.5 }, "world config: field 'latentDim': Invalid input: expected int, received number");
  rejects({ watch: { maxRatio: -1 } }, "world config: field 'watch.maxRatio': Too small: expected number to be >0");
  rejects({ latentDim: { x: 1 } }, "world config: field 'latentDim' takes a number, not an object");
  rejects([1], 'world config: the override must be a JSON object');
  assert.throws(() => validateWorldConfig({ ...DEFAULT_WORLD_CONFIG, extra: 1 }), /world config: unknown field 'extra'/);
});
