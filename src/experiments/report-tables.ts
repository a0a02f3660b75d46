/**
 * The tables of the experiment report, built once from the results and
 * rendered by both report-html.ts and report-markdown.ts, so the two files
 * always carry the same numbers: Table 2 and Table 3 (mean ± std over
 * seeds, best mean in bold), significance against RLIV-UA, sim-to-real,
 * calibration, the paper's own figures (quoted for reference), the run's
 * settings and timings.
 */
import { decimalsFor, fmt, fmtP, isNum, spearman } from './findings.js';
import { stripScale, type PointStrip } from './svg-point-charts.js';
import {
  METRIC_INFO,
  REFERENCE_MODEL,
  REPORT_METRICS,
  TABLE2_MODELS,
  TABLE3_MODELS,
  type ExperimentResults,
  type MetricSummary,
  type ReportMetric,
} from './results.js';
import { modelColor } from './svg-line-chart.js';

export interface Cell {
  text: string;
  /** Bold: the best mean of a column, or a significant difference. */
  bold?: boolean;
  /** A second line under the text (Tables 2 and 3: the 95 % interval of the mean). */
  sub?: string;
  /** Shown in report.md after `sub`, in report.html as the strip's tooltip (Tables 2 and 3: the per-seed figures). */
  detail?: string;
  /** Per-seed points drawn in report.html under the text (Tables 2 and 3), on one scale per column. */
  strip?: PointStrip & { color?: string };
}

export interface ReportTable {
  /** Stable id (used as the HTML element id and by tests). */
  id: string;
  title: string;
  /** One-paragraph explanation printed under the title. */
  caption: string;
  header: string[];
  rows: Cell[][];
}

/** The paper's Table 2 and Table 3 figures (its own simulator on KuaiRand), quoted for comparison only. */
export const PAPER_REPORTED: Record<string, [number, number, number, number]> = {
  RankingModel: [2.0132, 59.4812, 0.5948, 0.0629],
  CQL: [2.266, 58.0753, 0.5125, 0.1727],
  DQN: [4.061, 49.5454, 0.2247, 0.7477],
  TD3: [4.782, 52.7157, 0.2228, 0.85],
  RLUR: [6.681, 151.055, 0.4519, 0.7206],
  'RLIV-UA': [12.886, 377.4867, 0.5015, 0.8827],
  'RLIV-UA(w/o MT & SL)': [7.294, 188.0499, 0.5229, 0.7994],
  'RLIV-UA(w/o MT)': [9.28, 248.1804, 0.534, 0.8746],
};

function meanStdCell(mean: unknown, sd: unknown, digits: number): string {
  if (!isNum(mean)) return 'n/a';
  // The spread is printed to the mean's precision: 167.46 ± 8.41, not 167.46 ± 8.4089.
  const d = decimalsFor(mean, digits);
  return isNum(sd) ? `${mean.toFixed(d)} ± ${sd.toFixed(d)}` : mean.toFixed(d);
}

/** "95 % CI [lo, hi]" at the mean's precision, or why there is none. */
export function intervalText(s: Pick<MetricSummary, 'mean' | 'ci95' | 'n'>, digits: number): string {
  if (!isNum(s.ci95?.[0]) || !isNum(s.ci95?.[1])) return `95 % CI n/a (${s.n ?? 0} seed${s.n === 1 ? '' : 's'})`;
  const d = isNum(s.mean) ? decimalsFor(s.mean, digits) : digits;
  return `95 % CI [${s.ci95[0].toFixed(d)}, ${s.ci95[1].toFixed(d)}]`;
}

/** Where a performance table's figures come from: the learned simulator (the paper's protocol) or the ground-truth world. */
type Column = 'simulator' | 'world';

/**
 * Models × metrics: mean ± std, the 95 % interval of the mean and the
 * per-seed figures (a strip per cell on one scale per column); the best mean
 * of each column in bold.
 */
