/**
 * The fidelity panel of the experiment report (top of report.html and
 * report.md): the gates G1-G3 with their figures and PASS / FAIL, the
 * reference policies in both environments, and the instrument's own facts
 * (pessimism, random-log check, pair-count response). Tables in the shared
 * ReportTable shape, rendered by both report-html.ts and report-markdown.ts.
 */
import type { FidelityResults, PolicyFigures } from './fidelity.js';
import { fmt } from './findings.js';
import type { ExperimentResults } from './results.js';
import type { ReportTable } from './report-tables.js';
import { randomLogCalibrationTable } from './report-reliability.js';

/** How the instrument table names a head shift (results.json's keys otherwise). */
const HEAD_SHIFT_LABELS: Record<string, string> = {
  click: 'click (random log)',
  clickStandard: 'click (standard log)',
  playSkim: 'play (skim)',
  playClick: 'play (click, no long view)',
  playLongView: 'play (long view)',
};

/** One line: which gates passed, and what that makes of the simulator column. */
export function fidelityVerdict(f: FidelityResults | undefined): string {
  if (!f) return 'No fidelity gates in these results.';
  const state = f.gates.map((g) => `${g.id} ${g.notApplicable ? 'not applicable' : g.pass ? 'PASS' : 'FAIL'}`).join(', ');
  if (f.gates.some((g) => g.notApplicable)) {
    return (
      `Fidelity gates: ${state}. There is no ground truth for these logs, so only G1 can be checked: the simulator against the random log it was not fitted on. ` +
      (f.pass
        ? "It passes; Tables 2 and 3 are the simulator's figures, which no ground truth confirms or refutes here."
        : "It fails: read the simulator's Tables 2 and 3 with that in mind; no ground truth confirms or refutes them here.")
    );
  }
  return f.pass
    ? `Fidelity gates: ${state}. The learned simulator ranks these models as the ground-truth world does and no trained policy games it: its Tables 2 and 3 can be read.`
    : `Fidelity gates: ${state}. Read the simulator column of Tables 2 and 3 with the failed gates in mind; the world column is the ground truth.`;
}

function num(x: unknown): string {
  return typeof x === 'number' && Number.isFinite(x) ? fmt(x, Math.abs(x) >= 100 ? 1 : 4) : 'n/a';
}

