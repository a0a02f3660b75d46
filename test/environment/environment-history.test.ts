import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { PAIR_COUNT_DIM, PC_CLICK } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { Environment, resolvedEnvironmentOptions } from '../../src/environment/environment.js';
import { EnvironmentHistory } from '../../src/environment/environment-history.js';
import { interactionLogFromTraces, type InteractionLog } from '../../src/environment/interaction-log.js';
import { InteractionLogFileError, readHistoryFile, readInteractionLogFile, writeInteractionLogFile } from '../../src/environment/interaction-log-file.js';
import { RandomPolicy } from '../../src/environment/slate-policy.js';
import type { SessionTrace } from '../../src/environment/trace.js';
import { tempDir } from '../helpers/paths.js';
import { tinyWorld } from './fixtures.js';

const OPTIONS = { seed: 3, numCandidates: 30 };

/** An environment run `days` days with a random policy, and the log of its traces. */
function loggedRun(days: number): { env: Environment; log: InteractionLog; world: ReturnType<typeof tinyWorld> } {
  const world = tinyWorld();
  const env = new Environment(world.catalog, world.responder, OPTIONS);
  const traces: SessionTrace[] = [];
  env.runDays(days, new RandomPolicy(new Rng(2)), (t) => traces.push(t));
  return { env, log: interactionLogFromTraces(traces), world };
}

function historyOf(run: ReturnType<typeof loggedRun>): EnvironmentHistory {
  const { startTimeMs, recentAuthorsPerUser } = resolvedEnvironmentOptions(OPTIONS);
  return EnvironmentHistory.fromLog(run.world.catalog, run.log, { startTimeMs, recentAuthorsPerUser });
}

test('an environment started after a log holds exactly the state the environment that wrote it reached', () => {
  const run = loggedRun(6);
  const history = historyOf(run);
  const { catalog, responder } = run.world;
  assert.equal(history.days, 6);
  assert.equal(history.rows, run.log.count);
  const env = new Environment(catalog, responder, { ...OPTIONS, seed: 9, history });
  assert.equal(env.day, 6, 'the calendar continues after the logs');
  let pairs = 0;
  for (let u = 0; u < catalog.numUsers; u++) {
    assert.equal(env.pairStore.follows(u), run.env.pairStore.follows(u), `follows of user ${u}`);
    assert.equal(env.pairStore.deepPairs(u), run.env.pairStore.deepPairs(u));
    assert.deepEqual(Array.from(env.candidateGenerator.recentAuthors(u)).sort(), Array.from(run.env.candidateGenerator.recentAuthors(u)).sort());
    assert.ok(env.nextSessionDay(u) >= 6, 'no session inside the logged days');
    for (let a = 0; a < catalog.numAuthors; a++) {
      const x = env.pairCounts(u, a);
      const y = run.env.pairCounts(u, a);
      for (let k = 0; k < PAIR_COUNT_DIM; k++) assert.ok(Math.abs(x[k]! - y[k]!) < 1e-3, `user ${u} author ${a} count ${k}`);
      if (y[PC_CLICK]! > 0) pairs++;
    }
  }
  assert.ok(pairs > 100, `the log touched ${pairs} clicked pairs`);
  // Each environment owns its copy: running one changes neither the history nor another copy.
  const before = Array.from({ length: catalog.numUsers }, (_, u) => env.pairStore.pairsOf(u));
  const other = new Environment(catalog, responder, { ...OPTIONS, seed: 10, history });
  other.runDays(3, new RandomPolicy(new Rng(4)));
  assert.deepEqual(
    Array.from({ length: catalog.numUsers }, (_, u) => env.pairStore.pairsOf(u)),
    before,
  );
  const again = new Environment(catalog, responder, { ...OPTIONS, seed: 9, history });
  for (let u = 0; u < catalog.numUsers; u++) assert.equal(again.pairStore.pairsOf(u), before[u]);
});

