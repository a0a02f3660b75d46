/**
 * The fidelity gates of a run on real logs (`rliv experiment --logs DIR`),
 * where no ground-truth world exists:
 *
 * - G1 calibration: on uniformly random slates the simulator's click rate is
 *   within 15 % (FIDELITY_BOUNDS.randomClickRelError) of the random log's own
 *   click rate (KuaiRand's random log IS users' answer to uniformly random
 *   items); the per-head calibration curves of the ensemble on the held-out
 *   random log are reported beside it (fidelity.instrument.randomLogHeads).
 *   The logging policy's checks of the world's G1 need the logging policy,
 *   which real logs do not come with.
 * - G2 no exploitation and G3 agreement compare the simulator with a ground
 *   truth: not applicable, and reported as such (never as PASS).
 *
 * Pure: checkable on hand-built figures.
 */
import { FIDELITY_BOUNDS, type FidelityCheck, type FidelityGate, type FidelityResults, type PolicyFigures } from './fidelity.js';

export interface LogsFidelityInput {
  /** Reference policies in the simulator ('uniform random' is the one G1 reads). */
  reference: Record<string, { sim: PolicyFigures }>;
  /** Click rate of the random log (clicks / exposures over its rows). */
  randomLogClickRate: number;
  /** Its rows (for the detail). */
  randomLogRows: number;
  /** Why G2 and G3 cannot be computed. */
  reason: string;
}

/** G1 on real logs (see the file comment). */
export function gateCalibrationOnLogs(input: Pick<LogsFidelityInput, 'reference' | 'randomLogClickRate' | 'randomLogRows'>): FidelityGate {
  const checks: FidelityCheck[] = [];
  const random = input.reference['uniform random'];
  const tol = FIDELITY_BOUNDS.randomClickRelError;
  if (random) {
    const e = random.sim.click / input.randomLogClickRate - 1;
    checks.push({
      name: "uniform random: click rate vs the random log's",
      value: e,
      bound: `|sim / random log - 1| <= ${tol}`,
      pass: Number.isFinite(e) && Math.abs(e) <= tol,
      detail: `simulator ${random.sim.click.toPrecision(4)} on ${random.sim.sessions} sessions of uniformly random slates, random log ${input.randomLogClickRate.toPrecision(4)} over ${input.randomLogRows} exposures`,
    });
  }
  return { id: 'G1', title: 'Calibration: random slates against the random log', pass: checks.length === 1 && checks.every((c) => c.pass), checks };
}

/** G1 on the random log; G2 and G3 not applicable. `pass` is G1's (every applicable gate). */
export function computeLogsFidelity(input: LogsFidelityInput): FidelityResults {
  const g1 = gateCalibrationOnLogs(input);
  const na = (id: 'G2' | 'G3', title: string): FidelityGate => ({ id, title, pass: false, checks: [], notApplicable: input.reason });
  return {
    gates: [
      g1,
      na('G2', 'No exploitation: trained policies score alike in simulator and world'),
      na('G3', 'Agreement: the simulator ranks the models as the world does'),
    ],
    pass: g1.pass,
    reference: input.reference,
    worldRankReliability: { sessionLength: NaN, watchTime: NaN },
  };
}
