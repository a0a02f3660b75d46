/**
 * The progress phases of the experiment's data side count in the units
 * they announce: no phase goes past its total, and the phases that know
 * their length end exactly at it (the fit-simulator bar used to announce
 * the preset's 1 epoch and count to 21; it now counts ensemble members).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildExperimentWorld } from '../../src/experiments/experiment-world.js';
import { experimentPreset } from '../../src/experiments/experiment-presets.js';
import type { ProgressSink } from '../../src/experiments/progress.js';

interface Phase {
  name: string;
  total: number;
  unit: string;
  updates: number[];
  stopped: boolean;
}

test('experiment world: every progress phase stays within its total; fit-simulator, logs and sim-check end at it', { timeout: 300_000 }, async () => {
  const phases: Phase[] = [];
  const sink: ProgressSink = {
    start: (name, total, unit) => {
      phases.push({ name, total, unit, updates: [], stopped: false });
    },
    update: (done) => {
      phases[phases.length - 1]!.updates.push(done);
    },
    stop: () => {
      phases[phases.length - 1]!.stopped = true;
    },
    log: () => {},
  };
  const preset = experimentPreset('smoke');
  await buildExperimentWorld({ preset, worldSeed: 1, progress: sink, timed: async (_n, f) => f() });
  assert.deepEqual(
    phases.map((p) => p.name),
    ['generate', 'calibrate', 'logs', 'fit-simulator', 'sim-check'],
  );
  for (const p of phases) {
    assert.ok(p.stopped, `${p.name} stopped`);
    assert.ok(
      p.updates.every((d) => d >= 1 && d <= p.total),
      `${p.name}: updates ${p.updates.join(',')} within 1..${p.total} ${p.unit}`,
    );
  }
  const fit = phases.find((p) => p.name === 'fit-simulator')!;
  assert.equal(fit.unit, 'members');
  assert.equal(fit.total, Number(preset.simulatorFit.members ?? 5));
  assert.deepEqual(
    fit.updates,
    Array.from({ length: fit.total }, (_, i) => i + 1),
    'one update per fitted member, 1..total',
  );
  for (const name of ['logs', 'sim-check']) {
    const p = phases.find((x) => x.name === name)!;
    assert.equal(p.updates[p.updates.length - 1], p.total, `${name} ends at its total`);
  }
});
