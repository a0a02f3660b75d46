import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { Environment, allocExposureBatch } from '../../src/environment/environment.js';
import { loadSimulator, pairBucketCaps } from '../../src/simulator/learned-simulator.js';
import { replayExposures } from '../../src/environment/interaction-log.js';
import { loadLogDirectory } from '../../src/environment/log-dataset.js';
import { generateDataset } from '../../src/environment/log-generation.js';
import { metricsOf } from './stats.js';
import { openSimulatorFile } from '../../src/simulator/simulator-file.js';
import { fitSimulator, heldOutReport, simulatorTrainingOptions, trainSimulatorOnRows } from '../../src/simulator/simulator-training.js';
import { RandomPolicy, TopKPolicy, type SlatePolicy } from '../../src/environment/slate-policy.js';
import type { SessionTrace } from '../../src/environment/trace.js';
import { readWorldDescription } from '../../src/environment/world-description.js';
import { sessionOptionsFromWorld } from '../../src/environment/world-session-options.js';
import type { ResponseModel } from '../../src/world/response.js';
import { allocResponseBatch } from '../../src/world/response.js';
import { tempDir } from '../helpers/paths.js';

// One generated dataset (no calibration: this file tests the simulator, not the rates) shared by the tests below.
const dir = tempDir('rliv-sim-');
const generated = await generateDataset({
  outDir: dir,
  seed: 3,
  skipCalibration: true,
  scale: { numUsers: 600, numItems: 2000, days: 4, warmUpDays: 0, numCandidates: 50, calibrationUserDays: 0, calibrationRounds: 0, randomRequestRate: 0.3 },
});
const { catalog, world } = generated;
const loaded = await loadLogDirectory(dir, catalog);
const fitted = fitSimulator(loaded.log, catalog, { epochs: 3, seed: 1 });
const sim = fitted.simulator;

test('fitSimulator announces the epochs it will run (more than asked on a small log, to reach minSteps) and counts them 1..N', async () => {
  const small = await loadLogDirectory(dir, catalog, { maxRows: 20_000, seed: 2 });
  const seen: number[] = [];
  let announced = 0;
  const { report } = fitSimulator(small.log, catalog, {
    epochs: 1,
    seed: 1,
    onStart: (n) => {
      announced = n;
    },
    onEpoch: (e) => seen.push(e),
  });
  const stepsPerEpoch = Math.ceil(report.trainRows / 512);
  assert.equal(announced, Math.ceil(500 / stepsPerEpoch), `${report.trainRows} training rows, ${stepsPerEpoch} steps per epoch`);
  assert.ok(announced > 1, 'the minimum of steps raises the epochs');
  assert.equal(report.epochs, announced);
  assert.deepEqual(
    seen,
    Array.from({ length: announced }, (_, i) => i + 1),
  );
});

test('log directory loads every row and joins every gift', () => {
  assert.equal(loaded.log.count, generated.rows + generated.randomRows);
  assert.equal(loaded.rowsSkippedUnknownId, 0);
  assert.equal(loaded.giftsJoined, generated.giftRows);
  assert.equal(loaded.giftsUnmatched, 0);
});

