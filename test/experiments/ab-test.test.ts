import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

test(
  'simulated A/B tests (smoke): both tests, fused and LIV-only arms over 2 bucket seeds; deltas over users and seeds, weights, Fig. 6, files',
  { timeout: 900_000 },
  async () => {
    const out = tempDir('rliv-ab-');
    const preset = experimentPreset('smoke');
    const { results, files } = await runAbTest({ weeks: 1, outDir: out, preset, seed: 3, bucketSeeds: 2, preDays: 2, rankings: ['fused', 'liv-only'] });
    assert.deepEqual(
      results.tests.map((r) => r.test),
      ['revenue', 'watchTime'],
    );
    assert.equal(results.days, 7);
    assert.equal(results.preDays, 2);
    assert.equal(results.bucketSeeds.length, 2);
    const revenue = results.tests[0]!;
    const watch = results.tests[1]!;
    assert.deepEqual(
      revenue.arms.map((a) => a.label),
      [
        'RankingModel',
        'RLIV-UA(w/o AL & SL) (fused)',
        'RLIV-UA(w/o SL) (fused)',
        'RLIV-UA (fused)',
        'RLIV-UA(w/o AL & SL) (LIV only)',
        'RLIV-UA(w/o SL) (LIV only)',
        'RLIV-UA (LIV only)',
      ],
    );
    assert.deepEqual(
      watch.arms.map((a) => a.label),
      ['RankingModel', 'RLIV-UA (fused)', 'RLIV-UA (LIV only)'],
    );
    assert.deepEqual(revenue.towers, { follow: 1, gift: 1 });
    assert.deepEqual(watch.towers, { watchTime: 1 });
    for (const run of results.tests) {
      assert.equal(
        run.arms.reduce((s, a) => s + a.users, 0),
        2 * preset.numUsers,
        `${run.test}: every user in exactly one bucket, per seed`,
      );
      const control = run.arms[0]!;
      assert.equal(control.delta, undefined, 'no delta for the control');
      for (const arm of run.arms.slice(1)) {
        assert.equal(arm.seedDeltas!.length, 2);
        for (const m of AB_METRICS) {
          const d = arm.delta![m];
          const across = arm.acrossSeeds![m];
          if (control.means[m] === 0) {
            assert.ok(Number.isNaN(d.delta));
            continue;
          }
          assert.ok(Math.abs(d.delta - (arm.means[m] / control.means[m] - 1)) < 1e-9, `${arm.label} ${m}`);
          assert.ok(d.ci95[0] <= d.delta && d.delta <= d.ci95[1]);
          const perSeed = arm.seedDeltas!.map((x) => x[m].delta);
          if (perSeed.every(Number.isFinite)) {
            assert.ok(Math.abs(across.mean - (perSeed[0]! + perSeed[1]!) / 2) < 1e-12, `${arm.label} ${m}: mean over seeds`);
            assert.equal(across.n, 2);
            if (perSeed[0] !== perSeed[1]) assert.ok(across.ci95[0] < across.mean && across.mean < across.ci95[1]);
          }
        }
        // Fused arms: one weight per seed, chosen by the rule (the largest grid weight keeping >= 97 % of the predicted click rate).
        if (arm.ranking === 'fused') {
          assert.equal(arm.fusionWeights!.length, 2);
          arm.weightRetention!.forEach((ret, s) => {
            assert.equal(ret[0]!.weight, 0);
            assert.equal(ret[0]!.keptClickRate, 1);
            const chosen = ret.filter((x) => x.keptClickRate >= 0.97).pop()!;
            assert.equal(arm.fusionWeights![s], chosen.weight, `${arm.label} seed ${s}`);
          });
        } else {
          assert.equal(arm.fusionWeights, undefined);
        }
      }
      // The weight rule saw only the pre-period: every request it scored precedes every request of the reported weeks
      // (a session of the pre-period's last day may run past midnight, so the bound is the first reported request).
      run.selection.lastRequestMs.forEach((t, s) => {
        assert.ok(
          t < run.selection.firstReportedRequestMs[s]!,
          `${run.test} seed ${s}: last selection request ${t} < first reported request ${run.selection.firstReportedRequestMs[s]}`,
        );
        assert.ok(run.selection.firstReportedRequestMs[s]! >= run.selection.reportStartMs);
      });
    }
    assert.deepEqual(
      Object.keys(results.giftValue).sort(),
      revenue.arms
        .slice(1)
        .map((a) => a.label)
        .sort(),
      "Fig. 6 on the revenue test's arms",
    );
    for (const g of Object.values(results.giftValue)) {
      assert.equal(
        g.grades.filter((x) => x.grade > 0).reduce((s, x) => s + x.pairs, 0),
        g.giftedPairs,
        'quintile grades partition the gifted pairs',
      );
    }
    const json = JSON.parse(readFileSync(files.json, 'utf8')) as AbTestResults;
    assert.equal(json.tests.length, 2);
    const html = readFileSync(files.html, 'utf8');
    for (const id of ['revenue-paper', 'revenue-all', 'revenue-weights', 'watchTime-paper', 'watchTime-all', 'watchTime-weights', 'ab-means-revenue', 'fig6'])
      assert.match(html, new RegExp(`data-table="${id}"`));
    assert.doesNotMatch(html, /<script|\bsrc=|\bhref=/i);
    const md = readFileSync(files.markdown, 'utf8');
    assert.match(md, /\| RLIV-UA \(fused\) \| UA Count \| \+5\.8 % \|/, "the paper's Table 4 beside ours");
    assert.match(md, /\| RLIV-UA \(fused\) \| Weekly Retention \| \+0\.021 % \|/, "the paper's Table 5 beside ours");
    // rliv report rebuilds both reports byte for byte from ab-results.json.
    const elsewhere = join(tempDir('rliv-ab-report-'), 'rebuilt');
    const rebuilt = await runCli(['report', files.json, '--out', elsewhere, '--quiet']);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.equal(rebuilt.summary!.kind, 'ab-test');
    assert.ok(readFileSync(join(elsewhere, 'ab-report.html')).equals(readFileSync(files.html)), 'ab-report.html rebuilt byte for byte');
    assert.ok(readFileSync(join(elsewhere, 'ab-report.md')).equals(readFileSync(files.markdown)), 'ab-report.md rebuilt byte for byte');

    // config.json, curves.csv (each arm per reported day, per test and seed) and metrics.csv beside the results.
    const config = JSON.parse(readFileSync(files.config, 'utf8'));
    assert.equal(config.kind, 'rliv-ab-test-config');
    assert.deepEqual(Object.keys(config.models), ['RankingModel', 'RLIV-UA(w/o AL & SL)', 'RLIV-UA(w/o SL)', 'RLIV-UA']);
    assert.equal(config.models['RLIV-UA'].gamma, (resolveAgentConfig('RLIV-UA', {}) as { gamma: number }).gamma);
    assert.deepEqual(config.bucketSeeds, results.bucketSeeds);
    assert.ok(config.environment.quit && config.environment.returnModel);
    const rows = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n');
    const curves = rows(files.curves);
    assert.equal(curves[0], 'model,seed,epoch,metric,value');
    assert.equal(curves.length - 1, (7 + 3) * 2 * 7 * 5, '10 arms x 2 seeds x 7 days x 5 metrics');
    const d = revenue.daily!['RLIV-UA (fused)']![1]!;
    assert.deepEqual(d.day, [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(
      curves
        .find((l) => l.startsWith(`revenue/RLIV-UA (fused),${results.bucketSeeds[1]},4,world.watchTime,`))
        ?.split(',')
        .pop(),
      String(d.watchTime[3]),
    );
    const metrics = rows(files.metrics);
    const arm = revenue.arms[3]!;
    assert.ok(metrics.includes(`revenue/${arm.label},3,,mean.totalRevenue,${arm.means.totalRevenue}`));
    assert.ok(metrics.includes(`revenue/${arm.label},3,,delta.totalRevenue.pValue,${arm.delta!.totalRevenue.pValue}`));
    assert.ok(metrics.includes(`revenue/${arm.label},${results.bucketSeeds[0]},,fusionWeight,${arm.fusionWeights![0]}`));
  },
);

test(
  'the reported weeks never reach the weight selection: the chosen weights are the same for 1 and 2 reported weeks, and precede them',
  { timeout: 900_000 },
  async () => {
    const preset = experimentPreset('smoke');
    const run = (weeks: number) => runAbTest({ weeks, outDir: tempDir(`rliv-ab-w${weeks}-`), preset, seed: 5, tests: ['revenue'], bucketSeeds: 1, preDays: 2 });
    const one = (await run(1)).results.tests[0]!;
    const two = (await run(2)).results.tests[0]!;
    const fused = (r: typeof one) => r.arms.filter((a) => a.ranking === 'fused').map((a) => ({ w: a.fusionWeights, ret: a.weightRetention }));
    assert.deepEqual(fused(two), fused(one));
    assert.equal(fused(one).length, 3);
    assert.notDeepEqual(
      two.arms.map((a) => a.means),
      one.arms.map((a) => a.means),
      'the reported weeks themselves differ',
    );
    for (const r of [one, two])
      assert.ok(r.selection.lastRequestMs[0]! < r.selection.firstReportedRequestMs[0]! && r.selection.reportStartMs <= r.selection.firstReportedRequestMs[0]!);
  },
);

test('rliv ab-test rejects --weeks 0 and writes nothing', async () => {
  const out = join(tempDir('rliv-ab-bad-'), 'never');
  const r = await runCli(['ab-test', '--weeks', '0', '--preset', 'smoke', '--out', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--weeks must be an integer in \[1, 520\]/);
  assert.equal(existsSync(out), false);
});

test('rliv ab-test refuses a non-empty --out without --force, naming what is there, and changes nothing', async () => {
  const out = tempDir('rliv-ab-busy-');
  writeFileSync(join(out, 'ab-results.json'), '{"previous": "run"}\n');
  const r = await runCli(['ab-test', '--weeks', '1', '--preset', 'smoke', '--out', out]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /--out .* is not empty \(ab-results\.json\); refusing to overwrite a previous run\. Choose another --out, or pass --force to write over it/,
  );
  assert.deepEqual(readdirSync(out), ['ab-results.json']);
  assert.equal(readFileSync(join(out, 'ab-results.json'), 'utf8'), '{"previous": "run"}\n');
});

test('per-arm agent configs reach their arm (recorded in settings; the run changes) and are checked before anything runs', { timeout: 600_000 }, async () => {
  const preset = experimentPreset('smoke');
  const small = { tests: ['watchTime' as const], bucketSeeds: 1, preDays: 1 };
  const base = await runAbTest({ weeks: 1, outDir: tempDir('rliv-ab-cfg-a-'), preset, seed: 4, ...small });
  const mean = await runAbTest({
    weeks: 1,
    outDir: tempDir('rliv-ab-cfg-b-'),
    preset,
    seed: 4,
    ...small,
    agentConfigs: { 'RLIV-UA': { targetCritics: 'mean', gamma: 0.8 } },
  });
  assert.deepEqual(mean.results.settings.agentConfigOverrides, { 'RLIV-UA': { targetCritics: 'mean', gamma: 0.8 } });
  assert.deepEqual(base.results.settings.agentConfigOverrides, {});
  // Same seed and world: had the overrides not reached the RLIV-UA arm, the two runs would be identical.
  const arm = (r: AbTestResults) => r.tests[0]!.arms.find((a) => a.model === 'RLIV-UA')!.means;
  assert.notDeepEqual(arm(mean.results), arm(base.results));

  const out = join(tempDir('rliv-ab-cfg-bad-'), 'never');
  await assert.rejects(
    runAbTest({ weeks: 1, outDir: out, preset, seed: 4, agentConfigs: { 'RLIV-UA(w/o MT)': {} } }),
    /"RLIV-UA\(w\/o MT\)", which is not one of the models of this A\/B test: RankingModel, RLIV-UA\(w\/o AL & SL\), RLIV-UA\(w\/o SL\), RLIV-UA/,
  );
  await assert.rejects(runAbTest({ weeks: 1, outDir: out, preset, seed: 4, agentConfigs: { RankingModel: { lr: -1 } } }), /lr/);
  assert.equal(existsSync(out), false, 'nothing is written');
});

test('rliv ab-test --agent-config: a bad arm or key is a usage error naming the file, and writes nothing', async () => {
  const dir = tempDir('rliv-ab-cfg-cli-');
  const out = join(dir, 'never');
  for (const [file, text, message] of [
    ['arm.json', JSON.stringify({ DQN: { gamma: 0.8 } }), /arm\.json: agent config for "DQN", which is not one of the models of this A\/B test/],
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

test('rliv ab-test: a bad --tests, --ranking, --click-keep or a fused run without a pre-period is a usage error, and writes nothing', async () => {
  const out = join(tempDir('rliv-ab-flags-'), 'never');
  for (const [flags, message] of [
    [['--tests', 'revenue,clicks'], /--tests takes distinct names from revenue, watch-time; got "revenue,clicks"/],
    [['--ranking', 'mixed'], /--ranking/],
    [['--click-keep', '1.5'], /--click-keep must be a number in \(0, 1\], got "1.5"/],
    [['--pre-days', '0'], /--pre-days must be >= 1 when arms are fused/],
    [['--bucket-seeds', '0'], /--bucket-seeds must be an integer in \[1, 100\]/],
  ] as const) {
    const r = await runCli(['ab-test', '--preset', 'smoke', '--out', out, ...flags]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(existsSync(out), false);
  }
});
