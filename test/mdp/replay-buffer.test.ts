import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayBuffer, ReplayBufferFormatError } from '../../src/mdp/replay-buffer.js';
import { allocSampleBatch, type SampleBatch } from '../../src/mdp/scri-mdp.js';

function filled(n: number, base = 0): SampleBatch {
  const b = allocSampleBatch(n, 2, 1);
  for (let i = 0; i < n; i++) {
    b.user[i] = base + i;
    b.item[i] = 1000 + base + i;
    b.author[i] = i % 3;
    b.userFeatures[i * 2] = i;
    b.userFeatures[i * 2 + 1] = -i;
    b.itemFeatures[i] = 2 * i;
    b.pairCounts[i * 7 + 6] = i * 0.5;
    b.nextPairCounts[i * 7] = i + 1;
    b.rewards[i * 4 + 1] = i / 7;
    b.giftLabel[i] = i % 2;
    b.timeMs[i] = 1e12 + i;
  }
  b.count = n;
  return b;
}

test('ring buffer overwrites the oldest; size and position track pushes', () => {
  const rb = new ReplayBuffer({ capacity: 5, userFeatureDim: 2, itemFeatureDim: 1, seed: 1 });
  rb.pushBatch(filled(7));
  assert.equal(rb.size, 5);
  assert.equal(rb.writePosition, 2);
  assert.equal(rb.totalPushed, 7);
  // rows 0,1 now hold samples 5,6
  assert.deepEqual(Array.from(rb.storage.user.subarray(0, 5)), [5, 6, 2, 3, 4]);
  assert.equal(rb.storage.timeMs[1], 1e12 + 6);
});

test('seeded sampling is deterministic and draws stored samples with all columns consistent', () => {
  const a = new ReplayBuffer({ capacity: 64, userFeatureDim: 2, itemFeatureDim: 1, seed: 9 });
  const b = new ReplayBuffer({ capacity: 64, userFeatureDim: 2, itemFeatureDim: 1, seed: 9 });
  a.pushBatch(filled(40));
  b.pushBatch(filled(40));
  const oa = a.allocBatch(16),
    ob = b.allocBatch(16);
  for (let k = 0; k < 5; k++) {
    a.sample(16, oa);
    b.sample(16, ob);
    assert.deepEqual(oa.user, ob.user);
  }
  for (let i = 0; i < 16; i++) {
    const u = oa.user[i]!;
    assert.ok(u >= 0 && u < 40);
    assert.equal(oa.item[i], 1000 + u);
    assert.equal(oa.userFeatures[i * 2 + 1], -u);
    assert.equal(oa.nextPairCounts[i * 7], u + 1);
    assert.equal(oa.giftLabel[i], u % 2);
  }
  const c = new ReplayBuffer({ capacity: 64, userFeatureDim: 2, itemFeatureDim: 1, seed: 10 });
  c.pushBatch(filled(40));
  const oc = c.allocBatch(16);
  c.sample(16, oc);
  assert.notDeepEqual(Array.from(oc.user), Array.from(oa.user), 'another seed draws other samples');
  assert.throws(() => new ReplayBuffer({ capacity: 4, seed: 1 }).sample(1, allocSampleBatch(1)), /empty replay buffer/);
});

test('reset(seed) empties the buffer and makes it behave exactly like a fresh one', () => {
  const used = new ReplayBuffer({ capacity: 32, userFeatureDim: 2, itemFeatureDim: 1, seed: 4 });
  used.pushBatch(filled(50, 500));
  used.sample(8, used.allocBatch(8));
  used.reset(9);
  assert.equal(used.size, 0);
  assert.equal(used.writePosition, 0);
  assert.equal(used.totalPushed, 0);
  assert.throws(() => used.sample(1, used.allocBatch(1)), /empty replay buffer/);
  const fresh = new ReplayBuffer({ capacity: 32, userFeatureDim: 2, itemFeatureDim: 1, seed: 9 });
  used.pushBatch(filled(20));
  fresh.pushBatch(filled(20));
  const ou = used.allocBatch(16),
    of = fresh.allocBatch(16);
  for (let k = 0; k < 4; k++) {
    used.sample(16, ou);
    fresh.sample(16, of);
    assert.deepEqual(ou.user, of.user);
    assert.deepEqual(ou.rewards, of.rewards);
  }
});

test('save/restore resumes exactly: same stored data and the same future batches', () => {
  const a = new ReplayBuffer({ capacity: 30, userFeatureDim: 2, itemFeatureDim: 1, seed: 3 });
  a.pushBatch(filled(45));
  const out = a.allocBatch(8);
  a.sample(8, out);
  const snap = a.save();
  const b = new ReplayBuffer({ capacity: 30, userFeatureDim: 2, itemFeatureDim: 1, seed: 999 });
  b.load(snap);
  assert.equal(b.size, a.size);
  assert.equal(b.writePosition, a.writePosition);
  assert.equal(b.totalPushed, a.totalPushed);
  // continue both identically
  a.pushBatch(filled(3, 500));
  b.pushBatch(filled(3, 500));
  const oa = a.allocBatch(8),
    ob = b.allocBatch(8);
  for (let k = 0; k < 4; k++) {
    a.sample(8, oa);
    b.sample(8, ob);
    assert.deepEqual(oa, ob);
  }
  assert.deepEqual(b.save(), a.save());
});

test('corrupt or mismatched snapshots are refused and change nothing', () => {
  const a = new ReplayBuffer({ capacity: 10, userFeatureDim: 2, itemFeatureDim: 1, seed: 3 });
  a.pushBatch(filled(4));
  const snap = a.save();
  const b = new ReplayBuffer({ capacity: 10, userFeatureDim: 2, itemFeatureDim: 1, seed: 4 });
  b.pushBatch(filled(2, 77));
  const before = b.save();
  const corrupt = snap.slice();
  corrupt[corrupt.length - 20]! ^= 0xff;
  assert.throws(() => b.load(corrupt), ReplayBufferFormatError);
  assert.throws(() => b.load(snap.subarray(0, snap.length - 9)), ReplayBufferFormatError);
  assert.throws(() => b.load(new Uint8Array([1, 2, 3])), /bad magic/);
  const other = new ReplayBuffer({ capacity: 11, userFeatureDim: 2, itemFeatureDim: 1, seed: 3 });
  assert.throws(() => other.load(snap), /capacity\/dims/);
  assert.deepEqual(b.save(), before, 'state unchanged after refused loads');
});
