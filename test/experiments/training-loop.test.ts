import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEFAULT_EXPLORATION } from '../../src/agents/exploration.js';
import { loadCheckpoint } from '../../src/agents/checkpoint.js';
import { figureOf, splitUsers, TrainingDivergedError, TrainingRun, type TrainingLoopOptions } from '../../src/experiments/training-loop.js';
import { tempDir } from '../helpers/paths.js';
import { FakeEnv, fakeMetrics, FakeRanker } from './fakes.js';

function options(over: Partial<TrainingLoopOptions> = {}): TrainingLoopOptions {
  return {
    agentName: 'Fake',
    agentConfig: {},
    seed: 11,
    epochs: 6,
    sessionsPerEpoch: 8,
    evalSessionsPerEpoch: 6,
    stepsPerEpoch: 40,
    heldOutFraction: 0.25,
    lastEpochsForFigure: 3,
    exploration: { ...DEFAULT_EXPLORATION, epsilon: 0.3, decayEpochs: 4 },
    ...over,
  };
}

test('split: disjoint, covers every user, seeded', () => {
  const a = splitUsers(20, 0.25, 3);
  assert.equal(a.heldOut.length, 5);
  assert.equal(a.train.length, 15);
  assert.deepEqual(
    [...a.train, ...a.heldOut].sort((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(splitUsers(20, 0.25, 3), a);
  assert.notDeepEqual(splitUsers(20, 0.25, 4).heldOut, a.heldOut);
});

test('each epoch collects training users only, evaluates the same held-out users, and the figure is the mean of the last epochs', () => {
  const env = new FakeEnv();
  const agent = new FakeRanker(1);
  const run = new TrainingRun(env, agent, options(), fakeMetrics);
  const result = run.run();
  assert.equal(result.reports.length, 6);
  const split = splitUsers(env.numUsers, 0.25, 11);
  // Calls alternate: collect (training users), evaluate (held-out users).
  assert.equal(env.calls.length, 12);
  const evalUsers = env.calls[1]!;
  for (let e = 0; e < 6; e++) {
    assert.equal(env.calls[2 * e]!.length, 8);
    for (const u of env.calls[2 * e]!) assert.ok(split.train.includes(u), `collected user ${u} must be a training user`);
    assert.deepEqual(env.calls[2 * e + 1], evalUsers);
    for (const u of evalUsers) assert.ok(split.heldOut.includes(u));
  }
  // Figure = mean of the last 3 evaluations, by hand.
  const last = result.reports.slice(3).map((r) => r.eval.sessionLength!);
  assert.ok(Math.abs(result.figure.sessionLength! - (last[0]! + last[1]! + last[2]!) / 3) < 1e-12);
  assert.deepEqual(figureOf(result.reports, 100).ctr, result.reports.reduce((s, r) => s + r.eval.ctr!, 0) / 6);
  // The agent saw exactly the collected sessions and learned: its greedy CTR beats the first epoch's.
  assert.equal(agent.observed.length, 6 * 8);
  assert.ok(result.figure.ctr! > result.reports[0]!.eval.ctr!, `figure ctr ${result.figure.ctr} vs first epoch ${result.reports[0]!.eval.ctr}`);
  for (const r of result.reports) assert.ok(Number.isFinite(r.train.losses.click!));
});

test('every model gets the same users in the same epochs', () => {
  const envA = new FakeEnv();
  const envB = new FakeEnv();
  new TrainingRun(envA, new FakeRanker(1), options({ epochs: 3 }), fakeMetrics).run();
  new TrainingRun(envB, new FakeRanker(99, { name: 'Other' }), options({ epochs: 3 }), fakeMetrics).run();
  assert.deepEqual(envA.calls, envB.calls);
});

test('offline agents are fed only sessions of the logging policy and are never asked to score while collecting', () => {
  const env = new FakeEnv();
  const agent = new FakeRanker(1, { offline: true });
  const run = new TrainingRun(env, agent, options({ epochs: 1 }), fakeMetrics);
  const origRun = env.runSessions.bind(env);
  let scoreCallsDuringCollect = -1;
  let call = 0;
  env.runSessions = (users, policy) => {
    const before = agent.scoreCalls;
    const out = origRun(users, policy);
    if (call++ === 0) {
      scoreCallsDuringCollect = agent.scoreCalls - before;
      assert.equal(policy.constructor.name, 'RandomPolicy');
    }
    return out;
  };
  run.run();
  assert.equal(scoreCallsDuringCollect, 0);
  assert.ok(agent.scoreCalls > 0, 'evaluation still ranks with the agent');
  assert.equal(agent.observed.length, 8);
});

test('a run interrupted after epoch k and resumed ends with exactly the parameters of an uninterrupted run', () => {
  const dir = tempDir();
  const straight = join(dir, 'straight.ckpt');
  const runA = new TrainingRun(new FakeEnv(), new FakeRanker(1), options(), fakeMetrics, straight);
  const resultA = runA.run();

  const broken = join(dir, 'broken.ckpt');
  const runB = new TrainingRun(new FakeEnv(), new FakeRanker(1), options(), fakeMetrics, broken);
  assert.throws(
    () =>
      runB.run((report) => {
        if (report.epoch === 2) throw new Error('killed');
      }),
    /killed/,
  );
  const atInterrupt = loadCheckpoint(broken);
  assert.equal(atInterrupt.state.epoch, 3);
  // A fresh process: new environment, new agent, everything else from the checkpoint.
  const resumed = TrainingRun.resume(broken, new FakeEnv(), () => new FakeRanker(12345), fakeMetrics);
  assert.equal(resumed.epoch, 3);
  const resultB = resumed.run();

  assert.deepEqual(loadCheckpoint(broken).sections.model, loadCheckpoint(straight).sections.model);
  assert.deepEqual(loadCheckpoint(broken).sections.env, loadCheckpoint(straight).sections.env);
  assert.deepEqual(
    resultB.reports.map((r) => r.eval),
    resultA.reports.map((r) => r.eval),
  );
  assert.deepEqual(resultB.figure, resultA.figure);
  // The resumed run's later epochs did real work: parameters moved after the resume point.
  assert.notDeepEqual(loadCheckpoint(broken).sections.model, atInterrupt.sections.model);
});

test('a NaN loss stops training with a clear error and keeps the last good checkpoint', () => {
  const dir = tempDir();
  const path = join(dir, 'ck.ckpt');
  const agent = new FakeRanker(1, { nanAtTrainCall: 3 });
  const run = new TrainingRun(new FakeEnv(), agent, options(), fakeMetrics, path);
  let goodModel: Uint8Array | undefined;
  assert.throws(
    () =>
      run.run((report) => {
        if (report.epoch === 1) goodModel = loadCheckpoint(path).sections.model;
      }),
    (e: unknown) =>
      e instanceof TrainingDivergedError && /non-finite click loss \(NaN\) in epoch 3/.test((e as Error).message) && (e as Error).message.includes(path),
  );
  const kept = loadCheckpoint(path);
  assert.equal(kept.state.epoch, 2);
  assert.deepEqual(kept.sections.model, goodModel);
  const logits = JSON.parse(new TextDecoder().decode(kept.sections.model)).logits as number[];
  assert.ok(logits.every(Number.isFinite));
});

test('an agent that throws NonFiniteLossError itself is reported the same way', () => {
  const path = join(tempDir(), 'ck.ckpt');
  const run = new TrainingRun(new FakeEnv(), new FakeRanker(1, { throwAtTrainCall: 2 }), options(), fakeMetrics, path);
  assert.throws(
    () => run.run(),
    (e: unknown) =>
      e instanceof TrainingDivergedError &&
      /non-finite loss \(Fake: loss "click" is Infinity/.test((e as Error).message) &&
      /epoch 2/.test((e as Error).message),
  );
  assert.equal(loadCheckpoint(path).state.epoch, 1);
});

test('bad options are rejected before anything runs', () => {
  const env = new FakeEnv();
  assert.throws(() => new TrainingRun(env, new FakeRanker(1), options({ epochs: 0 }), fakeMetrics), /epochs must be an integer >= 1/);
  assert.throws(() => new TrainingRun(env, new FakeRanker(1), options({ heldOutFraction: 1 }), fakeMetrics), /heldOutFraction/);
  assert.equal(env.calls.length, 0);
});

test('the probe evaluation runs the greedy policy on the held-out panel in a fresh environment every epoch: a frozen agent gets the same probe figures every epoch', () => {
  // stepsPerEpoch 0: the agent never changes, so its greedy policy is the same every epoch.
  const env = new FakeEnv();
  const run = new TrainingRun(env, new FakeRanker(1), options({ stepsPerEpoch: 0, epochs: 5 }), fakeMetrics);
  const probes: FakeEnv[] = [];
  run.probeEnvironment = () => {
    const fresh = new FakeEnv(env.numUsers, 77);
    probes.push(fresh);
    return fresh;
  };
  const result = run.run();
  assert.equal(probes.length, 5, 'one fresh probe environment per epoch');
  const evalUsers = env.calls[1]!;
  for (const p of probes) assert.deepEqual(p.calls, [evalUsers], 'the probe runs the held-out panel once');
  const first = result.reports[0]!.probe!;
  for (const r of result.reports) assert.deepEqual(r.probe, first);
  // The shared environment's panel keeps its history (FakeEnv's streams move on), so its evaluation figures are not all equal.
  assert.ok(result.reports.some((r) => r.eval.sessionLength !== result.reports[0]!.eval.sessionLength || r.eval.ctr !== result.reports[0]!.eval.ctr));
  // Without a probe environment there is no probe.
  const plain = new TrainingRun(new FakeEnv(), new FakeRanker(1), options({ epochs: 2 }), fakeMetrics).run();
  for (const r of plain.reports) assert.equal(r.probe, undefined);
});

test('mirror evaluation: one environment through the run, the panel every epoch, its figure the mean of the last epochs as the evaluation’s', () => {
  const env = new FakeEnv();
  const mirror = new FakeEnv(env.numUsers, 77);
  const run = new TrainingRun(env, new FakeRanker(1), options({ stepsPerEpoch: 0, epochs: 5, lastEpochsForFigure: 3 }), fakeMetrics);
  run.mirrorEnvironment = mirror;
  const result = run.run();
  const evalUsers = env.calls[1]!;
  assert.equal(mirror.calls.length, 5, 'one mirror evaluation per epoch');
  for (const c of mirror.calls) assert.deepEqual(c, evalUsers, 'the mirror runs the same panel');
  // The mirror keeps its state from epoch to epoch, as the shared environment does: its figures move.
  assert.ok(result.reports.some((r) => r.mirror!.sessionLength !== result.reports[0]!.mirror!.sessionLength));
  // Its figure is the mean of its last 3 epochs, computed by hand.
  const tail = result.reports.slice(2);
  for (const k of Object.keys(result.figure)) {
    const byHand = (tail[0]!.mirror![k]! + tail[1]!.mirror![k]! + tail[2]!.mirror![k]!) / 3;
    assert.ok(Math.abs(result.mirrorFigure![k]! - byHand) < 1e-12, `${k}: ${result.mirrorFigure![k]} vs ${byHand}`);
  }
  for (const r of result.reports) assert.ok(r.seconds.mirror! >= 0);
  // A figure over epochs without a mirror evaluation is refused, naming the epoch.
  const plain = new TrainingRun(new FakeEnv(), new FakeRanker(1), options({ epochs: 2 }), fakeMetrics).run();
  assert.equal(plain.mirrorFigure, undefined);
  assert.throws(() => figureOf(plain.reports, 2, 'mirror'), /epoch 1 has no mirror evaluation/);
});
