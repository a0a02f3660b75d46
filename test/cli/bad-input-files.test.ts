/**
 * Commands given impossible input files (issue 17): each fails with the
 * file, line and column, exits non-zero, and leaves no `*.partial` file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAS_KUAIRAND_PURE, USER_FEATURES_PURE, VIDEO_FEATURES_PURE, tempDir } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { GENERATION_PRESETS, generateDataset } from '../../src/environment/log-generation.js';

/** Every file under `dir` (recursively) whose name ends in .partial. */
function partials(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.partial'));
}

function headerOnly(src: string, dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, readFileSync(src, 'utf8').split('\n', 1)[0] + '\n');
  return path;
}

test(
  'generate: a header-only users or videos table is refused naming the file; nothing is written',
  { skip: !HAS_KUAIRAND_PURE && 'KuaiRand-Pure tables not found' },
  async () => {
    const dir = tempDir();
    const users0 = headerOnly(USER_FEATURES_PURE, dir, 'user_features_empty.csv');
    const videos0 = headerOnly(VIDEO_FEATURES_PURE, dir, 'video_features_basic_empty.csv');
    const outU = join(dir, 'out-users');
    const r1 = await runCli(['generate', '--preset', 'smoke', '--users', users0, '--videos', VIDEO_FEATURES_PURE, '--out', outU, '--quiet']);
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stderr, /user_features_empty\.csv: line 1: no data rows: the table has a header and nothing else/);
    assert.deepEqual(partials(outU), []);
    const outV = join(dir, 'out-videos');
    const r2 = await runCli(['generate', '--preset', 'smoke', '--videos', videos0, '--out', outV, '--quiet']);
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, /video_features_basic_empty\.csv: line 1: no data rows/);
    assert.deepEqual(partials(outV), []);
  },
);

test('generate: a run that fails while writing the logs leaves no *.partial file', async () => {
  const out = tempDir();
  const scale = { ...GENERATION_PRESETS.smoke, numUsers: 40, numItems: 200, days: 2 };
  await assert.rejects(
    generateDataset({
      outDir: out,
      scale,
      seed: 1,
      skipCalibration: true,
      log: (line) => {
        if (line.startsWith('day 1/')) throw new Error('disk full (simulated)');
      },
    }),
    /disk full \(simulated\)/,
  );
  assert.deepEqual(partials(out), []);
  assert.deepEqual(
    readdirSync(out).filter((f) => f.startsWith('log_') || f.startsWith('gifts_')),
    [],
  );
});

test('fit-simulator: a negative or infinite play time is refused with file, line and column', async () => {
  const dir = tempDir();
  const logs = join(dir, 'logs');
  const g = await runCli([
    'generate',
    '--preset',
    'smoke',
    '--users-count',
    '40',
    '--items-count',
    '200',
    '--days',
    '1',
    '--no-calibrate',
    '--out',
    logs,
    '--quiet',
  ]);
  assert.equal(g.code, 0, g.stderr);
  for (const [value, problem] of [
    ['-20000', `out of range: '-20000' is not in \\[0, 86400000\\]`],
    ['1e400', `expected a finite number, got '1e400'`],
  ] as const) {
    const copy = join(dir, `logs${value}`);
    cpSync(logs, copy, { recursive: true });
    const path = join(copy, 'log_standard_rliv.csv');
    const lines = readFileSync(path, 'utf8').split('\n');
    const fields = lines[5]!.split(',');
    fields[12] = value;
    lines[5] = fields.join(',');
    writeFileSync(path, lines.join('\n'));
    const out = join(dir, `sim${value}`);
    const r = await runCli(['fit-simulator', '--preset', 'smoke', '--logs', copy, '--out', out, '--quiet']);
    assert.equal(r.code, 1, `play_time_ms ${value}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`log_standard_rliv\\.csv: line 6, column 13 'play_time_ms': ${problem}`));
    assert.deepEqual(partials(out), []);
  }
});
