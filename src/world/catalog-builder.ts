/**
 * Builds the world's {@link Catalog}: users, authors and items as typed
 * struct-of-arrays, either from the real KuaiRand tables or synthetic with
 * the same marginals at any scale (up to KuaiRand-27K: 27,285 users and
 * millions of items).
 *
 * Sources (chosen per side):
 *   users  — real rows of `user_features_*` when `userTable` is given and
 *            `numUsers` is not; otherwise `numUsers` synthetic users whose
 *            categorical fields are drawn independently from the table's
 *            marginals (or built-in KuaiRand-Pure marginals without a table).
 *   items  — real videos of `video_features_basic_*` (their authors, primary
 *            tags and durations; missing durations filled by drawing from the
 *            real durations) when `videoTable` is given and `numItems` is not;
 *            otherwise `numItems` synthetic items with durations from the real
 *            distribution and Zipf-distributed tags.
 *
 * Authors get a power-law exposure popularity `(rank + 1)^-popularityExponent`
 * (normalized to sum 1). Real authors are ranked by their number of videos
 * (ties broken at random); synthetic authors by a random permutation, and
 * synthetic items are assigned to authors in proportion to popularity (each
 * author gets at least one item). A `liveStreamerShare` of authors are live
 * streamers. Every random choice flows from `rng`.
 */
import type { Rng } from '../numeric/rng.js';
import type { Catalog } from './catalog.js';
import type { UserFeatureTable, VideoFeatureTable, CategoricalColumn } from '../data/kuairand-schema.js';
import { ACTIVITY_OF_DEGREE, DEFAULT_ACTIVITY } from '../data/kuairand-schema.js';

export interface CatalogOptions {
  /** Real `user_features_*` table (see loadUserFeatures). Its rows are the users unless `numUsers` is set. */
  userTable?: UserFeatureTable;
  /** Real `video_features_basic_*` table (see loadVideoFeatures). Its rows are the items unless `numItems` is set. */
  videoTable?: VideoFeatureTable;
  /** Number of synthetic users. Default: the user table's rows, or 27,285 (KuaiRand) without one. */
  numUsers?: number;
  /** Number of synthetic items. Default: the video table's rows, or 7,583 (KuaiRand-Pure) without one. */
  numItems?: number;
  /** Number of synthetic authors. Default: round(numItems * 6510 / 7583), KuaiRand-Pure's authors per video, at least 1. */
  numAuthors?: number;
  /** Number of synthetic tags (Zipf-distributed). Default 111 (distinct tag lists in KuaiRand-Pure). */
  numTags?: number;
  /** Exponent of the power-law author popularity. Default 1.0. */
  popularityExponent?: number;
  /** Exponent of the Zipf tag distribution of synthetic items. Default 1.0. */
  tagExponent?: number;
  /** Share of authors who are live streamers. Default 0.226 (share of live streamers among KuaiRand-Pure users). */
  liveStreamerShare?: number;
}

/** Thrown for impossible catalog options; says which option to fix. */
export class CatalogOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogOptionsError';
  }
}

/** KuaiRand-Pure video durations (ms) at percentiles 0, 5, ..., 100; synthetic durations interpolate between them. */
const PURE_DURATION_PERCENTILES_MS = [
  5000, 10725, 14592, 18800, 24486, 31949, 40766, 51833, 62733, 71144, 81170, 89421, 100152, 114416, 129817, 148228, 170300, 197373, 237829, 303456, 1177720,
];

/** Built-in KuaiRand-Pure user marginals (value -> count) for synthetic users without a user table. */
const PURE_USER_MARGINALS: Record<string, Record<string, number>> = {
  user_active_degree: {
    full_active: 17959,
    high_active: 6158,
    middle_active: 2133,
    '2_14_day_new': 635,
    low_active: 300,
    single_low_active: 68,
    '30day_retention': 15,
    day_new: 11,
    UNKNOWN: 6,
  },
  is_live_streamer: { '1': 6158, '': 21127 },
  is_video_author: { '1': 22276, '0': 5009 },
  follow_user_num_range: {
    '500+': 5950,
    '(10,50]': 4904,
    '(250,500]': 4377,
    '(50,100]': 4004,
    '(150,250]': 3490,
    '(100,150]': 2633,
    '(0,10]': 1739,
    '0': 188,
  },
  fans_user_num_range: {
    '[10,100)': 10467,
    '[100,1k)': 8664,
    '[1,10)': 5326,
    '[1k,5k)': 1460,
    '0': 1157,
    '[5k,1w)': 112,
    '[1w,10w)': 85,
    '[10w,100w)': 12,
    '[100w,1000w)': 2,
  },
  friend_user_num_range: { '[5,30)': 7595, '[1,5)': 5270, '0': 3375, '250+': 3172, '[30,60)': 2852, '[60,120)': 2749, '[120,250)': 2272 },
  register_days_range: {
    '730+': 20063,
    '366-730': 3475,
    '181-365': 1778,
    '91-180': 1048,
    '61-90': 394,
    '31-60': 381,
    '15-30': 145,
    '8-14': 1,
  },
};

