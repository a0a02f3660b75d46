/**
 * A tiny hand-built world for the RLIV-UA tests, independent of the
 * simulator: a small Catalog and SessionTrace objects generated directly.
 *
 * "Familiarity world": 4 authors with 2 items each.
 * - author A (0): P(click) = 0.85, 8 s watched per click — the best immediate
 *   click rate and immediate watch time, and it never changes;
 * - author B (1): P(click) = min(0.95, 0.55 + 0.1 * n) and 4 + 25 * min(n, 4)
 *   seconds per click, where n = the pair's clicks so far — worse at first
 *   (lower click rate, shorter watch), far better once the user is familiar
 *   (the premise of the paper's Fig. 2). True LIVs (gamma 0.9, watch-time
 *   reward log1p(s)): A 0.85 * log1p(8) / 0.1 = 18.7; B at n = 0: 33.8 (value iteration).
 *   B's first click rate is kept >= 0.5 on purpose: with Huber delta 1
 *   (docs/design.md §4.4) TD errors of several units fall in Huber's L1 regime,
 *   whose fixed point is the MEDIAN of the targets — for a pair whose
 *   rewarding transition has probability < 0.5 the median is the no-click
 *   self-loop and the LIV collapses toward 0 (measured: B at 0.25 + 0.15 n
 *   learns 6 instead of 24 with delta 1, 26 with delta 50);
 * - authors C (2), D (3): P(click) = 0.15, 4 s.
 * Every request offers all 8 items; a uniformly random logging policy shows
 * 3 of them. Pair counts are tracked like the environment does and written
 * into RequestRecord.candidatePairCounts at request time.
 */
import { PAIR_COUNT_DIM, PC_CLICK, PC_LONG_VIEW, PC_WATCH_TIME } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { SESSION_SUMMARY_DIM, type RequestRecord, type SessionTrace } from '../../src/environment/trace.js';
import type { Catalog } from '../../src/world/catalog.js';
import { allocResponseBatch } from '../../src/world/response.js';

export const AUTHOR_A = 0;
export const AUTHOR_B = 1;
export const ITEMS_PER_AUTHOR = 2;
export const NUM_AUTHORS = 4;

/** Catalog with `numUsers` users, 4 authors x 2 items (author a owns items 2a, 2a+1); author 0 is a live streamer. */
export function familiarityCatalog(numUsers = 24): Catalog {
  const numItems = NUM_AUTHORS * ITEMS_PER_AUTHOR;
  const itemAuthor = Int32Array.from({ length: numItems }, (_, i) => Math.floor(i / ITEMS_PER_AUTHOR));
  return {
    numUsers,
    numAuthors: NUM_AUTHORS,
    numItems,
    numTags: 2,
    userFeatureFields: ['segment'],
    userFeatures: Int32Array.from({ length: numUsers }, (_, u) => 1 + (u % 2)),
    userActivity: new Float32Array(numUsers).fill(0.5),
    userRawId: Int32Array.from({ length: numUsers }, (_, u) => u),
    itemAuthor,
    itemTag: Int32Array.from({ length: numItems }, (_, i) => i % 2),
    itemDurationMs: new Float32Array(numItems).fill(120_000),
    itemFeatureFields: ['format'],
    itemFeatures: Int32Array.from({ length: numItems }, (_, i) => 1 + (i % 2)),
    itemRawId: Int32Array.from({ length: numItems }, (_, i) => i),
    authorIsLive: Uint8Array.from({ length: NUM_AUTHORS }, (_, a) => (a === 0 ? 1 : 0)),
    authorPopularity: new Float32Array(NUM_AUTHORS).fill(1 / NUM_AUTHORS),
    authorItemOffsets: Int32Array.from({ length: NUM_AUTHORS + 1 }, (_, a) => a * ITEMS_PER_AUTHOR),
    authorItemIds: Int32Array.from({ length: numItems }, (_, i) => i),
    authorRawId: Int32Array.from({ length: NUM_AUTHORS }, (_, a) => a),
  };
}

/** Click probability and seconds watched per click of author `a` after `n` clicks of the pair. */
export function familiarityResponse(a: number, n: number): { pClick: number; seconds: number } {
  if (a === AUTHOR_A) return { pClick: 0.85, seconds: 8 };
  if (a === AUTHOR_B) return { pClick: Math.min(0.95, 0.55 + 0.1 * n), seconds: 4 + 25 * Math.min(n, 4) };
  return { pClick: 0.15, seconds: 4 };
}

