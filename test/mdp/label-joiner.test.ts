import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabelJoiner, type JoinedInteraction, type JoinerCounters } from '../../src/mdp/label-joiner.js';
import { PAIR_COUNT_DIM, PC_CLICK, PC_GIFT, PC_WATCH_TIME, PC_FOLLOW } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { FEEDBACK_KINDS } from '../../src/mdp/scri-mdp.js';

const WINDOW = 1000;

function setup(opts: Partial<ConstructorParameters<typeof LabelJoiner>[1]> = {}) {
  const out: JoinedInteraction[] = [];
  const joiner = new LabelJoiner((r) => out.push(r), { windowMs: WINDOW, earlyBufferMs: 500, ...opts });
  return { joiner, out };
}

function imp(requestId: string, item: number, timeMs: number, user = 1, author = 7) {
  return { requestId, user, item, author, timeMs, pairCounts: new Float32Array(PAIR_COUNT_DIM) };
}

/** Every feedback event ends in exactly one bucket; every impression likewise. */
function assertConservation(c: JoinerCounters, pending: number, early: number): void {
  assert.equal(
    c.feedback,
    c.joinedFeedback + c.duplicateFeedback + c.lateFeedback + c.beforeImpressionFeedback + c.orphanFeedback + c.earlyEvicted + c.invalidFeedback + early,
    'feedback conservation',
  );
  assert.equal(c.impressions, c.emitted + c.duplicateImpressions + pending, 'impression conservation');
  assert.equal(c.emitted, c.emittedWithFeedback + c.emittedNegative);
}

