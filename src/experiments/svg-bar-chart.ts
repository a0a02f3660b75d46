/**
 * A bar chart with error bars as inline SVG (the paper's Fig. 6: lifelong
 * gift value per gift-amount grade). Self-contained like svg-line-chart.ts.
 */
import { escapeXml, niceTicks } from './svg-line-chart.js';

export interface Bar {
  /** Category label under the bar. */
  label: string;
  value: number;
  /** Half-height of the error bar (e.g. one standard deviation); 0 for none. */
  error: number;
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  bars: Bar[];
  color?: string;
  width?: number;
  height?: number;
  /** Value of the `data-chart` attribute. */
  id?: string;
}

export function barChartSvg(o: BarChartOptions): string {
  const width = o.width ?? 520;
  const height = o.height ?? 300;
  const margin = { left: 62, right: 14, top: 30, bottom: 48 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const bars = o.bars.filter((b) => Number.isFinite(b.value));
  const parts: string[] = [];
  const idAttr = o.id ? ` data-chart="${escapeXml(o.id)}"` : '';
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart"${idAttr} width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(o.title)}">`,
  );
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" class="chart-title">${escapeXml(o.title)}</text>`);
  if (bars.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text></svg>`);
    return parts.join('');
  }
  let lo = 0;
  let hi = 0;
  for (const b of bars) {
    const e = Number.isFinite(b.error) ? b.error : 0;
    lo = Math.min(lo, b.value - e);
    hi = Math.max(hi, b.value + e);
  }
  const ticks = niceTicks(lo, hi, 5);
  const y0 = Math.min(lo, ticks[0] ?? lo);
  const y1 = Math.max(hi, ticks[ticks.length - 1] ?? hi);
  const sy = (v: number) => margin.top + (y1 === y0 ? plotH / 2 : (1 - (v - y0) / (y1 - y0)) * plotH);
  const f = (v: number) => v.toFixed(1);
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="#fff" stroke="#ccc"/>`);
  for (const t of ticks) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end" class="tick">${Number(t.toPrecision(6))}</text>`);
  }
  const slot = plotW / bars.length;
  const color = o.color ?? '#4e79a7';
  bars.forEach((b, i) => {
    const x = margin.left + i * slot + slot * 0.15;
    const w = slot * 0.7;
    const top = sy(Math.max(0, b.value));
    const bottom = sy(Math.min(0, b.value));
    parts.push(
      `<rect class="bar" data-label="${escapeXml(b.label)}" x="${f(x)}" y="${f(top)}" width="${f(w)}" height="${f(Math.max(0.5, bottom - top))}" fill="${color}"/>`,
    );
    if (b.error > 0 && Number.isFinite(b.error)) {
      const cx = x + w / 2;
      parts.push(`<line class="error" x1="${f(cx)}" x2="${f(cx)}" y1="${f(sy(b.value - b.error))}" y2="${f(sy(b.value + b.error))}" stroke="#333"/>`);
    }
    parts.push(`<text x="${f(x + w / 2)}" y="${margin.top + plotH + 15}" text-anchor="middle" class="tick">${escapeXml(b.label)}</text>`);
  });
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 8}" text-anchor="middle" class="axis-label">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeXml(o.yLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}
