/**
 * CQL baseline: Conservative Q-Learning (Kumar, Zhou, Tucker & Levine 2020,
 * "Conservative Q-Learning for Offline Reinforcement Learning", NeurIPS),
 * the CQL(H) variant, trained OFFLINE on sessions of the behaviour
 * (logging) policy only (`learnsOffline`).
 *
 * It is the double DQN of dqn.ts plus one term: the network, the replay,
 * the double-DQN targets and the optimiser are DQN's; CQL changes step 3 of
 * `DoubleDqn.trainStep` through its two hooks:
 *
 *   setCurrentRows  Q of ALL kept candidates C_t of each sampled request,
 *                   not only of the logged item (the logged slate comes
 *                   first among them, so the logged item's row is known);
 *   extraLoss       the conservative term below, added to the TD loss.
 *
 * Loss per sampled exposure (s, a) of request t (mean over the batch):
 *   L = Huber(Q(s, a) - y)                                  (double-DQN TD loss, see dqn.ts)
 *     + alpha * ( log sum_{j in C_t} exp Q(s, j) - Q(s, a) )  (conservative term)
 * C_t = the request's candidates kept in the replay (the logged slate plus
 * random other candidates, up to maxCandidates): pushing down the soft-max
 * of Q over the request's candidates and up on the logged item keeps Q of
 * actions the logging policy never took from being over-estimated.
 */
import { SESSION_SUMMARY_DIM } from '../environment/trace.js';
import { AgentConfigError, requireRange, resolveConfig } from './agent-config.js';
import { DoubleDqn, DQN_DEFAULTS, validateDqnConfig, type DqnConfig } from './dqn.js';
import type { RankerContext } from './ranker.js';

export interface CqlConfig extends DqnConfig {
  /** Weight alpha of the conservative term (Kumar et al. use 1-10 for discrete actions). */
  cqlAlpha: number;
}

export const CQL_DEFAULTS: CqlConfig = { ...DQN_DEFAULTS, cqlAlpha: 1 };

export class Cql extends DoubleDqn {
  declare readonly config: CqlConfig;

  /** @param config a resolved, validated config (use `createCql` from overrides). */
  constructor(context: RankerContext, config: CqlConfig) {
    super(context, config, 'CQL', true);
  }

  /** Every kept candidate of each sampled request (the logsumexp runs over them); the logged item is one of them. */
  protected override setCurrentRows(): number {
    const rp = this.replay;
    const C = rp.maxCandidates;
    const S = SESSION_SUMMARY_DIM;
    const B = this.config.batchSize;
    let rows = 0;
    for (let b = 0; b < B; b++) {
      const i = this.idx[b]!;
      const n = rp.candidateCount[i]!;
      this.groupStart[b] = rows;
      this.groupCount[b] = n;
      for (let k = 0; k < n; k++) this.input.set(rows + k, rp.user[i]!, rp.summary, i * S, rp.candidates[i * C + k]!);
      this.loggedRow[b] = rows + this.loggedRow[b]!; // slate positions come first in the kept candidates
      rows += n;
    }
    return rows;
  }

  /** alpha * the CQL(H) penalty, its gradient added into dQ; returns the penalty (without alpha). */
  protected override extraLoss(q: Float32Array, dQ: Float32Array): number {
    return conservativePenalty(q, this.groupStart, this.groupCount, this.loggedRow, this.config.batchSize, this.config.cqlAlpha, dQ);
  }

  protected override get extraLossName(): string {
    return 'conservative';
  }
}

/**
 * CQL(H) penalty mean_b [logsumexp_{j in group b} Q_j - Q_{logged b}]
 * (returned without alpha); adds the gradient of alpha times it into dQ:
 * d/dQ_j = alpha/B * softmax_j, minus alpha/B at the logged row.
 */
export function conservativePenalty(
  q: Float32Array,
  groupStart: Int32Array,
  groupCount: Int32Array,
  loggedRow: Int32Array,
  n: number,
  alpha: number,
  dQ: Float32Array,
): number {
  const scale = alpha / n;
  let total = 0;
  for (let b = 0; b < n; b++) {
    const s0 = groupStart[b]!;
    const count = groupCount[b]!;
    let mx = -Infinity;
    for (let k = s0; k < s0 + count; k++) if (q[k]! > mx) mx = q[k]!;
    let z = 0;
    for (let k = s0; k < s0 + count; k++) z += Math.exp(q[k]! - mx);
    total += mx + Math.log(z) - q[loggedRow[b]!]!;
    for (let k = s0; k < s0 + count; k++) dQ[k]! += (scale * Math.exp(q[k]! - mx)) / z;
    dQ[loggedRow[b]!]! -= scale;
  }
  return total / n;
}

/** The defaults with `overrides` applied, validated (throws naming the bad field). */
export function resolveCqlConfig(overrides?: Record<string, unknown>): CqlConfig {
  const config = resolveConfig('CQL', CQL_DEFAULTS, overrides);
  validateDqnConfig('CQL', config);
  requireRange('CQL', 'cqlAlpha', config.cqlAlpha, 0, 1e6);
  if (config.maxCandidates <= 1) throw new AgentConfigError('CQL: maxCandidates must be > 1 for the logsumexp over candidates to mean anything');
  return config;
}

/** CQL from config overrides (registry factory). */
export function createCql(context: RankerContext, overrides?: Record<string, unknown>): Cql {
  return new Cql(context, resolveCqlConfig(overrides));
}
