/**
 * The benchmark's full RLIV-UA-shaped step (embedding gather -> MlpGroup ->
 * summed Huber -> backward -> scatter -> lazy Adam) at a small size really
 * learns: the loss on its 8 recurring batches falls well below the start.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildFullStep, DEFAULT_NUMERIC_BENCH } from '../../bench/numeric.js';
import { Rng } from '../../src/numeric/rng.js';

test('full step at small scale fits its batches (loss falls by more than half)', () => {
  const options = { ...DEFAULT_NUMERIC_BENCH, batch: 32, rows: 500, dim: 8, heads: 3, hidden: 16 };
  const full = buildFullStep(options, new Rng(8));
  const first: number[] = [];
  for (let i = 0; i < 8; i++) first.push(full.step());
  for (let i = 0; i < 1200; i++) full.step();
  const last: number[] = [];
  for (let i = 0; i < 8; i++) last.push(full.step());
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(first.every(Number.isFinite) && last.every(Number.isFinite));
  assert.ok(mean(last) < 0.5 * mean(first), `loss ${mean(first)} -> ${mean(last)}`);
});
