/**
 * A tiny hand-made world for simulator tests: a catalog with latent user and
 * item vectors and a responder whose click/watch/follow/gift probabilities
 * rise with the user-item affinity and the pair's familiarity f_ua.
 */
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import type { Catalog } from '../../src/world/catalog.js';
import type { ExposureBatch, ResponseBatch, ResponseModel } from '../../src/world/response.js';

export interface TinyWorld {
  catalog: Catalog;
  responder: FakeResponder;
}

export function tinyCatalog(numUsers: number, numAuthors: number, itemsPerAuthor: number, numTags = 8, seed = 7): Catalog {
  const rng = new Rng(seed);
  const numItems = numAuthors * itemsPerAuthor;
  const itemAuthor = new Int32Array(numItems);
  const itemTag = new Int32Array(numItems);
  const itemDurationMs = new Float32Array(numItems);
  const authorItemOffsets = new Int32Array(numAuthors + 1);
  const authorItemIds = new Int32Array(numItems);
  for (let a = 0; a < numAuthors; a++) {
    authorItemOffsets[a + 1] = (a + 1) * itemsPerAuthor;
    for (let j = 0; j < itemsPerAuthor; j++) {
      const i = a * itemsPerAuthor + j;
      itemAuthor[i] = a;
      itemTag[i] = rng.int(numTags);
      itemDurationMs[i] = 5000 + rng.int(120000);
      authorItemIds[i] = i;
    }
  }
  const pop = new Float32Array(numAuthors);
  let total = 0;
  for (let a = 0; a < numAuthors; a++) total += pop[a] = 1 / (a + 1);
  for (let a = 0; a < numAuthors; a++) pop[a]! /= total;
  const userActivity = new Float32Array(numUsers);
  for (let u = 0; u < numUsers; u++) userActivity[u] = rng.uniform();
  return {
    numUsers,
    numAuthors,
    numItems,
    numTags,
    userFeatureFields: ['f0'],
    userFeatures: Int32Array.from({ length: numUsers }, () => 1 + rng.int(3)),
    userActivity,
    userRawId: Int32Array.from({ length: numUsers }, (_, i) => i),
    itemAuthor,
    itemTag,
    itemDurationMs,
    itemFeatureFields: ['g0'],
    itemFeatures: Int32Array.from({ length: numItems }, () => 1 + rng.int(4)),
    itemRawId: Int32Array.from({ length: numItems }, (_, i) => i),
    authorIsLive: Uint8Array.from({ length: numAuthors }, (_, a) => (a % 3 === 0 ? 1 : 0)),
    authorPopularity: pop,
    authorItemOffsets,
    authorItemIds,
    authorRawId: Int32Array.from({ length: numAuthors }, (_, i) => i),
  };
}

/** Latent-factor responder: P(click) = sigmoid(c0 + 2.5 * <z_u, v_i> + familiarity). */
export class FakeResponder implements ResponseModel {
  readonly dim = 4;
  readonly userVec: Float32Array;
  readonly itemVec: Float32Array;
  constructor(
    readonly catalog: Catalog,
    seed = 11,
    readonly c0 = -0.3,
  ) {
    const rng = new Rng(seed);
    this.userVec = Float32Array.from({ length: catalog.numUsers * this.dim }, () => rng.normal() / 2);
    this.itemVec = Float32Array.from({ length: catalog.numItems * this.dim }, () => rng.normal() / 2);
  }

  affinity(user: number, item: number): number {
    let s = 0;
    for (let d = 0; d < this.dim; d++) s += this.userVec[user * this.dim + d]! * this.itemVec[item * this.dim + d]!;
    return 2.5 * s;
  }

  respond(batch: ExposureBatch, rng: Rng, out: ResponseBatch): void {
    const c = this.catalog;
    for (let e = 0; e < batch.count; e++) {
      const u = batch.user[e]!;
      const i = batch.item[e]!;
      const aff = this.affinity(u, i);
      const pcBase = e * PAIR_COUNT_DIM;
      const followed = batch.pairCounts[pcBase + PC_FOLLOW]!;
      const fam = 0.3 * Math.log1p(batch.pairCounts[pcBase + PC_CLICK]!) + 1.0 * followed;
      const p = 1 / (1 + Math.exp(-(this.c0 + aff + fam - 0.3 * batch.repeatAuthor[e]!)));
      const click = rng.uniform() < p ? 1 : 0;
      const dur = c.itemDurationMs[i]!;
      const ratio = click ? Math.min(1, Math.max(0.05, 0.4 + 0.2 * aff + 0.2 * rng.normal())) : 0.03 * rng.uniform();
      out.click[e] = click;
      out.playTimeMs[e] = ratio * dur;
      out.longView[e] = click && ratio * dur >= Math.min(dur, 18000) ? 1 : 0;
      out.like[e] = click && rng.uniform() < 0.05 ? 1 : 0;
      out.follow[e] = click && followed === 0 && rng.uniform() < 0.05 * (1 + Math.max(0, aff)) ? 1 : 0;
      out.comment[e] = click && rng.uniform() < 0.01 ? 1 : 0;
      out.forward[e] = 0;
      out.hate[e] = !click && rng.uniform() < 0.002 ? 1 : 0;
      out.giftAmount[e] = click && c.authorIsLive[c.itemAuthor[i]!] && rng.uniform() < 0.02 + 0.2 * followed ? 1 + rng.int(10) : 0;
    }
  }
}

export function tinyWorld(numUsers = 60, numAuthors = 40, itemsPerAuthor = 10): TinyWorld {
  const catalog = tinyCatalog(numUsers, numAuthors, itemsPerAuthor);
  return { catalog, responder: new FakeResponder(catalog) };
}
