/**
 * Hyperparameters shared by the TD3-style actor-critic agents (TD3 and
 * RLUR): Table 1 of the paper plus TD3's own three (Fujimoto et al. 2018:
 * target policy smoothing and delayed actor updates).
 */
export interface Td3StyleConfig {
  /** Width of every field embedding (Table 1: 32). */
  embeddingDim: number;
  /** Rows of each hashed embedding table. */
  embeddingRows: number;
  /** Hidden widths of the actor, the critics and the agent's other networks (Table 1: [64, 64]). */
  hidden: number[];
  /** Adam learning rate of the critics, embeddings and supervised parts (Table 1: 1e-3). */
  criticLr: number;
  /** Adam learning rate of the actor (Table 1: 1e-4). */
  actorLr: number;
  /** Discount factor (Table 1: 0.9). */
  gamma: number;
  /** Soft target-update rate (Table 1: 0.005). */
  tau: number;
  /** Requests per gradient step (Table 1: 1024). */
  batchSize: number;
  /** Bound of every action component (actor output = maxAction * tanh). */
  maxAction: number;
  /** Std of the target-policy smoothing noise, in units of maxAction (TD3: 0.2). */
  policyNoise: number;
  /** Clip of the smoothing noise, in units of maxAction (TD3: 0.5). */
  noiseClip: number;
  /** Critic steps per actor (and target) update (TD3: 2). */
  policyDelay: number;
}

/** The defaults of {@link Td3StyleConfig}; a fresh object each call (no shared arrays). */
export function td3StyleDefaults(): Td3StyleConfig {
  return {
    embeddingDim: 32,
    embeddingRows: 1 << 16,
    hidden: [64, 64],
    criticLr: 1e-3,
    actorLr: 1e-4,
    gamma: 0.9,
    tau: 0.005,
    batchSize: 1024,
    maxAction: 1,
    policyNoise: 0.2,
    noiseClip: 0.5,
    policyDelay: 2,
  };
}
