import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentConfigError } from '../../src/agents/agent-config.js';
import { NonFiniteLossError } from '../../src/agents/agent-checkpoint.js';
import { RANKING_HEAD_COUNT, RankingModel } from '../../src/agents/deepfm.js';
import { countBucket } from '../../src/agents/feature-fields.js';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { SESSION_SUMMARY_DIM } from '../../src/environment/trace.js';
import { checkGradient } from '../numeric/gradcheck.js';
import { requestsOf, tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const world = tinyWorld();
const ctx = { catalog: world.catalog, seed: 5 };
const counts = Float32Array.from([3, 1, 0, 1, 0, 0, 40]);

describe('RankingModel (DeepFM)', () => {
  it('bucketizes counts on a log2 scale', () => {
    assert.deepEqual([0, 0.5, 1, 2, 3, 4, 7, 8, 1e9].map(countBucket), [0, 0, 1, 2, 2, 3, 3, 4, 15]);
  });

  it('FM term equals the brute-force sum of pairwise inner products', () => {
    const m = new RankingModel(ctx, { embeddingDim: 4, hidden: [3], embeddingRows: 97 });
    const params = m.params();
    // Silence every part but the FM term: first-order weights 0, deep output layer 0, FM head weight 1 / bias 0.
    params.find((p) => p.name.endsWith('firstOrder'))!.value.fill(0);
    const deepOut = params.filter((p) => p.name.startsWith('RankingModel.deep.1.'));
    assert.equal(deepOut.length, 2);
    for (const p of deepOut) p.value.fill(0);
    params.find((p) => p.name === 'RankingModel.fmHead.weight')!.value.fill(1);
    params.find((p) => p.name === 'RankingModel.fmHead.bias')!.value.fill(0);
    const user = 7;
    const item = 20;
    m.ensureCapacity(1);
    m.setExample(0, user, item, counts, 0);
    const logits = m.forward(1);
    // rows of the F fields, in the model's field order
    const F = m.fieldCount;
    const rows = new Int32Array(F);
    m.fields.userRows(user, rows, 0, 1);
    m.fields.itemRows(item, rows, m.fields.userFieldCount, 1);
    m.fields.pairRows(counts, 0, rows, m.fields.userFieldCount + m.fields.itemFieldCount, 1);
    const table = params.find((p) => p.name === 'RankingModel.embedding')!.value;
    let brute = 0;
    for (let i = 0; i < F; i++) {
      for (let j = i + 1; j < F; j++) {
        for (let k = 0; k < 4; k++) brute += table[rows[i]! * 4 + k]! * table[rows[j]! * 4 + k]!;
      }
    }
    for (let h = 0; h < RANKING_HEAD_COUNT; h++) assert.ok(Math.abs(logits[h]! - brute) < 1e-5, `head ${h}: ${logits[h]} vs ${brute}`);
  });

  it('backward matches finite differences (embeddings through FM + deep, first order, FM head, deep weights)', () => {
    const m = new RankingModel(ctx, { embeddingDim: 3, hidden: [4], embeddingRows: 53, initScale: 0.5 });
    const rng = new Rng(9);
    const n = 3;
    m.ensureCapacity(n);
    // Examples 0 and 2 share the user (so their user rows are one distinct row each in the deep part's first layer and the FM term).
    for (let b = 0; b < n; b++) m.setExample(b, (b % 2) * 5, 10 + 7 * b, counts, 0);
    const r = Float32Array.from({ length: n * RANKING_HEAD_COUNT }, () => rng.normal());
    const objective = () => {
      const z = m.forward(n);
      let s = 0;
      for (let i = 0; i < n * RANKING_HEAD_COUNT; i++) s += z[i]! * r[i]!;
      return s;
    };
    for (const p of m.params()) p.grad.fill(0);
    objective();
    m.backward(r, n);
    for (const p of m.params()) {
      const touched: number[] = [];
      for (let i = 0; i < p.size && touched.length < 12; i++) if (p.grad[i] !== 0) touched.push(i);
      assert.ok(touched.length > 0, `${p.name} got no gradient`);
      checkGradient(p.name, p.value, p.grad.slice(), objective, { indices: touched, h: 1e-3, rtol: 3e-2, atol: 3e-3 });
    }
  });

  it('its click predictions beat the base rate on held-out exposures (BCE), and it ranks by predicted click', () => {
    const m = new RankingModel(ctx, { batchSize: 128, embeddingRows: 4096 });
    m.observe(tinySessions(world, 4, 1));
    m.train(200);
    let bceModel = 0;
    let clicks = 0;
    let n = 0;
    const held = requestsOf(tinySessions(world, 1, 77));
    const signals = new Float32Array(300 * RANKING_HEAD_COUNT);
    const scores = new Float32Array(300);
    const pairs: { p: number; y: number }[] = [];
    for (const r of held) {
      m.predict(r, signals);
      m.score(r, scores);
      for (let c = 0; c < r.candidates.length; c++) {
        const p = signals[c * RANKING_HEAD_COUNT]!;
        assert.ok(Math.abs(Math.log(p / (1 - p)) - scores[c]!) < 1e-3, 'score = click logit');
      }
      for (let k = 0; k < r.slate.length; k++) pairs.push({ p: signals[r.slate[k]! * RANKING_HEAD_COUNT]!, y: r.responses.click[k]! });
    }
    for (const { y } of pairs) clicks += y;
    const base = clicks / pairs.length;
    let bceBase = 0;
    for (const { p, y } of pairs) {
      bceModel -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
      bceBase -= y * Math.log(base) + (1 - y) * Math.log(1 - base);
      n++;
    }
    assert.ok(bceModel / n < bceBase / n - 0.05, `held-out BCE ${bceModel / n} vs base rate ${bceBase / n}`);
  });

  it('is offline by default (logs of the logging policy only) and online with trainOnCollected', () => {
    assert.equal(new RankingModel(ctx, { embeddingRows: 64 }).learnsOffline, true);
    assert.equal(new RankingModel(ctx, { embeddingRows: 64, trainOnCollected: true }).learnsOffline, false);
  });

  it('rejects bad config with a message naming the key', () => {
    assert.throws(
      () => new RankingModel(ctx, { embedingDim: 8 }),
      (e: Error) => e instanceof AgentConfigError && /unknown config key "embedingDim"/.test(e.message),
    );
    assert.throws(() => new RankingModel(ctx, { lr: 'fast' }), /"lr" must be a finite number/);
    assert.throws(() => new RankingModel(ctx, { hidden: [] }), /"hidden"/);
    assert.throws(() => new RankingModel(ctx, { headWeights: { click: 1, view: 2 } }), /unknown config key "headWeights.view"/);
  });

  it('a NaN loss throws NonFiniteLossError before the optimizer step', () => {
    const m = new RankingModel(ctx, { batchSize: 16, embeddingRows: 256 });
    m.observe(tinySessions(world, 1, 1));
    m.train(2);
    // NaN first-order weights make every logit NaN (a NaN deep weight would be masked by ReLU).
    m.params()
      .find((p) => p.name === 'RankingModel.firstOrder')!
      .value.fill(NaN);
    const snapshot = m.params().map((p) => Buffer.from(p.value.buffer.slice(0)));
    assert.throws(
      () => m.train(1),
      (e: Error) => e instanceof NonFiniteLossError && /loss "click" is NaN/.test(e.message),
    );
    m.params().forEach((p, i) => assert.ok(Buffer.from(p.value.buffer.slice(0)).equals(snapshot[i]!), `${p.name} changed`));
  });

  it('rejects a bad request or bad sessions with a clear error and no change', () => {
    const m = new RankingModel(ctx, { embeddingRows: 256 });
    const ok = {
      user: 1,
      candidates: Int32Array.from([1, 2]),
      candidatePairCounts: new Float32Array(2 * PAIR_COUNT_DIM),
      summary: new Float32Array(SESSION_SUMMARY_DIM),
    };
    assert.throws(() => m.score({ ...ok, candidates: Int32Array.from([1, 999]) }, new Float32Array(2)), /has item id 999, outside the catalog/);
    assert.throws(() => m.score(ok, new Float32Array(1)), /output buffer holds 1/);
    const sessions = tinySessions(world, 1, 3);
    const bad = structuredClone(sessions.slice(0, 2));
    bad[1]!.requests[0]!.responses.playTimeMs[0] = NaN;
    assert.throws(() => m.observe(bad), /playTimeMs NaN/);
    assert.equal(m.replay.size, 0, 'nothing stored from a rejected batch');
  });
});
