/**
 * The reports of the simulated A/B test: `ab-report.html` (self-contained:
 * inline CSS and SVG, no scripts) and `ab-report.md`. For each of the
 * paper's tests (revenue: Table 4; watch time: Table 5): each treatment
 * arm's relative delta over the control, with its 95 % interval over users
 * and over bucket seeds, beside the paper's number; every metric for every
 * arm (the other table's metrics are the guardrails); the fusion weights the
 * rule chose and the click rate they keep; the per-arm means; Fig. 6 (gift-
 * tower LIV per gift-amount grade, revenue test) and findings computed from
 * the numbers.
 */
import { AB_METRICS, AB_METRIC_INFO, AB_TEST_SPECS, PAPER_AB, type AbArmResult, type AbMetric, type AbTestResults, type AbTestRun } from './ab-results.js';
import { fmt, fmtP, isNum } from './findings.js';
import { REPORT_CSS } from './report-html.js';
import { barChartSvg } from './svg-bar-chart.js';
import { escapeXml } from './svg-line-chart.js';

/** A relative delta as a signed percentage: 3 decimals below 1 %, 1 above. */
export function pct(x: unknown): string {
  if (!isNum(x)) return 'n/a';
  const p = 100 * x;
  return `${p >= 0 ? '+' : ''}${p.toFixed(Math.abs(p) < 1 ? 3 : 1)} %`;
}

const interval = (ci: [number, number]): string => `[${pct(ci[0])}, ${pct(ci[1])}]`;

/** "+x % [users: a, b] p = .. ; seeds: mean [c, d]" for one arm and metric. */
function cellText(arm: AbArmResult, m: AbMetric): { users: string; seeds: string; significant: boolean } {
  const d = arm.delta?.[m];
  const s = arm.acrossSeeds?.[m];
  if (!d) return { users: '-', seeds: '-', significant: false };
  return {
    users: `${pct(d.delta)} ${interval(d.ci95)}, p ${fmtP(d.pValue).startsWith('<') ? '' : '= '}${fmtP(d.pValue)}`,
    seeds: s ? `${pct(s.mean)} ${interval(s.ci95)} (${s.n} seeds)` : '-',
    significant: isNum(d.pValue) && d.pValue < 0.05,
  };
}

const paperOf = (run: AbTestRun, arm: AbArmResult, m: AbMetric): number | undefined =>
  arm.ranking === 'control' ? undefined : PAPER_AB[run.test][arm.model]?.[m];

/** A test's title up to its parenthesised detail ("Revenue test (Table 4: ...)" -> "Revenue test"); the whole title when it has none. */
const titleHead = (title: string): string => {
  const cut = title.indexOf(' (');
  return cut < 0 ? title : title.slice(0, cut);
};

const towerText = (run: AbTestRun): string =>
  Object.entries(run.towers)
    .map(([k, w]) => (w === 1 ? k : `${w} x ${k}`))
    .join(' + ');

/** Findings from the numbers: significant gains/losses per treatment, the paper's ordering, the weights, Fig. 6's correlation. */
export function abFindings(r: AbTestResults): string[] {
  const out: string[] = [];
  for (const run of r.tests) {
    const spec = AB_TEST_SPECS[run.test];
    for (const arm of run.arms) {
      if (!arm.delta) continue;
      const sig = (sign: number) =>
        AB_METRICS.filter((m) => isNum(arm.delta![m].pValue) && arm.delta![m].pValue < 0.05 && Math.sign(arm.delta![m].delta) === sign).map(
          (m) => AB_METRIC_INFO[m].label,
        );
      const up = sig(1);
      const down = sig(-1);
      const w = arm.fusionWeights ? `; fusion weight ${arm.fusionWeights.map((x) => fmt(x, 2)).join(', ')} over the seeds` : '';
      out.push(
        `${titleHead(spec.title)}, ${arm.label} vs ${r.control}: significantly higher (over users) on ${up.length ? up.join(', ') : 'no metric'}; significantly lower on ${down.length ? down.join(', ') : 'no metric'}${w}.`,
      );
    }
    if (run.test === 'revenue') {
      for (const ranking of ['fused', 'liv-only'] as const) {
        const chain = spec.treatments.map((m) => run.arms.find((a) => a.model === m && a.ranking === ranking));
        if (!chain.every((a) => a?.delta)) continue;
        const parts = spec.metrics.map((m) => {
          const ds = chain.map((a) => a!.delta![m].delta);
          const holds = ds.every((d, i) => i === 0 || d > ds[i - 1]!);
          return `${AB_METRIC_INFO[m].label} ${ds.map(pct).join(' → ')} (${holds ? 'holds' : 'does not hold'})`;
        });
        out.push(
          `The paper's ordering w/o AL & SL < w/o SL < RLIV-UA on Table 4, ${ranking === 'fused' ? 'fused arms' : 'LIV-only arms'}: ${parts.join('; ')}.`,
        );
      }
    }
  }
  for (const [label, g] of Object.entries(r.giftValue)) {
    const gifted = g.grades.filter((x) => x.grade > 0);
    const monotone = gifted.every((x, i) => i === 0 || x.meanLiv >= gifted[i - 1]!.meanLiv);
    out.push(
      `Fig. 6 (${label}): over ${g.giftedPairs} gifted pairs, Spearman correlation of gift-tower LIV and gift amount ${fmt(g.spearman, 3)}; the mean LIV ${monotone ? 'rises' : 'does not rise monotonically'} with the gift-amount grade.`,
    );
  }
  const perBucket = r.tests.map((run) => `${run.arms[0]?.users ?? 0} control users (${run.test})`).join(', ');
  out.push(
    `${r.weeks} reported week(s) after a ${r.preDays}-day pre-period, ${r.bucketSeeds.length} bucket seed(s), ${perBucket} over all seeds: the paper's deltas of a fraction of a percent are far below what this test can resolve (compare the intervals).`,
  );
  return out;
}

