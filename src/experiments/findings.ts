/**
 * The "findings" of a report, computed from the numbers and nothing else:
 * where RLIV-UA leads, which baselines it does not beat (and whether the
 * gap is significant), whether the ablation ordering of the paper's Table 3
 * holds, whether the ranking of models survives the move from the learned
 * simulator to the ground-truth world, and how much the seed count limits
 * what can be concluded. The sentences are plain text; both report
 * generators print them.
 */
import { spearman } from './statistics.js';
import { METRIC_INFO, REFERENCE_MODEL, TABLE2_MODELS, type ExperimentResults, type ReportMetric } from './results.js';

/** Table 2's four paper metrics (new fans is ours, reported but not in the paper's offline tables). */
export const PAPER_TABLE_METRICS: ReportMetric[] = ['sessionLength', 'watchTime', 'ctr', 'diversity'];

/** True for a finite number (JSON turns NaN into null, so values may be null at run time). */
export function isNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** A figure for prose and tables: up to `digits` significant decimals, "n/a" for missing. */
export function fmt(x: unknown, digits = 4): string {
  if (!isNum(x)) return 'n/a';
  return x.toFixed(decimalsFor(x, digits));
}

/** Decimals for a figure of this magnitude: fewer for large numbers, so tables stay readable. */
export function decimalsFor(x: number, digits = 4): number {
  const a = Math.abs(x);
  if (a >= 1000) return Math.min(digits, 1);
  if (a >= 100) return Math.max(0, digits - 2);
  return digits;
}

export function fmtP(p: unknown): string {
  if (!isNum(p)) return 'n/a';
  if (p < 0.001) return '< 0.001';
  return p.toFixed(3);
}

const sig = (p: unknown) => isNum(p) && p < 0.05;

