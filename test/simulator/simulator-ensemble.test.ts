import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PAIR_COUNT_DIM, PC_CLICK } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { Environment, allocExposureBatch } from '../../src/environment/environment.js';
import { replayExposures, allocInteractionLog } from '../../src/environment/interaction-log.js';
import { DEFAULT_SIMULATOR_CALIBRATION, HEAD_CLICK, LearnedSimulator, OUTPUT_DIM, pairBucketCaps } from '../../src/simulator/learned-simulator.js';
import {
  P_FLOOR,
  SimulatorEnsemble,
  clickLogitByPairCount,
  clickLogitByRepeat,
  loadSimulatorEnsemble,
  pessimismLambda,
  pessimisticProbability,
} from '../../src/simulator/simulator-ensemble.js';
import { RandomPolicy, type PendingRequest, type SlatePolicy } from '../../src/environment/slate-policy.js';
import { allocResponseBatch, type ExposureBatch, type ResponseBatch, type ResponseModel } from '../../src/world/response.js';
import { tempDir } from '../helpers/paths.js';
import { tinyCatalog } from '../helpers/tiny-world.js';

const logit = (p: number) => Math.log(p / (1 - p));

/** A member whose outputs are constant: every last-layer weight 0, biases as given (click logit at HEAD_CLICK). */
function constantMember(catalog: ReturnType<typeof tinyCatalog>, clickProbability: number, seed: number): LearnedSimulator {
  const m = new LearnedSimulator(catalog, { embeddingRows: 1 << 10, hidden: [8] }, seed);
  const last = m.mlp.layers[m.mlp.layers.length - 1]!;
  last.weight.value.fill(0);
  last.bias.value.fill(0);
  last.bias.value[HEAD_CLICK] = logit(clickProbability);
  m.invalidateCache();
  return m;
}

function batchOf(count: number, catalog: ReturnType<typeof tinyCatalog>): ExposureBatch {
  const b = allocExposureBatch(count);
  b.count = count;
  for (let e = 0; e < count; e++) {
    b.user[e] = e % catalog.numUsers;
    b.item[e] = (3 * e) % catalog.numItems;
  }
  return b;
}

test('pessimism: two members at p = 0.6 and 0.2 give mean 0.4, std 0.2, so p* = 0.4 - lambda * 0.2 exactly', () => {
  const catalog = tinyCatalog();
  const members = [constantMember(catalog, 0.6, 1), constantMember(catalog, 0.2, 2)];
  const batch = batchOf(5, catalog);
  const out = new Float32Array(5);
  for (const [lambda, expected] of [
    [0, 0.4],
    [0.5, 0.3],
    [1, 0.2],
    [1.9, 0.02],
  ] as const) {
    const ens = new SimulatorEnsemble(catalog, members, { lambda });
    ens.expectedClickProbabilities(batch, out);
    for (let e = 0; e < 5; e++) assert.ok(Math.abs(out[e]! - expected) < 1e-5, `lambda ${lambda}: p* ${out[e]} != ${expected}`);
    const d = ens.disagreement(5);
    assert.ok(Math.abs(d.mean[0]! - 0.4) < 1e-6 && Math.abs(d.std[0]! - 0.2) < 1e-6);
  }
  // Past the mean the probability is clamped at the floor, never negative.
  const floor = new SimulatorEnsemble(catalog, members, { lambda: 3 });
  floor.expectedClickProbabilities(batch, out);
  assert.ok(Math.abs(out[0]! - P_FLOOR) < 1e-9);
  // Members that agree are not penalised whatever lambda is.
  const agree = new SimulatorEnsemble(catalog, [constantMember(catalog, 0.3, 1), constantMember(catalog, 0.3, 2)], { lambda: 10 });
  agree.expectedClickProbabilities(batch, out);
  assert.ok(Math.abs(out[0]! - 0.3) < 1e-6);
  assert.throws(() => new SimulatorEnsemble(catalog, members, { lambda: -1 }), /lambda must be finite and >= 0/);
  assert.throws(() => new SimulatorEnsemble(catalog, []), /at least one member/);
});

test('pessimism: the sampled click rate follows p*', () => {
  const catalog = tinyCatalog();
  const ens = new SimulatorEnsemble(catalog, [constantMember(catalog, 0.6, 1), constantMember(catalog, 0.2, 2)], { lambda: 1 });
  const n = 20000;
  const batch = batchOf(n, catalog);
  const out = allocResponseBatch(n);
  ens.respond(batch, new Rng(5), out);
  let clicks = 0;
  for (let e = 0; e < n; e++) clicks += out.click[e]!;
  // p* = 0.2 for every exposure (classes of very short videos aside, which a click always reaches)
  assert.ok(Math.abs(clicks / n - 0.2) < 0.015, `click rate ${clicks / n}`);
});

