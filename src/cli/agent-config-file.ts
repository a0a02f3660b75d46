/**
 * `--agent-config FILE.json`: agent config overrides from a file. The file
 * is read and shape-checked here; the agent's own resolver
 * (`resolveAgentConfig`) then validates every key and value. `rliv train`
 * takes one agent's overrides; `rliv experiment` and `rliv ab-test` take
 * them per model, keyed by model name.
 */
import { readFileSync } from 'node:fs';
import type { ExplorationOptions } from '../agents/exploration.js';
import { modelConfigs, modelExplorations } from '../experiments/model-configs.js';
import { UsageError } from './command.js';

/** The JSON object in `path`; anything else is a UsageError naming the flag and the file. */
export function readAgentConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--agent-config ${path}: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(
      `--agent-config ${path}: expected a JSON object of config overrides, got ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`,
    );
  }
  return parsed as Record<string, unknown>;
}

/**
 * `rliv train`'s `--agent-config FILE.json`: one agent's overrides, returned
 * over `{ batchSize }` as the agent's full override set, checked by its
 * resolver now (before any world is built).
 */
export function readOneAgentConfigFile(path: string, name: string, batchSize: number): Record<string, unknown> {
  const overrides = readAgentConfigFile(path);
  return checked(path, () => modelConfigs([name], batchSize, { [name]: overrides }, 'agents of this run'))[name]!;
}

/**
 * `--agent-config FILE.json` of a multi-model run: `{ "<model>": { overrides } }`,
 * checked against `names` and each agent's resolver now (before any world is
 * built). With `exploration` (the run's schedule), a model's entry may also
 * set its own `"exploration"`, checked over it. With `onlyThese`, entries
 * of models outside `names` are dropped instead of refused (the preset's
 * shipped file, on a `--models` subset).
 */
export function readPerModelConfigFile(
  path: string,
  names: readonly string[],
  batchSize: number,
  what: string,
  exploration?: ExplorationOptions,
  onlyThese = false,
): Record<string, unknown> {
  const all = readAgentConfigFile(path);
  // A shipped file covers every model; a run of a subset (--models) takes the entries of its own.
  const overrides = onlyThese ? Object.fromEntries(Object.entries(all).filter(([name]) => names.includes(name))) : all;
  checked(path, () => modelConfigs(names, batchSize, overrides, what, exploration !== undefined));
  if (exploration) checked(path, () => modelExplorations(names, overrides, exploration));
  return overrides;
}

/** `check()`'s result; its error becomes a UsageError naming the file. */
function checked<T>(path: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw new UsageError(`--agent-config ${path}: ${(err as Error).message}`);
  }
}
