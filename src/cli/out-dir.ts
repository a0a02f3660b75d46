/**
 * Run folders that never lose a result: a command that writes into `--out
 * DIR` refuses a directory that already holds files, unless `--force` says
 * to write over them (or, for `rliv train`, `--resume` continues the run
 * that is there). The check runs before any work, so a refused command
 * changes nothing.
 */
import { readdirSync, statSync } from 'node:fs';
import { UsageError, type OptionSpec } from './command.js';

/** `--force`, shared by every command that takes `--out DIR`. */
export function forceOption(): OptionSpec {
  return {
    type: 'boolean',
    description: 'write into a non-empty --out DIR, replacing the files this command writes (other files are left as they are)',
    default: false,
  };
}

/** What {@link checkOutDir} accepts besides an empty or missing directory. */
export interface OutDirOptions {
  /** `--force` was given: a non-empty directory is written over. */
  force: boolean;
  /** The command has a `--resume` flag (named in the refusal), and it was given: a non-empty directory is expected. */
  resume?: { available: boolean; given: boolean };
}

/**
 * Throws a {@link UsageError} when `dir` exists and is not an empty
 * directory, unless `options` allow it. A missing directory is fine (the
 * command creates it once its other flags are checked).
 */
export function checkOutDir(dir: string, options: OutDirOptions): void {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} is a file, not a directory; choose a directory`);
    entries = readdirSync(dir);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new UsageError(`--out ${dir}: cannot read the directory (${(err as Error).message})`);
  }
  if (entries.length === 0 || options.force || options.resume?.given) return;
  const shown = entries.sort().slice(0, 5).join(', ') + (entries.length > 5 ? `, ... (${entries.length} entries)` : '');
  const ways = options.resume?.available ? '--resume to continue the run that is there, --force to write over it' : '--force to write over it';
  throw new UsageError(`--out ${dir} is not empty (${shown}); refusing to overwrite a previous run. Choose another --out, or pass ${ways}`);
}
