/**
 * The gemm floor of `rliv bench numeric`: the full step's flops counted by
 * hand, and the time of the step's own gemm calls alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_NUMERIC_BENCH, fullStepFlops, measureGemmFloor } from '../../bench/numeric.js';
import { Rng } from '../../src/numeric/rng.js';

test('fullStepFlops: 6 x batch x heads x sum of layer sizes, counted by hand', () => {
  // The workload: 12 heads of 96-64-64-1 at batch 1024.
  // Per sample and head: 96*64 + 64*64 + 64*1 = 10,304 multiply-adds; x2 flops x3 (forward, weight grad, input grad).
  assert.equal(fullStepFlops(DEFAULT_NUMERIC_BENCH), 6 * 1024 * 12 * 10_304);
  assert.equal(fullStepFlops(DEFAULT_NUMERIC_BENCH), 759_693_312);
  // A tiny case: 2 samples, 1 head, 1 field of 2 -> 3 -> 3 -> 1: 2*3 + 3*3 + 3*1 = 18 multiply-adds.
  assert.equal(fullStepFlops({ batch: 2, heads: 1, fields: 1, dim: 2, hidden: 3 }), 6 * 2 * 18);
  // Linear in batch and heads.
  assert.equal(fullStepFlops({ ...DEFAULT_NUMERIC_BENCH, batch: 2048 }), 2 * fullStepFlops(DEFAULT_NUMERIC_BENCH));
  assert.equal(fullStepFlops({ ...DEFAULT_NUMERIC_BENCH, heads: 6 }), fullStepFlops(DEFAULT_NUMERIC_BENCH) / 2);
});

test('measureGemmFloor: a finite positive time, and its rate is the gemm flops over that time', () => {
  const o = { ...DEFAULT_NUMERIC_BENCH, batch: 64, repeats: 3 };
  const r = measureGemmFloor(o, new Rng(1), 2);
  assert.ok(Number.isFinite(r.ms) && r.ms > 0, `floor ${r.ms} ms`);
  // 6 x 64 x 12 x (96*64 + 64*64) flops of gemm: the step's flops but the output layer's.
  const gemmFlops = 6 * 64 * 12 * (96 * 64 + 64 * 64);
  assert.equal(gemmFlops, fullStepFlops(o) - 6 * 64 * 12 * 64);
  assert.ok(Math.abs(r.gflops - gemmFlops / r.ms / 1e6) <= 1e-9 * r.gflops);
});