test('pessimismLambda: solves mean(p*) = observed rate on a hand-built case; 0 when the ensemble does not over-predict', () => {
  // mean(0.5 - 0.1 l, 0.3 - 0.1 l) = 0.4 - 0.1 l = 0.3  =>  l = 1
  assert.ok(Math.abs(pessimismLambda([0.5, 0.3], [0.1, 0.1], 0.3) - 1) < 1e-9);
  assert.equal(pessimismLambda([0.5, 0.3], [0.1, 0.1], 0.45), 0);
  assert.equal(pessimismLambda([0.5], [0], 0.1, 20), 20); // no disagreement: no lambda reaches it
  assert.throws(() => pessimismLambda([], [], 0.1), /at least one exposure/);
  assert.throws(() => pessimismLambda([0.5], [0.1], 1.5), /observed rate/);
  assert.equal(pessimisticProbability(0.5, 0.1, 2), 0.3);
});

test('ensemble file round trip keeps members, lambda and the f_ua view; a foreign catalog is refused', () => {
  const catalog = tinyCatalog();
  const ens = new SimulatorEnsemble(catalog, [constantMember(catalog, 0.6, 1), constantMember(catalog, 0.2, 2)], { lambda: 0.75 });
  const path = join(tempDir('rliv-ens-'), 'sim.params');
  ens.save(path);
  const back = loadSimulatorEnsemble(path, catalog);
  assert.equal(back.members.length, 2);
  assert.equal(back.lambda, 0.75);
  assert.equal(back.pairCountView, 'session-start');
  const batch = batchOf(4, catalog);
  const a = new Float32Array(4),
    b = new Float32Array(4);
  ens.expectedClickProbabilities(batch, a);
  back.expectedClickProbabilities(batch, b);
  assert.deepEqual(Array.from(b), Array.from(a));
  assert.throws(() => loadSimulatorEnsemble(path, { ...catalog, numAuthors: catalog.numAuthors + 1 }), /different catalog/);
});

test("ensemble file round trip keeps where f_ua start (lifelong counters or the logs); files without it load as 'logs'", () => {
  const catalog = tinyCatalog();
  const members = [constantMember(catalog, 0.6, 1)];
  const dir = tempDir('rliv-ens-history-');
  const lifelong = new SimulatorEnsemble(catalog, members, { pairHistory: 'lifelong' });
  lifelong.save(join(dir, 'lifelong.params'));
  assert.equal(loadSimulatorEnsemble(join(dir, 'lifelong.params'), catalog).pairHistory, 'lifelong');
  const old = new SimulatorEnsemble(catalog, members);
  assert.equal(old.pairHistory, 'logs');
  old.save(join(dir, 'old.params'), { pairHistory: undefined }); // a file written before the field existed
  assert.equal(loadSimulatorEnsemble(join(dir, 'old.params'), catalog).pairHistory, 'logs');
  assert.throws(() => new SimulatorEnsemble(catalog, members, { pairHistory: 'forever' as 'logs' }), /pairHistory must be "logs" or "lifelong", got "forever"/);
});

/** A responder that always clicks and records the f_ua click count it was shown per exposure. */
class RecordingResponder implements ResponseModel {
  readonly seen: number[] = [];
  constructor(readonly pairCountView: 'live' | 'session-start') {}
  respond(batch: ExposureBatch, _rng: Rng, out: ResponseBatch): void {
    for (let e = 0; e < batch.count; e++) {
      this.seen.push(batch.pairCounts[e * PAIR_COUNT_DIM + PC_CLICK]!);
      out.click[e] = 1;
      out.longView[e] = 0;
      out.like[e] = 0;
      out.follow[e] = 0;
      out.comment[e] = 0;
      out.forward[e] = 0;
      out.hate[e] = 0;
      out.playTimeMs[e] = 8000;
      out.giftAmount[e] = 0;
    }
  }
}

/** Always the same candidate first: the first candidate's author over and over (one slate = 1 item). */
class FirstCandidatePolicy implements SlatePolicy {
  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    return requests.map(() => Int32Array.from({ length: k }, (_, i) => i));
  }
}