export interface FamiliarityTraceOptions {
  sessionsPerUser: number;
  requestsPerSession: number;
  slateSize: number;
  /** Users 0..users-1 get sessions. */
  users: number;
  seed: number;
  /** Gift on click of author A with this probability (to give the gift tower and AL a signal). */
  giftRate: number;
}

/** Session traces of the familiarity world under a uniformly random logging policy. */
export function familiarityTraces(catalog: Catalog, options: Partial<FamiliarityTraceOptions> = {}): SessionTrace[] {
  const o: FamiliarityTraceOptions = { sessionsPerUser: 4, requestsPerSession: 8, slateSize: 3, users: catalog.numUsers, seed: 11, giftRate: 0.1, ...options };
  const rng = new Rng(o.seed);
  const n = catalog.numItems;
  const counts = new Float32Array(catalog.numUsers * catalog.numAuthors * PAIR_COUNT_DIM);
  const sessions: SessionTrace[] = [];
  let time = 1_000_000;
  for (let s = 0; s < o.sessionsPerUser; s++) {
    for (let u = 0; u < o.users; u++) {
      const trace: SessionTrace = { user: u, sessionIndex: s, requests: [], returnGapDays: 1 };
      for (let r = 0; r < o.requestsPerSession; r++) {
        time += 1000;
        const candidates = Int32Array.from({ length: n }, (_, i) => i);
        const candidatePairCounts = new Float32Array(n * PAIR_COUNT_DIM);
        for (let i = 0; i < n; i++) {
          const a = catalog.itemAuthor[i]!;
          candidatePairCounts.set(
            counts.subarray((u * catalog.numAuthors + a) * PAIR_COUNT_DIM, (u * catalog.numAuthors + a + 1) * PAIR_COUNT_DIM),
            i * PAIR_COUNT_DIM,
          );
        }
        const order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
        const slate = order.slice(0, o.slateSize);
        const responses = allocResponseBatch(o.slateSize);
        for (let k = 0; k < o.slateSize; k++) {
          const item = candidates[slate[k]!]!;
          const a = catalog.itemAuthor[item]!;
          const base = (u * catalog.numAuthors + a) * PAIR_COUNT_DIM;
          const { pClick, seconds } = familiarityResponse(a, counts[base + PC_CLICK]!);
          if (rng.bernoulli(pClick)) {
            responses.click[k] = 1;
            responses.playTimeMs[k] = seconds * 1000;
            responses.longView[k] = seconds >= 18 ? 1 : 0;
            if (a === AUTHOR_A && rng.bernoulli(o.giftRate)) responses.giftAmount[k] = 5;
          }
        }
        const record: RequestRecord = {
          user: u,
          timeMs: time,
          summary: new Float32Array(SESSION_SUMMARY_DIM),
          candidates,
          candidatePairCounts,
          slate,
          responses,
        };
        trace.requests.push(record);
        // The pair counts move after the request, as in the environment.
        for (let k = 0; k < o.slateSize; k++) {
          if (!responses.click[k]) continue;
          const a = catalog.itemAuthor[candidates[slate[k]!]!]!;
          const base = (u * catalog.numAuthors + a) * PAIR_COUNT_DIM;
          counts[base + PC_CLICK]! += 1;
          if (responses.longView[k]) counts[base + PC_LONG_VIEW]! += 1;
          counts[base + PC_WATCH_TIME]! += responses.playTimeMs[k]! / 1000;
          if (responses.giftAmount[k]! > 0) counts[base + 5]! += 1;
        }
      }
      sessions.push(trace);
    }
  }
  return sessions;
}

/** A request of user `user` over all items with zero pair counts (a fresh user-author relationship). */
export function freshRequest(
  catalog: Catalog,
  user: number,
): { user: number; candidates: Int32Array; candidatePairCounts: Float32Array; summary: Float32Array } {
  return {
    user,
    candidates: Int32Array.from({ length: catalog.numItems }, (_, i) => i),
    candidatePairCounts: new Float32Array(catalog.numItems * PAIR_COUNT_DIM),
    summary: new Float32Array(SESSION_SUMMARY_DIM),
  };
}