/** Built-in KuaiRand-Pure video marginals for synthetic items without a video table. */
const PURE_VIDEO_MARGINALS: Record<string, Record<string, number>> = {
  video_type: { NORMAL: 7506, AD: 76, UNKNOWN: 1 },
  upload_type: {
    LongImport: 2925,
    Web: 2416,
    ShortImport: 917,
    Kmovie: 879,
    LongPicture: 143,
    UNKNOWN: 80,
    PictureSet: 73,
    LongCamera: 64,
    ShortCamera: 43,
    ShareFromOtherApp: 29,
    FollowShoot: 10,
    AiCutVideo: 2,
    PhotoCopy: 1,
    LipsSync: 1,
  },
  music_type: { '9.0': 6665, '4.0': 657, '': 203, '8.0': 41, '7.0': 14, '11.0': 3 },
};

/** Duration buckets (seconds) for the `duration_bucket` item feature: code = 1 + bucket index. */
const DURATION_BUCKETS_S = [7, 18, 30, 60, 120, 240, 600];

function durationBucket(ms: number): number {
  const s = ms / 1000;
  let b = 0;
  while (b < DURATION_BUCKETS_S.length && s > DURATION_BUCKETS_S[b]!) b++;
  return b + 1;
}

/** Cumulative distribution over `weights` for binary-search sampling. */
function cumulative(weights: ArrayLike<number>): Float64Array {
  const cdf = new Float64Array(weights.length);
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    total += weights[i]!;
    cdf[i] = total;
  }
  for (let i = 0; i < cdf.length; i++) cdf[i]! /= total;
  cdf[cdf.length - 1] = 1;
  return cdf;
}

function sampleCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Empirical marginal of a categorical column as a sampler of codes (0 = missing kept as its own outcome). */
function columnMarginal(col: CategoricalColumn): { cdf: Float64Array; codes: Int32Array } {
  const counts = new Float64Array(col.vocabulary.length + 1);
  for (let i = 0; i < col.codes.length; i++) counts[col.codes[i]!]!++;
  return { cdf: cumulative(counts), codes: Int32Array.from({ length: counts.length }, (_, c) => c) };
}

/** Built-in marginal (value -> count) as a sampler; vocabulary sorted like the loader's; '' = missing (code 0). */
function builtinMarginal(counts: Record<string, number>): { vocabulary: string[]; cdf: Float64Array; codes: Int32Array } {
  const vocabulary = Object.keys(counts)
    .filter((v) => v !== '')
    .sort();
  const entries = Object.entries(counts);
  const codes = Int32Array.from(entries.map(([v]) => (v === '' ? 0 : vocabulary.indexOf(v) + 1)));
  return { vocabulary, cdf: cumulative(entries.map(([, c]) => c)), codes };
}

function activityOf(degree: string | undefined): number {
  return degree === undefined ? DEFAULT_ACTIVITY : (ACTIVITY_OF_DEGREE[degree] ?? DEFAULT_ACTIVITY);
}

interface UserSide {
  numUsers: number;
  userFeatureFields: string[];
  userFeatures: Int32Array;
  userActivity: Float32Array;
  userRawId: Int32Array;
}

