/**
 * Exact-resume checkpoints of the baselines: RequestReplay snapshots
 * (round trip on a wrapped ring, compact size, all-or-nothing rejection of
 * corrupt/mismatched bytes) and the RLIVBASE container of
 * baseline-checkpoint.ts (all-or-nothing across sections; the older
 * params-only format loads with an empty replay and is NOT an exact resume).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { createCql } from '../../src/agents/cql.js';
import { createDqn, type DoubleDqn } from '../../src/agents/dqn.js';
import { RequestReplay, RESP_DIM } from '../../src/agents/request-replay.js';
import { crc32 } from '../../src/numeric/params-io.js';
import { Rng } from '../../src/numeric/rng.js';
import { SESSION_SUMMARY_DIM } from '../../src/environment/trace.js';
import { tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const world = tinyWorld();
const { numItems, numUsers } = world.catalog;
const sessions = tinySessions(world, 1, 3);
const limits = { numUsers, numItems };
const SMALL = { batchSize: 32, embeddingRows: 2048 };

function filled(capacity: number, maxCandidates = 8, maxSlate = 6): RequestReplay {
  const rp = new RequestReplay({ capacity, maxCandidates, maxSlate });
  rp.push(sessions, new Rng(4), numItems, numUsers);
  return rp;
}

/** Stored contents of slot i (only the kept candidates and the exposed slate). */
function entry(rp: RequestReplay, i: number): unknown {
  const c = rp.candidateCount[i]!;
  const k = rp.slateCount[i]!;
  return {
    user: rp.user[i],
    done: rp.done[i],
    gap: rp.returnGapDays[i],
    c,
    k,
    summary: Array.from(rp.summary.subarray(i * SESSION_SUMMARY_DIM, (i + 1) * SESSION_SUMMARY_DIM)),
    candidates: Array.from(rp.candidates.subarray(i * rp.maxCandidates, i * rp.maxCandidates + c)),
    pairCounts: Array.from(rp.pairCounts.subarray(i * rp.maxCandidates * PAIR_COUNT_DIM, (i * rp.maxCandidates + c) * PAIR_COUNT_DIM)),
    responses: Array.from(rp.responses.subarray(i * rp.maxSlate * RESP_DIM, (i * rp.maxSlate + k) * RESP_DIM)),
  };
}

describe('RequestReplay snapshot', () => {
  const total = sessions.reduce((s, t) => s + t.requests.length, 0);

  it('round-trips a wrapped ring: same entries, position, counters, sampling and bytes', () => {
    const capacity = Math.floor(total / 3);
    const rp = filled(capacity);
    assert.equal(rp.size, capacity, 'the ring wrapped');
    assert.notEqual(rp.head, 0);
    const bytes = rp.save();
    const back = new RequestReplay({ capacity, maxCandidates: 8, maxSlate: 6 });
    back.load(bytes, limits);
    assert.deepEqual([back.size, back.head, back.sessionsSeen, back.emptySessions], [rp.size, rp.head, rp.sessionsSeen, rp.emptySessions]);
    for (let i = 0; i < capacity; i++) assert.deepEqual(entry(back, i), entry(rp, i), `slot ${i}`);
    const r1 = new Rng(9);
    const r2 = new Rng(9);
    for (let s = 0; s < 200; s++) assert.equal(back.sample(r2), rp.sample(r1));
    assert.ok(Buffer.from(back.save()).equals(Buffer.from(bytes)));
    // and both continue identically
    rp.push(sessions.slice(0, 5), new Rng(8), numItems, numUsers);
    back.push(sessions.slice(0, 5), new Rng(8), numItems, numUsers);
    assert.ok(Buffer.from(back.save()).equals(Buffer.from(rp.save())));
  });

  it('writes only what is stored: size = header + 17 + 4 x summary bytes per entry + 32 per kept candidate + 28 per exposure', () => {
    const rp = filled(100_000, 16, 6);
    const bytes = rp.save();
    let candidates = 0;
    let exposures = 0;
    for (let i = 0; i < rp.size; i++) {
      candidates += rp.candidateCount[i]!;
      exposures += rp.slateCount[i]!;
    }
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
    const expected = 16 + headerLength + rp.size * (17 + 4 * SESSION_SUMMARY_DIM) + candidates * 4 * (1 + PAIR_COUNT_DIM) + exposures * 4 * RESP_DIM + 4;
    assert.equal(bytes.length, expected);
    assert.ok(bytes.length < 2000 * rp.size, `${bytes.length} bytes for ${rp.size} entries`);
    const empty = new RequestReplay({ capacity: 100_000, maxCandidates: 16, maxSlate: 6 }).save();
    assert.ok(empty.length < 400, `an empty replay of capacity 1e5 takes ${empty.length} bytes`);
  });

  it('rejects corrupt, mismatched and out-of-catalog snapshots and changes nothing', () => {
    const source = filled(1000);
    const bytes = source.save();
    const target = filled(1000);
    target.push(sessions.slice(0, 2), new Rng(5), numItems, numUsers);
    const before = target.save();
    const corrupt = bytes.slice();
    corrupt[corrupt.length >> 1]! ^= 0x10;
    assert.throws(() => target.load(corrupt, limits), /RequestReplayFormatError|checksum mismatch/);
    assert.throws(() => target.load(bytes.subarray(0, bytes.length - 9), limits), /checksum/);
    assert.throws(
      () => new RequestReplay({ capacity: 999, maxCandidates: 8, maxSlate: 6 }).load(bytes),
      /capacity\/maxCandidates\/maxSlate 1000\/8\/6, this replay 999\/8\/6/,
    );
    assert.throws(() => target.load(bytes, { numUsers: 2, numItems }), /outside the catalog/);
    assert.throws(() => target.load(bytes, { numUsers, numItems: 3 }), /outside the catalog/);
    assert.throws(() => target.load(new Uint8Array(40), limits), /bad magic/);
    assert.ok(Buffer.from(target.save()).equals(Buffer.from(before)), 'a rejected snapshot changed the replay');
    target.load(bytes, limits);
    assert.ok(Buffer.from(target.save()).equals(Buffer.from(bytes)));
    target.prepareLoad(null)();
    assert.deepEqual([target.size, target.head, target.sessionsSeen], [0, 0, 0]);
    assert.throws(() => target.sample(new Rng(1)), /empty/);
  });
});

