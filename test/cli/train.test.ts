import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/agents/checkpoint.js';
import { resolveAgentConfig } from '../../src/agents/registry.js';
import { DEFAULT_QUIT_OPTIONS } from '../../src/environment/quit-model.js';
import { runCli } from '../helpers/cli.js';
import { DEFAULT_WORLD_CONFIG } from '../../src/world/world-config.js';
import { LearnedSimulator } from '../../src/simulator/learned-simulator.js';
import { buildDescribedCatalog } from '../../src/environment/world-description.js';
import { tempDir } from '../helpers/paths.js';

const METRICS = [
  'sessionLength',
  'watchTime',
  'ctr',
  'diversity',
  'newFans',
  'deepUaCount',
  'weeklyGiftedUsers',
  'totalRevenue',
  'appUsageTime',
  'weeklyRetention',
];

test('rliv train --agent RLIV-UA --preset smoke builds the default world, trains, checkpoints every epoch; --resume continues bit-for-bit; evaluate reads the checkpoint', async () => {
  const dir = tempDir();
  const straight = join(dir, 'straight');
  const a = await runCli(['train', '--agent', 'RLIV-UA', '--preset', 'smoke', '--out', straight, '--epochs', '3', '--quiet']);
  assert.equal(a.code, 0, a.stderr);
  const s = a.summary!;
  assert.equal(s.agent, 'RLIV-UA');
  assert.equal(s.checkpoint, join(straight, 'checkpoint.ckpt'));
  assert.ok(existsSync(s.checkpoint));
  assert.equal(s.epochs, 3);
  for (const m of METRICS) assert.ok(Number.isFinite(s.metrics[m]), `metric ${m} = ${s.metrics[m]}`);
  assert.ok(s.metrics.sessionLength >= 1, 'every session has at least one request');
  assert.ok(s.metrics.ctr >= 0 && s.metrics.ctr <= 1);
  assert.equal(s.curve.sessionLength.length, 3);
  // The figure is the mean of the last (here all 3) evaluation epochs.
  const training = JSON.parse(readFileSync(s.files.training, 'utf8'));
  const mean = training.reports.reduce((acc: number, r: any) => acc + r.eval.sessionLength, 0) / 3;
  assert.ok(Math.abs(s.metrics.sessionLength - mean) < 1e-9);
  assert.deepEqual(Object.keys(training.reports[2].train.losses).sort(), ['assistance', 'click', 'follow', 'gift', 'total', 'watchTime'].sort());

  // Interrupted after epoch 2, then resumed to 3: the same parameters, optimizer state and environment history.
  const broken = join(dir, 'broken');
  const b1 = await runCli(['train', '--agent', 'RLIV-UA', '--preset', 'smoke', '--out', broken, '--epochs', '2', '--quiet']);
  assert.equal(b1.code, 0, b1.stderr);
  assert.equal(loadCheckpoint(join(broken, 'checkpoint.ckpt')).state.epoch, 2);
  const b2 = await runCli(['train', '--resume', '--out', broken, '--epochs', '3', '--quiet']);
  assert.equal(b2.code, 0, b2.stderr);
  const ca = loadCheckpoint(s.checkpoint);
  const cb = loadCheckpoint(b2.summary!.checkpoint);
  assert.ok(Buffer.from(cb.sections.model!).equals(Buffer.from(ca.sections.model!)), 'resumed parameters differ from the uninterrupted run');
  assert.ok(Buffer.from(cb.sections.env!).equals(Buffer.from(ca.sections.env!)));
  assert.deepEqual(b2.summary!.metrics, s.metrics);

  // config.json (resolved agent config), curves.csv (every epoch, the resumed ones too) and metrics.csv.
  const config = JSON.parse(readFileSync(join(broken, 'config.json'), 'utf8'));
  assert.equal(config.kind, 'rliv-train-config');
  assert.equal(config.agent, 'RLIV-UA');
  assert.equal(config.agentConfig.gamma, (resolveAgentConfig('RLIV-UA', {}) as { gamma: number }).gamma);
  assert.equal(config.environment.kind, 'world');
  assert.deepEqual(Object.keys(config.environment.options.quit).sort(), Object.keys(DEFAULT_QUIT_OPTIONS).sort(), 'the quit model with every default');
  const curveLines = readFileSync(join(broken, 'curves.csv'), 'utf8').trimEnd().split('\n');
  assert.equal(curveLines[0], 'model,seed,epoch,metric,value');
  for (const e of [1, 2, 3])
    assert.ok(
      curveLines.some((l) => l.startsWith(`RLIV-UA,1,${e},world.sessionLength,`)),
      `epoch ${e} in curves.csv`,
    );
  assert.ok(curveLines.some((l) => l.startsWith('RLIV-UA,1,3,loss.click,')));
  const metricLines = readFileSync(join(broken, 'metrics.csv'), 'utf8').trimEnd().split('\n');
  assert.ok(metricLines.includes(`RLIV-UA,1,,world.sessionLength,${b2.summary!.metrics.sessionLength}`));

  // A non-empty --out without --resume is refused and left as it is; --resume with --force is a contradiction.
  const ckptBefore = readFileSync(join(broken, 'checkpoint.ckpt'));
  const fresh = await runCli(['train', '--agent', 'RLIV-UA', '--preset', 'smoke', '--out', broken, '--epochs', '1', '--quiet']);
  assert.equal(fresh.code, 2);
  assert.match(fresh.stderr, /broken is not empty \(checkpoint\.ckpt, .*\); .* pass --resume to continue the run that is there, --force to write over it/);
  assert.ok(readFileSync(join(broken, 'checkpoint.ckpt')).equals(ckptBefore));
  const both = await runCli(['train', '--resume', '--force', '--out', broken, '--quiet']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /pass one of them/);

  const again = await runCli(['train', '--resume', '--out', broken, '--epochs', '3', '--quiet']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already has 3 epochs/);

  const ev = await runCli(['evaluate', '--checkpoint', s.checkpoint, '--preset', 'smoke', '--rounds', '2', '--quiet']);
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal(ev.summary!.agent, 'RLIV-UA');
  assert.equal(ev.summary!.rounds, 2);
  for (const m of METRICS) assert.ok(Number.isFinite(ev.summary!.metrics[m]), `evaluate metric ${m}`);

  // A corrupted checkpoint is refused with a clear error, by evaluate and by --resume.
  const raw = readFileSync(s.checkpoint);
  raw[raw.length >> 1]! ^= 0xff;
  const bad = join(dir, 'bad.ckpt');
  writeFileSync(bad, raw);
  const ebad = await runCli(['evaluate', '--checkpoint', bad, '--quiet']);
  assert.equal(ebad.code, 1);
  assert.match(ebad.stderr, /CheckpointError: .*bad\.ckpt is corrupted \(checksum mismatch\)/);
});

