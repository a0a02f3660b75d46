/**
 * The layering of docs/design.md §2.1, checked on the sources: every import
 * (static, `export ... from`, type-only and dynamic `import()`) between files
 * of src/ and bench/ must go downward,
 *
 *   numeric -> data -> world -> environment -> simulator -> mdp -> agents -> experiments | serving -> bench -> cli -> src/index.ts
 *
 * (an arrow points from a lower layer to the layers that may import it),
 * stay inside its own layer, and never close a circle of files. experiments
 * and serving are peers: neither may import the other.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Rank of each layer; a file may import files of a lower rank or of its own layer. Peers share a rank. */
export const LAYER_RANK: Readonly<Record<string, number>> = {
  numeric: 0,
  data: 1,
  world: 2,
  environment: 3,
  simulator: 4,
  mdp: 5,
  agents: 6,
  experiments: 7,
  serving: 7,
  bench: 8,
  cli: 9,
  index: 10,
};

/** The repository root: the nearest ancestor of this file with a package.json (works from test/ and from dist/test/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('dependencies test: cannot find the repository root (package.json beside src/)');
    dir = up;
  }
  return dir;
}

/** Layer of a repository-relative path, or null for files outside the layered code. */
export function layerOf(path: string): string | null {
  const parts = path.split('/');
  if (parts[0] === 'bench') return 'bench';
  if (parts[0] !== 'src') return null;
  if (parts.length === 2) return parts[1] === 'index.ts' ? 'index' : null;
  return parts[1]! in LAYER_RANK ? parts[1]! : null;
}

function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const abs = join(root, dir);
  if (!existsSync(abs)) return out;
  for (const name of readdirSync(abs)) {
    const rel = `${dir}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) out.push(...sourceFiles(root, rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Repository-relative .ts files each file imports (relative specifiers only; packages are not layers). */
export function importGraph(root: string, files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const targets: string[] = [];
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const abs = resolve(root, dirname(file), ref.fileName.replace(/\.js$/, '.ts'));
      targets.push(relative(root, abs).split(sep).join('/'));
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Imports that go up a layer or sideways between peers: "from -> to (layer a -> layer b)". */
export function layerViolations(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const a = layerOf(from);
    if (a === null) continue;
    for (const to of targets) {
      const b = layerOf(to);
      if (b === null) {
        out.push(`${from} -> ${to} (imports a file outside the layered code)`);
        continue;
      }
      if (a === b) continue;
      if (LAYER_RANK[b]! >= LAYER_RANK[a]!) out.push(`${from} -> ${to} (${a} may not import ${b}: ${LAYER_RANK[b] === LAYER_RANK[a] ? 'peers' : 'upward'})`);
    }
  }
  return out;
}

/** Every import circle among the files (strongly connected components of more than one file, or a file importing itself). */
export function importCircles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm, iterative-free recursion is fine at this size (a few hundred files).
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return circles;
}

const root = repoRoot();
const files = [...sourceFiles(root, 'src'), ...sourceFiles(root, 'bench')];
const graph = importGraph(root, files);

test('the dependency check reads the sources', () => {
  assert.ok(files.length > 100, `found only ${files.length} source files under ${root}`);
  assert.ok(graph.get('src/agents/rliv-ua.ts')!.includes('src/mdp/replay-buffer.ts'), 'imports are resolved to repository paths');
  const unlayered = files.filter((f) => layerOf(f) === null);
  assert.deepEqual(unlayered, [], 'every file of src/ and bench/ belongs to a layer of docs/design.md §2.1');
});

test('no import goes up a layer or sideways between peers (docs/design.md §2.1)', () => {
  assert.deepEqual(layerViolations(graph), []);
});

test('no import circle', () => {
  assert.deepEqual(
    importCircles(graph).map((c) => c.join(' <-> ')),
    [],
  );
});

test('the check itself fails on an upward import (the environment importing the learned simulator too), a peer import and a circle', () => {
  const fake = new Map<string, string[]>([
    ['src/numeric/a.ts', ['src/numeric/b.ts']],
    ['src/numeric/b.ts', ['src/numeric/a.ts']],
    ['src/mdp/c.ts', ['src/agents/d.ts']],
    ['src/serving/e.ts', ['src/experiments/f.ts', 'src/agents/d.ts']],
    ['bench/g.ts', ['src/cli/command.ts']],
    ['src/cli/h.ts', ['bench/g.ts', 'src/serving/e.ts']],
    ['src/environment/i.ts', ['src/simulator/j.ts', 'src/world/k.ts']],
  ]);
  assert.deepEqual(layerViolations(fake), [
    'src/mdp/c.ts -> src/agents/d.ts (mdp may not import agents: upward)',
    'src/serving/e.ts -> src/experiments/f.ts (serving may not import experiments: peers)',
    'bench/g.ts -> src/cli/command.ts (bench may not import cli: upward)',
    'src/environment/i.ts -> src/simulator/j.ts (environment may not import simulator: upward)',
  ]);
  assert.deepEqual(importCircles(fake), [['src/numeric/a.ts', 'src/numeric/b.ts']]);
});
