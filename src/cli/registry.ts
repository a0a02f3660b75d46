/**
 * `rliv registry repair [--models DIR]`: rebuilds a model registry's
 * LATEST.json from the newest version file whose checkpoint decodes and
 * verifies. `rliv serve` and `rliv train-online` refuse a registry whose
 * pointer is unreadable, inconsistent or missing next to existing versions
 * (instead of publishing an untrained model over trained ones) and name
 * this command.
 */
import { resolve } from 'node:path';
import { UsageError, type CommandSpec } from './command.js';
import { ModelRegistry } from '../serving/model-registry.js';

export const registryCommand: CommandSpec = {
  name: 'registry',
  summary: 'maintain a model registry: "repair" points LATEST.json at the newest valid version',
  positionals: 'repair',
  description:
    "repair: checks the version files newest first (each checkpoint's own checksums) and rewrites LATEST.json for the first valid one; invalid newer files are listed and left in place.",
  options: {
    models: { type: 'string', description: 'model registry directory', default: 'rliv-models', valueName: 'DIR' },
  },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1 || positionals[0] !== 'repair')
      throw new UsageError(`expected one action, "repair", got ${JSON.stringify(positionals.join(' '))}`);
    const registry = new ModelRegistry(resolve(String(values.models)));
    const result = registry.repair();
    for (const s of result.skipped) ctx.log(`skipped ${s.file}: ${s.problem}`);
    const before = result.previous === null ? 'no LATEST.json' : typeof result.previous === 'string' ? result.previous : `version ${result.previous.version}`;
    ctx.log(`${registry.pointerPath} now points at version ${result.pointer.version} (${result.pointer.agent}); before: ${before}`);
    return {
      command: 'registry repair',
      registry: registry.dir,
      version: result.pointer.version,
      file: result.pointer.file,
      agent: result.pointer.agent,
      previousVersion: typeof result.previous === 'object' && result.previous !== null ? result.previous.version : null,
      previousProblem: typeof result.previous === 'string' ? result.previous : null,
      skipped: result.skipped,
    };
  },
};
