/**
 * The tuned agent configs shipped as the quick preset's defaults (issue 15
 * item 2): `rliv experiment` without `--agent-config` reads
 * configs/quick/agent-config.json, `--agent-config untuned` reads nothing,
 * a file given wins; the shipped file is a valid config for every model of
 * the preset, written by `rliv tune` (its tune-results.json lies beside it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { experimentAgentConfigPath } from '../../src/cli/experiment.js';
import { readPerModelConfigFile } from '../../src/cli/agent-config-file.js';
import { experimentPreset, presetTunedAgentConfigPath } from '../../src/experiments/experiment-presets.js';
import { tempDir } from '../helpers/paths.js';

const quick = experimentPreset('quick');

test('the quick preset ships tuned configs for every model; smoke and paper ship none', () => {
  const path = presetTunedAgentConfigPath(quick);
  assert.ok(path && path.endsWith(join('configs', 'quick', 'agent-config.json')), `path ${path}`);
  assert.ok(existsSync(path), `${path} exists`);
  const file = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(file).sort(), [...quick.models].sort());
  // Valid for every model (the agents' own resolvers accept every key and value).
  const overrides = readPerModelConfigFile(path, quick.models, quick.train.batchSize, 'models of this experiment', quick.train.exploration);
  assert.deepEqual(overrides, file);
  // Written by rliv tune on this preset: its results lie beside it and name the preset and every model.
  const tune = JSON.parse(readFileSync(join(dirname(path), 'tune-results.json'), 'utf8')) as {
    preset?: string;
    models?: Record<string, unknown>;
    settings?: Record<string, unknown>;
  };
  assert.equal(tune.preset, 'quick');
  // ... on the schedule the experiment runs: configs tuned on another schedule are not shipped.
  for (const key of ['epochs', 'stepsPerEpoch', 'batchSize', 'sessionsPerEpoch', 'evalSessionsPerEpoch'] as const)
    assert.equal(tune.settings?.[key], quick.train[key], `tune-results.json settings.${key}`);
  for (const m of quick.models) assert.ok(tune.models && m in tune.models, `tune-results.json has ${m}`);
  assert.equal(presetTunedAgentConfigPath(experimentPreset('smoke')), undefined);
  assert.equal(presetTunedAgentConfigPath(experimentPreset('paper')), undefined);
});

test('--agent-config: absent = the preset\'s tuned file, "untuned" = none, a path = that path', () => {
  assert.equal(experimentAgentConfigPath(undefined, quick), presetTunedAgentConfigPath(quick));
  assert.equal(experimentAgentConfigPath('untuned', quick), undefined);
  assert.equal(experimentAgentConfigPath('mine.json', quick), 'mine.json');
  assert.equal(experimentAgentConfigPath(undefined, experimentPreset('smoke')), undefined);
});

test('a --models subset takes its own entries of the shipped file; a file the user gives is checked whole', () => {
  const dir = tempDir('rliv-tuned-');
  const path = join(dir, 'agent-config.json');
  writeFileSync(path, JSON.stringify({ DQN: { criticLr: 0.001 }, TD3: { gamma: 0.9 } }));
  assert.deepEqual(readPerModelConfigFile(path, ['DQN'], 256, 'models of this experiment', undefined, true), { DQN: { criticLr: 0.001 } });
  assert.throws(() => readPerModelConfigFile(path, ['DQN'], 256, 'models of this experiment'), /TD3/);
});
