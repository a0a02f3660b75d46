/**
 * The learned user simulator (the paper's offline environment, §4.1.1): a
 * multi-behaviour response model fitted on logs, answering exposures as a
 * {@link ResponseModel}.
 *
 * Inputs, each an embedding of a hashed id (one table, field-salted rows):
 * user id, item id, author id, primary tag, duration bucket, the user's
 * categorical profile (sum-pooled), the item's categorical features
 * (sum-pooled), each of the 7 pair counts f_ua bucketized (log2 buckets, one
 * slot per kind, capped at the highest bucket the training rows fill:
 * SimulatorCalibration.pairBucketCap) and the context (slate position, the
 * exposure's log source, and, in old files, the author and tag repeats;
 * sum-pooled), plus the elementwise products user (.) item and user (.)
 * author of the cross factors. The concatenation goes through one shared MLP trunk with 11
 * linear outputs; the session's repeats add click-logit offsets. Why each
 * input is what it is: {@link LearnedSimulatorShape} and docs/design.md §10.2.
 * The trunk's outputs:
 *
 *   0 click                     (all exposures)
 *   1 long view | click         (clicked, duration > 7 s; shorter clicks are long views by KuaiRand's rule)
 *   2 like | click, 3 follow | click & not yet following, 4 comment | click,
 *   5 forward | click, 6 hate (all), 7 gift | click & live-streamer author
 *   8, 9, 10: mean of log1p(play seconds) for a skim, a click without long
 *             view, a long view (Gaussian with a per-class std fitted on the
 *             training residuals).
 *
 * Sampling keeps KuaiRand's definitions: the outcome class (skim / click /
 * long view) is drawn first, then a play time inside the class's play-time
 * interval (so `click` and `long_view` always equal the play-time rules
 * applied to `playTimeMs`); like/follow/comment/forward/gift only on a click,
 * follow only when not yet following, gift only for live authors, amount
 * log-normal with the training gifts' moments. Every exposure consumes the
 * same fixed draws (common random numbers across policies) from a local
 * stream seeded by one draw of the caller's Rng per batch.
 */
import { readFileSync } from 'node:fs';
import { PAIR_COUNT_DIM as PAIR_COUNT_DIM_, PC_FOLLOW as PC_FOLLOW_ } from '../data/interaction-kinds.js';
import { EmbeddingTable, Mlp, ParamsFormatError, Rng, deserializeParams, readParamsMeta, saveParams, Param } from '../numeric/index.js';
import { gemmAt } from '../numeric/gemm.js';
import { addRowsAt, reluRange } from '../numeric/kernels.js';
import { localNormal, localUniform, seedLocalStream } from '../numeric/local-stream.js';
import type { Catalog } from '../world/catalog.js';
import type { ExposureBatch, ResponseBatch, ResponseModel } from '../world/response.js';
import { SelectionModel } from './selection-model.js';

// Imported constants copied to module locals: hot loops read them as plain constants.
const PAIR_COUNT_DIM = PAIR_COUNT_DIM_;
const PC_FOLLOW = PC_FOLLOW_;

/** KuaiRand's valid-play (is_click) threshold, ms. */
export const CLICK_THRESHOLD_MS = 7000;
/** KuaiRand's long_view threshold, ms. */
export const LONG_VIEW_THRESHOLD_MS = 18000;

export const HEAD_CLICK = 0;
export const HEAD_LONG_VIEW = 1;
export const HEAD_LIKE = 2;
export const HEAD_FOLLOW = 3;
export const HEAD_COMMENT = 4;
export const HEAD_FORWARD = 5;
export const HEAD_HATE = 6;
export const HEAD_GIFT = 7;
export const HEAD_PLAY_SKIM = 8;
export const HEAD_PLAY_CLICK = 9;
export const HEAD_PLAY_LONG = 10;
export const OUTPUT_DIM = 11;
export const BINARY_HEADS = ['click', 'longView', 'like', 'follow', 'comment', 'forward', 'hate', 'gift'] as const;

/** Shape of the network (saved with the parameters). */
export interface LearnedSimulatorShape {
  /** Embedding width per input slot. Default 8. */
  embeddingDim: number;
  /** Hash buckets of the shared embedding table. Default 2^18. */
  embeddingRows: number;
  /** Hidden widths of the shared trunk. Default [64, 32]. */
  hidden: number[];
  /**
   * Which embedding rows the user (.) item and user (.) author crosses
   * multiply. `separate` (default): rows of their own, as a factorization
   * machine's latent factors. `shared`: the id rows of the user, item and
   * author slots (files fitted before this option).
   *
   * Why separate: with shared rows, the id rows' gradient is dominated by
   * their direct (main-effect) slots, Adam's per-row scale follows it, and
   * the product of two 0.05-scale rows never grows: the fitted model learned
   * each item's standard-log click rate as a main effect (0.80 for the items
   * a simulator-greedy policy picks, whose random-log rate is 0.37) and no
   * user-item affinity at all (measured, quick preset; docs/design.md §10).
   */
  crossRows: 'separate' | 'shared';
  /**
   * Buckets of the session's author and tag repeat counts: `log2` (default:
   * 0, 1, 2-3, 4-7, 8-15, ...; every bucket is seen in the logs, so fatigue
   * at 10 repeats is not an untrained row) or `linear` (0..15 each its own
   * bucket; files fitted before this option).
   */
  repeatBuckets: 'log2' | 'linear' | 'none';
  /**
   * Whether the exposure's log is an input (a context bucket): 1 for a
   * standard-log exposure, chosen by the logging policy, 0 for a random-log
   * exposure. Every simulated exposure is answered as 0. Default true
   * (files fitted before this option: false).
   *
   * Why: the standard log is missing not at random. The logging policy
   * shows items to users it knows will like them, from signals the
   * simulator cannot fully recover, so without this input the model
   * credits the selection to the item itself (an item's fitted click
   * follows its standard-log rate). With it, the selection's share of the
   * click rate is learned on the flag, and the user, item and cross
   * effects are those of an unselected exposure: what the random log
   * measures, and what a policy that does not share the logging policy's
   * knowledge gets.
   */
  logSourceInput: boolean;
  /**
   * How the session's author and tag repeat counts reach the click:
   * `offset` (default): as additive click-logit offsets per log2 repeat
   * bucket, one set fitted on standard-log exposures and one on random-log
   * exposures; a simulated exposure gets the random-log set. The trunk
   * then sees no repeat counts. `trunk`: as context embeddings into the
   * trunk (files fitted before this option).
   *
   * Why: in the standard log, repetition is chosen. The logging policy
   * repeats the authors a user likes, so repeated authors are clicked more
   * (0.59 at 16+ repeats vs 0.29 at the first exposure, quick preset). A
   * trunk reading the counts learned that repetition pays, and a policy
   * that repeats its favourite authors got 0.40 in the simulator where the
   * world gave 0.15-0.23. In the random log the item is not chosen, so its
   * offsets measure what a repeat does to an exposure nobody selected.
   */
  sessionContext: 'offset' | 'trunk';
  /**
   * Factors per user, author and tag of the selection model
   * (selection-model.ts): the logging policy's choices, learned from which
   * items it exposed. 0 = none (files fitted before this option). Default
   * 16. The click logit gets w_source * r(u, i), with r held fixed (no
   * click gradient reaches the selection model) and one weight per log
   * source; a simulated exposure gets the random log's weight.
   *
   * Why: the logging policy ranks by a relevance estimate the logs do not
   * contain, and a simulator that answers every exposure as an unselected
   * one (`logSourceInput`) credits a policy only for the affinity it learns
   * from clicks, which is almost none (its click logit correlated 0.03 with
   * the world's user-item affinity): the logging policy was under-predicted
   * by 48 %. Which items it chose is in every standard-log row, and the
   * random log measures, without selection, how much more an item the
   * logging policy would choose is clicked. A policy is credited for
   * showing such items by that measured amount.
   */
  selectionDim: number;
  /**
   * Which random-log exposures the repeat offsets of simulation (the random
   * log's set) are fitted on. `unselected` (default): only those whose
   * earlier exposures of the same author (tag) in the session were all
   * unselected, random ones; a random-log exposure after a chosen one gets
   * a third set of its own. The simulation set is then made non-increasing
   * in the repeat count where the logs identify it and carried flat past
   * that (fatigue-prior.ts). `all` (files fitted before this option): every
   * random-log exposure.
   *
   * Why: a random-log exposure of an author the logging policy showed
   * earlier in the session is an author the user likes. Fitted on those
   * too, the offsets learned that repetition pays: 0.03-0.16 logits below
   * a first exposure at 2-32 repeats, where the world's fatigue is 0.21-1.04,
   * and a RankingModel that repeats authors was over-predicted 1.68x from an
   * author's 5th exposure on (docs/design.md §10.6). A repeat that came by
   * chance measures fatigue without that selection.
   */
  fatigueFrom: 'unselected' | 'all';
}

