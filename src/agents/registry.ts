/**
 * Every model by the exact name used in the CLI and the reports. Adding a
 * model = one line in AGENTS. Variants of RLIV-UA are configurations of the
 * same agent, registered under their paper names.
 */
import type { Ranker, RankerContext } from './ranker.js';
import { createRlivUaVariant } from './rliv-ua-variants.js';

/** Builds a fresh agent; `config` overrides the agent's documented defaults (validated by the agent). */
export type AgentFactory = (context: RankerContext, config?: Record<string, unknown>) => Ranker;

export interface AgentEntry {
  /** One line for `--help` and reports. */
  description: string;
  create: AgentFactory;
}

export const AGENTS: Record<string, AgentEntry> = {
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