/** The gate table, the reference-policy table and the instrument table. */
export function fidelityTables(results: ExperimentResults): ReportTable[] {
  const f = results.fidelity;
  if (!f) return [];
  const gates: ReportTable = {
    id: 'fidelity-gates',
    title: 'Fidelity gates of the offline instrument',
    caption: f.gates.some((g) => g.notApplicable)
      ? "On real logs: G1 calibration (the simulator's click rate on uniformly random slates within 15 % of the random log's own click rate; the calibration curves on the held-out random log are below). G2 no exploitation and G3 agreement compare the simulator with a ground-truth world, which real logs do not have: not applicable. A failed gate does not stop the run."
      : "Every gate is computed on this run: G1 calibration (random slates within 15 %, the logging policy within 10 %), G2 no exploitation (every trained model's session length and CTR within a factor 0.67-1.5 of the world's, at most 5 % of sessions at the request cap), G3 agreement (Spearman >= 0.8 between the simulator's and the world's ranking of the models, no significant world difference reversed). A failed gate does not stop the run.",
    header: ['Gate', 'Check', 'Value', 'Bound', 'Result', 'Detail'],
    rows: f.gates.flatMap((g) =>
      g.notApplicable
        ? [[{ text: g.id }, { text: g.title }, { text: 'n/a' }, { text: '' }, { text: 'NOT APPLICABLE' }, { text: g.notApplicable }]]
        : g.checks.map((c) => [
            { text: `${g.id}` },
            { text: c.name },
            { text: num(c.value) },
            { text: c.bound },
            { text: c.pass ? 'PASS' : 'FAIL', bold: !c.pass },
            { text: c.detail ?? '' },
          ]),
    ),
  };
  const ref = Object.entries(f.reference);
  const cols: Array<[keyof PolicyFigures, string]> = [
    ['click', 'click / exposure'],
    ['longView', 'long view / exposure'],
    ['playTimeS', 'play s / exposure'],
    ['sessionLength', 'session length'],
    ['watchTime', 'watch time (s)'],
    ['ctr', 'CTR'],
    ['capShare', 'at cap'],
  ];
  const withWorld = ref.some(([, r]) => r.world);
  const reference: ReportTable = withWorld
    ? {
        id: 'fidelity-reference',
        title: 'Reference policies: simulator vs world',
        caption:
          "Known behaviours on the held-out panel of the first seed, in the learned simulator and in the ground-truth world: uniformly random slates, the logging policy, a click oracle (greedy on the world's true click probability) and the simulator-greedy policy (greedy on the simulator's own click probability: the strongest exploiter the simulator has).",
        header: ['Policy', ...cols.flatMap(([, label]) => [`${label} (sim)`, `${label} (world)`])],
        rows: ref.map(([name, r]) => [{ text: name }, ...cols.flatMap(([k]) => [{ text: num(r.sim[k]) }, { text: r.world ? num(r.world[k]) : 'n/a' }])]),
      }
    : {
        id: 'fidelity-reference',
        title: 'Reference policies in the simulator',
        caption:
          "Known behaviours on the held-out panel of the first seed, in the learned simulator (there is no world for real logs, and their logging policy is unknown): uniformly random slates and the simulator-greedy policy (greedy on the simulator's own click probability: the strongest exploiter the simulator has).",
        header: ['Policy', ...cols.map(([, label]) => label)],
        rows: ref.map(([name, r]) => [{ text: name }, ...cols.map(([k]) => ({ text: num(r.sim[k]) }))]),
      };
  const ins = (f.instrument ?? {}) as Record<string, unknown>;
  const click = (k: string) =>
    ins[k] as { observed: number; predictedMean: number; predictedPessimistic: number; meanDisagreement: number; rows: number } | undefined;
  const instrumentRows = [
    [{ text: 'simulator' }, { text: String(ins.simulator ?? '') }],
    [{ text: 'pessimism lambda' }, { text: `${num(ins.lambda)} (${String(ins.lambdaRule ?? '')})` }],
    [{ text: `disagreement quantile ${num(ins.disagreementQuantile)} (tau)` }, { text: num(ins.disagreementThreshold) }],
    ...(['clickStandard', 'clickRandom'] as const)
      .filter((k) => click(k))
      .map((k) => {
        const c = click(k)!;
        return [
          { text: k === 'clickStandard' ? 'held-out standard log: click' : 'held-out random log: click' },
          {
            text: `observed ${num(c.observed)}, members' mean ${num(c.predictedMean)}, pessimistic ${num(c.predictedPessimistic)}, mean disagreement ${num(c.meanDisagreement)} (${c.rows} rows)`,
          },
        ];
      }),
    ...(ins.headShifts
      ? [
          [
            {
              text: "calibration in the large: each head's shift on its training rows (mean of the members; logits, and log1p(play seconds) for the play classes)",
            },
            {
              text: Object.entries(ins.headShifts as Record<string, number>)
                .map(([k, v]) => `${HEAD_SHIFT_LABELS[k] ?? k} ${num(v)}`)
                .join(', '),
            },
          ],
        ]
      : []),
    ...(ins.pairBucketCap
      ? [
          [
            {
              text: `pair counts the simulator reads: a larger count reads as the highest log2 bucket the logs fill (at least ${+(Number(ins.pairBucketMinShare) * 100).toPrecision(6)} % of the training rows)`,
            },
            {
              text: Object.entries(ins.pairBucketCap as Record<string, { bucket: number; fromCount: number }>)
                .map(([k, v]) => `${k} ${v.bucket === 0 ? 'none' : `${v.fromCount}+`}`)
                .join(', '),
            },
          ],
        ]
      : []),
    ...((ins.pairCountResponse as Array<{ clicks: number; world: number | null; simulator: number }> | undefined) ?? []).map((p) => [
      { text: `click logit change at n_ua = ${p.clicks} clicks` },
      { text: p.world === null ? `simulator ${num(p.simulator)} (no world)` : `world ${num(p.world)}, simulator ${num(p.simulator)}` },
    ]),
    ...((ins.fatigueResponse as Array<{ kind: string; repeats: number; world: number | null; simulator: number }> | undefined) ?? []).map((p) => [
      { text: `click logit change after ${p.repeats} earlier exposure(s) of the ${p.kind} in the session (fatigue)` },
      { text: p.world === null ? `simulator ${num(p.simulator)} (no world)` : `world ${num(p.world)}, simulator ${num(p.simulator)}` },
    ]),
    ...(withWorld
      ? [
          [
            { text: 'world seed-to-seed rank reliability' },
            { text: `session length ${num(f.worldRankReliability.sessionLength)}, watch time ${num(f.worldRankReliability.watchTime)}` },
          ],
          ...(f.worldRankReliabilityOfMean
            ? [
                [
                  { text: `the same, projected to the mean of the run's seeds (Spearman-Brown): the ceiling noise sets on G3` },
                  { text: `session length ${num(f.worldRankReliabilityOfMean.sessionLength)}, watch time ${num(f.worldRankReliabilityOfMean.watchTime)}` },
                ],
              ]
            : []),
        ]
      : []),
  ];
  const instrument: ReportTable = {
    id: 'fidelity-instrument',
    title: 'The instrument',
    caption:
      "How the learned simulator was built and checked on the logs alone: its pessimism (chosen on the held-out random log), its click model on held-out logs, how its click logit responds to a pair's click count n_ua beside the world's familiarity term (f_ua is read as of the session start, so a policy's own clicks in a session do not feed back into that session), and to an author's or tag's earlier exposures in the session beside the world's fatigue.",
    header: ['Fact', 'Value'],
    rows: instrumentRows,
  };
  const curves = randomLogCalibrationTable(results);
  return [gates, reference, instrument, ...(curves ? [curves] : [])];
}
