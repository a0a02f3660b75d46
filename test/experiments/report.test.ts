import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderHtmlReport, curveBand } from '../../src/experiments/report-html.js';
import { renderMarkdownReport } from '../../src/experiments/report-markdown.js';
import { table2, table3, significanceTable, reportTables, timingTable } from '../../src/experiments/report-tables.js';
import { computeFindings, spearman } from '../../src/experiments/findings.js';
import { buildResults, resultsToJson, type ExperimentResults } from '../../src/experiments/results.js';
import { lineChartSvg, niceTicks } from '../../src/experiments/svg-line-chart.js';
import { fixtureResults, FIXTURE_MODELS } from './fixtures/results-fixture.js';

test('buildResults: summaries are over seeds, significance is model − RLIV-UA, paired by seed', () => {
  const r = fixtureResults();
  const rl = r.models['RLIV-UA']!.sessionLength;
  assert.equal(rl.n, 3);
  assert.equal(rl.values.length, 3);
  assert.ok(Math.abs(rl.mean - rl.values.reduce((a, b) => a + b, 0) / 3) < 1e-12);
  const s = r.significance['RankingModel']!.sessionLength;
  const diff = r.models['RankingModel']!.sessionLength.mean - rl.mean;
  assert.ok(Math.abs(s['diffVsRLIV-UA'] - diff) < 1e-9);
  assert.equal(s.test, 'paired');
  assert.equal(r.significance['RLIV-UA'], undefined, 'no test of RLIV-UA against itself');
  assert.deepEqual(Object.keys(r.models), FIXTURE_MODELS);
  assert.equal(r.models['DQN']!.curves.sessionLength!.length, 3, 'one curve per seed');
});

test('buildResults rejects runs whose seeds do not match', () => {
  const base = fixtureResults();
  assert.throws(
    () =>
      buildResults({
        preset: 'x',
        seeds: [1, 2],
        modelOrder: ['RLIV-UA'],
        calibration: { rows: [] },
        wallSeconds: 1,
        runs: { 'RLIV-UA': [{ seed: 1, sim: {} as never, real: {} as never, curve: { epoch: [] } as never }] },
      }),
    /expected \[1, 2\]/,
  );
  assert.ok(base);
});

test("Table 2 and Table 3: rows in the paper's order, mean ± std, the best mean of each column in bold", () => {
  const r = fixtureResults();
  const t2 = table2(r);
  assert.deepEqual(
    t2.rows.map((row) => row[0]!.text),
    ['RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR', 'RLIV-UA'],
  );
  assert.deepEqual(t2.header.slice(1, 5), ['Session Length', 'Watch Time', 'CTR', 'Diversity']);
  const boldRow = (col: number) => t2.rows.filter((row) => row[col]!.bold).map((row) => row[0]!.text);
  assert.deepEqual(boldRow(1), ['RLIV-UA']);
  assert.deepEqual(boldRow(2), ['RLIV-UA']);
  assert.deepEqual(boldRow(3), ['RankingModel']);
  assert.deepEqual(boldRow(4), ['TD3']);
  const m = r.models['RLIV-UA']!.sessionLength;
  assert.equal(t2.rows[5]![1]!.text, `${m.mean.toFixed(4)} ± ${m.std.toFixed(4)}`);
  const t3 = table3(r);
  assert.deepEqual(
    t3.rows.map((row) => row[0]!.text),
    ['RLIV-UA(w/o MT & SL)', 'RLIV-UA(w/o MT)', 'RLIV-UA(w/o SL)', 'RLIV-UA(w/o AL & SL)', 'RLIV-UA'],
  );
});

test('significance table has every model but RLIV-UA and bolds p < 0.05 only', () => {
  const r = fixtureResults();
  const t = significanceTable(r);
  assert.equal(t.rows.length, 9);
  for (const row of t.rows) {
    const name = row[0]!.text;
    ['sessionLength', 'watchTime', 'ctr', 'diversity', 'newFans'].forEach((metric, j) => {
      const p = r.significance[name]![metric as 'ctr'].pValue;
      assert.equal(row[j + 1]!.bold, p < 0.05, `${name} ${metric} p=${p}`);
    });
  }
});