export const DEFAULT_SIMULATOR_SHAPE: LearnedSimulatorShape = {
  embeddingDim: 8,
  embeddingRows: 1 << 18,
  hidden: [64, 32],
  crossRows: 'separate',
  repeatBuckets: 'log2',
  logSourceInput: true,
  sessionContext: 'offset',
  selectionDim: 16,
  fatigueFrom: 'unselected',
};

/** The shape options of files saved before an option existed (what they were fitted with). */
export const LEGACY_SIMULATOR_SHAPE: Pick<
  LearnedSimulatorShape,
  'crossRows' | 'repeatBuckets' | 'logSourceInput' | 'sessionContext' | 'selectionDim' | 'fatigueFrom'
> = {
  crossRows: 'shared',
  repeatBuckets: 'linear',
  logSourceInput: false,
  sessionContext: 'trunk',
  selectionDim: 0,
  fatigueFrom: 'all',
};
/** Click-logit offsets per (offset set, repeat kind: author or tag, bucket): see {@link LearnedSimulatorShape.sessionContext}. */
export const OFFSET_BUCKETS = 16;
/** Offset sets: the random log's (simulation's), the standard log's, and (`fatigueFrom: 'unselected'`) a random-log exposure after a chosen one. */
export const OFFSET_RANDOM = 0;
export const OFFSET_STANDARD = 1;
export const OFFSET_AFTER_CHOSEN = 2;

/** What the click-logit offsets read of an exposure batch. */
export type ClickOffsetInputs = Pick<ExposureBatch, 'user' | 'item' | 'repeatAuthor' | 'repeatTag' | 'chosenRepeatAuthor' | 'chosenRepeatTag'>;

/** Fitted scalars that are not network weights. */
export interface SimulatorCalibration {
  /** Std of log1p(play seconds) residuals per class [skim, click, long view]. */
  playStd: [number, number, number];
  /** Mean and std of log(gift amount) in the training data. */
  giftLogMean: number;
  giftLogStd: number;
  /** Largest play/duration ratio sampled for a long view. Default 2. */
  maxWatchRatio: number;
  /**
   * Per pair-count kind (PC_* order), the highest log2 bucket the simulator
   * reads: a larger count reads as this bucket. Fitted as the highest bucket
   * the training rows fill ({@link pairBucketCaps}); {@link PAIR_BUCKET_MAX}
   * for every kind in files fitted before it (no cap).
   *
   * Why: a bucket the logs never filled keeps its initial embedding row, so
   * the simulator's answer there is arbitrary. The panel a model is judged
   * on lives through 40 epochs and reaches counts the logs never show
   * (pairs with 1,024 clicks and more; the second world's logs stop below
   * 1,024): there the simulator gave 0.70 of the world's play per click and
   * 0.84 of its click rate, and the models that build the largest counts
   * lost the most (docs/design.md §10.2). Read at the highest supported bucket, such a pair is answered
   * as the most familiar pairs the logs show.
   */
  pairBucketCap: number[];
}

/** Highest log2 bucket of a pair count (counts of 2^14 and more). */
export const PAIR_BUCKET_MAX = 15;

export const DEFAULT_SIMULATOR_CALIBRATION: SimulatorCalibration = {
  playStd: [0.8, 0.5, 0.6],
  giftLogMean: 1.5,
  giftLogStd: 1.0,
  maxWatchRatio: 2,
  pairBucketCap: new Array<number>(PAIR_COUNT_DIM_).fill(PAIR_BUCKET_MAX),
};

/**
 * A calibration as saved, checked: files fitted before `pairBucketCap`
 * existed read every bucket (no cap). Throws a RangeError naming `where`
 * and the bad field.
 */
export function checkedCalibration(c: SimulatorCalibration, where: string): SimulatorCalibration {
  const caps = c.pairBucketCap ?? DEFAULT_SIMULATOR_CALIBRATION.pairBucketCap;
  if (!Array.isArray(caps) || caps.length !== PAIR_COUNT_DIM_ || !caps.every((b) => Number.isInteger(b) && b >= 0 && b <= PAIR_BUCKET_MAX)) {
    throw new RangeError(`${where}: pairBucketCap must be ${PAIR_COUNT_DIM_} integers in [0, ${PAIR_BUCKET_MAX}], got ${JSON.stringify(caps)}`);
  }
  return { ...c, playStd: [...c.playStd], pairBucketCap: [...caps] };
}

/** {@link checkedCalibration} of a calibration read from file `path`: a bad one is a ParamsFormatError naming the file. */
export function calibrationOfFile(c: SimulatorCalibration, path: string): SimulatorCalibration {
  try {
    return checkedCalibration(c, path);
  } catch (err) {
    throw new ParamsFormatError((err as Error).message);
  }
}

/**
 * The fitted {@link SimulatorCalibration.pairBucketCap}: per pair-count
 * kind, the highest log2 bucket holding at least `minShare` of the rows
 * (`count` rows of PAIR_COUNT_DIM counts in `pairCounts`, row `rows[j]`).
 * Bucket 0 (no count) is always read.
 */
export function pairBucketCaps(pairCounts: Float32Array, rows: Int32Array, minShare: number): number[] {
  if (!(minShare >= 0 && minShare < 1)) throw new RangeError(`the pair-bucket minimum share must be in [0, 1), got ${minShare}`);
  const filled = new Float64Array(PAIR_COUNT_DIM_ * (PAIR_BUCKET_MAX + 1));
  for (const r of rows) {
    for (let k = 0; k < PAIR_COUNT_DIM_; k++) filled[k * (PAIR_BUCKET_MAX + 1) + log2Bucket(pairCounts[r * PAIR_COUNT_DIM_ + k]!, PAIR_BUCKET_MAX)]!++;
  }
  const need = Math.max(1, minShare * rows.length);
  const caps: number[] = [];
  for (let k = 0; k < PAIR_COUNT_DIM_; k++) {
    let cap = 0;
    for (let b = 1; b <= PAIR_BUCKET_MAX; b++) if (filled[k * (PAIR_BUCKET_MAX + 1) + b]! >= need) cap = b;
    caps.push(cap);
  }
  return caps;
}

/**
 * Slots: 0 user, 1 item, 2 author, 3 tag, 4 duration, 5 user profile, 6 item
 * features, 7..13 pair counts, 14 context, and two explicit second-order
 * crosses, 15 user (.) item and 16 user (.) author (elementwise products, as
 * in factorization machines): latent user-item affinity is a dot product,
 * which a small MLP learns slowly from concatenated ids alone.
 */