/** The findings as sentences (plain text, one paragraph each). */
export function computeFindings(results: ExperimentResults): string[] {
  const out: string[] = [];
  const ref = results.models[REFERENCE_MODEL];
  const n = results.seeds.length;
  if (!ref) {
    out.push(`${REFERENCE_MODEL} is not among the models of this run, so no comparison against it is made.`);
    return out;
  }
  const baselines = TABLE2_MODELS.filter((m) => m !== REFERENCE_MODEL && results.models[m]);

  // Leads and gaps on the paper's metrics.
  let higher = 0;
  let higherSig = 0;
  let lowerSig = 0;
  let total = 0;
  const notBeaten: string[] = [];
  for (const metric of PAPER_TABLE_METRICS) {
    const info = METRIC_INFO[metric];
    for (const b of baselines) {
      const bm = results.models[b]![metric].mean;
      const rm = ref[metric].mean;
      if (!isNum(bm) || !isNum(rm)) continue;
      total++;
      const s = results.significance[b]?.[metric];
      const better = info.higherIsBetter ? rm > bm : rm < bm;
      if (better) {
        higher++;
        if (sig(s?.pValue)) higherSig++;
      } else {
        if (sig(s?.pValue)) lowerSig++;
        notBeaten.push(`${b} on ${info.label} (${fmt(bm)} vs ${fmt(rm)}, p = ${fmtP(s?.pValue)}${sig(s?.pValue) ? ', significant' : ''})`);
      }
    }
  }
  out.push(
    `Against the ${baselines.length} baselines of Table 2 on ${PAPER_TABLE_METRICS.length} metrics (${total} comparisons in the learned simulator, ${n} seed${n === 1 ? '' : 's'}), RLIV-UA has the better mean in ${higher}; ${higherSig} of those differences are significant at the 5 % level (${n >= 2 ? `paired t-test over seeds, ${n - 1} degree${n - 1 === 1 ? '' : 's'} of freedom` : 'no test is possible with one seed'}), and RLIV-UA is significantly worse in ${lowerSig}.`,
  );
  if (baselines.length === 0) out.push('No baseline of Table 2 is in this run.');
  else if (notBeaten.length === 0) out.push("RLIV-UA has the best mean of Table 2's models on every one of these metrics.");
  else out.push(`RLIV-UA does not beat (baseline mean vs RLIV-UA mean): ${notBeaten.join('; ')}.`);

  // Best model per metric in Table 2.
  const bests = PAPER_TABLE_METRICS.map((metric) => {
    const models = TABLE2_MODELS.filter((m) => results.models[m] && isNum(results.models[m]![metric].mean));
    if (models.length === 0) return null;
    const best = models.reduce((a, b) => (results.models[b]![metric].mean > results.models[a]![metric].mean ? b : a));
    return `${METRIC_INFO[metric].label}: ${best} (${fmt(results.models[best]![metric].mean)})`;
  }).filter((x): x is string => x !== null);
  out.push(
    `Best mean per metric among Table 2's models — ${bests.join('; ')}. In the paper, RLIV-UA is best in session length, watch time and diversity and the RankingModel best in CTR.`,
  );

  // Ablation ordering (paper: w/o MT & SL < w/o MT < RLIV-UA on session length and watch time).
  const chain = ['RLIV-UA(w/o MT & SL)', 'RLIV-UA(w/o MT)', 'RLIV-UA'];
  if (chain.every((m) => results.models[m])) {
    const parts = (['sessionLength', 'watchTime', 'diversity'] as ReportMetric[]).map((metric) => {
      const vals = chain.map((m) => results.models[m]![metric].mean);
      const holds = vals[0]! < vals[1]! && vals[1]! < vals[2]!;
      return `${METRIC_INFO[metric].label} ${vals.map((v) => fmt(v)).join(' → ')} (${holds ? 'ordering holds' : 'ordering does not hold'})`;
    });
    out.push(`Ablations, paper's ordering w/o MT & SL < w/o MT < RLIV-UA: ${parts.join('; ')}.`);
  }

  // Fig. 5's stability claim: SL lowers the across-seed spread of the learning curves.
  const spread = (model: string, metric: ReportMetric): number => {
    const c = results.models[model]?.curves[metric];
    if (!c || c.length < 2) return NaN;
    const epochs = c[0]!.length;
    let s = 0;
    let k = 0;
    for (let e = 0; e < epochs; e++) {
      const vals = c.map((row) => row[e]!).filter(isNum);
      if (vals.length < 2) continue;
      const m = vals.reduce((a, b) => a + b, 0) / vals.length;
      s += Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / (vals.length - 1));
      k++;
    }
    return k ? s / k : NaN;
  };
  const a = 'RLIV-UA(w/o MT & SL)';
  const b = 'RLIV-UA(w/o MT)';
  if (results.models[a] && results.models[b] && n >= 2) {
    const parts = (['sessionLength', 'watchTime', 'ctr'] as ReportMetric[]).map((metric) => {
      const sa = spread(a, metric);
      const sb = spread(b, metric);
      return `${METRIC_INFO[metric].label} ${fmt(sa)} vs ${fmt(sb)}${isNum(sa) && isNum(sb) ? (sb < sa ? ' (lower with SL)' : ' (not lower with SL)') : ''}`;
    });
    out.push(
      `Fig. 5 stability (mean across-seed standard deviation of the learning curves, ${a} vs ${b}): ${parts.join('; ')}. The paper reports a much lower variance with the auxiliary supervised task.`,
    );
  }

  // Sim-to-real: does the ranking of models survive in the ground-truth world?
  const names = results.modelOrder.filter((m) => results.simToReal[m] && results.models[m]);
  if (names.length >= 3) {
    const parts = (['sessionLength', 'watchTime'] as ReportMetric[]).map((metric) => {
      const sim = names.map((m) => results.models[m]![metric].mean);
      const real = names.map((m) => results.simToReal[m]![metric].mean);
      if (!sim.every(isNum) || !real.every(isNum)) return `${METRIC_INFO[metric].label}: n/a`;
      const rho = spearman(sim, real);
      const refRankSim = 1 + sim.filter((v) => v > results.models[REFERENCE_MODEL]![metric].mean).length;
      const refRankReal = 1 + real.filter((v) => v > (results.simToReal[REFERENCE_MODEL]?.[metric].mean ?? NaN)).length;
      return `${METRIC_INFO[metric].label}: Spearman ρ = ${fmt(rho, 2)}, RLIV-UA ranks ${refRankSim} of ${names.length} in the simulator and ${refRankReal} in the world`;
    });
    out.push(`Sim-to-real (the same trained policies evaluated in the ground-truth world): ${parts.join('; ')}.`);
  }

  const conv = results.convergence;
  if (conv) {
    const open: string[] = [];
    for (const m of results.modelOrder) {
      const bad = PAPER_TABLE_METRICS.filter((metric) => conv[m]?.[metric] && !conv[m]![metric].converged);
      if (bad.length) open.push(`${m} (${bad.map((metric) => METRIC_INFO[metric].label).join(', ')})`);
    }
    out.push(
      open.length === 0
        ? `Every model's learning curve is converged on ${PAPER_TABLE_METRICS.map((m) => METRIC_INFO[m].label).join(', ')} by the criterion of the convergence table.`
        : `Not converged by the criterion of the convergence table (the curve still moves, or its last epochs are too noisy to bound the drift): ${open.join('; ')}. Those figures compare models at different distances from where they would end.`,
    );
  }

  if (n < 5) {
    out.push(
      `With ${n} seed${n === 1 ? '' : 's'}, intervals are wide and tests have little power: a difference that is not significant here is not evidence of no difference.`,
    );
  }
  if (results.preset !== 'paper') {
    out.push(`This is the "${results.preset}" preset, far smaller than the paper's 250 epochs × 10^4 training steps; the figures measure this scale only.`);
  }
  return out;
}

export { spearman };
