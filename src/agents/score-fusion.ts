/**
 * LIV fused into a production ranking score (docs/design.md §4.19; the
 * paper's "Online Deployment", Fig. 4: RLIV-UA's LIV is one more input of the
 * ranking stage, which keeps the existing ranking model).
 *
 * The fusion formula, over one request's N candidates:
 *
 *   fused_i = base_i + w * sd(base) * (liv_i - mean(liv)) / sd(liv)
 *
 * base_i is the production ranking model's score (here the RankingModel's
 * click logit; in the service, whatever the client's ranking model produced),
 * liv_i the LIV model's ranking score (RLIV-UA: combineTowerLivs of its
 * towers, src/agents/tower-liv.ts), mean and sd (population) over the
 * request's candidates. The fused score stays in the base score's units and
 * orders exactly like z(base) + w * z(liv): w is how many standard deviations
 * of the base score one standard deviation of LIV is worth, whatever scale the
 * base model uses. When the LIV is the same for every candidate it adds
 * nothing; when the base is (sd 0, or one candidate) the LIV term is taken in
 * units of 1. w = 0 is the production ranking; ranking by LIV alone is the
 * limit w -> infinity (an arm that ranks by LIV alone uses the LIV model's
 * `score` directly).
 *
 * The weight rule ({@link chooseFusionWeight}): the largest w of a fixed grid
 * whose greedy top K keeps at least `keep` (default 97 %) of the production
 * model's predicted click rate, summed over a set of requests, relative to
 * w = 0. It looks at the base model's predictions only, never at outcomes, so
 * it cannot pick a weight by which arm wins; the A/B test runs it on a
 * pre-period of the arm's own bucket, before the reported weeks.
 */
import type { SessionTrace } from '../environment/trace.js';
import { topKIndices } from '../environment/slate-policy.js';
import type { Ranker, RankRequest, TowerLiv, TrainStats } from './ranker.js';

/** Fusion weights the weight rule chooses from (ascending; 0 = the production ranking). */
export const FUSION_WEIGHT_GRID: readonly number[] = [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5];
/** Share of the production model's predicted click rate the chosen weight must keep. */
export const DEFAULT_CLICK_KEEP = 0.97;
/** Largest fusion weight accepted anywhere (the service's schema too). */
export const MAX_FUSION_WEIGHT = 1e6;

/** A fusion weight is a finite number in [0, MAX_FUSION_WEIGHT]; throws a RangeError naming `what` otherwise. */
export function checkFusionWeight(weight: number, what = 'fusion weight'): number {
  if (!(typeof weight === 'number' && Number.isFinite(weight) && weight >= 0 && weight <= MAX_FUSION_WEIGHT)) {
    throw new RangeError(`${what} must be a finite number in [0, ${MAX_FUSION_WEIGHT}], got ${weight}`);
  }
  return weight;
}

/** Mean and population standard deviation of x[0..n). */
function meanSd(x: ArrayLike<number>, n: number): [number, number] {
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i]!;
  m /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - m;
    ss += d * d;
  }
  return [m, Math.sqrt(ss / n)];
}

/**
 * Writes fused_i = base_i + w * sd(base) * z(liv)_i into out[0..n) (the
 * formula of this file's header). Throws a RangeError naming the candidate
 * when a base or LIV score is not finite, or when w is not a valid weight.
 */
export function fuseScores(base: ArrayLike<number>, liv: ArrayLike<number>, n: number, weight: number, out: Float32Array): void {
  checkFusionWeight(weight);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(base[i]!)) throw new RangeError(`fuseScores: base score of candidate ${i} is ${base[i]}, every base score must be a finite number`);
    if (!Number.isFinite(liv[i]!)) throw new RangeError(`fuseScores: LIV score of candidate ${i} is ${liv[i]}, every LIV score must be a finite number`);
  }
  if (n === 0) return;
  const [, sdBase] = meanSd(base, n);
  const [mLiv, sdLiv] = meanSd(liv, n);
  const k = sdLiv > 1e-12 ? (weight * (sdBase > 1e-12 ? sdBase : 1)) / sdLiv : 0;
  for (let i = 0; i < n; i++) out[i] = base[i]! + k * (liv[i]! - mLiv);
}

