/**
 * `ab-report.html` (and `ab-report.md`, the same tables as GitHub markdown) of the simulated A/B test: Table 4 (UA count, weekly
 * gifted users, total revenue, new fans) and Table 5 (watch time, app usage
 * time, weekly retention) as relative deltas over the control with 95 %
 * intervals, the per-arm means, Fig. 6 (gift-tower LIV per gift-amount
 * grade) and findings computed from the numbers. Self-contained: inline CSS
 * and SVG, no scripts.
 */
import { AB_METRICS, AB_METRIC_INFO, type AbMetric, type AbTestResults } from './ab-results.js';
import { fmt, fmtP, isNum } from './findings.js';
import { REPORT_CSS } from './report-html.js';
import { barChartSvg } from './svg-bar-chart.js';
import { escapeXml } from './svg-line-chart.js';

const pct = (x: unknown) => (isNum(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(3)}%` : 'n/a');

/** The paper's Tables 4 and 5 (Kwai / Kuaishou production), quoted for reference. */
export const PAPER_AB: Record<string, Partial<Record<AbMetric, number>>> = {
  'RLIV-UA(w/o AL & SL)': { uaCount: 0.02002, weeklyGiftedUsers: 0.02245, totalRevenue: 0.11903, newFans: 0.02743 },
  'RLIV-UA(w/o SL)': { uaCount: 0.03579, weeklyGiftedUsers: 0.03417, totalRevenue: 0.238065, newFans: 0.06104 },
  'RLIV-UA': { uaCount: 0.05849, weeklyGiftedUsers: 0.0537, totalRevenue: 0.386445, newFans: 0.08282, watchTime: 0.00131, appUsageTime: 0.00083, weeklyRetention: 0.00021 },
};

function deltaTable(r: AbTestResults, id: string, title: string, metrics: AbMetric[]): string {
  const head = `<tr><th>Models</th>${metrics.map((m) => `<th>${escapeXml(AB_METRIC_INFO[m].label)}</th>`).join('')}</tr>`;
  const rows = r.arms.map((arm) => {
    const cells = metrics.map((m) => {
      const d = arm.delta?.[m];
      if (!d) return '<td>-</td>';
      const sig = isNum(d.pValue) && d.pValue < 0.05;
      const text = `${pct(d.delta)} [${pct(d.ci95[0])}, ${pct(d.ci95[1])}], p = ${fmtP(d.pValue)}`;
      return `<td${sig ? ' class="best"' : ''}>${sig ? `<b>${escapeXml(text)}</b>` : escapeXml(text)}</td>`;
    });
    return `<tr><td>${escapeXml(arm.model)}</td>${cells.join('')}</tr>`;
  });
  return `<section id="${id}"><h2>${escapeXml(title)}</h2><p class="caption">Relative change of the per-user mean over the control bucket (${escapeXml(r.control)}), 95 % delta-method interval and p-value. Bold: p &lt; 0.05.</p>`
    + `<div class="wide"><table data-table="${id}"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table></div></section>`;
}

/** Findings from the numbers: significant gains/losses per treatment, the paper's ordering, Fig. 6's correlation. */
export function abFindings(r: AbTestResults): string[] {
  const out: string[] = [];
  for (const arm of r.arms) {
    if (!arm.delta) continue;
    const up = AB_METRICS.filter((m) => isNum(arm.delta![m].pValue) && arm.delta![m].pValue < 0.05 && arm.delta![m].delta > 0).map((m) => AB_METRIC_INFO[m].label);
    const down = AB_METRICS.filter((m) => isNum(arm.delta![m].pValue) && arm.delta![m].pValue < 0.05 && arm.delta![m].delta < 0).map((m) => AB_METRIC_INFO[m].label);
    out.push(`${arm.model} vs ${r.control}: significantly higher on ${up.length ? up.join(', ') : 'no metric'}; significantly lower on ${down.length ? down.join(', ') : 'no metric'}.`);
  }
  const chain = ['RLIV-UA(w/o AL & SL)', 'RLIV-UA(w/o SL)', 'RLIV-UA'];
  const arms = chain.map((m) => r.arms.find((a) => a.model === m));
  if (arms.every((a) => a?.delta)) {
    const parts = (['uaCount', 'weeklyGiftedUsers', 'totalRevenue', 'newFans'] as AbMetric[]).map((m) => {
      const ds = arms.map((a) => a!.delta![m].delta);
      const holds = ds[0]! < ds[1]! && ds[1]! < ds[2]!;
      return `${AB_METRIC_INFO[m].label} ${ds.map(pct).join(' → ')} (${holds ? 'holds' : 'does not hold'})`;
    });
    out.push(`The paper's ordering w/o AL & SL < w/o SL < RLIV-UA on Table 4: ${parts.join('; ')}.`);
  }
  for (const [model, g] of Object.entries(r.giftValue)) {
    const gifted = g.grades.filter((x) => x.grade > 0);
    const monotone = gifted.every((x, i) => i === 0 || x.meanLiv >= gifted[i - 1]!.meanLiv);
    out.push(`Fig. 6 (${model}): over ${g.giftedPairs} gifted pairs, Spearman correlation of gift-tower LIV and gift amount ${fmt(g.spearman, 3)}; the mean LIV ${monotone ? 'rises' : 'does not rise monotonically'} with the gift-amount grade.`);
  }
  out.push(`${r.weeks} simulated week(s) with ${r.arms[0]?.users ?? 0} users per bucket: deltas of a fraction of a percent are below what this test can resolve (compare the intervals).`);
  return out;
}

