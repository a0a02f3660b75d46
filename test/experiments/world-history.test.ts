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
import { withHistory, type RunHistories } from '../../src/experiments/instrument.js';
import { trainPreset } from '../../src/experiments/train-presets.js';
import { EnvironmentHistory } from '../../src/environment/environment-history.js';
import { fitSimulatorEnsemble } from '../../src/simulator/simulator-ensemble.js';
import { HEAD_CLICK, OUTPUT_DIM } from '../../src/simulator/learned-simulator.js';
import { allocExposureBatch } from '../../src/environment/environment.js';

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

/** The reference policies with the world as the responder of both columns, from the histories `h`. */
function referenceRuns(h: RunHistories) {
  const train = { ...trainPreset('smoke'), evalSessionsPerEpoch: 30 };
  return runReferencePolicies(
    { catalog, simulator: world, train, ...h, loggingPolicy: (rng) => worldLoggingPolicy(catalog, world, rng.nextUint32()) },
    world,
    world,
    5,
    2,
  );
}

test("the world's environments start after its warm-up and the logs, the simulator's after the logs alone", () => {
  const { preLog, log } = warmTraffic();
  const warm = withHistory(catalog, environment, 'logs', log, preLog);
  const cold = withHistory(catalog, environment, 'logs', log);
  assert.ok(warm.worldHistory, 'a warm-up gives the world its own history');
  assert.equal(cold.worldHistory, undefined);
  assert.equal(warm.worldHistory.rows, preLog.count + log.count);
  assert.equal(warm.environment.history!.rows, log.count);
  assert.equal(worldEnvironmentOf(warm).history, warm.worldHistory);
  assert.equal(worldEnvironmentOf(cold).history, cold.environment.history);
  assert.equal(resolvedEnvironmentOptions(worldEnvironmentOf(warm)).numCandidates, 40, 'the other options are the same');

  // The same responder (the world) in both columns: without a world history they are identical; with it only
  // the world column changes, since its users bring the warm-up's pairs and follows.
  const same = referenceRuns(cold);
  for (const [name, f] of Object.entries(same)) assert.deepEqual(f.world, f.sim, name);
  const split = referenceRuns(warm);
  for (const [name, f] of Object.entries(split)) assert.deepEqual(f.sim, same[name]!.sim, `${name}: the simulator column is unchanged`);
  assert.notDeepEqual(split['logging policy']!.world, split['logging policy']!.sim, 'the world column starts after the warm-up');
});

test("a lifelong simulator's environments start where the world's do: after the warm-up and the logs", () => {
  const { preLog, log } = warmTraffic();
  const lifelong = withHistory(catalog, environment, 'lifelong', log, preLog);
  assert.equal(lifelong.worldHistory, undefined, 'one history for both columns');
  assert.equal(lifelong.environment.history!.rows, preLog.count + log.count);
  const warm = withHistory(catalog, environment, 'logs', log, preLog);
  assert.deepEqual(lifelong.environment.history!.summary(), warm.worldHistory!.summary());
  assert.equal(worldEnvironmentOf(lifelong).history, lifelong.environment.history);
  // Without a warm-up there are no counters before the logs: the same as a `logs` simulator.
  const cold = withHistory(catalog, environment, 'lifelong', log);
  assert.equal(cold.worldHistory, undefined);
  assert.equal(cold.environment.history!.rows, log.count);

  // The same responder in both columns now gives identical figures, and the simulator column is the world's of before.
  const both = referenceRuns(lifelong);
  const split = referenceRuns(warm);
  for (const [name, f] of Object.entries(both)) {
    assert.deepEqual(f.sim, f.world, `${name}: both columns start from one history`);
    assert.deepEqual(f.world, split[name]!.world, `${name}: the world column is unchanged`);
  }
});

test("an ensemble fitted with the pairs' counters at the logs' start is a lifelong one, and reads them", () => {
  const { preLog, log } = warmTraffic();
  const { startTimeMs, recentAuthorsPerUser } = resolvedEnvironmentOptions(environment);
  const counters = EnvironmentHistory.fromLog(catalog, preLog, { startTimeMs, recentAuthorsPerUser });
  const fit = { members: 1, epochs: 1, seed: 3 };
  const lifelong = fitSimulatorEnsemble(log, catalog, { ...fit, pairsAtStart: counters });
  const logs = fitSimulatorEnsemble(log, catalog, fit);
  assert.equal(lifelong.ensemble.pairHistory, 'lifelong');
  assert.equal(lifelong.report.pairHistory, 'lifelong');
  assert.equal(logs.ensemble.pairHistory, 'logs');
  assert.equal(logs.report.pairHistory, 'logs');
  // Same log, seed and options: only the pair counts they were fitted on differ, and so do their answers.
  const batch = allocExposureBatch(50);
  batch.count = 50;
  for (let e = 0; e < 50; e++) {
    batch.user[e] = e % catalog.numUsers;
    batch.item[e] = (7 * e) % catalog.numItems;
  }
  const a = lifelong.ensemble.forward(batch).slice();
  const b = logs.ensemble.forward(batch);
  let diff = 0;
  for (let e = 0; e < 50; e++) diff += Math.abs(a[e * OUTPUT_DIM + HEAD_CLICK]! - b[e * OUTPUT_DIM + HEAD_CLICK]!);
  assert.ok(diff > 1e-3, `the two fits answer alike (sum of |click logit differences| ${diff})`);
});
