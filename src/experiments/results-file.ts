/**
 * Saved results and the reports made from them. `rliv experiment` writes
 * results.json and `rliv ab-test` ab-results.json; the reports are rendered
 * from that saved JSON only, so `rliv report RESULTS.json` (or a library
 * user) rebuilds report.html and report.md (ab-report.html and
 * ab-report.md) byte for byte, without re-running anything.
 *
 * A file is recognised by its shape (an experiment has `modelOrder` and
 * `models`; an A/B test has `tests` and `control`) and checked before
 * anything is rendered: a field of the wrong type is named with its path.
 * The older one-test A/B shape (`arms` at the top) is refused with a message
 * saying to re-run it.
 * The renderers get the file's own object, so additive fields a newer run
 * wrote are kept.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AbTestResults } from './ab-results.js';
import { renderAbHtml, renderAbMarkdown } from './ab-report.js';
import { renderHtmlReport } from './report-html.js';
import { renderMarkdownReport } from './report-markdown.js';
import { REPORT_METRICS, type ExperimentResults } from './results.js';

/** Results read from disk, by kind. */
export type SavedResults = { kind: 'experiment'; results: ExperimentResults } | { kind: 'ab-test'; results: AbTestResults };

/** One report file: its name in the output directory and its text. */
export interface ReportFile {
  /** `report.html`, `report.md`, `ab-report.html` or `ab-report.md`. */
  name: string;
  /** `html` or `markdown`. */
  format: 'html' | 'markdown';
  text: string;
}

/** A results file that cannot be read or does not have the shape of saved results. */
export class ResultsFileError extends Error {
  override name = 'ResultsFileError';
}

// JSON writes NaN as null: every figure may be null.
const num = z.number().nullable();
const summary = z.looseObject({ mean: num, std: num, ci95: z.tuple([num, num]), values: z.array(num).optional() });
const metricSummaries = z.looseObject(Object.fromEntries(REPORT_METRICS.map((m) => [m, summary])));
// Each model's difference to RLIV-UA per metric (the simulator's and, with a ground truth, the world's).
const differences = z.record(z.string(), z.record(z.string(), z.looseObject({ 'diffVsRLIV-UA': num, pValue: num, ci95: z.tuple([num, num]) })));
const experimentSchema = z.looseObject({
  preset: z.string(),
  seeds: z.array(z.number()),
  modelOrder: z.array(z.string()),
  models: z.record(z.string(), metricSummaries.extend({ curves: z.looseObject({ epoch: z.array(z.number()) }) })),
  simToReal: z.record(z.string(), metricSummaries),
  calibration: z.looseObject({ rows: z.array(z.looseObject({ quantity: z.string() })) }),
  significance: differences,
  significanceWorld: differences.optional(),
  wallSeconds: num,
  createdAt: z.string().optional(),
  noGroundTruth: z.string().optional(),
  tuning: z
    .looseObject({
      agentConfig: z.string().nullable(),
      tune: z
        .looseObject({
          metric: z.string(),
          budget: z.number(),
          seeds: z.array(z.number()),
          sameSplit: z.boolean(),
          models: z.record(
            z.string(),
            z.looseObject({ selected: z.number(), candidates: z.number(), score: num, defaultScore: num, overrides: z.record(z.string(), z.unknown()) }),
          ),
        })
        .optional(),
    })
    .optional(),
});
const delta = z.looseObject({ delta: num, ci95: z.tuple([num, num]), pValue: num });
const summaryOfDeltas = z.looseObject({ mean: num, std: num, ci95: z.tuple([num, num]), n: z.number() });
const abArm = z.looseObject({
  model: z.string(),
  ranking: z.enum(['control', 'fused', 'liv-only']),
  label: z.string(),
  users: z.number(),
  means: z.record(z.string(), num),
  totals: z.record(z.string(), num),
  delta: z.record(z.string(), delta).optional(),
  seedDeltas: z.array(z.record(z.string(), delta)).optional(),
  acrossSeeds: z.record(z.string(), summaryOfDeltas).optional(),
  fusionWeights: z.array(num).optional(),
  weightRetention: z.array(z.array(z.looseObject({ weight: z.number(), keptClickRate: num }))).optional(),
});
const abSchema = z.looseObject({
  weeks: z.number(),
  days: z.number(),
  preDays: z.number(),
  seed: z.number(),
  bucketSeeds: z.array(z.number()).min(1),
  preset: z.string(),
  control: z.string(),
  tests: z
    .array(
      z.looseObject({
        test: z.enum(['revenue', 'watchTime']),
        towers: z.record(z.string(), num),
        arms: z.array(abArm).min(1),
        selection: z.looseObject({
          lastRequestMs: z.array(num),
          firstReportedRequestMs: z.array(num),
          reportStartMs: z.number(),
          requestsPerArm: z.array(z.number()),
        }),
      }),
    )
    .min(1),
  giftValue: z.record(
    z.string(),
    z.looseObject({
      grades: z.array(z.looseObject({ grade: z.number(), amountRange: z.tuple([num, num]), pairs: z.number(), meanLiv: num, stdLiv: num })),
      spearman: num,
      giftedPairs: z.number(),
    }),
  ),
  settings: z.record(z.string(), z.unknown()),
  wallSeconds: num,
  notes: z.array(z.string()),
});

