import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import { RateAccumulator, measureRates } from '../../src/environment/calibration.js';
import { Environment } from '../../src/environment/environment.js';
import { worldLoggingPolicy } from '../../src/environment/log-generation.js';
import { sessionOptionsFromWorld } from '../../src/environment/world-session-options.js';
import { buildCatalog } from '../../src/world/catalog-builder.js';
import { createWorld } from '../../src/world/ground-truth-world.js';
import { DEFAULT_WORLD_CONFIG } from '../../src/world/world-config.js';

const catalog = buildCatalog({ numUsers: 80, numItems: 600 }, new Rng(5));
const world = createWorld(catalog, DEFAULT_WORLD_CONFIG, 9);
const environment = { seed: 4, numCandidates: 40 };
const policy = () => worldLoggingPolicy(catalog, world, 17);

test('calibration measures its rates after the warm-up: exactly the rates of the days after it in one continuous run', () => {
  const warm = measureRates(catalog, world, { users: 50, days: 2, warmUpDays: 3, environment, policy });
  // By hand: one environment and one policy over 5 days, the first 50 users, the rates of days 3-4 only.
  const env = new Environment(catalog, world, { ...environment, ...sessionOptionsFromWorld(world.config) });
  const users = Int32Array.from({ length: 50 }, (_, i) => i);
  const acc = new RateAccumulator();
  const p = policy();
  env.runDays(3, p, undefined, users);
  env.runDays(2, p, (t) => acc.add(t), users);
  const byHand = acc.rates();
  assert.equal(warm.exposures, byHand.exposures);
  assert.equal(warm.click, byHand.click);
  assert.equal(warm.play_time_s, byHand.play_time_s);
  // Users with a history click more than the same users new (familiarity): the warm-up changes what is measured.
  const cold = measureRates(catalog, world, { users: 50, days: 2, environment, policy });
  assert.equal(measureRates(catalog, world, { users: 50, days: 2, warmUpDays: 0, environment, policy }).click, cold.click);
  assert.ok(warm.click > cold.click, `click after the warm-up ${warm.click} vs new users ${cold.click}`);
});
