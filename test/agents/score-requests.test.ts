/**
 * Batched scoring (Ranker.scoreRequests): every model scores several
 * requests in one forward. The TypeScript backend is the reference: its gemm
 * computes each row alone, so the batched scores equal the per-request
 * scores bit for bit, and RankerPolicy picks the same slates (same RNG
 * draws) with and without batching. OpenBLAS's sgemm rounds a row's last
 * bit differently by the matrix's shape: there the scores agree to float32
 * rounding. Also: FieldLinear.forwardRows (DQN's target network read at one
 * row per group) equals the selected rows of forward, bit for bit on the
 * TypeScript backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GREEDY, type ExplorationSetting } from '../../src/agents/exploration.js';
import type { Ranker, RankRequest } from '../../src/agents/ranker.js';
import { MAX_SCORE_ROWS, RankerPolicy } from '../../src/agents/ranker-policy.js';
import { createAgent, PAPER_MODEL_ORDER } from '../../src/agents/registry.js';
import { RequestInput } from '../../src/agents/request-input.js';
import { FeatureFields } from '../../src/agents/feature-fields.js';
import { EmbeddingTable } from '../../src/numeric/embedding.js';
import { gemmBackend, nativeAvailable, setGemmBackend, type GemmBackendName } from '../../src/numeric/gemm.js';
import { Mlp } from '../../src/numeric/mlp.js';
import { Rng } from '../../src/numeric/rng.js';
import type { PendingRequest } from '../../src/environment/slate-policy.js';
import { requestsOf, tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const world = tinyWorld();
const sessions = tinySessions(world, 2, 11);
/** Requests of several users, with different candidate counts (the last ones cut short) and pair counts. */
const requests: PendingRequest[] = requestsOf(sessions)
  .filter((_, i) => i % 7 === 0)
  .slice(0, 12)
  .map((r, i) => {
    const n = i % 4 === 3 ? 17 : r.candidates.length;
    return { ...r, candidates: r.candidates.subarray(0, n) };
  });

function backends(): GemmBackendName[] {
  return nativeAvailable() ? ['typescript', 'openblas'] : ['typescript'];
}

function withBackend<T>(backend: GemmBackendName, f: () => T): T {
  const previous = gemmBackend();
  setGemmBackend(backend);
  try {
    return f();
  } finally {
    setGemmBackend(previous);
  }
}

/** A trained agent of every model (small batches, a few steps so the scores are not those of the initial weights). */
function trainedAgents(): Ranker[] {
  return PAPER_MODEL_ORDER.map((name) => {
    const agent = createAgent(name, { catalog: world.catalog, seed: 4 }, { batchSize: 32 });
    agent.observe(sessions);
    agent.train(3);
    return agent;
  });
}

test('scoreRequests = score per request for every model: bit for bit on the TypeScript backend, to float32 rounding on OpenBLAS', () => {
  for (const backend of backends()) {
    withBackend(backend, () => {
      for (const agent of trainedAgents()) {
        assert.equal(typeof agent.scoreRequests, 'function', `${agent.name} scores batches`);
        const total = requests.reduce((s, r) => s + r.candidates.length, 0);
        const batched = new Float32Array(total);
        agent.scoreRequests!(requests, batched);
        let row = 0;
        for (const request of requests) {
          const one = new Float32Array(request.candidates.length);
          agent.score(request, one);
          for (let i = 0; i < one.length; i++, row++) {
            if (backend === 'typescript') assert.equal(batched[row], one[i], `${agent.name} (${backend}) row ${row}`);
            else
              assert.ok(
                Math.abs(batched[row]! - one[i]!) <= 1e-4 * (1 + Math.abs(one[i]!)),
                `${agent.name} (${backend}) row ${row}: ${batched[row]} vs ${one[i]}`,
              );
          }
        }
        assert.ok(
          batched.some((x) => x !== batched[0]),
          `${agent.name}: scores vary`,
        );
        // A bad request anywhere in the batch is refused, naming it.
        const bad = [...requests.slice(0, 2), { ...requests[2]!, candidates: Int32Array.from([0, world.catalog.numItems]) }];
        assert.throws(() => agent.scoreRequests!(bad, new Float32Array(total)), /item|catalog/i, agent.name);
        assert.throws(() => agent.scoreRequests!(requests, new Float32Array(total - 1)), /holds|out/, agent.name);
      }
    });
  }
});

