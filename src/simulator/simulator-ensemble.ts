/**
 * The pessimistic ensemble simulator: the offline environment agents are
 * trained and evaluated in (docs/design.md, the offline instrument).
 *
 * K learned simulators (learned-simulator.ts), each fitted on a bootstrap
 * over USERS of the standard log with its own seed, answer every exposure.
 * Their trunk outputs are averaged head by head (logits of the binary
 * heads, log1p play seconds of the play heads), except the click head,
 * which is made pessimistic where the members disagree (MOPO, Yu et al.
 * 2020; DORL on KuaiRand):
 *
 *   p_k  = sigmoid(click logit of member k)
 *   p*   = clamp(mean_k p_k - lambda * std_k p_k, P_FLOOR, 1 - P_FLOOR)
 *
 * Every other behaviour (long view, like, follow, gift, play time) is
 * conditioned on the click, so the penalty reaches the session's refunds
 * and watch time through it. The same rule, with the same lambda, applies
 * to every policy.
 *
 * The members are fitted on the standard log and on the random log of a
 * share of users (`randomTrainShare`, see there why); the other users'
 * random log is held out. lambda is chosen from the logs alone (never from
 * a trained model's result, never from the world): it is the smallest value >= 0 at which the ensemble's mean p*
 * over the held-out random log's exposures equals their observed click
 * rate ({@link pessimismLambda}). The random log is the one record of what
 * users do with items the production policy would not show — exactly where
 * a simulator fitted on the standard log over-predicts.
 *
 * f_ua is read as of the session's start (`pairCountView = 'session-start'`):
 * the members are fitted on the replayed logs with the same view, so a
 * policy's own clicks in a session cannot raise that session's predicted
 * clicks (the in-session feedback loop of the single simulator).
 *
 * Where f_ua starts (`pairHistory`): `logs` = every pair at zero on its
 * first logged row (all KuaiRand ships), `lifelong` = the platform's
 * lifelong user-author counters at the logs' start (`pairsAtStart`), then
 * the logs. An environment answered by the ensemble must start from the
 * same counters: a `lifelong` ensemble's from those counters and the logs,
 * a `logs` one's from the logs alone (docs/design.md §10.2).
 */
import { readFileSync } from 'node:fs';
import { ParamsFormatError, Param, Rng, deserializeParams, readParamsMeta, saveParams } from '../numeric/index.js';
import type { Catalog } from '../world/catalog.js';
import type { ExposureBatch, PairCountView, ResponseBatch, ResponseModel } from '../world/response.js';
import { PAIR_COUNT_DIM, PAIR_COUNT_KINDS, PC_CLICK, type PairCountKind } from '../data/interaction-kinds.js';
import { allocExposureBatch } from '../environment/environment.js';
import { replayExposures, type InteractionLog, type PairsAtStart, type ReplayedExposures } from '../environment/interaction-log.js';
import {
  HEAD_CLICK,
  LEGACY_SIMULATOR_SHAPE,
  LearnedSimulator,
  OUTPUT_DIM,
  calibrationOfFile,
  catalogFingerprint,
  checkExposures,
  marginalsOf,
  sampleResponses,
  type LearnedSimulatorShape,
  type SimulatorCalibration,
} from './learned-simulator.js';
import {
  allocLoggedBatch,
  checkLog,
  fitSelectionFor,
  fillBatch,
  heldOutReport,
  reliabilityBins,
  simulatorTrainingOptions,
  splitByRequest,
  trainSimulatorOnRows,
  type SimulatorReport,
  type SimulatorScorer,
  type SimulatorTrainingOptions,
  type HeadShifts,
} from './simulator-training.js';

/** Smallest / largest click probability the pessimistic rule returns (keeps the logit finite). */
export const P_FLOOR = 1e-6;
/** Default number of members. */
export const DEFAULT_ENSEMBLE_MEMBERS = 5;

/** p* of one exposure: the members' mean click probability lowered by lambda standard deviations, clamped. */
export function pessimisticProbability(mean: number, std: number, lambda: number): number {
  const p = mean - lambda * std;
  return p < P_FLOOR ? P_FLOOR : p > 1 - P_FLOOR ? 1 - P_FLOOR : p;
}

/**
 * The pessimism lambda of the file comment: the smallest lambda >= 0 with
 * mean over rows of p*(lambda) <= `observedRate` (bisection; mean p* falls
 * monotonically in lambda). 0 when the ensemble does not over-predict.
 * Capped at `maxLambda` (returned when even it does not reach the rate).
 */
