import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW, PC_GIFT, PC_LIKE, PC_LONG_VIEW, PC_WATCH_TIME, PC_COMMENT } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { Environment } from '../../src/environment/environment.js';
import { RandomPolicy, TopKPolicy, type PendingRequest, type SlatePolicy } from '../../src/environment/slate-policy.js';
import type { SessionTrace } from '../../src/environment/trace.js';
import { tinyWorld } from './fixtures.js';

function fingerprint(traces: SessionTrace[]): string {
  return JSON.stringify(
    traces.map((t) => [
      t.user,
      t.returnGapDays,
      t.requests.map((r) => [
        r.timeMs,
        Array.from(r.slate),
        Array.from(r.candidates.subarray(0, 5)),
        Array.from(r.responses.click),
        Array.from(r.responses.playTimeMs),
      ]),
    ]),
  );
}

test('same seed and policy give the same trajectories; another seed differs', () => {
  const run = (seed: number) => {
    const { catalog, responder } = tinyWorld();
    const env = new Environment(catalog, responder, { seed, numCandidates: 30 });
    const out: SessionTrace[] = [];
    env.runDays(3, new RandomPolicy(new Rng(5)), (t) => out.push(t));
    return fingerprint(out);
  };
  assert.equal(run(3), run(3));
  assert.notEqual(run(3), run(4));
});

test('sessions have K-item slates, valid candidates, advancing time and a drawn return gap', () => {
  const { catalog, responder } = tinyWorld();
  const env = new Environment(catalog, responder, { seed: 1, numCandidates: 25, slateSize: 6 });
  const users = [0, 5, 9];
  const traces = env.runSessions(users, new RandomPolicy(new Rng(1)));
  assert.deepEqual(
    traces.map((t) => t.user),
    users,
  );
  for (const t of traces) {
    assert.ok(t.requests.length >= 1 && t.requests.length <= env.quitModel.options.maxRequests);
    assert.ok(Number.isInteger(t.returnGapDays) && t.returnGapDays >= 1);
    for (let r = 0; r < t.requests.length; r++) {
      const req = t.requests[r]!;
      assert.equal(req.candidates.length, 25);
      assert.equal(new Set(req.candidates).size, 25, 'candidates are distinct');
      assert.equal(req.slate.length, 6);
      assert.equal(req.candidatePairCounts.length, 25 * PAIR_COUNT_DIM);
      if (r > 0) assert.ok(req.timeMs > t.requests[r - 1]!.timeMs);
      assert.ok(Math.abs(req.summary[0]! - r / 10) < 1e-6);
    }
    assert.equal(env.nextSessionDay(t.user), t.day! + t.returnGapDays);
    assert.equal(env.sessionsOf(t.user), 1);
  }
  assert.throws(() => env.runSessions([1, 1], new RandomPolicy(new Rng(1))), /appears twice/);
  assert.throws(() => env.runSessions([catalog.numUsers], new RandomPolicy(new Rng(1))), /dense user id/);
});

