/**
 * `rliv report RESULTS.json [--out DIR] [--force]`: rebuilds the reports of
 * saved results without re-running anything: report.html and report.md
 * from the results.json of `rliv experiment`, ab-report.html and
 * ab-report.md from the ab-results.json of `rliv ab-test`. The run wrote its
 * reports from the same JSON with the same renderers, so the rebuilt files
 * are identical byte for byte (src/experiments/results-file.ts).
 *
 * Without --out the reports go beside RESULTS.json, replacing the ones
 * there (they are made from it, so nothing is lost); another --out must be
 * empty unless --force.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readResultsFile, renderReports, ResultsFileError } from '../experiments/results-file.js';
import { UsageError, type CommandSpec } from './command.js';
import { checkOutDir, forceOption } from './out-dir.js';

export const reportCommand: CommandSpec = {
  name: 'report',
  summary: 'rebuild report.html and report.md from a saved results.json (rliv experiment) or ab-results.json (rliv ab-test)',
  description:
    'Reads RESULTS.json, checks its shape, and writes the reports the run wrote, byte for byte: report.html + report.md for an\n' +
    'experiment, ab-report.html + ab-report.md for an A/B test. Default --out: the directory of RESULTS.json.',
  positionals: 'RESULTS.json',
  options: {
    out: {
      type: 'string',
      description: 'directory to write the reports into (default: beside RESULTS.json; another directory must be empty unless --force)',
      valueName: 'DIR',
    },
    force: forceOption(),
  },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1)
      throw new UsageError(
        `expected one RESULTS.json (the results.json of rliv experiment or the ab-results.json of rliv ab-test), got ${positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ')}`,
      );
    const path = resolve(positionals[0]!);
    const home = dirname(path);
    const out = typeof values.out === 'string' ? resolve(values.out) : home;
    if (out !== home) checkOutDir(out, { force: values.force === true });
    let saved;
    try {
      saved = readResultsFile(path);
    } catch (err) {
      if (err instanceof ResultsFileError) throw new UsageError(err.message);
      throw err;
    }
    const reports = renderReports(saved);
    mkdirSync(out, { recursive: true });
    const files: Record<string, string> = {};
    for (const r of reports) {
      const file = join(out, r.name);
      writeFileSync(file, r.text);
      files[r.format] = file;
    }
    ctx.log(`${saved.kind === 'experiment' ? 'experiment' : 'A/B test'} results ${path} -> ${Object.values(files).join(', ')}`);
    return { command: 'report', kind: saved.kind, results: path, files };
  },
};