function performanceTable(
  results: ExperimentResults,
  id: string,
  title: string,
  caption: string,
  models: readonly string[],
  column: Column = 'simulator',
): ReportTable {
  const source = (m: string) => (column === 'simulator' ? results.models[m] : results.simToReal[m]);
  const present = models.filter((m) => source(m));
  const best: Partial<Record<ReportMetric, number>> = {};
  const scale = {} as Record<ReportMetric, [number, number]>;
  for (const metric of REPORT_METRICS) {
    const vals = present.map((m) => source(m)![metric].mean).filter(isNum);
    if (vals.length) best[metric] = METRIC_INFO[metric].higherIsBetter ? Math.max(...vals) : Math.min(...vals);
    scale[metric] = stripScale(present.map((m) => ({ values: source(m)![metric].values ?? [], ci: source(m)![metric].ci95 ?? [] })));
  }
  return {
    id,
    title,
    caption: `${caption} Under each figure: the 95 % t-interval of the mean over seeds, and the seeds' own figures (in report.html as dots: grey bar = the interval, dark tick = the mean, one scale per column).`,
    header: ['Models', ...REPORT_METRICS.map((m) => METRIC_INFO[m].label)],
    rows: present.map((m) => [
      { text: m },
      ...REPORT_METRICS.map((metric): Cell => {
        const s = source(m)![metric];
        const digits = METRIC_INFO[metric].digits;
        const d = isNum(s.mean) ? decimalsFor(s.mean, digits) : digits;
        const values = (s.values ?? []).map((v) => (isNum(v) ? v : NaN));
        return {
          text: meanStdCell(s.mean, s.std, digits),
          bold: isNum(s.mean) && s.mean === best[metric],
          sub: intervalText(s, digits),
          detail: values.length ? `seeds ${values.map((v) => (isNum(v) ? v.toFixed(d) : 'n/a')).join(', ')}` : undefined,
          strip: {
            values,
            seeds: results.seeds,
            mean: s.mean,
            ci: s.ci95 ?? [NaN, NaN],
            lo: scale[metric][0],
            hi: scale[metric][1],
            decimals: d,
            color: modelColor(m, results.modelOrder.indexOf(m)),
          },
        };
      }),
    ]),
  };
}

export function table2(results: ExperimentResults): ReportTable {
  return performanceTable(
    results,
    'table2',
    'Table 2: overall performance of the models (learned simulator)',
    `Mean ± standard deviation over ${results.seeds.length} seed(s) of each model's figure, itself the mean of its last evaluation epochs on held-out users. Best mean per column in bold.`,
    TABLE2_MODELS,
  );
}

export function table3(results: ExperimentResults): ReportTable {
  return performanceTable(
    results,
    'table3',
    'Table 3: variations of RLIV-UA (learned simulator)',
    'The ablations of RLIV-UA: MT = multi-task critic learning, SL = auxiliary supervised learning, AL = assistance gift network. Best mean per column in bold.',
    TABLE3_MODELS,
  );
}

/** Table 2 in the ground-truth world: the same trained policies on the same held-out users (ground truth). */
export function table2World(results: ExperimentResults): ReportTable {
  return performanceTable(
    results,
    'table2-world',
    'Table 2: overall performance of the models (ground-truth world)',
    "The same trained policies evaluated greedily on the same held-out users in the ground-truth world whose logs the simulator was fitted on, by the simulator column's protocol (every epoch, the panel keeping its history from epoch to epoch; the figure is the mean of the same last epochs): the ground truth the simulator column stands in for. Mean ± standard deviation over seeds. Best mean per column in bold.",
    TABLE2_MODELS,
    'world',
  );
}

/** Table 3 in the ground-truth world. */
export function table3World(results: ExperimentResults): ReportTable {
  return performanceTable(
    results,
    'table3-world',
    'Table 3: variations of RLIV-UA (ground-truth world)',
    'The ablations, evaluated in the ground-truth world (ground truth). Best mean per column in bold.',
    TABLE3_MODELS,
    'world',
  );
}