test('historyUsers copies those users only; the rest start new', () => {
  const run = loggedRun(4);
  const history = historyOf(run);
  const { catalog, responder } = run.world;
  const env = new Environment(catalog, responder, { ...OPTIONS, history, historyUsers: [3, 7] });
  for (let u = 0; u < catalog.numUsers; u++) {
    const expected = u === 3 || u === 7 ? run.env.pairStore.pairsOf(u) : 0;
    assert.equal(env.pairStore.pairsOf(u), expected, `user ${u}`);
  }
  for (const u of [3, 7]) {
    assert.equal(env.pairStore.follows(u), run.env.pairStore.follows(u));
    for (let a = 0; a < catalog.numAuthors; a++) assert.deepEqual(env.pairCounts(u, a), run.env.pairCounts(u, a));
  }
});

test('the same seed after the same history gives the same trajectories', () => {
  const run = loggedRun(3);
  const history = historyOf(run);
  const { catalog, responder } = run.world;
  const trajectory = () => {
    const env = new Environment(catalog, responder, { ...OPTIONS, seed: 21, history });
    const out: SessionTrace[] = [];
    env.runDays(2, new RandomPolicy(new Rng(8)), (t) => out.push(t));
    return JSON.stringify(out.map((t) => [t.user, t.day, t.requests.map((r) => Array.from(r.responses.click))]));
  };
  assert.equal(trajectory(), trajectory());
});

test('a bad history is refused, naming what is wrong', () => {
  const run = loggedRun(2);
  const { catalog, responder } = run.world;
  const { startTimeMs } = resolvedEnvironmentOptions(OPTIONS);
  const early = { ...run.log, timeMs: run.log.timeMs.slice() };
  early.timeMs[0] = startTimeMs - 1;
  assert.throws(
    () => EnvironmentHistory.fromLog(catalog, early, { startTimeMs, recentAuthorsPerUser: 32 }),
    /row 0 is at time_ms .* before the environments' first day/,
  );
  const stranger = { ...run.log, user: run.log.user.slice() };
  stranger.user[1] = catalog.numUsers;
  assert.throws(
    () => EnvironmentHistory.fromLog(catalog, stranger, { startTimeMs, recentAuthorsPerUser: 32 }),
    /row 1 has user 60, outside the catalog's \[0, 60\)/,
  );
  const history = EnvironmentHistory.fromLog(catalog, run.log, { startTimeMs, recentAuthorsPerUser: 8 });
  assert.throws(() => new Environment(catalog, responder, { ...OPTIONS, history }), /built with 8 recent authors per user, the environment remembers 32/);
});

test('an interaction log file reads back exactly; a truncated or foreign file is refused by name', () => {
  const run = loggedRun(2);
  const dir = tempDir('rliv-history-');
  const path = join(dir, 'history.bin');
  writeInteractionLogFile(path, run.log);
  const back = readInteractionLogFile(path);
  assert.equal(back.count, run.log.count);
  for (const k of [
    'user',
    'item',
    'timeMs',
    'fromRandomLog',
    'click',
    'longView',
    'like',
    'follow',
    'comment',
    'forward',
    'hate',
    'playTimeMs',
    'giftAmount',
  ] as const) {
    assert.deepEqual(Array.from(back[k].subarray(0, back.count)), Array.from(run.log[k].subarray(0, run.log.count)), k);
  }
  const bytes = readFileSync(path);
  writeFileSync(join(dir, 'cut.bin'), bytes.subarray(0, bytes.length - 8));
  assert.throws(
    () => readInteractionLogFile(join(dir, 'cut.bin')),
    (e: Error) => e instanceof InteractionLogFileError && /cut\.bin: .* bytes, .* rows need/.test(e.message),
  );
  writeFileSync(join(dir, 'other.bin'), '{"kind":"rliv-simulator"}\n');
  assert.throws(() => readInteractionLogFile(join(dir, 'other.bin')), /other\.bin: not an interaction log of version 1/);
});

/** A run of `warm` unlogged days then `days` logged ones: the traces of each part apart. */
function warmRun(warm: number, days: number) {
  const world = tinyWorld();
  const env = new Environment(world.catalog, world.responder, OPTIONS);
  const policy = new RandomPolicy(new Rng(2));
  const pre: SessionTrace[] = [];
  const logged: SessionTrace[] = [];
  env.runDays(warm, policy, (t) => pre.push(t));
  env.runDays(days, policy, (t) => logged.push(t));
  return { env, world, preLog: interactionLogFromTraces(pre), log: interactionLogFromTraces(logged) };
}

