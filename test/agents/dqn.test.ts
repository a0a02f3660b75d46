import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentCheckpointError } from '../../src/agents/agent-checkpoint.js';
import { createCql } from '../../src/agents/cql.js';
import { argmaxPerGroup, createDqn, doubleDqnTargets } from '../../src/agents/dqn.js';
import type { Ranker } from '../../src/agents/ranker.js';
import type { RequestRecord, SessionTrace } from '../../src/environment/trace.js';
import { requestsOf, tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const world = tinyWorld();
const ctx = { catalog: world.catalog, seed: 3 };

/** Mean score of the exposed items and mean immediate reward over every slate position of the sessions. */
function meanSlateQ(agent: Ranker, sessions: SessionTrace[], reward: (r: RequestRecord, k: number) => number): { q: number; reward: number } {
  let q = 0;
  let sum = 0;
  let n = 0;
  const out = new Float32Array(300);
  for (const r of requestsOf(sessions)) {
    agent.score(r, out);
    for (let k = 0; k < r.slate.length; k++) {
      q += out[r.slate[k]!]!;
      sum += reward(r, k);
      n++;
    }
  }
  return { q: q / n, reward: sum / n };
}

describe('DQN (double DQN, request-level)', () => {
  it('the online net picks the next item, the target net values it (hand-computed)', () => {
    // group 0: rows 0..2, group 1: rows 3..4, group 2: terminal (session end)
    const qOnline = Float32Array.from([1, 3, 2, 5, 4]);
    const qTarget = Float32Array.from([10, 20, 30, 40, 50]);
    const start = Int32Array.from([0, 3, 5]);
    const count = Int32Array.from([3, 2, 0]);
    const best = new Int32Array(3);
    argmaxPerGroup(qOnline, start, count, 3, best);
    assert.deepEqual(Array.from(best), [1, 3, -1]);
    const y = new Float32Array(3);
    doubleDqnTargets(qTarget, best, count, Float32Array.from([1, 0.5, 2]), 0.9, 3, y);
    // 1 + 0.9 * 20 (not the target net's own max 30), 0.5 + 0.9 * 40, terminal: reward only
    assert.deepEqual(Array.from(y), [Math.fround(19), Math.fround(36.5), 2]);
  });

  it('with gamma = 0, Q(s, exposed item) regresses to the immediate reward (the click rate here)', () => {
    const agent = createDqn(ctx, { gamma: 0, batchSize: 128, embeddingRows: 4096, reward: { click: 1, watchLog1p: 0, follow: 0, like: 0 } });
    const sessions = tinySessions(world, 4, 1);
    agent.observe(sessions);
    agent.train(300);
    const { q, reward: clickRate } = meanSlateQ(agent, sessions, (r, k) => r.responses.click[k]!);
    assert.ok(Math.abs(q - clickRate) < 0.06, `mean Q ${q} vs click rate ${clickRate}`);
  });

  it('values continuation: with gamma 0.9 the mean Q exceeds the mean immediate reward', () => {
    const agent = createDqn(ctx, { batchSize: 128, embeddingRows: 4096 });
    const sessions = tinySessions(world, 4, 1);
    agent.observe(sessions);
    const stats = agent.train(300);
    assert.ok(Number.isFinite(stats.losses.td!) && stats.losses.conservative === undefined);
    const { q, reward } = meanSlateQ(agent, sessions, (r, k) => r.responses.click[k]! + 0.25 * Math.log1p(r.responses.playTimeMs[k]! / 1000));
    assert.ok(q > 1.3 * reward, `mean Q ${q} vs mean reward ${reward}`);
  });

  it('is an online agent and validates its config', () => {
    assert.equal(createDqn(ctx, { embeddingRows: 64 }).learnsOffline, false);
    assert.throws(() => createDqn(ctx, { maxCandidates: 4, maxSlate: 6 }), /maxCandidates/);
    assert.throws(() => createDqn(ctx, { gamma: 1.5 }), /"gamma" must be in \[0, 1\]/);
  });

  it('refuses bytes of another agent or another config, changing nothing', () => {
    const small = { embeddingRows: 512 };
    const source = createDqn(ctx, { ...small, gamma: 0.5 });
    const target = createDqn(ctx, small);
    const request = requestsOf(tinySessions(world, 1, 4))[0]!;
    const before = new Float32Array(request.candidates.length);
    target.score(request, before);
    assert.throws(
      () => target.load(source.save()),
      (e: Error) => e instanceof AgentCheckpointError && /config/.test(e.message),
    );
    assert.throws(() => target.load(createCql(ctx, small).save()), /holds agent "CQL", not "DQN"|the file has param/);
    const after = new Float32Array(request.candidates.length);
    target.score(request, after);
    assert.deepEqual(after, before);
  });
});