test('feedback within the window is joined; record emitted once when the window closes', () => {
  const { joiner, out } = setup();
  joiner.impression(imp('r1', 10, 0));
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'click', value: 1, timeMs: 100 });
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'watchTime', value: 12.5, timeMs: 900 });
  joiner.advanceTo(WINDOW); // window [0, 1000] still open at exactly 1000
  assert.equal(out.length, 0);
  joiner.advanceTo(WINDOW + 1);
  assert.equal(out.length, 1);
  const r = out[0]!;
  assert.equal(r.outcome[PC_CLICK], 1);
  assert.equal(r.outcome[PC_WATCH_TIME], 12.5);
  assert.equal(r.feedbackCount, 2);
  assert.equal(r.closedBy, 'window');
  joiner.advanceTo(10 * WINDOW);
  joiner.flush();
  assert.equal(out.length, 1, 'never emitted twice');
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('impression with no feedback gives negative labels', () => {
  const { joiner, out } = setup();
  joiner.impression(imp('r1', 10, 0));
  joiner.impression(imp('r2', 11, 5000)); // moves the watermark past r1's window
  assert.equal(out.length, 1);
  assert.deepEqual(Array.from(out[0]!.outcome), new Array(PAIR_COUNT_DIM).fill(0));
  assert.equal(out[0]!.feedbackCount, 0);
  assert.equal(joiner.counters.emittedNegative, 1);
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('feedback before its impression is buffered then joined (out of order)', () => {
  const { joiner, out } = setup();
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'follow', value: 1, timeMs: 50 });
  assert.equal(joiner.earlyCount, 1);
  joiner.impression(imp('r1', 10, 40));
  assert.equal(joiner.earlyCount, 0);
  joiner.flush();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.outcome[PC_FOLLOW], 1);
  assert.equal(joiner.counters.outOfOrderJoined, 1);
  assert.equal(joiner.counters.joinedFeedback, 1);
  assert.equal(out[0]!.closedBy, 'flush');
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('early feedback whose impression never comes expires as orphan', () => {
  const { joiner, out } = setup();
  joiner.impression(imp('r0', 1, 0));
  joiner.feedback({ requestId: 'ghost', item: 3, kind: 'click', value: 1, timeMs: 10 });
  joiner.advanceTo(400);
  assert.equal(joiner.counters.orphanFeedback, 0, 'still within the early buffer');
  joiner.advanceTo(511); // buffered at max(0, 10) + 500 = 510
  assert.equal(joiner.counters.orphanFeedback, 1);
  assert.equal(joiner.earlyCount, 0);
  // the impression arriving after expiry gets no feedback
  joiner.impression(imp('ghost', 3, 600));
  joiner.flush();
  const ghost = out.find((r) => r.requestId === 'ghost')!;
  assert.equal(ghost.feedbackCount, 0);
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('duplicate feedback is counted, keeps the larger value, joins once', () => {
  const { joiner, out } = setup();
  joiner.impression(imp('r1', 10, 0));
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'click', value: 1, timeMs: 1 });
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'click', value: 1, timeMs: 2 });
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'watchTime', value: 5, timeMs: 3 });
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'watchTime', value: 9, timeMs: 4 });
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'watchTime', value: 7, timeMs: 5 });
  joiner.flush();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.outcome[PC_CLICK], 1);
  assert.equal(out[0]!.outcome[PC_WATCH_TIME], 9);
  assert.equal(out[0]!.feedbackCount, 2);
  assert.equal(joiner.counters.duplicateFeedback, 3);
  assert.equal(joiner.counters.joinedFeedback, 2);
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('feedback after the window is late: dropped and counted (pending and already emitted)', () => {
  const { joiner, out } = setup();
  joiner.impression(imp('r1', 10, 0));
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'gift', value: 3, timeMs: WINDOW + 1 }); // record still pending, time too late
  assert.equal(joiner.counters.lateFeedback, 1);
  joiner.advanceTo(5 * WINDOW);
  assert.equal(out.length, 1);
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'click', value: 1, timeMs: 500 }); // after emission
  assert.equal(joiner.counters.lateFeedback, 2);
  assert.equal(out[0]!.outcome[PC_GIFT], 0);
  assert.equal(out[0]!.outcome[PC_CLICK], 0);
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('orphan feedback (no impression) is counted at flush; invalid feedback is counted', () => {
  const { joiner } = setup();
  joiner.feedback({ requestId: 'nope', item: 1, kind: 'click', value: 1, timeMs: 0 });
  joiner.feedback({ requestId: 'x', item: 1, kind: 'dance', value: 1, timeMs: 0 });
  joiner.feedback({ requestId: 'x', item: 1, kind: 'click', value: Number.NaN, timeMs: 0 });
  joiner.feedback({ requestId: 'x', item: 1, kind: 'gift', value: -2, timeMs: 0 });
  // Names inherited by every JS object are not kinds either.
  for (const kind of ['toString', 'constructor', '__proto__', 'hasOwnProperty'])
    joiner.feedback({ requestId: 'x', item: 1, kind: kind as 'click', value: 1, timeMs: 0 });
  joiner.flush();
  assert.equal(joiner.counters.orphanFeedback, 1);
  assert.equal(joiner.counters.invalidFeedback, 7);
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('duplicate impression is dropped and counted', () => {
  const { joiner, out } = setup();
  joiner.impression(imp('r1', 10, 0));
  joiner.impression(imp('r1', 10, 1));
  joiner.flush();
  joiner.impression(imp('r1', 10, 2)); // after emission: still remembered
  joiner.flush();
  assert.equal(out.length, 1);
  assert.equal(joiner.counters.duplicateImpressions, 2);
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('bounded memory: maxPending evicts (emits) the oldest, counted; early buffer cap evicts, counted', () => {
  const { joiner, out } = setup({ maxPending: 3, maxEarlyFeedback: 2 });
  for (let i = 0; i < 5; i++) joiner.impression(imp('r', i, 0));
  assert.equal(joiner.pendingCount, 3);
  assert.equal(out.length, 2);
  assert.deepEqual(
    out.map((r) => r.closedBy),
    ['eviction', 'eviction'],
  );
  assert.equal(joiner.counters.evictedImpressions, 2);
  for (let i = 0; i < 4; i++) joiner.feedback({ requestId: 'e', item: i, kind: 'click', value: 1, timeMs: 0 });
  assert.equal(joiner.earlyCount, 2);
  assert.equal(joiner.counters.earlyEvicted, 2);
  joiner.impression(imp('e', 3, 0));
  joiner.flush();
  assert.equal(out.find((r) => r.requestId === 'e')!.outcome[PC_CLICK], 1, 'the newest early feedback survived');
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('randomized streams: exactly-once emission, correct outcome of on-time feedback, conservation', () => {
  const rng = new Rng(42);
  for (let trial = 0; trial < 20; trial++) {
    // Even trials have room for everything: then every feedback must be joined with its max value.
    const roomy = trial % 2 === 0;
    const { joiner, out } = roomy
      ? setup({ maxPending: 1_000_000, maxEarlyFeedback: 1_000_000, earlyBufferMs: 1e9 })
      : setup({ maxPending: 50 + rng.int(200), maxEarlyFeedback: 20 + rng.int(50), closedKeyMemory: 100000 });
    const expected = new Map<string, Float32Array>();
    let t = 0;
    const events: (() => void)[] = [];
    for (let i = 0; i < 400; i++) {
      t += rng.int(20);
      const id = `q${i}`;
      const item = rng.int(5);
      const it = t;
      events.push(() => joiner.impression(imp(id, item, it)));
      const exp = new Float32Array(PAIR_COUNT_DIM);
      expected.set(`${id}#${item}`, exp);
      const nfb = rng.int(4);
      for (let f = 0; f < nfb; f++) {
        const k = rng.int(FEEDBACK_KINDS.length);
        const v = 1 + rng.int(10);
        const ft = it + rng.int(WINDOW);
        exp[k] = Math.max(exp[k]!, v);
        events.push(() => joiner.feedback({ requestId: id, item, kind: FEEDBACK_KINDS[k]!, value: v, timeMs: ft }));
      }
      if (rng.bernoulli(0.05)) events.push(() => joiner.feedback({ requestId: 'orphan' + i, item, kind: 'click', value: 1, timeMs: it }));
    }
    // local shuffles: swap neighbours to create out-of-order arrivals
    for (let i = 0; i + 1 < events.length; i++) if (rng.bernoulli(0.2)) [events[i], events[i + 1]] = [events[i + 1]!, events[i]!];
    for (const e of events) e();
    joiner.flush();
    const seen = new Set<string>();
    for (const r of out) {
      const key = `${r.requestId}#${r.item}`;
      if (roomy && !r.requestId.startsWith('orphan')) assert.deepEqual(Array.from(r.outcome), Array.from(expected.get(key)!), `outcome of ${key}`);
      assert.ok(!seen.has(key), `emitted twice: ${key}`);
      seen.add(key);
      assert.ok(expected.has(key));
    }
    assert.equal(seen.size, expected.size, 'every impression emitted');
    assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
    assert.equal(joiner.earlyCount, 0);
    assert.equal(joiner.pendingCount, 0);
    if (roomy) assert.equal(joiner.counters.lateFeedback + joiner.counters.earlyEvicted + joiner.counters.evictedImpressions, 0);
  }
});

test('one early feedback stamped far in the future (1e14) does not stop the expiry of the orphans behind it', () => {
  const { joiner } = setup();
  joiner.impression(imp('r0', 1, 0));
  joiner.feedback({ requestId: 'ghost0', item: 3, kind: 'click', value: 1, timeMs: 1e14 });
  for (let i = 1; i <= 50; i++) joiner.feedback({ requestId: `ghost${i}`, item: 3, kind: 'click', value: 1, timeMs: 10 });
  assert.equal(joiner.earlyCount, 51);
  joiner.advanceTo(400);
  assert.equal(joiner.counters.orphanFeedback, 0, 'still within the early buffer');
  // Buffered for earlyBufferMs (500) of watermark time from arrival (watermark 0): all expire at 501.
  // Before: the 1e14 event at the head of the queue held every later one until the cap evicted it.
  joiner.advanceTo(501);
  assert.equal(joiner.counters.orphanFeedback, 51);
  assert.equal(joiner.earlyCount, 0);
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
  // Before any watermark, a far-future event waits at most earlyBufferMs past the first watermark.
  const fresh = setup().joiner;
  fresh.feedback({ requestId: 'g', item: 1, kind: 'click', value: 1, timeMs: 1e14 });
  fresh.feedback({ requestId: 'h', item: 1, kind: 'click', value: 1, timeMs: 5 });
  fresh.advanceTo(100);
  assert.equal(fresh.counters.orphanFeedback, 0);
  fresh.advanceTo(601);
  assert.equal(fresh.counters.orphanFeedback, 2);
});

test('feedback stamped before its impression is not joined: dropped and counted', () => {
  const { joiner, out } = setup();
  joiner.impression(imp('r1', 10, 100));
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'click', value: 1, timeMs: 99 });
  joiner.feedback({ requestId: 'r1', item: 10, kind: 'like', value: 1, timeMs: 100 });
  // Out of order and before its impression: buffered, then refused when the impression comes.
  joiner.feedback({ requestId: 'r2', item: 4, kind: 'follow', value: 1, timeMs: 150 });
  joiner.impression(imp('r2', 4, 200));
  joiner.flush();
  assert.equal(joiner.counters.beforeImpressionFeedback, 2);
  assert.equal(joiner.counters.joinedFeedback, 1);
  assert.equal(out.find((r) => r.requestId === 'r1')!.outcome[PC_CLICK], 0);
  assert.equal(out.find((r) => r.requestId === 'r2')!.feedbackCount, 0);
  assertConservation(joiner.counters, joiner.pendingCount, joiner.earlyCount);
});

test('lookup tells pending (with its time), closed, other item and unknown apart without changing anything', () => {
  const { joiner } = setup({ closedKeyMemory: 10 });
  joiner.impression(imp('r1', 10, 100));
  joiner.impression(imp('r1', 11, 100));
  assert.deepEqual(joiner.lookup('r1', 10), { status: 'pending', timeMs: 100 });
  assert.deepEqual(joiner.lookup('r1', 12), { status: 'otherItem' });
  assert.deepEqual(joiner.lookup('r9', 10), { status: 'unknown' });
  joiner.advanceTo(100 + WINDOW + 1);
  assert.deepEqual(joiner.lookup('r1', 11), { status: 'closed' });
  assert.equal(joiner.counters.feedback, 0);
});