test('RankerPolicy: batched and per-request scoring give the same slates and random flags (TypeScript backend), with exploration', () => {
  withBackend('typescript', () => {
    for (const agent of trainedAgents()) {
      const unbatched: Ranker = {
        name: agent.name,
        towerLiv: agent.towerLiv,
        score: (r, o) => agent.score(r, o),
        observe: () => {},
        train: () => ({ steps: 0, losses: {} }),
        save: () => new Uint8Array(),
        load: () => {},
      };
      for (const setting of [GREEDY, { kind: 'epsilon-greedy', epsilon: 0.3, temperature: 1 } as ExplorationSetting]) {
        const a = new RankerPolicy(agent, new Rng(9), setting);
        const b = new RankerPolicy(unbatched, new Rng(9), setting);
        const sa = a.chooseSlates(requests, 6);
        const sb = b.chooseSlates(requests, 6);
        assert.deepEqual(sa, sb, `${agent.name} ${setting.kind}: slates`);
        assert.deepEqual(a.lastRandomFlags(), b.lastRandomFlags(), `${agent.name}: random flags`);
      }
    }
  });
});

test('RankerPolicy splits a batch at MAX_SCORE_ROWS candidates and scores every request once', () => {
  const calls: number[] = [];
  const agent = createAgent('DQN', { catalog: world.catalog, seed: 1 }, { batchSize: 16 });
  const spy: Ranker = Object.assign(Object.create(Object.getPrototypeOf(agent)), agent, {
    scoreRequests(rs: readonly RankRequest[], out: Float32Array) {
      calls.push(rs.reduce((s, r) => s + r.candidates.length, 0));
      agent.scoreRequests!(rs, out);
    },
  });
  const many = Array.from({ length: Math.ceil((2 * MAX_SCORE_ROWS + 5) / 30) }, (_, i) => requests[i % requests.length]!);
  const total = many.reduce((s, r) => s + r.candidates.length, 0);
  const slates = new RankerPolicy(spy, new Rng(1)).chooseSlates(many, 6);
  assert.equal(slates.length, many.length);
  assert.equal(
    calls.reduce((a, b) => a + b, 0),
    total,
    'every candidate scored once',
  );
  assert.ok(total > MAX_SCORE_ROWS);
  assert.ok(calls.length >= 2 && calls.every((c) => c <= MAX_SCORE_ROWS), `batches ${calls.join(', ')}`);
});

test('RequestInput.forwardRows = the selected rows of forward (bit for bit on the TypeScript backend)', () => {
  for (const backend of backends()) {
    withBackend(backend, () => {
      const rng = new Rng(5);
      const table = new EmbeddingTable({ rows: 512, dim: 8, name: 'fr.embedding', initScale: 0.3 }, rng.fork('t'));
      const fields = new FeatureFields(world.catalog, table);
      const input = new RequestInput(fields, 'state+item');
      const mlp = new Mlp({ sizes: [input.inDim, 16, 16, 1], name: 'fr.q' }, rng.fork('q'));
      const n = 90;
      input.ensureCapacity(n);
      for (let b = 0; b < n; b++) input.set(b, requests[b % 5]!.user, requests[b % 5]!.summary, 0, requests[b % 5]!.candidates[b % 17]!);
      input.prepare(n);
      const all = input.forward(mlp, n).slice(0, n);
      const pick = Int32Array.from([89, 0, 17, 17, 44, 3]);
      const some = input.forwardRows(mlp, n, pick, pick.length).slice(0, pick.length);
      pick.forEach((r, i) => {
        if (backend === 'typescript') assert.equal(some[i], all[r], `row ${r}`);
        else assert.ok(Math.abs(some[i]! - all[r]!) <= 1e-5 * (1 + Math.abs(all[r]!)), `row ${r} (${backend})`);
      });
      assert.throws(() => input.forwardRows(mlp, n, Int32Array.from([n]), 1), /outside the prepared 90 rows/);
    });
  }
});
