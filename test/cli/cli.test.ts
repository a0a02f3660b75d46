import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

test('rliv --help lists the commands on stdout and exits 0; with no command the same help is a usage error on stderr', async () => {
  for (const flag of ['--help', '-h', 'help']) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Commands:/);
    assert.match(r.stdout, /\n {2}bench {2,}/);
    assert.match(r.stdout, /\n {2}report {2,}rebuild report.html/);
    assert.equal(r.stderr, '');
  }
  const none = await runCli([]);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /Usage: rliv <command>/);
});

test('rliv --version prints the package version on stdout', async () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V', 'version']) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
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
  assert.match(r.stderr, /numeric, models, rliv-ua, simulator, world, serve/);
});
