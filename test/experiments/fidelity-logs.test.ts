import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PolicyFigures } from '../../src/experiments/fidelity.js';
import { computeLogsFidelity } from '../../src/experiments/fidelity-logs.js';
import { fidelityTables, fidelityVerdict } from '../../src/experiments/report-fidelity.js';
import { buildResults, type SeedRun } from '../../src/experiments/results.js';
import { renderMarkdownReport } from '../../src/experiments/report-markdown.js';
import { renderHtmlReport } from '../../src/experiments/report-html.js';

const figures = (click: number): PolicyFigures => ({
  click,
  longView: click / 2,
  playTimeS: 10,
  sessionLength: 9,
  watchTime: 300,
  ctr: click,
  capShare: 0,
  sessions: 60,
});
const REASON = 'no ground truth: real logs have no world in which to evaluate the trained policies';

test("G1 on real logs: the simulator's click rate on random slates within 15 % of the random log's; G2 and G3 not applicable, never PASS", () => {
  const pass = computeLogsFidelity({
    reference: { 'uniform random': { sim: figures(0.2) }, 'simulator-greedy': { sim: figures(0.6) } },
    randomLogClickRate: 0.18,
    randomLogRows: 1000,
    reason: REASON,
  });
  const [g1, g2, g3] = pass.gates;
  assert.equal(g1!.id, 'G1');
  assert.equal(g1!.checks.length, 1);
  assert.ok(Math.abs(g1!.checks[0]!.value - (0.2 / 0.18 - 1)) < 1e-12);
  assert.equal(g1!.pass, true);
  assert.equal(pass.pass, true, 'every applicable gate passed');
  for (const g of [g2!, g3!]) {
    assert.equal(g.notApplicable, REASON);
    assert.equal(g.pass, false);
    assert.deepEqual(g.checks, []);
  }
  // +16.7 % is outside the bound: FAIL.
  const fail = computeLogsFidelity({ reference: { 'uniform random': { sim: figures(0.21) } }, randomLogClickRate: 0.18, randomLogRows: 1000, reason: REASON });
  assert.equal(fail.gates[0]!.pass, false);
  assert.equal(fail.pass, false);
  // Just inside the bound (-14.4 %) passes. Without the random policy, or with no random-log rate, G1 fails.
  assert.equal(
    computeLogsFidelity({ reference: { 'uniform random': { sim: figures(0.154) } }, randomLogClickRate: 0.18, randomLogRows: 1, reason: REASON }).gates[0]!
      .pass,
    true,
  );
  assert.equal(computeLogsFidelity({ reference: {}, randomLogClickRate: 0.18, randomLogRows: 1, reason: REASON }).pass, false);
  assert.equal(
    computeLogsFidelity({ reference: { 'uniform random': { sim: figures(0.2) } }, randomLogClickRate: NaN, randomLogRows: 0, reason: REASON }).pass,
    false,
  );
});