test("environment: a session-start responder never sees the session's own clicks in f_ua; a live one does", () => {
  const catalog = tinyCatalog();
  const run = (view: 'live' | 'session-start') => {
    const r = new RecordingResponder(view);
    // one candidate, one item per slate, a long budget: every request re-exposes the same author
    const env = new Environment(catalog, r, {
      seed: 2,
      numCandidates: 1,
      slateSize: 1,
      candidateMix: { popular: 0, recentAuthor: 1, random: 0 },
      quit: { budgetBase: 5, budgetPerActivity: 0, maxRequests: 5 },
    });
    env.runSessions([0], new FirstCandidatePolicy());
    return r.seen;
  };
  const live = run('live');
  const start = run('session-start');
  assert.equal(live.length, start.length);
  assert.ok(live.length >= 3, `${live.length} requests`);
  assert.ok(live[live.length - 1]! > 0, `live counts grow within the session: ${live}`);
  assert.ok(
    start.every((c) => c === start[0]),
    `session-start counts stay at the session's start: ${start}`,
  );
});

test('replayExposures: the session-start view gives each row the pair counts at the start of its session', () => {
  const catalog = tinyCatalog();
  const log = allocInteractionLog(4);
  log.count = 4;
  const item = 0;
  const times = [0, 60_000, 120_000, 120_000 + 2 * 3_600_000]; // three requests of one session, then a new session
  for (let r = 0; r < 4; r++) {
    log.user[r] = 1;
    log.item[r] = item;
    log.timeMs[r] = times[r]!;
    log.click[r] = 1;
  }
  const live = replayExposures(log, catalog, { pairCountView: 'live' });
  const start = replayExposures(log, catalog, { pairCountView: 'session-start' });
  const clicks = (rep: typeof live) => Array.from({ length: 4 }, (_, r) => rep.pairCounts[r * PAIR_COUNT_DIM + PC_CLICK]!);
  assert.deepEqual(clicks(live), [0, 1, 2, 3]);
  assert.deepEqual(clicks(start), [0, 0, 0, 3]);
});

test('a random-policy run through the ensemble answers with its own outputs', () => {
  const catalog = tinyCatalog();
  const ens = new SimulatorEnsemble(catalog, [constantMember(catalog, 0.5, 1)], { lambda: 0 });
  const env = new Environment(catalog, ens, { seed: 1, numCandidates: 10 });
  const traces = env.runSessions([0, 1, 2], new RandomPolicy(new Rng(1)));
  assert.equal(traces.length, 3);
  const y = ens.forward(batchOf(2, catalog));
  assert.ok(Math.abs(y[HEAD_CLICK]! - 0) < 1e-6 && y.length >= 2 * OUTPUT_DIM);
});

test("clickLogitByRepeat reads the random log's repeat offsets as simulation does; clickLogitByPairCount the trunk's pair-count response", () => {
  const catalog = tinyCatalog();
  const m = constantMember(catalog, 0.3, 4);
  const off = m.clickOffsets!.value;
  off.fill(0.7); // the other sets must not be read
  for (let b = 0; b < 16; b++) {
    off[m.offsetIndex(0, 0, 0) + b] = -0.1 * b;
    off[m.offsetIndex(0, 1, 0) + b] = -0.05 * b;
  }
  m.invalidateCache();
  const ens = new SimulatorEnsemble(catalog, [m], { lambda: 0 });
  const close = (a: number[], b: number[]) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-5, `${a} vs ${b}`));
  // Repeats 1, 2, 4, 8 fall in log2 buckets 1, 2, 3, 4.
  close(clickLogitByRepeat(ens, 'author', [1, 2, 4, 8], 50, 1), [-0.1, -0.2, -0.3, -0.4]);
  close(clickLogitByRepeat(ens, 'tag', [1, 3, 8], 50, 1), [-0.05, -0.1, -0.2]);
  // The constant member's trunk ignores pair counts.
  close(clickLogitByPairCount(ens, [1, 8], 50, 1), [0, 0]);
});

test('pairBucketCaps: per kind, the highest log2 bucket holding at least the minimum share of the rows (hand-counted)', () => {
  // Ten rows; kind 0 (clicks) counts 0,1,1,2,3,4,8,8,100,0 -> buckets 0,1,1,2,2,3,4,4,7,0. Kind 6 counts 5 on every row (bucket 3).
  const clicks = [0, 1, 1, 2, 3, 4, 8, 8, 100, 0];
  const counts = new Float32Array(clicks.length * PAIR_COUNT_DIM);
  clicks.forEach((c, r) => {
    counts[r * PAIR_COUNT_DIM + PC_CLICK] = c;
    counts[r * PAIR_COUNT_DIM + 6] = 5;
  });
  const all = Int32Array.from(clicks.keys());
  // A share of 0.15 needs 2 rows: buckets 1, 2 and 4 have two each, bucket 7 one.
  assert.deepEqual(pairBucketCaps(counts, all, 0.15), [4, 0, 0, 0, 0, 0, 3]);
  // Any row fills a bucket at share 0.
  assert.deepEqual(pairBucketCaps(counts, all, 0), [7, 0, 0, 0, 0, 0, 3]);
  // The rows are the ones listed, repeats counted (a bootstrap sample): rows 8 (100 clicks) twice now fill bucket 7.
  assert.deepEqual(pairBucketCaps(counts, Int32Array.of(8, 8, 0, 1), 0.5), [7, 0, 0, 0, 0, 0, 3]);
  assert.throws(() => pairBucketCaps(counts, all, 1), /minimum share must be in \[0, 1\), got 1/);
});

