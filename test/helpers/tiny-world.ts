/**
 * A tiny hand-built world for agent tests (the shared harness and the
 * per-agent tests; usable by any test that needs SessionTraces):
 *
 * - 40 users in 2 segments, 12 authors x 6 items, 4 tags, one categorical
 *   user field ("segment") and one item field ("format");
 * - ground truth with a plain, learnable structure: every third author is
 *   good (quality +1.5), every third bad (-1.5); a user likes the tags of her
 *   segment's parity (+0.8); familiarity (follow, clicks) and fatigue as in
 *   the design. P(click) = sigmoid(-0.4 + q_a + 0.8 match + familiarity -
 *   0.3 repeatAuthor); watch ratio | click rises with q_a and match;
 * - sessions come from the real simulator `Environment` (candidate
 *   generator, temper quit model, return model, pair-count store), so traces
 *   have real summaries, pair counts, session ends and return gaps.
 *
 * `expectedClick(user, item)` is the ground-truth click probability of a
 * fresh pair (no familiarity, no fatigue): the yardstick of "better than a
 * random ranker".
 */
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { Environment, type EnvironmentOptions } from '../../src/environment/environment.js';
import { RandomPolicy, type SlatePolicy } from '../../src/environment/slate-policy.js';
import type { RequestRecord, SessionTrace } from '../../src/environment/trace.js';
import type { Catalog } from '../../src/world/catalog.js';
import type { ExposureBatch, ResponseBatch, ResponseModel } from '../../src/world/response.js';

export const TINY_USERS = 40;
export const TINY_AUTHORS = 12;
export const TINY_ITEMS_PER_AUTHOR = 6;
export const TINY_TAGS = 4;

/** Author quality of the tiny world: +1.5, 0, -1.5 by author id mod 3. */
export function tinyAuthorQuality(author: number): number {
  return author % 3 === 0 ? 1.5 : author % 3 === 1 ? 0 : -1.5;
}

/** The tiny catalog (deterministic; no randomness besides durations drawn from `seed`). */
export function tinyCatalog(seed = 3): Catalog {
  const rng = new Rng(seed);
  const numItems = TINY_AUTHORS * TINY_ITEMS_PER_AUTHOR;
  const itemAuthor = new Int32Array(numItems);
  const itemTag = new Int32Array(numItems);
  const itemDurationMs = new Float32Array(numItems);
  const authorItemOffsets = new Int32Array(TINY_AUTHORS + 1);
  const authorItemIds = new Int32Array(numItems);
  for (let a = 0; a < TINY_AUTHORS; a++) {
    authorItemOffsets[a + 1] = (a + 1) * TINY_ITEMS_PER_AUTHOR;
    for (let j = 0; j < TINY_ITEMS_PER_AUTHOR; j++) {
      const i = a * TINY_ITEMS_PER_AUTHOR + j;
      itemAuthor[i] = a;
      itemTag[i] = (a + j) % TINY_TAGS;
      itemDurationMs[i] = 20_000 + rng.int(60_000);
      authorItemIds[i] = i;
    }
  }
  const popularity = new Float32Array(TINY_AUTHORS).fill(1 / TINY_AUTHORS);
  return {
    numUsers: TINY_USERS,
    numAuthors: TINY_AUTHORS,
    numItems,
    numTags: TINY_TAGS,
    userFeatureFields: ['segment'],
    userFeatures: Int32Array.from({ length: TINY_USERS }, (_, u) => 1 + (u % 2)),
    userActivity: Float32Array.from({ length: TINY_USERS }, (_, u) => 0.3 + (0.4 * ((u * 7) % 10)) / 10),
    userRawId: Int32Array.from({ length: TINY_USERS }, (_, u) => u),
    itemAuthor,
    itemTag,
    itemDurationMs,
    itemFeatureFields: ['format'],
    itemFeatures: Int32Array.from({ length: numItems }, (_, i) => 1 + (i % 3)),
    itemRawId: Int32Array.from({ length: numItems }, (_, i) => i),
    authorIsLive: Uint8Array.from({ length: TINY_AUTHORS }, (_, a) => (a % 4 === 0 ? 1 : 0)),
    authorPopularity: popularity,
    authorItemOffsets,
    authorItemIds,
    authorRawId: Int32Array.from({ length: TINY_AUTHORS }, (_, a) => a),
  };
}

