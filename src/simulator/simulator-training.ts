/**
 * Fitting the learned simulator on an interaction log: replay the log to
 * recover what the model would have seen per exposure (f_ua, repetition,
 * position), hold out a share of requests, train the shared trunk with Adam
 * on the multi-behaviour loss (BCE per binary head on its conditioning rows,
 * squared error of log1p(play seconds) on the row's outcome-class head),
 * then fit the play-time spreads and gift-amount moments and report
 * held-out AUC / log-loss per binary behaviour and the watch-time error.
 */
import { PAIR_COUNT_DIM as PAIR_COUNT_DIM_, PC_FOLLOW as PC_FOLLOW_ } from '../data/interaction-kinds.js';
import { Adam, Rng } from '../numeric/index.js';
import type { Catalog } from '../world/catalog.js';
import type { ExposureBatch } from '../world/response.js';
import { logLoss, rocAuc } from './auc.js';
import { allocExposureBatch } from '../environment/environment.js';
import { replayExposures, type InteractionLog, type ReplayedExposures } from '../environment/interaction-log.js';
import { fitSelectionModel, type SelectionFit, type SelectionModel } from './selection-model.js';
import { nonIncreasingFatigue } from './fatigue-prior.js';
import { interceptShift, playShift } from './head-recalibration.js';
import type { PairCountView } from '../world/response.js';
import {
  BINARY_HEADS,
  HEAD_CLICK,
  HEAD_COMMENT,
  HEAD_FOLLOW,
  HEAD_FORWARD,
  HEAD_GIFT,
  HEAD_HATE,
  HEAD_LIKE,
  HEAD_LONG_VIEW,
  HEAD_PLAY_SKIM,
  DEFAULT_SIMULATOR_SHAPE,
  LearnedSimulator,
  OFFSET_BUCKETS,
  OFFSET_AFTER_CHOSEN,
  OFFSET_RANDOM,
  OFFSET_STANDARD,
  OUTPUT_DIM,
  log2Bucket,
  classInterval,
  playClass,
  type LearnedSimulatorShape,
  pairBucketCaps,
  type SimulatorCalibration,
} from './learned-simulator.js';

// Imported constants copied to module locals: hot loops read them as plain constants.
const PAIR_COUNT_DIM = PAIR_COUNT_DIM_;
const PC_FOLLOW = PC_FOLLOW_;

export interface SimulatorTrainingOptions {
  /** Network shape; see learned-simulator.ts. */
  shape: Partial<LearnedSimulatorShape>;
  /** Passes over the training rows. Default 3. */
  epochs: number;
  /** At least this many gradient steps: small logs get more passes. Default 500. */
  minSteps: number;
  /** Rows per gradient step. Default 512. */
  batchSize: number;
  /** Adam learning rate. Default 2e-3. */
  lr: number;
  /** Negatives per standard-log row in the selection model's loss (items drawn from the random log's items). Default 4. */
  selectionNegatives: number;
  /** The selection model's Adam learning rate (it stops early on held-out rows). Default 1e-2. */
  selectionLr: number;
  /**
   * A pair-count bucket is read only when at least this share of the
   * training rows fill it; larger counts read as the highest such bucket
   * (SimulatorCalibration.pairBucketCap, why there). Default 0.001: at the
   * quick preset's million rows, a bucket needs a thousand rows.
   */
  pairBucketMinShare: number;
  /** Share of requests held out for evaluation. Default 0.1. */
  holdoutShare: number;
  /** Seed of initialization, split and shuffling. Default 1. */
  seed: number;
  /** Which f_ua the simulator is fitted on (and must be run with); see PairCountView in world/response.ts. Default `live`. */
  pairCountView: PairCountView;
  /**
   * After training, shift each binary head's logit so that its mean
   * probability over its training rows equals their observed rate, the
   * click head per log source (head-recalibration.ts, why there). Default
   * true.
   */
  recalibrateHeads: boolean;
  /**
   * Called once before training with the number of epochs it will run: at
   * least `epochs`, more when a small log needs them to reach `minSteps`.
   */
  onStart?: (epochs: number) => void;
  /** Called after each epoch (1-based) with the mean training loss (for progress output). */
  onEpoch?: (epoch: number, meanLoss: number) => void;
}

