/**
 * The smoke preset end to end through the CLI: `rliv experiment --preset
 * smoke` writes results.json in the shape of issue 6 with all ten models
 * under their exact names, plus report.html and report.md, and prints the
 * summary line naming the files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveAgentConfig } from '../../src/agents/registry.js';
import { DEFAULT_QUIT_OPTIONS } from '../../src/environment/quit-model.js';
import { readHistoryFile, readInteractionLogFile } from '../../src/environment/interaction-log-file.js';
import { DEFAULT_WORLD_CONFIG } from '../../src/world/world-config.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

const MODELS = ['RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR', 'RLIV-UA', 'RLIV-UA(w/o MT & SL)', 'RLIV-UA(w/o MT)', 'RLIV-UA(w/o SL)', 'RLIV-UA(w/o AL & SL)'];
const METRICS = ['sessionLength', 'watchTime', 'ctr', 'diversity', 'newFans'];

const isNumOrNull = (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x));

test('rliv experiment --preset smoke: results.json shape, all ten models, reports', { timeout: 600_000 }, async () => {
  const out = tempDir('rliv-experiment-');
  const r = await runCli(['experiment', '--preset', 'smoke', '--seeds', '2', '--out', out, '--quiet'], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, `exit code ${r.code}; stderr:\n${r.stderr}`);
  assert.equal(r.stderr, '', '--quiet prints nothing on stderr');
  assert.ok(r.summary, 'final stdout line is the JSON summary');
  assert.equal(r.summary!.files.results, join(out, 'results.json'));

  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(res.preset, 'smoke');
  assert.deepEqual(res.seeds, [1, 2]);
  assert.deepEqual(Object.keys(res.models), MODELS, "exact model names in the paper's order");
  // The instrument shows the simulator's fatigue beside the world's -fatigue log1p(r) (the smoke world has the defaults).
  const fatigue = res.fidelity.instrument.fatigueResponse as Array<{ kind: 'author' | 'tag'; repeats: number; world: number; simulator: number }>;
  assert.deepEqual(
    fatigue.map((p) => `${p.kind} ${p.repeats}`),
    ['author', 'tag'].flatMap((k) => [1, 2, 4, 8, 16].map((r) => `${k} ${r}`)),
  );
  for (const p of fatigue) {
    assert.ok(Math.abs(p.world + DEFAULT_WORLD_CONFIG.fatigue[p.kind] * Math.log1p(p.repeats)) < 1e-12);
    assert.ok(Number.isFinite(p.simulator));
  }
  // The members' calibration in the large: a finite shift for the click of each log source, the mean of the members' own.
  const shifts = res.fidelity.instrument.headShifts as Record<string, number>;
  assert.ok(Number.isFinite(shifts.click) && Number.isFinite(shifts.clickStandard), JSON.stringify(shifts));
  // ... and of each play class's log1p(seconds) mean.
  for (const k of ['playSkim', 'playClick', 'playLongView']) assert.ok(Number.isFinite(shifts[k]), `${k}: ${JSON.stringify(shifts)}`);
  assert.match(res.fidelity.instrument.simulator, /bootstrap over users; every binary head and the play draws of each outcome class recalibrated/);
  // The pair counts the simulator reads, per kind: a log2 bucket and the count it starts at; the follow flag is never above bucket 1.
  const caps = res.fidelity.instrument.pairBucketCap as Record<string, { bucket: number; fromCount: number }>;
  assert.deepEqual(Object.keys(caps), ['click', 'longView', 'like', 'follow', 'comment', 'gift', 'watchTimeSec']);
  for (const c of Object.values(caps)) assert.equal(c.fromCount, c.bucket === 0 ? 0 : 2 ** (c.bucket - 1));
  assert.ok(caps.follow!.bucket <= 1 && caps.click!.bucket >= 1 && caps.click!.bucket < 15, JSON.stringify(caps));
  assert.equal(res.fidelity.instrument.pairBucketMinShare, 0.001);
  const epochs = res.settings.epochs as number;
  for (const name of MODELS) {
    const m = res.models[name];
    for (const metric of METRICS) {
      const s = m[metric];
      assert.equal(typeof s.mean, 'number', `${name}.${metric}.mean`);
      assert.ok(Number.isFinite(s.mean), `${name}.${metric}.mean is finite`);
      assert.ok(s.std >= 0);
      assert.equal(s.ci95.length, 2);
      assert.ok(s.ci95.every(isNumOrNull));
      if (s.std > 0) assert.ok(s.ci95[0] <= s.mean && s.mean <= s.ci95[1], `${name}.${metric} interval brackets the mean`);
      assert.equal(s.values.length, 2);
      // The figure is the mean of the last 10 evaluation epochs of each seed's curve.
      const curves = m.curves[metric] as number[][];
      assert.equal(curves.length, 2, 'one curve per seed');
      curves.forEach((c, i) => {
        assert.equal(c.length, epochs);
        const tail = c.slice(-10);
        const fig = tail.reduce((a, b) => a + b, 0) / tail.length;
        assert.ok(Math.abs(fig - s.values[i]) <= 1e-9 * Math.max(1, Math.abs(fig)), `${name}.${metric} seed ${i}: figure = mean of last 10 epochs`);
      });
      assert.ok(Number.isFinite(res.simToReal[name][metric].mean), `simToReal ${name}.${metric}`);
      // The world's figure is measured the same way: the mean of the last 10 epochs of its own per-epoch curve.
      const worldCurves = m.curves.world![metric] as number[][];
      assert.equal(worldCurves.length, 2);
      worldCurves.forEach((c, i) => {
        assert.equal(c.length, epochs);
        const tail = c.slice(-10);
        const fig = tail.reduce((a, b) => a + b, 0) / tail.length;
        const world = res.simToReal[name][metric].values[i];
        assert.ok(Math.abs(fig - world) <= 1e-9 * Math.max(1, Math.abs(fig)), `${name}.${metric} seed ${i}: world figure = mean of last 10 world epochs`);
      });
    }
    assert.deepEqual(
      m.curves.epoch,
      Array.from({ length: epochs }, (_, e) => e + 1),
    );
    if (name !== 'RLIV-UA') {
      for (const metric of METRICS) {
        const s = res.significance[name][metric];
        assert.ok('diffVsRLIV-UA' in s && 'ci95' in s && 'pValue' in s, `significance ${name}.${metric}`);
        const diff = res.models[name][metric].mean - res.models['RLIV-UA'][metric].mean;
        assert.ok(Math.abs(s['diffVsRLIV-UA'] - diff) < 1e-9 * Math.max(1, Math.abs(diff)));
      }
    }
  }
  assert.equal(res.significance['RLIV-UA'], undefined);
  // The same differences on the world's figures, with their 95 % intervals.
  for (const name of MODELS.filter((m) => m !== 'RLIV-UA')) {
    for (const metric of METRICS) {
      const s = res.significanceWorld[name][metric];
      const diff = res.simToReal[name][metric].mean - res.simToReal['RLIV-UA'][metric].mean;
      assert.ok(Math.abs(s['diffVsRLIV-UA'] - diff) < 1e-9 * Math.max(1, Math.abs(diff)), `world difference ${name}.${metric}`);
      assert.ok(s.ci95.every(isNumOrNull) && (s.ci95[0] === null || s.ci95[0] <= s['diffVsRLIV-UA'] + 1e-12), `world interval ${name}.${metric}`);
    }
  }
  assert.equal(res.significanceWorld['RLIV-UA'], undefined);
  assert.deepEqual(res.tuning, { agentConfig: null }, 'no --agent-config: nothing tuned, and the results say so');
  assert.ok(Array.isArray(res.calibration.rows) && res.calibration.rows.length > 0);
  for (const row of res.calibration.rows) assert.ok(isNumOrNull(row.world) && isNumOrNull(row.simulator), row.quantity);
  assert.ok(res.wallSeconds > 0);
  // Where the time went: every model's parts, wall clock and (Linux) CPU seconds of the job's thread.
  for (const name of MODELS) {
    for (const part of ['collect', 'observe', 'train steps', 'evaluation', 'world evaluation']) {
      const key = `${name}: ${part}`;
      assert.ok(res.phases[key] >= 0 && Number.isFinite(res.phases[key]), `phases["${key}"] = ${res.phases[key]}`);
      if (process.platform === 'linux')
        assert.ok(res.phasesCpu[key] >= 0 && Number.isFinite(res.phasesCpu[key]), `phasesCpu["${key}"] = ${res.phasesCpu[key]}`);
    }
    assert.ok(res.phases[`${name}: train steps`] > 0, `${name} spent time in its gradient steps`);
  }

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  for (const name of MODELS) {
    assert.ok(md.includes(`| ${name} |`) || md.includes(`| **${name}** |`), `report.md lists ${name}`);
  }
  const capRow = `| pair counts the simulator reads: a larger count reads as the highest log2 bucket the logs fill (at least 0.1 % of the training rows) | click ${caps.click!.fromCount}+, `;
  assert.ok(md.includes(capRow), 'report.md names the pair counts the simulator reads');
  assert.match(html, /data-table="table2"/);
  assert.match(html, /data-table="timing"/);
  assert.match(html, /data-chart="curve-sessionLength-0"/);
  assert.match(html, /id="verdict"/);
  assert.match(html, /data-chart="scatter-sessionLength"/);
  assert.match(html, /data-table="significance-world"/);
  assert.match(md, /### Tuning\n\nNo --agent-config: every model ran with its default config; nothing was tuned/);
  assert.ok(existsSync(join(out, 'world.json')) && existsSync(join(out, 'simulator.bin')));

  // config.json: every model's config resolved (defaults filled in), the environment's nested settings, the world.
  const config = JSON.parse(readFileSync(r.summary!.files.config, 'utf8'));
  assert.equal(config.kind, 'rliv-experiment-config');
  assert.deepEqual(Object.keys(config.models), MODELS);
  assert.deepEqual(config.models['RLIV-UA'], JSON.parse(JSON.stringify(resolveAgentConfig('RLIV-UA', { batchSize: res.settings.batchSize }))));
  assert.equal(config.models['RLIV-UA'].gamma, (resolveAgentConfig('RLIV-UA', {}) as { gamma: number }).gamma, 'defaults are recorded, not only overrides');
  assert.equal(config.models.DQN.batchSize, res.settings.batchSize);
  for (const k of ['numCandidates', 'slateSize', 'candidateMix', 'quit', 'returnModel', 'browseMsPerItem', 'sessionHours'])
    assert.ok(k in config.environment, `environment.${k}`);
  assert.equal(config.environment.numCandidates, 30);
  assert.deepEqual(Object.keys(config.environment.quit).sort(), Object.keys(DEFAULT_QUIT_OPTIONS).sort());
  assert.deepEqual(config.world, JSON.parse(readFileSync(join(out, 'world.json'), 'utf8')));
  assert.equal(config.training.epochs, epochs);
  // Every environment starts after the warm-up and the logs: history.bin holds both (the warm-up as pre-log rows, never
  // fitted on); the smoke preset's simulator is a lifelong one, whose f_ua start from the pairs' counters at the logs'
  // start, so its environments start from the world's history. config.json and the settings say so.
  const history = readInteractionLogFile(join(out, 'history.bin'));
  assert.equal(history.count, res.settings.logRows);
  const { preLog } = readHistoryFile(join(out, 'history.bin'));
  assert.ok(preLog && preLog.count > 0, 'the warm-up day is in history.bin');
  assert.equal(res.settings.warmUpDays, 1);
  assert.equal(config.warmUpDays, 1);
  assert.equal(config.simulatorPairHistory, 'lifelong');
  assert.equal(res.settings.simulatorPairHistory, 'lifelong');
  assert.equal(config.environment.history.rows, preLog.count + res.settings.logRows);
  assert.equal(config.environment.history.days, 3, "the smoke preset's warm-up day, then its two days of logs");
  assert.deepEqual(res.settings.history, { days: 3, rows: preLog.count + res.settings.logRows, pairs: config.environment.history.pairs });
  assert.deepEqual(config.worldHistory, res.settings.worldHistory);
  const { what: _what, ...simulatorHistory } = config.environment.history;
  assert.deepEqual(config.worldHistory, simulatorHistory, "the world's environments start from the same history");
  assert.ok(Math.max(...preLog.timeMs.subarray(0, preLog.count)) < Math.min(...history.timeMs.subarray(0, history.count)), 'the warm-up precedes the logs');

  // curves.csv and metrics.csv: long format, the same numbers as results.json.
  const csv = (path: string) => {
    const [header, ...rows] = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.equal(header, 'model,seed,epoch,metric,value');
    return rows.map((line) => {
      const m = /^("(?:[^"]|"")*"|[^,]*),([^,]*),([^,]*),([^,]*),([^,]*)$/.exec(line);
      assert.ok(m, line);
      return {
        model: m[1]!.replace(/^"|"$/g, ''),
        seed: Number(m[2]),
        epoch: m[3] === '' ? null : Number(m[3]),
        metric: m[4]!,
        value: m[5] === '' ? null : Number(m[5]),
      };
    });
  };
  const curves = csv(r.summary!.files.curves);
  // The evaluation's curves (simulator.<metric>), the probe's (probe.<metric>), on which convergence is judged, and the world's.
  assert.equal(res.convergenceCurves, 'probe');
  assert.equal(curves.length, 3 * MODELS.length * 2 * METRICS.length * epochs);
  for (const row of curves) {
    const [kind, metric] = row.metric.split('.') as [string, string];
    const source = kind === 'simulator' ? res.models[row.model].curves : res.models[row.model].curves[kind as 'probe' | 'world'];
    assert.ok(kind === 'probe' || kind === 'simulator' || kind === 'world', row.metric);
    assert.equal(row.value, source[metric][res.seeds.indexOf(row.seed)][row.epoch! - 1], `${row.model} ${row.seed} ${row.epoch} ${row.metric}`);
  }
  const metrics = csv(r.summary!.files.metrics);
  assert.equal(metrics.length, MODELS.length * 2 * METRICS.length * 2);
  for (const row of metrics) {
    const [env, metric] = row.metric.split('.') as [string, string];
    const source = env === 'simulator' ? res.models : res.simToReal;
    assert.equal(row.epoch, null);
    assert.equal(row.value, source[row.model][metric].values[res.seeds.indexOf(row.seed)], `${row.model} ${row.seed} ${row.metric}`);
  }

  // rliv report rebuilds both reports from results.json byte for byte: elsewhere, and in place.
  const html0 = readFileSync(join(out, 'report.html'));
  const md0 = readFileSync(join(out, 'report.md'));
  const elsewhere = join(tempDir('rliv-report-'), 'rebuilt');
  const rebuilt = await runCli(['report', join(out, 'results.json'), '--out', elsewhere, '--quiet']);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.equal(rebuilt.summary!.kind, 'experiment');
  assert.deepEqual(rebuilt.summary!.files, { html: join(elsewhere, 'report.html'), markdown: join(elsewhere, 'report.md') });
  assert.ok(readFileSync(join(elsewhere, 'report.html')).equals(html0), 'report.html rebuilt byte for byte');
  assert.ok(readFileSync(join(elsewhere, 'report.md')).equals(md0), 'report.md rebuilt byte for byte');
  const inPlace = await runCli(['report', join(out, 'results.json'), '--quiet']);
  assert.equal(inPlace.code, 0, inPlace.stderr);
  assert.equal(inPlace.summary!.files.html, join(out, 'report.html'));
  assert.ok(readFileSync(join(out, 'report.html')).equals(html0));
  const busy = await runCli(['report', join(out, 'results.json'), '--out', elsewhere]);
  assert.equal(busy.code, 2, 'another non-empty --out is refused');
  assert.match(busy.stderr, /rebuilt is not empty \(report\.html, report\.md\)/);
  assert.equal((await runCli(['report', join(out, 'results.json'), '--out', elsewhere, '--force', '--quiet'])).code, 0);

  // Rerunning into the same --out is refused (the 10-model results stay), and nothing is touched.
  const resultsBefore = readFileSync(join(out, 'results.json'));
  const again = await runCli(['experiment', '--preset', 'smoke', '--models', 'RankingModel', '--seeds', '1', '--out', out, '--quiet']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /--out .* is not empty \(.*\); refusing to overwrite a previous run\. Choose another --out, or pass --force to write over it/);
  assert.ok(readFileSync(join(out, 'results.json')).equals(resultsBefore), 'results.json untouched');

  // Where a job runs does not matter: in-process (--workers 1), a subset of models gives the same figures.
  const out1 = tempDir('rliv-experiment-w1-');
  const r1 = await runCli(['experiment', '--preset', 'smoke', '--seeds', '2', '--models', 'RLIV-UA,DQN', '--workers', '1', '--out', out1, '--quiet'], {
    timeoutMs: 600_000,
  });
  assert.equal(r1.code, 0, r1.stderr);
  const res1 = JSON.parse(readFileSync(join(out1, 'results.json'), 'utf8'));
  assert.equal(res1.settings.workers, 1);
  for (const name of ['RLIV-UA', 'DQN']) {
    assert.deepEqual(res1.models[name], res.models[name], `${name}: same results in-process and on worker threads`);
    assert.deepEqual(res1.simToReal[name], res.simToReal[name]);
  }
});

test('rliv experiment rejects an unknown model name and changes nothing', async () => {
  const out = join(tempDir('rliv-experiment-bad-'), 'never');
  const r = await runCli(['experiment', '--preset', 'smoke', '--models', 'RLIV-UA,DQN2', '--out', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown model\(s\) "DQN2"/);
  assert.equal(existsSync(out), false);
});

test(
  'rliv experiment --agent-config: overrides reach only their model, in-process and on worker threads; a bad file changes nothing',
  { timeout: 600_000 },
  async () => {
    const dir = tempDir('rliv-experiment-cfg-');
    const cfg = join(dir, 'cfg.json');
    // Ranking by the click tower changes what the greedy evaluation shows even after smoke's 40 gradient steps.
    writeFileSync(cfg, JSON.stringify({ 'RLIV-UA': { scoreWeights: { click: 1 } } }));
    const run = async (name: string, extra: string[]) => {
      const out = join(dir, name);
      const r = await runCli(['experiment', '--preset', 'smoke', '--seeds', '2', '--models', 'RLIV-UA,DQN', '--out', out, '--quiet', ...extra], {
        timeoutMs: 600_000,
      });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    };
    const base = await run('base', ['--workers', '1']);
    const inProcess = await run('cfg-w1', ['--workers', '1', '--agent-config', cfg]);
    const threads = await run('cfg-w2', ['--workers', '2', '--agent-config', cfg]);
    assert.deepEqual(inProcess.settings.agentConfigOverrides, { 'RLIV-UA': { scoreWeights: { click: 1 } } });
    assert.deepEqual(base.settings.agentConfigOverrides, {});
    // Jobs are independent: DQN is untouched, RLIV-UA ranks by its click tower — the same on worker threads.
    assert.deepEqual(inProcess.models.DQN, base.models.DQN);
    assert.notDeepEqual(inProcess.models['RLIV-UA'], base.models['RLIV-UA']);
    assert.deepEqual(threads.models['RLIV-UA'], inProcess.models['RLIV-UA']);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ TD3: { gamma: 0.9 } }));
    const never = join(dir, 'never');
    const r = await runCli(['experiment', '--preset', 'smoke', '--models', 'RLIV-UA,DQN', '--agent-config', bad, '--out', never]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.json: agent config for "TD3", which is not one of the models of this experiment: RLIV-UA, DQN/);
    assert.equal(existsSync(never), false);
  },
);
