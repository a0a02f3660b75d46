/**
 * Types of the Sparse Cross-Request Interaction MDP (paper §2, eq. 3).
 *
 * The chain is indexed by the t-th interaction of one user-author pair, not
 * by request. Its state is `s_ua^t = {f_u, f_a, f_ua^t}`: the user's id and
 * categorical features, the item's and author's ids and the item's
 * categorical features, and the pair's count vector `f_ua^t`
 * (PAIR_COUNT_KINDS of src/data/interaction-kinds.ts). The action is the
 * exposed item of author a; the reward has one component per LIV tower
 * (TOWERS); the next state s' is built by Adjacent State Approximation and
 * differs from s only in `f_ua`.
 *
 * Samples travel in struct-of-arrays batches ({@link SampleBatch}) so the
 * joiner, ASA, the replay buffer and the agents move numbers without
 * allocating per sample.
 */
import { PAIR_COUNT_DIM, PC_GIFT, PC_WATCH_TIME, PC_CLICK, PC_FOLLOW, TOWER_COUNT } from '../data/interaction-kinds.js';

/**
 * Kinds of feedback an exposure can receive. Index i of this list is the
 * index of the pair-count component the kind feeds (PAIR_COUNT_KINDS), so an
 * outcome vector and a count vector share one layout. `watchTime` carries
 * seconds watched; `gift` carries the gift amount; the others are flags
 * (value > 0 = it happened).
 */
export const FEEDBACK_KINDS = ['click', 'longView', 'like', 'follow', 'comment', 'gift', 'watchTime'] as const;
export type FeedbackKind = (typeof FEEDBACK_KINDS)[number];
/** Length of an outcome vector (= PAIR_COUNT_DIM). */
export const OUTCOME_DIM = PAIR_COUNT_DIM;

// A Map, not an object literal: inherited names such as "toString" must not look like kinds.
const KIND_INDEX = new Map<string, number>(FEEDBACK_KINDS.map((k, i) => [k, i]));

/** Index of a feedback kind in an outcome vector, or -1 when the name is not a kind. */
export function feedbackKindIndex(kind: string): number {
  return KIND_INDEX.get(kind) ?? -1;
}

/**
 * The pair state `s_ua^t` of one interaction, as a plain object (for single
 * records; batches use {@link SampleBatch}).
 */
export interface PairState {
  /** Dense user id (f_u: the id part). */
  user: number;
  /** Categorical user features (f_u), codes as in the catalog (0 = missing). */
  userFeatures: Int32Array;
  /** Dense item id (the action's item; f_a: the item part). */
  item: number;
  /** Dense author id of the item (f_a: the author part). */
  author: number;
  /** Categorical item features (f_a), codes as in the catalog (0 = missing). */
  itemFeatures: Int32Array;
  /** f_ua^t: the pair's counts before this interaction (PAIR_COUNT_DIM). */
  pairCounts: Float32Array;
}

/** How the per-tower rewards are computed from an outcome. */
export interface RewardOptions {
  /**
   * Gift reward: `flag` gives 1 when a gift was sent (default, paper's 0/1
   * labels); `log1pAmount` gives log1p(amount) (docs/design.md §4.5 option).
   */
  giftReward: 'flag' | 'log1pAmount';
}

export const DEFAULT_REWARD_OPTIONS: Readonly<RewardOptions> = { giftReward: 'flag' };

/**
 * Writes the four tower rewards (order of TOWERS: click, watchTime, follow,
 * gift) of one outcome vector into `out[outOffset..outOffset+4)`.
 * click 0/1, watchTime log1p(seconds), follow 0/1, gift 0/1 or log1p(amount).
 */
export function towerRewards(
  outcome: Float32Array,
  outcomeOffset: number,
  out: Float32Array,
  outOffset: number,
  options: Readonly<RewardOptions> = DEFAULT_REWARD_OPTIONS,
): void {
  const click = outcome[outcomeOffset + PC_CLICK]!;
  const watch = outcome[outcomeOffset + PC_WATCH_TIME]!;
  const follow = outcome[outcomeOffset + PC_FOLLOW]!;
  const gift = outcome[outcomeOffset + PC_GIFT]!;
  out[outOffset] = click > 0 ? 1 : 0;
  out[outOffset + 1] = watch > 0 ? Math.log1p(watch) : 0;
  out[outOffset + 2] = follow > 0 ? 1 : 0;
  out[outOffset + 3] = gift > 0 ? (options.giftReward === 'log1pAmount' ? Math.log1p(gift) : 1) : 0;
}

