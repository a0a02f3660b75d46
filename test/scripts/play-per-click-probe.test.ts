/**
 * scripts/play-per-click-probe.mjs on a smoke run: it retrains the run's
 * job exactly (the figures it prints are the run's per-seed figures, to the
 * last bit) and prints a table whose buckets partition the exposures it
 * asked both the world and the simulator about. The script reads the
 * compiled dist/ (`npm test` builds it first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

test('play-per-click probe: reproduces the run job it retrains and answers each of its exposures once per bucket kind', { timeout: 600_000 }, async () => {
  const out = tempDir('rliv-probe-');
  const r = await runCli(['experiment', '--preset', 'smoke', '--seeds', '1', '--models', 'RLUR', '--out', out, '--quiet'], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  const probe = spawnSync(process.execPath, [resolve(REPO_ROOT, 'scripts/play-per-click-probe.mjs'), '--run', out, '--model', 'RLUR'], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  assert.equal(probe.status, 0, probe.stderr);
  const figure = (which: string) => JSON.parse(probe.stdout.match(new RegExp(`^RLUR seed 1: ${which} +(\\{.*\\})$`, 'm'))![1]!);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  const run = results.perSeed.RLUR[0];
  assert.deepEqual(figure('simulator'), run.sim);
  assert.deepEqual(figure('world'), run.real);

  // Rows: | bucket | exposures | ... ; every kind of bucket partitions the same exposures.
  const rows = [...probe.stdout.matchAll(/^\| ([^|]+?) \| (\d+) \|/gm)].map((m) => ({ bucket: m[1]!, n: Number(m[2]) }));
  const all = rows.find((x) => x.bucket === 'all')!.n;
  assert.ok(all > 0);
  for (const kind of ['position', 'author repeats', 'n_ua clicks', 'n_ua gifts', 'following', 'duration', 'world affinity', 'world familiarity phi']) {
    const sum = rows.filter((x) => x.bucket.startsWith(`${kind} `)).reduce((a, x) => a + x.n, 0);
    assert.equal(sum, all, `${kind} buckets cover every exposure once`);
  }
  // A model the run does not have is named.
  const bad = spawnSync(process.execPath, [resolve(REPO_ROOT, 'scripts/play-per-click-probe.mjs'), '--run', out, '--model', 'CQL'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /has no model "CQL"; it has RLUR/);
});