const SLOT_USER = 0,
  SLOT_ITEM = 1,
  SLOT_USER_PROFILE = 5,
  SLOT_ITEM_FEATURES = 6;
const SLOT_PAIR = 7;
const SLOT_CONTEXT = 14;
const SLOT_USER_X_ITEM = 15;
const SLOT_USER_X_AUTHOR = 16;
export const SLOT_COUNT = 17;
/** Exposures per chunk of the inference forward pass (activations of a chunk stay in L1/L2). */
const FORWARD_CHUNK = 256;
/** Rows of the shared projection table (see `sharedPre`). */
const SHARED_PAIR_ROW = 1;
const SHARED_CONTEXT_ROW = SHARED_PAIR_ROW + PAIR_COUNT_DIM * 16;
/** The constant row of a standard-log exposure (ExposureBatch.standardLog): row 0 with the source row swapped. */
const SHARED_STANDARD_ROW = SHARED_CONTEXT_ROW + 48;
/** Shared rows summed per exposure: the constant, 3 context buckets, one per pair kind. */
const SHARED_PER_EXPOSURE = 4 + PAIR_COUNT_DIM;
/** Default bound of the item projection cache (see LearnedSimulator.itemCacheSlots). */
const ITEM_CACHE_SLOTS = 1 << 18;
const FIELD_USER = 0,
  FIELD_ITEM = 1,
  FIELD_AUTHOR = 2,
  FIELD_TAG = 3,
  FIELD_DURATION = 4;
const FIELD_USER_FEATURE = 10,
  FIELD_ITEM_FEATURE = 50,
  FIELD_PAIR = 90,
  FIELD_REPEAT_AUTHOR = 100,
  FIELD_REPEAT_TAG = 101,
  FIELD_POSITION = 102;
const FIELD_CROSS_USER = 110,
  FIELD_CROSS_ITEM = 111,
  FIELD_CROSS_AUTHOR = 112,
  FIELD_LOG_SOURCE = 113;
/** The three cross lookups (user, item, author factors) close every exposure's lookup list; they feed no slot directly. */
const CROSS_LOOKUPS = 3;
const NO_SLOT = -1;