/** Held-out quality of one binary behaviour (marginal probability vs label). */
export interface HeadReport {
  auc: number;
  logLoss: number;
  /** Share of positive labels and mean predicted probability on held-out rows. */
  rate: number;
  predictedRate: number;
  /** Calibration curve: equal-count bins of the predicted probability, each with its observed rate. */
  reliability: Array<{ predicted: number; observed: number; rows: number }>;
}

export interface SimulatorReport {
  trainRows: number;
  heldOutRows: number;
  epochs: number;
  finalTrainLoss: number;
  heads: Record<(typeof BINARY_HEADS)[number], HeadReport>;
  /** Mean absolute error (s) of the expected play time per held-out exposure. */
  watchTimeMaeSec: number;
  /** Mean play time (s) on held-out rows: logged and predicted. */
  watchTimeMeanSec: number;
  watchTimePredictedMeanSec: number;
  calibration: SimulatorCalibration;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** An exposure batch of logged rows: also which of the session's repeats were chosen by the logging policy. */
export type LoggedExposureBatch = ExposureBatch & Required<Pick<ExposureBatch, 'standardLog' | 'chosenRepeatAuthor' | 'chosenRepeatTag'>>;

/** Allocates a {@link LoggedExposureBatch} of the given capacity. */
export function allocLoggedBatch(capacity: number): LoggedExposureBatch {
  return {
    ...allocExposureBatch(capacity),
    standardLog: new Uint8Array(capacity),
    chosenRepeatAuthor: new Float32Array(capacity),
    chosenRepeatTag: new Float32Array(capacity),
  };
}

/** Fills `batch` with the logged rows idx[from, from + n), as logged: users, items, session context (and which repeats were chosen), f_ua and log source. */
export function fillBatch(log: InteractionLog, rep: ReplayedExposures, idx: Int32Array, from: number, n: number, batch: LoggedExposureBatch): void {
  batch.count = n;
  for (let b = 0; b < n; b++) {
    const r = idx[from + b]!;
    batch.user[b] = log.user[r]!;
    batch.item[b] = log.item[r]!;
    batch.repeatAuthor[b] = rep.repeatAuthor[r]!;
    batch.repeatTag[b] = rep.repeatTag[r]!;
    batch.chosenRepeatAuthor[b] = rep.chosenRepeatAuthor[r]!;
    batch.chosenRepeatTag[b] = rep.chosenRepeatTag[r]!;
    batch.position[b] = rep.position[r]!;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) batch.pairCounts[b * PAIR_COUNT_DIM + k] = rep.pairCounts[r * PAIR_COUNT_DIM + k]!;
    // A logged row is answered as what it is: a standard-log row was chosen by the logging policy.
    batch.standardLog[b] = log.fromRandomLog[r] === 1 ? 0 : 1;
  }
}

/**
 * Rows per (repeat kind 0 author / 1 tag, log2 bucket) among `rows` that fit
 * the random log's offsets: random-log rows whose earlier exposures of that
 * author (tag) in the session were all unselected (the rows the fatigue
 * prior counts, fatigue-prior.ts).
 */
export function chanceRepeatRows(log: InteractionLog, rep: ReplayedExposures, rows: Int32Array): [Float64Array, Float64Array] {
  const out: [Float64Array, Float64Array] = [new Float64Array(OFFSET_BUCKETS), new Float64Array(OFFSET_BUCKETS)];
  for (const r of rows) {
    if (log.fromRandomLog[r] !== 1) continue;
    if (rep.chosenRepeatAuthor[r] === 0) out[0][log2Bucket(rep.repeatAuthor[r]!, OFFSET_BUCKETS - 1)]!++;
    if (rep.chosenRepeatTag[r] === 0) out[1][log2Bucket(rep.repeatTag[r]!, OFFSET_BUCKETS - 1)]!++;
  }
  return out;
}

