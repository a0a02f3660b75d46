/**
 * `rliv train --resume` is exact for the baselines too (their checkpoints
 * hold their replays, RNGs and counters): RLUR, the baseline with the most
 * state (own replay, the embedded ranking model's replay, recomputed
 * signals), interrupted after epoch 2 and resumed to 3, ends byte-identical
 * to an uninterrupted 3-epoch run (mirrors the RLIV-UA test in train.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/agents/checkpoint.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

test('rliv train --agent RLUR --preset smoke: interrupted after epoch 2 and resumed to 3 equals an uninterrupted 3-epoch run', async () => {
  const dir = tempDir();
  const straight = join(dir, 'straight');
  const a = await runCli(['train', '--agent', 'RLUR', '--preset', 'smoke', '--out', straight, '--epochs', '3', '--quiet']);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.summary!.agent, 'RLUR');

  const broken = join(dir, 'broken');
  const b1 = await runCli(['train', '--agent', 'RLUR', '--preset', 'smoke', '--out', broken, '--epochs', '2', '--quiet']);
  assert.equal(b1.code, 0, b1.stderr);
  assert.equal(loadCheckpoint(join(broken, 'checkpoint.ckpt')).state.epoch, 2);
  const b2 = await runCli(['train', '--resume', '--out', broken, '--epochs', '3', '--quiet']);
  assert.equal(b2.code, 0, b2.stderr);

  const ca = loadCheckpoint(a.summary!.checkpoint);
  const cb = loadCheckpoint(b2.summary!.checkpoint);
  assert.equal(cb.state.epoch, 3);
  assert.ok(
    Buffer.from(cb.sections.model!).equals(Buffer.from(ca.sections.model!)),
    'resumed RLUR (parameters, optimizers, RNGs, replays) differs from the uninterrupted run',
  );
  assert.ok(Buffer.from(cb.sections.env!).equals(Buffer.from(ca.sections.env!)));
  assert.deepEqual(b2.summary!.metrics, a.summary!.metrics);
  assert.deepEqual(b2.summary!.curve, a.summary!.curve);
});
