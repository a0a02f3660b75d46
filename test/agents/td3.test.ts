import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Td3 } from '../../src/agents/td3.js';
import type { Param } from '../../src/numeric/param.js';
import { SESSION_SUMMARY_DIM } from '../../src/environment/trace.js';
import { tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const world = tinyWorld();
const ctx = { catalog: world.catalog, seed: 3 };
const snap = (ps: Param[]) => ps.map((p) => p.value.slice());
const changed = (ps: Param[], before: Float32Array[]) => ps.some((p, i) => p.value.some((v, j) => v !== before[i]![j]));

describe('TD3', () => {
  it('updates the critics every step and the actor and all targets only every policyDelay steps', () => {
    const agent = new Td3(ctx, { batchSize: 32, embeddingRows: 1024, policyDelay: 2 });
    agent.observe(tinySessions(world, 1, 1));
    const params = agent.params();
    const actor = params.filter((p) => p.name.startsWith('TD3.actor.'));
    const targets = params.filter((p) => p.name.includes('Target'));
    const critics = params.filter((p) => /^TD3\.critic[12]\./.test(p.name));
    assert.ok(actor.length > 0 && targets.length > 0 && critics.length > 0);
    let a = snap(actor);
    let t = snap(targets);
    let c = snap(critics);
    const s1 = agent.train(1);
    assert.ok(changed(critics, c), 'critics moved at step 1');
    assert.ok(!changed(actor, a) && !changed(targets, t), 'actor and targets wait for the delayed update');
    assert.ok(Number.isFinite(s1.losses.critic!));
    a = snap(actor);
    t = snap(targets);
    c = snap(critics);
    agent.train(1);
    assert.ok(changed(critics, c) && changed(actor, a) && changed(targets, t), 'step 2: critics, actor and targets all moved');
  });

  it('acts inside [-maxAction, maxAction] and scores by a dot product (linear in the action scale)', () => {
    const agent = new Td3(ctx, { embeddingRows: 1024, maxAction: 0.25 });
    const summary = new Float32Array(SESSION_SUMMARY_DIM).fill(0.2);
    const a = new Float32Array(32);
    agent.act(4, summary, a);
    assert.ok(a.every((v) => Math.abs(v) <= 0.25 && Number.isFinite(v)));
    const big = new Td3(ctx, { embeddingRows: 1024, maxAction: 0.5 });
    const request = { user: 4, summary, candidates: Int32Array.from([1, 5, 9, 40]), candidatePairCounts: new Float32Array(4 * 7) };
    const s1 = new Float32Array(4);
    const s2 = new Float32Array(4);
    agent.score(request, s1);
    big.score(request, s2);
    // same seed, same nets: doubling maxAction doubles a = maxAction * tanh(.), hence every dot product
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(s2[i]! - 2 * s1[i]!) < 1e-6, `candidate ${i}: ${s2[i]} vs 2 x ${s1[i]}`);
  });

  it('validates its config', () => {
    assert.throws(() => new Td3(ctx, { policyDelay: 0 }), /policyDelay/);
    assert.throws(() => new Td3(ctx, { actorLr: -1 }), /actorLr/);
  });
});
