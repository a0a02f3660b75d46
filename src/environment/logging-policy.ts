/**
 * The behaviour policy that produced the logs (`rliv generate`; CQL's
 * offline data; the RankingModel's training logs): a production-like ranker
 * that scores each candidate by a noisy estimate of relevance —
 *
 *   score = affinityWeight * (affinity estimate + noiseStd * N(0, 1))
 *         + popularityWeight * log(numAuthors * popularity of the author)
 *         + followBoost * f_ua.follow + historyWeight * log1p(f_ua.click)
 *
 * — i.e. popularity x affinity on a log scale, with production's bias
 * toward authors the user already follows or clicks. It exposes the top K,
 * except that each slot is, with probability `randomRate` (KuaiRand's
 * ~0.37 % `is_rand`), replaced by a uniformly random unexposed candidate;
 * those positions are reported through `lastRandomFlags`.
 *
 * KuaiRand also has a separate random log (`log_random_*`: exposures of
 * uniformly random items inserted into users' feeds). With
 * `randomRequestRate` > 0 that share of requests gets a whole slate of
 * uniformly random candidates, all flagged; `rliv generate` writes those to
 * `log_random_rliv.csv` (see {@link isRandomRequest}). They are what lets a
 * simulator fitted on the logs judge items the production policy would
 * never show.
 */
import { PAIR_COUNT_DIM as PAIR_COUNT_DIM_, PC_CLICK as PC_CLICK_, PC_FOLLOW as PC_FOLLOW_ } from '../data/interaction-kinds.js';
import { Rng } from '../numeric/rng.js';
import type { Catalog } from '../world/catalog.js';
import { sampleWithoutReplacement, topKIndices, type PendingRequest, type SlatePolicy } from './slate-policy.js';

// Imported constants copied to module locals: hot loops read them as plain constants.
const PAIR_COUNT_DIM = PAIR_COUNT_DIM_;
const PC_CLICK = PC_CLICK_;
const PC_FOLLOW = PC_FOLLOW_;

export interface LoggingPolicyOptions {
  /** Seed of the policy's noise and random slots. Default 1. */
  seed: number;
  /** Weight of the affinity estimate. Default 1. */
  affinityWeight: number;
  /** Std of the Gaussian noise added to the affinity estimate (model error). Default 1. */
  noiseStd: number;
  /** Weight of log(numAuthors * author popularity). Default 0.3. */
  popularityWeight: number;
  /** Score bonus for candidates of followed authors. Default 0.5. */
  followBoost: number;
  /** Weight of log1p(clicks on the author). Default 0.2. */
  historyWeight: number;
  /** Probability that a slot is filled by a uniformly random candidate (is_rand). Default 0.0037. */
  randomRate: number;
  /** Probability that a whole request is served uniformly at random (KuaiRand's random log). Default 0. */
  randomRequestRate: number;
}

export const DEFAULT_LOGGING_POLICY_OPTIONS: LoggingPolicyOptions = {
  seed: 1,
  affinityWeight: 1,
  noiseStd: 1,
  popularityWeight: 0.3,
  followBoost: 0.5,
  historyWeight: 0.2,
  randomRate: 0.0037,
  randomRequestRate: 0,
};

/** The policy's view of how much a user likes an item (e.g. the world's affinity, or a trained model's score). */
export type AffinityEstimate = (user: number, item: number) => number;

export class LoggingPolicy implements SlatePolicy {
  readonly options: LoggingPolicyOptions;
  private readonly rng: Rng;
  private readonly logPopularity: Float32Array;
  private scores = new Float32Array(300);
  private flags: Uint8Array[] = [];

  /**
   * @param wroteTheStandardLog true only when this instance is the policy
   *   that wrote the logs a simulator is fitted on (see SlatePolicy).
   */
  constructor(
    private readonly catalog: Catalog,
    private readonly affinity: AffinityEstimate | null,
    options: Partial<LoggingPolicyOptions> = {},
    readonly wroteTheStandardLog = false,
  ) {
    const o = { ...DEFAULT_LOGGING_POLICY_OPTIONS, ...options };
    for (const [k, v] of Object.entries(o)) if (!Number.isFinite(v)) throw new RangeError(`logging policy option ${k} must be finite, got ${v}`);
    if (!(o.randomRate >= 0 && o.randomRate <= 1)) throw new RangeError(`randomRate must be in [0, 1], got ${o.randomRate}`);
    if (!(o.randomRequestRate >= 0 && o.randomRequestRate < 1)) throw new RangeError(`randomRequestRate must be in [0, 1), got ${o.randomRequestRate}`);
    if (!(o.noiseStd >= 0)) throw new RangeError(`noiseStd must be >= 0, got ${o.noiseStd}`);
    this.options = o;
    this.rng = new Rng(o.seed).fork('logging-policy');
    this.logPopularity = new Float32Array(catalog.numAuthors);
    for (let a = 0; a < catalog.numAuthors; a++) this.logPopularity[a] = Math.log(Math.max(1e-12, catalog.authorPopularity[a]! * catalog.numAuthors));
  }

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    const o = this.options;
    const c = this.catalog;
    const slates: Int32Array[] = [];
    this.flags = [];
    for (const req of requests) {
      const n = req.candidates.length;
      if (o.randomRequestRate > 0 && this.rng.uniform() < o.randomRequestRate) {
        slates.push(sampleWithoutReplacement(this.rng, n, k));
        this.flags.push(new Uint8Array(Math.min(k, n)).fill(1));
        continue;
      }
      if (this.scores.length < n) this.scores = new Float32Array(n);
      const s = this.scores;
      for (let i = 0; i < n; i++) {
        const item = req.candidates[i]!;
        const pc = i * PAIR_COUNT_DIM;
        const aff = this.affinity ? this.affinity(req.user, item) : 0;
        s[i] =
          o.affinityWeight * (aff + o.noiseStd * this.rng.normal()) +
          o.popularityWeight * this.logPopularity[c.itemAuthor[item]!]! +
          o.followBoost * req.candidatePairCounts[pc + PC_FOLLOW]! +
          o.historyWeight * Math.log1p(req.candidatePairCounts[pc + PC_CLICK]!);
      }
      const slate = new Int32Array(Math.min(k, n));
      topKIndices(s, n, k, slate);
      const flags = new Uint8Array(slate.length);
      for (let p = 0; p < slate.length; p++) {
        if (this.rng.uniform() >= o.randomRate || n <= slate.length) continue;
        // A random candidate not already in the slate.
        let idx: number;
        do idx = this.rng.int(n);
        while (slate.includes(idx));
        slate[p] = idx;
        flags[p] = 1;
      }
      slates.push(slate);
      this.flags.push(flags);
    }
    return slates;
  }

  lastRandomFlags(): readonly Uint8Array[] {
    return this.flags;
  }
}
