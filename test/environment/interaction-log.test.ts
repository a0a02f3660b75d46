import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW, PC_GIFT, PC_WATCH_TIME } from '../../src/data/interaction-kinds.js';
import { allocInteractionLog, replayExposures } from '../../src/environment/interaction-log.js';
import { tinyCatalog } from './fixtures.js';
import { sessionLog } from '../helpers/session-log.js';

/** A log of hand-written rows: user, item, time, click, follow, and optionally play ms and gift amount. */
function logOf(rows: ReadonlyArray<readonly [number, number, number, number, number, number?, number?]>) {
  const log = allocInteractionLog(rows.length);
  rows.forEach(([u, i, t, c, f, p = 0, g = 0], e) => {
    log.user[e] = u;
    log.item[e] = i;
    log.timeMs[e] = t;
    log.click[e] = c;
    log.follow[e] = f;
    log.playTimeMs[e] = p;
    log.giftAmount[e] = g;
  });
  log.count = rows.length;
  return log;
}

test('replay reconstructs f_ua before each request, session repetition and slate position', () => {
  const catalog = tinyCatalog(2, 3, 2); // items 0,1 -> author 0; 2,3 -> author 1; 4,5 -> author 2
  catalog.itemTag.set([0, 0, 1, 1, 2, 2]);
  // Rows deliberately out of time order; user 0: request at t=1000 (items 0, 2), t=2000 (items 1, 4); user 1 at t=1500.
  const rows: [number, number, number, number, number, number, number][] = [
    // user, item, time, click, follow, playMs, gift
    [0, 1, 2000, 1, 0, 9000, 0],
    [0, 4, 2000, 0, 0, 100, 0],
    [0, 0, 1000, 1, 1, 12000, 3],
    [0, 2, 1000, 0, 0, 500, 0],
    [1, 0, 1500, 1, 0, 8000, 0],
    [0, 3, 2000 + 3_600_000, 1, 0, 10000, 0], // new session (gap > 30 min)
  ];
  const log = logOf(rows);
  const rep = replayExposures(log, catalog);
  const pc = (row: number, k: number) => rep.pairCounts[row * PAIR_COUNT_DIM + k];
  // First request of user 0: nothing known yet.
  assert.equal(pc(2, PC_CLICK), 0);
  assert.equal(rep.position[2], 0);
  assert.equal(rep.position[3], 1);
  // Second request: author 0 has 1 click, follow, 1 gift, 12 s watched.
  assert.equal(pc(0, PC_CLICK), 1);
  assert.equal(pc(0, PC_FOLLOW), 1);
  assert.equal(pc(0, PC_GIFT), 1);
  assert.ok(Math.abs(pc(0, PC_WATCH_TIME)! - 12) < 1e-6);
  assert.equal(rep.repeatAuthor[0], 1, 'author 0 seen once earlier in the session');
  assert.equal(rep.repeatTag[0], 1);
  assert.equal(rep.repeatAuthor[1], 0);
  // Author 1 after the first request: 0 clicks but touched (500 ms watched).
  assert.ok(Math.abs(pc(5, PC_WATCH_TIME)! - 0.5) < 1e-6);
  assert.equal(rep.repeatAuthor[5], 0, 'a new session resets repetition');
  // User 1 is independent of user 0.
  assert.equal(pc(4, PC_CLICK), 0);
  assert.equal(rep.requests, 4);
  assert.equal(rep.requestId[0], rep.requestId[1]);
});