/** 0 for x <= 0, else 1 + floor(log2(x)) capped at `cap`. */
export function log2Bucket(x: number, cap: number): number {
  if (!(x > 0)) return 0;
  const b = x < 1 ? 1 : 1 + Math.floor(Math.log2(x));
  return b > cap ? cap : b;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Play-time interval [lo, hi] (ms) of an outcome class for a video of this duration; lo > hi = impossible. */
export function classInterval(cls: 0 | 1 | 2, durationMs: number, maxRatio: number): [number, number] {
  const clickLo = durationMs <= CLICK_THRESHOLD_MS ? Math.ceil(durationMs) : CLICK_THRESHOLD_MS + 1;
  const longLo = durationMs <= LONG_VIEW_THRESHOLD_MS ? Math.ceil(durationMs) : LONG_VIEW_THRESHOLD_MS + 1;
  if (cls === 0) return [0, clickLo - 1];
  if (cls === 1) return [clickLo, longLo - 1];
  return [longLo, Math.max(longLo, Math.floor(maxRatio * durationMs))];
}

/** Outcome class of a logged play: 0 skim, 1 click without long view, 2 long view. */
export function playClass(click: number, longView: number): 0 | 1 | 2 {
  return longView ? 2 : click ? 1 : 0;
}

export class LearnedSimulator implements ResponseModel {
  readonly shape: LearnedSimulatorShape;
  calibration: SimulatorCalibration;
  readonly embedding: EmbeddingTable;
  readonly mlp: Mlp;
  readonly inputDim: number;
  /** Lookups per exposure and the input slot each adds into. */
  readonly lookups: number;
  readonly lookupSlot: Int32Array;
  private readonly userLookups: number;
  private readonly itemLookups: number;
  /** Precomputed table rows of each user's and item's static lookups. */
  private readonly userRows: Int32Array;
  private readonly itemRows: Int32Array;
  /** Table rows of the cross factors: per user, per item, per item's author (see {@link LearnedSimulatorShape.crossRows}). */
  private readonly crossUserRow: Int32Array;
  private readonly crossItemRow: Int32Array;
  private readonly crossAuthorRow: Int32Array;
  /** Rows of the log-source input (0 unselected, 1 standard log), or empty without it. */
  private readonly sourceRows: Int32Array;
  /** Click-logit offsets of the session's repeats (`sessionContext: 'offset'`), else null. */
  readonly clickOffsets: Param | null;
  /** The selection model (`selectionDim` > 0), else null. */
  readonly selection: SelectionModel | null;
  /** Click-logit weight of the selection score r per log source [random log, standard log] (`selectionDim` > 0), else null. */
  readonly selectionWeight: Param | null;
  /** Row of (pair kind k, bucket b) and of the context fields, precomputed. */
  private readonly pairRows: Int32Array;
  private readonly contextRows: Int32Array;
  /** Inference caches of the factored first layer (see {@link forward}). */
  private y = new Float32Array(0);
  private chunkActs: Float32Array[] = [];
  private readonly xCross: Float32Array;
  /**
   * The projections shared by all exposures, as rows of H floats in one
   * array: row 0 = bias + bucket 0 of every pair kind, then the pair
   * buckets' deltas (kind k, bucket b at row SHARED_PAIR_ROW + k*16 + b),
   * then the 48 context buckets (from SHARED_CONTEXT_ROW). Empty = stale.
   */
  private sharedPre = new Float32Array(0);
  /** Per chunk exposure: element offsets of its user row, item row and SHARED_PER_EXPOSURE shared rows (-1 = none). */
  private readonly userOffsets = new Int32Array(FORWARD_CHUNK);
  private readonly itemOffsets = new Int32Array(FORWARD_CHUNK);
  private readonly sharedOffsets = new Int32Array(FORWARD_CHUNK * SHARED_PER_EXPOSURE);
  private userPre = new Float32Array(0);
  private userReady = new Uint8Array(0);
  private itemPre = new Float32Array(0);
  private itemTag = new Int32Array(0);
  private readonly scratchD: Float32Array;
  /**
   * Most items whose first-layer projection the inference cache holds at
   * once (rounded up to a power of two; direct-mapped, so a larger catalog
   * recomputes evicted items). Default 2^18 (64 MB at the default shape).
   * Takes effect at the next {@link invalidateCache}.
   */
  itemCacheSlots = ITEM_CACHE_SLOTS;

  constructor(
    readonly catalog: Catalog,
    shape: Partial<LearnedSimulatorShape> = {},
    seed = 1,
    calibration: SimulatorCalibration = DEFAULT_SIMULATOR_CALIBRATION,
  ) {
    this.shape = { ...DEFAULT_SIMULATOR_SHAPE, ...shape };
    const s = this.shape;
    if (!Number.isInteger(s.embeddingDim) || s.embeddingDim < 1) throw new RangeError(`embeddingDim must be a positive integer, got ${s.embeddingDim}`);
    if (s.crossRows !== 'separate' && s.crossRows !== 'shared')
      throw new RangeError(`crossRows must be "separate" or "shared", got ${JSON.stringify(s.crossRows)}`);
    if (s.repeatBuckets !== 'log2' && s.repeatBuckets !== 'linear' && s.repeatBuckets !== 'none')
      throw new RangeError(`repeatBuckets must be "log2" or "linear", got ${JSON.stringify(s.repeatBuckets)}`);
    if (s.sessionContext !== 'offset' && s.sessionContext !== 'trunk')
      throw new RangeError(`sessionContext must be "offset" or "trunk", got ${JSON.stringify(s.sessionContext)}`);
    if (typeof s.logSourceInput !== 'boolean') throw new RangeError(`logSourceInput must be true or false, got ${JSON.stringify(s.logSourceInput)}`);
    if (s.fatigueFrom !== 'unselected' && s.fatigueFrom !== 'all')
      throw new RangeError(`fatigueFrom must be "unselected" or "all", got ${JSON.stringify(s.fatigueFrom)}`);
    if (!(Number.isInteger(s.selectionDim) && s.selectionDim >= 0))
      throw new RangeError(`selectionDim must be an integer >= 0 (0 = no selection model), got ${JSON.stringify(s.selectionDim)}`);
    this.calibration = checkedCalibration(calibration, 'LearnedSimulator');
    const rng = new Rng(seed);
    this.embedding = new EmbeddingTable({ rows: s.embeddingRows, dim: s.embeddingDim, name: 'simulator.embedding', initScale: 0.05 }, rng.fork('embedding'));
    this.inputDim = SLOT_COUNT * s.embeddingDim;
    this.scratchD = new Float32Array(s.embeddingDim);
    this.xCross = new Float32Array(FORWARD_CHUNK * 2 * s.embeddingDim);
    this.mlp = new Mlp({ sizes: [this.inputDim, ...s.hidden, OUTPUT_DIM], name: 'simulator.trunk' }, rng.fork('trunk'));
    const offsetSets = s.fatigueFrom === 'unselected' ? 3 : 2;
    this.clickOffsets = s.sessionContext === 'offset' ? new Param({ name: 'simulator.clickOffsets', shape: [offsetSets * 2 * OFFSET_BUCKETS] }) : null;
    this.selection = s.selectionDim > 0 ? new SelectionModel(catalog, s.selectionDim, rng.fork('selection')) : null;
    this.selectionWeight = s.selectionDim > 0 ? new Param({ name: 'simulator.selectionWeight', shape: [2] }) : null;

    const nuf = catalog.userFeatureFields.length;
    const nif = catalog.itemFeatureFields.length;
    this.userLookups = 1 + nuf;
    this.itemLookups = 4 + nif;
    this.lookups = this.userLookups + this.itemLookups + PAIR_COUNT_DIM + 3 + (s.logSourceInput ? 1 : 0) + CROSS_LOOKUPS;
    const slots: number[] = [0];
    for (let f = 0; f < nuf; f++) slots.push(5);
    slots.push(1, 2, 3, 4);
    for (let f = 0; f < nif; f++) slots.push(6);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) slots.push(SLOT_PAIR + k);
    slots.push(14, 14, 14);
    if (s.logSourceInput) slots.push(14);
    slots.push(NO_SLOT, NO_SLOT, NO_SLOT);
    this.lookupSlot = Int32Array.from(slots);

    const e = this.embedding;
    this.userRows = new Int32Array(catalog.numUsers * this.userLookups);
    for (let u = 0; u < catalog.numUsers; u++) {
      const base = u * this.userLookups;
      this.userRows[base] = e.rowOf(FIELD_USER, catalog.userRawId[u]! >>> 0);
      for (let f = 0; f < nuf; f++) this.userRows[base + 1 + f] = e.rowOf(FIELD_USER_FEATURE + f, catalog.userFeatures[u * nuf + f]!);
    }
    this.itemRows = new Int32Array(catalog.numItems * this.itemLookups);
    for (let i = 0; i < catalog.numItems; i++) {
      const base = i * this.itemLookups;
      this.itemRows[base] = e.rowOf(FIELD_ITEM, catalog.itemRawId[i]! >>> 0);
      this.itemRows[base + 1] = e.rowOf(FIELD_AUTHOR, catalog.authorRawId[catalog.itemAuthor[i]!]! >>> 0);
      this.itemRows[base + 2] = e.rowOf(FIELD_TAG, catalog.itemTag[i]!);
      this.itemRows[base + 3] = e.rowOf(FIELD_DURATION, log2Bucket(catalog.itemDurationMs[i]! / 1000, 12));
      for (let f = 0; f < nif; f++) this.itemRows[base + 4 + f] = e.rowOf(FIELD_ITEM_FEATURE + f, catalog.itemFeatures[i * nif + f]!);
    }
    const separate = s.crossRows === 'separate';
    this.crossUserRow = new Int32Array(catalog.numUsers);
    for (let u = 0; u < catalog.numUsers; u++) {
      this.crossUserRow[u] = separate ? e.rowOf(FIELD_CROSS_USER, catalog.userRawId[u]! >>> 0) : this.userRows[u * this.userLookups]!;
    }
    this.crossItemRow = new Int32Array(catalog.numItems);
    this.crossAuthorRow = new Int32Array(catalog.numItems);
    for (let i = 0; i < catalog.numItems; i++) {
      this.crossItemRow[i] = separate ? e.rowOf(FIELD_CROSS_ITEM, catalog.itemRawId[i]! >>> 0) : this.itemRows[i * this.itemLookups]!;
      this.crossAuthorRow[i] = separate
        ? e.rowOf(FIELD_CROSS_AUTHOR, catalog.authorRawId[catalog.itemAuthor[i]!]! >>> 0)
        : this.itemRows[i * this.itemLookups + 1]!;
    }
    this.sourceRows = s.logSourceInput ? Int32Array.of(e.rowOf(FIELD_LOG_SOURCE, 0), e.rowOf(FIELD_LOG_SOURCE, 1)) : new Int32Array(0);
    this.pairRows = new Int32Array(PAIR_COUNT_DIM * 16);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) for (let b = 0; b < 16; b++) this.pairRows[k * 16 + b] = e.rowOf(FIELD_PAIR + k, b);
    this.contextRows = new Int32Array(3 * 16);
    for (let b = 0; b < 16; b++) {
      this.contextRows[b] = e.rowOf(FIELD_REPEAT_AUTHOR, b);
      this.contextRows[16 + b] = e.rowOf(FIELD_REPEAT_TAG, b);
      this.contextRows[32 + b] = e.rowOf(FIELD_POSITION, b);
    }
  }

  params(): Param[] {
    return [
      this.embedding.table,
      ...this.mlp.params(),
      ...(this.clickOffsets ? [this.clickOffsets] : []),
      ...(this.selection ? [this.selection.table, this.selectionWeight!] : []),
    ];
  }

  /** The selection score r(u, i) of selection-model.ts; 0 without a selection model. */
  selectionLogit(user: number, item: number): number {
    return this.selection ? this.selection.logit(user, item) : 0;
  }

  /** Index into {@link clickOffsets} of (offset set, kind 0 author / 1 tag, repeat count). */
  offsetIndex(set: number, kind: number, count: number): number {
    return (set * 2 + kind) * OFFSET_BUCKETS + log2Bucket(count, OFFSET_BUCKETS - 1);
  }

  /**
   * The offset set of exposure `e`'s repeats of one kind: the standard
   * log's for a standard-log exposure; else, under `fatigueFrom:
   * 'unselected'`, the after-chosen set when an earlier exposure of the
   * same author (tag) in the session was chosen; else the random log's.
   */
  private offsetSet(standard: boolean, chosenRepeats: Float32Array | undefined, e: number): number {
    if (standard) return OFFSET_STANDARD;
    return this.shape.fatigueFrom === 'unselected' && chosenRepeats !== undefined && chosenRepeats[e]! > 0 ? OFFSET_AFTER_CHOSEN : OFFSET_RANDOM;
  }

  /** Index into {@link clickOffsets} of exposure `e`'s author (kind 0) or tag (kind 1) repeats: its set and bucket. */
  private repeatOffset(batch: ClickOffsetInputs, standard: boolean, e: number, kind: 0 | 1): number {
    const chosen = kind === 0 ? batch.chosenRepeatAuthor : batch.chosenRepeatTag;
    const repeats = kind === 0 ? batch.repeatAuthor : batch.repeatTag;
    return this.offsetIndex(this.offsetSet(standard, chosen, e), kind, repeats[e]!);
  }

  /**
   * Adds the click-logit offsets to the click logits of outputs `y` (count x
   * OUTPUT_DIM, rows from `yFrom`) of exposures [from, from + count): the
   * session's repeats (`sessionContext: 'offset'`) and w_source times the
   * selection score (`selectionDim` > 0); `standardLog` as in {@link encode}.
   * No-op without either.
   */
  addClickOffsets(count: number, batch: ClickOffsetInputs, standardLog: Uint8Array | undefined, y: Float32Array, from = 0, yFrom = 0): void {
    const off = this.clickOffsets?.value;
    const w = this.selectionWeight?.value;
    if (!off && !w) return;
    for (let c = 0; c < count; c++) {
      const e = from + c;
      const standard = standardLog !== undefined && standardLog[e] === 1;
      let add = 0;
      if (off) add += off[this.repeatOffset(batch, standard, e, 0)]! + off[this.repeatOffset(batch, standard, e, 1)]!;
      if (w) add += w[standard ? 1 : 0]! * this.selectionLogit(batch.user[e]!, batch.item[e]!);
      y[(yFrom + c) * OUTPUT_DIM + HEAD_CLICK]! += add;
    }
  }

  /**
   * Accumulates d(loss)/d(offsets) and d(loss)/d(selection weights) from
   * d(loss)/d(outputs) `grad` (count x OUTPUT_DIM). The selection score is
   * held fixed here: the selection model learns only from its own loss.
   */
  clickOffsetsBackward(count: number, batch: ClickOffsetInputs, standardLog: Uint8Array | undefined, grad: Float32Array): void {
    const g = this.clickOffsets?.grad;
    const gw = this.selectionWeight?.grad;
    for (let e = 0; e < count; e++) {
      const standard = standardLog !== undefined && standardLog[e] === 1;
      const d = grad[e * OUTPUT_DIM + HEAD_CLICK]!;
      if (g) {
        g[this.repeatOffset(batch, standard, e, 0)]! += d;
        g[this.repeatOffset(batch, standard, e, 1)]! += d;
      }
      if (gw) gw[standard ? 1 : 0]! += d * this.selectionLogit(batch.user[e]!, batch.item[e]!);
    }
  }
  /**
   * Writes the table rows of every lookup of exposures [0, count) into
   * `rows` (count x lookups), from user, item, pair counts and context;
   * `standardLog[e]` = 1 marks a standard-log (logging-policy) exposure for
   * the log-source input (absent: every exposure unselected, as in simulation).
   */
  encode(
    count: number,
    user: Int32Array,
    item: Int32Array,
    pairCounts: Float32Array,
    repeatAuthor: Float32Array,
    repeatTag: Float32Array,
    position: Int32Array,
    rows: Int32Array,
    standardLog?: Uint8Array,
  ): void {
    const withSource = this.sourceRows.length > 0;
    const L = this.lookups,
      lu = this.userLookups,
      li = this.itemLookups;
    for (let e = 0; e < count; e++) {
      let o = e * L;
      const ub = user[e]! * lu;
      for (let j = 0; j < lu; j++) rows[o++] = this.userRows[ub + j]!;
      const ib = item[e]! * li;
      for (let j = 0; j < li; j++) rows[o++] = this.itemRows[ib + j]!;
      const pb = e * PAIR_COUNT_DIM;
      for (let k = 0; k < PAIR_COUNT_DIM; k++) rows[o++] = this.pairRows[k * 16 + this.pairBucket(k, pairCounts[pb + k]!)]!;
      rows[o++] = this.contextRows[this.repeatBucket(repeatAuthor[e]!)]!;
      rows[o++] = this.contextRows[16 + this.repeatBucket(repeatTag[e]!)]!;
      rows[o++] = this.contextRows[32 + Math.min(15, position[e]!)]!;
      if (withSource) rows[o++] = this.sourceRows[standardLog && standardLog[e] === 1 ? 1 : 0]!;
      rows[o++] = this.crossUserRow[user[e]!]!;
      rows[o++] = this.crossItemRow[item[e]!]!;
      rows[o++] = this.crossAuthorRow[item[e]!]!;
    }
  }

  /** The bucket the simulator reads for a count of pair kind `k`: its log2 bucket, at most the kind's {@link SimulatorCalibration.pairBucketCap}. */
  pairBucket(k: number, count: number): number {
    const b = log2Bucket(count, PAIR_BUCKET_MAX);
    const cap = this.calibration.pairBucketCap[k]!;
    return b > cap ? cap : b;
  }

  /** Context bucket (0..15) of a session repeat count (see {@link LearnedSimulatorShape.repeatBuckets}). */
  repeatBucket(count: number): number {
    const b = this.shape.sessionContext === 'offset' ? 'none' : this.shape.repeatBuckets;
    return b === 'log2' ? log2Bucket(count, 15) : b === 'none' ? 0 : Math.min(15, count);
  }

  /** Sums the looked-up embeddings into the input matrix x (count x inputDim). */
  gatherInput(rows: Int32Array, count: number, x: Float32Array): void {
    const d = this.shape.embeddingDim,
      L = this.lookups,
      D = this.inputDim;
    const table = this.embedding.table.value;
    x.fill(0, 0, count * D);
    for (let e = 0; e < count; e++) {
      const xo = e * D;
      const ro = e * L;
      for (let l = 0; l < L - CROSS_LOOKUPS; l++) {
        const src = rows[ro + l]! * d;
        const dst = xo + this.lookupSlot[l]! * d;
        for (let j = 0; j < d; j++) x[dst + j]! += table[src + j]!;
      }
      const cu = rows[ro + L - 3]! * d,
        ci = rows[ro + L - 2]! * d,
        ca = rows[ro + L - 1]! * d;
      for (let j = 0; j < d; j++) {
        const u = table[cu + j]!;
        x[xo + SLOT_USER_X_ITEM * d + j] = u * table[ci + j]!;
        x[xo + SLOT_USER_X_AUTHOR * d + j] = u * table[ca + j]!;
      }
    }
  }

  /**
   * Adds dX (count x inputDim) back into the embedding gradient of each
   * lookup; the cross slots' gradient goes to the cross factors' rows.
   * The table must hold the weights of the forward pass (`x` is kept for
   * callers; the crosses are recomputed from the rows).
   */
  scatterGrad(rows: Int32Array, count: number, dx: Float32Array, _x: Float32Array): void {
    const d = this.shape.embeddingDim,
      L = this.lookups,
      D = this.inputDim;
    const p = this.embedding.table;
    const g = p.grad;
    const table = p.value;
    for (let e = 0; e < count; e++) {
      const xo = e * D;
      const ro = e * L;
      const ru = rows[ro + L - 3]!,
        ri = rows[ro + L - 2]!,
        ra = rows[ro + L - 1]!;
      const cu = ru * d,
        ci = ri * d,
        ca = ra * d;
      for (let j = 0; j < d; j++) {
        const gx = dx[xo + SLOT_USER_X_ITEM * d + j]!;
        const ga = dx[xo + SLOT_USER_X_AUTHOR * d + j]!;
        const u = table[cu + j]!,
          it = table[ci + j]!,
          au = table[ca + j]!;
        g[cu + j]! += gx * it + ga * au;
        g[ci + j]! += gx * u;
        g[ca + j]! += ga * u;
      }
      p.markTouched(ru);
      p.markTouched(ri);
      p.markTouched(ra);
      for (let l = 0; l < L - CROSS_LOOKUPS; l++) {
        const r = rows[ro + l]!;
        const dst = r * d;
        const src = xo + this.lookupSlot[l]! * d;
        for (let j = 0; j < d; j++) g[dst + j]! += dx[src + j]!;
        p.markTouched(r);
      }
    }
  }

  /**
   * Network outputs (count x OUTPUT_DIM) for a batch of exposures: the same
   * function as `mlp.forward(gatherInput(encode(...)))` (equal up to float
   * rounding), computed through the factored first layer.
   *
   * The first layer is linear in its input, which is a concatenation of
   * slots: W1 x = sum over slots of W1_slot x_slot. Every slot but the two
   * crosses depends on the user alone, the item alone, one pair-count bucket
   * or one context bucket, so its projection (H = hidden[0] floats) is
   * computed once and cached: per user, per item, and per (kind, bucket).
   * An exposure then costs ~6 cached H-vectors summed (plus one per non-zero
   * pair count) and a 2d x H product for the crosses, instead of a
   * 17d x H product on a gathered input: about a third of the arithmetic and
   * a few contiguous reads instead of ~14 scattered embedding rows. The
   * caches hold the CURRENT weights: call {@link invalidateCache} after
   * changing parameters (fitSimulator and loadSimulator do).
   */
  forward(batch: ExposureBatch): Float32Array {
    const n = batch.count;
    const layers = this.mlp.layers;
    const outDim = layers[layers.length - 1]!.outDim;
    if (this.y.length < n * outDim) this.y = new Float32Array(n * outDim * 2);
    if (this.sharedPre.length === 0) this.buildCaches();
    // Chunks of FORWARD_CHUNK exposures go through every layer in turn, so
    // the activations stay in cache instead of streaming a whole step's
    // batch (tens of thousands of exposures) through memory layer by layer.
    for (let from = 0; from < n; from += FORWARD_CHUNK) this.forwardChunk(batch, from, Math.min(FORWARD_CHUNK, n - from));
    return this.y;
  }

  /** Outputs of exposures [from, from + m) into `y`, through the factored first layer. */
  private forwardChunk(batch: ExposureBatch, from: number, m: number): void {
    const d = this.shape.embeddingDim;
    const layers = this.mlp.layers;
    const first = layers[0]!;
    const H = first.outDim;
    if (this.chunkActs.length === 0) this.chunkActs = layers.map((l) => new Float32Array(FORWARD_CHUNK * l.outDim));
    const z = this.chunkActs[0]!,
      xc = this.xCross;
    const userOffsets = this.userOffsets,
      itemOffsets = this.itemOffsets,
      shared = this.sharedOffsets;
    const itemTag = this.itemTag;
    z.fill(0, 0, m * H);
    // Item rows not yet summed into z start here: a cache miss that evicts a
    // row some earlier exposure of this chunk still needs (the item cache is
    // direct-mapped) sums the pending rows first.
    let itemsFrom = 0;
    const itemStride = H + 2 * d;
    // Which cached rows each exposure sums (the caches fill on first use) ...
    for (let c = 0; c < m; c++) {
      const e = from + c;
      const item = batch.item[e]!;
      const slot = this.itemSlot(item);
      const tag = itemTag[slot]!;
      if (tag !== item + 1 && tag !== 0) {
        const victim = slot * itemStride;
        for (let q = itemsFrom; q < c; q++) {
          if (itemOffsets[q] !== victim) continue;
          addRowsAt(this.itemPre, itemOffsets.subarray(itemsFrom, c), c - itemsFrom, 1, H, z.subarray(itemsFrom * H), H);
          itemsFrom = c;
          break;
        }
      }
      const ub = this.userProjection(batch.user[e]!);
      const ib = this.itemProjection(item);
      userOffsets[c] = ub;
      itemOffsets[c] = ib;
      const so = c * SHARED_PER_EXPOSURE;
      shared[so] = batch.standardLog?.[e] === 1 ? SHARED_STANDARD_ROW * H : 0;
      shared[so + 1] = (SHARED_CONTEXT_ROW + this.repeatBucket(batch.repeatAuthor[e]!)) * H;
      shared[so + 2] = (SHARED_CONTEXT_ROW + 16 + this.repeatBucket(batch.repeatTag[e]!)) * H;
      shared[so + 3] = (SHARED_CONTEXT_ROW + 32 + Math.min(15, batch.position[e]!)) * H;
      const pb = e * PAIR_COUNT_DIM;
      for (let k = 0; k < PAIR_COUNT_DIM; k++) {
        const b = this.pairBucket(k, batch.pairCounts[pb + k]!);
        // bucket 0 of every kind is folded into the constant row
        shared[so + 4 + k] = b === 0 ? -1 : (SHARED_PAIR_ROW + k * 16 + b) * H;
      }
      const up = this.userPre,
        ip = this.itemPre;
      const xo = c * 2 * d;
      for (let j = 0; j < d; j++) {
        const uu = up[ub + H + j]!;
        xc[xo + j] = uu * ip[ib + H + j]!;
        xc[xo + d + j] = uu * ip[ib + H + d + j]!;
      }
    }
    // ... then summed row by row in three vectorised passes (plain JS converts
    // every float32 load to double and back; this was 2/3 of the forward).
    addRowsAt(this.itemPre, itemOffsets.subarray(itemsFrom, m), m - itemsFrom, 1, H, z.subarray(itemsFrom * H), H);
    addRowsAt(this.userPre, userOffsets, m, 1, H, z, H);
    addRowsAt(this.sharedPre, shared, m, SHARED_PER_EXPOSURE, H, z, H);
    // z += [u (.) item, u (.) author] W1_cross^T: the only pair-specific part of the first layer.
    gemmAt(false, true, m, H, 2 * d, 1, xc, 0, 2 * d, first.weight.value, SLOT_USER_X_ITEM * d, this.inputDim, 1, z, 0, H);
    let h = z;
    for (let l = 1; l < layers.length; l++) {
      const layer = layers[l]!;
      reluRange(h, 0, m * layer.inDim);
      const last = l === layers.length - 1;
      const out = last ? this.y : this.chunkActs[l]!;
      const off = last ? from * layer.outDim : 0;
      for (let r = 0; r < m; r++) out.set(layer.bias.value, off + r * layer.outDim);
      gemmAt(false, true, m, layer.outDim, layer.inDim, 1, h, 0, layer.inDim, layer.weight.value, 0, layer.inDim, 1, out, off, layer.outDim);
      h = out;
    }
    if (layers.length === 1) this.y.set(z.subarray(0, m * H), from * H);
    this.addClickOffsets(m, batch, batch.standardLog, this.y, from, from);
  }

  /** out[outOff .. + H) += W1[:, slot] v, for the d-vector v = src[srcOff .. + d). */
  private project(slot: number, src: Float32Array, srcOff: number, out: Float32Array, outOff: number): void {
    const d = this.shape.embeddingDim,
      D = this.inputDim;
    const w = this.mlp.layers[0]!.weight.value;
    const H = this.mlp.layers[0]!.outDim;
    for (let h = 0; h < H; h++) {
      const wo = h * D + slot * d;
      let acc = 0;
      for (let j = 0; j < d; j++) acc += w[wo + j]! * src[srcOff + j]!;
      out[outOff + h]! += acc;
    }
  }

  /** {@link project} of the embedding-table row `row`. */
  private projectRow(slot: number, row: number, out: Float32Array, outOff: number): void {
    this.project(slot, this.embedding.table.value, row * this.shape.embeddingDim, out, outOff);
  }

  /** The sum of the embedding-table rows rows[from, to) (a pooled bag of features), in a scratch vector. */
  private sumRows(rows: Int32Array, from: number, to: number): Float32Array {
    const d = this.shape.embeddingDim;
    const table = this.embedding.table.value;
    const sum = this.scratchD.fill(0);
    for (let l = from; l < to; l++) {
      const src = rows[l]! * d;
      for (let j = 0; j < d; j++) sum[j]! += table[src + j]!;
    }
    return sum;
  }

  /**
   * (Re)builds the inference caches for the current weights: the projections
   * shared by all exposures (bias + bucket 0 of every pair kind, the other
   * buckets' deltas, the context buckets) now, and empty per-user and
   * per-item caches that {@link userProjection} / {@link itemProjection}
   * fill on first use.
   */
  private buildCaches(): void {
    const d = this.shape.embeddingDim;
    const H = this.mlp.layers[0]!.outDim;
    if (this.userReady.length === this.catalog.numUsers) this.userReady.fill(0);
    else {
      this.userPre = new Float32Array(this.catalog.numUsers * (H + d));
      this.userReady = new Uint8Array(this.catalog.numUsers);
    }
    let slots = 1;
    while (slots < this.catalog.numItems && slots < this.itemCacheSlots) slots *= 2;
    if (this.itemTag.length === slots) this.itemTag.fill(0);
    else {
      this.itemPre = new Float32Array(slots * (H + 2 * d));
      this.itemTag = new Int32Array(slots);
    }
    const shared = new Float32Array((SHARED_STANDARD_ROW + 1) * H);
    const constant = shared.subarray(0, H);
    constant.set(this.mlp.layers[0]!.bias.value);
    const zero = new Float32Array(PAIR_COUNT_DIM * H);
    for (let k = 0; k < PAIR_COUNT_DIM; k++) {
      this.projectRow(SLOT_PAIR + k, this.pairRows[k * 16]!, zero, k * H);
      for (let h = 0; h < H; h++) constant[h]! += zero[k * H + h]!;
    }
    for (let k = 0; k < PAIR_COUNT_DIM; k++) {
      for (let b = 1; b < 16; b++) {
        const o = (SHARED_PAIR_ROW + k * 16 + b) * H;
        this.projectRow(SLOT_PAIR + k, this.pairRows[k * 16 + b]!, shared, o);
        for (let h = 0; h < H; h++) shared[o + h]! -= zero[k * H + h]!;
      }
    }
    for (let r = 0; r < 48; r++) this.projectRow(SLOT_CONTEXT, this.contextRows[r]!, shared, (SHARED_CONTEXT_ROW + r) * H);
    // A simulated exposure is unselected (its log-source row is part of the constant) unless the policy that
    // wrote the standard log chose it (ExposureBatch.standardLog): that one starts from the standard-log constant.
    const standard = shared.subarray(SHARED_STANDARD_ROW * H, (SHARED_STANDARD_ROW + 1) * H);
    standard.set(constant);
    if (this.sourceRows.length > 0) {
      this.projectRow(SLOT_CONTEXT, this.sourceRows[0]!, constant, 0);
      this.projectRow(SLOT_CONTEXT, this.sourceRows[1]!, standard, 0);
    }
    this.sharedPre = shared;
  }

  /** Offset in `userPre` of the user's projection (H floats) followed by the user's cross factor (d floats); built on first use. */
  private userProjection(u: number): number {
    const d = this.shape.embeddingDim;
    const H = this.mlp.layers[0]!.outDim;
    const stride = H + d;
    const base = u * stride;
    if (this.userReady[u] === 1) return base;
    const pre = this.userPre;
    const lu = this.userLookups;
    pre.fill(0, base, base + stride);
    const idRow = this.userRows[u * lu]!;
    this.projectRow(SLOT_USER, idRow, pre, base);
    this.project(SLOT_USER_PROFILE, this.sumRows(this.userRows, u * lu + 1, (u + 1) * lu), 0, pre, base);
    const crossRow = this.crossUserRow[u]!;
    pre.set(this.embedding.table.value.subarray(crossRow * d, (crossRow + 1) * d), base + H);
    this.userReady[u] = 1;
    return base;
  }

  /**
   * Offset in `itemPre` of the item's projection (H floats) followed by its
   * item and author cross factors (d floats each); built on first use. The
   * cache is direct-mapped (at most {@link itemCacheSlots} slots, tagged), so a
   * multi-million-item catalog does not need a projection per item in memory.
   */
  private itemProjection(i: number): number {
    const d = this.shape.embeddingDim;
    const H = this.mlp.layers[0]!.outDim;
    const stride = H + 2 * d;
    const slot = this.itemSlot(i);
    const base = slot * stride;
    if (this.itemTag[slot] === i + 1) return base;
    const pre = this.itemPre;
    const table = this.embedding.table.value;
    const li = this.itemLookups;
    const rows = this.itemRows;
    const ib = i * li;
    pre.fill(0, base, base + stride);
    for (let l = 0; l < 4; l++) this.projectRow(SLOT_ITEM + l, rows[ib + l]!, pre, base);
    this.project(SLOT_ITEM_FEATURES, this.sumRows(rows, ib + 4, ib + li), 0, pre, base);
    const ci = this.crossItemRow[i]!,
      ca = this.crossAuthorRow[i]!;
    pre.set(table.subarray(ci * d, (ci + 1) * d), base + H);
    pre.set(table.subarray(ca * d, (ca + 1) * d), base + H + d);
    this.itemTag[slot] = i + 1;
    return base;
  }

  /** The item cache slot of item `i` (direct-mapped: the low bits of the id). */
  private itemSlot(i: number): number {
    return i & (this.itemTag.length - 1);
  }

  /** Forgets the inference caches (after the parameters changed); the next forward rebuilds them. */
  invalidateCache(): void {
    this.sharedPre = new Float32Array(0);
  }

  respond(batch: ExposureBatch, rng: Rng, out: ResponseBatch): void {
    checkExposures(this.catalog, batch, out);
    sampleResponses(this.catalog, this.calibration, batch, this.forward(batch), rng, out);
  }

  /**
   * Marginal probabilities of the 8 binary behaviours (BINARY_HEADS order)
   * and the expected play seconds of exposure e given the trunk outputs `y`
   * (from {@link forward}) — what the held-out AUC and log-loss are computed on.
   */
  marginals(batch: ExposureBatch, y: Float32Array, e: number, out: Float64Array): number {
    return marginalsOf(this.catalog, this.calibration, batch, y, e, out);
  }

  /** Saves shape, calibration and parameters in the numeric params-io format (atomic). */
  save(path: string, extraMeta: Record<string, unknown> = {}): void {
    saveParams(path, this.params(), {
      kind: 'rliv-learned-simulator',
      version: 1,
      shape: this.shape,
      calibration: this.calibration,
      catalog: catalogFingerprint(this.catalog),
      ...extraMeta,
    });
  }
}

