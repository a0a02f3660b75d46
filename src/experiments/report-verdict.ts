/**
 * The verdict at the top of the experiment report: first the fidelity gates
 * (can the simulator's figures be read at all), then where RLIV-UA stands
 * among the models of the paper's Table 2, per metric, in the learned
 * simulator and (when there is one) in the ground-truth world: its mean with
 * the 95 % interval, its rank, and its difference to the closest rival (the
 * best other model when RLIV-UA is behind, the runner-up when it leads) with
 * that difference's 95 % interval and p-value (paired t over seeds, as in
 * the significance table). Computed from results.json alone, like every
 * other part of the report.
 */
import { fidelityVerdict } from './report-fidelity.js';
import { decimalsFor, fmt, fmtP, isNum } from './findings.js';
import { intervalText, type Cell, type ReportTable } from './report-tables.js';
import { METRIC_INFO, REFERENCE_MODEL, REPORT_METRICS, TABLE2_MODELS, type ExperimentResults, type MetricSummary, type ReportMetric } from './results.js';
import { differenceTest } from './statistics.js';

/** Where RLIV-UA stands on one metric in one environment. */
export interface Standing {
  metric: ReportMetric;
  /** RLIV-UA's summary over seeds. */
  summary: MetricSummary;
  /** 1 = best mean among `of` models (ties share the better rank). */
  rank: number;
  of: number;
  /** The closest rival: the runner-up when RLIV-UA leads, else the best model; null when RLIV-UA is alone. */
  rival: string | null;
  /** RLIV-UA minus the rival (positive: RLIV-UA higher), its 95 % interval and two-sided p-value over seeds. */
  diff: number;
  ci95: [number, number];
  pValue: number;
}

type Source = Record<string, { [M in ReportMetric]: MetricSummary }>;

/** RLIV-UA's standing per metric among the Table 2 models of `source` (results.models or results.simToReal); null without RLIV-UA. */
export function rlivUaStanding(results: ExperimentResults, column: 'simulator' | 'world'): Standing[] | null {
  const source: Source = column === 'simulator' ? results.models : results.simToReal;
  const ref = source?.[REFERENCE_MODEL];
  if (!ref) return null;
  const models = TABLE2_MODELS.filter((m) => source[m] && isNum(source[m]![REPORT_METRICS[0]]?.mean));
  return REPORT_METRICS.map((metric) => {
    const sign = METRIC_INFO[metric].higherIsBetter ? 1 : -1;
    const own = ref[metric];
    const others = models
      .filter((m) => m !== REFERENCE_MODEL && isNum(source[m]![metric].mean))
      .sort((a, b) => sign * (source[b]![metric].mean - source[a]![metric].mean));
    const rank = 1 + others.filter((m) => sign * (source[m]![metric].mean - own.mean) > 0).length;
    const rival = others[0] ?? null;
    if (rival === null) return { metric, summary: own, rank, of: 1, rival, diff: NaN, ci95: [NaN, NaN], pValue: NaN };
    const theirs = source[rival]![metric].values ?? [];
    // A seed figure missing (null in JSON): the difference of the means, with no interval or test.
    if (!(own.values ?? []).every(isNum) || !theirs.every(isNum) || own.values.length !== theirs.length) {
      return { metric, summary: own, rank, of: others.length + 1, rival, diff: own.mean - source[rival]![metric].mean, ci95: [NaN, NaN], pValue: NaN };
    }
    const t = differenceTest(own.values, theirs, results.seeds, results.seeds);
    return { metric, summary: own, rank, of: others.length + 1, rival, diff: t.diff, ci95: t.ci95, pValue: t.pValue };
  });
}