export function significanceTable(results: ExperimentResults, where: 'sim' | 'world' = 'sim'): ReportTable {
  const sig = (where === 'sim' ? results.significance : results.significanceWorld) ?? {};
  const models = results.modelOrder.filter((m) => m !== REFERENCE_MODEL && sig[m]);
  const kinds = new Set(models.flatMap((m) => REPORT_METRICS.map((k) => sig[m]![k].test)));
  return {
    id: where === 'sim' ? 'significance' : 'significance-world',
    title: where === 'sim' ? 'Significance against RLIV-UA' : 'Significance against RLIV-UA in the ground-truth world',
    caption: `Each cell: model − RLIV-UA${where === 'world' ? " on the world's figures (the sim-to-real evaluation of the same trained policies)" : ''}, its 95 % interval and the two-sided p-value (${[...kinds].map((k) => (k === 'paired' ? 'paired t-test over seeds' : 'Welch t-test')).join(' / ') || 'no test'}). Bold: p < 0.05.`,
    header: ['Model', ...REPORT_METRICS.map((m) => METRIC_INFO[m].label)],
    rows: models.map((m) => [
      { text: m },
      ...REPORT_METRICS.map((metric) => {
        const s = sig[m]![metric];
        const ci = isNum(s.ci95?.[0]) ? ` [${fmt(s.ci95[0])}, ${fmt(s.ci95[1])}]` : '';
        return { text: `${fmt(s['diffVsRLIV-UA'])}${ci}, p = ${fmtP(s.pValue)}`, bold: isNum(s.pValue) && s.pValue < 0.05 };
      }),
    ]),
  };
}

export function simToRealTable(results: ExperimentResults): ReportTable {
  const metrics: ReportMetric[] = ['sessionLength', 'watchTime', 'ctr', 'diversity', 'newFans'];
  const models = results.modelOrder.filter((m) => results.simToReal[m] && results.models[m]);
  return {
    id: 'sim-to-real',
    title: 'Sim-to-real: learned simulator vs ground-truth world',
    caption:
      'The same trained policies, evaluated on the same held-out users in the learned simulator ("sim") and in the ground-truth world ("world"). Mean over seeds; best world mean per metric in bold.',
    header: ['Model', ...metrics.flatMap((m) => [`${METRIC_INFO[m].label} (sim)`, `${METRIC_INFO[m].label} (world)`])],
    rows: models.map((name) => [
      { text: name },
      ...metrics.flatMap((metric) => {
        const worldVals = models.map((m) => results.simToReal[m]![metric].mean).filter(isNum);
        const bestWorld = worldVals.length ? Math.max(...worldVals) : NaN;
        const w = results.simToReal[name]![metric];
        return [
          { text: fmt(results.models[name]![metric].mean) },
          { text: meanStdCell(w.mean, w.std, METRIC_INFO[metric].digits), bold: isNum(w.mean) && w.mean === bestWorld },
        ];
      }),
    ]),
  };
}

/**
 * The scatter plots' figures as a table (report.html draws them, report.md
 * has only this): per metric, how the simulator's ranking of the models
 * agrees with the world's (Spearman ρ over the models' means) and how far
 * its figures are from the world's (the ratio simulator / world per model:
 * median and range; how many models the simulator puts above the world).
 */
export function simVsWorldTable(results: ExperimentResults): ReportTable | null {
  const models = results.modelOrder.filter((m) => results.simToReal?.[m] && results.models[m]);
  if (models.length === 0) return null;
  const rows = REPORT_METRICS.map((metric): Cell[] => {
    const pairs = models.map((m) => [results.models[m]![metric].mean, results.simToReal[m]![metric].mean] as const).filter(([a, b]) => isNum(a) && isNum(b));
    const rho =
      pairs.length >= 3
        ? spearman(
            pairs.map((p) => p[0]),
            pairs.map((p) => p[1]),
          )
        : NaN;
    const ratios = pairs
      .filter(([, w]) => w !== 0)
      .map(([sim, w]) => sim / w)
      .sort((a, b) => a - b);
    const median = ratios.length ? (ratios[(ratios.length - 1) >> 1]! + ratios[ratios.length >> 1]!) / 2 : NaN;
    return [
      { text: METRIC_INFO[metric].label },
      { text: pairs.length >= 3 ? fmt(rho, 2) : `n/a (${pairs.length} models)` },
      { text: ratios.length ? `${fmt(median, 2)} (${fmt(ratios[0], 2)} to ${fmt(ratios[ratios.length - 1], 2)})` : 'n/a' },
      { text: `${pairs.filter(([sim, w]) => sim > w).length} of ${pairs.length}` },
    ];
  });
  return {
    id: 'sim-vs-world',
    title: 'Simulator vs world, per metric',
    caption:
      "The same trained policies in the learned simulator and in the ground-truth world, one point per model in the scatter plots: Spearman ρ between the two rankings of the models (1 = the simulator orders them as the world does), the ratio simulator / world of each model's mean (median, and smallest to largest; 1 = the same figure), and how many models the simulator puts above their world figure.",
    header: ['Metric', 'Spearman ρ (ranking)', 'simulator / world (median, range)', 'models above the world'],
    rows,
  };
}

