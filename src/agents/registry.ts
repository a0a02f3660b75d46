/**
 * Every model by the exact name used in the CLI and the reports. Adding a
 * model = one line in AGENTS. Variants of RLIV-UA are configurations of the
 * same agent, registered under their paper names.
 */
import type { Ranker, RankerContext } from './ranker.js';
import { createRlivUaVariant, resolveRlivUaVariantConfig, type RlivUaVariant } from './rliv-ua-variants.js';
import { createCql, resolveCqlConfig } from './cql.js';
import { RankingModel, resolveRankingModelConfig } from './deepfm.js';
import { createDqn, resolveDqnConfig } from './dqn.js';
import { Rlur, resolveRlurConfig } from './rlur.js';
import { Td3, resolveTd3Config } from './td3.js';

/** Builds a fresh agent; `config` overrides the agent's documented defaults (validated by the agent). */
export type AgentFactory = (context: RankerContext, config?: Record<string, unknown>) => Ranker;

export interface AgentEntry {
  /** One line for `--help` and reports. */
  description: string;
  create: AgentFactory;
  /** The full config `create` would build from these overrides, validated without building anything (throws naming the bad field). */
  resolveConfig: (config?: Record<string, unknown>) => object;
}

/** An RLIV-UA variant's registry entry. */
const rlivUa = (variant: RlivUaVariant, description: string): AgentEntry => ({
  description,
  create: (ctx, cfg) => createRlivUaVariant(variant, ctx, cfg),
  resolveConfig: (cfg) => resolveRlivUaVariantConfig(variant, cfg),
});

export const AGENTS: Record<string, AgentEntry> = {
  RankingModel: {
    description: 'DeepFM ranking model (first order + FM + deep part), supervised heads for click, long view, watch time, follow; ranks by predicted click',
    create: (ctx, cfg) => new RankingModel(ctx, cfg),
    resolveConfig: (cfg) => resolveRankingModelConfig('RankingModel', cfg),
  },
  CQL: {
    description: 'Conservative Q-learning on the double-DQN network, offline on logging-policy sessions',
    create: (ctx, cfg) => createCql(ctx, cfg),
    resolveConfig: resolveCqlConfig,
  },
  DQN: {
    description: 'Double DQN on the request-level MDP, item-level Q(user + session summary, item)',
    create: (ctx, cfg) => createDqn(ctx, cfg),
    resolveConfig: resolveDqnConfig,
  },
  TD3: {
    description: 'TD3 actor-critic: the actor emits a vector in item-embedding space, items scored by dot product',
    create: (ctx, cfg) => new Td3(ctx, cfg),
    resolveConfig: resolveTd3Config,
  },
  RLUR: {
    description: "RLUR: actor weighs the ranking model's predicted signals; immediate (+RND) and retention TD3 critics",
    create: (ctx, cfg) => new Rlur(ctx, cfg),
    resolveConfig: resolveRlurConfig,
  },
  'RLIV-UA': rlivUa('RLIV-UA', 'RLIV-UA: four LIV towers (click, watch time, follow, gift) + supervised reward heads + gift assistance network'),
  'RLIV-UA(w/o SL)': rlivUa('RLIV-UA(w/o SL)', 'RLIV-UA without the auxiliary supervised reward heads (critics output Q directly)'),
  'RLIV-UA(w/o MT)': rlivUa('RLIV-UA(w/o MT)', 'RLIV-UA with the watch-time LIV tower alone (no multi-task towers, no assistance)'),
  'RLIV-UA(w/o MT & SL)': rlivUa('RLIV-UA(w/o MT & SL)', 'RLIV-UA with the watch-time tower alone and no supervised reward head'),
  'RLIV-UA(w/o AL & SL)': rlivUa('RLIV-UA(w/o AL & SL)', 'RLIV-UA without the gift assistance network and without supervised reward heads'),
};

/** Names in the order of the paper's tables. */
export const PAPER_MODEL_ORDER = [
  'RankingModel',
  'CQL',
  'DQN',
  'TD3',
  'RLUR',
  'RLIV-UA',
  'RLIV-UA(w/o MT & SL)',
  'RLIV-UA(w/o MT)',
  'RLIV-UA(w/o SL)',
  'RLIV-UA(w/o AL & SL)',
] as const;

/** Looks an agent up by exact name; the error lists the known names. */
export function createAgent(name: string, context: RankerContext, config?: Record<string, unknown>): Ranker {
  return agentEntry(name).create(context, config);
}

/**
 * The full config agent `name` would run with under these overrides,
 * validated without building the agent: a command checks a user's config
 * with it before spending minutes on a world.
 */
export function resolveAgentConfig(name: string, config?: Record<string, unknown>): object {
  return agentEntry(name).resolveConfig(config);
}

function agentEntry(name: string): AgentEntry {
  const entry = AGENTS[name];
  if (!entry) throw new Error(`unknown agent "${name}"; known agents: ${Object.keys(AGENTS).join(', ') || '(none registered)'}`);
  return entry;
}
