/**
 * The paper's evaluation metrics (§4.1.1), computed from session traces.
 * Each function documents its exact definition; `computeMetrics` returns all
 * of them. Exposures are the K slate items of every request; a request's
 * responses are indexed by slate position.
 */
import { PAIR_COUNT_DIM as PAIR_COUNT_DIM_, PC_FOLLOW as PC_FOLLOW_ } from '../data/interaction-kinds.js';
import type { Catalog } from '../world/catalog.js';
import { DAY_MS, KUAIRAND_START_MS } from './environment.js';
import type { SessionTrace } from './trace.js';

// Imported constants copied to module locals: hot loops read them as plain constants.
const PAIR_COUNT_DIM = PAIR_COUNT_DIM_;
const PC_FOLLOW = PC_FOLLOW_;

export interface SessionMetrics {
  /** Sessions the figures are over. */
  sessions: number;
  sessionLength: number;
  watchTime: number;
  ctr: number;
  diversity: number;
  newFans: number;
  deepUaCount: number;
  weeklyGiftedUsers: number;
  totalRevenue: number;
  appUsageTime: number;
  weeklyRetention: number;
}

/** Options for the day arithmetic of the time-based metrics. */
export interface MetricsOptions {
  /** Time (ms) of day 0, 00:00, used when a trace has no `day`. Default KUAIRAND_START_MS. */
  startTimeMs: number;
}

const mean = (sum: number, n: number): number => (n > 0 ? sum / n : 0);

/** Session length: mean number of requests per session. 0 for no sessions. */
export function sessionLength(sessions: readonly SessionTrace[]): number {
  let s = 0;
  for (const t of sessions) s += t.requests.length;
  return mean(s, sessions.length);
}

/** Seconds played in one session: the sum of play times of its exposed items. */
export function sessionWatchSeconds(t: SessionTrace): number {
  let w = 0;
  for (const r of t.requests) for (let p = 0; p < r.slate.length; p++) w += r.responses.playTimeMs[p]!;
  return w / 1000;
}

/** Watch time: mean over sessions of the seconds played in the session. */
export function watchTime(sessions: readonly SessionTrace[]): number {
  let s = 0;
  for (const t of sessions) s += sessionWatchSeconds(t);
  return mean(s, sessions.length);
}

/**
 * CTR: mean over sessions of (clicks / exposed items) in the session — the
 * paper's "average click rate of all items recommended to a user in one
 * session". Sessions without exposures are skipped.
 */
export function ctr(sessions: readonly SessionTrace[]): number {
  let s = 0;
  let n = 0;
  for (const t of sessions) {
    let clicks = 0;
    let exposures = 0;
    for (const r of t.requests) {
      for (let p = 0; p < r.slate.length; p++) clicks += r.responses.click[p]!;
      exposures += r.slate.length;
    }
    if (exposures > 0) {
      s += clicks / exposures;
      n++;
    }
  }
  return mean(s, n);
}

/**
 * Diversity: mean over sessions of 1 - (pairs of exposed items sharing a
 * tag) / (all pairs of exposed items), using each item's primary tag.
 * Computed from tag counts: same-tag pairs = sum_t c_t (c_t - 1) / 2.
 * Sessions with fewer than 2 exposed items are skipped.
 */
export function diversity(sessions: readonly SessionTrace[], catalog: Catalog): number {
  let s = 0;
  let n = 0;
  const counts = new Map<number, number>();
  for (const t of sessions) {
    counts.clear();
    let m = 0;
    for (const r of t.requests) {
      for (let p = 0; p < r.slate.length; p++) {
        const tag = catalog.itemTag[r.candidates[r.slate[p]!]!]!;
        counts.set(tag, (counts.get(tag) ?? 0) + 1);
        m++;
      }
    }
    if (m < 2) continue;
    let same = 0;
    for (const c of counts.values()) same += (c * (c - 1)) / 2;
    s += 1 - same / ((m * (m - 1)) / 2);
    n++;
  }
  return mean(s, n);
}

/** New fans: total first follows (follow responses; the environment records only first follows). */
export function newFans(sessions: readonly SessionTrace[]): number {
  let s = 0;
  for (const t of sessions) for (const r of t.requests) for (let p = 0; p < r.slate.length; p++) s += r.responses.follow[p]!;
  return s;
}

/** Calendar day of a request (the trace's `day` if set and the request is on it, else from time). */
function dayOf(timeMs: number, o: MetricsOptions): number {
  return Math.floor((timeMs - o.startTimeMs) / DAY_MS);
}

function resolve(options?: Partial<MetricsOptions>): MetricsOptions {
  return { startTimeMs: options?.startTimeMs ?? KUAIRAND_START_MS };
}

