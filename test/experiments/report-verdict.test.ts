/**
 * The report's redesign (issue 18 item 1): the verdict at the top (gates,
 * then where RLIV-UA stands with intervals), Tables 2 and 3 with 95 %
 * intervals and per-seed points, the simulator-vs-world scatter per metric,
 * and the learning curves as small multiples with RLIV-UA emphasised.
 * On the fixture results (synthetic numbers with a known structure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderHtmlReport } from '../../src/experiments/report-html.js';
import { renderMarkdownReport } from '../../src/experiments/report-markdown.js';
import { computeVerdict, rlivUaStanding } from '../../src/experiments/report-verdict.js';
import { simVsWorldTable, table2, table3World } from '../../src/experiments/report-tables.js';
import { resultsToJson, REPORT_METRICS, type ExperimentResults } from '../../src/experiments/results.js';
import { pairedTTest, spearman } from '../../src/experiments/statistics.js';
import { pointStripSvg, scatterChartSvg, stripScale } from '../../src/experiments/svg-point-charts.js';
import type { FidelityResults } from '../../src/experiments/fidelity.js';
import { fixtureResults } from './fixtures/results-fixture.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function failedGates(): FidelityResults {
  return {
    gates: [
      { id: 'G1', title: 'calibration', pass: true, checks: [] },
      { id: 'G2', title: 'no exploitation', pass: false, checks: [] },
      { id: 'G3', title: 'agreement', pass: true, checks: [] },
    ],
    pass: false,
    reference: {},
    worldRankReliability: { sessionLength: 0.9, watchTime: 0.8 },
  };
}

test("standing: RLIV-UA's rank per metric among Table 2's models, and its difference to the closest rival over seeds", () => {
  const r = fixtureResults();
  const sim = rlivUaStanding(r, 'simulator')!;
  assert.deepEqual(
    sim.map((s) => s.metric),
    [...REPORT_METRICS],
  );
  // Fixture plateaus: RLIV-UA leads session length, watch time and new fans; CTR: RankingModel, CQL ahead; diversity: TD3 ahead.
  assert.deepEqual(
    sim.map((s) => [s.rank, s.of, s.rival]),
    [
      [1, 6, 'RLUR'],
      [1, 6, 'RLUR'],
      [3, 6, 'RankingModel'],
      [2, 6, 'TD3'],
      [1, 6, 'RLUR'],
    ],
  );
  for (const s of sim) {
    const own = r.models['RLIV-UA']![s.metric].values;
    const rival = r.models[s.rival!]![s.metric].values;
    assert.ok(Math.abs(s.diff - (mean(own) - mean(rival))) < 1e-9, `${s.metric}: RLIV-UA minus the rival`);
    const t = pairedTTest(own, rival);
    assert.deepEqual(s.ci95, t.ci95);
    assert.equal(s.pValue, t.pValue);
    // The rank is the number of Table 2 models with a higher mean, plus one.
    const higher = ['RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR'].filter((m) => r.models[m]![s.metric].mean > r.models['RLIV-UA']![s.metric].mean).length;
    assert.equal(s.rank, higher + 1);
  }
  assert.ok(sim[0]!.diff > 0 && sim[0]!.pValue < 0.05, 'a clear lead on session length is significant');
  assert.ok(sim[2]!.diff < 0, 'behind on CTR');
  const world = rlivUaStanding(r, 'world')!;
  const w = world[0]!;
  assert.ok(
    Math.abs(w.diff - (mean(r.simToReal['RLIV-UA']!.sessionLength.values) - mean(r.simToReal[w.rival!]!.sessionLength.values))) < 1e-9,
    'world standing uses the world figures',
  );
});

test('verdict: the gates first, then the world and the simulator standing, then the seeds; a table per metric', () => {
  const r = fixtureResults();
  r.fidelity = failedGates();
  const v = computeVerdict(r);
  assert.match(v.lines[0]!, /^Fidelity gates: G1 PASS, G2 FAIL, G3 PASS\./);
  assert.match(
    v.lines[1]!,
    /^In the ground-truth world \(the figures to trust while a gate fails\), RLIV-UA ranks Session Length 1st, Watch Time 1st, CTR 3rd, Diversity 2nd, New Fans 1st of 6 models; it is significantly ahead of every other model on Session Length/,
  );
  assert.match(v.lines[2]!, /^In the learned simulator \(read with the failed gates in mind\), RLIV-UA ranks Session Length 1st, .*CTR 3rd/);
  assert.match(v.lines[3]!, /^3 seeds: every interval is a 95 % t-interval over seeds, wide with so few seeds\.$/);
  const t = v.table!;
  assert.deepEqual(t.header, [
    'Metric',
    'World: RLIV-UA',
    'World: rank',
    'World: vs closest rival',
    'Simulator: RLIV-UA',
    'Simulator: rank',
    'Simulator: vs closest rival',
  ]);
  assert.equal(t.rows.length, REPORT_METRICS.length);
  const s = r.models['RLIV-UA']!.sessionLength;
  assert.equal(t.rows[0]![4]!.text, `${s.mean.toFixed(4)}, 95 % CI [${s.ci95[0].toFixed(4)}, ${s.ci95[1].toFixed(4)}]`);
  assert.equal(t.rows[0]![5]!.text, '1st of 6');
  const sim = rlivUaStanding(r, 'simulator')!;
  const d = sim[2]!;
  assert.match(t.rows[2]![6]!.text, new RegExp(`^behind RankingModel: ${d.diff.toFixed(4).replace('.', '\\.')} \\[-?\\d+\\.\\d{4}, -?\\d+\\.\\d{4}\\], p = `));
  assert.equal(t.rows[0]![6]!.bold, true, 'a significant lead is bold');
  // Both reports open with it.
  const html = renderHtmlReport(r);
  const md = renderMarkdownReport(r);
  assert.ok(html.indexOf('id="verdict"') < html.indexOf('data-table="table2"'), 'verdict before Table 2 in report.html');
  assert.ok(html.indexOf('id="verdict"') < html.indexOf('id="findings"'));
  assert.ok(md.indexOf('## Verdict') < md.indexOf('### Table 2'), 'verdict before Table 2 in report.md');
  for (const line of v.lines) assert.ok(md.includes(`- ${line}`), line);
});

test('verdict without a world, without RLIV-UA and with one seed', () => {
  const r = fixtureResults();
  const noWorld: ExperimentResults = { ...r, simToReal: {}, noGroundTruth: 'real logs' };
  const v = computeVerdict(noWorld);
  assert.equal(v.lines.length, 3, 'gates, simulator, seeds');
  assert.match(v.lines[1]!, /^In the learned simulator, RLIV-UA ranks/);
  assert.ok(!v.table!.header.some((h) => h.startsWith('World')));
  const noRef: ExperimentResults = {
    ...r,
    modelOrder: r.modelOrder.filter((m) => m !== 'RLIV-UA'),
    models: Object.fromEntries(Object.entries(r.models).filter(([m]) => m !== 'RLIV-UA')),
  };
  const v2 = computeVerdict(noRef);
  assert.equal(v2.table, null);
  assert.match(v2.lines[1]!, /RLIV-UA is not among the models of this run/);
  assert.match(renderHtmlReport(noRef), /id="verdict"/);
  // One seed, through JSON (NaN intervals become null): no interval, no test, and the reports still render.
  const one = JSON.parse(resultsToJson(fixtureResults([4], 12))) as ExperimentResults;
  const v3 = computeVerdict(one);
  assert.match(v3.lines.at(-1)!, /1 seed: .*none can be computed with one seed/);
  assert.match(v3.table!.rows[0]![1]!.text, /95 % CI n\/a \(1 seed\)/);
  assert.match(v3.table!.rows[0]![3]!.text, /p = n\/a$/);
  assert.ok(renderMarkdownReport(one).includes('95 % CI n/a (1 seed)'));
});

test('Tables 2 and 3: each cell has the 95 % interval and the per-seed figures, drawn on one scale per column', () => {
  const r = fixtureResults();
  const t = table2(r);
  const rl = r.models['RLIV-UA']!.watchTime;
  const cell = t.rows[5]![2]!;
  assert.equal(cell.text, `${rl.mean.toFixed(2)} ± ${rl.std.toFixed(2)}`);
  assert.equal(cell.sub, `95 % CI [${rl.ci95[0].toFixed(2)}, ${rl.ci95[1].toFixed(2)}]`);
  assert.equal(cell.detail, `seeds ${rl.values.map((v) => v.toFixed(2)).join(', ')}`);
  assert.deepEqual(cell.strip!.values, rl.values);
  assert.deepEqual(cell.strip!.seeds, [1, 2, 3]);
  // One scale per column: every strip of the watch-time column has the same [lo, hi], covering every seed figure and interval.
  const scales = new Set(t.rows.map((row) => `${row[2]!.strip!.lo},${row[2]!.strip!.hi}`));
  assert.equal(scales.size, 1);
  const [lo, hi] = [t.rows[0]![2]!.strip!.lo, t.rows[0]![2]!.strip!.hi];
  for (const m of ['RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR', 'RLIV-UA']) {
    const s = r.models[m]!.watchTime;
    for (const v of [...s.values, ...s.ci95]) assert.ok(v > lo && v < hi, `${m}: ${v} within [${lo}, ${hi}]`);
  }
  // The world tables too.
  const w = table3World(r).rows.at(-1)![1]!;
  assert.deepEqual(w.strip!.values, r.simToReal['RLIV-UA']!.sessionLength.values);
  // report.html: one strip per metric cell with one dot per seed; report.md: interval and seeds as text.
  const html = renderHtmlReport(r);
  const t2 = html.slice(html.indexOf('data-table="table2"'), html.indexOf('</table>', html.indexOf('data-table="table2"')));
  assert.equal((t2.match(/<svg [^>]*class="strip"/g) ?? []).length, 6 * 5);
  assert.equal((t2.match(/class="seed"/g) ?? []).length, 6 * 5 * 3);
  assert.ok(t2.includes(`<span class="sub">${cell.sub}</span>`));
  const md = renderMarkdownReport(r);
  assert.equal(cell.bold, true, 'RLIV-UA has the best watch time');
  assert.ok(md.includes(`| **${cell.text}** ${cell.sub}; ${cell.detail} |`), 'markdown cell: text (bold), interval, seeds');
});

test('point strip: interval bar, mean tick and one dot per seed at their positions on the column scale', () => {
  const svg = pointStripSvg({ values: [2, 4, 6], seeds: [1, 2, 3], mean: 4, ci: [1, 7], lo: 0, hi: 10, decimals: 2 }, '#123456', 106, 14);
  // x = (v - lo) / (hi - lo) * (width - 6) + 3
  const cx = [...svg.matchAll(/class="seed" cx="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.deepEqual(cx, [23, 43, 63]);
  assert.match(svg, /<rect class="ci" x="13\.0" y="4\.5" width="60\.0"/);
  assert.match(svg, /<line class="mean" x1="43\.0"/);
  assert.match(svg, /<title>seed 1: 2\.00, seed 2: 4\.00, seed 3: 6\.00<\/title>/);
  assert.doesNotMatch(pointStripSvg({ values: [2], seeds: [1], mean: 2, ci: [NaN, NaN], lo: 0, hi: 10 }), /class="ci"/, 'no interval with one seed');
  assert.deepEqual(stripScale([{ values: [0, 10], ci: [NaN, NaN] }]), [-0.4, 10.4]);
});

test('simulator vs world: one scatter per metric with a point per model; Spearman and ratios in the table', () => {
  const r = fixtureResults();
  const html = renderHtmlReport(r);
  for (const metric of REPORT_METRICS) {
    const start = html.indexOf(`data-chart="scatter-${metric}"`);
    assert.ok(start > 0, metric);
    const svg = html.slice(start, html.indexOf('</svg>', start));
    assert.equal((svg.match(/class="point"/g) ?? []).length, 10, `${metric}: a point per model`);
    assert.equal((svg.match(/class="point" data-series="RLIV-UA" [^>]*r="6"/g) ?? []).length, 1, 'RLIV-UA emphasised');
    const rho = spearman(
      r.modelOrder.map((m) => r.models[m]![metric].mean),
      r.modelOrder.map((m) => r.simToReal[m]![metric].mean),
    );
    assert.ok(svg.includes(`Spearman ρ = ${rho.toFixed(2)}`), `${metric}: ρ ${rho}`);
  }
  const t = simVsWorldTable(r)!;
  const ratios = r.modelOrder.map((m) => r.models[m]!.ctr.mean / r.simToReal[m]!.ctr.mean).sort((a, b) => a - b);
  const ctr = t.rows[2]!;
  assert.equal(ctr[0]!.text, 'CTR');
  assert.equal(ctr[2]!.text, `${((ratios[4]! + ratios[5]!) / 2).toFixed(2)} (${ratios[0]!.toFixed(2)} to ${ratios[9]!.toFixed(2)})`);
  // The fixture's world figures are 0.80-0.85 of the simulator's: every model is above its world figure.
  assert.equal(ctr[3]!.text, '10 of 10');
  assert.equal(simVsWorldTable({ ...r, simToReal: {} }), null);
  assert.doesNotMatch(renderHtmlReport({ ...r, simToReal: {}, noGroundTruth: 'real logs' }), /data-chart="scatter-/);
});

test('scatter: one scale with y = x when the figures are comparable, separate scales when one axis would be squeezed', () => {
  const pts = (ys: number[]) => ys.map((y, i) => ({ name: `m${i}`, color: '#000', x: 10 + i, y }));
  const shared = scatterChartSvg({ title: 't', xLabel: 'world', yLabel: 'sim', points: pts([10.5, 11.2, 12.4]) });
  assert.match(shared, /data-scale="shared"/);
  const diag = /<line class="diagonal" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"/.exec(shared)!;
  const [x1, y1, x2, y2] = diag.slice(1).map(Number);
  assert.ok(Math.abs(x2! - x1! + (y2! - y1!)) < 0.2, 'y = x at 45 degrees on a shared square plot');
  const apart = scatterChartSvg({ title: 't', xLabel: 'world', yLabel: 'sim', points: pts([50, 55, 60]) });
  assert.match(apart, /data-scale="separate"/);
  assert.match(apart, /separate scales; y = x is outside the plot/);
  assert.doesNotMatch(apart, /class="diagonal"/);
  assert.match(scatterChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', points: [] }), /no data/);
});

test('learning curves: a panel per model and metric on one scale, the others in grey and RLIV-UA dashed', () => {
  const r = fixtureResults();
  const html = renderHtmlReport(r);
  for (const metric of ['sessionLength', 'watchTime', 'ctr', 'diversity']) {
    const block = html.slice(
      html.indexOf(`<div class="multiples" data-metric="${metric}">`),
      html.indexOf('</div></div>', html.indexOf(`<div class="multiples" data-metric="${metric}">`)),
    );
    const panels = block.split('<svg ').slice(1);
    assert.equal(panels.length, 10, `${metric}: a panel per model`);
    const ticks = new Set<string>();
    panels.forEach((p, i) => {
      const model = r.modelOrder[i]!;
      assert.ok(p.includes(`data-model="${model.replace(/&/g, '&amp;')}"`));
      assert.equal((p.match(/class="line"/g) ?? []).length, 1, 'its own line');
      assert.equal((p.match(/class="band"/g) ?? []).length, 1, 'its own band');
      assert.equal((p.match(/class="context"/g) ?? []).length, 9, 'the other nine models behind it');
      const dashed = p.match(/class="context" data-series="RLIV-UA"[^>]*stroke-dasharray/g) ?? [];
      assert.equal(dashed.length, model === 'RLIV-UA' ? 0 : 1, 'RLIV-UA dashed in every other panel');
      ticks.add([...p.matchAll(/class="tick">([^<]+)</g)].map((m) => m[1]).join(','));
    });
    assert.equal(ticks.size, 1, `${metric}: every panel has the same axes`);
  }
  assert.match(html, /stroke="#d62728" stroke-width="1.8"/, "RLIV-UA's own line in strong red, not pale yellow");
});
