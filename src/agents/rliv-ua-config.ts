/**
 * Configuration of the RLIV-UA agent (paper §3, Table 1; docs/design.md §4).
 *
 * Every field has a documented default; the ablations of the paper's Table 3
 * are configurations of the same agent (see rliv-ua-variants.ts), never forks.
 * `parseRlivUaConfig` validates overrides (zod) and names the offending field.
 *
 * Reward scales (docs/design.md §4.5), applied by the MDP layer's ASA sample
 * builder (`towerRewards` in src/mdp/scri-mdp.ts):
 *   click 0/1, watch time log1p(seconds), follow 0/1,
 *   gift 0/1 by default (`giftReward: 'log1pAmount'` gives log1p(amount)).
 * log1p keeps the watch-time tower's targets in the same order of magnitude as
 * the 0/1 towers (a 60 s watch gives 4.1), so the Huber delta of 1 and one
 * learning rate serve all towers.
 */
import { z } from 'zod';
import { TOWERS, type Tower } from '../data/interaction-kinds.js';

export interface RlivUaConfig {
  /** Model name used in reports (one of the five registered variants). Default 'RLIV-UA'. */
  name: string;
  /** LIV towers that are built and trained, a subset of TOWERS. Default all four; `w/o MT` keeps only 'watchTime'. */
  towers: Tower[];
  /**
   * Auxiliary supervised learning (SL, paper eq. 8): Q_k = r_hat + gamma * V_hat_k
   * with r_hat trained on the observed reward. Off (`w/o SL`): the critics output Q directly. Default true.
   */
  supervised: boolean;
  /** Assistance gift network (AL): two FC layers on (h_u, h_a), BCE on "gift at this interaction". Default true. */
  assistance: boolean;
  /**
   * Stop the TD loss's gradient at r_hat (docs/design.md §4.4). With it on, r_hat
   * learns only from its supervised loss and the V heads carry the long-term
   * remainder. Default true.
   */
  stopTdGradientAtRewardHead: boolean;
  /** Discount factor gamma (Table 1). Default 0.9. */
  gamma: number;
  /**
   * How the TD target reduces the two target critics: 'min' (clipped double
   * Q-learning, paper eq. 5) or 'mean'. 'mean' is a diagnostic control, not
   * the paper's method: with rewards far below the critics' noise (first
   * follows, ~0.1 % of exposures) the min's low bias, times 1/(1 - gamma),
   * can outweigh the reward (see docs/results/ab-test-quick.md). Default 'min'.
   */
  targetCritics: 'min' | 'mean';
  /** Soft target update rate tau, applied after every step (Table 1). Default 0.005. */
  tau: number;
  /** Adam learning rate of the towers and the assistance network (Table 1, "critic"). Default 1e-3. */
  lr: number;
  /** Adam learning rate of the shared embedding table (Table 1). Default 1e-3. */
  embeddingLr: number;
  /** Samples per gradient step (Table 1). Default 1024. */
  batchSize: number;
  /** Hidden layer sizes of every head (r_hat, critics, assistance network) (Table 1). Default [64, 64]. */
  hidden: number[];
  /** Width of each of h_u, h_a, h_ua (Table 1's embedding dimension): H is 3 * embeddingDim wide. Default 32. */
  embeddingDim: number;
  /** Rows of the shared hashed embedding table (all fields hash into it). Default 2^17. */
  embeddingRows: number;
  /** Std of the initial embedding values. Default 0.05. */
  embeddingInitScale: number;
  /** Huber delta of every Huber loss (docs/design.md §4.4). Default 1. */
  huberDelta: number;
  /** The TD target's max over the author's items uses at most this many (sampled, seeded) items (docs/design.md §4.2). Default 8. */
  maxNextItems: number;
  /** Log2 buckets of each pair count (bucket 0 = zero, b = count in [2^(b-1), 2^b)); the last bucket is open-ended. Default 16. */
  countBuckets: number;
  /** Gift reward: 'flag' (0/1, paper's labels) or 'log1pAmount'. Default 'flag'. */
  giftReward: 'flag' | 'log1pAmount';
  /**
   * Ranking weights over the towers' standardized LIV scores (docs/design.md §4.6).
   * Default { watchTime: 1 }: rank by the watch-time LIV, as the paper does offline.
   * With one nonzero weight the raw LIV is used (standardizing would not change the order).
   */
  scoreWeights: Partial<Record<Tower, number>>;
  /** Largest candidate list `score` accepts (buffers are preallocated). Default 300. */
  maxCandidates: number;
  /** Capacity of the replay buffer (samples; oldest overwritten). Default 200000. */
  replayCapacity: number;
  /** `train` does nothing until the buffer holds this many samples. Default: batchSize. */
  minReplaySize: number;
  /** Window of the label joiner in ms of simulated time (feedback later than this after its impression is counted as late). Default 3600000 (1 h). */
  joinWindowMs: number;
}