/**
 * A batch of SCRI-MDP training samples `(s, a, r, s')`, struct-of-arrays.
 * Row i of every array belongs to sample i; feature rows have fixed strides.
 * s and s' share f_u and f_a; they differ only in the pair counts.
 */
export interface SampleBatch {
  /** Rows allocated. */
  readonly capacity: number;
  /** Rows in use (0..capacity). */
  count: number;
  /** Categorical user features per sample (stride of `userFeatures`). */
  readonly userFeatureDim: number;
  /** Categorical item features per sample (stride of `itemFeatures`). */
  readonly itemFeatureDim: number;
  /** Dense user id. */
  user: Int32Array;
  /** Dense item id (the action). */
  item: Int32Array;
  /** Dense author id of the item. */
  author: Int32Array;
  /** capacity x userFeatureDim. */
  userFeatures: Int32Array;
  /** capacity x itemFeatureDim. */
  itemFeatures: Int32Array;
  /** capacity x PAIR_COUNT_DIM: f_ua^t (state s). */
  pairCounts: Float32Array;
  /** capacity x PAIR_COUNT_DIM: f_ua^{t+1} by ASA (state s'). */
  nextPairCounts: Float32Array;
  /** capacity x TOWER_COUNT: rewards, in TOWERS order. */
  rewards: Float32Array;
  /** 1 when the interaction had a gift (the assistance network's label). */
  giftLabel: Uint8Array;
  /** Time of the impression in ms. */
  timeMs: Float64Array;
}

/** Allocates an empty {@link SampleBatch}. */
export function allocSampleBatch(capacity: number, userFeatureDim = 0, itemFeatureDim = 0): SampleBatch {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`sample batch capacity must be a positive integer, got ${capacity}`);
  if (!Number.isInteger(userFeatureDim) || userFeatureDim < 0) throw new RangeError(`userFeatureDim must be an integer >= 0, got ${userFeatureDim}`);
  if (!Number.isInteger(itemFeatureDim) || itemFeatureDim < 0) throw new RangeError(`itemFeatureDim must be an integer >= 0, got ${itemFeatureDim}`);
  return {
    capacity,
    count: 0,
    userFeatureDim,
    itemFeatureDim,
    user: new Int32Array(capacity),
    item: new Int32Array(capacity),
    author: new Int32Array(capacity),
    userFeatures: new Int32Array(capacity * userFeatureDim),
    itemFeatures: new Int32Array(capacity * itemFeatureDim),
    pairCounts: new Float32Array(capacity * PAIR_COUNT_DIM),
    nextPairCounts: new Float32Array(capacity * PAIR_COUNT_DIM),
    rewards: new Float32Array(capacity * TOWER_COUNT),
    giftLabel: new Uint8Array(capacity),
    timeMs: new Float64Array(capacity),
  };
}

/** Copies sample `from` of `src` into row `to` of `dst` (same feature dims required). */
export function copySample(src: SampleBatch, from: number, dst: SampleBatch, to: number): void {
  if (src.userFeatureDim !== dst.userFeatureDim || src.itemFeatureDim !== dst.itemFeatureDim) {
    throw new RangeError(`copySample: feature dims differ (${src.userFeatureDim}/${src.itemFeatureDim} vs ${dst.userFeatureDim}/${dst.itemFeatureDim})`);
  }
  dst.user[to] = src.user[from]!;
  dst.item[to] = src.item[from]!;
  dst.author[to] = src.author[from]!;
  const uf = src.userFeatureDim;
  if (uf > 0) dst.userFeatures.set(src.userFeatures.subarray(from * uf, from * uf + uf), to * uf);
  const itf = src.itemFeatureDim;
  if (itf > 0) dst.itemFeatures.set(src.itemFeatures.subarray(from * itf, from * itf + itf), to * itf);
  const p = PAIR_COUNT_DIM;
  for (let k = 0; k < p; k++) {
    dst.pairCounts[to * p + k] = src.pairCounts[from * p + k]!;
    dst.nextPairCounts[to * p + k] = src.nextPairCounts[from * p + k]!;
  }
  const t = TOWER_COUNT;
  for (let k = 0; k < t; k++) dst.rewards[to * t + k] = src.rewards[from * t + k]!;
  dst.giftLabel[to] = src.giftLabel[from]!;
  dst.timeMs[to] = src.timeMs[from]!;
}