export function calibrationTable(results: ExperimentResults): ReportTable {
  return {
    id: 'calibration',
    title: 'Calibration',
    caption:
      results.calibration?.caption ??
      "Rates under the logging policy: the target (KuaiRand-Pure unless noted), the ground-truth world and the learned simulator fitted on the world's logs.",
    header: ['Quantity', 'Target', results.calibration?.worldLabel ?? 'World', 'Simulator', 'Source'],
    rows: (results.calibration?.rows ?? []).map((r) => [
      { text: r.quantity },
      { text: fmt(r.target) },
      { text: fmt(r.world) },
      { text: fmt(r.simulator) },
      { text: r.source ?? '' },
    ]),
  };
}

export function paperTable(): ReportTable {
  return {
    id: 'paper-reported',
    title: "For reference: the paper's Tables 2 and 3 (quoted, not measured here)",
    caption:
      'Figures reported by the paper in its own KuaiRand-trained simulator. They are not comparable number for number with this run (different simulator, scale and training budget); compare the orderings.',
    header: ['Models', 'Session Length', 'Watch Time', 'CTR', 'Diversity'],
    rows: Object.entries(PAPER_REPORTED).map(([m, v]) => [{ text: m }, ...v.map((x) => ({ text: String(x) }))]),
  };
}

export function settingsTable(results: ExperimentResults): ReportTable {
  const rows: Cell[][] = [
    [{ text: 'preset' }, { text: results.preset }],
    [{ text: 'seeds' }, { text: results.seeds.join(', ') }],
    [{ text: 'wall time' }, { text: `${fmt(results.wallSeconds, 1)} s` }],
  ];
  if (results.machine) {
    const m = results.machine;
    rows.push([
      { text: 'machine' },
      {
        text: `${m.cpus} CPU(s), Node ${m.node}, 1-min load average ${fmt(m.loadAverageStart, 2)} at start, ${fmt(m.loadAverageEnd, 2)} at end${isNum(m.cpuSeconds) ? `; this process used ${fmt(m.cpuSeconds, 1)} CPU s` : ''}`,
      },
    ]);
  }
  for (const [k, v] of Object.entries(results.settings ?? {})) rows.push([{ text: k }, { text: typeof v === 'string' ? v : JSON.stringify(v) }]);
  // Per-model parts ("<model>: <part>") are in the timing table.
  for (const [k, v] of Object.entries(results.phases ?? {}))
    if (!results.modelOrder.some((m) => k.startsWith(`${m}: `))) rows.push([{ text: `time: ${k}` }, { text: `${fmt(v, 1)} s` }]);
  return { id: 'settings', title: 'Settings and timings', caption: 'What this run used, and where the time went.', header: ['Setting', 'Value'], rows };
}

/**
 * Where the models' configs came from (results.json `tuning`): each model's
 * default, an --agent-config file's entry, or the candidate `rliv tune`
 * selected with its validation figure beside the default's. Null for files
 * written before the record existed.
 */
