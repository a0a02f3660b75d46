/**
 * Adjacent State Approximation (ASA, paper §3.1 eq. 4).
 *
 * The next state of a pair is not waited for (the pair's next interaction can
 * be days away) nor stored: it is derived from the current counts and the
 * current outcome. `f_ua^{t+1} = f_ua^t + 1` on every count whose signal at t
 * is positive, unchanged otherwise, with two kind-specific rules:
 * - watchTimeSec adds the seconds watched (it is a total, not a count);
 * - follow is a 0/1 flag: a positive follow sets it to 1 (never above 1).
 * Every tower shares this one s' (docs/design.md §4.3).
 *
 * `AsaSampleBuilder` turns joined interactions into `(s, a, r, s')` rows of a
 * {@link SampleBatch}.
 */
import { PAIR_COUNT_DIM, PC_FOLLOW, PC_GIFT, PC_WATCH_TIME, TOWER_COUNT } from '../data/interaction-kinds.js';
import { DEFAULT_REWARD_OPTIONS, towerRewards, type RewardOptions, type SampleBatch } from './scri-mdp.js';
import type { JoinedInteraction } from './label-joiner.js';

/**
 * Writes f_ua^{t+1} into `next[nextOffset..+PAIR_COUNT_DIM)` from the counts
 * `counts[countsOffset..]` and the outcome vector `outcome[outcomeOffset..]`
 * (FEEDBACK_KINDS layout). `next` may alias `counts` (in-place update).
 */
export function adjacentState(
  counts: Float32Array,
  countsOffset: number,
  outcome: Float32Array,
  outcomeOffset: number,
  next: Float32Array,
  nextOffset: number,
): void {
  for (let k = 0; k < PAIR_COUNT_DIM; k++) {
    const c = counts[countsOffset + k]!;
    const o = outcome[outcomeOffset + k]!;
    let v: number;
    if (!(o > 0)) v = c;
    else if (k === PC_WATCH_TIME) v = c + o;
    else if (k === PC_FOLLOW) v = 1;
    else v = c + 1;
    next[nextOffset + k] = v;
  }
}

/**
 * The ASA increment of one outcome as an additive delta, so several
 * interactions of one pair can be merged before they reach a store:
 * delta_k = 1 for a positive count kind, the seconds for watchTimeSec, 1 for
 * a follow (applied as "set the flag"), 0 otherwise.
 * `applyAsaDelta(counts, asaDelta(o))` equals `adjacentState(counts, o)`.
 */
export function asaDelta(outcome: Float32Array, outcomeOffset: number, delta: Float32Array, deltaOffset: number): void {
  for (let k = 0; k < PAIR_COUNT_DIM; k++) {
    const o = outcome[outcomeOffset + k]!;
    delta[deltaOffset + k] = o > 0 ? (k === PC_WATCH_TIME ? o : 1) : 0;
  }
}

/** Adds an ASA delta to counts in place (the follow flag is set, never summed past 1). */
export function applyAsaDelta(counts: Float32Array, countsOffset: number, delta: Float32Array, deltaOffset: number): void {
  for (let k = 0; k < PAIR_COUNT_DIM; k++) {
    const d = delta[deltaOffset + k]!;
    if (!(d > 0)) continue;
    if (k === PC_FOLLOW) counts[countsOffset + k] = 1;
    else counts[countsOffset + k] = counts[countsOffset + k]! + d;
  }
}

/** Options of {@link AsaSampleBuilder}. */
export interface AsaSampleBuilderOptions extends RewardOptions {}

/**
 * Builds training samples from joined interactions: state = the impression's
 * features and counts, action = its item, rewards per tower, s' by ASA, and
 * the assistance label (gift at this interaction).
 */
export class AsaSampleBuilder {
  private readonly options: RewardOptions;

  /** @param options reward options; defaults: giftReward 'flag'. */
  constructor(options: Partial<AsaSampleBuilderOptions> = {}) {
    this.options = { ...DEFAULT_REWARD_OPTIONS, ...options };
  }

  /**
   * Writes the sample of `rec` into row `row` of `batch` (does not change
   * `batch.count`). Features longer than the batch's dims are truncated,
   * shorter ones padded with 0 (missing).
   */
  write(rec: JoinedInteraction, batch: SampleBatch, row: number): void {
    if (row < 0 || row >= batch.capacity) throw new RangeError(`row ${row} outside the batch (capacity ${batch.capacity})`);
    batch.user[row] = rec.user;
    batch.item[row] = rec.item;
    batch.author[row] = rec.author;
    batch.timeMs[row] = rec.timeMs;
    copyFeatures(rec.userFeatures, batch.userFeatures, row * batch.userFeatureDim, batch.userFeatureDim);
    copyFeatures(rec.itemFeatures, batch.itemFeatures, row * batch.itemFeatureDim, batch.itemFeatureDim);
    const p = row * PAIR_COUNT_DIM;
    batch.pairCounts.set(rec.pairCounts, p);
    adjacentState(rec.pairCounts, 0, rec.outcome, 0, batch.nextPairCounts, p);
    towerRewards(rec.outcome, 0, batch.rewards, row * TOWER_COUNT, this.options);
    batch.giftLabel[row] = rec.outcome[PC_GIFT]! > 0 ? 1 : 0;
  }

  /** Appends the sample of `rec` to `batch` (returns false, writing nothing, when the batch is full). */
  append(rec: JoinedInteraction, batch: SampleBatch): boolean {
    if (batch.count >= batch.capacity) return false;
    this.write(rec, batch, batch.count);
    batch.count++;
    return true;
  }
}

function copyFeatures(src: Int32Array | undefined, dst: Int32Array, offset: number, dim: number): void {
  if (dim === 0) return;
  const n = src ? Math.min(src.length, dim) : 0;
  for (let i = 0; i < n; i++) dst[offset + i] = src![i]!;
  for (let i = n; i < dim; i++) dst[offset + i] = 0;
}