test("a world's history before its logs: fromLogs reaches the state of the whole run, fromLog of the logs alone does not", () => {
  const run = warmRun(3, 2);
  const { catalog, responder } = run.world;
  const { startTimeMs, recentAuthorsPerUser } = resolvedEnvironmentOptions(OPTIONS);
  const o = { startTimeMs, recentAuthorsPerUser };
  const full = EnvironmentHistory.fromLogs(catalog, [run.preLog, run.log], o);
  const logsOnly = EnvironmentHistory.fromLog(catalog, run.log, o);
  assert.equal(full.rows, run.preLog.count + run.log.count);
  assert.equal(full.days, 5);
  // The logs start on day 3: the calendar is the same whichever history an environment starts after.
  assert.equal(logsOnly.days, 5);
  const world = new Environment(catalog, responder, { ...OPTIONS, history: full });
  const sim = new Environment(catalog, responder, { ...OPTIONS, history: logsOnly });
  let differs = 0;
  for (let u = 0; u < catalog.numUsers; u++) {
    for (let a = 0; a < catalog.numAuthors; a++) {
      const want = run.env.pairCounts(u, a);
      const got = world.pairCounts(u, a);
      for (let k = 0; k < PAIR_COUNT_DIM; k++) assert.ok(Math.abs(got[k]! - want[k]!) < 1e-3, `user ${u} author ${a} count ${k}`);
      // The logs-only history holds at most what the whole run did, and less wherever the warm-up clicked.
      const part = sim.pairCounts(u, a);
      assert.ok(part[PC_CLICK]! <= want[PC_CLICK]! + 1e-6);
      if (part[PC_CLICK]! < want[PC_CLICK]! - 1e-6) differs++;
    }
  }
  assert.ok(differs > 50, `${differs} pairs have warm-up clicks the logs do not show`);
  // A bad row of the second log is named as such.
  const stranger = { ...run.log, user: run.log.user.slice() };
  stranger.user[0] = -1;
  assert.throws(() => EnvironmentHistory.fromLogs(catalog, [run.preLog, stranger], o), /history: log 1 row 0 has user -1/);
});

test('a history file with pre-log rows: readHistoryFile returns both parts, readInteractionLogFile the logs; a bad count is refused', () => {
  const run = warmRun(2, 2);
  const dir = tempDir('rliv-history-');
  const path = join(dir, 'history.bin');
  writeInteractionLogFile(path, run.log, run.preLog);
  const header = JSON.parse(readFileSync(path).subarray(0, readFileSync(path).indexOf(10)).toString('utf8'));
  assert.deepEqual(header, { kind: 'rliv-interaction-log', version: 1, count: run.preLog.count + run.log.count, preLogRows: run.preLog.count });
  const { log, preLog } = readHistoryFile(path);
  assert.ok(preLog);
  for (const [got, want] of [
    [log, run.log],
    [preLog, run.preLog],
  ] as const) {
    assert.equal(got.count, want.count);
    for (const k of ['user', 'item', 'timeMs', 'click', 'playTimeMs', 'giftAmount'] as const)
      assert.deepEqual(Array.from(got[k].subarray(0, got.count)), Array.from(want[k].subarray(0, want.count)), k);
  }
  assert.equal(readInteractionLogFile(path).count, run.log.count);
  // Without pre-log rows: no preLogRows in the header, no preLog back.
  writeInteractionLogFile(join(dir, 'plain.bin'), run.log);
  assert.equal(readHistoryFile(join(dir, 'plain.bin')).preLog, undefined);
  // The same columns under a header whose preLogRows exceeds the rows.
  const bytes = readFileSync(path);
  const pad8 = (n: number) => Math.ceil(n / 8) * 8;
  const columns = bytes.subarray(pad8(bytes.indexOf(10) + 1));
  const headerLine = Buffer.from(JSON.stringify({ ...header, preLogRows: header.count + 1 }) + '\n');
  writeFileSync(join(dir, 'bad.bin'), Buffer.concat([headerLine, Buffer.alloc(pad8(headerLine.length) - headerLine.length), columns]));
  assert.throws(() => readHistoryFile(join(dir, 'bad.bin')), /bad\.bin: bad preLogRows \d+ \(of \d+ rows\)/);
});
