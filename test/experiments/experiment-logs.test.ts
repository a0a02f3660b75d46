/**
 * `rliv experiment --logs DIR` end to end at smoke scale, on KuaiRand-format
 * logs that `rliv generate --preset smoke` writes over the real KuaiRand-Pure
 * feature tables (../shared/data/kuairand-pure, never copied into the
 * repository). The directory is laid out as a KuaiRand release: the two
 * logs, the user table and the basic video table, and nothing of the world
 * that wrote them (no world.json): the run must treat them as real logs.
 *
 * To keep the test at smoke scale, the users are the first 200 rows of the
 * real user table (a copy of those rows in the test's temporary directory;
 * all 27,285 users take minutes to log); the videos are the real table,
 * linked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readKuaiRandLog } from '../../src/data/kuairand-reader.js';
import { KUAIRAND_REQUIRED_FILES } from '../../src/data/kuairand-directory.js';
import { LOG_COLUMNS } from '../../src/data/kuairand-schema.js';
import { runCli } from '../helpers/cli.js';
import { HAS_KUAIRAND_PURE, USER_FEATURES_PURE, VIDEO_FEATURES_PURE, tempDir } from '../helpers/paths.js';

const skip = !HAS_KUAIRAND_PURE && 'KuaiRand-Pure tables not found';
const USERS = 200;
const MODELS = ['RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR', 'RLIV-UA', 'RLIV-UA(w/o MT & SL)', 'RLIV-UA(w/o MT)', 'RLIV-UA(w/o SL)', 'RLIV-UA(w/o AL & SL)'];
const METRICS = ['sessionLength', 'watchTime', 'ctr', 'diversity', 'newFans'];

interface Fixture {
  /** The KuaiRand-layout directory: log_standard_rliv.csv, log_random_rliv.csv, user_features_pure.csv, video_features_basic_pure.csv. */
  kr: string;
  /** rliv generate's own output (with its world.json). */
  gen: string;
  generated: Record<string, any>;
}

let fixture: Promise<Fixture> | undefined;

/** Generates the logs once for the whole file. */
function kuaiRandDir(): Promise<Fixture> {
  fixture ??= (async () => {
    const root = tempDir('rliv-logs-');
    const kr = join(root, 'kr');
    const gen = join(root, 'gen');
    mkdirSync(kr);
    const lines = readFileSync(USER_FEATURES_PURE, 'utf8').split('\n');
    writeFileSync(join(kr, 'user_features_pure.csv'), lines.slice(0, USERS + 1).join('\n') + '\n');
    symlinkSync(VIDEO_FEATURES_PURE, join(kr, 'video_features_basic_pure.csv'));
    const r = await runCli(
      [
        'generate',
        '--preset',
        'smoke',
        '--users',
        join(kr, 'user_features_pure.csv'),
        '--videos',
        join(kr, 'video_features_basic_pure.csv'),
        '--out',
        gen,
        '--quiet',
      ],
      { timeoutMs: 900_000 },
    );
    assert.equal(r.code, 0, `generate failed:\n${r.stderr}`);
    for (const f of ['log_standard_rliv.csv', 'log_random_rliv.csv']) copyFileSync(join(gen, f), join(kr, f));
    return { kr, gen, generated: r.summary! };
  })();
  return fixture;
}

/** Clicks and rows of a log file, read independently of the experiment. */
async function clickRate(path: string): Promise<{ rows: number; clicks: number; allRand: boolean }> {
  let rows = 0,
    clicks = 0,
    allRand = true;
  for await (const b of readKuaiRandLog(path)) {
    for (let r = 0; r < b.count; r++) {
      rows++;
      clicks += b.isClick[r]!;
      if (b.isRand[r] !== 1) allRand = false;
    }
  }
  return { rows, clicks, allRand };
}