export function pessimismLambda(mean: ArrayLike<number>, std: ArrayLike<number>, observedRate: number, maxLambda = 20): number {
  const n = mean.length;
  if (n === 0) throw new RangeError('pessimismLambda needs at least one exposure');
  if (!(observedRate >= 0 && observedRate <= 1)) throw new RangeError(`observed rate must be in [0, 1], got ${observedRate}`);
  const rateAt = (lambda: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += pessimisticProbability(mean[i]!, std[i]!, lambda);
    return s / n;
  };
  if (rateAt(0) <= observedRate) return 0;
  if (rateAt(maxLambda) > observedRate) return maxLambda;
  let lo = 0,
    hi = maxLambda;
  for (let it = 0; it < 50; it++) {
    const mid = (lo + hi) / 2;
    if (rateAt(mid) > observedRate) lo = mid;
    else hi = mid;
  }
  return hi;
}

export interface SimulatorEnsembleOptions {
  /** The pessimism lambda (see the file comment). Default 0. */
  lambda: number;
  /** Which f_ua the members were fitted on. Default `session-start`. */
  pairCountView: PairCountView;
  /** Where the members' f_ua started: `logs` (at zero on the first logged row) or `lifelong` (the counters at the logs' start). Default `logs`. */
  pairHistory: PairHistory;
}

/** Where a simulator's pair counts f_ua start (see the file comment). */
export type PairHistory = 'logs' | 'lifelong';

export class SimulatorEnsemble implements ResponseModel, SimulatorScorer {
  readonly pairCountView: PairCountView;
  /** Where the members' f_ua started (see the file comment): an environment it answers must start from the same counters. */
  readonly pairHistory: PairHistory;
  /** Pessimism weight of the members' disagreement on the click probability. */
  lambda: number;
  /** Play-time spreads and gift moments: the members' mean. */
  readonly calibration: SimulatorCalibration;
  private y = new Float32Array(0);
  /** Per exposure of the last {@link forward}: members' mean and std of the click probability. */
  private clickMean = new Float32Array(0);
  private clickStd = new Float32Array(0);

  constructor(
    readonly catalog: Catalog,
    readonly members: LearnedSimulator[],
    options: Partial<SimulatorEnsembleOptions> = {},
  ) {
    if (members.length === 0) throw new RangeError('a simulator ensemble needs at least one member');
    this.lambda = options.lambda ?? 0;
    if (!(Number.isFinite(this.lambda) && this.lambda >= 0)) throw new RangeError(`the pessimism lambda must be finite and >= 0, got ${this.lambda}`);
    this.pairCountView = options.pairCountView ?? 'session-start';
    this.pairHistory = options.pairHistory ?? 'logs';
    if (this.pairHistory !== 'logs' && this.pairHistory !== 'lifelong')
      throw new RangeError(`pairHistory must be "logs" or "lifelong", got ${JSON.stringify(this.pairHistory)}`);
    const k = members.length;
    const mean = (f: (c: SimulatorCalibration) => number) => members.reduce((a, m) => a + f(m.calibration), 0) / k;
    this.calibration = {
      playStd: [mean((c) => c.playStd[0]), mean((c) => c.playStd[1]), mean((c) => c.playStd[2])],
      giftLogMean: mean((c) => c.giftLogMean),
      giftLogStd: mean((c) => c.giftLogStd),
      maxWatchRatio: members[0]!.calibration.maxWatchRatio,
      // Each member reads its own caps; the ensemble's are the buckets every member reads.
      pairBucketCap: members[0]!.calibration.pairBucketCap.map((_, k) => Math.min(...members.map((m) => m.calibration.pairBucketCap[k]!))),
    };
  }

