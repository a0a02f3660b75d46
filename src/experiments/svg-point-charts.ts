/**
 * Point charts of the experiment report as inline SVG (self-contained like
 * svg-line-chart.ts): a scatter of one metric, simulator against world, one
 * point per model with its 95 % intervals on both axes and the line where
 * the two agree; and the point strip of a table cell, the per-seed figures
 * of one model on one metric beside the 95 % interval of their mean, on a
 * scale shared by the column so the strips compare down the table.
 */
import { escapeXml, formatTick as tickText, niceTicks } from './svg-line-chart.js';

/** One model in a scatter. */
export interface ScatterPoint {
  /** Legend text and `data-series` (a model name). */
  name: string;
  color: string;
  x: number;
  y: number;
  /** 95 % interval along x (omitted or non-finite: no whisker). */
  xCi?: [number, number];
  /** 95 % interval along y. */
  yCi?: [number, number];
  /** Drawn larger, outlined and named beside the point (RLIV-UA). */
  emphasis?: boolean;
}

export interface ScatterChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  points: ScatterPoint[];
  /** Pixel width (default 380) and height (default 380 + the legend). */
  width?: number;
  height?: number;
  /** Value of the `data-chart` attribute. */
  id?: string;
  /** Draw y = x over a range shared by both axes (default true): on that line the simulator agrees with the world. */
  diagonal?: boolean;
}

