/**
 * `report.md`: the same verdict, findings and tables as report.html, as
 * GitHub markdown (bold = best mean / significant), for the README and
 * notes. Table cells carry their interval and per-seed figures as text;
 * learning curves are summarized by their first and last epoch, the
 * simulator-vs-world scatter by its table.
 */
import { fidelityTables } from './report-fidelity.js';
import { computeVerdict } from './report-verdict.js';
import { computeFindings, fmt, isNum } from './findings.js';
import { curveBand } from './report-html.js';
import { noWorldExplanation, reportTables, type Cell, type ReportTable } from './report-tables.js';
import { METRIC_INFO, type ExperimentResults, type ReportMetric } from './results.js';

const cellText = (s: string) => s.replace(/\|/g, '\\|');

/** A cell as markdown: the text (bold when marked), then its interval and per-seed figures. */
function cellMarkdown(c: Cell): string {
  const text = c.bold ? `**${cellText(c.text)}**` : cellText(c.text);
  const more = [c.sub, c.detail]
    .filter((x): x is string => Boolean(x))
    .map(cellText)
    .join('; ');
  return more ? `${text} ${more}` : text;
}

export function tableMarkdown(t: ReportTable, level = 3): string {
  const lines = [
    `${'#'.repeat(level)} ${t.title}`,
    '',
    t.caption,
    '',
    `| ${t.header.map(cellText).join(' | ')} |`,
    `|${t.header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...t.rows.map((row) => `| ${row.map(cellMarkdown).join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

function curveSummary(results: ExperimentResults): string {
  const metrics: ReportMetric[] = ['sessionLength', 'watchTime', 'ctr', 'diversity'];
  const header = ['Model', ...metrics.map((m) => `${METRIC_INFO[m].label} (first → last epoch)`)];
  const rows = results.modelOrder
    .filter((m) => results.models[m])
    .map((name) => {
      const c = results.models[name]!.curves;
      return [
        name,
        ...metrics.map((metric) => {
          const per = c[metric];
          if (!per) return 'n/a';
          const band = curveBand(per);
          const first = band.mean.findIndex(isNum);
          const last = band.mean.length - 1;
          return first < 0 ? 'n/a' : `${fmt(band.mean[first])} → ${fmt(band.mean[last])} (± ${fmt(band.std[last])})`;
        }),
      ];
    });
  return [
    '### Learning curves (Fig. 5), first and last evaluation epoch',
    '',
    'Mean over seeds (± std over seeds at the last epoch); the charts are in report.html.',
    '',
    `| ${header.map(cellText).join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cellText).join(' | ')} |`),
    '',
  ].join('\n');
}

export function renderMarkdownReport(results: ExperimentResults): string {
  const tables = reportTables(results);
  const byId = Object.fromEntries(tables.map((t) => [t.id, t]));
  const verdict = computeVerdict(results);
  const fidelity = fidelityTables(results);
  const parts = [
    '# RLIV-UA experiment report',
    '',
    `Preset **${results.preset}**, seeds ${results.seeds.join(', ')}, ${results.modelOrder.length} models, wall time ${isNum(results.wallSeconds) ? results.wallSeconds.toFixed(1) : 'n/a'} s.`,
    '',
    '## Verdict',
    '',
    ...verdict.lines.map((l) => `- ${l}`),
    '',
    ...(verdict.table ? [tableMarkdown(verdict.table)] : []),
    tableMarkdown(byId.table2!),
    tableMarkdown(byId.table3!),
    ...(byId['table2-world'] ? [tableMarkdown(byId['table2-world']), tableMarkdown(byId['table3-world']!)] : []),
    ...(noWorldExplanation(results) ? ['### No ground-truth columns', '', noWorldExplanation(results)!, ''] : []),
    ...(byId['sim-vs-world'] ? [tableMarkdown(byId['sim-vs-world'])] : []),
    curveSummary(results),
    ...(fidelity.length ? ['## Fidelity of the offline instrument, in detail', '', ...fidelity.map((t) => tableMarkdown(t))] : []),
    '## Findings',
    '',
    ...computeFindings(results).map((f) => `- ${f}`),
    '',
    ...(results.notes?.length ? ['Notes from the run:', '', ...results.notes.map((n) => `- ${n}`), ''] : []),
    tableMarkdown(byId.significance!),
    ...(byId['significance-world'] ? [tableMarkdown(byId['significance-world'])] : []),
    ...(byId.convergence ? [tableMarkdown(byId.convergence)] : []),
    ...(byId.tuning ? [tableMarkdown(byId.tuning)] : []),
    ...(byId['sim-to-real'] ? [tableMarkdown(byId['sim-to-real'])] : []),
    tableMarkdown(byId.calibration!),
    ...(results.calibration?.notes?.length ? [...results.calibration.notes.map((n) => `- ${n}`), ''] : []),
    tableMarkdown(byId['paper-reported']!),
    tableMarkdown(byId.settings!),
    ...(byId.timing ? [tableMarkdown(byId.timing)] : []),
  ];
  return parts.join('\n');
}