test('results without a ground truth: no world columns anywhere, the report says why and shows G2/G3 as not applicable', () => {
  const run = (seed: number, x: number): SeedRun => ({
    seed,
    sim: { sessionLength: 9 + x, watchTime: 300 + x, ctr: 0.2, diversity: 0.8, newFans: 0.1 },
    curve: { epoch: [1, 2], sessionLength: [9, 9 + x], watchTime: [300, 300 + x], ctr: [0.2, 0.2], diversity: [0.8, 0.8], newFans: [0.1, 0.1] },
    capShare: { sim: 0 },
  });
  const input = {
    preset: 'smoke',
    seeds: [1, 2],
    modelOrder: ['RankingModel', 'CQL', 'RLIV-UA'],
    runs: { RankingModel: [run(1, 1), run(2, 2)], CQL: [run(1, 0), run(2, 1)], 'RLIV-UA': [run(1, 3), run(2, 1)] },
    calibration: { rows: [{ quantity: 'held-out random log: click rate', target: 0.176, world: 0.18, simulator: 0.17 }], worldLabel: 'Logs' },
    wallSeconds: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  // Runs without world figures need the reason, and a reason needs runs without world figures.
  assert.throws(() => buildResults(input), /have no world figures and no reason is given/);
  const results = buildResults({ ...input, noGroundTruth: 'These are real KuaiRand logs: no ground truth.' });
  assert.deepEqual(results.simToReal, {});
  assert.equal(results.noGroundTruth, 'These are real KuaiRand logs: no ground truth.');
  const withWorld = { ...input, runs: { ...input.runs, CQL: input.runs.CQL.map((r) => ({ ...r, real: r.sim })) } };
  assert.throws(
    () => buildResults({ ...withWorld, noGroundTruth: 'x' }),
    /"RankingModel" have no world figures|"CQL" have world figures but the results say there is no ground truth/,
  );

  results.fidelity = computeLogsFidelity({
    reference: { 'uniform random': { sim: figures(0.17) } },
    randomLogClickRate: 0.18,
    randomLogRows: 500,
    reason: REASON,
  });
  results.fidelity.instrument = {
    randomLogHeads: {
      click: {
        auc: 0.6,
        rate: 0.18,
        predictedRate: 0.17,
        reliability: [
          { predicted: 0.1, observed: 0.12, rows: 250 },
          { predicted: 0.24, observed: 0.24, rows: 250 },
        ],
      },
    },
  };
  const verdict = fidelityVerdict(results.fidelity);
  assert.match(verdict, /^Fidelity gates: G1 PASS, G2 not applicable, G3 not applicable\. There is no ground truth/);
  const tables = fidelityTables(results);
  const gateRows = tables[0]!.rows.map((r) => [r[0]!.text, r[4]!.text]);
  assert.deepEqual(gateRows, [
    ['G1', 'PASS'],
    ['G2', 'NOT APPLICABLE'],
    ['G3', 'NOT APPLICABLE'],
  ]);
  assert.equal(tables[1]!.title, 'Reference policies in the simulator');
  assert.ok(
    tables[1]!.header.every((h) => !h.includes('(world)')),
    tables[1]!.header.join(', '),
  );
  const curves = tables.find((t) => t.id === 'random-log-calibration')!;
  // Calibration error: (250 * 0.02 + 250 * 0) / 500 = 0.01.
  assert.deepEqual(
    curves.rows[0]!.slice(0, 6).map((c) => c.text),
    ['click', '0.600', '0.170 → 0.180', '0.010', '0.100 → 0.120', '0.240 → 0.240'],
  );

  const md = renderMarkdownReport(results);
  const html = renderHtmlReport(results);
  assert.ok(md.includes('### No ground-truth columns\n\nThese are real KuaiRand logs: no ground truth.'), 'report.md says why');
  assert.match(html, /<section id="no-world"><h2>No ground-truth columns<\/h2><p class="caption">These are real KuaiRand logs: no ground truth\.<\/p>/);
  for (const text of [md, html]) {
    assert.ok(!text.includes('ground-truth world)'), 'no world tables');
    assert.ok(!text.includes('Sim-to-real'), 'no sim-to-real table or finding');
    assert.ok(!/G[23][^\n]*\bPASS\b/.test(text.replace(/G1 PASS/g, '')), 'G2 and G3 never read PASS');
  }
  assert.ok(md.includes('| Quantity | Target | Logs | Simulator | Source |'), 'the calibration table names its column Logs');
  // A world run is unchanged: its world tables are there and no such section.
  const world = buildResults({ ...input, runs: Object.fromEntries(Object.entries(input.runs).map(([m, rs]) => [m, rs.map((r) => ({ ...r, real: r.sim }))])) });
  const worldMd = renderMarkdownReport(world);
  assert.ok(worldMd.includes('ground-truth world)') && !worldMd.includes('No ground-truth columns'));
});