// ---------------------------------------------------------------- HTML

function paperTableHtml(r: AbTestResults, run: AbTestRun): string {
  const spec = AB_TEST_SPECS[run.test];
  const rows = run.arms
    .filter((a) => a.delta)
    .flatMap((arm) =>
      spec.metrics.map((m, i) => {
        const c = cellText(arm, m);
        const paper = paperOf(run, arm, m);
        const users = c.significant ? `<b>${escapeXml(c.users)}</b>` : escapeXml(c.users);
        return `<tr>${i === 0 ? `<td rowspan="${spec.metrics.length}">${escapeXml(arm.label)}</td>` : ''}<td>${escapeXml(AB_METRIC_INFO[m].label)}</td><td>${paper === undefined ? '-' : pct(paper)}</td><td${c.significant ? ' class="best"' : ''}>${users}</td><td>${escapeXml(c.seeds)}</td></tr>`;
      }),
    );
  return (
    `<section id="${run.test}-paper"><h2>${escapeXml(spec.title)}: ours beside the paper's</h2>` +
    `<p class="caption">Treatments rank with the ${escapeXml(towerText(run))} LIV. Relative change of the per-user mean over the control bucket (${escapeXml(r.control)}): over users (every seed's users pooled; delta-method 95 % interval, p-value; bold: p &lt; 0.05) and over bucket seeds (mean of the per-seed deltas, Student-t 95 % interval). The paper's figures are production A/B tests (Kwai / Kuaishou), quoted.</p>` +
    `<div class="wide"><table data-table="${run.test}-paper"><thead><tr><th>Arm</th><th>Metric</th><th>Paper</th><th>Ours, over users</th><th>Ours, over bucket seeds</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div></section>`
  );
}

function allMetricsHtml(r: AbTestResults, run: AbTestRun): string {
  const head = `<tr><th>Arm</th>${AB_METRICS.map((m) => `<th>${escapeXml(AB_METRIC_INFO[m].label)}</th>`).join('')}</tr>`;
  const rows = run.arms.map(
    (arm) =>
      `<tr><td>${escapeXml(arm.label)}</td>${AB_METRICS.map((m) => {
        if (!arm.delta) return `<td>${fmt(arm.means[m])}</td>`;
        const c = cellText(arm, m);
        return `<td${c.significant ? ' class="best"' : ''}>${fmt(arm.means[m])}<br>${escapeXml(c.users)}</td>`;
      }).join('')}</tr>`,
  );
  return (
    `<section id="${run.test}-all"><h2>${escapeXml(titleHead(AB_TEST_SPECS[run.test].title))}: every metric</h2><p class="caption">Per-user mean over the reported weeks (all seeds pooled), then the relative delta over the control with its interval over users. The other table's metrics are this test's guardrails.</p>` +
    `<div class="wide"><table data-table="${run.test}-all"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table></div></section>`
  );
}