export const DEFAULT_RLIV_UA_CONFIG: Readonly<RlivUaConfig> = Object.freeze({
  name: 'RLIV-UA',
  towers: [...TOWERS],
  supervised: true,
  assistance: true,
  stopTdGradientAtRewardHead: true,
  gamma: 0.9,
  targetCritics: 'min',
  tau: 0.005,
  lr: 1e-3,
  embeddingLr: 1e-3,
  batchSize: 1024,
  hidden: [64, 64],
  embeddingDim: 32,
  embeddingRows: 1 << 17,
  embeddingInitScale: 0.05,
  huberDelta: 1,
  maxNextItems: 8,
  countBuckets: 16,
  giftReward: 'flag',
  scoreWeights: { watchTime: 1 },
  maxCandidates: 300,
  replayCapacity: 200_000,
  minReplaySize: 1024,
  joinWindowMs: 3_600_000,
});

const towerEnum = z.enum(TOWERS);
const positiveInt = z.number().int().positive();

const configSchema = z.strictObject({
  name: z.string().min(1),
  towers: z.array(towerEnum).min(1),
  supervised: z.boolean(),
  assistance: z.boolean(),
  stopTdGradientAtRewardHead: z.boolean(),
  gamma: z.number().min(0).max(1),
  targetCritics: z.enum(['min', 'mean']),
  tau: z.number().gt(0).max(1),
  lr: z.number().positive(),
  embeddingLr: z.number().positive(),
  batchSize: positiveInt,
  hidden: z.array(positiveInt).min(1),
  embeddingDim: positiveInt,
  embeddingRows: positiveInt,
  embeddingInitScale: z.number().nonnegative(),
  huberDelta: z.number().positive(),
  maxNextItems: positiveInt,
  countBuckets: z.number().int().min(2).max(64),
  giftReward: z.enum(['flag', 'log1pAmount']),
  scoreWeights: z.partialRecord(towerEnum, z.number().finite()),
  maxCandidates: positiveInt,
  replayCapacity: positiveInt,
  minReplaySize: positiveInt,
  joinWindowMs: z.number().positive(),
});

/** Bad configuration: the message names the field and what is allowed. */
export class RlivUaConfigError extends Error {
  override name = 'RlivUaConfigError';
}

/**
 * Merges `overrides` over `base` (default: the paper's defaults) and
 * validates the result. Throws {@link RlivUaConfigError} naming each bad field.
 */
export function parseRlivUaConfig(overrides: Record<string, unknown> = {}, base: Readonly<RlivUaConfig> = DEFAULT_RLIV_UA_CONFIG): RlivUaConfig {
  const merged = { ...structuredClone(base), ...structuredClone(overrides) };
  // minReplaySize follows batchSize unless given: one batch of distinct samples before the first step.
  if (!('minReplaySize' in overrides) && 'batchSize' in overrides) merged.minReplaySize = overrides.batchSize as number;
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
    throw new RlivUaConfigError(`invalid RLIV-UA config: ${issues}`);
  }
  const config = parsed.data as RlivUaConfig;
  // Towers keep the fixed TOWERS order so parameter layouts do not depend on how the list was written.
  config.towers = TOWERS.filter((t) => config.towers.includes(t));
  const weighted = Object.entries(config.scoreWeights).filter(([, w]) => w !== 0);
  if (weighted.length === 0) throw new RlivUaConfigError('invalid RLIV-UA config: scoreWeights: at least one tower needs a nonzero weight');
  for (const [tower] of weighted) {
    if (!config.towers.includes(tower as Tower)) {
      throw new RlivUaConfigError(
        `invalid RLIV-UA config: scoreWeights.${tower}: tower "${tower}" is not trained in this variant (towers: ${config.towers.join(', ')})`,
      );
    }
  }
  if (config.minReplaySize > config.replayCapacity) {
    throw new RlivUaConfigError(`invalid RLIV-UA config: minReplaySize (${config.minReplaySize}) exceeds replayCapacity (${config.replayCapacity})`);
  }
  return config;
}