const ordinal = (n: number) =>
  `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;
const significant = (s: Standing) => isNum(s.pValue) && s.pValue < 0.05;

/** One sentence: RLIV-UA's rank per metric, and where it is significantly ahead of every model or behind the best. */
function standingSentence(where: string, standings: Standing[]): string {
  const ranks = standings.map((s) => `${METRIC_INFO[s.metric].label} ${ordinal(s.rank)}`).join(', ');
  const ahead = standings.filter((s) => s.rank === 1 && significant(s)).map((s) => METRIC_INFO[s.metric].label);
  const behind = standings.filter((s) => s.rank > 1 && significant(s)).map((s) => `${METRIC_INFO[s.metric].label} (${s.rival})`);
  const of = standings[0]?.of ?? 0;
  const parts = [
    ...(ahead.length ? [`significantly ahead of every other model on ${ahead.join(', ')}`] : []),
    ...(behind.length ? [`significantly behind the best on ${behind.join(', ')}`] : []),
  ];
  const tests = parts.length ? `it is ${parts.join(', and ')}` : 'no difference to its closest rival is significant';
  return `${where}, RLIV-UA ranks ${ranks} of ${of} models; ${tests} (95 % level, paired t over seeds).`;
}

function rivalText(s: Standing, digits: number): string {
  if (s.rival === null) return 'no other model';
  // One precision for the difference and its interval, set by the largest of them.
  const d = decimalsFor(Math.max(...[s.diff, ...s.ci95].filter(isNum).map(Math.abs), 0), digits);
  const ci = isNum(s.ci95[0]) ? ` [${s.ci95[0].toFixed(d)}, ${s.ci95[1].toFixed(d)}]` : '';
  const signed = isNum(s.diff) ? `${s.diff > 0 ? '+' : ''}${s.diff.toFixed(d)}` : 'n/a';
  return `${s.rank === 1 ? 'ahead of' : 'behind'} ${s.rival}: ${signed}${ci}, p = ${fmtP(s.pValue)}`;
}

/** The verdict: sentences (gates first), and the standing table (null without RLIV-UA). */
export function computeVerdict(results: ExperimentResults): { lines: string[]; table: ReportTable | null } {
  const lines = [fidelityVerdict(results.fidelity)];
  const sim = rlivUaStanding(results, 'simulator');
  if (!sim) {
    lines.push(`${REFERENCE_MODEL} is not among the models of this run, so there is no standing to report.`);
    return { lines, table: null };
  }
  const world = Object.keys(results.simToReal ?? {}).length > 0 ? rlivUaStanding(results, 'world') : null;
  const gatesFailed = results.fidelity !== undefined && !results.fidelity.pass;
  if (world)
    lines.push(standingSentence(gatesFailed ? 'In the ground-truth world (the figures to trust while a gate fails)' : 'In the ground-truth world', world));
  lines.push(standingSentence(gatesFailed ? 'In the learned simulator (read with the failed gates in mind)' : 'In the learned simulator', sim));
  const n = results.seeds.length;
  lines.push(
    `${n} seed${n === 1 ? '' : 's'}: every interval is a 95 % t-interval over seeds${n < 2 ? ' (none can be computed with one seed)' : n < 5 ? ', wide with so few seeds' : ''}.`,
  );
  const cells = (s: Standing): Cell[] => {
    const digits = METRIC_INFO[s.metric].digits;
    return [
      { text: `${fmt(s.summary.mean, digits)}, ${intervalText(s.summary, digits)}` },
      { text: `${ordinal(s.rank)} of ${s.of}`, bold: s.rank === 1 },
      { text: rivalText(s, digits), bold: significant(s) },
    ];
  };
  const table: ReportTable = {
    id: 'verdict-standing',
    title: 'Where RLIV-UA stands',
    caption: `Among the ${sim[0]?.of ?? 0} models of Table 2, per metric: RLIV-UA's mean with its 95 % interval, its rank, and its difference to the closest rival (the runner-up when it leads, the best model when it does not; positive = RLIV-UA higher) with that difference's 95 % interval and the paired t-test's p-value over seeds. Bold: first place, or a significant difference.${world ? ' The world columns are the same trained policies in the ground-truth world.' : ''}`,
    header: [
      'Metric',
      ...(world ? ['World: RLIV-UA', 'World: rank', 'World: vs closest rival'] : []),
      'Simulator: RLIV-UA',
      'Simulator: rank',
      'Simulator: vs closest rival',
    ],
    rows: sim.map((s, i) => [{ text: METRIC_INFO[s.metric].label }, ...(world ? cells(world[i]!) : []), ...cells(s)]),
  };
  return { lines, table };
}