/** Applies the fatigue prior (fatigue-prior.ts) to the random log's offsets of both repeat kinds, given {@link chanceRepeatRows}. */
export function applyFatiguePrior(sim: LearnedSimulator, rows: [Float64Array, Float64Array]): void {
  const off = sim.clickOffsets?.value;
  if (!off || sim.shape.fatigueFrom !== 'unselected') return;
  for (const kind of [0, 1]) {
    const start = sim.offsetIndex(OFFSET_RANDOM, kind, 0);
    off.set(nonIncreasingFatigue(off.subarray(start, start + OFFSET_BUCKETS), rows[kind]!), start);
  }
  sim.invalidateCache();
}

/**
 * Calibration in the large (head-recalibration.ts): per binary head, the
 * logit shift at which its mean probability over its rows among `rows`
 * (those its loss reads, {@link forEachHeadLabel}) equals their rate. The
 * click head is shifted per log source, on every bucket of that source's
 * author-repeat offsets (the standard log's set; the random log's and the
 * after-chosen set, both answering random-log rows), or on the trunk's
 * click bias when the model has no offsets; every other head on its trunk
 * bias. Returns the shifts per head name (`click` = the random log's,
 * `clickStandard` the standard log's; NaN where a head has no rows, or only
 * 0s or only 1s, and is left as it was).
 */
export function recalibrateHeads(
  sim: LearnedSimulator,
  log: InteractionLog,
  rep: ReplayedExposures,
  rows: Int32Array,
  batch: LoggedExposureBatch = allocLoggedBatch(512),
): HeadShifts {
  // Logit buffers: one per head (trunk output k is BINARY_HEADS[k]), plus, when the click has an offset set per
  // log source, the standard log's click rows (slot H); without offsets both sources share one click shift.
  const H = BINARY_HEADS.length;
  const off = sim.clickOffsets?.value;
  const logits = Array.from({ length: H + 1 }, () => new Float32Array(rows.length));
  const n = new Array<number>(H + 1).fill(0),
    pos = new Array<number>(H + 1).fill(0);
  const c = sim.catalog,
    maxRatio = sim.calibration.maxWatchRatio;
  forEachForward(sim, log, rep, rows, batch, (r, y, b) => {
    forEachHeadLabel(c, maxRatio, log, rep, r, (head, label) => {
      const slot = off && head === HEAD_CLICK && log.fromRandomLog[r] !== 1 ? H : head;
      logits[slot]![n[slot]!++] = y[b * OUTPUT_DIM + head]!;
      pos[slot]! += label;
    });
  });
  const shift = logits.map((z, k) => (n[k]! > 0 && pos[k]! > 0 && pos[k]! < n[k]! ? interceptShift(z, n[k]!, pos[k]!) : NaN));
  const bias = sim.mlp.layers[sim.mlp.layers.length - 1]!.bias.value;
  const addToSets = (d: number, sets: number[]): void => {
    for (const set of sets) {
      const start = sim.offsetIndex(set, 0, 0);
      for (let j = 0; j < OFFSET_BUCKETS; j++) off![start + j]! += d;
    }
  };
  for (let k = 0; k <= H; k++) {
    const d = shift[k]!;
    if (!Number.isFinite(d)) continue;
    if (k === H) addToSets(d, [OFFSET_STANDARD]);
    else if (k === HEAD_CLICK && off) addToSets(d, sim.shape.fatigueFrom === 'unselected' ? [OFFSET_RANDOM, OFFSET_AFTER_CHOSEN] : [OFFSET_RANDOM]);
    else bias[k]! += d;
  }
  sim.invalidateCache();
  const out = {} as HeadShifts;
  BINARY_HEADS.forEach((name, k) => (out[name] = shift[k]!));
  out.clickStandard = shift[H]!;
  return out;
}

/** Logit shifts of {@link recalibrateHeads} per binary head (`click`: the random log's rows, `clickStandard`: the standard log's). */
export type HeadShifts = Record<(typeof BINARY_HEADS)[number] | 'clickStandard', number>;

/** Shifts of {@link recalibratePlay} per play class, in log1p(play seconds). */
export type PlayShifts = Record<(typeof PLAY_CLASSES)[number], number>;

/** The play classes in trunk order (outputs HEAD_PLAY_SKIM + 0, 1, 2). */
export const PLAY_CLASSES = ['playSkim', 'playClick', 'playLongView'] as const;

