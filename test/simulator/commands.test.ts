import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandContext } from '../../src/cli/command.js';
import { fitSimulatorCommand } from '../../src/cli/fit-simulator.js';
import { generateCommand } from '../../src/cli/generate.js';
import { openSimulatorFile } from '../../src/simulator/simulator-file.js';
import { tempDir } from '../helpers/paths.js';

const lines: string[] = [];
const ctx: CommandContext = { log: (m) => lines.push(m), quiet: false, seed: 5 };

test('rliv generate (tiny, no calibration) then rliv fit-simulator: files, summaries, loadable simulator', async () => {
  const dir = tempDir('rliv-cmd-');
  const gen = await generateCommand.run(
    { out: join(dir, 'logs'), preset: 'smoke', 'users-count': '120', 'items-count': '600', days: '2', 'no-calibrate': true },
    [],
    ctx,
  );
  const files = gen.files as Record<string, string>;
  for (const f of Object.values(files)) assert.ok(existsSync(f), `${f} written`);
  assert.equal(gen.users, 120);
  assert.equal(gen.items, 600);
  assert.ok((gen.rows as number) > 1000);
  assert.deepEqual(Object.keys(gen.rates as object).sort(), ['click', 'comment', 'follow', 'like', 'long_view', 'play_time_s']);

  const fit = await fitSimulatorCommand.run({ logs: join(dir, 'logs'), out: join(dir, 'sim'), preset: 'smoke', epochs: '1', members: '3' }, [], ctx);
  const simFiles = fit.files as Record<string, string>;
  assert.ok(existsSync(simFiles.simulator!) && existsSync(simFiles.report!));
  const auc = fit.auc as Record<string, number>;
  assert.ok(auc.click! > 0.5 && auc.click! <= 1, `click AUC ${auc.click}`);
  assert.ok((fit.randomAuc as Record<string, number>).click! > 0.5, `random-log click AUC ${JSON.stringify(fit.randomAuc)}`);
  assert.equal(fit.members, 3);
  assert.ok(
    lines.some((l) => l.startsWith('click ')),
    'the AUC table went to the log',
  );
  assert.ok(
    lines.some((l) => l.startsWith('random log held out of the fit')),
    'the random-log table went to the log',
  );
  assert.ok(
    lines.some((l) => /^pessimism lambda \d/.test(l)),
    lines.join('\n'),
  );

  // simulator-report.json is the EnsembleReport: members, lambda and its rule, random-log validation, calibration curves per head.
  const report = JSON.parse(readFileSync(simFiles.report!, 'utf8'));
  assert.equal(report.members, 3);
  assert.equal(report.trainRows.length, 3);
  assert.ok(Math.abs(report.lambda - (fit.lambda as number)) < 1e-4, `lambda ${report.lambda} vs summary ${fit.lambda}`);
  assert.ok(report.lambda >= 0 && /random-log exposures/.test(report.lambdaRule), report.lambdaRule);
  assert.equal(report.randomRows + report.randomTrainRows, gen.randomRows, 'every random-log row is either trained on or held out');
  assert.ok(report.randomRows > 0 && report.randomTrainRows > 0);
  assert.equal(report.clickRandom.rows, report.randomRows);
  // lambda is fitted so the pessimistic mean click on the held-out random log meets its observed rate (or is 0 when the members do not over-predict).
  if (report.lambda > 0) assert.ok(Math.abs(report.clickRandom.predictedPessimistic - report.clickRandom.observed) < 1e-3, JSON.stringify(report.clickRandom));
  else assert.ok(report.clickRandom.predictedMean <= report.clickRandom.observed + 1e-9);
  for (const part of [report.standard, report.random]) {
    for (const [head, h] of Object.entries(part.heads) as Array<
      [string, { reliability: Array<{ predicted: number; observed: number; rows: number }>; rate: number }]
    >) {
      assert.ok(h.reliability.length > 0, `${head} has a calibration curve`);
      const rows = h.reliability.reduce((a, b) => a + b.rows, 0);
      assert.equal(rows, part === report.standard ? report.heldOutRows : report.randomRows, `${head}: the curve's bins cover every held-out row`);
      const observed = h.reliability.reduce((a, b) => a + b.observed * b.rows, 0) / rows;
      assert.ok(Math.abs(observed - h.rate) < 1e-6, `${head}: the bins' observed rates average to the head's rate`);
    }
  }

  // The file is an ensemble with the world embedded: openSimulatorFile rebuilds its catalog and world.
  const opened = await openSimulatorFile(simFiles.simulator!);
  assert.equal(opened.catalog.numItems, 600);
  assert.equal(opened.simulator.members.length, 3);
  assert.equal(opened.simulator.lambda, report.lambda);
  assert.equal(opened.simulator.pairCountView, 'session-start');
  assert.equal(opened.description.worldSeed, JSON.parse(readFileSync(join(dir, 'logs', 'world.json'), 'utf8')).worldSeed);

  // --max-rows: whole users within the cap, said in the log and the summary.
  const rows = (gen.rows as number) + (gen.randomRows as number);
  lines.length = 0;
  const capped = await fitSimulatorCommand.run(
    { logs: join(dir, 'logs'), out: join(dir, 'sim-capped'), preset: 'smoke', epochs: '1', members: '1', 'max-rows': String(Math.floor(rows / 3)) },
    [],
    ctx,
  );
  assert.ok((capped.rows as number) <= rows / 3 && (capped.rows as number) > 0);
  assert.equal(capped.members, 1);
  assert.ok(
    lines.some((l) => /the complete histories of \d+ of 120 users, within --max-rows \d+/.test(l)),
    lines.join('\n'),
  );
});