test('a row cap keeps the complete histories of a seeded subset of users, so their f_ua is exactly what the full log gives', async () => {
  const full = loaded.log;
  const cap = Math.floor(full.count / 2);
  const capped = await loadLogDirectory(dir, catalog, { maxRows: cap, seed: 5 });
  const c = capped.log;
  assert.ok(c.count <= cap && c.count > 0.95 * cap, `${c.count} rows for a cap of ${cap}`);
  const rowsOf = (log: typeof full) => {
    const m = new Map<number, number>();
    for (let e = 0; e < log.count; e++) m.set(log.user[e]!, (m.get(log.user[e]!) ?? 0) + 1);
    return m;
  };
  const fullRows = rowsOf(full);
  const keptRows = rowsOf(c);
  assert.equal(capped.usersKept, keptRows.size);
  assert.ok(keptRows.size > 0 && keptRows.size < fullRows.size);
  // Whole users: every kept user has all of their rows, from the random and the standard log alike.
  for (const [u, n] of keptRows) assert.equal(n, fullRows.get(u), `user ${u}`);
  // Their pair counts (rebuilt from each user's history) match the full log's, row for row.
  const key = (log: typeof full, e: number) => `${log.user[e]}:${log.timeMs[e]}:${log.item[e]}`;
  const fullReplay = replayExposures(full, catalog);
  const fullIndex = new Map<string, number>();
  for (let e = 0; e < full.count; e++) fullIndex.set(key(full, e), e);
  const cappedReplay = replayExposures(c, catalog);
  for (let e = 0; e < c.count; e++) {
    const f = fullIndex.get(key(c, e))!;
    for (let q = 0; q < PAIR_COUNT_DIM; q++)
      assert.equal(cappedReplay.pairCounts[e * PAIR_COUNT_DIM + q], fullReplay.pairCounts[f * PAIR_COUNT_DIM + q], `row ${e} f_ua[${q}]`);
  }
  // Gifts of users left out are not "unmatched"; the kept users' gifts all join.
  let keptGifts = 0;
  for (let e = 0; e < full.count; e++) if (full.giftAmount[e]! > 0 && keptRows.has(full.user[e]!)) keptGifts++;
  assert.equal(capped.giftsJoined, keptGifts);
  assert.equal(capped.giftsUnmatched, 0);
  // Seeded: the same seed keeps the same users; a cap above the log keeps everything.
  const again = await loadLogDirectory(dir, catalog, { maxRows: cap, seed: 5 });
  assert.deepEqual(again.log.user.subarray(0, again.log.count), c.user.subarray(0, c.count));
  assert.equal((await loadLogDirectory(dir, catalog, { maxRows: full.count })).log.count, full.count);
  await assert.rejects(
    loadLogDirectory(dir, catalog, { maxRows: 1 }),
    /maxRows 1 is smaller than any user's history in .* \(the smallest has \d+ rows\); raise it/,
  );
});

test('learned simulator: held-out click AUC >= 0.70 on generated logs, sensible other heads', () => {
  const r = fitted.report;
  assert.ok(r.heldOutRows > 1000);
  assert.ok(r.heads.click.auc >= 0.7, `click AUC ${r.heads.click.auc}`);
  assert.ok(r.heads.longView.auc >= 0.7, `long-view AUC ${r.heads.longView.auc}`);
  // The simulator answers every exposure as an unselected one (logSourceInput): on the held-out rows,
  // mostly the logging policy's choices, it predicts fewer clicks than were logged ...
  assert.ok(r.heads.click.predictedRate < r.heads.click.rate, `click rate ${r.heads.click.rate} vs predicted ${r.heads.click.predictedRate}`);
  // ... and on the random log's exposures, which nobody selected, its mean equals theirs.
  const log = loaded.log;
  const randomRows = Int32Array.from({ length: log.count }, (_, i) => i).filter((i) => log.fromRandomLog[i] === 1);
  const rr = heldOutReport(sim, log, replayExposures(log, catalog), randomRows);
  assert.ok(
    randomRows.length > 1000 && Math.abs(rr.heads.click.predictedRate - rr.heads.click.rate) < 0.03,
    `random log: click rate ${rr.heads.click.rate} vs predicted ${rr.heads.click.predictedRate}`,
  );
  assert.ok(r.heads.click.logLoss < 0.69, `click log-loss ${r.heads.click.logLoss} beats a coin`);
  assert.ok(
    Math.abs(rr.watchTimePredictedMeanSec / rr.watchTimeMeanSec - 1) < 0.3,
    `random log: watch ${rr.watchTimeMeanSec} vs ${rr.watchTimePredictedMeanSec}`,
  );
});

