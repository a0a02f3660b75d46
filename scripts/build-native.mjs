#!/usr/bin/env node
/**
 * Builds the optional OpenBLAS N-API addon (native/src/rliv_native.c) into
 * native/build/rliv_native.node. It NEVER fails the build: if the compiler,
 * the Node headers or OpenBLAS are missing, it prints why and exits 0, and
 * rliv uses its pure-TypeScript gemm instead (`rliv bench numeric` reports
 * which backend ran).
 *
 * It compiles directly with the system C compiler instead of node-gyp,
 * because node-gyp downloads Node headers from the internet unless told
 * where they are; the headers installed with Node (include/node next to the
 * node binary, or /usr/include/node) are enough for an N-API addon.
 * binding.gyp is kept for those who prefer `npx node-gyp rebuild --nodedir=...`.
 *
 * Environment: CC (default cc), RLIV_SKIP_NATIVE=1 to skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'src', 'rliv_native.c');
const outDir = join(root, 'native', 'build');
const output = join(outDir, 'rliv_native.node');

function say(msg) {
  process.stderr.write(`build-native: ${msg}\n`);
}

function giveUp(why) {
  say(`${why}\nbuild-native: the OpenBLAS addon was NOT built; rliv will use the pure-TypeScript gemm (slower, same results).`);
  process.exit(0);
}

if (process.env.RLIV_SKIP_NATIVE === '1') giveUp('skipped because RLIV_SKIP_NATIVE=1');
if (!existsSync(source)) giveUp(`source ${source} is missing`);
if (existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs && process.argv[2] !== '--force') {
  say(`${output} is up to date`);
  process.exit(0);
}

const headerDirs = [
  process.env.RLIV_NODE_INCLUDE,
  join(dirname(dirname(process.execPath)), 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].filter(Boolean);
const nodeInclude = headerDirs.find((d) => existsSync(join(d, 'node_api.h')));
if (!nodeInclude) giveUp(`node_api.h not found in ${headerDirs.join(', ')} (install the Node development headers or set RLIV_NODE_INCLUDE)`);

const cc = process.env.CC || 'cc';
const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) giveUp(`C compiler "${cc}" not found (apt-get install -y build-essential)`);

// Debian/Ubuntu put OpenBLAS' cblas.h under the multiarch include dir, which cc already searches; add the usual extra places.
const includeDirs = [
  nodeInclude,
  '/usr/include/openblas',
  '/usr/include/x86_64-linux-gnu/openblas-pthread',
  '/usr/include/aarch64-linux-gnu/openblas-pthread',
].filter((d) => existsSync(d));
mkdirSync(outDir, { recursive: true });
const tmp = `${output}.tmp-${process.pid}`;
// -fno-math-errno lets sqrtf vectorise (the Adam kernel); nothing reads errno.
const baseArgs = [
  '-O3',
  '-fno-math-errno',
  '-fPIC',
  '-shared',
  '-std=c11',
  '-Wall',
  '-DNODE_GYP_MODULE_NAME=rliv_native',
  ...includeDirs.map((d) => `-I${d}`),
  source,
  '-o',
  tmp,
  '-lopenblas',
];
// -march=native lets OpenBLAS-independent code vectorise; retry without it on compilers that reject it.
let result = spawnSync(cc, ['-march=native', ...baseArgs], { encoding: 'utf8' });
if (result.status !== 0) result = spawnSync(cc, baseArgs, { encoding: 'utf8' });
if (result.error || result.status !== 0) {
  giveUp(`compiling failed (is libopenblas-dev installed? apt-get install -y libopenblas-dev):\n${(result.stderr || String(result.error)).trim()}`);
}
renameSync(tmp, output);

// Load it once in a child process so a broken addon is reported now rather than at first use.
const check = spawnSync(
  process.execPath,
  [
    '-e',
    `const a = require(${JSON.stringify(output)}); const c = new Float32Array(1); a.sgemm(false, false, 1, 1, 1, 1, new Float32Array([2]), 0, 1, new Float32Array([3]), 0, 1, 0, c, 0, 1); if (c[0] !== 6) throw new Error('sgemm gave ' + c[0]); console.log(a.config());`,
  ],
  { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } },
);
if (check.status !== 0) giveUp(`built ${output} but it does not load: ${check.stderr.trim()}`);
say(`built ${output} (${check.stdout.trim()})`);