test('pair counts accumulate exactly the responses, across sessions, and only first follows count', () => {
  const { catalog, responder } = tinyWorld(20, 5, 4); // few authors: many repeats of each pair
  const env = new Environment(catalog, responder, { seed: 2, numCandidates: 12 });
  const expected = new Map<string, Float64Array>();
  let firstFollows = 0;
  const sessions: SessionTrace[] = [];
  env.runDays(6, new RandomPolicy(new Rng(2)), (t) => sessions.push(t));
  for (const t of sessions) {
    for (const req of t.requests) {
      for (let p = 0; p < req.slate.length; p++) {
        const idx = req.slate[p]!;
        const author = catalog.itemAuthor[req.candidates[idx]!]!;
        const key = `${t.user}:${author}`;
        let e = expected.get(key);
        if (!e) expected.set(key, (e = new Float64Array(PAIR_COUNT_DIM)));
        // The request's snapshot equals what we accumulated so far (before this slate) for the first item of the author in the slate.
        const r = req.responses;
        e[PC_CLICK]! += r.click[p]!;
        e[PC_LONG_VIEW]! += r.longView[p]!;
        e[PC_LIKE]! += r.like[p]!;
        e[PC_COMMENT]! += r.comment[p]!;
        e[PC_WATCH_TIME]! += r.playTimeMs[p]! / 1000;
        if (r.giftAmount[p]! > 0) e[PC_GIFT]! += 1;
        if (r.follow[p]) {
          assert.equal(e[PC_FOLLOW], 0, 'a follow flag is only recorded as a first follow');
          e[PC_FOLLOW] = 1;
          firstFollows++;
        }
      }
    }
  }
  assert.ok(sessions.length > 20);
  let checked = 0;
  for (const [key, e] of expected) {
    const [u, a] = key.split(':').map(Number) as [number, number];
    const got = env.pairCounts(u, a);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) assert.ok(Math.abs(got[k]! - e[k]!) <= 1e-3 * Math.max(1, e[k]!), `${key} kind ${k}: ${got[k]} vs ${e[k]}`);
    checked++;
  }
  assert.equal(checked, env.pairStore.size);
  assert.ok(firstFollows > 0, 'some follows happened');
  // Candidate snapshots match the store's history: a followed pair shows follow = 1 in later requests.
  let sawFollowedCandidate = false;
  for (const t of sessions)
    for (const req of t.requests)
      for (let i = 0; i < req.candidates.length; i++) if (req.candidatePairCounts[i * PAIR_COUNT_DIM + PC_FOLLOW] === 1) sawFollowedCandidate = true;
  assert.ok(sawFollowedCandidate);
});

test('a policy returning an invalid slate gets a clear error', () => {
  const { catalog, responder } = tinyWorld();
  const env = new Environment(catalog, responder, { numCandidates: 10 });
  const bad: SlatePolicy = { chooseSlates: (reqs: readonly PendingRequest[]) => reqs.map(() => Int32Array.of(0, 0, 1, 2, 3, 4)) };
  assert.throws(() => env.runSessions([0], bad), /repeats candidate index 0/);
  const short: SlatePolicy = { chooseSlates: (reqs: readonly PendingRequest[]) => reqs.map(() => Int32Array.of(0)) };
  assert.throws(() => env.runSessions([1], short), /length K=6/);
  assert.throws(() => new Environment(catalog, responder, { numCandidates: 301 }), /numCandidates/);
});

test('oracle (true affinity) policy beats random on session length and watch time (fake responder)', () => {
  const { catalog, responder } = tinyWorld(200, 60, 10);
  const oracle = new TopKPolicy({
    score: (r, out) => {
      for (let i = 0; i < r.candidates.length; i++) out[i] = responder.affinity(r.user, r.candidates[i]!);
    },
  });
  const stats = (policy: SlatePolicy) => {
    const env = new Environment(catalog, responder, { seed: 9, numCandidates: 50 });
    const len: number[] = [];
    const watch: number[] = [];
    env.runDays(3, policy, (t) => {
      len.push(t.requests.length);
      let w = 0;
      for (const r of t.requests) for (let p = 0; p < r.slate.length; p++) w += r.responses.playTimeMs[p]! / 1000;
      watch.push(w);
    });
    return { len, watch };
  };
  const a = stats(oracle);
  const b = stats(new RandomPolicy(new Rng(3)));
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const se = (x: number[]) => Math.sqrt(x.reduce((s, v) => s + (v - mean(x)) ** 2, 0) / (x.length - 1) / x.length);
  const z = (x: number[], y: number[]) => (mean(x) - mean(y)) / Math.hypot(se(x), se(y));
  assert.ok(z(a.len, b.len) > 3, `session length z=${z(a.len, b.len)} (${mean(a.len)} vs ${mean(b.len)})`);
  assert.ok(z(a.watch, b.watch) > 3, `watch z=${z(a.watch, b.watch)}`);
});