/** What the weight rule needs of one request: three scores per candidate. */
export interface FusionRequestScores {
  /** The production ranking model's score per candidate. */
  base: Float32Array;
  /** The LIV model's ranking score per candidate. */
  liv: Float32Array;
  /** The production model's predicted click probability per candidate. */
  clickProbability: Float32Array;
}

/** The predicted click rate one weight keeps. */
export interface FusionWeightRetention {
  weight: number;
  /** Sum over the requests of P(click) over the fused top K, divided by the same sum at w = 0. */
  keptClickRate: number;
}

/** The weight rule's answer. */
export interface FusionWeightChoice {
  /** The chosen weight: the largest grid weight with keptClickRate >= keep. */
  weight: number;
  /** Every grid weight's retention (grid order). */
  retention: FusionWeightRetention[];
  /** Requests the rule looked at. */
  requests: number;
}

/** Options of {@link chooseFusionWeight}. */
export interface FusionWeightOptions {
  /** Slate size K (the greedy top K the rule compares). */
  k: number;
  /** Candidate weights, ascending, starting at 0. Default FUSION_WEIGHT_GRID. */
  grid?: readonly number[];
  /** Share of the predicted click rate to keep, in (0, 1]. Default DEFAULT_CLICK_KEEP (0.97). */
  keep?: number;
}

/**
 * The weight rule: for each grid weight w, the predicted click rate of the
 * greedy top K of the fused score (sum over the requests of the base model's
 * P(click) of the K items), relative to w = 0; the answer is the largest w
 * keeping at least `keep` of it (w = 0 always does). With no requests, or no
 * predicted clicks at w = 0, the answer is 0.
 */
export function chooseFusionWeight(requests: readonly FusionRequestScores[], options: FusionWeightOptions): FusionWeightChoice {
  const grid = options.grid ?? FUSION_WEIGHT_GRID;
  const keep = options.keep ?? DEFAULT_CLICK_KEEP;
  if (!(Number.isInteger(options.k) && options.k >= 1)) throw new RangeError(`chooseFusionWeight: k must be an integer >= 1, got ${options.k}`);
  if (!(keep > 0 && keep <= 1)) throw new RangeError(`chooseFusionWeight: keep must be in (0, 1], got ${keep}`);
  if (grid.length === 0 || grid[0] !== 0)
    throw new RangeError(`chooseFusionWeight: the grid must start at 0 (the production ranking), got [${grid.join(', ')}]`);
  grid.forEach((w, i) => {
    checkFusionWeight(w, `chooseFusionWeight: grid[${i}]`);
    if (i > 0 && !(w > grid[i - 1]!)) throw new RangeError(`chooseFusionWeight: the grid must be ascending, got [${grid.join(', ')}]`);
  });
  const kept = new Float64Array(grid.length);
  let fused = new Float32Array(0);
  let top = new Int32Array(options.k);
  for (const r of requests) {
    const n = r.base.length;
    if (r.liv.length !== n || r.clickProbability.length !== n)
      throw new RangeError(
        `chooseFusionWeight: a request has ${n} base scores, ${r.liv.length} LIV scores and ${r.clickProbability.length} click probabilities; they must be equal`,
      );
    if (fused.length < n) fused = new Float32Array(n);
    const k = Math.min(options.k, n);
    if (top.length < k) top = new Int32Array(k);
    for (let g = 0; g < grid.length; g++) {
      fuseScores(r.base, r.liv, n, grid[g]!, fused);
      topKIndices(fused, n, k, top);
      let p = 0;
      for (let j = 0; j < k; j++) p += r.clickProbability[top[j]!]!;
      kept[g]! += p;
    }
  }
  const ref = kept[0]!;
  const retention = grid.map((weight, g) => ({ weight, keptClickRate: ref > 0 ? kept[g]! / ref : 1 }));
  let weight = 0;
  if (ref > 0) for (const r of retention) if (r.keptClickRate >= keep) weight = r.weight;
  return { weight, retention, requests: requests.length };
}

const FUSED_MAGIC = 'RLIVFUS1';

/**
 * A ranker whose score is {@link fuseScores} of a production ranking model
 * (`base`) and a LIV model (`liv`) with weight `weight`. Both models observe
 * every session and train the same number of steps (each learns online, as
 * in production). Its name is the LIV model's (reports say it is fused); its
 * `towerLiv` is the LIV model's.
 */
export class FusedRanker implements Ranker {
  readonly name: string;
  readonly learnsOffline = false;
  private weightValue: number;
  private baseScores = new Float32Array(300);
  private livScores = new Float32Array(300);