/**
 * Calibration in the large of the play-time heads (head-recalibration.ts
 * {@link playShift}): for each outcome class, the shift of its log1p(play
 * seconds) mean at which the simulator's play draws (Gaussian with the
 * class's fitted spread `sim.calibration.playStd`, clamped to the class's
 * interval) have, over the class's training rows, the rows' observed mean
 * play. Applied to the class's trunk bias. Without it the draws' mean is
 * off by what a Gaussian on log1p(seconds) and the clamps leave over.
 */
export function recalibratePlay(
  sim: LearnedSimulator,
  log: InteractionLog,
  rep: ReplayedExposures,
  rows: Int32Array,
  batch: LoggedExposureBatch = allocLoggedBatch(512),
): PlayShifts {
  const mu = [0, 1, 2].map(() => new Float32Array(rows.length));
  const lo = [0, 1, 2].map(() => new Float64Array(rows.length));
  const hi = [0, 1, 2].map(() => new Float64Array(rows.length));
  const n = [0, 0, 0],
    total = [0, 0, 0],
    lowest = [0, 0, 0],
    highest = [0, 0, 0];
  const c = sim.catalog,
    maxRatio = sim.calibration.maxWatchRatio;
  forEachForward(sim, log, rep, rows, batch, (r, y, b) => {
    const cls = playClass(log.click[r]!, log.longView[r]!);
    const [l, h] = classInterval(cls, c.itemDurationMs[log.item[r]!]!, maxRatio);
    if (l > h) return; // no draw of this class for this duration
    const k = n[cls]!++;
    mu[cls]![k] = y[b * OUTPUT_DIM + HEAD_PLAY_SKIM + cls]!;
    lo[cls]![k] = l;
    hi[cls]![k] = h;
    lowest[cls]! += l;
    highest[cls]! += h;
    // The draw is clamped to the interval; a logged play outside it (a replay past maxRatio) counts at its bound.
    total[cls]! += Math.min(h, Math.max(l, log.playTimeMs[r]!));
  });
  const bias = sim.mlp.layers[sim.mlp.layers.length - 1]!.bias.value;
  const out = {} as PlayShifts;
  PLAY_CLASSES.forEach((name, cls) => {
    // No shift reaches a total at the rows' bounds (e.g. every logged play clamped to them): the class is left as fitted.
    const reachable = n[cls]! > 0 && total[cls]! > lowest[cls]! && total[cls]! < highest[cls]!;
    const d = reachable ? playShift(mu[cls]!, lo[cls]!, hi[cls]!, n[cls]!, sim.calibration.playStd[cls]!, total[cls]!) : NaN;
    if (reachable) bias[HEAD_PLAY_SKIM + cls]! += d;
    out[name] = d;
  });
  sim.invalidateCache();
  return out;
}

/**
 * The binary heads' labels of log row `r`, in the order and under the
 * conditions of the loss: click and hate on every exposure; on a click,
 * long view (when the duration leaves both outcomes possible), like,
 * comment, forward, follow (not yet following) and gift (live authors).
 */
function forEachHeadLabel(
  c: Catalog,
  maxRatio: number,
  log: InteractionLog,
  rep: ReplayedExposures,
  r: number,
  visit: (head: number, label: number) => void,
): void {
  const item = log.item[r]!;
  const click = log.click[r]!;
  visit(HEAD_CLICK, click);
  visit(HEAD_HATE, log.hate[r]!);
  if (!click) return;
  const [lo, hi] = classInterval(1, c.itemDurationMs[item]!, maxRatio);
  if (lo <= hi) visit(HEAD_LONG_VIEW, log.longView[r]!);
  visit(HEAD_LIKE, log.like[r]!);
  visit(HEAD_COMMENT, log.comment[r]!);
  visit(HEAD_FORWARD, log.forward[r]!);
  if (rep.pairCounts[r * PAIR_COUNT_DIM + PC_FOLLOW] === 0) visit(HEAD_FOLLOW, log.follow[r]!);
  if (c.authorIsLive[c.itemAuthor[item]!] === 1) visit(HEAD_GIFT, log.giftAmount[r]! > 0 ? 1 : 0);
}

