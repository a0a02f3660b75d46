import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AB_METRICS, assignBuckets, runAbTest, type AbTestResults } from '../../src/experiments/ab-test.js';
import { experimentPreset } from '../../src/experiments/experiment-presets.js';
import { resolveAgentConfig } from '../../src/agents/registry.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

test('buckets are persistent (seeded), balanced and cover every arm', () => {
  const a = assignBuckets(103, 4, 9);
  const b = assignBuckets(103, 4, 9);
  assert.deepEqual(a, b);
  const sizes = [0, 0, 0, 0];
  for (const x of a) sizes[x]!++;
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
  assert.notDeepEqual(assignBuckets(103, 4, 10), a, 'another seed, another split');
  assert.throws(() => assignBuckets(10, 1, 1), /at least 2 arms/);
  assert.throws(() => assignBuckets(3, 4, 1), /at least one user per arm/);
});

test('simulated A/B test (smoke, 1 week): arms, relative deltas over control, Fig. 6, JSON and HTML', { timeout: 600_000 }, async () => {
  const out = tempDir('rliv-ab-');
  const preset = experimentPreset('smoke');
  const { results, files } = await runAbTest({ weeks: 1, outDir: out, preset, seed: 3 });
  assert.deepEqual(results.arms.map((a) => a.model), ['RankingModel', 'RLIV-UA(w/o AL & SL)', 'RLIV-UA(w/o SL)', 'RLIV-UA']);
  assert.equal(results.days, 7);
  assert.equal(results.arms.reduce((s, a) => s + a.users, 0), preset.numUsers, 'every user in exactly one bucket');
  assert.equal(results.arms[0]!.delta, undefined, 'no delta for the control');
  const control = results.arms[0]!;
  for (const arm of results.arms.slice(1)) {
    for (const m of AB_METRICS) {
      const d = arm.delta![m];
      if (control.means[m] === 0) {
        assert.ok(Number.isNaN(d.delta));
        continue;
      }
      assert.ok(Math.abs(d.delta - (arm.means[m] / control.means[m] - 1)) < 1e-9, `${arm.model} ${m}`);
      assert.ok(d.ci95[0] <= d.delta && d.delta <= d.ci95[1]);
    }
  }
  // Totals and means agree: total = mean x users (retention is over users with sessions).
  for (const arm of results.arms) {
    assert.ok(Math.abs(arm.totals.totalRevenue - arm.means.totalRevenue * arm.users) < 1e-6 * Math.max(1, arm.totals.totalRevenue));
    assert.ok(arm.means.weeklyRetention >= 0 && arm.means.weeklyRetention <= 1);
    assert.ok(arm.means.weeklyGiftedUsers >= 0 && arm.means.weeklyGiftedUsers <= 1);
  }
  assert.deepEqual(Object.keys(results.giftValue).sort(), ['RLIV-UA', 'RLIV-UA(w/o AL & SL)', 'RLIV-UA(w/o SL)']);
  for (const g of Object.values(results.giftValue)) {
    assert.equal(g.grades.filter((x) => x.grade > 0).reduce((s, x) => s + x.pairs, 0), g.giftedPairs, 'quintile grades partition the gifted pairs');
  }
  const json = JSON.parse(readFileSync(files.json, 'utf8')) as AbTestResults;
  assert.equal(json.arms.length, 4);
  const html = readFileSync(files.html, 'utf8');
  for (const id of ['table4', 'table5', 'ab-means', 'fig6']) assert.match(html, new RegExp(`data-table="${id}"`));
  assert.doesNotMatch(html, /<script|\bsrc=|\bhref=/i);

  // ab-report.md carries the same tables; rliv report rebuilds both reports byte for byte from ab-results.json.
  const md = readFileSync(files.markdown, 'utf8');
  assert.match(md, /### Table 4: revenue metrics \(relative to the control\)/);
  for (const arm of results.arms.slice(1)) assert.ok(md.includes(`| ${arm.model} | `), arm.model);
  const elsewhere = join(tempDir('rliv-ab-report-'), 'rebuilt');
  const rebuilt = await runCli(['report', files.json, '--out', elsewhere, '--quiet']);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.equal(rebuilt.summary!.kind, 'ab-test');
  assert.ok(readFileSync(join(elsewhere, 'ab-report.html')).equals(readFileSync(files.html)), 'ab-report.html rebuilt byte for byte');
  assert.ok(readFileSync(join(elsewhere, 'ab-report.md')).equals(readFileSync(files.markdown)), 'ab-report.md rebuilt byte for byte');

  // config.json, curves.csv (each arm per simulated day) and metrics.csv beside the results.
  const config = JSON.parse(readFileSync(files.config, 'utf8'));
  assert.equal(config.kind, 'rliv-ab-test-config');
  assert.deepEqual(Object.keys(config.models), results.arms.map((a) => a.model));
  assert.equal(config.models['RLIV-UA'].gamma, (resolveAgentConfig('RLIV-UA', {}) as { gamma: number }).gamma);
  assert.equal(typeof config.environment.seed, 'number');
  assert.ok(config.environment.quit && config.environment.returnModel);
  const rows = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n');
  const curves = rows(files.curves);
  assert.equal(curves[0], 'model,seed,epoch,metric,value');
  assert.equal(curves.length - 1, 4 * 7 * 5, '4 arms x 7 days x 5 metrics');
  for (const [model, d] of Object.entries(results.daily!)) {
    assert.deepEqual(d.day, [1, 2, 3, 4, 5, 6, 7]);
    const line = curves.find((l) => l.startsWith(`${model.includes(',') ? `"${model}"` : model},3,4,world.watchTime,`));
    assert.equal(line?.split(',').pop(), String(d.watchTime[3]), `${model} day 4 watch time`);
  }
  const metrics = rows(files.metrics);
  const arm = results.arms[3]!;
  assert.ok(metrics.includes(`${arm.model},3,,mean.totalRevenue,${arm.means.totalRevenue}`));
  assert.ok(metrics.includes(`${arm.model},3,,delta.totalRevenue.pValue,${arm.delta!.totalRevenue.pValue}`));
});

test('rliv ab-test rejects --weeks 0 and writes nothing', async () => {
  const out = join(tempDir('rliv-ab-bad-'), 'never');
  const r = await runCli(['ab-test', '--weeks', '0', '--preset', 'smoke', '--out', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--weeks must be an integer in \[1, 520\]/);
  assert.equal(existsSync(out), false);
});

test('per-arm agent configs reach their arm (recorded in settings; the run changes) and are checked before anything runs', { timeout: 600_000 }, async () => {
  const preset = experimentPreset('smoke');
  const base = await runAbTest({ weeks: 1, outDir: tempDir('rliv-ab-cfg-a-'), preset, seed: 4 });
  const mean = await runAbTest({ weeks: 1, outDir: tempDir('rliv-ab-cfg-b-'), preset, seed: 4, agentConfigs: { 'RLIV-UA': { targetCritics: 'mean', gamma: 0.8 } } });
  assert.deepEqual(mean.results.settings.agentConfigOverrides, { 'RLIV-UA': { targetCritics: 'mean', gamma: 0.8 } });
  assert.deepEqual(base.results.settings.agentConfigOverrides, {});
  // Same seed and world: had the overrides not reached the RLIV-UA arm, the two runs would be identical.
  const arm = (r: AbTestResults) => r.arms.find((a) => a.model === 'RLIV-UA')!.means;
  assert.notDeepEqual(arm(mean.results), arm(base.results));

  const out = join(tempDir('rliv-ab-cfg-bad-'), 'never');
  await assert.rejects(runAbTest({ weeks: 1, outDir: out, preset, seed: 4, agentConfigs: { 'RLIV-UA(w/o MT)': {} } }), /"RLIV-UA\(w\/o MT\)", which is not one of the arms of this A\/B test: RankingModel, RLIV-UA\(w\/o AL & SL\), RLIV-UA\(w\/o SL\), RLIV-UA/);
  await assert.rejects(runAbTest({ weeks: 1, outDir: out, preset, seed: 4, agentConfigs: { RankingModel: { lr: -1 } } }), /lr/);
  assert.equal(existsSync(out), false, 'nothing is written');
});

test('rliv ab-test --agent-config: a bad arm or key is a usage error naming the file, and writes nothing', async () => {
  const dir = tempDir('rliv-ab-cfg-cli-');
  const out = join(dir, 'never');
  for (const [file, text, message] of [
    ['arm.json', JSON.stringify({ DQN: { gamma: 0.8 } }), /arm\.json: agent config for "DQN", which is not one of the arms of this A\/B test/],
    ['key.json', JSON.stringify({ 'RLIV-UA': { gammma: 0.9 } }), /key\.json: .*"gammma"/],
  ] as const) {
    const path = join(dir, file);
    writeFileSync(path, text);
    const r = await runCli(['ab-test', '--weeks', '1', '--preset', 'smoke', '--out', out, '--agent-config', path]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(existsSync(out), false);
  }
});
