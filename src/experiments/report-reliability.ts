/**
 * The calibration curves of the learned simulator on the held-out random
 * log, one row per behaviour (head): the report's evidence, beside gate G1,
 * of how well the simulator answers exposures the production policy would
 * not have chosen. Read from `fidelity.instrument.randomLogHeads` (the
 * EnsembleReport's random-log part), on a world or on real logs alike.
 */
import { fmt, isNum } from './findings.js';
import type { ReportTable } from './report-tables.js';
import type { ExperimentResults } from './results.js';

interface Bin {
  predicted: number;
  observed: number;
  rows: number;
}

/** Expected calibration error of a curve: the row-weighted mean |predicted - observed| over its bins. */
export function calibrationError(bins: readonly Bin[]): number {
  let rows = 0,
    err = 0;
  for (const b of bins) {
    if (!isNum(b.predicted) || !isNum(b.observed)) continue;
    rows += b.rows;
    err += b.rows * Math.abs(b.predicted - b.observed);
  }
  return rows > 0 ? err / rows : NaN;
}

/** The table, or undefined when the results carry no random-log curves. */
export function randomLogCalibrationTable(results: ExperimentResults): ReportTable | undefined {
  const heads = (
    results.fidelity?.instrument as { randomLogHeads?: Record<string, { rate: number; predictedRate: number; auc: number; reliability?: Bin[] }> } | undefined
  )?.randomLogHeads;
  if (!heads) return undefined;
  const entries = Object.entries(heads).filter(([, h]) => Array.isArray(h.reliability) && h.reliability.length > 0);
  if (entries.length === 0) return undefined;
  const bins = Math.max(...entries.map(([, h]) => h.reliability!.length));
  const p = (x: number) => (isNum(x) ? (x !== 0 && Math.abs(x) < 0.001 ? x.toExponential(1) : fmt(x, 3)) : 'n/a');
  return {
    id: 'random-log-calibration',
    title: 'Calibration curves on the held-out random log',
    caption:
      'For each behaviour, the random-log exposures held out of the simulator\'s fit, sorted by the probability the (pessimistic) ensemble gives them and cut into equal-count bins; each cell is "predicted → observed" for one bin. A calibrated simulator has the two equal in every bin; the calibration error is their row-weighted mean absolute difference.',
    header: ['Behaviour', 'AUC', 'rate: predicted → observed', 'calibration error', ...Array.from({ length: bins }, (_, i) => `bin ${i + 1}`)],
    rows: entries.map(([name, h]) => [
      { text: name },
      { text: isNum(h.auc) ? fmt(h.auc, 3) : 'n/a' },
      { text: `${p(h.predictedRate)} → ${p(h.rate)}` },
      { text: p(calibrationError(h.reliability!)) },
      ...Array.from({ length: bins }, (_, i) => {
        const b = h.reliability![i];
        return { text: b ? `${p(b.predicted)} → ${p(b.observed)}` : '' };
      }),
    ]),
  };
}