/** {@link LearnedSimulator.marginals} for any trunk outputs (the ensemble's combined ones too). */
export function marginalsOf(catalog: Catalog, calibration: SimulatorCalibration, batch: ExposureBatch, y: Float32Array, e: number, out: Float64Array): number {
  const o = e * OUTPUT_DIM;
  const item = batch.item[e]!;
  const d = catalog.itemDurationMs[item]!;
  const cal = calibration;
  const pc = sigmoid(y[o + HEAD_CLICK]!);
  const [slo, shi] = classInterval(1, d, cal.maxWatchRatio);
  const pLongGivenClick = slo > shi ? 1 : sigmoid(y[o + HEAD_LONG_VIEW]!);
  const live = catalog.authorIsLive[catalog.itemAuthor[item]!] === 1;
  const following = batch.pairCounts[e * PAIR_COUNT_DIM + PC_FOLLOW]! > 0;
  out[0] = pc;
  out[1] = pc * pLongGivenClick;
  out[2] = pc * sigmoid(y[o + HEAD_LIKE]!);
  out[3] = following ? 0 : pc * sigmoid(y[o + HEAD_FOLLOW]!);
  out[4] = pc * sigmoid(y[o + HEAD_COMMENT]!);
  out[5] = pc * sigmoid(y[o + HEAD_FORWARD]!);
  out[6] = sigmoid(y[o + HEAD_HATE]!);
  out[7] = live ? pc * sigmoid(y[o + HEAD_GIFT]!) : 0;
  // Expected play: class probabilities times the (clamped) class median.
  const probs = [1 - pc, pc * (1 - pLongGivenClick), pc * pLongGivenClick];
  let expected = 0;
  for (let c = 0 as 0 | 1 | 2; c <= 2; c = (c + 1) as 0 | 1 | 2) {
    if (probs[c]! <= 0) continue;
    const [lo, hi] = classInterval(c, d, cal.maxWatchRatio);
    if (lo > hi) continue;
    let v = Math.expm1(y[o + HEAD_PLAY_SKIM + c]!) * 1000;
    v = v < lo ? lo : v > hi ? hi : v;
    expected += probs[c]! * v;
  }
  return expected / 1000;
}