/**
 * Writes d(loss)/d(output) for the batch into `grad` (n x OUTPUT_DIM) and
 * returns the batch's summed loss / n. Heads are conditioned as in
 * learned-simulator.ts; the loss of each row is divided by the batch size.
 */
function lossAndGrad(
  sim: LearnedSimulator,
  log: InteractionLog,
  rep: ReplayedExposures,
  idx: Int32Array,
  from: number,
  n: number,
  y: Float32Array,
  grad: Float32Array,
): number {
  const c = sim.catalog;
  const maxRatio = sim.calibration.maxWatchRatio;
  let loss = 0;
  grad.fill(0, 0, n * OUTPUT_DIM);
  const inv = 1 / n;
  // The row in the batch that `bce` scores (one closure for the batch, not one per row).
  let b = 0;
  const bce = (head: number, label: number): void => {
    const z = y[b * OUTPUT_DIM + head]!;
    const p = sigmoid(z);
    grad[b * OUTPUT_DIM + head] = (p - label) * inv;
    loss += Math.max(z, 0) - z * label + Math.log1p(Math.exp(-Math.abs(z)));
  };
  for (b = 0; b < n; b++) {
    const r = idx[from + b]!;
    forEachHeadLabel(c, maxRatio, log, rep, r, bce);
    const cls = playClass(log.click[r]!, log.longView[r]!);
    const head = HEAD_PLAY_SKIM + cls;
    const diff = y[b * OUTPUT_DIM + head]! - Math.log1p(log.playTimeMs[r]! / 1000);
    grad[b * OUTPUT_DIM + head] = diff * inv;
    loss += 0.5 * diff * diff;
  }
  return loss * inv;
}

/** What held-out evaluation needs of a fitted model: the single simulator and the ensemble both provide it. */
export interface SimulatorScorer {
  /** Trunk outputs (count x OUTPUT_DIM) for the batch. */
  forward(batch: ExposureBatch): Float32Array;
  /** Marginal probabilities of the binary heads into `out`; returns the expected play seconds. */
  marginals(batch: ExposureBatch, y: Float32Array, e: number, out: Float64Array): number;
}

/** Resolves and checks the fitting options (defaults in {@link SimulatorTrainingOptions}). */
export function simulatorTrainingOptions(options: Partial<SimulatorTrainingOptions>): SimulatorTrainingOptions {
  const o: SimulatorTrainingOptions = {
    shape: options.shape ?? {},
    epochs: options.epochs ?? 3,
    minSteps: options.minSteps ?? 500,
    batchSize: options.batchSize ?? 512,
    lr: options.lr ?? 2e-3,
    selectionNegatives: options.selectionNegatives ?? 4,
    selectionLr: options.selectionLr ?? 1e-2,
    pairBucketMinShare: options.pairBucketMinShare ?? 0.001,
    holdoutShare: options.holdoutShare ?? 0.1,
    seed: options.seed ?? 1,
    pairCountView: options.pairCountView ?? 'live',
    recalibrateHeads: options.recalibrateHeads ?? true,
    onStart: options.onStart,
    onEpoch: options.onEpoch,
  };
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${o.epochs}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${o.batchSize}`);
  if (!(o.pairBucketMinShare >= 0 && o.pairBucketMinShare < 1)) throw new RangeError(`pairBucketMinShare must be in [0, 1), got ${o.pairBucketMinShare}`);
  if (!Number.isInteger(o.selectionNegatives) || o.selectionNegatives < 0)
    throw new RangeError(`selectionNegatives must be an integer >= 0, got ${o.selectionNegatives}`);
  if (!(o.holdoutShare > 0 && o.holdoutShare < 1)) throw new RangeError(`holdoutShare must be in (0, 1), got ${o.holdoutShare}`);
  return o;
}

/** Throws unless the log has enough rows and every row's user and item are in the catalog. */
export function checkLog(log: InteractionLog, catalog: Catalog): void {
  if (log.count < 10) throw new RangeError(`the log has ${log.count} rows; the simulator needs at least 10`);
  for (let r = 0; r < log.count; r++) {
    if (!(log.user[r]! >= 0 && log.user[r]! < catalog.numUsers) || !(log.item[r]! >= 0 && log.item[r]! < catalog.numItems)) {
      throw new RangeError(`log row ${r}: user ${log.user[r]} / item ${log.item[r]} outside the catalog`);
    }
  }
}

/** Splits the rows accepted by `keep` into training and held-out rows by request (a share `holdoutShare` of requests held out). */
export function splitByRequest(
  rep: ReplayedExposures,
  count: number,
  holdoutShare: number,
  rng: Rng,
  keep: (row: number) => boolean = () => true,
): { train: Int32Array; held: Int32Array } {
  const heldRequest = new Uint8Array(rep.requests);
  for (let q = 0; q < rep.requests; q++) heldRequest[q] = rng.uniform() < holdoutShare ? 1 : 0;
  const trainIdx: number[] = [];
  const heldIdx: number[] = [];
  for (let r = 0; r < count; r++) if (keep(r)) (heldRequest[rep.requestId[r]!] ? heldIdx : trainIdx).push(r);
  if (trainIdx.length === 0 || heldIdx.length === 0) throw new RangeError(`the log's ${rep.requests} requests are too few to hold out ${holdoutShare} of them`);
  return { train: Int32Array.from(trainIdx), held: Int32Array.from(heldIdx) };
}