function check<T>(schema: z.ZodType<T>, x: unknown, source: string, what: string): void {
  const r = schema.safeParse(x);
  if (r.success) return;
  const issues = r.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  throw new ResultsFileError(`${source} is not a valid ${what}: ${issues}`);
}

/** Recognises and checks parsed results; `source` names them in errors. */
export function parseResults(json: unknown, source: string): SavedResults {
  const o = json as Record<string, unknown> | null;
  if (o !== null && typeof o === 'object' && !Array.isArray(o) && 'modelOrder' in o && 'models' in o) {
    check(experimentSchema, o, source, 'results.json of rliv experiment');
    const r = o as unknown as ExperimentResults;
    // Without a ground truth (real logs, `noGroundTruth`) simToReal is empty by design.
    const withWorld = typeof r.noGroundTruth !== 'string';
    const missing = r.modelOrder.filter((m) => !r.models[m] || (withWorld && !r.simToReal[m]));
    if (missing.length)
      throw new ResultsFileError(
        `${source} is not a valid results.json of rliv experiment: modelOrder names ${missing.map((m) => JSON.stringify(m)).join(', ')} but models or simToReal has no entry for it`,
      );
    return { kind: 'experiment', results: r };
  }
  if (o !== null && typeof o === 'object' && !Array.isArray(o) && 'arms' in o && 'control' in o && !('tests' in o)) {
    throw new ResultsFileError(
      `${source} is an ab-results.json of an older rliv ab-test (one test, LIV-only arms, field "arms"); its reports cannot be rebuilt by this version: re-run rliv ab-test (the arms now sit in tests[].arms)`,
    );
  }
  if (o !== null && typeof o === 'object' && !Array.isArray(o) && 'tests' in o && 'control' in o) {
    check(abSchema, o, source, 'ab-results.json of rliv ab-test');
    return { kind: 'ab-test', results: o as unknown as AbTestResults };
  }
  throw new ResultsFileError(
    `${source} is neither the results.json of rliv experiment (fields modelOrder, models, ...) nor the ab-results.json of rliv ab-test (fields tests, control, ...)`,
  );
}

/** Reads and checks a results file (results.json or ab-results.json). */
export function readResultsFile(path: string): SavedResults {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ResultsFileError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ResultsFileError(`${path} is not JSON: ${(err as Error).message}`);
  }
  return parseResults(json, path);
}

/** The report files of saved results: report.html and report.md of an experiment, ab-report.html and ab-report.md of an A/B test. */
export function renderReports(saved: SavedResults): ReportFile[] {
  if (saved.kind === 'experiment') {
    return [
      { name: 'report.html', format: 'html', text: renderHtmlReport(saved.results) },
      { name: 'report.md', format: 'markdown', text: renderMarkdownReport(saved.results) },
    ];
  }
  return [
    { name: 'ab-report.html', format: 'html', text: renderAbHtml(saved.results) },
    { name: 'ab-report.md', format: 'markdown', text: renderAbMarkdown(saved.results) },
  ];
}

/** The reports of results as they are saved: rendered from the JSON text the run writes (NaN read back as null). */
export function renderSavedReports(saved: SavedResults, json: string): ReportFile[] {
  return renderReports({ kind: saved.kind, results: JSON.parse(json) } as SavedResults);
}