function buildUsers(options: CatalogOptions, rng: Rng): UserSide {
  const table = options.userTable;
  if (table && options.numUsers === undefined) {
    const fields = table.categorical.map((c) => c.name);
    const nf = fields.length;
    const features = new Int32Array(table.count * nf);
    for (let f = 0; f < nf; f++) {
      const codes = table.categorical[f]!.codes;
      for (let u = 0; u < table.count; u++) features[u * nf + f] = codes[u]!;
    }
    const degree = table.categorical.find((c) => c.name === 'user_active_degree');
    const activity = new Float32Array(table.count);
    for (let u = 0; u < table.count; u++) {
      const code = degree ? degree.codes[u]! : 0;
      activity[u] = activityOf(code > 0 ? degree!.vocabulary[code - 1] : undefined);
    }
    return { numUsers: table.count, userFeatureFields: fields, userFeatures: features, userActivity: activity, userRawId: table.userId.slice() };
  }

  const numUsers = options.numUsers ?? table?.count ?? 27285;
  if (!Number.isInteger(numUsers) || numUsers < 1) throw new CatalogOptionsError(`numUsers must be a positive integer, got ${numUsers}`);
  // One sampler per field: from the table's marginals, or the built-in ones.
  const samplers: { name: string; vocabulary: string[]; cdf: Float64Array; codes: Int32Array }[] = table
    ? table.categorical.map((c) => ({ name: c.name, vocabulary: c.vocabulary, ...columnMarginal(c) }))
    : Object.entries(PURE_USER_MARGINALS).map(([name, counts]) => ({ name, ...builtinMarginal(counts) }));
  const nf = samplers.length;
  const features = new Int32Array(numUsers * nf);
  const activity = new Float32Array(numUsers);
  const degreeField = samplers.findIndex((s) => s.name === 'user_active_degree');
  const userRng = rng.fork('catalog-users');
  for (let u = 0; u < numUsers; u++) {
    for (let f = 0; f < nf; f++) {
      const s = samplers[f]!;
      features[u * nf + f] = s.codes[sampleCdf(s.cdf, userRng.uniform())]!;
    }
    const code = degreeField >= 0 ? features[u * nf + degreeField]! : 0;
    activity[u] = activityOf(code > 0 ? samplers[degreeField]!.vocabulary[code - 1] : undefined);
  }
  const rawId = new Int32Array(numUsers);
  for (let u = 0; u < numUsers; u++) rawId[u] = u;
  return { numUsers, userFeatureFields: samplers.map((s) => s.name), userFeatures: features, userActivity: activity, userRawId: rawId };
}

interface ItemSide {
  numItems: number;
  numAuthors: number;
  numTags: number;
  itemAuthor: Int32Array;
  itemTag: Int32Array;
  itemDurationMs: Float32Array;
  itemFeatureFields: string[];
  itemFeatures: Int32Array;
  itemRawId: Int32Array;
  authorRawId: Int32Array;
  /** Popularity rank of each author (0 = most popular). */
  authorRank: Int32Array;
}

/** A ranking of n authors by descending `size` with random tie-breaking (or a random permutation without sizes). */
function rankAuthors(n: number, rng: Rng, size?: Int32Array): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  rng.shuffle(order);
  if (size) {
    // Stable sort of a shuffled order = random tie-breaking.
    const sorted = Array.from(order).sort((x, y) => size[y]! - size[x]!);
    order.set(sorted);
  }
  const rank = new Int32Array(n);
  for (let r = 0; r < n; r++) rank[order[r]!] = r;
  return rank;
}

function buildRealItems(table: VideoFeatureTable, rng: Rng): ItemSide {
  const n = table.count;
  // Dense author ids in order of raw author_id.
  const rawAuthors = Array.from(new Set(table.authorId)).sort((a, b) => a - b);
  const authorOf = new Map<number, number>();
  rawAuthors.forEach((raw, dense) => authorOf.set(raw, dense));
  const itemAuthor = new Int32Array(n);
  const authorSize = new Int32Array(rawAuthors.length);
  for (let i = 0; i < n; i++) {
    const a = authorOf.get(table.authorId[i]!)!;
    itemAuthor[i] = a;
    authorSize[a]!++;
  }
  // Dense tags in order of raw tag id; a missing tag gets its own last id.
  const rawTags = Array.from(new Set(Array.from(table.primaryTag).filter((t) => t >= 0))).sort((a, b) => a - b);
  const tagOf = new Map<number, number>();
  rawTags.forEach((raw, dense) => tagOf.set(raw, dense));
  const hasMissingTag = table.primaryTag.some((t) => t < 0);
  const numTags = rawTags.length + (hasMissingTag ? 1 : 0);
  const itemTag = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = table.primaryTag[i]!;
    itemTag[i] = t >= 0 ? tagOf.get(t)! : rawTags.length;
  }
  // Missing durations are drawn from the real (observed) durations.
  const observed: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(table.durationMs[i]!) && table.durationMs[i]! > 0) observed.push(table.durationMs[i]!);
  const itemRng = rng.fork('catalog-items');
  const itemDurationMs = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = table.durationMs[i]!;
    itemDurationMs[i] = Number.isFinite(d) && d > 0 ? d : observed.length ? observed[itemRng.int(observed.length)]! : sampleDuration(itemRng);
  }
  const catFields = ['video_type', 'upload_type', 'music_type'];
  const fields = [...catFields, 'tag', 'duration_bucket'];
  const nf = fields.length;
  const itemFeatures = new Int32Array(n * nf);
  const cols = catFields.map((name) => table.categorical.find((c) => c.name === name));
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < catFields.length; f++) itemFeatures[i * nf + f] = cols[f] ? cols[f]!.codes[i]! : 0;
    itemFeatures[i * nf + 3] = table.primaryTag[i]! >= 0 ? itemTag[i]! + 1 : 0;
    itemFeatures[i * nf + 4] = durationBucket(itemDurationMs[i]!);
  }
  return {
    numItems: n,
    numAuthors: rawAuthors.length,
    numTags,
    itemAuthor,
    itemTag,
    itemDurationMs,
    itemFeatureFields: fields,
    itemFeatures,
    itemRawId: table.videoId.slice(),
    authorRawId: Int32Array.from(rawAuthors),
    authorRank: rankAuthors(rawAuthors.length, rng.fork('catalog-author-rank'), authorSize),
  };
}

