/**
 * The retrieval stage in front of the ranker: N distinct candidate items per
 * request, mixed from three sources as production recall is:
 * - popular: an author drawn by exposure popularity, then one of its items;
 * - recent-author: one of the authors the user recently interacted with
 *   (clicked), then one of its items — this is what lets a relationship
 *   with an author keep resurfacing;
 * - random: a uniform item (exploration, cold items).
 * When the user has no recent authors the recent-author share is filled
 * from the popular source.
 */
import { localInt, localUniform, seedLocalStream } from '../numeric/local-stream.js';
import type { Rng } from '../numeric/rng.js';
import type { Catalog } from '../world/catalog.js';

/** Share of each candidate source; normalized, must not all be zero. */
export interface CandidateMix {
  /** Authors drawn by `catalog.authorPopularity`. Default 0.5. */
  popular: number;
  /** Authors from the user's recent interactions. Default 0.3. */
  recentAuthor: number;
  /** Uniform items. Default 0.2. */
  random: number;
}

export const DEFAULT_CANDIDATE_MIX: CandidateMix = { popular: 0.5, recentAuthor: 0.3, random: 0.2 };

export interface CandidateGeneratorOptions {
  /** Candidates per request, 1..300 (and at most the number of items). Default 100. */
  numCandidates: number;
  /** Source shares. Default {@link DEFAULT_CANDIDATE_MIX}. */
  mix: CandidateMix;
  /** How many recent authors are remembered per user (a ring). Default 32. */
  recentAuthorsPerUser: number;
}

export const MAX_CANDIDATES = 300;

/**
 * The candidate generator draws ~3 numbers per candidate (300 per request),
 * which through the shared `Rng` object costs more than everything else in a
 * request. Each request therefore seeds the module-level local stream
 * (numeric/local-stream.ts) from ONE draw of the environment's `Rng`: every
 * choice still flows from the seeded Rng.
 */
/** Walker alias table for O(1) draws from a fixed discrete distribution. */
export class AliasTable {
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new RangeError('AliasTable needs at least one weight');
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`AliasTable weight ${i} must be finite and >= 0, got ${w}`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('AliasTable weights must not all be zero');
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / total;
      (scaled[i]! < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.prob[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    for (const i of large) this.prob[i] = 1;
    for (const i of small) this.prob[i] = 1;
  }

  sample(rng: Rng): number {
    return this.sampleAt(rng.uniform());
  }

  /** The draw for a given uniform u in [0, 1) (column from its integer part, coin from its fraction). */
  sampleAt(u: number): number {
    const n = this.prob.length;
    const x = u * n;
    const i = Math.min(n - 1, Math.floor(x));
    return x - i < this.prob[i]! ? i : this.alias[i]!;
  }
}

export class CandidateGenerator {
  readonly options: CandidateGeneratorOptions;
  private readonly popularAuthors: AliasTable;
  private readonly recent: Int32Array;
  private readonly recentCount: Int32Array;
  private readonly recentHead: Int32Array;
  /** Per-item stamp of the last request that took it, for O(1) de-duplication. */
  private readonly stamp: Int32Array;
  private stampValue = 0;
  private readonly shares: [number, number, number];

