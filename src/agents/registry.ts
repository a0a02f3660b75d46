/**
 * Every model by the exact name used in the CLI and the reports. Adding a
 * model = one line in AGENTS. Variants of RLIV-UA are configurations of the
 * same agent, registered under their paper names.
 */
import type { Ranker, RankerContext } from './ranker.js';
import { createRlivUaVariant } from './rliv-ua-variants.js';
import { createCql } from './cql.js';
import { RankingModel } from './deepfm.js';
import { createDqn } from './dqn.js';
import { Rlur } from './rlur.js';
import { Td3 } from './td3.js';

/** Builds a fresh agent; `config` overrides the agent's documented defaults (validated by the agent). */
export type AgentFactory = (context: RankerContext, config?: Record<string, unknown>) => Ranker;

export interface AgentEntry {
  /** One line for `--help` and reports. */
  description: string;
  create: AgentFactory;
}

export const AGENTS: Record<string, AgentEntry> = {
  RankingModel: { description: 'DeepFM ranking model (first order + FM + deep part), supervised heads for click, long view, watch time, follow; ranks by predicted click', create: (ctx, cfg) => new RankingModel(ctx, cfg) },
  CQL: { description: 'Conservative Q-learning on the double-DQN network, offline on logging-policy sessions', create: (ctx, cfg) => createCql(ctx, cfg) },
  DQN: { description: 'Double DQN on the request-level MDP, item-level Q(user + session summary, item)', create: (ctx, cfg) => createDqn(ctx, cfg) },
  TD3: { description: 'TD3 actor-critic: the actor emits a vector in item-embedding space, items scored by dot product', create: (ctx, cfg) => new Td3(ctx, cfg) },
  RLUR: { description: 'RLUR: actor weighs the ranking model\'s predicted signals; immediate (+RND) and retention TD3 critics', create: (ctx, cfg) => new Rlur(ctx, cfg) },
  'RLIV-UA': { description: 'RLIV-UA: four LIV towers (click, watch time, follow, gift) + supervised reward heads + gift assistance network', create: (ctx, cfg) => createRlivUaVariant('RLIV-UA', ctx, cfg) },
  'RLIV-UA(w/o SL)': { description: 'RLIV-UA without the auxiliary supervised reward heads (critics output Q directly)', create: (ctx, cfg) => createRlivUaVariant('RLIV-UA(w/o SL)', ctx, cfg) },
  'RLIV-UA(w/o MT)': { description: 'RLIV-UA with the watch-time LIV tower alone (no multi-task towers, no assistance)', create: (ctx, cfg) => createRlivUaVariant('RLIV-UA(w/o MT)', ctx, cfg) },
  'RLIV-UA(w/o MT & SL)': { description: 'RLIV-UA with the watch-time tower alone and no supervised reward head', create: (ctx, cfg) => createRlivUaVariant('RLIV-UA(w/o MT & SL)', ctx, cfg) },
  'RLIV-UA(w/o AL & SL)': { description: 'RLIV-UA without the gift assistance network and without supervised reward heads', create: (ctx, cfg) => createRlivUaVariant('RLIV-UA(w/o AL & SL)', ctx, cfg) },
};

/** Names in the order of the paper's tables. */
export const PAPER_MODEL_ORDER = [
  'RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR', 'RLIV-UA',
  'RLIV-UA(w/o MT & SL)', 'RLIV-UA(w/o MT)', 'RLIV-UA(w/o SL)', 'RLIV-UA(w/o AL & SL)',
] as const;

/** Looks an agent up by exact name; the error lists the known names. */
export function createAgent(name: string, context: RankerContext, config?: Record<string, unknown>): Ranker {
  const entry = AGENTS[name];
  if (!entry) throw new Error(`unknown agent "${name}"; known agents: ${Object.keys(AGENTS).join(', ') || '(none registered)'}`);
  return entry.create(context, config);
}