test("a pair count above its kind's cap is read as the cap's bucket: the same outputs as a count in that bucket, others unchanged", () => {
  const catalog = tinyCatalog();
  const caps = [3, 15, 15, 15, 15, 15, 15];
  const capped = new LearnedSimulator(catalog, { embeddingRows: 1 << 10, hidden: [8] }, 4, { ...DEFAULT_SIMULATOR_CALIBRATION, pairBucketCap: caps });
  const free = new LearnedSimulator(catalog, { embeddingRows: 1 << 10, hidden: [8] }, 4);
  assert.equal(capped.pairBucket(PC_CLICK, 4), 3); // 4-7 clicks: bucket 3, the cap
  assert.equal(capped.pairBucket(PC_CLICK, 1000), 3);
  assert.equal(free.pairBucket(PC_CLICK, 1000), 10);
  assert.equal(capped.pairBucket(1, 1000), 10);
  const outputs = (m: LearnedSimulator, clicks: number): number[] => {
    const b = batchOf(1, catalog);
    b.pairCounts[PC_CLICK] = clicks;
    return Array.from(m.forward(b).subarray(0, OUTPUT_DIM));
  };
  // 1,000 clicks reads as 5 (bucket 3) in the capped simulator; the uncapped one reads its own bucket 10 (another, untrained row).
  assert.deepEqual(outputs(capped, 1000), outputs(capped, 5));
  assert.notDeepEqual(outputs(free, 1000), outputs(free, 5));
  // Below the cap, both read the same rows (same seed, same weights).
  assert.deepEqual(outputs(capped, 2), outputs(free, 2));
});

test('simulator files keep the pair-bucket caps; files without them read every bucket; a bad cap is refused naming the file', () => {
  const catalog = tinyCatalog();
  const dir = tempDir('rliv-ens-caps-');
  const caps = [8, 8, 4, 1, 2, 4, 13];
  const m = new LearnedSimulator(catalog, { embeddingRows: 1 << 10, hidden: [8] }, 2, { ...DEFAULT_SIMULATOR_CALIBRATION, pairBucketCap: caps });
  const other = new LearnedSimulator(catalog, { embeddingRows: 1 << 10, hidden: [8] }, 3, {
    ...DEFAULT_SIMULATOR_CALIBRATION,
    pairBucketCap: [9, 8, 4, 1, 2, 3, 14],
  });
  const ensemble = new SimulatorEnsemble(catalog, [m, other]);
  assert.deepEqual(ensemble.calibration.pairBucketCap, [8, 8, 4, 1, 2, 3, 13], 'the buckets every member reads');
  ensemble.save(join(dir, 'caps.params'));
  const back = loadSimulatorEnsemble(join(dir, 'caps.params'), catalog);
  assert.deepEqual(back.members[0]!.calibration.pairBucketCap, caps);
  assert.deepEqual(back.members[1]!.calibration.pairBucketCap, [9, 8, 4, 1, 2, 3, 14]);
  // A file written before the caps existed.
  const { pairBucketCap: _, ...legacy } = m.calibration;
  ensemble.save(join(dir, 'old.params'), { calibrations: [legacy, legacy] });
  assert.deepEqual(loadSimulatorEnsemble(join(dir, 'old.params'), catalog).members[1]!.calibration.pairBucketCap, new Array(PAIR_COUNT_DIM).fill(15));
  const badPath = join(dir, 'bad.params');
  ensemble.save(badPath, { calibrations: [m.calibration, { ...legacy, pairBucketCap: [8, 8, 4, 1, 2, 4] }] });
  assert.throws(
    () => loadSimulatorEnsemble(badPath, catalog),
    (err: Error) => err.name === 'ParamsFormatError' && err.message.includes(badPath) && /pairBucketCap must be 7 integers in \[0, 15\]/.test(err.message),
  );
  assert.throws(
    () => new LearnedSimulator(catalog, {}, 1, { ...DEFAULT_SIMULATOR_CALIBRATION, pairBucketCap: [16, 0, 0, 0, 0, 0, 0] }),
    /pairBucketCap must be 7 integers in \[0, 15\], got \[16,0,0,0,0,0,0\]/,
  );
});