test('simulator responses follow KuaiRand rules and the gating of follows and gifts', () => {
  const n = 4000;
  const batch = allocExposureBatch(n);
  const rng = new Rng(4);
  batch.count = n;
  for (let e = 0; e < n; e++) {
    batch.user[e] = rng.int(catalog.numUsers);
    batch.item[e] = rng.int(catalog.numItems);
    batch.position[e] = e % 6;
    if (e % 2 === 0) batch.pairCounts[e * PAIR_COUNT_DIM + PC_FOLLOW] = 1;
  }
  const out = allocResponseBatch(n);
  sim.respond(batch, new Rng(5), out);
  let clicks = 0;
  for (let e = 0; e < n; e++) {
    const dur = catalog.itemDurationMs[batch.item[e]!]!;
    const p = out.playTimeMs[e]!;
    assert.equal(out.click[e], (dur <= 7000 ? p >= dur : p > 7000) ? 1 : 0);
    assert.equal(out.longView[e], (dur <= 18000 ? p >= dur : p > 18000) ? 1 : 0);
    if (e % 2 === 0) assert.equal(out.follow[e], 0, 'no follow of an already followed author');
    if (!out.click[e]) assert.equal(out.like[e]! + out.follow[e]! + out.comment[e]! + out.giftAmount[e]!, 0);
    if (out.giftAmount[e]! > 0) assert.equal(catalog.authorIsLive[catalog.itemAuthor[batch.item[e]!]!], 1);
    clicks += out.click[e]!;
  }
  // Uniformly random pairs are unselected exposures: their click share is the random log's rate.
  let randomRows = 0,
    randomClicks = 0;
  for (let r = 0; r < loaded.log.count; r++)
    if (loaded.log.fromRandomLog[r] === 1) {
      randomRows++;
      randomClicks += loaded.log.click[r]!;
    }
  assert.ok(Math.abs(clicks / n - randomClicks / randomRows) < 0.04, `click share ${clicks / n} vs the random log's ${randomClicks / randomRows}`);
  // Same seed, same responses.
  const again = allocResponseBatch(n);
  sim.respond(batch, new Rng(5), again);
  assert.deepEqual(Array.from(again.playTimeMs.subarray(0, n)), Array.from(out.playTimeMs.subarray(0, n)));
});

// The factored first layer (cached per-user / per-item / per-bucket projections) must compute the trunk exactly as training does.
test('factored inference forward equals the training path (encode + gatherInput + mlp), through cache evictions and weight changes', () => {
  const n = 300;
  const batch = allocExposureBatch(n);
  const rng = new Rng(12);
  batch.count = n;
  for (let e = 0; e < n; e++) {
    batch.user[e] = rng.int(catalog.numUsers);
    batch.item[e] = e < 100 ? rng.int(catalog.numItems) : batch.item[rng.int(100)]!; // repeats hit the caches
    batch.repeatAuthor[e] = rng.int(4);
    batch.repeatTag[e] = rng.int(20);
    batch.position[e] = e % 6;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) batch.pairCounts[e * PAIR_COUNT_DIM + k] = rng.int(3) * rng.int(40);
  }
  const rows = new Int32Array(n * sim.lookups);
  const x = new Float32Array(n * sim.inputDim);
  const compare = (what: string): void => {
    const factored = Float32Array.from(sim.forward(batch).subarray(0, n * 11));
    sim.encode(n, batch.user, batch.item, batch.pairCounts, batch.repeatAuthor, batch.repeatTag, batch.position, rows);
    sim.gatherInput(rows, n, x);
    const direct = sim.mlp.forward(x, n);
    sim.addClickOffsets(n, batch, undefined, direct);
    for (let i = 0; i < n * 11; i++) assert.ok(Math.abs(factored[i]! - direct[i]!) < 1e-4, `${what}, output ${i}: ${factored[i]} vs ${direct[i]}`);
  };
  compare('fitted weights');
  compare('fitted weights, warm caches');
  const original = sim.params().map((p) => Float32Array.from(p.value));
  const itemCacheSlots = sim.itemCacheSlots;
  try {
    // A 16-slot item cache: most items evict one another.
    sim.itemCacheSlots = 16;
    sim.invalidateCache();
    compare('16-slot item cache');
    for (const p of sim.params()) for (let i = 0; i < p.value.length; i += 7) p.value[i]! += 0.05;
    sim.invalidateCache();
    compare('changed weights after invalidateCache');
  } finally {
    sim.params().forEach((p, i) => p.value.set(original[i]!));
    sim.itemCacheSlots = itemCacheSlots;
    sim.invalidateCache();
  }
});