  /**
   * Combined trunk outputs (count x OUTPUT_DIM): the members' mean per head,
   * with the click logit replaced by logit(p*). Also records each exposure's
   * click mean and disagreement ({@link disagreement}).
   */
  forward(batch: ExposureBatch): Float32Array {
    const n = batch.count;
    const K = this.members.length;
    if (this.y.length < n * OUTPUT_DIM) {
      this.y = new Float32Array(n * OUTPUT_DIM * 2);
      this.clickMean = new Float32Array(n * 2);
      this.clickStd = new Float32Array(n * 2);
    }
    const y = this.y,
      cm = this.clickMean,
      cs = this.clickStd;
    y.fill(0, 0, n * OUTPUT_DIM);
    cm.fill(0, 0, n);
    cs.fill(0, 0, n);
    const inv = 1 / K;
    for (const member of this.members) {
      const ym = member.forward(batch); // the member's own buffer: consumed before the next member runs
      for (let i = 0; i < n * OUTPUT_DIM; i++) y[i]! += ym[i]! * inv;
      for (let e = 0; e < n; e++) {
        const p = 1 / (1 + Math.exp(-ym[e * OUTPUT_DIM + HEAD_CLICK]!));
        cm[e]! += p;
        cs[e]! += p * p; // sum of squares for now
      }
    }
    // A single member without pessimism keeps its own click logit bit for bit (logit(sigmoid(z)) is not z in float).
    const replaceClick = K > 1 || this.lambda > 0;
    for (let e = 0; e < n; e++) {
      const m = cm[e]! * inv;
      const v = cs[e]! * inv - m * m;
      cm[e] = m;
      cs[e] = v > 0 ? Math.sqrt(v) : 0;
      if (!replaceClick) continue;
      const p = pessimisticProbability(m, cs[e]!, this.lambda);
      y[e * OUTPUT_DIM + HEAD_CLICK] = Math.log(p / (1 - p));
    }
    return y;
  }

  /** The members' click-probability mean and standard deviation per exposure of the last {@link forward} (views, valid until the next call). */
  disagreement(count: number): { mean: Float32Array; std: Float32Array } {
    return { mean: this.clickMean.subarray(0, count), std: this.clickStd.subarray(0, count) };
  }

  respond(batch: ExposureBatch, rng: Rng, out: ResponseBatch): void {
    checkExposures(this.catalog, batch, out);
    sampleResponses(this.catalog, this.calibration, batch, this.forward(batch), rng, out);
  }

  marginals(batch: ExposureBatch, y: Float32Array, e: number, out: Float64Array): number {
    return marginalsOf(this.catalog, this.calibration, batch, y, e, out);
  }

  /** The click probability the simulator samples from (p*), per exposure of `batch`, into `out`. */
  expectedClickProbabilities(batch: ExposureBatch, out: Float32Array): Float32Array {
    const y = this.forward(batch);
    for (let e = 0; e < batch.count; e++) out[e] = 1 / (1 + Math.exp(-y[e * OUTPUT_DIM + HEAD_CLICK]!));
    return out;
  }

  /** Saves every member, the pessimism and the f_ua view in one params-io file (atomic). */
  save(path: string, extraMeta: Record<string, unknown> = {}): void {
    const params = this.members.flatMap((m, k) => m.params().map((p) => new Param({ name: `member${k}.${p.name}`, shape: p.shape, value: p.value })));
    saveParams(path, params, {
      kind: ENSEMBLE_KIND,
      version: 1,
      members: this.members.length,
      shape: this.members[0]!.shape,
      calibrations: this.members.map((m) => m.calibration),
      lambda: this.lambda,
      pairCountView: this.pairCountView,
      pairHistory: this.pairHistory,
      catalog: catalogFingerprint(this.catalog),
      ...extraMeta,
    });
  }
}

const ENSEMBLE_KIND = 'rliv-simulator-ensemble';

/**
 * Loads an ensemble saved by {@link SimulatorEnsemble.save} (or `rliv
 * fit-simulator`); a single learned-simulator file loads as a one-member
 * ensemble without pessimism, reading live f_ua as it was fitted.
 * Throws a ParamsFormatError naming the file when it is neither, is
 * corrupt, or was fitted on another catalog.
 */
