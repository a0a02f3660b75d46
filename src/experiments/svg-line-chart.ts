/**
 * A learning-curve chart as inline SVG text: one line per model (mean over
 * seeds) with a shaded band of ± one standard deviation, like the paper's
 * Fig. 5. No scripts, no external fonts or stylesheets, so the report stays
 * one self-contained file that renders offline.
 */

/** One curve of the chart. */
export interface ChartSeries {
  /** Legend text (a model name). */
  name: string;
  /** CSS colour of the line and the band. */
  color: string;
  /** X values (epochs), ascending. */
  x: number[];
  /** Mean per x. Non-finite entries are skipped. */
  mean: number[];
  /** Standard deviation per x (band half-width); 0 draws no band. */
  std: number[];
}

export interface LineChartOptions {
  /** Title drawn above the plot. */
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** Pixel width of the SVG (default 560). */
  width?: number;
  /** Pixel height of the SVG (default 340). */
  height?: number;
  /** Value of the `data-chart` attribute, so tests and styles can find the chart. */
  id?: string;
  /** Lines drawn first, thin and without band or legend entry, for comparison (e.g. the other models in a small multiple). */
  context?: ContextLine[];
  /** The y range to draw (e.g. shared by every panel of a small multiple); default: the data's range. */
  yDomain?: [number, number];
  /** Draw the legend under the plot (default true). */
  legend?: boolean;
  /** Extra attributes of the `<svg>` element, e.g. `{ 'data-model': name }`. */
  attributes?: Record<string, string>;
}

/** A thin comparison line of a chart (no band, no legend entry). */
export interface ContextLine {
  name: string;
  x: number[];
  mean: number[];
  /** CSS colour (default light grey). */
  color?: string;
  /** SVG stroke-dasharray, e.g. "4 3" (default solid). */
  dash?: string;
}

/** Ten colours that stay distinct for the ten models (Tableau 10). */
export const MODEL_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/**
 * The report's colour of each model: RLIV-UA in a strong red, its variants
 * in warm colours, the baselines in cool ones, so the paper's model stands
 * out in every chart. Other names take MODEL_COLORS by their index.
 */
export const REPORT_MODEL_COLORS: Record<string, string> = {
  RankingModel: '#4e79a7',
  CQL: '#76b7b2',
  DQN: '#59a14f',
  TD3: '#9c755f',
  RLUR: '#7f6fb0',
  'RLIV-UA': '#d62728',
  'RLIV-UA(w/o MT & SL)': '#ff7f0e',
  'RLIV-UA(w/o MT)': '#e377c2',
  'RLIV-UA(w/o SL)': '#8c2d04',
  'RLIV-UA(w/o AL & SL)': '#bc5090',
};

