/**
 * `--agent-config FILE.json`: agent config overrides from a file. The file
 * is read and shape-checked here; the agent's own resolver
 * (`resolveAgentConfig`) then validates every key and value.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './command.js';

/** The JSON object in `path` (for `--<flag>`); anything else is a UsageError naming the file. */
export function readAgentConfigFile(flag: string, path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--${flag} ${path}: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--${flag} ${path}: expected a JSON object of config overrides, got ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}
