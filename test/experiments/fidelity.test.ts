import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  computeFidelity,
  gateAgreement,
  gateCalibration,
  gateNoExploitation,
  reversedSignificantPairs,
  worldRankReliability,
  projectedRankReliability,
  type ModelSeedFigures,
  type PolicyFigures,
  type ReferenceFigures,
} from '../../src/experiments/fidelity.js';

function figures(click: number, longView: number, playTimeS: number, sessionLength = 10, capShare = 0): PolicyFigures {
  return { click, longView, playTimeS, sessionLength, watchTime: sessionLength * 60, ctr: click, capShare, sessions: 100 };
}

const goodReference: ReferenceFigures = {
  'uniform random': { sim: figures(0.19, 0.1, 5), world: figures(0.176, 0.09, 5.2) }, // +8 %: inside 15 %
  'logging policy': { sim: figures(0.47, 0.33, 15.2), world: figures(0.46, 0.32, 15.7) },
};

test('G1: inside the bounds passes; a random-slate click 20 % high fails, naming the check', () => {
  const g = gateCalibration(goodReference);
  assert.equal(g.pass, true);
  assert.equal(g.checks.length, 4);
  assert.ok(Math.abs(g.checks[0]!.value - (0.19 / 0.176 - 1)) < 1e-12);
  const bad = gateCalibration({ ...goodReference, 'uniform random': { sim: figures(0.2112, 0.1, 5), world: figures(0.176, 0.09, 5) } });
  assert.equal(bad.pass, false);
  assert.deepEqual(
    bad.checks.filter((c) => !c.pass).map((c) => c.name),
    ['uniform random: click rate'],
  );
  // Play time 11 % low under the logging policy fails too.
  const play = gateCalibration({ ...goodReference, 'logging policy': { sim: figures(0.46, 0.32, 15.7 * 0.89), world: figures(0.46, 0.32, 15.7) } });
  assert.deepEqual(
    play.checks.filter((c) => !c.pass).map((c) => c.name),
    ['logging policy: play time per exposure'],
  );
  // Without the reference policies the gate cannot pass.
  assert.equal(gateCalibration({}).pass, false);
});

function seed(
  simLen: number,
  worldLen: number,
  simWatch: number,
  worldWatch: number,
  simCtr = 0.3,
  worldCtr = 0.3,
  simCap = 0,
  worldCap = 0,
): ModelSeedFigures {
  return {
    sim: { sessionLength: simLen, watchTime: simWatch, ctr: simCtr, capShare: simCap },
    world: { sessionLength: worldLen, watchTime: worldWatch, ctr: worldCtr, capShare: worldCap },
  };
}

test("G2: ratios in [0.67, 1.5] and few capped sessions pass; the old simulator's exploitation (sessions 48 vs 10, CTR 0.85 vs 0.3, half at the cap) fails", () => {
  const ok = { A: [seed(10, 9, 600, 500), seed(12, 10, 700, 600)] };
  assert.equal(gateNoExploitation(['A'], ok).pass, true);
  const exploited = { A: [seed(48, 10, 16000, 800, 0.85, 0.3, 0.5, 0)] };
  const g = gateNoExploitation(['A'], exploited);
  assert.equal(g.pass, false);
  assert.deepEqual(
    g.checks.map((c) => c.pass),
    [false, false, false],
  );
  assert.ok(Math.abs(g.checks[0]!.value - 4.8) < 1e-12);
  // Exactly at the bounds passes; just outside fails.
  assert.equal(gateNoExploitation(['A'], { A: [seed(15, 10, 1, 1, 0.3, 0.2)] }).pass, true);
  assert.equal(gateNoExploitation(['A'], { A: [seed(15.01, 10, 1, 1)] }).pass, false);
  assert.equal(gateNoExploitation(['A'], { A: [seed(10, 10, 1, 1, 0.3, 0.3, 0.06, 0)] }).pass, false);
});

