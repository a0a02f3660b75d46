import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

test('rliv --help lists the commands and exits 0', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /Commands:/);
  assert.match(r.stderr, /bench/);
});

test('an unknown command exits 2 and names it', async () => {
  const r = await runCli(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});

test('an unknown flag exits 2 and names the flag', async () => {
  const r = await runCli(['bench', '--frob']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--frob/);
});

test('<command> --help prints options with defaults', async () => {
  const r = await runCli(['bench', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--seed N/);
  assert.match(r.stdout, /\[default: 1\]/);
});

test('--config rejects unknown keys and wrong types, naming them', async () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ seed: 3, nonsense: true }));
  let r = await runCli(['bench', '--config', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nonsense/);
  writeFileSync(bad, JSON.stringify({ quiet: 'yes' }));
  r = await runCli(['bench', '--config', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /quiet/);
  writeFileSync(bad, '{not json');
  r = await runCli(['bench', '--config', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot read JSON/);
});

test('--seed must be a non-negative integer', async () => {
  const r = await runCli(['bench', 'nonexistent-bench', '--seed', 'abc']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--seed/);
});

test('bench simulator --candidates outside [6, 300] is a usage error naming the flag (before any work)', async () => {
  for (const bad of ['400', '2', 'many']) {
    const r = await runCli(['bench', 'simulator', '--candidates', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--candidates must be an integer in \[6, 300\]/);
  }
});

test('an unknown benchmark is a usage error listing the choices', async () => {
  const r = await runCli(['bench', 'nope']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /numeric, rliv-ua, simulator, world, serve/);
});
