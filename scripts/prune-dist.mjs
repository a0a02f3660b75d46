/**
 * Deletes build output under dist/ whose TypeScript source is gone (a file
 * moved or deleted since the last build), so `npm test`, which runs every
 * test file it finds under dist/test, never runs a stale copy. Run by
 * `npm run build:ts`.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const OUTPUT = /(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/;
let pruned = 0;
function prune(dir) {
  for (const name of readdirSync(dir)) {
    const out = join(dir, name);
    if (statSync(out).isDirectory()) {
      prune(out);
      if (readdirSync(out).length === 0) rmSync(out, { recursive: true });
      continue;
    }
    if (!OUTPUT.test(name)) continue;
    const source = out.slice('dist/'.length).replace(OUTPUT, '.ts');
    if (!existsSync(source)) {
      rmSync(out);
      pruned++;
    }
  }
}
for (const top of ['src', 'test', 'bench']) if (existsSync(join('dist', top))) prune(join('dist', top));
if (pruned > 0) console.log(`prune-dist: removed ${pruned} stale file(s) under dist/`);
