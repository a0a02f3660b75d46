import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAIR_COUNT_DIM, PC_FOLLOW } from '../../src/data/interaction-kinds.js';
import { DAY_MS, KUAIRAND_START_MS } from '../../src/environment/environment.js';
import {
  appUsageTime,
  computeMetrics,
  ctr,
  deepUaCount,
  diversity,
  newFans,
  sessionLength,
  totalRevenue,
  watchTime,
  weeklyGiftedUsers,
  weeklyRetention,
} from '../../src/environment/metrics.js';
import { SESSION_SUMMARY_DIM, type RequestRecord, type SessionTrace } from '../../src/environment/trace.js';
import { allocResponseBatch } from '../../src/world/response.js';
import { tinyCatalog } from './fixtures.js';

// 3 authors x 2 items: items 0,1 -> author 0; 2,3 -> author 1; 4,5 -> author 2.
const catalog = tinyCatalog(4, 3, 2);
catalog.itemTag.set([0, 1, 0, 1, 2, 2]);

interface Item {
  item: number;
  click?: number;
  playS?: number;
  follow?: number;
  gift?: number;
  followedBefore?: boolean;
}

function request(user: number, day: number, minute: number, items: Item[]): RequestRecord {
  const k = items.length;
  const responses = allocResponseBatch(k);
  const pc = new Float32Array(k * PAIR_COUNT_DIM);
  items.forEach((it, p) => {
    responses.click[p] = it.click ?? 0;
    responses.playTimeMs[p] = (it.playS ?? 0) * 1000;
    responses.follow[p] = it.follow ?? 0;
    responses.giftAmount[p] = it.gift ?? 0;
    if (it.followedBefore) pc[p * PAIR_COUNT_DIM + PC_FOLLOW] = 1;
  });
  return {
    user,
    timeMs: KUAIRAND_START_MS + day * DAY_MS + minute * 60_000,
    summary: new Float32Array(SESSION_SUMMARY_DIM),
    candidates: Int32Array.from(items, (it) => it.item),
    candidatePairCounts: pc,
    slate: Int32Array.from(items, (_, p) => p),
    responses,
  };
}

function session(user: number, sessionIndex: number, day: number, gap: number, requests: RequestRecord[], endMinute?: number): SessionTrace {
  const t: SessionTrace = { user, sessionIndex, requests, returnGapDays: gap, day };
  if (endMinute !== undefined) t.endTimeMs = KUAIRAND_START_MS + day * DAY_MS + endMinute * 60_000;
  return t;
}

// User 0, day 0: 2 requests; user 0, day 3: 1 request; user 1, day 8: 1 request.
const s0 = session(
  0,
  0,
  0,
  3,
  [
    request(0, 0, 600, [
      { item: 0, click: 1, playS: 10 },
      { item: 2, click: 0, playS: 1 },
    ]),
    request(0, 0, 601, [{ item: 4, click: 1, playS: 20, follow: 1, gift: 5 }, { item: 1 }]),
  ],
  603,
);
const s1 = session(
  0,
  1,
  3,
  10,
  [
    request(0, 3, 700, [
      { item: 5, click: 1, playS: 30, gift: 2, followedBefore: true },
      { item: 3, click: 1, playS: 4 },
    ]),
  ],
  701,
);
const s2 = session(1, 0, 8, 2, [
  request(1, 8, 100, [
    { item: 4, click: 1, playS: 6, gift: 1 },
    { item: 5, click: 0 },
  ]),
]);
const all = [s0, s1, s2];

test('session length, watch time, CTR on hand-built sessions', () => {
  assert.equal(sessionLength(all), (2 + 1 + 1) / 3);
  assert.ok(Math.abs(watchTime(all) - (31 + 34 + 6) / 3) < 1e-9);
  // per-session CTR: 2/4, 2/2, 1/2
  assert.ok(Math.abs(ctr(all) - (0.5 + 1 + 0.5) / 3) < 1e-12);
  assert.equal(sessionLength([]), 0);
});

test('diversity = 1 - same-tag pair share per session', () => {
  // s0 tags [0,0,2,1]: 6 pairs, 1 same -> 5/6; s1 tags [2,1]: 1; s2 tags [2,2]: 0.
  assert.ok(Math.abs(diversity(all, catalog) - (5 / 6 + 1 + 0) / 3) < 1e-12);
});

test('new fans, deep UA (follow + gifts on 2 days), revenue, weekly gifted users', () => {
  assert.equal(newFans(all), 1);
  // pair (0, author 2): follow on day 0, gifts on day 0 and day 3 -> deep. (1, author 2): one gift day, no follow.
  assert.equal(deepUaCount(all, catalog), 1);
  assert.equal(deepUaCount([s0], catalog), 0);
  assert.equal(totalRevenue(all), 8);
  // week 0: user 0 gifted; week 1 (day 8): user 1 gifted -> 2 gifted user-weeks over 2 weeks.
  assert.equal(weeklyGiftedUsers(all), 1);
  assert.equal(weeklyGiftedUsers([s0, s1]), 1);
});

test('app usage time per active user-day and weekly retention by return gap', () => {
  // s0: 3 min, s1: 1 min, s2: no endTimeMs -> its watch time 6 s; 3 user-days.
  assert.ok(Math.abs(appUsageTime(all) - (180 + 60 + 6) / 3) < 1e-9);
  // last session per user: user 0 -> s1 (gap 10, not retained), user 1 -> s2 (gap 2, retained).
  assert.equal(weeklyRetention(all), 0.5);
  assert.equal(weeklyRetention([s0]), 1);
  const m = computeMetrics(all, catalog);
  assert.equal(m.sessions, 3);
  assert.equal(m.newFans, 1);
  assert.equal(m.deepUaCount, 1);
});
