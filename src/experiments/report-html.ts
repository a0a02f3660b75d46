/**
 * `report.html`: one self-contained page (inline CSS, inline SVG, no
 * scripts, no network). At the top a short verdict (the fidelity gates,
 * then where RLIV-UA stands with intervals); then Table 2 and Table 3 with
 * 95 % intervals and per-seed points (in the simulator, and in the world
 * when there is one), a simulator-vs-world scatter per metric, the learning
 * curves (the paper's Fig. 5, and one small panel per model and metric with
 * the other models in grey and RLIV-UA dashed), the gates in detail, the
 * findings, significance against RLIV-UA, convergence, sim-to-real,
 * calibration, the paper's figures for reference, and the run's settings.
 */
import { fidelityTables } from './report-fidelity.js';
import { computeFindings, fmt, isNum } from './findings.js';
import { noWorldExplanation, reportTables, type Cell, type ReportTable } from './report-tables.js';
import { computeVerdict } from './report-verdict.js';
import { METRIC_INFO, REFERENCE_MODEL, REPORT_METRICS, type ExperimentResults, type ReportMetric } from './results.js';
import { spearman } from './statistics.js';
import { escapeXml, lineChartSvg, modelColor, type ChartSeries, type ContextLine } from './svg-line-chart.js';
import { pointStripSvg, scatterChartSvg } from './svg-point-charts.js';

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
#verdict { background: #f7f9fc; border: 1px solid #d8e0ec; border-radius: 4px; padding: 4px 16px 10px; }
#verdict h2 { margin-top: 12px; border: 0; }
#verdict ul { padding-left: 20px; margin: 6px 0; } #verdict li { margin-bottom: 4px; }
#verdict h3 { font-size: 15px; margin: 12px 0 2px; }
td .sub { display: block; font-size: 11px; color: #555; }
svg.strip { display: block; margin: 2px 0 0 auto; }
.multiples h3 { font-size: 15px; margin: 16px 0 4px; }
.charts.small { gap: 8px; }
`;

function cellHtml(c: Cell): string {
  const text = c.bold ? `<b>${escapeXml(c.text)}</b>` : escapeXml(c.text);
  const sub = c.sub ? `<span class="sub">${escapeXml(c.sub)}</span>` : '';
  const strip = c.strip ? pointStripSvg(c.strip, c.strip.color) : '';
  return `<td${c.bold ? ' class="best"' : ''}>${text}${sub}${strip}</td>`;
}

function tableHtml(t: ReportTable, level = 2): string {
  const head = `<tr>${t.header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const body = t.rows.map((row) => `<tr>${row.map(cellHtml).join('')}</tr>`).join('\n');
  return (
    `<section id="${t.id}"><h${level}>${escapeXml(t.title)}</h${level}><p class="caption">${escapeXml(t.caption)}</p>` +
    `<div class="wide"><table data-table="${t.id}"><thead>${head}</thead><tbody>\n${body}\n</tbody></table></div></section>`
  );
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
    const color = palette ? palette[series.length % palette.length]! : modelColor(name, results.modelOrder.indexOf(name));
    series.push({ name, color, x: c.epoch, ...band });
  });
  const info = METRIC_INFO[metric];
  return lineChartSvg({
    id,
    title: title ?? info.label,
    xLabel: 'epoch',
    yLabel: info.unit ? `${info.label} (${info.unit})` : info.label,
    series,
    width: 570,
    height: 300 + Math.ceil(series.length / 2) * 16,
  });
}

/**
 * One metric's learning curves as small multiples: a panel per model, all
 * on one y scale, the model's mean and ± std band in its colour, the other
 * models' means in light grey behind it and RLIV-UA's dashed in red.
 */