export function tuningTable(results: ExperimentResults): ReportTable | null {
  const r = results.tuning;
  if (!r) return null;
  const fromFile = (results.settings?.agentConfigOverrides ?? {}) as Record<string, unknown>;
  const entry = (o: unknown): string => (o && typeof o === 'object' && Object.keys(o).length ? JSON.stringify(o) : 'default');
  if (!r.tune) {
    return {
      id: 'tuning',
      title: 'Tuning',
      caption:
        r.agentConfig === null
          ? 'No --agent-config: every model ran with its default config; nothing was tuned (rliv tune selects configs on validation users).'
          : `Configs from ${r.agentConfig}, which is not the output of an rliv tune run (no tune-results.json beside it selecting exactly its content): not a tuning result.`,
      header: ['Model', 'Config'],
      rows: results.modelOrder.map((m) => [{ text: m }, { text: entry(fromFile[m]) }]),
    };
  }
  const t = r.tune;
  const label = METRIC_INFO[t.metric as ReportMetric]?.label ?? t.metric;
  const digits = METRIC_INFO[t.metric as ReportMetric]?.digits;
  const split = t.sameSplit
    ? "on this run's users' split, so no held-out user of this run was ever run by the tuning"
    : `on ANOTHER users' split (split seed ${t.split.splitSeed}): on the same world its validation users may include users this run holds out; on another world the configs are used unchanged (a robustness check)`;
  return {
    id: 'tuning',
    title: 'Tuning',
    caption: `The configs rliv tune selected (${t.results}${t.command ? `; \`${t.command}\`` : ''}): ${t.budget} candidate configs per model (config 0 = the default), ${t.seeds.length} tuning seed(s), selected on the validation users' ${label}, ${split}.`,
    header: ['Model', 'Selected config', `Validation ${label}: selected / default`, 'Overrides'],
    rows: results.modelOrder.map((m) => {
      const x = t.models[m];
      if (!x) return [{ text: m }, { text: 'not tuned' }, { text: 'n/a' }, { text: entry(fromFile[m]) }];
      return [
        { text: m },
        { text: `${x.selected} of ${x.candidates}${x.selected === 0 ? ' (default)' : ''}` },
        { text: `${fmt(x.score ?? NaN, digits)} / ${fmt(x.defaultScore ?? NaN, digits)}` },
        { text: entry(x.overrides) },
      ];
    }),
  };
}

/**
 * Convergence per model and metric (convergence.ts): yes or no, the slope of
 * the seeds' mean curve over the last epochs with its 95 % interval and its
 * size relative to the mean, and how many single seeds pass.
 */
export function convergenceTable(results: ExperimentResults): ReportTable | null {
  const conv = results.convergence;
  if (!conv) return null;
  const c = results.convergenceCriterion;
  const models = results.modelOrder.filter((m) => conv[m]);
  const rows = models.map((m) => [
    { text: m },
    ...REPORT_METRICS.map((metric): Cell => {
      const e = conv[m]![metric];
      if (!e) return { text: 'n/a' };
      if (!isNum(e.slope)) return { text: `no (${e.reason ?? 'n/a'})`, bold: true };
      const rel = isNum(e.relativeSlope) ? `, ${fmt(100 * e.relativeSlope, 2)} %` : '';
      // Why not: the slope's interval excludes 0 (still moving), or it contains 0 but the slope's size exceeds the bound (too noisy to bound the drift).
      const why = e.converged ? '' : e.ci95[0] > 0 ? '; still rising' : e.ci95[1] < 0 ? '; still falling' : '; too noisy for the size bound';
      return {
        text: `${e.converged ? 'yes' : 'no'}: ${signed(e.slope)} [${signed(e.ci95[0])}, ${signed(e.ci95[1])}]${rel}; ${e.seedsConverged}/${e.seeds} seeds${why}`,
        bold: !e.converged,
      };
    }),
  ]);
  return {
    id: 'convergence',
    title: 'Convergence of the learning curves',
    caption: `Per model and metric, on the mean over seeds of the per-epoch ${results.convergenceCurves === 'probe' ? "probe figures in the simulator (each epoch's greedy policy on the held-out panel, from the same fresh state every epoch, so the panel's growing history does not move them; docs/design.md §8.3)" : 'evaluation figures in the simulator'}: the least-squares slope per epoch over the last ${c?.window ?? 10} epochs with its ${Math.round(100 * (c?.confidence ?? 0.95))} % interval and its size relative to the mean. Converged (yes) when the interval contains 0 and |slope| < ${fmt(100 * (c?.maxRelativeSlope ?? 0.01), 1)} % of the mean per epoch (src/experiments/convergence.ts); "seeds" = how many single-seed curves pass the same test. Not converged in bold, with why: still rising or falling (the interval excludes 0), or too noisy for the size bound (the interval contains 0, the slope's size exceeds the bound).`,
    header: ['Model', ...REPORT_METRICS.map((m) => METRIC_INFO[m].label)],
    rows,
  };
}