test('save / loadSimulator / openSimulatorFile round trip; corrupt and foreign files fail clearly', async () => {
  const path = join(dir, 'simulator.params');
  sim.save(path, { world: readWorldDescription(join(dir, 'world.json')) });
  const batch = allocExposureBatch(64);
  batch.count = 64;
  for (let e = 0; e < 64; e++) {
    batch.user[e] = e;
    batch.item[e] = 3 * e;
  }
  const y1 = Float32Array.from(sim.forward(batch).subarray(0, 64 * 11));
  const loadedSim = loadSimulator(path, catalog);
  assert.deepEqual(Array.from(loadedSim.forward(batch).subarray(0, 64 * 11)), Array.from(y1));
  const opened = await openSimulatorFile(path);
  assert.equal(opened.catalog.numItems, catalog.numItems);
  assert.deepEqual(Array.from(opened.simulator.forward(batch).subarray(0, 64 * 11)), Array.from(y1));
  const bytes = readFileSync(path);
  bytes[bytes.length - 10]! ^= 0xff;
  const bad = join(dir, 'corrupt.params');
  writeFileSync(bad, bytes);
  assert.throws(() => loadSimulator(bad, catalog), /checksum mismatch/);
  const other = { ...catalog, numItems: catalog.numItems - 1 };
  assert.throws(() => loadSimulator(path, other), /different catalog/);
});

/** Per-session lengths and watch seconds of `days` days for the first `users` users. */
function runPolicy(responder: ResponseModel, policy: SlatePolicy, users: number, days: number): SessionTrace[] {
  const env = new Environment(catalog, responder, { seed: 21, numCandidates: 50, ...sessionOptionsFromWorld(world.config) });
  const traces: SessionTrace[] = [];
  env.runDays(
    days,
    policy,
    (t) => traces.push(t),
    Int32Array.from({ length: users }, (_, i) => i),
  );
  return traces;
}

const oracle = () => new TopKPolicy({ score: (r, out) => world.scoreLongTerm(r.user, r.candidates, r.candidates.length, out) });

for (const [name, responder] of [
  ['world', world],
  ['simulator', sim],
] as const) {
  test(`oracle (world's long-term affinity) beats random on session length and watch time in --env ${name}`, () => {
    const a = metricsOf(runPolicy(responder, oracle(), 300, 3));
    const b = metricsOf(runPolicy(responder, new RandomPolicy(new Rng(8)), 300, 3));
    assert.ok(a.sessions > 200 && b.sessions > 200);
    assert.ok(a.lengthZ(b) > 3, `session length ${a.meanLength} vs ${b.meanLength}, z=${a.lengthZ(b)}`);
    assert.ok(a.watchZ(b) > 3, `watch time ${a.meanWatch} vs ${b.meanWatch}, z=${a.watchZ(b)}`);
  });
}

test('environment over the learned simulator is deterministic', () => {
  const fp = (t: SessionTrace[]) => JSON.stringify(t.map((s) => s.requests.map((r) => [r.timeMs, Array.from(r.slate), Array.from(r.responses.playTimeMs)])));
  assert.equal(fp(runPolicy(sim, new RandomPolicy(new Rng(2)), 40, 2)), fp(runPolicy(sim, new RandomPolicy(new Rng(2)), 40, 2)));
});

test('a fitted simulator reads the pair-count buckets its training rows fill: caps computed on exactly those rows, before training', () => {
  const rep = replayExposures(loaded.log, catalog, { pairCountView: 'live' });
  const rows = Int32Array.from({ length: 20_000 }, (_, j) => (j * 7) % loaded.log.count);
  const o = simulatorTrainingOptions({ epochs: 1, minSteps: 1, pairBucketMinShare: 0.01, seed: 3, shape: { selectionDim: 0 } });
  const { simulator } = trainSimulatorOnRows(loaded.log, rep, catalog, Int32Array.from(rows), o);
  const caps = pairBucketCaps(rep.pairCounts, rows, 0.01);
  assert.deepEqual(simulator.calibration.pairBucketCap, caps);
  // Four days of logs: clicks on one author reach some buckets, never the top one.
  assert.ok(caps[PC_CLICK]! >= 1 && caps[PC_CLICK]! < 15, `click cap ${caps[PC_CLICK]}`);
  assert.throws(() => simulatorTrainingOptions({ pairBucketMinShare: -0.1 }), /pairBucketMinShare must be in \[0, 1\), got -0.1/);
});