test('G3: Spearman of the rankings, and a significant world difference the simulator reverses', () => {
  const models = ['A', 'B', 'C', 'D'];
  // The simulator ranks as the world does, with a constant offset.
  const same: Record<string, ModelSeedFigures[]> = Object.fromEntries(
    models.map((m, i) => [m, [0, 1, 2].map((s) => seed(10 + i + s * 0.1, 8 + i + s * 0.1, 500 + 50 * i + s, 400 + 50 * i + s))]),
  );
  const g = gateAgreement(models, same);
  assert.equal(g.pass, true);
  assert.equal(g.checks[0]!.value, 1);
  // Reverse the simulator's order of A and D on session length: D is better in the world on every seed (p < 0.05).
  const reversed = structuredClone(same);
  for (const r of reversed.A!) r.sim.sessionLength = 20;
  const pairs = reversedSignificantPairs(models, reversed, 'sessionLength');
  assert.ok(
    pairs.some((p) => p.a === 'A' && p.b === 'D'),
    JSON.stringify(pairs),
  );
  // Six pairs were tested; the reversed pair's Holm-adjusted p is its p times (6 - its rank among the six p-values), at least.
  const ad = pairs.find((p) => p.a === 'A' && p.b === 'D')!;
  assert.equal(ad.family, 6);
  assert.ok(ad.pHolm >= ad.p && ad.pHolm <= Math.min(1, 6 * ad.p) + 1e-12);
  const bad = gateAgreement(models, reversed);
  assert.equal(bad.pass, false);
  assert.match(bad.checks[1]!.detail!, /Corrected for the 6 pairs tested \(Holm/);
  assert.ok(bad.checks[0]!.value < 0.8);
  // Seed-to-seed reliability: identical rankings on every seed = 1.
  assert.equal(worldRankReliability(models, same, 'sessionLength'), 1);
});

test('projectedRankReliability: Spearman-Brown by hand, and its edge cases', () => {
  // r = 0.5 over 5 seeds: 5 * 0.5 / (1 + 4 * 0.5) = 2.5 / 3.
  assert.ok(Math.abs(projectedRankReliability(0.5, 5) - 2.5 / 3) < 1e-12);
  // r = 0.68 over 5 seeds: 3.4 / 3.72.
  assert.ok(Math.abs(projectedRankReliability(0.68, 5) - 3.4 / 3.72) < 1e-12);
  // One seed: unchanged; perfect reliability stays 1.
  assert.equal(projectedRankReliability(0.3, 1), 0.3);
  assert.equal(projectedRankReliability(1, 7), 1);
  // No positive reliability: no ceiling from averaging (kept as is); undefined in, NaN out.
  assert.equal(projectedRankReliability(-0.2, 5), -0.2);
  assert.ok(Number.isNaN(projectedRankReliability(NaN, 5)));
  assert.ok(Number.isNaN(projectedRankReliability(0.5, 0)));
});

test('computeFidelity: all gates and the verdict flag', () => {
  const models = ['A', 'B', 'C'];
  const runs = Object.fromEntries(models.map((m, i) => [m, [0, 1].map((s) => seed(10 + i + s * 0.1, 9 + i + s * 0.1, 500 + 50 * i + s, 450 + 50 * i + s))]));
  const f = computeFidelity({ models, runs, reference: goodReference });
  assert.deepEqual(
    f.gates.map((g) => [g.id, g.pass]),
    [
      ['G1', true],
      ['G2', true],
      ['G3', true],
    ],
  );
  assert.equal(f.pass, true);
  // The noise ceiling of G3: the single-seed reliability projected to the 2 seeds' mean.
  for (const m of ['sessionLength', 'watchTime'] as const)
    assert.equal(f.worldRankReliabilityOfMean![m], projectedRankReliability(f.worldRankReliability[m], 2));
  const failing = computeFidelity({ models, runs: { ...runs, A: [seed(40, 9, 500, 450), seed(41, 9.1, 501, 451)] }, reference: goodReference });
  assert.equal(failing.pass, false);
  assert.equal(failing.gates.find((g) => g.id === 'G2')!.pass, false);
});
