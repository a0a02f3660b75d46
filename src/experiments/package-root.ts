/**
 * The root directory of this rliv installation: the first directory above
 * this file (in src/ or dist/src/) whose package.json names `rliv`. Files
 * shipped with the package (configs/, the version) are found from it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { root: string; version: string } | undefined;

function find(): { root: string; version: string } {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++, dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'rliv' && typeof pkg.version === 'string') return (cached = { root: dir, version: pkg.version });
  }
  throw new Error('cannot find the package.json of rliv above ' + fileURLToPath(import.meta.url));
}

/** The package root directory (absolute). */
export function packageRoot(): string {
  return find().root;
}

/** The version in the package's package.json. */
export function packageVersion(): string {
  return find().version;
}