/** 1 when the item's tag matches the user's segment parity. */
function tagMatch(catalog: Catalog, user: number, item: number): number {
  return catalog.itemTag[item]! % 2 === catalog.userFeatures[user]! % 2 ? 1 : 0;
}

/** Ground-truth click logit of a fresh pair. */
function clickLogit(catalog: Catalog, user: number, item: number): number {
  return -0.4 + tinyAuthorQuality(catalog.itemAuthor[item]!) + 0.8 * tagMatch(catalog, user, item);
}

/** The tiny world's responses (see file comment). */
export class TinyResponder implements ResponseModel {
  constructor(readonly catalog: Catalog) {}

  respond(batch: ExposureBatch, rng: Rng, out: ResponseBatch): void {
    const c = this.catalog;
    for (let e = 0; e < batch.count; e++) {
      const u = batch.user[e]!;
      const i = batch.item[e]!;
      const pc = e * PAIR_COUNT_DIM;
      const followed = batch.pairCounts[pc + PC_FOLLOW]!;
      const familiarity = 0.2 * Math.log1p(batch.pairCounts[pc + PC_CLICK]!) + 0.8 * followed;
      const q = tinyAuthorQuality(c.itemAuthor[i]!);
      const z = clickLogit(c, u, i) + familiarity - 0.3 * batch.repeatAuthor[e]!;
      const click = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
      const duration = c.itemDurationMs[i]!;
      const ratio = click ? Math.min(1, Math.max(0.05, 0.35 + 0.15 * q + 0.1 * tagMatch(c, u, i) + 0.1 * rng.normal())) : 0.02 * rng.uniform();
      const play = ratio * duration;
      out.click[e] = click;
      out.playTimeMs[e] = play;
      out.longView[e] = click && play >= Math.min(duration, 18_000) ? 1 : 0;
      out.like[e] = click && rng.uniform() < 0.05 + 0.05 * Math.max(0, q) ? 1 : 0;
      out.follow[e] = click && followed === 0 && rng.uniform() < 0.03 + 0.05 * Math.max(0, q) ? 1 : 0;
      out.comment[e] = click && rng.uniform() < 0.01 ? 1 : 0;
      out.forward[e] = 0;
      out.hate[e] = !click && rng.uniform() < 0.002 ? 1 : 0;
      out.giftAmount[e] = click && c.authorIsLive[c.itemAuthor[i]!] && rng.uniform() < 0.02 + 0.2 * followed ? 1 + rng.int(5) : 0;
    }
  }
}

export interface TinyWorld {
  catalog: Catalog;
  responder: TinyResponder;
  /** A fresh environment on the tiny world (its own seed; default 30 candidates, slate 6). */
  environment(seed: number, options?: Partial<EnvironmentOptions>): Environment;
  /** Ground-truth P(click) of a fresh pair. */
  expectedClick(user: number, item: number): number;
}

export function tinyWorld(): TinyWorld {
  const catalog = tinyCatalog();
  const responder = new TinyResponder(catalog);
  return {
    catalog,
    responder,
    environment: (seed, options = {}) => new Environment(catalog, responder, { seed, numCandidates: 30, slateSize: 6, ...options }),
    expectedClick: (user, item) => 1 / (1 + Math.exp(-clickLogit(catalog, user, item))),
  };
}

/**
 * `rounds` sessions of every user of the tiny world, collected with
 * `policy` (default: uniformly random slates, the logging policy of these
 * tests) in a fresh environment seeded with `seed`.
 */
export function tinySessions(world: TinyWorld, rounds: number, seed: number, policy?: SlatePolicy): SessionTrace[] {
  const env = world.environment(seed);
  const users = Array.from({ length: world.catalog.numUsers }, (_, u) => u);
  const p = policy ?? new RandomPolicy(new Rng(seed).fork('logging-policy'));
  const out: SessionTrace[] = [];
  for (let r = 0; r < rounds; r++) out.push(...env.runSessions(users, p));
  return out;
}

/** All requests of the sessions, in order. */
export function requestsOf(sessions: readonly SessionTrace[]): RequestRecord[] {
  return sessions.flatMap((s) => s.requests);
}