export function loadSimulatorEnsemble(path: string, catalog: Catalog): SimulatorEnsemble {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ParamsFormatError(`cannot read simulator file ${path}: ${(err as Error).message}`);
  }
  const meta = readParamsMeta(bytes, path) as {
    kind?: string;
    members?: number;
    shape?: LearnedSimulatorShape;
    calibrations?: SimulatorCalibration[];
    calibration?: SimulatorCalibration;
    lambda?: number;
    pairCountView?: PairCountView;
    pairHistory?: PairHistory;
    catalog?: Record<string, number>;
  } | null;
  if (meta?.kind === 'rliv-learned-simulator') {
    const single = new LearnedSimulator(
      catalog,
      { ...LEGACY_SIMULATOR_SHAPE, ...meta.shape },
      1,
      meta.calibration ? calibrationOfFile(meta.calibration, path) : undefined,
    );
    checkFingerprint(path, meta.catalog, catalog);
    deserializeParams(bytes, single.params(), path);
    single.invalidateCache();
    return new SimulatorEnsemble(catalog, [single], { lambda: 0, pairCountView: 'live' });
  }
  if (!meta || meta.kind !== ENSEMBLE_KIND || !meta.shape || !Array.isArray(meta.calibrations) || meta.calibrations.length !== meta.members) {
    throw new ParamsFormatError(`${path}: not a learned-simulator file (meta.kind is ${JSON.stringify(meta?.kind)}); create one with rliv fit-simulator`);
  }
  checkFingerprint(path, meta.catalog, catalog);
  const members = meta.calibrations.map((c) => new LearnedSimulator(catalog, { ...LEGACY_SIMULATOR_SHAPE, ...meta.shape }, 1, calibrationOfFile(c, path)));
  const aliases = members.flatMap((m, k) => m.params().map((p) => new Param({ name: `member${k}.${p.name}`, shape: p.shape, value: p.value })));
  deserializeParams(bytes, aliases, path);
  for (const m of members) m.invalidateCache();
  return new SimulatorEnsemble(catalog, members, {
    lambda: meta.lambda ?? 0,
    pairCountView: meta.pairCountView ?? 'session-start',
    pairHistory: meta.pairHistory ?? 'logs',
  });
}

function checkFingerprint(path: string, saved: Record<string, number> | undefined, catalog: Catalog): void {
  const expected = catalogFingerprint(catalog);
  for (const [k, v] of Object.entries(saved ?? {})) {
    if (expected[k] !== v)
      throw new ParamsFormatError(
        `${path}: simulator was trained on a different catalog (${k} ${v} in the file, ${expected[k]} here); load it with the world/catalog it was fitted on`,
      );
  }
}

export interface EnsembleFitOptions extends SimulatorTrainingOptions {
  /** Members K (each: its own seed and bootstrap over users). Default 5. */
  members: number;
  /** Quantile of the members' disagreement reported as the high-disagreement threshold tau (held-out logged exposures). Default 0.99. */
  disagreementQuantile: number;
  /**
   * Share of the random log's requests that join the members' training
   * rows; the other random-log requests are held out (lambda and
   * validation). Default 0.5. 0 = train on the standard log alone.
   *
   * Why not 0: fitted on the standard log alone, the members predict a mean
   * click of 0.49 on the random log's exposures where users clicked 0.19
   * (quick preset), and they AGREE there (mean disagreement 0.063 off the
   * logging distribution, 0.057 on it): the logging policy's selection on
   * affinity is a bias every member shares, not an uncertainty a
   * disagreement penalty can find. The random log is the only record of
   * what users do with items the production policy would not show.
   */
  randomTrainShare: number;
  /**
   * What each member resamples: `users` (every user's whole history, drawn
   * with replacement) or `rows` (exposures drawn with replacement). Default
   * `users`.
   */
  bootstrap: 'users' | 'rows';
  /** Called when a member is fitted (for progress output). */
  onMember?: (member: number) => void;
  /**
   * The platform's lifelong pair counters at the logs' start: the members'
   * f_ua start from them, and the ensemble is a `lifelong` one. Absent =
   * the counts start at the logs (`logs`).
   */
  pairsAtStart?: PairsAtStart;
}

/** How the click model of the ensemble does on one set of held-out rows. */
export interface ClickCheck {
  rows: number;
  /** Observed click rate. */
  observed: number;
  /** Members' mean click probability (no pessimism) and the pessimistic p*, averaged over the rows. */
  predictedMean: number;
  predictedPessimistic: number;
  /** Mean disagreement (std of the members' click probabilities). */
  meanDisagreement: number;
  /** Calibration curve of p* (equal-count bins). */
  reliability: Array<{ predicted: number; observed: number; rows: number }>;
}

