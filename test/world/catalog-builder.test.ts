import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import { buildCatalog, buildAuthorIndex, CatalogOptionsError } from '../../src/world/catalog-builder.js';
import { loadCatalogFromKuaiRand } from '../../src/world/load-catalog.js';
import { loadVideoFeatures, loadUserFeatures } from '../../src/data/kuairand-reader.js';
import type { Catalog } from '../../src/world/catalog.js';
import { HAS_KUAIRAND_PURE, USER_FEATURES_PURE, VIDEO_FEATURES_PURE } from '../helpers/paths.js';

/** Structural invariants every catalog must satisfy. */
function checkCatalog(c: Catalog): void {
  assert.equal(c.userFeatures.length, c.numUsers * c.userFeatureFields.length);
  assert.equal(c.itemFeatures.length, c.numItems * c.itemFeatureFields.length);
  assert.equal(c.authorItemOffsets.length, c.numAuthors + 1);
  assert.equal(c.authorItemOffsets[0], 0);
  assert.equal(c.authorItemOffsets[c.numAuthors], c.numItems);
  const seen = new Uint8Array(c.numItems);
  for (let a = 0; a < c.numAuthors; a++) {
    const lo = c.authorItemOffsets[a]!,
      hi = c.authorItemOffsets[a + 1]!;
    assert.ok(hi > lo, `author ${a} has no items`);
    for (let k = lo; k < hi; k++) {
      const i = c.authorItemIds[k]!;
      assert.equal(c.itemAuthor[i], a, `CSR lists item ${i} under author ${a}`);
      assert.equal(seen[i], 0);
      seen[i] = 1;
    }
  }
  let sum = 0;
  for (const p of c.authorPopularity) {
    assert.ok(p > 0);
    sum += p;
  }
  assert.ok(Math.abs(sum - 1) < 1e-4, `popularity sums to ${sum}`);
  for (let i = 0; i < c.numItems; i++) {
    assert.ok(c.itemDurationMs[i]! > 0 && Number.isFinite(c.itemDurationMs[i]!));
    assert.ok(c.itemTag[i]! >= 0 && c.itemTag[i]! < c.numTags);
  }
  for (const x of c.userActivity) assert.ok(x >= 0 && x <= 1);
}

test('CSR author index on a hand-built case', () => {
  const { offsets, ids } = buildAuthorIndex(Int32Array.from([2, 0, 2, 1, 0]), 3);
  assert.deepEqual(Array.from(offsets), [0, 2, 3, 5]);
  assert.deepEqual(Array.from(ids), [1, 4, 3, 0, 2]);
});

test('catalog from the real KuaiRand-Pure tables', { skip: !HAS_KUAIRAND_PURE && 'KuaiRand-Pure tables not found' }, async () => {
  const c = await loadCatalogFromKuaiRand(USER_FEATURES_PURE, VIDEO_FEATURES_PURE, {}, new Rng(5));
  assert.equal(c.numUsers, 27285);
  assert.equal(c.numItems, 7583);
  assert.equal(c.numAuthors, 6510);
  checkCatalog(c);
  const videos = await loadVideoFeatures(VIDEO_FEATURES_PURE);
  // Real authors, durations (missing ones filled) and ids.
  for (let i = 0; i < c.numItems; i++) {
    assert.equal(c.itemRawId[i], videos.videoId[i]);
    assert.equal(c.authorRawId[c.itemAuthor[i]!], videos.authorId[i]);
    if (!Number.isNaN(videos.durationMs[i]!)) assert.equal(c.itemDurationMs[i], Math.fround(videos.durationMs[i]!));
  }
  // The author with the most videos (26) is the most popular.
  let top = 0;
  for (let a = 1; a < c.numAuthors; a++) if (c.authorPopularity[a]! > c.authorPopularity[top]!) top = a;
  assert.equal(c.authorItemOffsets[top + 1]! - c.authorItemOffsets[top]!, 26);
  assert.equal(c.authorRawId[top], 7048760);
  // Power law: rank 0 is 100x rank 99 with exponent 1.
  const sorted = Array.from(c.authorPopularity).sort((x, y) => y - x);
  assert.ok(Math.abs(sorted[0]! / sorted[99]! - 100) < 1e-2);
  // Activity from user_active_degree: user 0 is full_active.
  assert.equal(c.userActivity[0], 1);
  assert.equal(c.userFeatureFields.length, 26);
  const live = Array.from(c.authorIsLive).reduce((s, x) => s + x, 0) / c.numAuthors;
  assert.ok(Math.abs(live - 0.226) < 0.03, `live-streamer share ${live}`);
});

