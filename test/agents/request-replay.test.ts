import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestReplay, RESP_CLICK, RESP_DIM, RESP_WATCH_SEC } from '../../src/agents/request-replay.js';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { Rng } from '../../src/numeric/rng.js';
import { tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const world = tinyWorld();

describe('RequestReplay (request-level transitions of the baselines)', () => {
  const sessions = tinySessions(world, 1, 2).slice(0, 6);
  const total = sessions.reduce((s, t) => s + t.requests.length, 0);

  it('stores the slate first, then random other candidates, with their pair counts and responses', () => {
    const rp = new RequestReplay({ capacity: 1000, maxCandidates: 10, maxSlate: 6 });
    rp.push(sessions, new Rng(1), world.catalog.numItems, world.catalog.numUsers);
    assert.equal(rp.size, total);
    let i = 0;
    for (const s of sessions) {
      for (let t = 0; t < s.requests.length; t++, i++) {
        const r = s.requests[t]!;
        assert.equal(rp.user[i], r.user);
        assert.equal(rp.done[i], t === s.requests.length - 1 ? 1 : 0, 'session end is terminal');
        assert.equal(rp.slateCount[i], r.slate.length);
        assert.equal(rp.candidateCount[i], Math.min(10, r.candidates.length));
        const kept = new Set<number>();
        for (let c = 0; c < rp.candidateCount[i]!; c++) {
          const item = rp.candidates[i * 10 + c]!;
          const pos = c < r.slate.length ? r.slate[c]! : r.candidates.indexOf(item);
          assert.equal(item, r.candidates[pos], `candidate ${c}`);
          kept.add(pos);
          for (let k = 0; k < PAIR_COUNT_DIM; k++)
            assert.equal(rp.pairCounts[(i * 10 + c) * PAIR_COUNT_DIM + k], r.candidatePairCounts[pos * PAIR_COUNT_DIM + k]);
        }
        assert.equal(kept.size, rp.candidateCount[i], 'no candidate kept twice');
        for (let p = 0; p < r.slate.length; p++) {
          assert.equal(rp.responses[(i * 6 + p) * RESP_DIM + RESP_CLICK], r.responses.click[p]);
          assert.ok(Math.abs(rp.responses[(i * 6 + p) * RESP_DIM + RESP_WATCH_SEC]! - r.responses.playTimeMs[p]! / 1000) < 1e-3);
        }
        if (t + 1 < s.requests.length) assert.equal(rp.user[rp.next(i)], s.requests[t + 1]!.user);
        assert.equal(rp.returnGapDays[i], Math.fround(s.returnGapDays));
      }
    }
  });

  it('computes the request reward as the sum of the item rewards', () => {
    const rp = new RequestReplay({ capacity: 1000, maxCandidates: 6, maxSlate: 6 });
    rp.push(sessions.slice(0, 1), new Rng(1), world.catalog.numItems, world.catalog.numUsers);
    const r = sessions[0]!.requests[0]!;
    const w = { click: 1, watchLog1p: 0.5, follow: 2, like: 3 };
    let expected = 0;
    for (let p = 0; p < r.slate.length; p++) {
      expected += r.responses.click[p]! + 0.5 * Math.log1p(r.responses.playTimeMs[p]! / 1000) + 2 * r.responses.follow[p]! + 3 * r.responses.like[p]!;
    }
    assert.ok(Math.abs(rp.requestReward(0, w) - expected) < 1e-4);
  });

  it('wraps around its capacity and samples only stored entries', () => {
    const rp = new RequestReplay({ capacity: 2 * Math.max(...sessions.map((s) => s.requests.length)) + 2, maxCandidates: 6, maxSlate: 6 });
    rp.push(sessions, new Rng(1), world.catalog.numItems, world.catalog.numUsers);
    assert.equal(rp.size, Math.min(rp.capacity, total));
    const newest = (rp.head + rp.capacity - 1) % rp.capacity;
    assert.equal(rp.done[newest], 1, 'the newest entry ends a session, so every stored non-final entry has its successor');
    const rng = new Rng(5);
    for (let k = 0; k < 200; k++) {
      const i = rp.sample(rng);
      assert.ok(i >= 0 && i < rp.capacity);
    }
  });

  it('rejects a bad session before storing anything', () => {
    const rp = new RequestReplay({ capacity: 1000, maxCandidates: 6, maxSlate: 6 });
    const bad = structuredClone(sessions.slice(0, 3));
    bad[2]!.requests[0]!.slate[0] = 999;
    assert.throws(() => rp.push(bad, new Rng(1), world.catalog.numItems, world.catalog.numUsers), /slate position 0 points at candidate 999/);
    assert.equal(rp.size, 0);
    assert.throws(() => rp.sample(new Rng(1)), /replay is empty/);
  });
});
