/**
 * The RLIV-UA model and its ablations (paper §4.1.2, Table 3) as
 * configurations of one agent (docs/design.md §4.7), selectable by exactly these
 * names:
 *
 * | name                   | towers          | SL (r_hat) | AL (gift assistance) |
 * |------------------------|-----------------|------------|----------------------|
 * | RLIV-UA                | all four        | yes        | yes                  |
 * | RLIV-UA(w/o SL)        | all four        | no         | yes                  |
 * | RLIV-UA(w/o MT)        | watch time only | yes        | no                   |
 * | RLIV-UA(w/o MT & SL)   | watch time only | no         | no                   |
 * | RLIV-UA(w/o AL & SL)   | all four        | no         | no                   |
 *
 * `w/o MT` drops the assistance network too: it is a multi-task signal (gift
 * prediction shaping the shared embedding) and there is no gift tower left
 * for it to assist.
 */
import type { Tower } from '../data/interaction-kinds.js';
import type { RankerContext } from './ranker.js';
import { RlivUaConfigError, parseRlivUaConfig, type RlivUaConfig } from './rliv-ua-config.js';
import { RlivUaAgent } from './rliv-ua.js';

export const RLIV_UA_VARIANTS = {
  'RLIV-UA': { towers: ['click', 'watchTime', 'follow', 'gift'], supervised: true, assistance: true },
  'RLIV-UA(w/o SL)': { towers: ['click', 'watchTime', 'follow', 'gift'], supervised: false, assistance: true },
  'RLIV-UA(w/o MT)': { towers: ['watchTime'], supervised: true, assistance: false },
  'RLIV-UA(w/o MT & SL)': { towers: ['watchTime'], supervised: false, assistance: false },
  'RLIV-UA(w/o AL & SL)': { towers: ['click', 'watchTime', 'follow', 'gift'], supervised: false, assistance: false },
} as const satisfies Record<string, { towers: readonly Tower[]; supervised: boolean; assistance: boolean }>;

export type RlivUaVariant = keyof typeof RLIV_UA_VARIANTS;

/** The overrides that make `variant` (its name included). */
export function variantConfig(variant: string): Record<string, unknown> {
  const v = (RLIV_UA_VARIANTS as Record<string, { towers: readonly Tower[]; supervised: boolean; assistance: boolean }>)[variant];
  if (!v) throw new RlivUaConfigError(`unknown RLIV-UA variant "${variant}"; variants: ${Object.keys(RLIV_UA_VARIANTS).join(', ')}`);
  return { name: variant, towers: [...v.towers], supervised: v.supervised, assistance: v.assistance };
}

/**
 * Builds the agent of `variant`; `config` overrides other fields (batch size,
 * learning rate, ...). The variant's own fields (name, towers, supervised,
 * assistance) cannot be overridden: that would silently make another model.
 */
export function createRlivUaVariant(variant: RlivUaVariant, context: RankerContext, config: Record<string, unknown> = {}): RlivUaAgent {
  return new RlivUaAgent(context, variantOverrides(variant, config));
}

/** The full, validated config `createRlivUaVariant(variant, _, config)` would build (throws naming the bad field). */
export function resolveRlivUaVariantConfig(variant: RlivUaVariant, config: Record<string, unknown> = {}): RlivUaConfig {
  return parseRlivUaConfig(variantOverrides(variant, config));
}

/** `config` with the variant's own fields added; overriding one of them is an error. */
function variantOverrides(variant: RlivUaVariant, config: Record<string, unknown>): Record<string, unknown> {
  const base = variantConfig(variant);
  for (const key of Object.keys(base)) {
    if (key in config && JSON.stringify(config[key]) !== JSON.stringify(base[key])) {
      throw new RlivUaConfigError(`${variant}: config field "${key}" is fixed by the variant (${JSON.stringify(base[key])}); choose another variant instead`);
    }
  }
  return { ...config, ...base };
}