function weightsHtml(r: AbTestResults, run: AbTestRun): string {
  const fused = run.arms.filter((a) => a.fusionWeights);
  if (fused.length === 0) return '';
  const grid = fused[0]!.weightRetention![0]!.map((x) => x.weight);
  const rows = fused.flatMap((arm) =>
    arm.weightRetention!.map(
      (ret, s) =>
        `<tr><td>${escapeXml(arm.label)}</td><td>${s + 1}</td><td><b>${fmt(arm.fusionWeights![s], 2)}</b></td>${ret.map((x) => `<td>${(100 * x.keptClickRate).toFixed(1)} %</td>`).join('')}</tr>`,
    ),
  );
  return (
    `<section id="${run.test}-weights"><h2>${escapeXml(titleHead(AB_TEST_SPECS[run.test].title))}: fusion weights</h2><p class="caption">The rule (${escapeXml(String(r.settings.fusion && (r.settings.fusion as { rule?: string }).rule))}), per arm and bucket seed, on ${run.selection.requestsPerArm.filter((_, b) => run.arms[b]?.fusionWeights).join(' / ')} pre-period requests of the arm's own bucket: the predicted click rate of the top K that each grid weight keeps, relative to the RankingModel's ranking (w = 0). Last request the rule saw: ${run.selection.lastRequestMs.map((t) => new Date(t).toISOString()).join(', ')}; first request of the reported weeks: ${run.selection.firstReportedRequestMs.map((t) => new Date(t).toISOString()).join(', ')} (per bucket seed; their first day starts ${new Date(run.selection.reportStartMs).toISOString()}, and a session of the pre-period's last day may run past its midnight). The reported weeks are simulated after the weights are set.</p>` +
    `<div class="wide"><table data-table="${run.test}-weights"><thead><tr><th>Arm</th><th>Seed</th><th>Chosen w</th>${grid.map((w) => `<th>w = ${w}</th>`).join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table></div></section>`
  );
}

