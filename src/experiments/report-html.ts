/**
 * `report.html`: one self-contained page (inline CSS, inline SVG, no
 * scripts, no network) with the findings, Table 2 and Table 3, significance
 * against RLIV-UA, learning curves with ± std bands (the paper's Fig. 5),
 * sim-to-real, calibration, the paper's figures for reference, and the
 * run's settings.
 */
import { fidelityTables, fidelityVerdict } from './report-fidelity.js';
import { computeFindings, isNum } from './findings.js';
import { noWorldExplanation, reportTables, type ReportTable } from './report-tables.js';
import { METRIC_INFO, type ExperimentResults, type ReportMetric } from './results.js';
import { escapeXml, lineChartSvg, MODEL_COLORS, type ChartSeries } from './svg-line-chart.js';

export const REPORT_CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; }
table { border-collapse: collapse; margin: 8px 0 4px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d6d6d6; padding: 4px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
td.best { font-weight: 700; }
.caption { color: #555; margin: 0 0 6px; max-width: 900px; }
.wide { overflow-x: auto; }
th { white-space: normal; vertical-align: bottom; }
/* Cells wrap (long intervals, notes, fidelity checks) so no table is wider than the page; the mean ± std tables stay on one line. */
td { white-space: normal; }
table[data-table^="table"] td, table[data-table="paper-reported"] td { white-space: nowrap; }
table[data-table="settings"] td:last-child { white-space: normal; overflow-wrap: anywhere; text-align: left; max-width: 1000px; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { border: 1px solid #e4e4e4; background: #fafafa; }
svg .chart-title { font-size: 13px; font-weight: 600; }
svg .tick, svg .legend { font-size: 10px; fill: #444; }
svg .axis-label { font-size: 11px; fill: #333; }
ul.findings li { margin-bottom: 6px; }
`;

function tableHtml(t: ReportTable): string {
  const head = `<tr>${t.header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const body = t.rows.map((row) => `<tr>${row.map((c) => `<td${c.bold ? ' class="best"' : ''}>${c.bold ? `<b>${escapeXml(c.text)}</b>` : escapeXml(c.text)}</td>`).join('')}</tr>`).join('\n');
  return `<section id="${t.id}"><h2>${escapeXml(t.title)}</h2><p class="caption">${escapeXml(t.caption)}</p>`
    + `<div class="wide"><table data-table="${t.id}"><thead>${head}</thead><tbody>\n${body}\n</tbody></table></div></section>`;
}

/** Mean and std over seeds of one model's curve of one metric. */
export function curveBand(perSeed: ReadonlyArray<ReadonlyArray<number | null>>): { mean: number[]; std: number[] } {
  const epochs = Math.max(0, ...perSeed.map((r) => r.length));
  const mean: number[] = [];
  const std: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const vals = perSeed.map((r) => r[e]).filter(isNum);
    if (vals.length === 0) {
      mean.push(NaN);
      std.push(0);
      continue;
    }
    const m = vals.reduce((a, b) => a + b, 0) / vals.length;
    mean.push(m);
    std.push(vals.length > 1 ? Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / (vals.length - 1)) : 0);
  }
  return { mean, std };
}

function curveChart(results: ExperimentResults, metric: ReportMetric, models: string[], id: string, title?: string, palette?: string[]): string {
  const series: ChartSeries[] = [];
  models.forEach((name) => {
    const c = results.models[name]?.curves;
    const perSeed = c?.[metric];
    if (!c || !perSeed) return;
    const band = curveBand(perSeed);
    // A model keeps its colour across charts unless the chart brings its own palette.
    const colorIndex = results.modelOrder.indexOf(name);
    const color = palette ? palette[series.length % palette.length]! : MODEL_COLORS[(colorIndex >= 0 ? colorIndex : series.length) % MODEL_COLORS.length]!;
    series.push({ name, color, x: c.epoch, ...band });
  });
  const info = METRIC_INFO[metric];
  return lineChartSvg({ id, title: title ?? info.label, xLabel: 'epoch', yLabel: info.unit ? `${info.label} (${info.unit})` : info.label, series, width: 570, height: 300 + Math.ceil(series.length / 2) * 16 });
}

export function renderHtmlReport(results: ExperimentResults): string {
  const tables = reportTables(results);
  const byId = Object.fromEntries(tables.map((t) => [t.id, t]));
  const findings = computeFindings(results);
  const curveMetrics: ReportMetric[] = ['sessionLength', 'watchTime', 'ctr', 'diversity'];
  const allCharts = curveMetrics.map((m) => curveChart(results, m, results.modelOrder, `curve-${m}`)).join('\n');
  const fig5Models = ['RLIV-UA(w/o MT & SL)', 'RLIV-UA(w/o MT)'].filter((m) => results.models[m]);
  const fig5 = fig5Models.length
    ? (['watchTime', 'sessionLength', 'ctr'] as ReportMetric[]).map((m) => curveChart(results, m, fig5Models, `fig5-${m}`, `Fig. 5: ${METRIC_INFO[m].label}`, ['#4e79a7', '#e15759'])).join('\n')
    : '';
  const notes = (results.notes ?? []).map((n) => `<li>${escapeXml(n)}</li>`).join('');
  const noWorld = noWorldExplanation(results);
  // The run's own date (not the time of rendering): a report rebuilt from results.json is the same file.
  const date = results.createdAt ? ` Run finished ${escapeXml(results.createdAt.replace('T', ' ').slice(0, 16))} UTC.` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>rliv experiment report (${escapeXml(results.preset)})</title>
<style>${REPORT_CSS}</style></head>
<body>
<h1>RLIV-UA experiment report</h1>
<p class="meta">Preset <b>${escapeXml(results.preset)}</b>, seeds ${escapeXml(results.seeds.join(', '))}, ${results.modelOrder.length} models, wall time ${isNum(results.wallSeconds) ? results.wallSeconds.toFixed(1) : 'n/a'} s.${date}</p>
<section id="fidelity"><h2>Fidelity of the offline instrument</h2><p class="verdict">${escapeXml(fidelityVerdict(results.fidelity))}</p></section>
${fidelityTables(results).map(tableHtml).join('\n')}
<section id="findings"><h2>Findings</h2><ul class="findings">${findings.map((f) => `<li>${escapeXml(f)}</li>`).join('\n')}</ul>
${notes ? `<p class="caption">Notes from the run:</p><ul>${notes}</ul>` : ''}</section>
${tableHtml(byId.table2!)}
${tableHtml(byId.table3!)}
${byId['table2-world'] ? `${tableHtml(byId['table2-world'])}\n${tableHtml(byId['table3-world']!)}` : ''}
${noWorld ? `<section id="no-world"><h2>No ground-truth columns</h2><p class="caption">${escapeXml(noWorld)}</p></section>` : ''}
${tableHtml(byId.significance!)}
<section id="curves"><h2>Learning curves (Fig. 5)</h2>
<p class="caption">Evaluation on held-out users after each training epoch: line = mean over seeds, band = ± one standard deviation over seeds.</p>
${fig5 ? `<div class="charts">${fig5}</div><p class="caption">All models:</p>` : ''}
<div class="charts">${allCharts}</div></section>
${byId.convergence ? tableHtml(byId.convergence) : ''}
${byId['sim-to-real'] ? tableHtml(byId['sim-to-real']) : ''}
${tableHtml(byId.calibration!)}
${results.calibration?.notes?.length ? `<ul>${results.calibration.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>` : ''}
${tableHtml(byId['paper-reported']!)}
${tableHtml(byId.settings!)}
${byId.timing ? tableHtml(byId.timing) : ''}
</body></html>
`;
}
