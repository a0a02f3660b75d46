/**
 * CQL baseline: Conservative Q-Learning (Kumar, Zhou, Tucker & Levine 2020,
 * "Conservative Q-Learning for Offline Reinforcement Learning", NeurIPS),
 * the CQL(H) variant on the double-DQN network of dqn.ts, trained OFFLINE
 * on sessions of the behaviour (logging) policy only (`learnsOffline`).
 *
 * Loss per sampled exposure (s, a) of request t (mean over the batch):
 *   L = Huber(Q(s, a) - y)                                  (double-DQN TD loss, see dqn.ts)
 *     + alpha * ( log sum_{j in C_t} exp Q(s, j) - Q(s, a) )  (conservative term)
 * C_t = the request's candidates kept in the replay (the logged slate plus
 * random other candidates, up to maxCandidates): pushing down the soft-max
 * of Q over the request's candidates and up on the logged item keeps Q of
 * actions the logging policy never took from being over-estimated.
 */
import { AgentConfigError, requireRange, resolveConfig } from './agent-config.js';
import { DoubleDqn, DQN_DEFAULTS, validateDqnConfig, type DqnConfig } from './dqn.js';
import type { RankerContext } from './ranker.js';

export interface CqlConfig extends DqnConfig {
  /** Weight alpha of the conservative term (Kumar et al. use 1-10 for discrete actions). */
  cqlAlpha: number;
}

export const CQL_DEFAULTS: CqlConfig = { ...DQN_DEFAULTS, cqlAlpha: 1 };

/** The defaults with `overrides` applied, validated (throws naming the bad field). */
export function resolveCqlConfig(overrides?: Record<string, unknown>): CqlConfig {
  const config = resolveConfig('CQL', CQL_DEFAULTS, overrides);
  validateDqnConfig('CQL', config);
  requireRange('CQL', 'cqlAlpha', config.cqlAlpha, 0, 1e6);
  if (config.maxCandidates <= 1) throw new AgentConfigError('CQL: maxCandidates must be > 1 for the logsumexp over candidates to mean anything');
  return config;
}

/** CQL from config overrides (registry factory). */
export function createCql(context: RankerContext, overrides?: Record<string, unknown>): DoubleDqn {
  const config = resolveCqlConfig(overrides);
  return new DoubleDqn(context, config, 'CQL', config.cqlAlpha, true);
}