function signed(x: number): string {
  const d = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 1 ? 2 : 3;
  return `${x >= 0 ? '+' : ''}${x.toFixed(d)}`;
}

/** The parts of a job, as keyed in results.phases ("<model>: <part>"). */
const TIMING_PARTS = ['collect', 'observe', 'train steps', 'evaluation', 'world evaluation'] as const;

/** Seconds per model and part of its jobs (summed over seeds): wall clock, and in brackets the CPU time of the thread that ran them. */
export function timingTable(results: ExperimentResults): ReportTable | null {
  const phases = results.phases ?? {};
  const cpu = results.phasesCpu ?? {};
  const models = results.modelOrder.filter((m) => TIMING_PARTS.some((p) => isNum(phases[`${m}: ${p}`])));
  if (models.length === 0) return null;
  const cell = (key: string): Cell => ({ text: isNum(phases[key]) ? `${fmt(phases[key], 1)}${isNum(cpu[key]) ? ` (${fmt(cpu[key], 1)})` : ''}` : 'n/a' });
  const rows = models.map((m) => {
    let wall = 0;
    let c = 0;
    for (const p of TIMING_PARTS) {
      wall += phases[`${m}: ${p}`] ?? 0;
      c += cpu[`${m}: ${p}`] ?? 0;
    }
    return [{ text: m }, ...TIMING_PARTS.map((p) => cell(`${m}: ${p}`)), { text: `${fmt(wall, 1)}${Object.keys(cpu).length ? ` (${fmt(c, 1)})` : ''}` }];
  });
  return {
    id: 'timing',
    title: 'Time per model and part',
    caption: `Seconds per model, summed over its ${results.seeds.length} seed(s): wall clock, and in brackets CPU seconds of the thread that ran the job (on a shared machine the difference is time spent waiting for a core). Collect = sessions gathered for training; observe = storing them in the replay; train steps = the gradient steps; evaluation = the greedy held-out sessions of every epoch; world evaluation = the sim-to-real rounds after training.`,
    header: ['Model', ...TIMING_PARTS, 'total'],
    rows,
  };
}

/** Every table of the report, in page order. Without a ground truth (real logs) there are no world tables and no sim-to-real table. */
export function reportTables(results: ExperimentResults): ReportTable[] {
  const hasWorld = Object.keys(results.simToReal ?? {}).length > 0;
  const world = hasWorld ? [table2World(results), table3World(results)] : [];
  const timing = timingTable(results);
  const convergence = convergenceTable(results);
  const tuning = tuningTable(results);
  const worldSig = results.significanceWorld && Object.keys(results.significanceWorld).length > 0 ? [significanceTable(results, 'world')] : [];
  const simVsWorld = hasWorld ? simVsWorldTable(results) : null;
  return [
    table2(results),
    table3(results),
    ...world,
    ...(simVsWorld ? [simVsWorld] : []),
    significanceTable(results),
    ...worldSig,
    ...(convergence ? [convergence] : []),
    ...(tuning ? [tuning] : []),
    ...(hasWorld ? [simToRealTable(results)] : []),
    calibrationTable(results),
    paperTable(),
    settingsTable(results),
    ...(timing ? [timing] : []),
  ];
}

/** Why the report has no world columns (real logs), or undefined when it has them. */
export function noWorldExplanation(results: ExperimentResults): string | undefined {
  if (Object.keys(results.simToReal ?? {}).length > 0) return undefined;
  return results.noGroundTruth ?? 'These results carry no ground-truth figures, so the report has no world columns.';
}