/**
 * Deep UA count: user-author pairs that, within these sessions, are
 * followed (a follow response, or an exposure whose request-time f_ua
 * already had the follow flag) AND received gifts on at least 2 distinct
 * days. (The environment's `pairStore.totalDeepPairs()` counts over the
 * whole lifetime instead.)
 */
export function deepUaCount(sessions: readonly SessionTrace[], catalog: Catalog, options?: Partial<MetricsOptions>): number {
  const o = resolve(options);
  const followed = new Set<string>();
  const giftDays = new Map<string, Set<number>>();
  for (const t of sessions) {
    for (const r of t.requests) {
      const day = dayOf(r.timeMs, o);
      for (let p = 0; p < r.slate.length; p++) {
        const idx = r.slate[p]!;
        const key = `${t.user}:${catalog.itemAuthor[r.candidates[idx]!]!}`;
        if (r.responses.follow[p] === 1 || r.candidatePairCounts[idx * PAIR_COUNT_DIM + PC_FOLLOW] === 1) followed.add(key);
        if (r.responses.giftAmount[p]! > 0) {
          let d = giftDays.get(key);
          if (!d) giftDays.set(key, (d = new Set()));
          d.add(day);
        }
      }
    }
  }
  let n = 0;
  for (const [key, days] of giftDays) if (days.size >= 2 && followed.has(key)) n++;
  return n;
}

/**
 * Weekly gifted users: mean over the calendar weeks spanned by the
 * sessions (week = floor(day / 7), from the first to the last week with a
 * session) of the number of distinct users who gave at least one gift that
 * week.
 */
export function weeklyGiftedUsers(sessions: readonly SessionTrace[], options?: Partial<MetricsOptions>): number {
  const o = resolve(options);
  let minWeek = Infinity;
  let maxWeek = -Infinity;
  const gifted = new Set<string>();
  for (const t of sessions) {
    for (const r of t.requests) {
      const week = Math.floor(dayOf(r.timeMs, o) / 7);
      if (week < minWeek) minWeek = week;
      if (week > maxWeek) maxWeek = week;
      for (let p = 0; p < r.slate.length; p++) if (r.responses.giftAmount[p]! > 0) gifted.add(`${week}:${t.user}`);
    }
  }
  if (!Number.isFinite(minWeek)) return 0;
  return gifted.size / (maxWeek - minWeek + 1);
}

/** Total revenue: sum of all gift amounts. */
export function totalRevenue(sessions: readonly SessionTrace[]): number {
  let s = 0;
  for (const t of sessions) for (const r of t.requests) for (let p = 0; p < r.slate.length; p++) s += r.responses.giftAmount[p]!;
  return s;
}

/**
 * App usage time: seconds in the app per active user-day — the sum of
 * session durations (first request to `endTimeMs`, i.e. play plus browsing;
 * the watch time when `endTimeMs` is absent) divided by the number of
 * distinct (user, day) pairs with a session.
 */
export function appUsageTime(sessions: readonly SessionTrace[], options?: Partial<MetricsOptions>): number {
  const o = resolve(options);
  let total = 0;
  const userDays = new Set<string>();
  for (const t of sessions) {
    if (t.requests.length === 0) continue;
    const start = t.requests[0]!.timeMs;
    total += t.endTimeMs !== undefined ? (t.endTimeMs - start) / 1000 : sessionWatchSeconds(t);
    userDays.add(`${t.user}:${t.day ?? dayOf(start, o)}`);
  }
  return mean(total, userDays.size);
}

/**
 * Weekly retention: the share of users whose next session comes within 7
 * days of their last session in the set (return gap <= 7, as drawn by the
 * return model; a user's last session is the one with the highest
 * sessionIndex). Defined for any set of sessions, even a single epoch.
 */
export function weeklyRetention(sessions: readonly SessionTrace[]): number {
  const last = new Map<number, SessionTrace>();
  for (const t of sessions) {
    const prev = last.get(t.user);
    if (!prev || t.sessionIndex > prev.sessionIndex) last.set(t.user, t);
  }
  let retained = 0;
  for (const t of last.values()) if (t.returnGapDays <= 7) retained++;
  return mean(retained, last.size);
}

/** All metrics of {@link SessionMetrics} over these sessions. */
export function computeMetrics(sessions: readonly SessionTrace[], catalog: Catalog, options?: Partial<MetricsOptions>): SessionMetrics {
  return {
    sessions: sessions.length,
    sessionLength: sessionLength(sessions),
    watchTime: watchTime(sessions),
    ctr: ctr(sessions),
    diversity: diversity(sessions, catalog),
    newFans: newFans(sessions),
    deepUaCount: deepUaCount(sessions, catalog, options),
    weeklyGiftedUsers: weeklyGiftedUsers(sessions, options),
    totalRevenue: totalRevenue(sessions),
    appUsageTime: appUsageTime(sessions, options),
    weeklyRetention: weeklyRetention(sessions),
  };
}