/** A duration (ms) from KuaiRand-Pure's distribution: piecewise-linear inverse CDF through its 5 % percentiles. */
function sampleDuration(rng: Rng): number {
  const x = rng.uniform() * 20;
  const k = Math.min(19, Math.floor(x));
  const lo = PURE_DURATION_PERCENTILES_MS[k]!;
  const hi = PURE_DURATION_PERCENTILES_MS[k + 1]!;
  return Math.round(lo + (hi - lo) * (x - k));
}

function buildSyntheticItems(options: CatalogOptions, popularityExponent: number, rng: Rng): ItemSide {
  const table = options.videoTable;
  const numItems = options.numItems ?? table?.count ?? 7583;
  if (!Number.isInteger(numItems) || numItems < 1) throw new CatalogOptionsError(`numItems must be a positive integer, got ${numItems}`);
  const numAuthors = options.numAuthors ?? Math.max(1, Math.round((numItems * 6510) / 7583));
  if (!Number.isInteger(numAuthors) || numAuthors < 1 || numAuthors > numItems) {
    throw new CatalogOptionsError(`numAuthors must be an integer in [1, numItems=${numItems}], got ${numAuthors}`);
  }
  const numTags = options.numTags ?? 111;
  if (!Number.isInteger(numTags) || numTags < 1) throw new CatalogOptionsError(`numTags must be a positive integer, got ${numTags}`);
  const tagExponent = options.tagExponent ?? 1.0;

  const authorRank = rankAuthors(numAuthors, rng.fork('catalog-author-rank'));
  const authorWeight = new Float64Array(numAuthors);
  for (let a = 0; a < numAuthors; a++) authorWeight[a] = Math.pow(authorRank[a]! + 1, -popularityExponent);
  const authorCdf = cumulative(authorWeight);
  // Tags: Zipf over a random permutation of tag ids.
  const tagPerm = new Int32Array(numTags);
  for (let t = 0; t < numTags; t++) tagPerm[t] = t;
  rng.fork('catalog-tag-perm').shuffle(tagPerm);
  const tagWeight = new Float64Array(numTags);
  for (let r = 0; r < numTags; r++) tagWeight[tagPerm[r]!] = Math.pow(r + 1, -tagExponent);
  const tagCdf = cumulative(tagWeight);

  // Durations and categorical fields from the table's empirical marginals when given.
  const observed: number[] = [];
  if (table) for (let i = 0; i < table.count; i++) if (Number.isFinite(table.durationMs[i]!) && table.durationMs[i]! > 0) observed.push(table.durationMs[i]!);
  const catFields = ['video_type', 'upload_type', 'music_type'];
  const samplers = catFields.map((name) => {
    const col = table?.categorical.find((c) => c.name === name);
    return col ? columnMarginal(col) : builtinMarginal(PURE_VIDEO_MARGINALS[name]!);
  });
  const fields = [...catFields, 'tag', 'duration_bucket'];
  const nf = fields.length;

  const itemRng = rng.fork('catalog-items');
  const itemAuthor = new Int32Array(numItems);
  const itemTag = new Int32Array(numItems);
  const itemDurationMs = new Float32Array(numItems);
  const itemFeatures = new Int32Array(numItems * nf);
  for (let i = 0; i < numItems; i++) {
    // The first numAuthors items give every author one item; the rest follow popularity.
    itemAuthor[i] = i < numAuthors ? i : sampleCdf(authorCdf, itemRng.uniform());
    const tag = sampleCdf(tagCdf, itemRng.uniform());
    itemTag[i] = tag;
    const d = observed.length ? observed[itemRng.int(observed.length)]! : sampleDuration(itemRng);
    itemDurationMs[i] = d;
    for (let f = 0; f < catFields.length; f++) {
      const s = samplers[f]!;
      itemFeatures[i * nf + f] = s.codes[sampleCdf(s.cdf, itemRng.uniform())]!;
    }
    itemFeatures[i * nf + 3] = tag + 1;
    itemFeatures[i * nf + 4] = durationBucket(d);
  }
  const itemRawId = new Int32Array(numItems);
  for (let i = 0; i < numItems; i++) itemRawId[i] = i;
  const authorRawId = new Int32Array(numAuthors);
  for (let a = 0; a < numAuthors; a++) authorRawId[a] = a;
  return { numItems, numAuthors, numTags, itemAuthor, itemTag, itemDurationMs, itemFeatureFields: fields, itemFeatures, itemRawId, authorRawId, authorRank };
}