test('rliv train: variants by paper name, --world FILE, --simulator FILE (+ sim-to-real evaluate), clear usage errors', async () => {
  const dir = tempDir();
  const worldFile = join(dir, 'world.json');
  writeFileSync(
    worldFile,
    JSON.stringify({ kind: 'rliv-world', version: 1, catalogSeed: 5, worldSeed: 6, numUsers: 60, numItems: 300, worldConfig: DEFAULT_WORLD_CONFIG }),
  );
  const w = await runCli(['train', '--agent', 'RLIV-UA', '--world', worldFile, '--preset', 'smoke', '--epochs', '1', '--out', join(dir, 'w'), '--quiet']);
  assert.equal(w.code, 0, w.stderr);
  assert.equal(w.summary!.world.users, 60);
  assert.equal(w.summary!.world.items, 300);
  // A learned-simulator file (untrained here: the wiring is under test, not the fit) carries its world.
  const description = {
    kind: 'rliv-world' as const,
    version: 1 as const,
    catalogSeed: 5,
    worldSeed: 6,
    numUsers: 60,
    numItems: 300,
    worldConfig: DEFAULT_WORLD_CONFIG,
  };
  const catalog = await buildDescribedCatalog(description);
  const simFile = join(dir, 'simulator.params');
  new LearnedSimulator(catalog, { embeddingRows: 1 << 12 }).save(simFile, { world: description });
  const sim = await runCli(['train', '--agent', 'RLIV-UA', '--simulator', simFile, '--preset', 'smoke', '--epochs', '1', '--out', join(dir, 'sim'), '--quiet']);
  assert.equal(sim.code, 0, sim.stderr);
  assert.equal(sim.summary!.world.users, 60);
  const simToReal = await runCli(['evaluate', '--checkpoint', sim.summary!.checkpoint, '--env', 'world', '--rounds', '1', '--quiet']);
  assert.equal(simToReal.code, 0, simToReal.stderr);
  assert.equal(simToReal.summary!.env, 'world');
  assert.ok(Number.isFinite(simToReal.summary!.metrics.sessionLength));
  const badWorld = await runCli(['train', '--agent', 'RLIV-UA', '--world', join(dir, 'v'), '--out', join(dir, 'x')]);
  assert.equal(badWorld.code, 1);
  assert.match(badWorld.stderr, /cannot read world description/);

  const v = await runCli(['train', '--agent', 'RLIV-UA', '--variant', 'w/o SL', '--preset', 'smoke', '--epochs', '1', '--out', join(dir, 'v'), '--quiet']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.summary!.agent, 'RLIV-UA(w/o SL)');
  assert.equal(loadCheckpoint(v.summary!.checkpoint).agent, 'RLIV-UA(w/o SL)');

  const unknown = await runCli(['train', '--agent', 'Nope', '--preset', 'smoke', '--out', join(dir, 'x')]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown model "Nope"; known models: .*RLIV-UA/);
  const badVariant = await runCli(['train', '--agent', 'RLIV-UA', '--variant', 'w/o XY', '--out', join(dir, 'x')]);
  assert.equal(badVariant.code, 2);
  assert.match(badVariant.stderr, /unknown model "RLIV-UA\(w\/o XY\)"/);
  const noSim = await runCli(['train', '--agent', 'RLIV-UA', '--env', 'simulator', '--out', join(dir, 'x')]);
  assert.equal(noSim.code, 2);
  assert.match(noSim.stderr, /--env simulator needs --simulator FILE/);
  const noCkpt = await runCli(['train', '--resume', '--out', join(dir, 'empty')]);
  assert.equal(noCkpt.code, 1);
  assert.match(noCkpt.stderr, /cannot read checkpoint/);
});