test('replay counts which of a row’s session repeats were chosen: earlier standard-log exposures of the author or tag', () => {
  const catalog = tinyCatalog(1, 3, 2); // items 0,1 -> author 0; 2,3 -> author 1; 4,5 -> author 2
  catalog.itemTag.set([0, 1, 0, 1, 2, 2]);
  // One session of user 0: a standard request (items 0, 2), a random one (items 1, 4), a random one (items 5, 3).
  const log = sessionLog([
    // item, time, fromRandomLog
    [0, 1000, 0],
    [2, 1000, 0],
    [1, 2000, 1],
    [4, 2000, 1],
    [5, 3000, 1],
    [3, 3000, 1],
  ]);
  const rep = replayExposures(log, catalog);
  // Item 1 (author 0, tag 1): author 0 was shown once, by the standard request; tag 1 never.
  assert.deepEqual([rep.repeatAuthor[2], rep.chosenRepeatAuthor[2], rep.repeatTag[2], rep.chosenRepeatTag[2]], [1, 1, 0, 0]);
  // Item 4 (author 2, tag 2): nothing earlier.
  assert.deepEqual([rep.repeatAuthor[3], rep.chosenRepeatAuthor[3]], [0, 0]);
  // Item 5 (author 2, tag 2): author 2 and tag 2 once each, by the random request: repeats by chance.
  assert.deepEqual([rep.repeatAuthor[4], rep.chosenRepeatAuthor[4], rep.repeatTag[4], rep.chosenRepeatTag[4]], [1, 0, 1, 0]);
  // Item 3 (author 1, tag 1): author 1 once (chosen, item 2); tag 1 once (random, item 1).
  assert.deepEqual([rep.repeatAuthor[5], rep.chosenRepeatAuthor[5], rep.repeatTag[5], rep.chosenRepeatTag[5]], [1, 1, 1, 0]);
  // The standard request's own rows have no earlier exposures.
  assert.deepEqual([rep.chosenRepeatAuthor[0], rep.chosenRepeatAuthor[1]], [0, 0]);
});

test("replay starts f_ua from the pairs' counters at the log's start, and adds the log to a copy of them", () => {
  const catalog = tinyCatalog(2, 3, 2); // items 0,1 -> author 0; 2,3 -> author 1; 4,5 -> author 2
  // user, item, time, click, follow: user 0 sees author 0 twice (two requests), author 2 once; user 1 sees author 0.
  const log = logOf([
    [0, 0, 1000, 1, 0],
    [0, 4, 1000, 0, 0],
    [0, 1, 2000, 1, 1],
    [1, 0, 1500, 0, 0],
  ]);
  // The counters: user 0 had 5 clicks on author 0 and followed it; 2 clicks on author 2; user 1 nothing.
  const state = new Map<string, Float32Array>();
  const counters = (clicks: number, follow: number) => {
    const c = new Float32Array(PAIR_COUNT_DIM);
    c[PC_CLICK] = clicks;
    c[PC_FOLLOW] = follow;
    return c;
  };
  state.set('0:0', counters(5, 1));
  state.set('0:2', counters(2, 0));
  const asked: string[] = [];
  const pairsAtStart = {
    pairCounts(user: number, author: number) {
      asked.push(`${user}:${author}`);
      return state.get(`${user}:${author}`);
    },
  };
  const rep = replayExposures(log, catalog, { pairsAtStart });
  const pc = (row: number, k: number) => rep.pairCounts[row * PAIR_COUNT_DIM + k];
  assert.equal(pc(0, PC_CLICK), 5, 'the first logged exposure reads the counters');
  assert.equal(pc(0, PC_FOLLOW), 1);
  assert.equal(pc(1, PC_CLICK), 2);
  assert.equal(pc(2, PC_CLICK), 6, 'the counters plus the logged click');
  assert.equal(pc(2, PC_FOLLOW), 1);
  assert.equal(pc(3, PC_CLICK), 0, 'a pair without counters starts at zero');
  assert.equal(state.get('0:0')![PC_CLICK], 5, 'the counters are not changed');
  assert.deepEqual([...new Set(asked)].sort(), ['0:0', '0:2', '1:0'], 'only the logged pairs are asked');
  assert.equal(asked.filter((k) => k === '0:0').length, 1, 'a pair with counters is asked once');
  // Without counters the same log replays from zero.
  const cold = replayExposures(log, catalog);
  assert.equal(cold.pairCounts[2 * PAIR_COUNT_DIM + PC_CLICK], 1);
});