/** Throws when the output batch is too small or an exposure's user or item is outside `catalog`. */
export function checkExposures(catalog: Catalog, batch: ExposureBatch, out: ResponseBatch): void {
  const n = batch.count;
  if (out.click.length < n) throw new RangeError(`respond: output batch holds ${out.click.length} responses, the exposure batch has ${n}`);
  for (let e = 0; e < n; e++) {
    const u = batch.user[e]!,
      i = batch.item[e]!;
    if (!(u >= 0 && u < catalog.numUsers) || !(i >= 0 && i < catalog.numItems)) {
      throw new RangeError(
        `respond: exposure ${e} has user ${u} / item ${i} outside the simulator's catalog (${catalog.numUsers} users, ${catalog.numItems} items)`,
      );
    }
  }
}

/**
 * Samples responses from trunk outputs `y` (count x OUTPUT_DIM, logits of
 * the binary heads and log1p play seconds per class), with KuaiRand's
 * definitions (see the file comment). Shared by the single simulator and
 * the ensemble, which hands in its combined (pessimistic) outputs.
 */
export function sampleResponses(
  catalog: Catalog,
  calibration: SimulatorCalibration,
  batch: ExposureBatch,
  y: Float32Array,
  rng: Rng,
  out: ResponseBatch,
): void {
  const n = batch.count;
  // 10 draws per exposure from the local stream, seeded by one draw of `rng` per batch (numeric/local-stream.ts).
  seedLocalStream(rng.nextUint32());
  const cal = calibration;
  const dur = catalog.itemDurationMs;
  const isLive = catalog.authorIsLive;
  const itemAuthor = catalog.itemAuthor;
  for (let e = 0; e < n; e++) {
    const o = e * OUTPUT_DIM;
    const item = batch.item[e]!;
    const d = dur[item]!;
    const uClick = localUniform();
    const uLong = localUniform();
    const epsPlay = localNormal();
    const uLike = localUniform();
    const uFollow = localUniform();
    const uComment = localUniform();
    const uForward = localUniform();
    const uHate = localUniform();
    const uGift = localUniform();
    const epsAmount = localNormal();

    let cls: 0 | 1 | 2 = uClick < sigmoid(y[o + HEAD_CLICK]!) ? 1 : 0;
    if (cls === 1) {
      const [lo, hi] = classInterval(1, d, cal.maxWatchRatio);
      if (lo > hi || uLong < sigmoid(y[o + HEAD_LONG_VIEW]!)) cls = 2;
    } else {
      const [lo, hi] = classInterval(0, d, cal.maxWatchRatio);
      if (lo > hi) cls = 1; // a zero-length video cannot be skimmed
    }
    const [lo, hi] = classInterval(cls, d, cal.maxWatchRatio);
    let play = Math.round(Math.expm1(y[o + HEAD_PLAY_SKIM + cls]! + cal.playStd[cls] * epsPlay) * 1000);
    if (play < lo) play = lo;
    if (play > hi) play = hi;
    const click = cls > 0 ? 1 : 0;
    out.click[e] = click;
    out.longView[e] = cls === 2 ? 1 : 0;
    out.playTimeMs[e] = play;
    out.hate[e] = uHate < sigmoid(y[o + HEAD_HATE]!) ? 1 : 0;
    if (click) {
      out.like[e] = uLike < sigmoid(y[o + HEAD_LIKE]!) ? 1 : 0;
      out.comment[e] = uComment < sigmoid(y[o + HEAD_COMMENT]!) ? 1 : 0;
      out.forward[e] = uForward < sigmoid(y[o + HEAD_FORWARD]!) ? 1 : 0;
      out.follow[e] = batch.pairCounts[e * PAIR_COUNT_DIM + PC_FOLLOW]! === 0 && uFollow < sigmoid(y[o + HEAD_FOLLOW]!) ? 1 : 0;
      if (isLive[itemAuthor[item]!] === 1 && uGift < sigmoid(y[o + HEAD_GIFT]!)) {
        const amount = Math.round(Math.exp(cal.giftLogMean + cal.giftLogStd * epsAmount));
        out.giftAmount[e] = amount < 1 ? 1 : amount;
      } else out.giftAmount[e] = 0;
    } else {
      out.like[e] = 0;
      out.comment[e] = 0;
      out.forward[e] = 0;
      out.follow[e] = 0;
      out.giftAmount[e] = 0;
    }
  }
}