export function renderAbHtml(r: AbTestResults): string {
  const means = `<section id="ab-means"><h2>Per-arm means (per user over the test)</h2><div class="wide"><table data-table="ab-means"><thead><tr><th>Models</th><th>Users</th>${AB_METRICS.map((m) => `<th>${escapeXml(AB_METRIC_INFO[m].label)}</th>`).join('')}</tr></thead><tbody>`
    + r.arms.map((a) => `<tr><td>${escapeXml(a.model)}</td><td>${a.users}</td>${AB_METRICS.map((m) => `<td>${fmt(a.means[m])}</td>`).join('')}</tr>`).join('\n')
    + `</tbody></table></div><ul>${AB_METRICS.map((m) => `<li><b>${escapeXml(AB_METRIC_INFO[m].label)}</b>: ${escapeXml(AB_METRIC_INFO[m].perUser)}</li>`).join('')}</ul></section>`;
  const fig6 = Object.entries(r.giftValue).map(([model, g]) => barChartSvg({
    id: `fig6-${model}`,
    title: `Fig. 6: ${model}`,
    xLabel: 'gift-amount grade (0 = clicked, no gift; 1-5 = quintiles)',
    yLabel: 'gift-tower LIV',
    bars: g.grades.map((x) => ({ label: String(x.grade), value: x.meanLiv, error: x.stdLiv })),
  })).join('\n');
  const gradeRows = Object.entries(r.giftValue).flatMap(([model, g]) => g.grades.map((x) =>
    `<tr><td>${escapeXml(model)}</td><td>${x.grade}</td><td>${fmt(x.amountRange[0], 1)} – ${fmt(x.amountRange[1], 1)}</td><td>${x.pairs}</td><td>${fmt(x.meanLiv)} ± ${fmt(x.stdLiv)}</td></tr>`));
  const paper = `<section id="ab-paper"><h2>For reference: the paper's Tables 4 and 5 (quoted, production A/B tests)</h2><div class="wide"><table data-table="ab-paper"><thead><tr><th>Models</th>${AB_METRICS.map((m) => `<th>${escapeXml(AB_METRIC_INFO[m].label)}</th>`).join('')}</tr></thead><tbody>`
    + Object.entries(PAPER_AB).map(([m, v]) => `<tr><td>${escapeXml(m)}</td>${AB_METRICS.map((k) => `<td>${v[k] === undefined ? '' : pct(v[k])}</td>`).join('')}</tr>`).join('')
    + '</tbody></table></div></section>';
  const settings = Object.entries(r.settings).map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>rliv simulated A/B test (${r.weeks} weeks)</title><style>${REPORT_CSS}</style></head><body>
<h1>Simulated online A/B test</h1>
<p class="meta">${r.weeks} week(s) (${r.days} days), ${r.arms.length} buckets, control ${escapeXml(r.control)}, preset ${escapeXml(r.preset)}, seed ${r.seed}, wall time ${fmt(r.wallSeconds, 1)} s.</p>
<section id="findings"><h2>Findings</h2><ul class="findings">${abFindings(r).map((f) => `<li>${escapeXml(f)}</li>`).join('\n')}</ul><ul>${r.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul></section>
${deltaTable(r, 'table4', 'Table 4: revenue metrics (relative to the control)', ['uaCount', 'weeklyGiftedUsers', 'totalRevenue', 'newFans'])}
${deltaTable(r, 'table5', 'Table 5: engagement metrics (relative to the control)', ['watchTime', 'appUsageTime', 'weeklyRetention'])}
${means}
<section id="fig6"><h2>Fig. 6: lifelong gift value per gift-amount grade</h2><p class="caption">The gift tower's LIV for the user-author pairs of each RLIV-UA arm's bucket, grouped by the pair's total gifts during the test (bar = mean, whisker = ± one standard deviation).</p>
<div class="charts">${fig6}</div>
<div class="wide"><table data-table="fig6"><thead><tr><th>Model</th><th>Grade</th><th>Gift amount</th><th>Pairs</th><th>LIV (mean ± std)</th></tr></thead><tbody>${gradeRows.join('\n')}</tbody></table></div></section>
${paper}
<section id="ab-settings"><h2>Settings</h2><table data-table="ab-settings"><tbody>${settings}</tbody></table></section>
</body></html>
`;
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|');
const mdRow = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
const mdHead = (cells: string[]) => [mdRow(cells), `|${cells.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];

function deltaMarkdown(r: AbTestResults, title: string, metrics: AbMetric[]): string[] {
  const rows = r.arms.map((arm) => [arm.model, ...metrics.map((m) => {
    const d = arm.delta?.[m];
    if (!d) return '-';
    const text = `${pct(d.delta)} [${pct(d.ci95[0])}, ${pct(d.ci95[1])}], p = ${fmtP(d.pValue)}`;
    return isNum(d.pValue) && d.pValue < 0.05 ? `**${text}**` : text;
  })]);
  return [`### ${title}`, '', `Relative change of the per-user mean over the control bucket (${r.control}), 95 % delta-method interval and p-value. Bold: p < 0.05.`, '',
    ...mdHead(['Models', ...metrics.map((m) => AB_METRIC_INFO[m].label)]), ...rows.map(mdRow), ''];
}

/** `ab-report.md`: the findings and tables of ab-report.html as GitHub markdown (Fig. 6 as its table). */
export function renderAbMarkdown(r: AbTestResults): string {
  const gradeRows = Object.entries(r.giftValue).flatMap(([model, g]) => g.grades.map((x) =>
    [model, String(x.grade), `${fmt(x.amountRange[0], 1)} – ${fmt(x.amountRange[1], 1)}`, String(x.pairs), `${fmt(x.meanLiv)} ± ${fmt(x.stdLiv)}`]));
  return [
    '# Simulated online A/B test',
    '',
    `${r.weeks} week(s) (${r.days} days), ${r.arms.length} buckets, control ${r.control}, preset ${r.preset}, seed ${r.seed}, wall time ${fmt(r.wallSeconds, 1)} s.`,
    '',
    '## Findings',
    '',
    ...abFindings(r).map((f) => `- ${f}`),
    ...r.notes.map((n) => `- ${n}`),
    '',
    ...deltaMarkdown(r, 'Table 4: revenue metrics (relative to the control)', ['uaCount', 'weeklyGiftedUsers', 'totalRevenue', 'newFans']),
    ...deltaMarkdown(r, 'Table 5: engagement metrics (relative to the control)', ['watchTime', 'appUsageTime', 'weeklyRetention']),
    '### Per-arm means (per user over the test)',
    '',
    ...mdHead(['Models', 'Users', ...AB_METRICS.map((m) => AB_METRIC_INFO[m].label)]),
    ...r.arms.map((a) => mdRow([a.model, String(a.users), ...AB_METRICS.map((m) => fmt(a.means[m]))])),
    '',
    ...AB_METRICS.map((m) => `- **${AB_METRIC_INFO[m].label}**: ${AB_METRIC_INFO[m].perUser}`),
    '',
    '### Fig. 6: lifelong gift value per gift-amount grade',
    '',
    'The gift tower\'s LIV for the user-author pairs of each RLIV-UA arm\'s bucket, grouped by the pair\'s total gifts during the test; the chart is in ab-report.html.',
    '',
    ...mdHead(['Model', 'Grade', 'Gift amount', 'Pairs', 'LIV (mean ± std)']),
    ...gradeRows.map(mdRow),
    '',
    '### For reference: the paper\'s Tables 4 and 5 (quoted, production A/B tests)',
    '',
    ...mdHead(['Models', ...AB_METRICS.map((m) => AB_METRIC_INFO[m].label)]),
    ...Object.entries(PAPER_AB).map(([m, v]) => mdRow([m, ...AB_METRICS.map((k) => (v[k] === undefined ? '' : pct(v[k])))])),
    '',
    '### Settings',
    '',
    ...mdHead(['Setting', 'Value']),
    ...Object.entries(r.settings).map(([k, v]) => mdRow([k, typeof v === 'string' ? v : JSON.stringify(v)])),
    '',
  ].join('\n');
}
