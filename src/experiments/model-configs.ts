/**
 * Per-model agent configs of a multi-model run (`rliv experiment`,
 * `rliv ab-test`): the preset's batch size under the user's overrides,
 * keyed by model name, each validated by the agent's resolver before
 * anything runs.
 *
 * A model's entry may also carry `"exploration"`: that model's exploration
 * while collecting (the training loop's setting, over the schedule's; see
 * exploration.ts), which `rliv tune` selects like any other knob. It is
 * taken out before the agent's resolver sees the entry.
 */
import { validateExploration, type ExplorationOptions } from '../agents/exploration.js';
import { resolveAgentConfig } from '../agents/registry.js';

/** The key of a model's entry that sets its exploration (not an agent field). */
export const EXPLORATION_KEY = 'exploration';

/** A model's entry split into the agent's overrides and its exploration overrides (if any). */
export function splitModelOverrides(own: Record<string, unknown>): { agent: Record<string, unknown>; exploration?: Record<string, unknown> } {
  const { [EXPLORATION_KEY]: exploration, ...agent } = own;
  if (exploration === undefined) return { agent };
  if (exploration === null || typeof exploration !== 'object' || Array.isArray(exploration))
    throw new RangeError(`"${EXPLORATION_KEY}" must be an object of exploration settings, got ${JSON.stringify(exploration)}`);
  return { agent, exploration: exploration as Record<string, unknown> };
}

/**
 * The exploration of each model whose entry sets one: the schedule's
 * `base` under the entry's `"exploration"` fields, validated (unknown
 * fields and bad values throw naming the model). Models without one are absent.
 */
export function modelExplorations(names: readonly string[], overrides: Record<string, unknown>, base: ExplorationOptions): Record<string, ExplorationOptions> {
  const out: Record<string, ExplorationOptions> = {};
  for (const name of names) {
    const own = overrides[name];
    if (own === null || typeof own !== 'object' || Array.isArray(own)) continue;
    let part: Record<string, unknown> | undefined;
    try {
      part = splitModelOverrides(own as Record<string, unknown>).exploration;
      if (!part) continue;
      const unknown = Object.keys(part).filter((k) => !(k in base));
      if (unknown.length)
        throw new RangeError(`unknown exploration field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: ${Object.keys(base).join(', ')}`);
      out[name] = validateExploration({ ...base, ...(part as Partial<ExplorationOptions>) });
    } catch (err) {
      throw new RangeError(`agent config for ${name}: ${(err as Error).message}`);
    }
  }
  return out;
}

/**
 * Each of `names`' config: `{ batchSize, ...overrides[name] }` without its
 * `"exploration"` (refused unless `allowExploration`). Throws on a key of
 * `overrides` that is not one of `names` (listing them, as `what`), on a
 * non-object entry, and on any field the agent rejects.
 */
export function modelConfigs(
  names: readonly string[],
  batchSize: number,
  overrides: Record<string, unknown>,
  what: string,
  allowExploration = false,
): Record<string, Record<string, unknown>> {
  const unknown = Object.keys(overrides).filter((k) => !names.includes(k));
  if (unknown.length > 0)
    throw new RangeError(`agent config for ${unknown.map((k) => JSON.stringify(k)).join(', ')}, which is not one of the ${what}: ${names.join(', ')}`);
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of names) {
    const own = overrides[name] ?? {};
    if (own === null || typeof own !== 'object' || Array.isArray(own))
      throw new RangeError(`agent config for ${name} must be an object of config overrides, got ${JSON.stringify(own)}`);
    let agent: Record<string, unknown>;
    try {
      const split = splitModelOverrides(own as Record<string, unknown>);
      if (split.exploration && !allowExploration)
        throw new RangeError(
          `"${EXPLORATION_KEY}" is not supported by the ${what.replace(/^models of /, '').replace(/^arms of /, '')} (only rliv experiment and rliv tune take a model's own exploration)`,
        );
      agent = split.agent;
    } catch (err) {
      throw new RangeError(`agent config for ${name}: ${(err as Error).message}`);
    }
    out[name] = { batchSize, ...agent };
    resolveAgentConfig(name, out[name]);
  }
  return out;
}
