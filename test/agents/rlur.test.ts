import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RANKING_HEAD_COUNT } from '../../src/agents/deepfm.js';
import { Rlur, RLUR_SIGNALS, softSlateGrad, softSlateProfile, standardizeColumns } from '../../src/agents/rlur.js';
import { Rng } from '../../src/numeric/rng.js';
import { SESSION_SUMMARY_DIM } from '../../src/environment/trace.js';
import { checkGradient } from '../numeric/gradcheck.js';
import { requestsOf, tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const world = tinyWorld();
const ctx = { catalog: world.catalog, seed: 3 };

describe('RLUR', () => {
  it('standardizes each signal over the request (hand-computed)', () => {
    const x = Float32Array.from([1, 5, 2, 5, 3, 5]); // column 0: 1,2,3; column 1 constant
    standardizeColumns(x, 0, 3, 2);
    const s = Math.sqrt(1.5);
    assert.deepEqual(
      Array.from(x).map((v) => +v.toFixed(5)),
      [-s, 0, 0, 0, s, 0].map((v) => +v.toFixed(5)),
    );
  });

  it('soft slate profile: pi = softmax(beta w.x), p = sum pi x (hand-computed)', () => {
    const x = Float32Array.from([1, 0, 0, 1]); // two candidates, two signals
    const pi = new Float32Array(2);
    const p = new Float32Array(2);
    softSlateProfile(x, 0, 2, 2, Float32Array.from([Math.log(3), 0]), 0, 1, pi, p, 0);
    assert.ok(Math.abs(pi[0]! - 0.75) < 1e-6 && Math.abs(p[0]! - 0.75) < 1e-6 && Math.abs(p[1]! - 0.25) < 1e-6);
  });

  it('soft slate gradient matches finite differences', () => {
    const rng = new Rng(8);
    const n = 7;
    const S = RLUR_SIGNALS;
    const x = Float32Array.from({ length: n * S }, () => rng.normal());
    const w = Float32Array.from({ length: S }, () => rng.normal() * 0.5);
    const g = Float32Array.from({ length: S }, () => rng.normal());
    const pi = new Float32Array(n);
    const p = new Float32Array(S);
    const beta = 2;
    softSlateProfile(x, 0, n, S, w, 0, beta, pi, p, 0);
    const dw = new Float32Array(S);
    softSlateGrad(x, 0, n, S, pi, p, g, 0, beta, dw, 0);
    const pi2 = new Float32Array(n);
    const p2 = new Float32Array(S);
    checkGradient(
      'softSlate',
      w,
      dw,
      () => {
        softSlateProfile(x, 0, n, S, w, 0, beta, pi2, p2, 0);
        let s = 0;
        for (let k = 0; k < S; k++) s += g[k]! * p2[k]!;
        return s;
      },
      { h: 1e-3 },
    );
  });

  it("ranks by the weighted sum of the ranking model's standardized signals, weights inside [-maxAction, maxAction]", () => {
    const agent = new Rlur(ctx, { batchSize: 64, embeddingRows: 2048, maxAction: 0.5 });
    const sessions = tinySessions(world, 2, 1);
    agent.observe(sessions);
    agent.train(20);
    const r = requestsOf(sessions)[3]!;
    const n = r.candidates.length;
    const w = new Float32Array(RLUR_SIGNALS);
    agent.act(r.user, r.summary, w);
    assert.ok(w.every((v) => Math.abs(v) <= 0.5));
    const x = new Float32Array(n * RANKING_HEAD_COUNT);
    agent.rankingModel.predict(r, x);
    standardizeColumns(x, 0, n, RANKING_HEAD_COUNT);
    const out = new Float32Array(n);
    agent.score(r, out);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < RLUR_SIGNALS; k++) s += w[k]! * x[j * RLUR_SIGNALS + k]!;
      assert.ok(Math.abs(out[j]! - s) < 1e-5, `candidate ${j}`);
    }
  });

  it('trains its ranking model, both critics and the RND predictor (losses fall)', () => {
    const agent = new Rlur(ctx, { batchSize: 64, embeddingRows: 2048 });
    agent.observe(tinySessions(world, 3, 1));
    const first = agent.train(30).losses;
    agent.train(150);
    const last = agent.train(30).losses;
    for (const k of ['ranking', 'immediateCritic', 'retentionCritic', 'rnd']) {
      assert.ok(last[k]! < first[k]!, `${k}: ${first[k]} -> ${last[k]}`);
    }
    assert.ok(Number.isFinite(last.actor!));
  });

  it('validates its config', () => {
    assert.throws(() => new Rlur(ctx, { profileTemperature: 0 }), /profileTemperature/);
    assert.throws(() => new Rlur(ctx, { reward: { click: 1, dwell: 1 } }), /unknown config key "reward.dwell"/);
    const s = new Float32Array(SESSION_SUMMARY_DIM);
    assert.throws(
      () =>
        new Rlur(ctx, { embeddingRows: 256 }).score(
          { user: -1, summary: s, candidates: Int32Array.from([1]), candidatePairCounts: new Float32Array(7) },
          new Float32Array(1),
        ),
      /user id -1/,
    );
  });
});
