import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineTowerLivs, towerWeightVector } from '../../src/agents/tower-liv.js';
import { TOWER_COUNT } from '../../src/data/interaction-kinds.js';

/** N x 4 LIVs (click, watchTime, follow, gift) from per-tower columns. */
function livs(cols: number[][]): Float32Array {
  const n = cols[0]!.length;
  const out = new Float32Array(n * TOWER_COUNT);
  for (let i = 0; i < n; i++) for (let t = 0; t < TOWER_COUNT; t++) out[i * TOWER_COUNT + t] = cols[t]![i]!;
  return out;
}

test('towerWeightVector: TOWERS order, absent towers weigh 0', () => {
  assert.deepEqual(Array.from(towerWeightVector({ gift: 2, watchTime: 0.5 })), [0, 0.5, 0, 2]);
});

test('combineTowerLivs: weighted sum of towers standardized over the candidates (hand-computed)', () => {
  // watchTime [1, 2, 3]: mean 2, population std sqrt(2/3); gift [0, 0, 3]: mean 1, std sqrt(2).
  const l = livs([
    [9, 9, 9],
    [1, 2, 3],
    [NaN, NaN, NaN],
    [0, 0, 3],
  ]);
  const out = new Float32Array(3);
  assert.equal(combineTowerLivs(l, 3, towerWeightVector({ watchTime: 1, gift: 2 }), out), null);
  const s = Math.sqrt(2 / 3);
  const g = Math.sqrt(2);
  const want = [-1 / s + (2 * -1) / g, 0 + (2 * -1) / g, 1 / s + (2 * 2) / g];
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(out[i]! - want[i]!) < 1e-6, `candidate ${i}: ${out[i]} vs ${want[i]}`);
  // A single tower: its z-score times the weight (the order of the raw LIV).
  combineTowerLivs(l, 3, towerWeightVector({ watchTime: 3 }), out);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(out[i]! - (3 * (i - 1)) / s) < 1e-6);
});

test('combineTowerLivs: a constant tower adds nothing; an untrained (NaN) weighted tower is named', () => {
  const l = livs([
    [5, 5, 5, 5],
    [4, 1, 3, 2],
    [NaN, NaN, NaN, NaN],
    [1, 1, 1, 1],
  ]);
  const out = new Float32Array(4).fill(7);
  assert.equal(combineTowerLivs(l, 4, towerWeightVector({ click: 1, gift: 4 }), out), null);
  assert.deepEqual(Array.from(out), [0, 0, 0, 0]);
  assert.equal(combineTowerLivs(l, 4, towerWeightVector({ watchTime: 1, follow: 1 }), out), 'follow');
  assert.equal(combineTowerLivs(l, 0, towerWeightVector({ follow: 1 }), out), null, 'no candidates: nothing to check');
});