test('bad input gets clear errors', async () => {
  const dir = tempDir('rliv-cmd-bad-');
  await assert.rejects(fitSimulatorCommand.run({ out: dir, preset: 'smoke' }, [], ctx), /missing required flag --logs/);
  await assert.rejects(fitSimulatorCommand.run({ logs: dir, out: join(dir, 'never'), preset: 'smoke', members: '0' }, [], ctx), /--members must be an integer/);
  await assert.rejects(
    fitSimulatorCommand.run({ logs: dir, out: join(dir, 'never'), preset: 'smoke', members: '33' }, [], ctx),
    /--members must be an integer/,
  );
  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'empty', 'log_standard_x.csv'), 'user_id\n');
  await assert.rejects(
    fitSimulatorCommand.run({ logs: join(dir, 'empty'), out: join(dir, 'never'), preset: 'smoke' }, [], ctx),
    /no world\.json.*--users and --videos/,
  );
  assert.equal(existsSync(join(dir, 'never')), false);
  const bad = join(dir, 'world.json');
  writeFileSync(bad, JSON.stringify({ click: { intercept: 'high' } }));
  await assert.rejects(generateCommand.run({ out: join(dir, 'g'), preset: 'smoke', world: bad, 'no-calibrate': true }, [], ctx), /click\.intercept/);
  writeFileSync(bad, JSON.stringify({ clik: {} }));
  await assert.rejects(generateCommand.run({ out: join(dir, 'g'), preset: 'smoke', world: bad, 'no-calibrate': true }, [], ctx), /unknown field 'clik'/);
  await assert.rejects(generateCommand.run({ out: join(dir, 'g'), preset: 'smoke', days: '0' }, [], ctx), /--days must be an integer/);
});

test('generate and fit-simulator refuse a non-empty --out (naming what is there) unless --force, and change nothing', async () => {
  const dir = tempDir('rliv-cmd-out-');
  const logs = join(dir, 'logs');
  const tiny = { preset: 'smoke', 'users-count': '60', 'items-count': '200', days: '1', 'no-calibrate': true };
  await generateCommand.run({ ...tiny, out: logs }, [], ctx);
  const before = readFileSync(join(logs, 'world.json'));
  const names = readdirSync(logs).sort();
  await assert.rejects(
    generateCommand.run({ ...tiny, out: logs, 'users-count': '70' }, [], ctx),
    (err: Error) =>
      err.name === 'UsageError' &&
      /--out .*logs is not empty \(calibration\.json, .*\); refusing to overwrite a previous run\. Choose another --out, or pass --force to write over it/.test(
        err.message,
      ),
  );
  assert.deepEqual(readdirSync(logs).sort(), names);
  assert.ok(readFileSync(join(logs, 'world.json')).equals(before), 'world.json untouched');
  // --force writes over it: the new world has 70 users.
  const forced = await generateCommand.run({ ...tiny, out: logs, 'users-count': '70', force: true }, [], ctx);
  assert.equal(forced.users, 70);
  assert.equal(JSON.parse(readFileSync(join(logs, 'world.json'), 'utf8')).numUsers, 70);

  const sim = join(dir, 'sim');
  mkdirSync(sim);
  writeFileSync(join(sim, 'notes.txt'), 'mine\n');
  await assert.rejects(fitSimulatorCommand.run({ logs, out: sim, preset: 'smoke', epochs: '1' }, [], ctx), /sim is not empty \(notes\.txt\)/);
  assert.deepEqual(readdirSync(sim), ['notes.txt']);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(fitSimulatorCommand.run({ logs, out: file, preset: 'smoke', epochs: '1' }, [], ctx), /a-file is a file, not a directory/);
});