/**
 * Trains one simulator on rows `train` of the log (a row may appear more
 * than once: a bootstrap sample), seeded by `o.seed`; fits the play-time
 * spreads and gift-amount moments on those rows.
 */
export function trainSimulatorOnRows(
  log: InteractionLog,
  rep: ReplayedExposures,
  catalog: Catalog,
  train: Int32Array,
  o: SimulatorTrainingOptions,
  selection: SelectionModel | null = null,
): { simulator: LearnedSimulator; epochs: number; finalTrainLoss: number; headShifts: (HeadShifts & Partial<PlayShifts>) | null } {
  const rng = new Rng(o.seed);
  // Gift amount moments from the training rows.
  let gN = 0,
    gS = 0,
    gS2 = 0;
  for (const r of train) {
    const a = log.giftAmount[r]!;
    if (a > 0) {
      const l = Math.log(a);
      gN++;
      gS += l;
      gS2 += l * l;
    }
  }
  const calibration: SimulatorCalibration = {
    playStd: [0.8, 0.5, 0.6],
    giftLogMean: gN > 0 ? gS / gN : 1.5,
    giftLogStd: gN > 1 ? Math.sqrt(Math.max(1e-4, gS2 / gN - (gS / gN) ** 2)) : 1.0,
    maxWatchRatio: 2,
    // Fixed before training: the rows above a kind's cap train the cap's bucket, as simulated counts will read.
    pairBucketCap: pairBucketCaps(rep.pairCounts, train, o.pairBucketMinShare),
  };
  const sim = new LearnedSimulator(catalog, o.shape, o.seed, calibration);
  // The selection model is fitted beforehand (fitSelectionModel) and held fixed here.
  if (sim.selection) {
    if (!selection || selection.dim !== sim.selection.dim || selection.table.size !== sim.selection.table.size) {
      throw new RangeError(
        `this shape has a selection model (selectionDim ${sim.shape.selectionDim}): pass one fitted by fitSelectionModel with that dim on this catalog`,
      );
    }
    sim.selection.table.value.set(selection.table.value);
  }
  const adam = new Adam(
    sim.params().filter((p) => p !== sim.selection?.table),
    { lr: o.lr },
  );
  const B = o.batchSize;
  const batch = allocLoggedBatch(B);
  const grad = new Float32Array(B * OUTPUT_DIM);
  const rows = new Int32Array(B * sim.lookups);
  const x = new Float32Array(B * sim.inputDim);
  const shuffleRng = rng.fork('shuffle');
  let lastLoss = NaN;
  const epochs = Math.max(o.epochs, Math.ceil(o.minSteps / Math.ceil(train.length / B)));
  o.onStart?.(epochs);
  for (let epoch = 0; epoch < epochs; epoch++) {
    shuffleRng.shuffle(train);
    let sum = 0;
    let steps = 0;
    for (let from = 0; from < train.length; from += B) {
      const n = Math.min(B, train.length - from);
      fillBatch(log, rep, train, from, n, batch);
      const standardLog = batch.standardLog!;
      sim.encode(n, batch.user, batch.item, batch.pairCounts, batch.repeatAuthor, batch.repeatTag, batch.position, rows, standardLog);
      sim.gatherInput(rows, n, x);
      const y = sim.mlp.forward(x, n);
      sim.addClickOffsets(n, batch, standardLog, y);
      sum += lossAndGrad(sim, log, rep, train, from, n, y, grad);
      sim.clickOffsetsBackward(n, batch, standardLog, grad);
      const dx = sim.mlp.backward(grad, n);
      sim.scatterGrad(rows, n, dx, x);
      adam.step();
      adam.zeroGrad();
      steps++;
    }
    lastLoss = sum / steps;
    if (!Number.isFinite(lastLoss)) throw new Error(`simulator training diverged at epoch ${epoch + 1} (loss ${lastLoss}); lower the learning rate`);
    o.onEpoch?.(epoch + 1, lastLoss);
  }

  applyFatiguePrior(sim, chanceRepeatRows(log, rep, train));
  const headShifts = o.recalibrateHeads ? recalibrateHeads(sim, log, rep, train, batch) : null;
  sim.invalidateCache();
  // Play-time spread per outcome class from training residuals (up to 100k rows).
  const resid = [
    [0, 0],
    [0, 0],
    [0, 0],
  ] as [number, number][];
  const sample = train.subarray(0, Math.min(train.length, 100_000));
  forEachForward(sim, log, rep, sample, batch, (r, y, b) => {
    const cls = playClass(log.click[r]!, log.longView[r]!);
    const d = y[b * OUTPUT_DIM + HEAD_PLAY_SKIM + cls]! - Math.log1p(log.playTimeMs[r]! / 1000);
    resid[cls]![0]++;
    resid[cls]![1] += d * d;
  });
  for (let c = 0; c < 3; c++) if (resid[c]![0] > 1) calibration.playStd[c] = Math.max(0.05, Math.sqrt(resid[c]![1] / resid[c]![0]));
  sim.calibration = calibration;
  // With the spreads known, the play draws' mean per class (calibration in the large, as the binary heads above).
  const playShifts = o.recalibrateHeads ? recalibratePlay(sim, log, rep, train, batch) : null;
  return { simulator: sim, epochs, finalTrainLoss: lastLoss, headShifts: headShifts && playShifts ? { ...headShifts, ...playShifts } : headShifts };
}