test('rliv train --agent-config: the overrides reach the agent and its checkpoint (evaluate rebuilds it); a bad file or key fails before any world is built and writes nothing', async () => {
  const dir = tempDir();
  const cfg = join(dir, 'rliv.json');
  writeFileSync(cfg, JSON.stringify({ targetCritics: 'mean', gamma: 0.8 }));
  const out = join(dir, 'run');
  const r = await runCli([
    'train',
    '--agent',
    'RLIV-UA',
    '--variant',
    'w/o SL',
    '--preset',
    'smoke',
    '--out',
    out,
    '--epochs',
    '1',
    '--agent-config',
    cfg,
    '--quiet',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const ckpt = loadCheckpoint(r.summary!.checkpoint);
  assert.equal(ckpt.agent, 'RLIV-UA(w/o SL)');
  assert.deepEqual(ckpt.agentConfig, { batchSize: ckpt.agentConfig!.batchSize, targetCritics: 'mean', gamma: 0.8 });
  const ev = await runCli(['evaluate', '--checkpoint', r.summary!.checkpoint, '--preset', 'smoke', '--rounds', '1', '--quiet']);
  assert.equal(ev.code, 0, ev.stderr);
  const resumed = await runCli(['train', '--resume', '--out', out, '--epochs', '2', '--agent-config', cfg, '--quiet']);
  assert.equal(resumed.code, 2);
  assert.match(resumed.stderr, /--agent-config cannot be combined with --resume/);

  const cases: [string, string, RegExp][] = [
    ['unknown.json', JSON.stringify({ gammma: 0.9 }), /--agent-config .*unknown\.json: .*"gammma"/],
    ['bad-value.json', JSON.stringify({ targetCritics: 'max' }), /bad-value\.json: .*targetCritics/],
    ['variant-field.json', JSON.stringify({ supervised: true }), /variant-field\.json: .*"supervised" is fixed by the variant/],
    ['array.json', '[1, 2]', /array\.json: expected a JSON object of config overrides, got an array/],
    ['broken.json', '{"gamma": ', /broken\.json: .*JSON/],
  ];
  for (const [file, text, message] of cases) {
    const path = join(dir, file);
    writeFileSync(path, text);
    const bad = join(dir, `out-${file}`);
    const b = await runCli(['train', '--agent', 'RLIV-UA', '--variant', 'w/o SL', '--preset', 'smoke', '--out', bad, '--agent-config', path, '--quiet']);
    assert.equal(b.code, 2, `${file}: ${b.stderr}`);
    assert.match(b.stderr, message);
    assert.doesNotMatch(b.stderr, /world|calibrat/i, `${file}: the config is checked before the world is built`);
    assert.equal(existsSync(bad), false, `${file}: no output directory is created`);
  }
});
