import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RlivUaNetwork } from '../../src/agents/rliv-ua-network.js';
import { RlivUaAgent } from '../../src/agents/rliv-ua.js';
import { parseRlivUaConfig, type RlivUaConfig } from '../../src/agents/rliv-ua-config.js';
import { copySample, allocSampleBatch, type SampleBatch } from '../../src/mdp/scri-mdp.js';
import { Rng } from '../../src/numeric/rng.js';
import type { Param } from '../../src/numeric/param.js';
import { familiarityCatalog, familiarityTraces } from './rliv-ua-fixtures.js';

const catalog = familiarityCatalog(12);
const traces = familiarityTraces(catalog, { sessionsPerUser: 2, requestsPerSession: 6, giftRate: 0.5 });

/** A batch of real samples (joiner + ASA) from the familiarity world. */
function sampleBatch(n: number): SampleBatch {
  const agent = new RlivUaAgent({ catalog, seed: 1 }, { embeddingRows: 512, batchSize: n, minReplaySize: 1 });
  agent.observe(traces);
  const batch = allocSampleBatch(n);
  // Spread over the buffer so clicks, watch time and gifts are all present.
  const stride = Math.floor(agent.replay.size / n);
  for (let i = 0; i < n; i++) copySample(agent.replay.storage, i * stride, batch, i);
  batch.count = n;
  return batch;
}

function network(overrides: Partial<RlivUaConfig>): RlivUaNetwork {
  const config = parseRlivUaConfig({ embeddingRows: 512, batchSize: 32, ...overrides });
  return new RlivUaNetwork(catalog, config, new Rng(5));
}

const batch = sampleBatch(32);

function maxAbs(ps: Param[]): number {
  let m = 0;
  for (const p of ps) for (const g of p.grad) m = Math.max(m, Math.abs(g));
  return m;
}

test('the batch has positive rewards in click, watch-time and gift', () => {
  let click = 0,
    watch = 0,
    gift = 0;
  for (let b = 0; b < batch.count; b++) {
    click += batch.rewards[b * 4]!;
    watch += batch.rewards[b * 4 + 1]!;
    gift += batch.giftLabel[b]!;
  }
  assert.ok(click > 0 && watch > 0 && gift > 0, `click ${click}, watch ${watch}, gift ${gift}`);
});

test('stop-gradient: with the flag on, the TD loss sends no gradient into r_hat; with it off, it does', () => {
  const tdOnly = { supervised: false, td: true, assistance: false };
  const on = network({ stopTdGradientAtRewardHead: true });
  on.computeGradients(batch, new Rng(1), tdOnly);
  for (const tower of on.towers) {
    assert.equal(tower.rewardHeadIndex, 0);
    assert.equal(maxAbs(tower.online.headParams(0)), 0, `${tower.tower}: r_hat got TD gradient with the stop on`);
    assert.ok(maxAbs(tower.online.headParams(1)) > 0, `${tower.tower}: critic 1 gets TD gradient`);
    assert.ok(maxAbs(tower.online.headParams(2)) > 0, `${tower.tower}: critic 2 gets TD gradient`);
  }
  // With the stop, r_hat's gradient under the full loss is exactly that of its supervised loss.
  const full = network({ stopTdGradientAtRewardHead: true });
  full.computeGradients(batch, new Rng(1));
  const full0 = full.towers.map((t) => t.online.headParams(0).map((p) => p.grad.slice()));
  full.computeGradients(batch, new Rng(1), { supervised: true, td: false, assistance: false });
  full.towers.forEach((t, ti) =>
    t.online.headParams(0).forEach((p, pi) => assert.deepEqual(p.grad, full0[ti]![pi], `${t.tower} r_hat gradient = supervised gradient`)),
  );

  const off = network({ stopTdGradientAtRewardHead: false });
  off.computeGradients(batch, new Rng(1), tdOnly);
  for (const tower of off.towers) {
    assert.ok(maxAbs(tower.online.headParams(0)) > 0, `${tower.tower}: r_hat gets TD gradient with the stop off`);
  }
});