test(
  "rliv generate over the real tables writes log_random like KuaiRand's: 19 columns, is_rand = 1 on every row, click rate near 0.176",
  { skip, timeout: 900_000 },
  async () => {
    const { gen, generated } = await kuaiRandDir();
    assert.equal(generated.users, USERS);
    assert.equal(generated.items, 7583, 'the real video table');
    const path = join(gen, 'log_random_rliv.csv');
    const header = readFileSync(path, 'utf8').split('\n', 1)[0]!;
    assert.equal(header.split(',').length, 19);
    assert.equal(header, LOG_COLUMNS.join(','));
    const random = await clickRate(path);
    assert.equal(random.rows, generated.randomRows);
    assert.ok(random.rows > 3000, `random log rows ${random.rows}`);
    assert.ok(random.allRand, 'is_rand = 1 on every row of the random log');
    // The world is calibrated on KuaiRand-Pure's random-log click rate (0.176); smoke scale leaves a wide band.
    const rate = random.clicks / random.rows;
    assert.ok(rate > 0.08 && rate < 0.3, `random-log click rate ${rate}`);
    // ... and it is far below the standard log's (KuaiRand: 0.46), which is what the random log is for.
    const standard = await clickRate(join(gen, 'log_standard_rliv.csv'));
    assert.ok(standard.clicks / standard.rows > 1.5 * rate, `standard ${standard.clicks / standard.rows} vs random ${rate}`);
    assert.ok(!standard.allRand);
  },
);

let mainRun: { out: string; results: any } | undefined;

test(
  'rliv experiment --logs DIR: all ten models trained and evaluated in the simulator fitted on the logs; no world columns; G1 against the random log, G2/G3 not applicable',
  { skip, timeout: 900_000 },
  async () => {
    const { kr, generated } = await kuaiRandDir();
    const out = tempDir('rliv-logs-exp-');
    const r = await runCli(['experiment', '--preset', 'smoke', '--seeds', '2', '--logs', kr, '--out', out, '--quiet'], { timeoutMs: 900_000 });
    assert.equal(r.code, 0, `exit code ${r.code}; stderr:\n${r.stderr}`);
    assert.equal(r.stderr, '');
    const s = r.summary!;
    assert.equal(s.groundTruth, false);
    assert.equal(s.logs, kr);
    assert.deepEqual(Object.keys(s.fidelity), ['G1', 'G2', 'G3']);
    assert.equal(s.fidelity.G2, 'not applicable');
    assert.equal(s.fidelity.G3, 'not applicable');
    assert.equal(s.files.world, undefined, 'no world.json: there is no world');
    assert.deepEqual(readdirSync(out).sort(), [
      'config.json',
      'curves.csv',
      'history.bin',
      'metrics.csv',
      'report.html',
      'report.md',
      'results.json',
      'simulator.bin',
    ]);

    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    mainRun = { out, results: res };
    assert.deepEqual(Object.keys(res.models), MODELS);
    for (const name of MODELS) {
      for (const metric of METRICS) assert.ok(Number.isFinite(res.models[name][metric].mean), `${name}.${metric}`);
      for (const seedRun of res.perSeed[name]) assert.equal(seedRun.real, undefined, `${name}: no world figures`);
    }
    assert.deepEqual(res.simToReal, {});
    assert.equal(res.significanceWorld, undefined, 'no world differences without a world');
    for (const name of MODELS.filter((m) => m !== 'RLIV-UA'))
      assert.ok(Number.isFinite(res.significance[name].watchTime['diffVsRLIV-UA']), `${name}: simulator difference`);
    assert.match(res.noGroundTruth, /real KuaiRand logs: no ground-truth world exists/);
    // The catalog is the directory's tables, the logs all of the generated rows (far below the smoke cap).
    assert.equal(res.settings.users, USERS);
    assert.equal(res.settings.items, 7583);
    assert.equal(res.settings.logRows, generated.rows + generated.randomRows);
    assert.equal(res.settings.randomLogRows, generated.randomRows);
    assert.match(String(res.settings.worldEvaluation), /^none/);

    // G1: the simulator's click rate on uniformly random slates against the random log's own, computed here from the file.
    const random = await clickRate(join(kr, 'log_random_rliv.csv'));
    const f = res.fidelity;
    assert.deepEqual(
      f.gates.map((g: any) => g.id),
      ['G1', 'G2', 'G3'],
    );
    const g1 = f.gates[0];
    assert.equal(g1.checks.length, 1);
    const simClick = f.reference['uniform random'].sim.click;
    assert.ok(
      Math.abs(g1.checks[0].value - (simClick / (random.clicks / random.rows) - 1)) < 1e-9,
      `${g1.checks[0].value} vs ${simClick} / ${random.clicks / random.rows} - 1`,
    );
    assert.equal(g1.pass, Math.abs(g1.checks[0].value) <= 0.15);
    assert.equal(s.fidelity.G1, g1.pass ? 'PASS' : 'FAIL');
    assert.equal(f.pass, g1.pass);
    for (const g of f.gates.slice(1)) {
      assert.equal(g.pass, false);
      assert.match(g.notApplicable, /no ground truth/);
    }
    // Reference policies that need no world, and no logging policy (unknown for real logs); none has world figures.
    assert.deepEqual(Object.keys(f.reference), ['uniform random', 'simulator-greedy']);
    for (const ref of Object.values(f.reference) as any[]) assert.equal(ref.world, undefined);
    // The per-head calibration curves on the held-out random log.
    for (const head of ['click', 'longView', 'like']) {
      const h = f.instrument.randomLogHeads[head];
      assert.ok(h.reliability.length > 0, `${head} curve`);
      assert.equal(
        h.reliability.reduce((a: number, b: any) => a + b.rows, 0),
        f.instrument.clickRandom.rows,
      );
    }
    assert.ok(f.instrument.lambda >= 0);
    for (const p of f.instrument.pairCountResponse) assert.equal(p.world, null);
    assert.equal(f.instrument.fatigueResponse.length, 10, 'author and tag, five repeat counts each');
    for (const p of f.instrument.fatigueResponse) assert.ok(p.world === null && Number.isFinite(p.simulator));
    // Calibration: the logs vs the simulator on held-out rows.
    assert.equal(res.calibration.worldLabel, 'Logs');
    for (const row of res.calibration.rows) assert.ok(Number.isFinite(row.world) && Number.isFinite(row.simulator), row.quantity);

    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.equal(config.world, null);
    assert.equal(config.logs.userFeatures, join(kr, 'user_features_pure.csv'));
    assert.ok(!readFileSync(join(out, 'metrics.csv'), 'utf8').includes(',world.'), 'metrics.csv has no world rows');

    const md = readFileSync(join(out, 'report.md'), 'utf8');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.ok(md.includes('### No ground-truth columns'), 'report.md says why there are no world columns');
    assert.match(md, /Fidelity gates: G1 (PASS|FAIL), G2 not applicable, G3 not applicable\./);
    assert.ok(md.includes('| G2 | No exploitation') && md.includes('NOT APPLICABLE'));
    assert.ok(md.includes('### Calibration curves on the held-out random log'));
    for (const name of MODELS) assert.ok(md.includes(`| ${name} |`) || md.includes(`| **${name}** |`), `report.md lists ${name}`);
    assert.match(html, /<section id="no-world">/);
    assert.match(html, /data-table="table2"/);
    for (const id of ['table2-world', 'table3-world', 'sim-to-real', 'significance-world']) assert.ok(!html.includes(`data-table="${id}"`), `no ${id} table`);

    // rliv report rebuilds both reports from results.json, byte for byte.
    const rebuilt = tempDir('rliv-logs-report-');
    const rep = await runCli(['report', join(out, 'results.json'), '--out', rebuilt, '--quiet']);
    assert.equal(rep.code, 0, rep.stderr);
    assert.equal(readFileSync(join(rebuilt, 'report.md'), 'utf8'), md);
    assert.equal(readFileSync(join(rebuilt, 'report.html'), 'utf8'), html);
  },
);