/** CSR index author -> items (items in increasing id order within an author). */
export function buildAuthorIndex(itemAuthor: Int32Array, numAuthors: number): { offsets: Int32Array; ids: Int32Array } {
  const offsets = new Int32Array(numAuthors + 1);
  for (let i = 0; i < itemAuthor.length; i++) offsets[itemAuthor[i]! + 1]!++;
  for (let a = 0; a < numAuthors; a++) offsets[a + 1]! += offsets[a]!;
  const cursor = offsets.slice(0, numAuthors);
  const ids = new Int32Array(itemAuthor.length);
  for (let i = 0; i < itemAuthor.length; i++) ids[cursor[itemAuthor[i]!]!++] = i;
  return { offsets, ids };
}

/**
 * Builds a catalog (see the module comment for the sources). Deterministic in
 * `rng`'s seed. Memory: O(numItems) typed arrays only (about 40 bytes per item).
 */
export function buildCatalog(options: CatalogOptions, rng: Rng): Catalog {
  const popularityExponent = options.popularityExponent ?? 1.0;
  if (!(popularityExponent >= 0)) throw new CatalogOptionsError(`popularityExponent must be >= 0, got ${popularityExponent}`);
  const liveShare = options.liveStreamerShare ?? 0.226;
  if (!(liveShare >= 0 && liveShare <= 1)) throw new CatalogOptionsError(`liveStreamerShare must be in [0, 1], got ${liveShare}`);

  const users = buildUsers(options, rng);
  const items =
    options.videoTable && options.numItems === undefined ? buildRealItems(options.videoTable, rng) : buildSyntheticItems(options, popularityExponent, rng);

  const nA = items.numAuthors;
  const authorPopularity = new Float32Array(nA);
  let total = 0;
  for (let a = 0; a < nA; a++) total += Math.pow(items.authorRank[a]! + 1, -popularityExponent);
  for (let a = 0; a < nA; a++) authorPopularity[a] = Math.pow(items.authorRank[a]! + 1, -popularityExponent) / total;
  const liveRng = rng.fork('catalog-live');
  const authorIsLive = new Uint8Array(nA);
  for (let a = 0; a < nA; a++) authorIsLive[a] = liveRng.uniform() < liveShare ? 1 : 0;
  const { offsets, ids } = buildAuthorIndex(items.itemAuthor, nA);

  return {
    numUsers: users.numUsers,
    numAuthors: nA,
    numItems: items.numItems,
    numTags: items.numTags,
    userFeatureFields: users.userFeatureFields,
    userFeatures: users.userFeatures,
    userActivity: users.userActivity,
    userRawId: users.userRawId,
    itemAuthor: items.itemAuthor,
    itemTag: items.itemTag,
    itemDurationMs: items.itemDurationMs,
    itemFeatureFields: items.itemFeatureFields,
    itemFeatures: items.itemFeatures,
    itemRawId: items.itemRawId,
    authorIsLive,
    authorPopularity,
    authorItemOffsets: offsets,
    authorItemIds: ids,
    authorRawId: items.authorRawId,
  };
}
