/**
 * Per-model agent configs of a multi-model run (`rliv experiment`,
 * `rliv ab-test`): the preset's batch size under the user's overrides,
 * keyed by model name, each validated by the agent's resolver before
 * anything runs.
 */
import { resolveAgentConfig } from '../agents/registry.js';

/**
 * Each of `names`' config: `{ batchSize, ...overrides[name] }`. Throws on a
 * key of `overrides` that is not one of `names` (listing them, as
 * `what`), on a non-object entry, and on any field the agent rejects.
 */
export function modelConfigs(names: readonly string[], batchSize: number, overrides: Record<string, unknown>, what: string): Record<string, Record<string, unknown>> {
  const unknown = Object.keys(overrides).filter((k) => !names.includes(k));
  if (unknown.length > 0) throw new RangeError(`agent config for ${unknown.map((k) => JSON.stringify(k)).join(', ')}, which is not one of the ${what}: ${names.join(', ')}`);
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of names) {
    const own = overrides[name] ?? {};
    if (own === null || typeof own !== 'object' || Array.isArray(own)) throw new RangeError(`agent config for ${name} must be an object of config overrides, got ${JSON.stringify(own)}`);
    out[name] = { batchSize, ...(own as Record<string, unknown>) };
    resolveAgentConfig(name, out[name]);
  }
  return out;
}
