/** Checkpoint format: round trip, corrupted or mismatched files give clear errors and change nothing. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddingTable } from '../../src/numeric/embedding.js';
import { Mlp } from '../../src/numeric/mlp.js';
import { crc32, deserializeParams, loadParams, ParamsFormatError, saveParams, serializeParams } from '../../src/numeric/params-io.js';
import { Rng } from '../../src/numeric/rng.js';
import { tempDir } from '../helpers/paths.js';

function model(seed: number) {
  const rng = new Rng(seed);
  const mlp = new Mlp({ sizes: [6, 5, 1], name: 'critic' }, rng);
  const emb = new EmbeddingTable({ rows: 50, dim: 2, name: 'emb' }, rng);
  return [...mlp.params(), emb.table];
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('save/load round trip restores every value and the meta', () => {
  const dir = tempDir();
  const path = join(dir, 'sub', 'model.params');
  const a = model(1);
  saveParams(path, a, { step: 12, note: 'x' });
  saveParams(path, a, { step: 12, note: 'x' }); // overwriting goes through a temporary file + rename
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['model.params']);
  const b = model(2);
  assert.notDeepEqual(Array.from(b[0]!.value), Array.from(a[0]!.value));
  const meta = loadParams(path, b);
  assert.deepEqual(meta, { step: 12, note: 'x' });
  for (let i = 0; i < a.length; i++) assert.deepEqual(Array.from(b[i]!.value), Array.from(a[i]!.value));
  // Matching is by name, so the order of the params given does not matter.
  const c = model(3).reverse();
  loadParams(path, c);
  assert.deepEqual(Array.from(c[0]!.value), Array.from(a[a.length - 1]!.value));
});

test('a corrupted file gives a clear error and leaves the params unchanged', () => {
  const dir = tempDir();
  const path = join(dir, 'model.params');
  saveParams(path, model(1));
  const bytes = readFileSync(path);
  bytes[bytes.length - 20]! ^= 0x40;
  writeFileSync(path, bytes);
  const b = model(2);
  const before = b.map((p) => Array.from(p.value));
  assert.throws(
    () => loadParams(path, b),
    (err: unknown) => err instanceof ParamsFormatError && /checksum mismatch/.test(err.message) && err.message.includes(path),
  );
  b.forEach((p, i) => assert.deepEqual(Array.from(p.value), before[i]));
  writeFileSync(path, bytes.subarray(0, 100));
  assert.throws(() => loadParams(path, b), /checksum mismatch|too short/);
  assert.throws(() => loadParams(join(dir, 'missing.params'), b), /cannot read params file/);
  assert.throws(() => deserializeParams(new TextEncoder().encode('definitely not a params file'), b), /not an rliv params file/);
});

test('a shape or name mismatch gives a clear error and changes nothing', () => {
  const bytes = serializeParams(model(1));
  const rng = new Rng(5);
  const wrong = [...new Mlp({ sizes: [6, 4, 1], name: 'critic' }, rng).params(), new EmbeddingTable({ rows: 50, dim: 2, name: 'emb' }, rng).table];
  const before = wrong.map((p) => Array.from(p.value));
  assert.throws(() => deserializeParams(bytes, wrong), /shape \[5,6\] in the file but \[4,6\] in the model/);
  wrong.forEach((p, i) => assert.deepEqual(Array.from(p.value), before[i]));
  assert.throws(() => deserializeParams(bytes, model(1).slice(1)), /which the model does not/);
  const extra = [...model(1), ...new Mlp({ sizes: [2, 1], name: 'other' }, rng).params()];
  assert.throws(() => deserializeParams(bytes, extra), /not in the file/);
});