const fin = (x: number | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/** A scatter with whiskers, one legend row per point (two columns). */
export function scatterChartSvg(o: ScatterChartOptions): string {
  const width = o.width ?? 380;
  const legendRows = Math.ceil(o.points.length / 2);
  const plotSide = width - 58 - 14;
  const height = o.height ?? 30 + plotSide + 40 + legendRows * 15 + 6;
  const margin = { left: 58, right: 14, top: 30, bottom: 40 + legendRows * 15 + 6 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const idAttr = o.id ? ` data-chart="${escapeXml(o.id)}"` : '';
  const head = (scale: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart scatter"${idAttr} data-scale="${scale}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(o.title)}">` +
    `<text x="${width / 2}" y="18" text-anchor="middle" class="chart-title">${escapeXml(o.title)}</text>`;
  const pts = o.points.filter((p) => fin(p.x) && fin(p.y));
  if (pts.length === 0) return `${head('none')}<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text></svg>`;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const p of pts) {
    xs.push(p.x, ...(p.xCi ?? []).filter(fin));
    ys.push(p.y, ...(p.yCi ?? []).filter(fin));
  }
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  // One scale for both axes (y = x at 45 degrees) unless that would squeeze either axis's figures
  // into less than a quarter of it: then each axis keeps its own scale, and y = x is drawn where it crosses the plot.
  const union = Math.max(x1, y1) - Math.min(x0, y0);
  const shared = o.diagonal !== false && (union === 0 || ((x1 - x0) / union >= 0.25 && (y1 - y0) / union >= 0.25));
  if (shared) {
    x0 = y0 = Math.min(x0, y0);
    x1 = y1 = Math.max(x1, y1);
  }
  const xTicks = niceTicks(x0, x1, 5);
  const yTicks = shared ? xTicks : niceTicks(y0, y1, 5);
  x0 = Math.min(x0, xTicks[0] ?? x0);
  x1 = Math.max(x1, xTicks[xTicks.length - 1] ?? x1);
  y0 = shared ? x0 : Math.min(y0, yTicks[0] ?? y0);
  y1 = shared ? x1 : Math.max(y1, yTicks[yTicks.length - 1] ?? y1);
  const sx = (x: number) => margin.left + (x1 === x0 ? plotW / 2 : ((x - x0) / (x1 - x0)) * plotW);
  const sy = (y: number) => margin.top + (y1 === y0 ? plotH / 2 : (1 - (y - y0) / (y1 - y0)) * plotH);
  const f = (v: number) => v.toFixed(1);

  const parts = [head(shared ? 'shared' : 'separate')];
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="#fff" stroke="#ccc"/>`);
  for (const t of yTicks) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 5}" y="${f(sy(t) + 4)}" text-anchor="end" class="tick">${tickText(t)}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#f2f2f2"/>`);
    parts.push(`<text x="${f(sx(t))}" y="${margin.top + plotH + 15}" text-anchor="middle" class="tick">${tickText(t)}</text>`);
  }
  parts.push(`<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 31}" text-anchor="middle" class="axis-label">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(13 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeXml(o.yLabel)}</text>`);
  if (o.diagonal !== false) {
    const d0 = Math.max(x0, y0);
    const d1 = Math.min(x1, y1);
    if (d0 < d1)
      parts.push(`<line class="diagonal" x1="${f(sx(d0))}" y1="${f(sy(d0))}" x2="${f(sx(d1))}" y2="${f(sy(d1))}" stroke="#888" stroke-dasharray="5 4"/>`);
    if (!shared)
      parts.push(`<text x="${margin.left + 4}" y="${margin.top + 11}" class="tick">separate scales${d0 < d1 ? '' : '; y = x is outside the plot'}</text>`);
  }
  // Emphasised points last, so they are drawn on top.
  for (const p of [...pts.filter((q) => !q.emphasis), ...pts.filter((q) => q.emphasis)]) {
    const name = escapeXml(p.name);
    const cx = sx(p.x);
    const cy = sy(p.y);
    if (p.xCi && fin(p.xCi[0]) && fin(p.xCi[1]))
      parts.push(`<line class="whisker" x1="${f(sx(p.xCi[0]))}" x2="${f(sx(p.xCi[1]))}" y1="${f(cy)}" y2="${f(cy)}" stroke="${p.color}" stroke-width="1.2"/>`);
    if (p.yCi && fin(p.yCi[0]) && fin(p.yCi[1]))
      parts.push(`<line class="whisker" x1="${f(cx)}" x2="${f(cx)}" y1="${f(sy(p.yCi[0]))}" y2="${f(sy(p.yCi[1]))}" stroke="${p.color}" stroke-width="1.2"/>`);
    parts.push(
      `<circle class="point" data-series="${name}" cx="${f(cx)}" cy="${f(cy)}" r="${p.emphasis ? 6 : 4}" fill="${p.color}"${p.emphasis ? ' stroke="#000" stroke-width="1.5"' : ' fill-opacity="0.85"'}><title>${name}: world ${tickText(p.x)}, simulator ${tickText(p.y)}</title></circle>`,
    );
  }
  const colW = (width - 12) / 2;
  o.points.forEach((p, i) => {
    const lx = 6 + (i % 2) * colW;
    const ly = height - legendRows * 15 + Math.floor(i / 2) * 15 - 4;
    parts.push(
      `<circle cx="${f(lx + 5)}" cy="${f(ly - 4)}" r="${p.emphasis ? 5 : 4}" fill="${p.color}"${p.emphasis ? ' stroke="#000" stroke-width="1.2"' : ''}/>`,
    );
    parts.push(`<text x="${f(lx + 14)}" y="${ly}" class="legend"${p.emphasis ? ' font-weight="700"' : ''}>${escapeXml(p.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One table cell's strip: the per-seed figures and the 95 % interval of their mean, on the column's scale. */
export interface PointStrip {
  /** Per-seed figures (non-finite ones are skipped). */
  values: number[];
  /** Seeds of `values`, for the tooltip. */
  seeds: number[];
  mean: number;
  /** 95 % interval of the mean; non-finite (one seed): not drawn. */
  ci: [number, number];
  /** The column's scale: every strip of a column maps [lo, hi] to the same pixels. */
  lo: number;
  hi: number;
  /** Decimals of the figures in the tooltip (default: a tick label's). */
  decimals?: number;
}

/** The column's scale for a set of strips: the smallest and largest seed figure or interval end, padded by 4 %. */
export function stripScale(items: ReadonlyArray<{ values: readonly number[]; ci: readonly number[] }>): [number, number] {
  const all = items.flatMap((i) => [...i.values, ...i.ci]).filter(fin);
  if (all.length === 0) return [0, 1];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const pad = hi > lo ? (hi - lo) * 0.04 : Math.abs(lo) * 0.1 || 1;
  return [lo - pad, hi + pad];
}

/** A 120 x 14 px strip: a grey bar for the interval, a dark tick for the mean, one dot per seed. */
export function pointStripSvg(p: PointStrip, color = '#333', width = 120, height = 14): string {
  const sx = (x: number) => (p.hi === p.lo ? width / 2 : ((x - p.lo) / (p.hi - p.lo)) * (width - 6) + 3);
  const f = (v: number) => v.toFixed(1);
  const mid = height / 2;
  const title = p.values.map((v, i) => `seed ${p.seeds[i] ?? i + 1}: ${p.decimals === undefined ? tickText(v) : v.toFixed(p.decimals)}`).join(', ');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}"><title>${escapeXml(title)}</title>`,
  ];
  parts.push(`<line x1="0" x2="${width}" y1="${mid}" y2="${mid}" stroke="#eee"/>`);
  if (fin(p.ci[0]) && fin(p.ci[1]))
    parts.push(`<rect class="ci" x="${f(sx(p.ci[0]))}" y="${mid - 2.5}" width="${f(Math.max(1, sx(p.ci[1]) - sx(p.ci[0])))}" height="5" fill="#bbb"/>`);
  if (fin(p.mean)) parts.push(`<line class="mean" x1="${f(sx(p.mean))}" x2="${f(sx(p.mean))}" y1="1" y2="${height - 1}" stroke="#222" stroke-width="1.5"/>`);
  for (const v of p.values) if (fin(v)) parts.push(`<circle class="seed" cx="${f(sx(v))}" cy="${mid}" r="2.6" fill="${color}" fill-opacity="0.75"/>`);
  parts.push('</svg>');
  return parts.join('');
}
