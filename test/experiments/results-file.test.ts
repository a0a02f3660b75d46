/**
 * Saved results: recognised by shape, checked before rendering (a bad field
 * is named by its path), rendered by the same functions the run used, and
 * `rliv report` refuses bad input without writing anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults, readResultsFile, renderReports, renderSavedReports, ResultsFileError } from '../../src/experiments/results-file.js';
import { renderHtmlReport } from '../../src/experiments/report-html.js';
import { resultsToJson } from '../../src/experiments/results.js';
import * as rliv from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { fixtureResults } from './fixtures/results-fixture.js';

test('experiment results: recognised, checked, rendered from the JSON as saved (NaN -> null) the same as in memory', () => {
  const r = fixtureResults([5], 12);
  const json = resultsToJson(r);
  const saved = parseResults(JSON.parse(json), 'x.json');
  assert.equal(saved.kind, 'experiment');
  const files = renderReports(saved);
  assert.deepEqual(
    files.map((f) => f.name),
    ['report.html', 'report.md'],
  );
  assert.deepEqual(renderSavedReports({ kind: 'experiment', results: r }, json), files);
  // One seed: NaN intervals in memory, null on disk; the reports are the same either way.
  assert.equal(renderHtmlReport(r), files[0]!.text);
});

test('a results file of the wrong shape is refused, naming the field; neither shape is named as such', () => {
  const r = JSON.parse(resultsToJson(fixtureResults()));
  r.models.DQN.watchTime.mean = 'fast';
  assert.throws(
    () => parseResults(r, 'bad.json'),
    (e: Error) =>
      e instanceof ResultsFileError && /bad\.json is not a valid results\.json of rliv experiment: models\.DQN\.watchTime\.mean: .*number/.test(e.message),
  );
  const r2 = JSON.parse(resultsToJson(fixtureResults()));
  delete r2.simToReal.TD3;
  assert.throws(() => parseResults(r2, 'r2.json'), /modelOrder names "TD3" but models or simToReal has no entry for it/);
  // Results of real logs (noGroundTruth) have no simToReal at all, by design; a models entry is still required.
  const logs = JSON.parse(resultsToJson(fixtureResults()));
  logs.simToReal = {};
  logs.noGroundTruth = 'real KuaiRand logs: no ground truth';
  assert.equal(parseResults(logs, 'logs.json').kind, 'experiment');
  delete logs.models.TD3;
  assert.throws(() => parseResults(logs, 'logs.json'), /modelOrder names "TD3" but models or simToReal has no entry for it/);
  logs.noGroundTruth = 42;
  assert.throws(() => parseResults(logs, 'logs.json'), /noGroundTruth: .*string/);
  // The world's differences to RLIV-UA: optional (absent on real logs and in older files), checked when present.
  const sw = JSON.parse(resultsToJson(fixtureResults()));
  assert.ok(sw.significanceWorld && Object.keys(sw.significanceWorld).length > 0, 'the fixture has world differences');
  assert.equal(parseResults(sw, 'sw.json').kind, 'experiment');
  sw.significanceWorld.DQN.watchTime.ci95 = [1];
  assert.throws(() => parseResults(sw, 'sw.json'), /sw\.json is not a valid results\.json of rliv experiment: significanceWorld\.DQN\.watchTime\.ci95/);
  delete sw.significanceWorld;
  assert.equal(parseResults(sw, 'sw.json').kind, 'experiment');
  // The tuning record: optional, checked when present.
  sw.tuning = { agentConfig: null };
  assert.equal(parseResults(sw, 'sw.json').kind, 'experiment');
  sw.tuning = { agentConfig: '/x/agent-config.json', tune: { metric: 'watchTime', budget: 8, seeds: [1], sameSplit: 'yes', models: {} } };
  assert.throws(() => parseResults(sw, 'sw.json'), /tuning\.tune\.sameSplit/);
  assert.throws(
    () => parseResults({ hello: 1 }, 'h.json'),
    /h\.json is neither the results\.json of rliv experiment .* nor the ab-results\.json of rliv ab-test/,
  );
  const ab = {
    weeks: 4,
    days: 28,
    preDays: 7,
    seed: 1,
    bucketSeeds: [7],
    preset: 'quick',
    control: 'RankingModel',
    tests: [],
    giftValue: {},
    settings: {},
    wallSeconds: 1,
    notes: [],
  };
  assert.throws(() => parseResults(ab, 'ab.json'), /ab\.json is not a valid ab-results\.json of rliv ab-test: tests: /);
  assert.throws(
    () => parseResults({ arms: [], control: 'RankingModel' }, 'old.json'),
    /old\.json is an ab-results\.json of an older rliv ab-test .* re-run rliv ab-test/,
  );
});

test('rliv report: a missing, non-JSON or wrong-shaped file is a usage error naming it, and nothing is written', async () => {
  const dir = tempDir('rliv-report-bad-');
  const out = join(dir, 'never');
  const notJson = join(dir, 'results.json');
  writeFileSync(notJson, '{"preset": ');
  for (const [args, message] of [
    [[], /expected one RESULTS\.json .*got none/],
    [[join(dir, 'nope.json')], /cannot read .*nope\.json/],
    [[notJson], /results\.json is not JSON/],
  ] as const) {
    const r = await runCli(['report', ...args, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(existsSync(out), false);
  }
  assert.throws(() => readResultsFile(join(dir, 'nope.json')), ResultsFileError);
});

test('the renderers and the results-file functions are exported by the library', () => {
  for (const name of [
    'renderHtmlReport',
    'renderMarkdownReport',
    'renderAbHtml',
    'renderAbMarkdown',
    'readResultsFile',
    'parseResults',
    'renderReports',
    'computeFindings',
    'reportTables',
    'lineChartSvg',
    'barChartSvg',
    'scatterChartSvg',
    'computeVerdict',
    'simVsWorldTable',
    'longCsv',
    'buildResults',
    'resultsToJson',
  ]) {
    assert.equal(typeof (rliv as Record<string, unknown>)[name], 'function', name);
  }
});