test(
  '--logs on one thread gives the same figures as on worker threads (workers rebuild the catalog and behaviour policy from the source)',
  { skip, timeout: 900_000 },
  async () => {
    const { kr } = await kuaiRandDir();
    assert.ok(mainRun, "needs the previous test's run");
    const out = tempDir('rliv-logs-exp1-');
    const models = ['CQL', 'RLIV-UA'];
    const r = await runCli(
      ['experiment', '--preset', 'smoke', '--seeds', '2', '--logs', kr, '--models', models.join(','), '--workers', '1', '--out', out, '--quiet'],
      { timeoutMs: 900_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    for (const m of models) assert.deepEqual(res.perSeed[m], mainRun.results.perSeed[m], `${m}: same figures`);
    assert.deepEqual(res.fidelity.gates[0], mainRun.results.fidelity.gates[0], 'same G1');
  },
);

test(
  'rliv tune --logs DIR: tunes in the simulator fitted on the real logs (no world), selects on validation users; its agent-config.json runs in rliv experiment --logs',
  { skip, timeout: 900_000 },
  async () => {
    const { kr } = await kuaiRandDir();
    const out = tempDir('rliv-logs-tune-');
    const r = await runCli(
      ['tune', '--preset', 'smoke', '--logs', kr, '--budget', '2', '--models', 'DQN,RLIV-UA', '--epochs', '3', '--out', out, '--force', '--quiet'],
      { timeoutMs: 900_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.summary!.files.world, undefined, 'no world.json: there is no world');
    assert.deepEqual(readdirSync(out).sort(), ['agent-config.json', 'history.bin', 'simulator.bin', 'tune-report.md', 'tune-results.json']);
    const tuned = JSON.parse(readFileSync(join(out, 'tune-results.json'), 'utf8'));
    assert.equal(tuned.settings.groundTruth, false);
    assert.equal(tuned.settings.users, USERS);
    assert.equal(tuned.settings.logs.userFeatures, join(kr, 'user_features_pure.csv'));
    for (const m of ['DQN', 'RLIV-UA']) {
      const c = tuned.models[m].candidates;
      assert.equal(c.length, 2);
      for (const x of c) assert.ok(Number.isFinite(x.score), `${m} candidate ${x.index}: validation score`);
      const best = c[0].score >= c[1].score ? 0 : 1;
      assert.equal(tuned.models[m].selected, best, `${m}: the higher validation score wins`);
    }
    const agentConfig = JSON.parse(readFileSync(join(out, 'agent-config.json'), 'utf8'));
    assert.deepEqual(agentConfig, tuned.selected);
    const exp = tempDir('rliv-logs-tune-exp-');
    const e = await runCli(
      [
        'experiment',
        '--preset',
        'smoke',
        '--seeds',
        '1',
        '--epochs',
        '3',
        '--logs',
        kr,
        '--models',
        'DQN,RLIV-UA',
        '--agent-config',
        join(out, 'agent-config.json'),
        '--out',
        exp,
        '--quiet',
      ],
      { timeoutMs: 900_000 },
    );
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(exp, 'config.json'), 'utf8')).agentConfigOverrides, tuned.selected);
    // The same flag rules as rliv experiment, before any work.
    const bad = await runCli(['tune', '--preset', 'smoke', '--logs', kr, '--world', join(out, 'x.json'), '--out', join(out, 'never')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--logs .* cannot be combined with --world/);
    assert.equal(existsSync(join(out, 'never')), false);
  },
);

test('an incomplete KuaiRand directory (each required file missing in turn) fails before any work, naming the file', { skip, timeout: 300_000 }, async () => {
  const { kr } = await kuaiRandDir();
  const files = readdirSync(kr);
  for (const required of KUAIRAND_REQUIRED_FILES) {
    const dir = tempDir('rliv-logs-missing-');
    for (const f of files) if (!required.pattern.test(f)) symlinkSync(join(kr, f), join(dir, f));
    const out = join(dir, 'out');
    const r = await runCli(['experiment', '--preset', 'smoke', '--logs', dir, '--out', out]);
    assert.equal(r.code, 2, `${required.name}: exit code ${r.code}\n${r.stderr}`);
    assert.ok(r.stderr.includes(`is not a complete KuaiRand directory: missing ${required.name} (`), r.stderr);
    assert.match(r.stderr, /must contain log_standard_\*\.csv/);
    assert.equal(existsSync(out), false, 'nothing written');
    assert.ok(!r.stderr.includes('catalog:'), 'no work started');
  }
  // --logs excludes a world; --max-rows needs --logs.
  const out = join(tempDir('rliv-logs-flags-'), 'out');
  let r = await runCli(['experiment', '--preset', 'smoke', '--logs', kr, '--users', USER_FEATURES_PURE, '--out', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--logs .* cannot be combined with --users/);
  r = await runCli(['experiment', '--preset', 'smoke', '--max-rows', '1000', '--out', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--max-rows applies to --logs only/);
  assert.equal(existsSync(out), false);
  for (const cmd of ['experiment', 'tune']) {
    r = await runCli([cmd, '--preset', 'smoke', '--simulator-pair-history', 'forever', '--out', out]);
    assert.equal(r.code, 2, `${cmd}: exit code ${r.code}`);
    assert.match(r.stderr, /--simulator-pair-history forever: choose lifelong or logs/);
    assert.equal(existsSync(out), false);
  }

  // Tables of another sample than the logs: no row maps, and the error says so.
  const other = tempDir('rliv-logs-other-');
  for (const f of files) if (f !== 'user_features_pure.csv') symlinkSync(join(kr, f), join(other, f));
  const lines = readFileSync(USER_FEATURES_PURE, 'utf8').split('\n');
  writeFileSync(join(other, 'user_features_pure.csv'), [lines[0], ...lines.slice(5001, 5101)].join('\n') + '\n');
  r = await runCli(['experiment', '--preset', 'smoke', '--logs', other, '--out', join(other, 'out')]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /KuaiRandLogsError: no row of the logs in .* names a user of .*user_features_pure\.csv and a video of .*: the feature tables must be those of the same KuaiRand release as the logs/,
  );
});