test('findings name the baselines RLIV-UA does not beat', () => {
  const f = computeFindings(fixtureResults()).join('\n');
  assert.match(f, /RLIV-UA does not beat .*RankingModel on CTR/);
  assert.match(f, /TD3 on Diversity/);
  assert.doesNotMatch(f, /DQN on Session Length/);
  assert.match(f, /Session Length: RLIV-UA/);
  assert.match(f, /ordering holds/);
  assert.match(f, /Spearman/);
});

test('spearman: perfect, reversed and tied ranks', () => {
  assert.equal(spearman([1, 2, 3], [10, 20, 30]), 1);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
});

test('HTML report: self-contained (no scripts, links or remote resources), every table and chart present', () => {
  const html = renderHtmlReport(fixtureResults());
  assert.doesNotMatch(html, /<script|<link|<img|\bsrc=|\bhref=|url\(|@import/i);
  // The only URL is the SVG namespace identifier (never fetched).
  const urls = html.match(/https?:\/\/[^\s"']+/g) ?? [];
  assert.ok(
    urls.every((u) => u === 'http://www.w3.org/2000/svg'),
    `unexpected URLs: ${urls.join(', ')}`,
  );
  for (const id of ['table2', 'table3', 'significance', 'sim-to-real', 'calibration']) assert.match(html, new RegExp(`data-table="${id}"`));
  for (const id of [
    'curve-sessionLength-0',
    'curve-watchTime-5',
    'curve-ctr-9',
    'curve-diversity-3',
    'fig5-watchTime',
    'scatter-sessionLength',
    'scatter-newFans',
  ])
    assert.match(html, new RegExp(`data-chart="${id}"`));
  assert.equal((html.match(/class="band"/g) ?? []).length, 4 * 10 + 3 * 2, 'one band per model per small multiple, and per Fig. 5 curve');
  assert.match(html, /RLIV-UA\(w\/o MT &amp; SL\)/, 'names are escaped');
});

test('markdown report carries the same tables and numbers as the HTML report', () => {
  const r = fixtureResults();
  const md = renderMarkdownReport(r);
  const html = renderHtmlReport(r);
  for (const t of reportTables(r)) {
    assert.ok(md.includes(`### ${t.title}`), t.title);
    for (const row of t.rows) {
      for (const c of row) {
        const text = c.text.replace(/\|/g, '\\|');
        assert.ok(md.includes(c.bold ? `**${text}**` : text), `markdown lacks ${c.text}`);
        assert.ok(html.includes(c.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')), `html lacks ${c.text}`);
        if (c.sub) assert.ok(md.includes(c.sub) && html.includes(c.sub), `both reports carry ${c.sub}`);
      }
    }
  }
  assert.match(md, /\| \*\*\d+\.\d{4} ± \d+\.\d{4}\*\* 95 % CI \[\d+\.\d{4}, \d+\.\d{4}\]; seeds \d+\.\d{4}, \d+\.\d{4}, \d+\.\d{4} \|/);
});

test('results.json round trip: one seed gives null intervals that the reports show as n/a', () => {
  const r = fixtureResults([5], 12);
  assert.ok(Number.isNaN(r.models['RLIV-UA']!.ctr.ci95[0]));
  const json = resultsToJson(r);
  const back = JSON.parse(json) as ExperimentResults;
  assert.equal(back.models['RLIV-UA']!.ctr.ci95[0], null);
  assert.equal(back.significance['DQN']!.ctr.pValue, null);
  const md = renderMarkdownReport(back);
  assert.match(md, /p = n\/a/);
  assert.match(md, /no test is possible with one seed/);
  assert.ok(renderHtmlReport(back).includes('data-table="table2"'));
});

test('chart helpers: nice ticks and band geometry', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.12, 0.58, 4), [0.2, 0.3, 0.4, 0.5]);
  // Two means equal but for the last bit (9.016666666666666 vs ...667, seen in a run) are one value: a few ticks
  // around it, not steps of 1e-15 (which once grew an array past V8's limit).
  const near = niceTicks(9.016666666666666, 9.016666666666667, 5);
  assert.ok(near.length >= 2 && near.length <= 12, `${near.length} ticks`);
  assert.ok(near[0]! <= 9.0166 && near[near.length - 1]! >= 9.0167, String(near));
  assert.deepEqual(niceTicks(2, 2, 5), niceTicks(1.8, 2.2, 5), 'one value: padded by 10 %');
  assert.deepEqual(niceTicks(0, 0, 5), niceTicks(-1, 1, 5));
  const b = curveBand([
    [1, 2, null],
    [3, 4, 5],
  ]);
  assert.deepEqual(b.mean, [2, 3, 5]);
  assert.ok(Math.abs(b.std[0]! - Math.SQRT2) < 1e-12);
  assert.equal(b.std[2], 0);
  const svg = lineChartSvg({ title: 'T', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', color: '#000', x: [1, 2], mean: [1, 2], std: [0.5, 0.5] }] });
  assert.match(svg, /<polyline class="line" data-series="a"/);
  assert.match(svg, /<polygon class="band"/);
  assert.match(lineChartSvg({ title: 'E', xLabel: 'x', yLabel: 'y', series: [] }), /no data/);
});

test('timing table: one row per model with its parts (wall, CPU in brackets); per-model parts leave the settings table', () => {
  const r = fixtureResults();
  assert.equal(timingTable(r), null, 'no per-model parts, no table');
  r.phases = { ...r.phases, 'DQN: collect': 2, 'DQN: observe': 0.5, 'DQN: train steps': 10, 'DQN: evaluation': 3, 'DQN: world evaluation': 1 };
  r.phasesCpu = { 'DQN: collect': 1.5, 'DQN: observe': 0.5, 'DQN: train steps': 8, 'DQN: evaluation': 2, 'DQN: world evaluation': 1 };
  const t = timingTable(r)!;
  assert.deepEqual(t.header, ['Model', 'collect', 'observe', 'train steps', 'evaluation', 'world evaluation', 'total']);
  assert.deepEqual(
    t.rows.map((row) => row.map((c) => c.text)),
    [['DQN', '2.0 (1.5)', '0.5 (0.5)', '10.0 (8.0)', '3.0 (2.0)', '1.0 (1.0)', '16.5 (13.0)']],
  );
  const settings = reportTables(r).find((x) => x.id === 'settings')!;
  assert.ok(!settings.rows.some((row) => row[0]!.text.startsWith('time: DQN:')), 'per-model parts are not repeated in the settings');
  assert.ok(settings.rows.some((row) => row[0]!.text === 'time: train'));
  assert.match(renderHtmlReport(r), /data-table="timing"/);
  assert.match(renderMarkdownReport(r), /Time per model and part/);
});

test('differences to RLIV-UA in the world: model − RLIV-UA on the world figures with a 95 % interval, in both reports', () => {
  const r = fixtureResults();
  for (const m of FIXTURE_MODELS.filter((x) => x !== 'RLIV-UA')) {
    const s = r.significanceWorld![m]!.sessionLength;
    const diff = r.simToReal[m]!.sessionLength.mean - r.simToReal['RLIV-UA']!.sessionLength.mean;
    assert.ok(Math.abs(s['diffVsRLIV-UA'] - diff) < 1e-9 * Math.max(1, Math.abs(diff)));
    assert.ok(s.ci95[0] <= s['diffVsRLIV-UA'] && s['diffVsRLIV-UA'] <= s.ci95[1]);
    assert.equal(s.test, 'paired');
  }
  assert.equal(r.significanceWorld!['RLIV-UA'], undefined);
  assert.match(renderHtmlReport(r), /data-table="significance-world"/);
  assert.match(renderMarkdownReport(r), /Significance against RLIV-UA in the ground-truth world/);
});