/** Held-out quality of a fitted model on rows `held`: AUC, log-loss and rates per binary head, watch-time error. */
export function heldOutReport(
  model: SimulatorScorer,
  log: InteractionLog,
  rep: ReplayedExposures,
  held: Int32Array,
  batchSize = 512,
): Pick<SimulatorReport, 'heads' | 'watchTimeMaeSec' | 'watchTimeMeanSec' | 'watchTimePredictedMeanSec'> {
  const batch = allocLoggedBatch(batchSize);
  const H = held.length;
  const preds = BINARY_HEADS.map(() => new Float64Array(H));
  const labels = BINARY_HEADS.map(() => new Uint8Array(H));
  const m = new Float64Array(BINARY_HEADS.length);
  let mae = 0,
    meanTrue = 0,
    meanPred = 0,
    h = 0;
  forEachForward(model, log, rep, held, batch, (r, y, b) => {
    const expected = model.marginals(batch, y, b, m);
    for (let k = 0; k < BINARY_HEADS.length; k++) preds[k]![h] = m[k]!;
    labels[0]![h] = log.click[r]!;
    labels[1]![h] = log.longView[r]!;
    labels[2]![h] = log.like[r]!;
    labels[3]![h] = log.follow[r]!;
    labels[4]![h] = log.comment[r]!;
    labels[5]![h] = log.forward[r]!;
    labels[6]![h] = log.hate[r]!;
    labels[7]![h] = log.giftAmount[r]! > 0 ? 1 : 0;
    const actual = log.playTimeMs[r]! / 1000;
    mae += Math.abs(expected - actual);
    meanTrue += actual;
    meanPred += expected;
    h++;
  });
  const heads = {} as SimulatorReport['heads'];
  BINARY_HEADS.forEach((name, k) => {
    let pos = 0,
      pred = 0;
    for (let i = 0; i < H; i++) {
      pos += labels[k]![i]!;
      pred += preds[k]![i]!;
    }
    heads[name] = {
      auc: rocAuc(preds[k]!, labels[k]!, H),
      logLoss: logLoss(preds[k]!, labels[k]!, H),
      rate: pos / H,
      predictedRate: pred / H,
      reliability: reliabilityBins(preds[k]!, labels[k]!, H),
    };
  });
  return { heads, watchTimeMaeSec: mae / H, watchTimeMeanSec: meanTrue / H, watchTimePredictedMeanSec: meanPred / H };
}