describe('baseline checkpoint (RLIVBASE)', () => {
  const ctx = { catalog: world.catalog, seed: 11 };
  const first = tinySessions(world, 1, 21);
  const second = tinySessions(world, 1, 22);

  function trainedCql(): DoubleDqn {
    const agent = createCql(ctx, SMALL);
    agent.observe(first);
    agent.train(5);
    return agent;
  }

  it('is all-or-nothing across sections: a valid replay with a foreign agent state installs neither', () => {
    const dqn = createDqn(ctx, { ...SMALL });
    dqn.observe(second);
    dqn.train(3);
    const cql = trainedCql();
    const before = cql.save();
    // same replay shape (it would load), but the agent state is DQN's: nothing may change
    assert.throws(() => cql.load(dqn.save()), /param "DQN.embedding" which the model does not/);
    assert.ok(Buffer.from(cql.save()).equals(Buffer.from(before)));
    assert.equal(
      cql.replay.size,
      first.reduce((s, t) => s + t.requests.length, 0),
    );
    const otherCapacity = createCql(ctx, { ...SMALL, replayCapacity: 5000 });
    assert.throws(() => otherCapacity.load(before), /capacity\/maxCandidates\/maxSlate 100000\/16\/16, this replay 5000\/16\/16/);
    assert.equal(otherCapacity.replay.size, 0);
  });

  it('loads the older params-only bytes with an empty replay, which is not an exact resume (what the new format fixes)', () => {
    const original = trainedCql();
    const full = original.save();
    // section 0 of the container is the params-io agent state: exactly what save() returned before replay snapshots
    const view = new DataView(full.buffer, full.byteOffset);
    const legacy = full.slice(20, 20 + view.getUint32(16, true));
    assert.equal(String.fromCharCode(...legacy.subarray(0, 8)), 'RLIVPARM');
    const fromLegacy = createCql(ctx, SMALL);
    fromLegacy.observe(second);
    fromLegacy.load(legacy);
    assert.equal(fromLegacy.replay.size, 0, 'legacy bytes carry no samples');
    const exact = createCql(ctx, SMALL);
    exact.load(full);
    for (const agent of [original, fromLegacy, exact]) {
      agent.observe(second);
      agent.train(4);
    }
    assert.ok(Buffer.from(exact.save()).equals(Buffer.from(original.save())), 'the full checkpoint resumes exactly');
    assert.ok(!Buffer.from(fromLegacy.save()).equals(Buffer.from(original.save())), 'without the replay the resumed run diverges');
  });

  it('rejects a container with the wrong number of sample stores', () => {
    const bytes = trainedCql().save();
    const forged = bytes.slice();
    const view = new DataView(forged.buffer);
    view.setUint32(12, 3, true);
    // recompute the outer checksum so only the section count is wrong
    view.setUint32(forged.length - 4, crc32(forged, 0, forged.length - 4), true);
    assert.throws(() => createCql(ctx, SMALL).load(forged), /has 2 sample stores, this agent keeps 1/);
  });
});