test('synthetic users and items with the real marginals, at scale', { skip: !HAS_KUAIRAND_PURE && 'KuaiRand-Pure tables not found' }, async () => {
  const [userTable, videoTable] = await Promise.all([loadUserFeatures(USER_FEATURES_PURE), loadVideoFeatures(VIDEO_FEATURES_PURE)]);
  const c = buildCatalog({ userTable, videoTable, numUsers: 27285, numItems: 200000, numAuthors: 50000 }, new Rng(9));
  assert.equal(c.numItems, 200000);
  assert.equal(c.numAuthors, 50000);
  checkCatalog(c);
  // user_active_degree marginal: full_active is 17959 / 27285 = 0.658 of real users.
  const degreeField = c.userFeatureFields.indexOf('user_active_degree');
  const degree = userTable.categorical.find((x) => x.name === 'user_active_degree')!;
  const fullCode = degree.vocabulary.indexOf('full_active') + 1;
  let full = 0;
  for (let u = 0; u < c.numUsers; u++) if (c.userFeatures[u * c.userFeatureFields.length + degreeField] === fullCode) full++;
  assert.ok(Math.abs(full / c.numUsers - 0.658) < 0.015, `full_active share ${full / c.numUsers}`);
  // Durations from the real distribution: median about 81 s.
  const d = Array.from(c.itemDurationMs).sort((x, y) => x - y);
  assert.ok(Math.abs(d[d.length >> 1]! / 81170 - 1) < 0.05, `median duration ${d[d.length >> 1]}`);
});

test('synthetic catalog without tables: built-in marginals, deterministic in the seed', () => {
  const a = buildCatalog({ numUsers: 3000, numItems: 20000 }, new Rng(1));
  const b = buildCatalog({ numUsers: 3000, numItems: 20000 }, new Rng(1));
  const c = buildCatalog({ numUsers: 3000, numItems: 20000 }, new Rng(2));
  checkCatalog(a);
  assert.equal(a.numAuthors, Math.round((20000 * 6510) / 7583));
  assert.equal(a.numTags, 111);
  assert.deepEqual(a.itemAuthor, b.itemAuthor);
  assert.deepEqual(a.userFeatures, b.userFeatures);
  assert.deepEqual(a.itemDurationMs, b.itemDurationMs);
  assert.deepEqual(a.authorIsLive, b.authorIsLive);
  assert.notDeepEqual(a.itemAuthor, c.itemAuthor);
  // Popular authors own more items (items follow popularity).
  let topA = 0;
  for (let x = 1; x < a.numAuthors; x++) if (a.authorPopularity[x]! > a.authorPopularity[topA]!) topA = x;
  assert.ok(a.authorItemOffsets[topA + 1]! - a.authorItemOffsets[topA]! > 50);
  const d = Array.from(a.itemDurationMs).sort((x, y) => x - y);
  assert.ok(Math.abs(d[d.length >> 1]! / 81170 - 1) < 0.05);
});

test('missing KuaiRand tables are named', async () => {
  await assert.rejects(
    loadCatalogFromKuaiRand('/nonexistent/user_features_pure.csv', undefined, {}, new Rng(1)),
    (e: unknown) =>
      e instanceof CatalogOptionsError &&
      e.message === 'user features table not found: /nonexistent/user_features_pure.csv (give the path of a KuaiRand user_features_*.csv)',
  );
  await assert.rejects(loadCatalogFromKuaiRand(undefined, '/nonexistent/v.csv', {}, new Rng(1)), /video features table not found: \/nonexistent\/v.csv/);
});

test('bad catalog options are rejected with the option named', () => {
  assert.throws(
    () => buildCatalog({ numUsers: 0 }, new Rng(1)),
    (e: unknown) => e instanceof CatalogOptionsError && /numUsers must be a positive integer, got 0/.test(e.message),
  );
  assert.throws(() => buildCatalog({ numItems: 10, numAuthors: 11 }, new Rng(1)), /numAuthors must be an integer in \[1, numItems=10\], got 11/);
  assert.throws(() => buildCatalog({ liveStreamerShare: 2 }, new Rng(1)), /liveStreamerShare must be in \[0, 1\], got 2/);
});