/**
 * A calibration curve: rows sorted by predicted probability and cut into
 * (up to) `bins` equal-count bins; each bin's mean prediction and observed rate.
 */
export function reliabilityBins(pred: Float64Array, label: Uint8Array, n: number, bins = 10): Array<{ predicted: number; observed: number; rows: number }> {
  if (n === 0) return [];
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => pred[a]! - pred[b]!);
  const out: Array<{ predicted: number; observed: number; rows: number }> = [];
  const k = Math.min(bins, n);
  for (let b = 0; b < k; b++) {
    const from = Math.floor((b * n) / k),
      to = Math.floor(((b + 1) * n) / k);
    let p = 0,
      y = 0;
    for (let i = from; i < to; i++) {
      p += pred[order[i]!]!;
      y += label[order[i]!]!;
    }
    out.push({ predicted: p / (to - from), observed: y / (to - from), rows: to - from });
  }
  return out;
}

/** The selection model of the shape (null when `selectionDim` is 0), fitted on `train` and stopped on `validation`. */
export function fitSelectionFor(
  log: InteractionLog,
  catalog: Catalog,
  train: Int32Array,
  validation: Int32Array,
  o: SimulatorTrainingOptions,
): SelectionFit | null {
  const dim = o.shape.selectionDim ?? DEFAULT_SIMULATOR_SHAPE.selectionDim;
  if (dim === 0) return null;
  return fitSelectionModel(log, catalog, train, validation, {
    dim,
    lr: o.selectionLr,
    negatives: o.selectionNegatives,
    batchSize: o.batchSize,
    seed: new Rng(o.seed).fork('selection').seed,
  });
}

/** Trains a simulator on `log` (dense ids of `catalog`) and evaluates it on held-out requests. */
export function fitSimulator(
  log: InteractionLog,
  catalog: Catalog,
  options: Partial<SimulatorTrainingOptions> = {},
): { simulator: LearnedSimulator; report: SimulatorReport } {
  const o = simulatorTrainingOptions(options);
  checkLog(log, catalog);
  const rng = new Rng(o.seed);
  const rep = replayExposures(log, catalog, { pairCountView: o.pairCountView });
  const { train, held } = splitByRequest(rep, log.count, o.holdoutShare, rng.fork('split'));
  const selection = fitSelectionFor(log, catalog, train, held, o);
  const fit = trainSimulatorOnRows(log, rep, catalog, train, o, selection?.model ?? null);
  const quality = heldOutReport(fit.simulator, log, rep, held);
  return {
    simulator: fit.simulator,
    report: {
      trainRows: train.length,
      heldOutRows: held.length,
      epochs: fit.epochs,
      finalTrainLoss: fit.finalTrainLoss,
      ...quality,
      calibration: fit.simulator.calibration,
    },
  };
}

/** Runs the trunk over rows `idx` in batches; calls `visit(row, outputs, indexInBatch)` for each. */
function forEachForward(
  sim: SimulatorScorer,
  log: InteractionLog,
  rep: ReplayedExposures,
  idx: Int32Array,
  batch: LoggedExposureBatch,
  visit: (row: number, y: Float32Array, b: number) => void,
): void {
  const B = batch.user.length;
  for (let from = 0; from < idx.length; from += B) {
    const n = Math.min(B, idx.length - from);
    fillBatch(log, rep, idx, from, n, batch);
    const y = sim.forward(batch);
    for (let b = 0; b < n; b++) visit(idx[from + b]!, y, b);
  }
}