export function renderAbHtml(r: AbTestResults): string {
  const means = r.tests
    .map(
      (run) =>
        `<h3>${escapeXml(AB_TEST_SPECS[run.test].title)}</h3><div class="wide"><table data-table="ab-means-${run.test}"><thead><tr><th>Arm</th><th>Users</th>${AB_METRICS.map((m) => `<th>${escapeXml(AB_METRIC_INFO[m].label)}</th>`).join('')}</tr></thead><tbody>` +
        run.arms
          .map((a) => `<tr><td>${escapeXml(a.label)}</td><td>${a.users}</td>${AB_METRICS.map((m) => `<td>${fmt(a.means[m])}</td>`).join('')}</tr>`)
          .join('\n') +
        '</tbody></table></div>',
    )
    .join('\n');
  const fig6 = Object.entries(r.giftValue)
    .map(([label, g]) =>
      barChartSvg({
        id: `fig6-${label}`,
        title: `Fig. 6: ${label}`,
        xLabel: 'gift-amount grade (0 = clicked, no gift; 1-5 = quintiles)',
        yLabel: 'gift-tower LIV',
        bars: g.grades.map((x) => ({ label: String(x.grade), value: x.meanLiv, error: x.stdLiv })),
      }),
    )
    .join('\n');
  const gradeRows = Object.entries(r.giftValue).flatMap(([label, g]) =>
    g.grades.map(
      (x) =>
        `<tr><td>${escapeXml(label)}</td><td>${x.grade}</td><td>${fmt(x.amountRange[0], 1)} – ${fmt(x.amountRange[1], 1)}</td><td>${x.pairs}</td><td>${fmt(x.meanLiv)} ± ${fmt(x.stdLiv)}</td></tr>`,
    ),
  );
  const settings = Object.entries(r.settings)
    .map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>rliv simulated A/B test (${r.weeks} weeks)</title><style>${REPORT_CSS}</style></head><body>
<h1>Simulated online A/B test</h1>
<p class="meta">${r.weeks} reported week(s) (${r.days} days) after a ${r.preDays}-day pre-period, ${r.bucketSeeds.length} bucket seed(s), control ${escapeXml(r.control)}, preset ${escapeXml(r.preset)}, seed ${r.seed}, wall time ${fmt(r.wallSeconds, 1)} s.</p>
<section id="findings"><h2>Findings</h2><ul class="findings">${abFindings(r)
    .map((f) => `<li>${escapeXml(f)}</li>`)
    .join('\n')}</ul><ul>${r.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul></section>
${r.tests.map((run) => paperTableHtml(r, run) + allMetricsHtml(r, run) + weightsHtml(r, run)).join('\n')}
<section id="ab-means"><h2>Per-arm means (per user over the reported weeks, all seeds pooled)</h2>${means}<ul>${AB_METRICS.map((m) => `<li><b>${escapeXml(AB_METRIC_INFO[m].label)}</b>: ${escapeXml(AB_METRIC_INFO[m].perUser)}</li>`).join('')}</ul></section>
<section id="fig6"><h2>Fig. 6: lifelong gift value per gift-amount grade (revenue test)</h2><p class="caption">The gift tower's LIV for the user-author pairs of each revenue-test arm's bucket, grouped by the pair's total gifts during the reported weeks, every bucket seed pooled (bar = mean, whisker = ± one standard deviation).</p>
<div class="charts">${fig6}</div>
<div class="wide"><table data-table="fig6"><thead><tr><th>Arm</th><th>Grade</th><th>Gift amount</th><th>Pairs</th><th>LIV (mean ± std)</th></tr></thead><tbody>${gradeRows.join('\n')}</tbody></table></div></section>
<section id="ab-settings"><h2>Settings</h2><table data-table="ab-settings"><tbody>${settings}</tbody></table></section>
</body></html>
`;
}

// ---------------------------------------------------------------- Markdown

/** `ab-report.md`: the same tables as the HTML report, for docs/results. */
export function renderAbMarkdown(r: AbTestResults): string {
  const lines: string[] = [];
  lines.push(`# Simulated online A/B test (${r.preset} preset)`, '');
  lines.push(
    `${r.weeks} reported week(s) after a ${r.preDays}-day pre-period; ${r.bucketSeeds.length} bucket seed(s); control ${r.control}; seed ${r.seed}; wall time ${fmt(r.wallSeconds, 1)} s.`,
    '',
  );
  for (const run of r.tests) {
    const spec = AB_TEST_SPECS[run.test];
    lines.push(`## ${spec.title}: ours beside the paper's`, '');
    lines.push(
      `Treatments rank with the ${towerText(run)} LIV. Relative change of the per-user mean over the control: over users (all seeds' users pooled; delta-method 95 % interval, p) and over bucket seeds (mean of the per-seed deltas, Student-t 95 % interval).`,
      '',
    );
    lines.push('| Arm | Metric | Paper | Ours, over users | Ours, over bucket seeds |', '| --- | --- | ---: | ---: | ---: |');
    for (const arm of run.arms) {
      if (!arm.delta) continue;
      for (const m of spec.metrics) {
        const c = cellText(arm, m);
        const paper = paperOf(run, arm, m);
        lines.push(
          `| ${arm.label} | ${AB_METRIC_INFO[m].label} | ${paper === undefined ? '-' : pct(paper)} | ${c.significant ? `**${c.users}**` : c.users} | ${c.seeds} |`,
        );
      }
    }
    lines.push('', `Every metric (per-user mean over the reported weeks, then the delta over the control with its interval over users):`, '');
    lines.push(
      `| Arm | Users | ${AB_METRICS.map((m) => AB_METRIC_INFO[m].label).join(' | ')} |`,
      `| --- | ---: | ${AB_METRICS.map(() => '---:').join(' | ')} |`,
    );
    for (const arm of run.arms) {
      lines.push(
        `| ${arm.label} | ${arm.users} | ${AB_METRICS.map((m) => (arm.delta ? `${fmt(arm.means[m])} (${cellText(arm, m).users})` : fmt(arm.means[m]))).join(' | ')} |`,
      );
    }
    const fused = run.arms.filter((a) => a.fusionWeights);
    if (fused.length) {
      const grid = fused[0]!.weightRetention![0]!.map((x) => x.weight);
      lines.push('', "Fusion weights chosen on each seed's pre-period (the predicted click rate of the top K each grid weight keeps):", '');
      lines.push(`| Arm | Seed | Chosen w | ${grid.map((w) => `w = ${w}`).join(' | ')} |`, `| --- | ---: | ---: | ${grid.map(() => '---:').join(' | ')} |`);
      for (const arm of fused) {
        arm.weightRetention!.forEach((ret, s) =>
          lines.push(
            `| ${arm.label} | ${s + 1} | ${fmt(arm.fusionWeights![s], 2)} | ${ret.map((x) => `${(100 * x.keptClickRate).toFixed(1)} %`).join(' | ')} |`,
          ),
        );
      }
    }
    lines.push('');
  }
  if (Object.keys(r.giftValue).length) {
    lines.push('## Fig. 6: gift-tower LIV per gift-amount grade (revenue test, all seeds pooled)', '');
    lines.push('| Arm | Grade | Gift amount | Pairs | LIV (mean ± std) |', '| --- | ---: | ---: | ---: | ---: |');
    for (const [label, g] of Object.entries(r.giftValue)) {
      for (const x of g.grades)
        lines.push(`| ${label} | ${x.grade} | ${fmt(x.amountRange[0], 1)} – ${fmt(x.amountRange[1], 1)} | ${x.pairs} | ${fmt(x.meanLiv)} ± ${fmt(x.stdLiv)} |`);
    }
    lines.push('');
  }
  lines.push('## Findings', '', ...abFindings(r).map((f) => `- ${f}`), '');
  return lines.join('\n');
}