export interface EnsembleReport {
  members: number;
  /** Standard-log rows trained on per member (with bootstrap repeats) and held out. */
  trainRows: number[];
  heldOutRows: number;
  /** Rows of the random log held out of every fit (validation and lambda), and rows of it trained on. */
  randomRows: number;
  randomTrainRows: number;
  pairCountView: PairCountView;
  /** Where the members' f_ua started (see the file comment). */
  pairHistory: PairHistory;
  lambda: number;
  /** How lambda was chosen. */
  lambdaRule: string;
  /** tau: the `disagreementQuantile` quantile of the disagreement on held-out logged exposures (standard and random). */
  disagreementThreshold: number;
  disagreementQuantile: number;
  /** Held-out standard-log quality of the (pessimistic) ensemble, per head. */
  standard: Omit<SimulatorReport, 'trainRows' | 'heldOutRows' | 'epochs' | 'finalTrainLoss' | 'calibration'>;
  /** Quality on the random log (train on standard, validate on random), per head; absent without a random log. */
  random?: Omit<SimulatorReport, 'trainRows' | 'heldOutRows' | 'epochs' | 'finalTrainLoss' | 'calibration'>;
  /** Click model on held-out standard rows and on the random log: before and after pessimism. */
  clickStandard: ClickCheck;
  clickRandom?: ClickCheck;
  /** Per member: held-out standard-log click AUC (each member alone). */
  memberClickAuc: number[];
  /** Per pair-count kind, the highest log2 bucket every member reads (SimulatorCalibration.pairBucketCap) and the count it starts at: larger counts read as it. */
  pairBucketCap: Record<PairCountKind, { bucket: number; fromCount: number }>;
  /** The share of training rows a bucket needs to be read (SimulatorTrainingOptions.pairBucketMinShare). */
  pairBucketMinShare: number;
  /** Per member: the logit shifts of its calibration in the large (head-recalibration.ts); absent when not recalibrated. */
  headShifts?: HeadShifts[];
  /**
   * The selection model shared by the members (absent when `selectionDim`
   * is 0): passes run and kept, its AUC on the held-out rows (standard-log
   * exposures against random-log ones), and each member's click-logit
   * weights of r for a random-log (what simulation uses) and a
   * standard-log exposure.
   */
  selection?: {
    dim: number;
    epochs: number;
    bestEpoch: number;
    validationAuc: number;
    validationLoss: number[];
    weightRandom: number[];
    weightStandard: number[];
  };
}

/**
 * Fits the ensemble of the file comment on `log`: members on bootstraps over
 * users of the standard log's training requests; the random log (rows with
 * `fromRandomLog`) and a share of standard requests held out; lambda fitted
 * on the random log; quality reported on both.
 */