/** The colour of a model in the report's charts (`index`: its place in the run's model order, for names without a fixed colour). */
export function modelColor(name: string, index: number): string {
  return REPORT_MODEL_COLORS[name] ?? MODEL_COLORS[Math.max(0, index) % MODEL_COLORS.length]!;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  // A range within rounding of one value (two models' means equal but for the last bit) is one value: its ticks would
  // otherwise be steps of 1e-15, about 1e15 of them.
  if (hi >= lo && hi - lo <= 1e-9 * Math.max(Math.abs(lo), Math.abs(hi))) {
    lo = hi = (lo + hi) / 2;
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  // Integer multiples of the step, rounded to its decimals, so 0.1 + 0.2 prints as 0.3.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toFixed(decimals)) || 0);
  return ticks;
}

/** A tick label: fewer decimals for larger numbers, two significant digits below 1. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1).replace(/\.0$/, '');
  if (a >= 1) return v.toFixed(2).replace(/0$/, '').replace(/\.0$/, '');
  return v.toPrecision(2);
}

/** Renders the chart to an `<svg>` element string. */
export function lineChartSvg(options: LineChartOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 340;
  const legendRows = options.legend === false ? 0 : Math.ceil(options.series.length / 2);
  const margin = { left: options.yLabel ? 62 : 44, right: options.yLabel ? 16 : 8, top: 30, bottom: 44 + legendRows * 16 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;

  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const s of options.series) {
    for (let i = 0; i < s.x.length; i++) {
      const m = s.mean[i]!;
      if (!Number.isFinite(m) || !Number.isFinite(s.x[i]!)) continue;
      const sd = Number.isFinite(s.std[i]!) ? s.std[i]! : 0;
      xMin = Math.min(xMin, s.x[i]!);
      xMax = Math.max(xMax, s.x[i]!);
      yMin = Math.min(yMin, m - sd);
      yMax = Math.max(yMax, m + sd);
    }
  }
  for (const c of options.context ?? []) {
    for (let i = 0; i < c.x.length; i++) {
      if (!Number.isFinite(c.mean[i]!) || !Number.isFinite(c.x[i]!)) continue;
      yMin = Math.min(yMin, c.mean[i]!);
      yMax = Math.max(yMax, c.mean[i]!);
    }
  }
  if (options.yDomain && Number.isFinite(xMin)) [yMin, yMax] = options.yDomain;
  const parts: string[] = [];
  const idAttr =
    (options.id ? ` data-chart="${escapeXml(options.id)}"` : '') +
    Object.entries(options.attributes ?? {})
      .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
      .join('');
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart"${idAttr} width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}">`,
  );
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" class="chart-title">${escapeXml(options.title)}</text>`);
  if (!Number.isFinite(xMin)) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text></svg>`);
    return parts.join('');
  }
  const yTicks = niceTicks(yMin, yMax, height < 200 ? 4 : 5);
  const y0 = Math.min(yMin, yTicks[0] ?? yMin);
  const y1 = Math.max(yMax, yTicks[yTicks.length - 1] ?? yMax);
  const xTicks = niceTicks(xMin, xMax, 6).filter((v) => v >= xMin && v <= xMax);
  const sx = (x: number) => margin.left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const sy = (y: number) => margin.top + (y1 === y0 ? plotH / 2 : (1 - (y - y0) / (y1 - y0)) * plotH);
  const f = (v: number) => v.toFixed(1);

  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="#fff" stroke="#ccc"/>`);
  for (const t of yTicks) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end" class="tick">${formatTick(t)}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<text x="${f(sx(t))}" y="${margin.top + plotH + 16}" text-anchor="middle" class="tick">${formatTick(t)}</text>`);
  }
  parts.push(`<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 32}" text-anchor="middle" class="axis-label">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel)
    parts.push(
      `<text transform="translate(14 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeXml(options.yLabel)}</text>`,
    );

  for (const c of options.context ?? []) {
    const pts = c.x.map((x, i) => [x, c.mean[i]!] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length < 2) continue;
    const dash = c.dash ? ` stroke-dasharray="${c.dash}"` : '';
    parts.push(
      `<polyline class="context" data-series="${escapeXml(c.name)}" points="${pts.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(' ')}" fill="none" stroke="${c.color ?? '#c8c8c8'}" stroke-width="1"${dash}/>`,
    );
  }

  options.series.forEach((s) => {
    const pts: Array<[number, number, number]> = [];
    for (let i = 0; i < s.x.length; i++) {
      if (Number.isFinite(s.mean[i]!) && Number.isFinite(s.x[i]!)) pts.push([s.x[i]!, s.mean[i]!, Number.isFinite(s.std[i]!) ? s.std[i]! : 0]);
    }
    if (pts.length === 0) return;
    const hasBand = pts.some((p) => p[2] > 0);
    const name = escapeXml(s.name);
    if (hasBand) {
      const upper = pts.map((p) => `${f(sx(p[0]))},${f(sy(p[1] + p[2]))}`);
      const lower = pts
        .slice()
        .reverse()
        .map((p) => `${f(sx(p[0]))},${f(sy(p[1] - p[2]))}`);
      parts.push(`<polygon class="band" data-series="${name}" points="${upper.concat(lower).join(' ')}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`);
    }
    const line = pts.map((p) => `${f(sx(p[0]))},${f(sy(p[1]))}`).join(' ');
    if (pts.length === 1) {
      parts.push(`<circle class="line" data-series="${name}" cx="${f(sx(pts[0]![0]))}" cy="${f(sy(pts[0]![1]))}" r="3" fill="${s.color}"/>`);
    } else {
      parts.push(`<polyline class="line" data-series="${name}" points="${line}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`);
    }
  });

  const colW = (width - margin.left) / 2;
  if (options.legend !== false)
    options.series.forEach((s, i) => {
      const lx = margin.left + (i % 2) * colW;
      const ly = height - legendRows * 16 + Math.floor(i / 2) * 16 - 4;
      parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="10" fill="${s.color}"/>`);
      parts.push(`<text x="${lx + 19}" y="${ly}" class="legend">${escapeXml(s.name)}</text>`);
    });
  parts.push('</svg>');
  return parts.join('');
}