function curveMultiples(results: ExperimentResults, metric: ReportMetric): string {
  const models = results.modelOrder.filter((m) => results.models[m]?.curves?.[metric]);
  const bands = new Map(models.map((m) => [m, curveBand(results.models[m]!.curves[metric]!)]));
  let lo = Infinity;
  let hi = -Infinity;
  for (const b of bands.values()) {
    b.mean.forEach((m, i) => {
      if (!isNum(m)) return;
      lo = Math.min(lo, m - (b.std[i] ?? 0));
      hi = Math.max(hi, m + (b.std[i] ?? 0));
    });
  }
  const info = METRIC_INFO[metric];
  const panels = models
    .map((name) => {
      const x = results.models[name]!.curves.epoch;
      const context: ContextLine[] = models.filter((m) => m !== name && m !== REFERENCE_MODEL).map((m) => ({ name: m, x, mean: bands.get(m)!.mean }));
      if (name !== REFERENCE_MODEL && bands.has(REFERENCE_MODEL))
        context.push({ name: REFERENCE_MODEL, x, mean: bands.get(REFERENCE_MODEL)!.mean, color: modelColor(REFERENCE_MODEL, 0), dash: '4 3' });
      return lineChartSvg({
        id: `curve-${metric}-${results.modelOrder.indexOf(name)}`,
        attributes: { 'data-model': name, 'data-metric': metric },
        // No y label: the metric (and its unit) heads the row of panels.
        title: name,
        xLabel: 'epoch',
        yLabel: '',
        series: [{ name, color: modelColor(name, results.modelOrder.indexOf(name)), x, ...bands.get(name)! }],
        context,
        legend: false,
        width: 224,
        height: 176,
        ...(Number.isFinite(lo) ? { yDomain: [lo, hi] as [number, number] } : {}),
      });
    })
    .join('\n');
  return `<div class="multiples" data-metric="${metric}"><h3>${escapeXml(info.label)}${info.unit ? ` (${escapeXml(info.unit)})` : ''}</h3><div class="charts small">${panels}</div></div>`;
}

/** One scatter per metric: each model's world figure (x) against its simulator figure (y), 95 % whiskers, y = x dashed. */
function simVsWorldCharts(results: ExperimentResults): string {
  const models = results.modelOrder.filter((m) => results.simToReal?.[m] && results.models[m]);
  return REPORT_METRICS.map((metric) => {
    const info = METRIC_INFO[metric];
    const points = models
      .map((m) => {
        const sim = results.models[m]![metric];
        const world = results.simToReal[m]![metric];
        return {
          name: m,
          color: modelColor(m, results.modelOrder.indexOf(m)),
          x: world.mean,
          y: sim.mean,
          xCi: world.ci95,
          yCi: sim.ci95,
          emphasis: m === REFERENCE_MODEL,
        };
      })
      .filter((p) => isNum(p.x) && isNum(p.y));
    const rho =
      points.length >= 3
        ? spearman(
            points.map((p) => p.y),
            points.map((p) => p.x),
          )
        : NaN;
    const unit = info.unit ? ` (${info.unit})` : '';
    return scatterChartSvg({
      id: `scatter-${metric}`,
      title: `${info.label}: Spearman ρ = ${fmt(rho, 2)}`,
      xLabel: `world${unit}`,
      yLabel: `simulator${unit}`,
      points,
      width: 376,
    });
  }).join('\n');
}