  /**
   * @param base the production ranking model (e.g. the RankingModel).
   * @param liv the LIV model (e.g. RLIV-UA); its `score` is the LIV score fused in.
   * @param weight the fusion weight w (checked: finite, >= 0).
   */
  constructor(
    readonly base: Ranker,
    readonly liv: Ranker,
    weight: number,
  ) {
    this.name = liv.name;
    this.weightValue = checkFusionWeight(weight);
  }

  get towerLiv(): TowerLiv | null {
    return this.liv.towerLiv;
  }

  get weight(): number {
    return this.weightValue;
  }

  /** Changes the fusion weight (checked; a bad weight throws and changes nothing). */
  setWeight(weight: number): void {
    this.weightValue = checkFusionWeight(weight);
  }

  /** The base model's and the LIV model's scores of the request's candidates (views valid until the next call). */
  componentScores(request: RankRequest): { base: Float32Array; liv: Float32Array } {
    const n = request.candidates.length;
    if (this.baseScores.length < n) {
      this.baseScores = new Float32Array(n);
      this.livScores = new Float32Array(n);
    }
    const base = this.baseScores.subarray(0, n);
    const liv = this.livScores.subarray(0, n);
    this.base.score(request, base);
    this.liv.score(request, liv);
    return { base, liv };
  }

  score(request: RankRequest, out: Float32Array): void {
    const n = request.candidates.length;
    if (out.length < n) throw new RangeError(`${this.name} (fused).score: out holds ${out.length} scores, ${n} candidates given`);
    const { base, liv } = this.componentScores(request);
    fuseScores(base, liv, n, this.weightValue, out);
  }

  observe(sessions: readonly SessionTrace[]): void {
    this.base.observe(sessions);
    this.liv.observe(sessions);
  }

  /** Trains both models `steps` steps; losses are prefixed `base.` and `liv.`, steps are the LIV model's. */
  train(steps: number): TrainStats {
    const b = this.base.train(steps);
    const l = this.liv.train(steps);
    const losses: Record<string, number> = {};
    for (const [k, v] of Object.entries(b.losses)) losses[`base.${k}`] = v;
    for (const [k, v] of Object.entries(l.losses)) losses[`liv.${k}`] = v;
    return { steps: l.steps, losses };
  }

  /** "RLIVFUS1", the weight (f64), then the base and LIV models' `save()` bytes, each after its u32 length. */
  save(): Uint8Array {
    const b = this.base.save();
    const l = this.liv.save();
    const out = new Uint8Array(8 + 8 + 4 + b.length + 4 + l.length);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) out[i] = FUSED_MAGIC.charCodeAt(i);
    view.setFloat64(8, this.weightValue, true);
    view.setUint32(16, b.length, true);
    out.set(b, 20);
    view.setUint32(20 + b.length, l.length, true);
    out.set(l, 24 + b.length);
    return out;
  }

  /** Restores what `save` wrote; on bad bytes it throws and both models and the weight are unchanged. */
  load(bytes: Uint8Array): void {
    const who = `${this.name} (fused).load`;
    if (!(bytes instanceof Uint8Array) || bytes.length < 24) throw new RangeError(`${who}: expected the bytes written by save()`);
    const magic = String.fromCharCode(...bytes.subarray(0, 8));
    if (magic !== FUSED_MAGIC)
      throw new RangeError(`${who}: not a fused ranker's bytes (magic "${magic.replace(/[^\x20-\x7e]/g, '?')}", expected "${FUSED_MAGIC}")`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const weight = checkFusionWeight(view.getFloat64(8, true), `${who}: the stored weight`);
    const bl = view.getUint32(16, true);
    if (24 + bl > bytes.length) throw new RangeError(`${who}: the base section runs past the end`);
    const ll = view.getUint32(20 + bl, true);
    if (24 + bl + ll !== bytes.length) throw new RangeError(`${who}: the sections hold ${bytes.length - 24} bytes, their headers say ${bl + ll}`);
    const previousBase = this.base.save();
    this.base.load(bytes.subarray(20, 20 + bl));
    try {
      this.liv.load(bytes.subarray(24 + bl, 24 + bl + ll));
    } catch (err) {
      this.base.load(previousBase);
      throw err;
    }
    this.weightValue = weight;
  }
}