test('gradients match finite differences of the total loss (stop off: the loss as written)', () => {
  const net = network({ stopTdGradientAtRewardHead: false });
  const lossAt = (): number => net.computeGradients(batch, new Rng(1)).total;
  lossAt();
  const watch = net.towers[1]!;
  assert.equal(watch.tower, 'watchTime');
  const checks: { name: string; param: Param; index: number }[] = [];
  const rhat = watch.online.headParams(0);
  const v1 = watch.online.headParams(1);
  checks.push({ name: 'r_hat last weight', param: rhat[rhat.length - 2]!, index: 3 });
  checks.push({ name: 'r_hat last bias', param: rhat[rhat.length - 1]!, index: 0 });
  checks.push({ name: 'V1 first weight', param: v1[0]!, index: 5 });
  checks.push({ name: 'V1 last weight', param: v1[v1.length - 2]!, index: 7 });
  const assist = net.assistance!.params();
  checks.push({ name: 'assistance first weight', param: assist[0]!, index: 2 });
  checks.push({ name: 'assistance last bias', param: assist[assist.length - 1]!, index: 0 });
  const analytic = checks.map((c) => c.param.grad[c.index]!);
  const eps = 1e-2;
  checks.forEach((c, k) => {
    const v = c.param.value[c.index]!;
    c.param.value[c.index] = v + eps;
    const up = lossAt();
    c.param.value[c.index] = v - eps;
    const down = lossAt();
    c.param.value[c.index] = v;
    const numeric = (up - down) / (2 * eps);
    const a = analytic[k]!;
    assert.ok(Math.abs(a - numeric) <= 0.03 * Math.max(Math.abs(a), Math.abs(numeric)) + 2e-4, `${c.name}: analytic ${a}, finite difference ${numeric}`);
  });
  assert.ok(
    analytic.some((a) => Math.abs(a) > 1e-3),
    'the checked gradients are not all ~0',
  );
});

test('soft update: targets start as copies and move by tau toward the online heads after each step', () => {
  const tau = 0.1;
  const net = network({ tau });
  for (const tower of net.towers) {
    tower.targetParams().forEach((p, i) => assert.deepEqual(p.value, tower.params()[i]!.value, 'hard copy at start'));
  }
  const before = net.towers.map((t) => t.targetParams().map((p) => p.value.slice()));
  net.step(batch, new Rng(1));
  let moved = 0;
  net.towers.forEach((tower, ti) => {
    const online = tower.params();
    tower.targetParams().forEach((p, pi) => {
      const old = before[ti]![pi]!;
      const src = online[pi]!.value;
      for (let j = 0; j < p.value.length; j++) {
        const expected = tau * src[j]! + (1 - tau) * old[j]!;
        assert.ok(Math.abs(p.value[j]! - expected) <= 1e-6 * (1 + Math.abs(expected)), `${p.name}[${j}]: ${p.value[j]} vs ${expected}`);
        if (p.value[j] !== old[j]) moved++;
      }
    });
  });
  assert.ok(moved > 0, 'targets moved');
});

test('w/o SL: the critics output Q directly and their gradients match finite differences', () => {
  const net = network({ supervised: false, assistance: false });
  assert.equal(net.towers[0]!.rewardHeadIndex, -1);
  const lossAt = (): number => net.computeGradients(batch, new Rng(1)).total;
  lossAt();
  const q2 = net.towers[3]!.online.headParams(1); // gift tower, critic 2
  const cases = [
    { p: q2[0]!, i: 11 },
    { p: q2[q2.length - 2]!, i: 4 },
    { p: q2[q2.length - 1]!, i: 0 },
  ];
  const analytic = cases.map((c) => c.p.grad[c.i]!);
  cases.forEach((c, k) => {
    const v = c.p.value[c.i]!;
    c.p.value[c.i] = v + 1e-2;
    const up = lossAt();
    c.p.value[c.i] = v - 1e-2;
    const down = lossAt();
    c.p.value[c.i] = v;
    const numeric = (up - down) / 2e-2;
    assert.ok(
      Math.abs(analytic[k]! - numeric) <= 0.03 * Math.max(Math.abs(analytic[k]!), Math.abs(numeric)) + 2e-4,
      `analytic ${analytic[k]}, finite difference ${numeric}`,
    );
  });
  assert.ok(analytic.some((a) => Math.abs(a) > 1e-3));
});