/** What must match between the catalog a simulator was trained on and the one it is loaded with. */
export function catalogFingerprint(c: Catalog): Record<string, number> {
  let itemSum = 0;
  for (let i = 0; i < c.numItems; i += Math.max(1, Math.floor(c.numItems / 1000)))
    itemSum = (itemSum * 31 + c.itemRawId[i]! + c.itemAuthor[i]!) % 1_000_000_007;
  return {
    numUsers: c.numUsers,
    numItems: c.numItems,
    numAuthors: c.numAuthors,
    userFeatureFields: c.userFeatureFields.length,
    itemFeatureFields: c.itemFeatureFields.length,
    itemChecksum: itemSum,
  };
}

/**
 * Loads a simulator saved by {@link LearnedSimulator.save} (or `rliv
 * fit-simulator`) for `catalog`. Throws a ParamsFormatError naming the file
 * when it is not a simulator, is corrupt, or was trained on another catalog.
 */
export function loadSimulator(path: string, catalog: Catalog): LearnedSimulator {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ParamsFormatError(`cannot read simulator file ${path}: ${(err as Error).message}`);
  }
  const meta = readParamsMeta(bytes, path) as {
    kind?: string;
    shape?: LearnedSimulatorShape;
    calibration?: SimulatorCalibration;
    catalog?: Record<string, number>;
  } | null;
  if (!meta || meta.kind !== 'rliv-learned-simulator' || !meta.shape || !meta.calibration) {
    throw new ParamsFormatError(`${path}: not a learned-simulator file (meta.kind is ${JSON.stringify(meta?.kind)}); create one with rliv fit-simulator`);
  }
  const expected = catalogFingerprint(catalog);
  for (const [k, v] of Object.entries(meta.catalog ?? {})) {
    if (expected[k] !== v)
      throw new ParamsFormatError(
        `${path}: simulator was trained on a different catalog (${k} ${v} in the file, ${expected[k]} here); load it with the world/catalog it was fitted on`,
      );
  }
  const sim = new LearnedSimulator(catalog, { ...LEGACY_SIMULATOR_SHAPE, ...meta.shape }, 1, calibrationOfFile(meta.calibration, path));
  deserializeParams(bytes, sim.params(), path);
  sim.invalidateCache();
  return sim;
}