export function fitSimulatorEnsemble(
  log: InteractionLog,
  catalog: Catalog,
  options: Partial<EnsembleFitOptions> = {},
): { ensemble: SimulatorEnsemble; report: EnsembleReport } {
  const base = simulatorTrainingOptions({ pairCountView: 'session-start', ...options });
  const K = options.members ?? DEFAULT_ENSEMBLE_MEMBERS;
  const q = options.disagreementQuantile ?? 0.99;
  const randomShare = options.randomTrainShare ?? 0.5;
  const bootstrap = options.bootstrap ?? 'users';
  if (bootstrap !== 'users' && bootstrap !== 'rows') throw new RangeError(`bootstrap must be "users" or "rows", got ${JSON.stringify(bootstrap)}`);
  if (!(randomShare >= 0 && randomShare < 1)) throw new RangeError(`randomTrainShare must be in [0, 1), got ${randomShare}`);
  if (!(Number.isInteger(K) && K >= 1 && K <= 32)) throw new RangeError(`members must be an integer in [1, 32], got ${K}`);
  if (!(q > 0 && q < 1)) throw new RangeError(`disagreementQuantile must be in (0, 1), got ${q}`);
  checkLog(log, catalog);
  const rng = new Rng(base.seed);
  const rep = replayExposures(log, catalog, { pairCountView: base.pairCountView, ...(options.pairsAtStart ? { pairsAtStart: options.pairsAtStart } : {}) });
  const { train, held } = splitByRequest(rep, log.count, base.holdoutShare, rng.fork('split'), (r) => log.fromRandomLog[r] === 0);
  // The random log, split by request: a share of its requests joins the training rows, the rest is held out.
  const randomRequestRng = rng.fork('random-log-requests');
  const randomTrainRequest = new Uint8Array(rep.requests);
  for (let q = 0; q < rep.requests; q++) randomTrainRequest[q] = randomRequestRng.uniform() < randomShare ? 1 : 0;
  const randomRows: number[] = [];
  const trainRowsAll = Array.from(train);
  let randomTrainRows = 0;
  for (let r = 0; r < log.count; r++) {
    if (log.fromRandomLog[r] !== 1) continue;
    if (randomTrainRequest[rep.requestId[r]!]) {
      trainRowsAll.push(r);
      randomTrainRows++;
    } else randomRows.push(r);
  }
  const random = Int32Array.from(randomRows);

  // Rows of each user among the training rows, for the bootstrap over users.
  const byUser = new Map<number, number[]>();
  for (const r of trainRowsAll) {
    const u = log.user[r]!;
    let list = byUser.get(u);
    if (!list) byUser.set(u, (list = []));
    list.push(r);
  }
  const users = [...byUser.keys()].sort((a, b) => a - b);
  // One selection model for every member, on all training rows, stopped on the held-out standard and random rows.
  const selection = fitSelectionFor(log, catalog, Int32Array.from(trainRowsAll), Int32Array.from([...held, ...random]), base);
  const members: LearnedSimulator[] = [];
  const trainRows: number[] = [];
  const headShifts: HeadShifts[] = [];
  for (let k = 0; k < K; k++) {
    const boot = rng.fork(`bootstrap-${k}`);
    const rows: number[] = [];
    // K = 1 is the plain fit (no resampling); otherwise users (or rows) are drawn with replacement.
    if (K > 1 && bootstrap === 'rows') for (let j = 0; j < trainRowsAll.length; j++) rows.push(trainRowsAll[boot.int(trainRowsAll.length)]!);
    else for (let j = 0; j < users.length; j++) for (const r of byUser.get(K === 1 ? users[j]! : users[boot.int(users.length)]!)!) rows.push(r);
    const fit = trainSimulatorOnRows(log, rep, catalog, Int32Array.from(rows), { ...base, seed: rng.fork(`member-${k}`).seed }, selection?.model ?? null);
    members.push(fit.simulator);
    if (fit.headShifts) headShifts.push(fit.headShifts);
    trainRows.push(rows.length);
    options.onMember?.(k + 1);
  }
  const pairHistory: PairHistory = options.pairsAtStart ? 'lifelong' : 'logs';
  const ensemble = new SimulatorEnsemble(catalog, members, { lambda: 0, pairCountView: base.pairCountView, pairHistory });

  const randomClicks = random.length > 0 ? clickStats(ensemble, log, rep, random) : undefined;
  let lambdaRule = 'no random log: lambda = 0 (no pessimism)';
  if (randomClicks) {
    ensemble.lambda = pessimismLambda(randomClicks.mean, randomClicks.std, randomClicks.observed);
    lambdaRule = `smallest lambda >= 0 at which the mean pessimistic click probability over the ${random.length} random-log exposures equals their observed click rate ${randomClicks.observed.toFixed(4)}`;
  }
  const standardClicks = clickStats(ensemble, log, rep, held);
  const allStd = Float64Array.from([...standardClicks.std, ...(randomClicks?.std ?? [])]).sort();
  const tau = quantileOfSorted(allStd, q);
  const memberClickAuc = members.map((m) => heldOutReport(m, log, rep, held).heads.click.auc);
  const report: EnsembleReport = {
    members: K,
    trainRows,
    heldOutRows: held.length,
    randomRows: random.length,
    randomTrainRows,
    pairCountView: base.pairCountView,
    pairHistory,
    lambda: ensemble.lambda,
    lambdaRule,
    disagreementThreshold: tau,
    disagreementQuantile: q,
    standard: heldOutReport(ensemble, log, rep, held),
    ...(random.length > 0 ? { random: heldOutReport(ensemble, log, rep, random) } : {}),
    clickStandard: clickCheck(standardClicks, ensemble.lambda),
    ...(randomClicks ? { clickRandom: clickCheck(randomClicks, ensemble.lambda) } : {}),
    memberClickAuc,
    pairBucketCap: Object.fromEntries(
      ensemble.calibration.pairBucketCap.map((bucket, k) => [PAIR_COUNT_KINDS[k]!, { bucket, fromCount: bucket === 0 ? 0 : 2 ** (bucket - 1) }]),
    ) as EnsembleReport['pairBucketCap'],
    pairBucketMinShare: base.pairBucketMinShare,
    ...(headShifts.length === K ? { headShifts } : {}),
    ...(selection
      ? {
          selection: {
            dim: selection.model.dim,
            epochs: selection.epochs,
            bestEpoch: selection.bestEpoch,
            validationAuc: selection.validationAuc,
            validationLoss: selection.validationLoss,
            weightRandom: members.map((m) => m.selectionWeight!.value[0]!),
            weightStandard: members.map((m) => m.selectionWeight!.value[1]!),
          },
        }
      : {}),
  };
  return { ensemble, report };
}

