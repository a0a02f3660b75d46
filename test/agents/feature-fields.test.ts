/**
 * FeatureFields: the tabulated rows of every user, item and pair-count
 * bucket are exactly the hashed rows of the documented fields (user id = field
 * 0, user columns 1.., item id, author, tag, item columns, then the 7 pair
 * counts), so tabulating them changed no input of any baseline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';
import { countBucket, FeatureFields } from '../../src/agents/feature-fields.js';
import { EmbeddingTable } from '../../src/numeric/embedding.js';
import { Rng } from '../../src/numeric/rng.js';
import { tinyCatalog } from '../helpers/tiny-world.js';

test('tabulated field rows equal the hashed rows of every user, item and pair-count bucket', () => {
  const catalog = tinyCatalog();
  const table = new EmbeddingTable({ rows: 997, dim: 4, name: 't' }, new Rng(1));
  const f = new FeatureFields(catalog, table);
  const U = catalog.userFeatureFields.length;
  const I = catalog.itemFeatureFields.length;
  assert.equal(f.userFieldCount, 1 + U);
  assert.equal(f.itemFieldCount, 3 + I);
  const stride = 3;
  const out = new Int32Array(64 * stride);
  for (let u = 0; u < catalog.numUsers; u++) {
    f.userRows(u, out, 1, stride);
    const expected = [table.rowOf(0, u), ...Array.from({ length: U }, (_, c) => table.rowOf(1 + c, catalog.userFeatures[u * U + c]!))];
    assert.deepEqual(
      expected.map((_, j) => out[1 + j * stride]),
      expected,
      `user ${u}`,
    );
  }
  for (let i = 0; i < catalog.numItems; i++) {
    f.itemRows(i, out, 2, stride);
    const c0 = 1 + U;
    const expected = [
      table.rowOf(c0, i),
      table.rowOf(c0 + 1, catalog.itemAuthor[i]!),
      table.rowOf(c0 + 2, catalog.itemTag[i]!),
      ...Array.from({ length: I }, (_, c) => table.rowOf(c0 + 3 + c, catalog.itemFeatures[i * I + c]!)),
    ];
    assert.deepEqual(
      expected.map((_, j) => out[2 + j * stride]),
      expected,
      `item ${i}`,
    );
  }
  const counts = Float32Array.from([0, 1, 2, 3, 7, 1e6, 0.5]);
  f.pairRows(counts, 0, out, 0, stride);
  const c0 = 4 + U + I;
  assert.deepEqual(
    Array.from({ length: PAIR_COUNT_DIM }, (_, k) => out[k * stride]),
    Array.from(counts, (x, k) => table.rowOf(c0 + k, countBucket(x))),
  );
});
