import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conservativePenalty, createCql } from '../../src/agents/cql.js';
import { createDqn } from '../../src/agents/dqn.js';
import type { Ranker } from '../../src/agents/ranker.js';
import { Rng } from '../../src/numeric/rng.js';
import { checkGradient } from '../numeric/gradcheck.js';
import { requestsOf, tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const world = tinyWorld();
const ctx = { catalog: world.catalog, seed: 3 };

describe('CQL', () => {
  it('penalty = logsumexp over the candidates - Q(logged) (hand-computed)', () => {
    const q = Float32Array.from([0, Math.log(3)]);
    const dQ = new Float32Array(2);
    const p = conservativePenalty(q, Int32Array.from([0]), Int32Array.from([2]), Int32Array.from([0]), 1, 2, dQ);
    assert.ok(Math.abs(p - Math.log(4)) < 1e-6);
    // d(alpha * penalty)/dQ = alpha * (softmax - onehot(logged)) = 2 * ([0.25, 0.75] - [1, 0])
    assert.ok(Math.abs(dQ[0]! - -1.5) < 1e-6 && Math.abs(dQ[1]! - 1.5) < 1e-6);
  });

  it('penalty gradient matches finite differences', () => {
    const rng = new Rng(4);
    const q = Float32Array.from({ length: 9 }, () => rng.normal());
    const start = Int32Array.from([0, 4]);
    const count = Int32Array.from([4, 5]);
    const logged = Int32Array.from([2, 6]);
    const dQ = new Float32Array(9);
    conservativePenalty(q, start, count, logged, 2, 1.5, dQ);
    const scratch = new Float32Array(9);
    checkGradient('cql', q, dQ, () => 1.5 * conservativePenalty(q, start, count, logged, 2, 1.5, scratch), { h: 1e-3 });
  });

  it('is offline and keeps Q of unlogged candidates lower than DQN does', () => {
    const cfg = { batchSize: 128, embeddingRows: 4096 };
    const cql = createCql(ctx, cfg);
    const dqn = createDqn(ctx, cfg);
    assert.equal(cql.learnsOffline, true);
    const sessions = tinySessions(world, 4, 1);
    const gap = (agent: Ranker) => {
      agent.observe(sessions);
      const stats = agent.train(200);
      assert.ok(Object.values(stats.losses).every(Number.isFinite));
      // mean over requests of logsumexp(Q over candidates) - mean Q(slate)
      let total = 0;
      const requests = requestsOf(sessions);
      const out = new Float32Array(300);
      for (const r of requests) {
        const n = r.candidates.length;
        agent.score(r, out);
        let mx = -Infinity;
        for (let i = 0; i < n; i++) mx = Math.max(mx, out[i]!);
        let z = 0;
        for (let i = 0; i < n; i++) z += Math.exp(out[i]! - mx);
        let logged = 0;
        for (let k = 0; k < r.slate.length; k++) logged += out[r.slate[k]!]! / r.slate.length;
        total += mx + Math.log(z) - logged;
      }
      return total / requests.length;
    };
    const gCql = gap(cql);
    const gDqn = gap(dqn);
    assert.ok(gCql < gDqn, `CQL gap ${gCql} should be below DQN's ${gDqn}`);
  });

  it('validates cqlAlpha', () => {
    assert.throws(() => createCql(ctx, { cqlAlpha: -1 }), /cqlAlpha/);
  });
});