interface ClickStats {
  mean: Float64Array;
  std: Float64Array;
  labels: Uint8Array;
  observed: number;
}

/** Members' click mean and disagreement on rows `idx` of the log. */
function clickStats(ensemble: SimulatorEnsemble, log: InteractionLog, rep: ReplayedExposures, idx: Int32Array): ClickStats {
  const n = idx.length;
  const mean = new Float64Array(n),
    std = new Float64Array(n),
    labels = new Uint8Array(n);
  const B = 1024;
  const batch = allocLoggedBatch(B);
  let clicks = 0;
  for (let from = 0; from < n; from += B) {
    const m = Math.min(B, n - from);
    fillBatch(log, rep, idx, from, m, batch);
    ensemble.forward(batch);
    const d = ensemble.disagreement(m);
    for (let b = 0; b < m; b++) {
      mean[from + b] = d.mean[b]!;
      std[from + b] = d.std[b]!;
      labels[from + b] = log.click[idx[from + b]!]!;
      clicks += labels[from + b]!;
    }
  }
  return { mean, std, labels, observed: n > 0 ? clicks / n : NaN };
}

function clickCheck(s: ClickStats, lambda: number): ClickCheck {
  const n = s.mean.length;
  const pess = new Float64Array(n);
  let pm = 0,
    pp = 0,
    md = 0;
  for (let i = 0; i < n; i++) {
    pess[i] = pessimisticProbability(s.mean[i]!, s.std[i]!, lambda);
    pm += s.mean[i]!;
    pp += pess[i]!;
    md += s.std[i]!;
  }
  return {
    rows: n,
    observed: s.observed,
    predictedMean: pm / n,
    predictedPessimistic: pp / n,
    meanDisagreement: md / n,
    reliability: reliabilityBins(pess, s.labels, n),
  };
}

function quantileOfSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos),
    hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * How the simulator's click logit moves with the pair's click count n_ua
 * (all other counts 0, no session context), averaged over `pairs` seeded
 * random (user, item) pairs: mean logit at n minus mean logit at 0, for
 * each n of `counts`. The world's counterpart is its familiarity weight
 * b_n log1p(n).
 */
export function clickLogitByPairCount(ensemble: SimulatorEnsemble, counts: readonly number[], pairs: number, seed: number): number[] {
  return clickLogitShift(ensemble, counts, pairs, seed, (batch, e, n) => {
    batch.pairCounts[e * PAIR_COUNT_DIM + PC_CLICK] = n;
  });
}

/**
 * The same for the session's repeats of the item's author (or tag), as
 * simulation answers them (an unmarked exposure: the random log's offsets):
 * mean logit with r earlier exposures minus with none. The world's
 * counterpart is its fatigue, -fatigue.author log1p(r).
 */
export function clickLogitByRepeat(ensemble: SimulatorEnsemble, kind: 'author' | 'tag', counts: readonly number[], pairs: number, seed: number): number[] {
  return clickLogitShift(ensemble, counts, pairs, seed, (batch, e, n) => {
    (kind === 'author' ? batch.repeatAuthor : batch.repeatTag)[e] = n;
  });
}

/** Mean click logit over seeded random (user, item) pairs with `set(batch, e, n)` applied, minus the same at n = 0, per n of `counts`. */
function clickLogitShift(
  ensemble: SimulatorEnsemble,
  counts: readonly number[],
  pairs: number,
  seed: number,
  set: (batch: ExposureBatch, e: number, n: number) => void,
): number[] {
  const c = ensemble.catalog;
  const rng = new Rng(seed).fork('pair-count-probe');
  const batch = allocExposureBatch(pairs);
  batch.count = pairs;
  for (let e = 0; e < pairs; e++) {
    batch.user[e] = rng.int(c.numUsers);
    batch.item[e] = rng.int(c.numItems);
  }
  const meanLogit = (n: number): number => {
    for (let e = 0; e < pairs; e++) set(batch, e, n);
    const y = ensemble.forward(batch);
    let s = 0;
    for (let e = 0; e < pairs; e++) s += y[e * OUTPUT_DIM + HEAD_CLICK]!;
    return s / pairs;
  };
  const zero = meanLogit(0);
  return counts.map((n) => meanLogit(n) - zero);
}
