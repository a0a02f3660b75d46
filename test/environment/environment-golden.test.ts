import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Rng } from '../../src/numeric/rng.js';
import { Environment } from '../../src/environment/environment.js';
import { RandomPolicy } from '../../src/environment/slate-policy.js';
import type { SessionTrace } from '../../src/environment/trace.js';
import { tinyWorld } from './fixtures.js';

/** sha256 of everything a run's traces carry (candidates, f_ua snapshots, summaries, slates, responses, times, gaps). */
function traceDigest(traces: SessionTrace[]): string {
  const h = createHash('sha256');
  const bytes = (a: ArrayBufferView) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  for (const t of traces) {
    h.update(JSON.stringify([t.user, t.sessionIndex, t.day, t.returnGapDays, t.endTimeMs, t.satisfaction, t.requests.length]));
    for (const r of t.requests) {
      h.update(String(r.timeMs));
      for (const a of [r.summary, r.candidates, r.candidatePairCounts, r.slate]) bytes(a);
      for (const a of Object.values(r.responses)) bytes(a as ArrayBufferView);
    }
  }
  return h.digest('hex');
}

// Pins the trajectories of a fixed seed: speed work on the environment, candidate
// generator or pair-count store must not change them. The digest was recorded
// before the per-user pair tables (commit 2bf254b) and must stay equal.
test('a fixed seed reproduces the recorded trajectories exactly', () => {
  const { catalog, responder } = tinyWorld(80, 40, 10);
  const env = new Environment(catalog, responder, { seed: 11, numCandidates: 30 });
  const traces: SessionTrace[] = [];
  env.runDays(12, new RandomPolicy(new Rng(5)), (t) => traces.push(t));
  assert.ok(traces.length > 100);
  assert.equal(traceDigest(traces), '10b5cad02bbb515214f5ffdaf0c5f1f12527d5d235b8791f40e2e521ed61e794');
});
