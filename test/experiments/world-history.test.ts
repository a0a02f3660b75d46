import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import { Environment, resolvedEnvironmentOptions } from '../../src/environment/environment.js';
import { interactionLogFromTraces } from '../../src/environment/interaction-log.js';
import { worldLoggingPolicy } from '../../src/environment/log-generation.js';
import type { SessionTrace } from '../../src/environment/trace.js';
import { buildCatalog } from '../../src/world/catalog-builder.js';
import { createWorld } from '../../src/world/ground-truth-world.js';
import { DEFAULT_WORLD_CONFIG } from '../../src/world/world-config.js';
import { runReferencePolicies, worldEnvironmentOf } from '../../src/experiments/experiment-job.js';
import { withHistory } from '../../src/experiments/instrument.js';
import { trainPreset } from '../../src/experiments/train-presets.js';

const catalog = buildCatalog({ numUsers: 90, numItems: 500 }, new Rng(8));
const world = createWorld(catalog, DEFAULT_WORLD_CONFIG, 4);
const environment = { seed: 6, numCandidates: 40 };

/** Three days of warm-up then two of logs, of the world's logging policy in one environment. */
function warmTraffic() {
  const env = new Environment(catalog, world, environment);
  const policy = worldLoggingPolicy(catalog, world, 3);
  const pre: SessionTrace[] = [];
  const logged: SessionTrace[] = [];
  env.runDays(3, policy, (t) => pre.push(t));
  env.runDays(2, policy, (t) => logged.push(t));
  return { preLog: interactionLogFromTraces(pre), log: interactionLogFromTraces(logged) };
}

test("the world's environments start after its warm-up and the logs, the simulator's after the logs alone", () => {
  const { preLog, log } = warmTraffic();
  const warm = withHistory(catalog, environment, log, preLog);
  const cold = withHistory(catalog, environment, log);
  assert.ok(warm.worldHistory, 'a warm-up gives the world its own history');
  assert.equal(cold.worldHistory, undefined);
  assert.equal(warm.worldHistory.rows, preLog.count + log.count);
  assert.equal(warm.environment.history!.rows, log.count);
  assert.equal(worldEnvironmentOf(warm).history, warm.worldHistory);
  assert.equal(worldEnvironmentOf(cold).history, cold.environment.history);
  assert.equal(resolvedEnvironmentOptions(worldEnvironmentOf(warm)).numCandidates, 40, 'the other options are the same');

  // The same responder (the world) in both columns: without a world history they are identical; with it only
  // the world column changes, since its users bring the warm-up's pairs and follows.
  const train = { ...trainPreset('smoke'), evalSessionsPerEpoch: 30 };
  const run = (h: typeof warm) =>
    runReferencePolicies(
      { catalog, simulator: world, train, ...h, loggingPolicy: (rng) => worldLoggingPolicy(catalog, world, rng.nextUint32()) },
      world,
      world,
      5,
      2,
    );
  const same = run(cold);
  for (const [name, f] of Object.entries(same)) assert.deepEqual(f.world, f.sim, name);
  const split = run(warm);
  for (const [name, f] of Object.entries(split)) assert.deepEqual(f.sim, same[name]!.sim, `${name}: the simulator column is unchanged`);
  assert.notDeepEqual(split['logging policy']!.world, split['logging policy']!.sim, 'the world column starts after the warm-up');
});