export function renderHtmlReport(results: ExperimentResults): string {
  const tables = reportTables(results);
  const byId = Object.fromEntries(tables.map((t) => [t.id, t]));
  const findings = computeFindings(results);
  const verdict = computeVerdict(results);
  const curveMetrics: ReportMetric[] = ['sessionLength', 'watchTime', 'ctr', 'diversity'];
  const multiples = curveMetrics.map((m) => curveMultiples(results, m)).join('\n');
  const fig5Models = ['RLIV-UA(w/o MT & SL)', 'RLIV-UA(w/o MT)'].filter((m) => results.models[m]);
  const fig5 = fig5Models.length
    ? (['watchTime', 'sessionLength', 'ctr'] as ReportMetric[])
        .map((m) => curveChart(results, m, fig5Models, `fig5-${m}`, `Fig. 5: ${METRIC_INFO[m].label}`, ['#4e79a7', '#e15759']))
        .join('\n')
    : '';
  const notes = (results.notes ?? []).map((n) => `<li>${escapeXml(n)}</li>`).join('');
  const noWorld = noWorldExplanation(results);
  const fidelity = fidelityTables(results);
  // The run's own date (not the time of rendering): a report rebuilt from results.json is the same file.
  const date = results.createdAt ? ` Run finished ${escapeXml(results.createdAt.replace('T', ' ').slice(0, 16))} UTC.` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>rliv experiment report (${escapeXml(results.preset)})</title>
<style>${REPORT_CSS}</style></head>
<body>
<h1>RLIV-UA experiment report</h1>
<p class="meta">Preset <b>${escapeXml(results.preset)}</b>, seeds ${escapeXml(results.seeds.join(', '))}, ${results.modelOrder.length} models, wall time ${isNum(results.wallSeconds) ? results.wallSeconds.toFixed(1) : 'n/a'} s.${date}</p>
<section id="verdict"><h2>Verdict</h2><ul class="verdict">${verdict.lines.map((l) => `<li>${escapeXml(l)}</li>`).join('\n')}</ul>
${verdict.table ? tableHtml(verdict.table, 3) : ''}</section>
${tableHtml(byId.table2!)}
${tableHtml(byId.table3!)}
${byId['table2-world'] ? `${tableHtml(byId['table2-world'])}\n${tableHtml(byId['table3-world']!)}` : ''}
${noWorld ? `<section id="no-world"><h2>No ground-truth columns</h2><p class="caption">${escapeXml(noWorld)}</p></section>` : ''}
${
  byId['sim-vs-world']
    ? `<section id="sim-vs-world-charts"><h2>Simulator vs world</h2>
<p class="caption">One point per model: its mean in the ground-truth world (x) and in the learned simulator (y), whiskers the 95 % intervals over seeds, RLIV-UA outlined. On the dashed line y = x the simulator gives the world's figure; above it, it overstates. ρ: Spearman rank correlation of the models' means in the two environments (gate G3 asks ρ ≥ 0.8 on session length and watch time).</p>
<div class="charts">${simVsWorldCharts(results)}</div></section>
${tableHtml(byId['sim-vs-world'])}`
    : ''
}
<section id="curves"><h2>Learning curves (Fig. 5)</h2>
<p class="caption">Evaluation on held-out users after each training epoch: line = mean over seeds, band = ± one standard deviation over seeds.</p>
${fig5 ? `<div class="charts">${fig5}</div>` : ''}
<p class="caption">Per model, one panel per model and metric on a shared scale: the model in its colour with its band, the other models' means in grey behind it, and RLIV-UA's mean dashed in red.</p>
${multiples}</section>
${fidelity.length ? `<section id="fidelity"><h2>Fidelity of the offline instrument, in detail</h2></section>\n${fidelity.map((t) => tableHtml(t, 3)).join('\n')}` : ''}
<section id="findings"><h2>Findings</h2><ul class="findings">${findings.map((f) => `<li>${escapeXml(f)}</li>`).join('\n')}</ul>
${notes ? `<p class="caption">Notes from the run:</p><ul>${notes}</ul>` : ''}</section>
${tableHtml(byId.significance!)}
${byId['significance-world'] ? tableHtml(byId['significance-world']) : ''}
${byId.convergence ? tableHtml(byId.convergence) : ''}
${byId.tuning ? tableHtml(byId.tuning) : ''}
${byId['sim-to-real'] ? tableHtml(byId['sim-to-real']) : ''}
${tableHtml(byId.calibration!)}
${results.calibration?.notes?.length ? `<ul>${results.calibration.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>` : ''}
${tableHtml(byId['paper-reported']!)}
${tableHtml(byId.settings!)}
${byId.timing ? tableHtml(byId.timing) : ''}
</body></html>
`;
}
