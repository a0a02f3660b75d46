/**
 * `rliv tune`: the selection rule on hand-built figures, the candidates
 * (same budget for every model, config 0 the default, distinct, seeded), a
 * small case where the right config is known (a job runner whose validation
 * figure is a known function of the config: runTune must pick its maximum
 * and write it as an --agent-config file), the proof that the held-out users
 * never reach selection (a spy simulator records every user a tuning job
 * runs), and the command end to end feeding `rliv experiment --agent-config`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_EXPLORATION } from '../../src/agents/exploration.js';
import { resolveAgentConfig } from '../../src/agents/registry.js';
import { experimentPreset } from '../../src/experiments/experiment-presets.js';
import { runTuneJob, type ExperimentJob, type JobSetup, type TuneJobResult } from '../../src/experiments/experiment-job.js';
import type { JobRunner } from '../../src/experiments/job-runner.js';
import { modelConfigs, modelExplorations } from '../../src/experiments/model-configs.js';
import { REPORT_METRICS, type ReportMetric } from '../../src/experiments/results.js';
import { splitUsers } from '../../src/experiments/training-loop.js';
import { knobValueText, runTune, selectCandidate } from '../../src/experiments/tune.js';
import { tuningRecord } from '../../src/experiments/tuning-record.js';
import { candidateConfigs, gridPoint, gridSize, MAX_TUNING_BUDGET, TUNABLE_MODELS, TUNING_GRIDS } from '../../src/experiments/tuning-grid.js';
import { Rng } from '../../src/numeric/rng.js';
import { RandomPolicy } from '../../src/environment/slate-policy.js';
import type { ExposureBatch, ResponseBatch, ResponseModel } from '../../src/world/response.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { tinyWorld } from '../helpers/tiny-world.js';

const fig = (watchTime: number) => Object.fromEntries(REPORT_METRICS.map((m) => [m, m === 'watchTime' ? watchTime : 0])) as Record<ReportMetric, number>;

test('selection: the highest mean over seeds wins, not the best single seed; ties and NaN go to the lower index', () => {
  // config 1 has the best seed (9) but config 2 the best mean (6 vs 5).
  assert.equal(
    selectCandidate(
      [
        [fig(4), fig(4)],
        [fig(9), fig(1)],
        [fig(6), fig(6)],
      ],
      'watchTime',
    ).index,
    2,
  );
  assert.deepEqual(
    selectCandidate(
      [
        [fig(4), fig(4)],
        [fig(9), fig(1)],
        [fig(6), fig(6)],
      ],
      'watchTime',
    ).scores,
    [4, 5, 6],
  );
  assert.equal(selectCandidate([[fig(3)], [fig(3)]], 'watchTime').index, 0, 'a tie keeps the default');
  assert.equal(selectCandidate([[fig(NaN)], [fig(1)]], 'watchTime').index, 1);
  assert.equal(selectCandidate([[fig(2)], [fig(NaN)]], 'watchTime').index, 0);
});

test('candidates: the same budget for every model, config 0 its default, the rest distinct grid points that are not the default', () => {
  assert.ok(MAX_TUNING_BUDGET >= 8);
  for (const model of TUNABLE_MODELS) {
    const base = JSON.stringify(resolveAgentConfig(model, { batchSize: 256 }));
    const isDefault = (e: Record<string, unknown>) => {
      const { exploration, ...agent } = e;
      return (
        JSON.stringify(resolveAgentConfig(model, { batchSize: 256, ...agent })) === base &&
        (!exploration || JSON.stringify({ ...DEFAULT_EXPLORATION, ...exploration }) === JSON.stringify(DEFAULT_EXPLORATION))
      );
    };
    const c = candidateConfigs(model, 8, 1, isDefault);
    assert.equal(c.length, 8, model);
    assert.deepEqual(c[0], {});
    assert.equal(new Set(c.map((x) => JSON.stringify(x))).size, 8, `${model}: distinct`);
    for (const x of c.slice(1)) {
      assert.equal(isDefault(x), false, `${model}: ${JSON.stringify(x)} is not the default`);
      modelConfigs([model], 256, { [model]: x }, 'models', true); // every candidate is a valid config
      modelExplorations([model], { [model]: x }, DEFAULT_EXPLORATION);
    }
    assert.deepEqual(candidateConfigs(model, 8, 1, isDefault), c, 'seeded');
    assert.ok(gridSize(TUNING_GRIDS[model]!) >= MAX_TUNING_BUDGET);
  }
  assert.deepEqual(gridPoint(TUNING_GRIDS.DQN!, 0), { criticLr: 3e-4, gamma: 0.8, huberDelta: 1, exploration: { epsilon: 0.1 } });
  assert.throws(() => candidateConfigs('DQN', MAX_TUNING_BUDGET + 1, 1, () => false), /budget must be an integer in \[1, /);
  assert.throws(() => candidateConfigs('DQN2', 2, 1, () => false), /no tuning grid for model "DQN2"/);
});

test(
  'a case where the right config is known: runTune selects the maximum of the validation figure and writes it for --agent-config',
  { timeout: 300_000 },
  async () => {
    // The validation figure of a job is a known function of its config: watch time = 100 - 1000 |criticLr - 0.003| - 10 |gamma - 0.95| (+ seed noise 0.01 x seed).
    const known = (job: Extract<ExperimentJob, { kind: 'tune' }>): number => {
      const c = { criticLr: 1e-3, gamma: 0.9, ...job.agentConfig } as { criticLr: number; gamma: number }; // DQN's and CQL's defaults under the overrides
      return 100 - 1000 * Math.abs(c.criticLr - 0.003) - 10 * Math.abs(c.gamma - 0.95) + 0.01 * job.seed;
    };
    const seen: ExperimentJob[] = [];
    const runner: JobRunner = {
      description: 'a known function of the config',
      async run(_context, jobs, hooks) {
        for (const job of jobs) {
          seen.push(job);
          if (job.kind !== 'tune') throw new Error('only tuning jobs expected');
          const result: TuneJobResult = {
            figure: fig(known(job)),
            curve: { epoch: [1], ...Object.fromEntries(REPORT_METRICS.map((m) => [m, [0]])) } as TuneJobResult['curve'],
            parts: { collect: 0, observe: 0, trainSteps: 0, evaluation: 0, world: 0 },
            cpuParts: null,
          };
          hooks.onDone(job, result);
        }
      },
    };
    const out = tempDir('rliv-tune-known-');
    const preset = experimentPreset('smoke');
    const { results, files } = await runTune({ preset, seeds: [1, 2], budget: 12, models: ['DQN', 'CQL'], outDir: out, jobRunner: runner });
    assert.equal(seen.length, 2 * 12 * 2, 'every model x candidate x seed');
    for (const model of ['DQN', 'CQL']) {
      const m = results.models[model]!;
      const scores = m.candidates.map((c) => c.score);
      const best = scores.indexOf(Math.max(...scores));
      assert.equal(m.selected, best, model);
      // The known function's value of the selected config, recomputed from its overrides.
      const cfg = { criticLr: 1e-3, gamma: 0.9, ...(m.candidates[best]!.overrides as object) } as { criticLr: number; gamma: number };
      assert.ok(Math.abs(scores[best]! - (100 - 1000 * Math.abs(cfg.criticLr - 0.003) - 10 * Math.abs(cfg.gamma - 0.95) + 0.015)) < 1e-9);
    }
    const file = JSON.parse(readFileSync(files.agentConfig, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(file, results.selected);
    assert.deepEqual(Object.keys(file), ['DQN', 'CQL']);
    modelConfigs(['DQN', 'CQL'], preset.train.batchSize, file, 'models', true);
  },
);

test('tuning never runs a held-out user: a spy simulator records every user of a tuning job (training on training users, evaluation on validation users)', () => {
  const world = tinyWorld();
  const users = new Set<number>();
  const spy: ResponseModel = {
    respond(batch: ExposureBatch, rng: Rng, out: ResponseBatch): void {
      for (let i = 0; i < batch.count; i++) users.add(batch.user[i]!);
      world.responder.respond(batch, rng, out);
    },
  };
  const train = {
    ...experimentPreset('smoke').train,
    epochs: 2,
    sessionsPerEpoch: 40,
    evalSessionsPerEpoch: 40,
    stepsPerEpoch: 2,
    batchSize: 16,
    splitSeed: 7,
  };
  const setup: JobSetup = {
    catalog: world.catalog,
    simulator: spy,
    groundTruth: spy,
    environment: { numCandidates: 30, slateSize: 6 },
    loggingPolicy: (rng) => new RandomPolicy(rng),
    train,
    worldRounds: 1,
    agentConfigs: {},
  };
  const split = splitUsers(world.catalog.numUsers, train.heldOutFraction, 7, train.validationFraction);
  assert.ok(split.validation.length > 0 && split.heldOut.length > 0);
  for (const model of ['DQN', 'RLIV-UA', 'CQL']) {
    users.clear();
    const result = runTuneJob(setup, { kind: 'tune', model, seed: 3, config: 0, agentConfig: { batchSize: 16 } }, () => {});
    assert.ok(Number.isFinite(result.figure.watchTime));
    const held = split.heldOut.filter((u) => users.has(u));
    assert.deepEqual(held, [], `${model}: held-out users ${held.join(', ')} were run during tuning`);
    assert.ok(
      split.validation.every((u) => users.has(u)),
      `${model}: the validation users were evaluated`,
    );
  }
  // Different training seeds keep the same held-out users (the split seed is the world's).
  assert.deepEqual(splitUsers(40, 0.25, 7, 0.2).heldOut, splitUsers(40, 0.25, 7, 0).heldOut);
});

test('the tuning record: none, a hand-written file, an rliv tune selection (same split or not), a stale tune-results.json', () => {
  const split = { splitSeed: 1, heldOutFraction: 0.25, validationFraction: 0.2 };
  assert.deepEqual(tuningRecord(undefined, undefined, split), { agentConfig: null });
  const dir = tempDir('rliv-tuning-record-');
  const file = join(dir, 'agent-config.json');
  const selected = { DQN: { criticLr: 0.003 }, CQL: {} };
  writeFileSync(file, JSON.stringify(selected));
  assert.deepEqual(tuningRecord(file, selected, split), { agentConfig: file }, 'no tune-results.json: a hand-written file');
  const tuneResults = {
    kind: 'rliv-tune',
    version: 1,
    preset: 'smoke',
    metric: 'watchTime',
    budget: 3,
    seeds: [1],
    split,
    selected,
    wallSeconds: 12.5,
    command: 'rliv tune --budget 3',
    settings: { dataSource: 'synthetic' },
    models: {
      DQN: {
        candidates: [
          { index: 0, score: 10 },
          { index: 1, score: 12 },
          { index: 2, score: null },
        ],
        selected: 1,
      },
      CQL: {
        candidates: [
          { index: 0, score: 9 },
          { index: 1, score: 8 },
          { index: 2, score: 7 },
        ],
        selected: 0,
      },
    },
  };
  writeFileSync(join(dir, 'tune-results.json'), JSON.stringify(tuneResults));
  const r = tuningRecord(file, selected, split);
  assert.equal(r.tune!.sameSplit, true);
  assert.equal(r.tune!.dataSource, 'synthetic');
  assert.deepEqual(r.tune!.models.DQN, { selected: 1, candidates: 3, score: 12, defaultScore: 10, overrides: { criticLr: 0.003 } });
  assert.deepEqual(r.tune!.models.CQL, { selected: 0, candidates: 3, score: 9, defaultScore: 9, overrides: {} });
  assert.equal(tuningRecord(file, selected, { ...split, splitSeed: 2 }).tune!.sameSplit, false, 'another seed: another split');
  assert.equal(tuningRecord(file, selected, { ...split, validationFraction: 0.1 }).tune!.sameSplit, false);
  // The file was edited after tuning (its content is not the selection): not a tuning result.
  assert.equal(tuningRecord(file, { DQN: { criticLr: 0.01 }, CQL: {} }, split).tune, undefined);
  writeFileSync(join(dir, 'tune-results.json'), '{"kind": "rliv-tune"');
  assert.equal(tuningRecord(file, selected, split).tune, undefined, 'an unreadable tune-results.json');
});

test(
  'rliv tune end to end at smoke scale; its agent-config.json runs in rliv experiment; exploration is refused by rliv ab-test',
  { timeout: 900_000 },
  async () => {
    const out = tempDir('rliv-tune-');
    const r = await runCli(['tune', '--preset', 'smoke', '--budget', '2', '--models', 'DQN,RankingModel', '--out', out, '--force', '--quiet'], {
      timeoutMs: 600_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const tuned = JSON.parse(readFileSync(join(out, 'tune-results.json'), 'utf8'));
    assert.equal(tuned.kind, 'rliv-tune');
    assert.equal(tuned.models.DQN.candidates.length, 2);
    assert.equal(tuned.models.RankingModel.candidates.length, 2);
    assert.match(readFileSync(join(out, 'tune-report.md'), 'utf8'), /## DQN/);
    const exp = tempDir('rliv-tune-exp-');
    const e = await runCli(
      [
        'experiment',
        '--preset',
        'smoke',
        '--seeds',
        '1',
        '--models',
        'DQN,RankingModel',
        '--agent-config',
        join(out, 'agent-config.json'),
        '--out',
        exp,
        '--force',
        '--quiet',
      ],
      { timeoutMs: 600_000 },
    );
    assert.equal(e.code, 0, e.stderr);
    const config = JSON.parse(readFileSync(join(exp, 'config.json'), 'utf8'));
    assert.deepEqual(config.agentConfigOverrides, tuned.selected);
    // results.json records the tuning that selected the configs, and the report shows it.
    const res = JSON.parse(readFileSync(join(exp, 'results.json'), 'utf8'));
    assert.equal(res.tuning.agentConfig, join(out, 'agent-config.json'));
    assert.equal(res.tuning.tune.results, join(out, 'tune-results.json'));
    assert.equal(res.tuning.tune.sameSplit, true, "same --seed: the same users' split");
    assert.equal(res.tuning.tune.budget, 2);
    for (const m of ['DQN', 'RankingModel']) {
      assert.equal(res.tuning.tune.models[m].selected, tuned.models[m].selected);
      assert.equal(res.tuning.tune.models[m].score, tuned.models[m].candidates[tuned.models[m].selected].score);
      assert.equal(res.tuning.tune.models[m].defaultScore, tuned.models[m].candidates[0].score);
    }
    const md = readFileSync(join(exp, 'report.md'), 'utf8');
    assert.match(md, /### Tuning/);
    assert.match(md, /2 candidate configs per model .* on this run's users' split/);
    const bad = await runCli(['ab-test', '--preset', 'smoke', '--agent-config', join(out, 'agent-config.json'), '--out', tempDir('rliv-tune-ab-')]);
    assert.notEqual(bad.code, 0);
  },
);

test("the tune report shows each knob's values: a number, a nested field's value, a whole array", () => {
  assert.equal(knobValueText({ lr: 0.003, embeddingLr: 0.003 }), '0.003');
  assert.equal(knobValueText({ exploration: { epsilon: 0.2 } }), '0.2');
  assert.equal(knobValueText({ targetCritics: 'min' }), '"min"');
  const hidden = TUNING_GRIDS.RankingModel!.find((k) => k.name === 'hidden')!;
  assert.deepEqual(hidden.values.map(knobValueText), ['[64,64]', '[128,128]', '[64]']);
});
