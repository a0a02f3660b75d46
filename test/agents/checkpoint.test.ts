import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint, type Checkpoint } from '../../src/agents/checkpoint.js';
import { tempDir } from '../helpers/paths.js';

function sample(): Checkpoint {
  const model = new Uint8Array(1000);
  for (let i = 0; i < model.length; i++) model[i] = (i * 37) & 255;
  return {
    agent: 'RLIV-UA(w/o SL)',
    agentConfig: { batchSize: 64 },
    state: { epoch: 3, rng: { s: [1, 2, 3, 4], spare: null, seed: 7 }, curve: [1.5, 2.25] },
    sections: { model, env: new Uint8Array([9, 8, 7]), empty: new Uint8Array(0) },
  };
}

test('round trip keeps every field and section byte', () => {
  const c = sample();
  const back = decodeCheckpoint(encodeCheckpoint(c));
  assert.equal(back.agent, c.agent);
  assert.deepEqual(back.agentConfig, c.agentConfig);
  assert.deepEqual(back.state, c.state);
  assert.deepEqual(Object.keys(back.sections), ['model', 'env', 'empty']);
  assert.deepEqual(Array.from(back.sections.model!), Array.from(c.sections.model!));
  assert.deepEqual(Array.from(back.sections.env!), [9, 8, 7]);
  assert.equal(back.sections.empty!.byteLength, 0);
});

test('every single flipped byte is detected as corruption', () => {
  const bytes = encodeCheckpoint(sample());
  // Flip a byte in the header, in the model section and in the digest.
  for (const at of [20, 200, bytes.length - 40, bytes.length - 1]) {
    const bad = new Uint8Array(bytes);
    bad[at]! ^= 0x5a;
    assert.throws(
      () => decodeCheckpoint(bad, 'ck'),
      (e: unknown) => e instanceof CheckpointError && /corrupted \(checksum mismatch\)/.test((e as Error).message),
    );
  }
});

test('truncated, foreign and wrong-version files give clear errors', () => {
  const bytes = encodeCheckpoint(sample());
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 10)), /corrupted|truncated/);
  assert.throws(() => decodeCheckpoint(new TextEncoder().encode('{"not": "a checkpoint"} padding padding padding padding')), /not an rliv checkpoint/);
  const v2 = new Uint8Array(bytes);
  v2[8] = 2;
  assert.throws(() => decodeCheckpoint(v2), /format version 2/);
});

test('saveCheckpoint writes atomically and leaves no temp file; loadCheckpoint verifies', () => {
  const dir = tempDir();
  const path = join(dir, 'sub', 'ck.bin');
  saveCheckpoint(path, sample());
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['ck.bin']);
  assert.equal(loadCheckpoint(path).agent, 'RLIV-UA(w/o SL)');
  // Overwrite in place: the new content replaces the old one whole.
  const next = sample();
  next.state = { epoch: 4 };
  saveCheckpoint(path, next);
  assert.deepEqual(loadCheckpoint(path).state, { epoch: 4 });
  const raw = readFileSync(path);
  raw[raw.length - 5]! ^= 1;
  writeFileSync(path, raw);
  assert.throws(
    () => loadCheckpoint(path),
    (e: unknown) => e instanceof CheckpointError && (e as Error).message.includes(path),
  );
  assert.throws(() => loadCheckpoint(join(dir, 'missing.bin')), /cannot read checkpoint/);
  assert.ok(!existsSync(join(dir, 'missing.bin')));
});