  constructor(
    private readonly catalog: Catalog,
    options: Partial<CandidateGeneratorOptions> = {},
  ) {
    const o: CandidateGeneratorOptions = {
      numCandidates: options.numCandidates ?? 100,
      mix: { ...DEFAULT_CANDIDATE_MIX, ...options.mix },
      recentAuthorsPerUser: options.recentAuthorsPerUser ?? 32,
    };
    if (!Number.isInteger(o.numCandidates) || o.numCandidates < 1 || o.numCandidates > MAX_CANDIDATES) {
      throw new RangeError(`numCandidates must be an integer in [1, ${MAX_CANDIDATES}], got ${o.numCandidates}`);
    }
    if (o.numCandidates > catalog.numItems) {
      throw new RangeError(`numCandidates (${o.numCandidates}) exceeds the catalog's ${catalog.numItems} items`);
    }
    const { popular, recentAuthor, random } = o.mix;
    const total = popular + recentAuthor + random;
    if (![popular, recentAuthor, random].every((v) => Number.isFinite(v) && v >= 0) || !(total > 0)) {
      throw new RangeError(`candidate mix shares must be finite, >= 0 and not all zero, got ${JSON.stringify(o.mix)}`);
    }
    if (!Number.isInteger(o.recentAuthorsPerUser) || o.recentAuthorsPerUser < 1) {
      throw new RangeError(`recentAuthorsPerUser must be a positive integer, got ${o.recentAuthorsPerUser}`);
    }
    this.options = o;
    this.shares = [popular / total, recentAuthor / total, random / total];
    // Authors without items can never be drawn.
    const w = new Float64Array(catalog.numAuthors);
    for (let a = 0; a < catalog.numAuthors; a++) {
      const hasItems = catalog.authorItemOffsets[a + 1]! > catalog.authorItemOffsets[a]!;
      w[a] = hasItems ? Math.max(catalog.authorPopularity[a]!, 1e-12) : 0;
    }
    this.popularAuthors = new AliasTable(w);
    this.recent = new Int32Array(catalog.numUsers * o.recentAuthorsPerUser);
    this.recentCount = new Int32Array(catalog.numUsers);
    this.recentHead = new Int32Array(catalog.numUsers);
    this.stamp = new Int32Array(catalog.numItems);
  }

  /** Remembers that the user interacted with the author (moves it to the front of the ring if new). */
  noteInteraction(user: number, author: number): void {
    const r = this.options.recentAuthorsPerUser;
    const base = user * r;
    const count = this.recentCount[user]!;
    for (let j = 0; j < count; j++) if (this.recent[base + j] === author) return;
    const head = this.recentHead[user]!;
    this.recent[base + head] = author;
    this.recentHead[user] = (head + 1) % r;
    if (count < r) this.recentCount[user] = count + 1;
  }

  /** Copies every user's recent-author ring from `other` (same catalog and ring size). */
  copyRecentFrom(other: CandidateGenerator): void {
    if (other.options.recentAuthorsPerUser !== this.options.recentAuthorsPerUser || other.recentHead.length !== this.recentHead.length) {
      throw new RangeError(
        `copyRecentFrom: rings of ${other.options.recentAuthorsPerUser} authors x ${other.recentHead.length} users, this generator has ${this.options.recentAuthorsPerUser} x ${this.recentHead.length}`,
      );
    }
    this.recent.set(other.recent);
    this.recentCount.set(other.recentCount);
    this.recentHead.set(other.recentHead);
  }

  /** Authors currently in the user's recent ring. */
  recentAuthors(user: number): Int32Array {
    const r = this.options.recentAuthorsPerUser;
    return this.recent.slice(user * r, user * r + this.recentCount[user]!);
  }

  /** Fills `out` (length numCandidates) with distinct items for this user; consumes exactly one draw of `rng`. */
  generate(user: number, rng: Rng, out: Int32Array): void {
    seedLocalStream(rng.nextUint32());
    const n = out.length;
    const c = this.catalog;
    if (++this.stampValue >= 0x7fffffff) {
      this.stamp.fill(0);
      this.stampValue = 1;
    }
    const stampValue = this.stampValue;
    const nRecent = this.recentCount[user]!;
    const recentBase = user * this.options.recentAuthorsPerUser;
    // Fields read once into locals for the hot loop.
    const recent = this.recent;
    const stamp = this.stamp;
    const popular = this.popularAuthors;
    const offsets = c.authorItemOffsets;
    const authorItems = c.authorItemIds;
    const numItems = c.numItems;
    const randomShare = this.shares[2];
    const recentLimit = this.shares[2] + this.shares[1];
    let filled = 0;
    let attempts = 0;
    const maxAttempts = n * 20;
    while (filled < n) {
      let item: number;
      const u = localUniform();
      if (attempts++ > maxAttempts) {
        item = localInt(numItems); // tiny catalogs: fall back to uniform until full
      } else if (u < randomShare) {
        item = localInt(numItems);
      } else {
        let author: number;
        if (u < recentLimit && nRecent > 0) author = recent[recentBase + localInt(nRecent)]!;
        else author = popular.sampleAt(localUniform());
        const lo = offsets[author]!;
        const hi = offsets[author + 1]!;
        if (hi <= lo) continue;
        item = authorItems[lo + localInt(hi - lo)]!;
      }
      if (stamp[item] === stampValue) continue;
      stamp[item] = stampValue;
      out[filled++] = item;
    }
  }
}
