import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import { AliasTable, CandidateGenerator } from '../../src/environment/candidate-generator.js';
import type { Catalog } from '../../src/world/catalog.js';
import { TINY_AUTHORS, TINY_ITEMS_PER_AUTHOR, tinyCatalog } from '../helpers/tiny-world.js';

/** The tiny catalog with skewed author popularity (author a weighs a + 1; author 3 has none). */
function skewedCatalog(): Catalog {
  const base = tinyCatalog();
  const authorPopularity = new Float32Array(TINY_AUTHORS);
  for (let a = 0; a < TINY_AUTHORS; a++) authorPopularity[a] = a === 3 ? 0 : a + 1;
  return { ...base, authorPopularity };
}

test('AliasTable draws each outcome with its weight', () => {
  const weights = [1, 0, 3, 6];
  const table = new AliasTable(weights);
  const rng = new Rng(4);
  const counts = [0, 0, 0, 0];
  const n = 100_000;
  for (let i = 0; i < n; i++) counts[table.sample(rng)]!++;
  for (let i = 0; i < 4; i++) {
    const p = weights[i]! / 10;
    assert.ok(Math.abs(counts[i]! / n - p) <= 4 * Math.sqrt((p * (1 - p)) / n) + 1e-9, `outcome ${i}: ${counts[i]! / n} vs ${p}`);
  }
  assert.throws(() => new AliasTable([0, 0]), /must not all be zero/);
  assert.throws(() => new AliasTable([1, -1]), /weight 1 must be finite and >= 0/);
});

test('popular source: an author by popularity, then a uniform item of that author', () => {
  const catalog = skewedCatalog();
  const gen = new CandidateGenerator(catalog, { numCandidates: 1, mix: { popular: 1, recentAuthor: 0, random: 0 } });
  const rng = new Rng(5);
  const out = new Int32Array(1);
  const byAuthor = new Float64Array(TINY_AUTHORS);
  const byItem = new Float64Array(catalog.numItems);
  const n = 60_000;
  for (let r = 0; r < n; r++) {
    gen.generate(0, rng, out);
    byAuthor[catalog.itemAuthor[out[0]!]!]!++;
    byItem[out[0]!]!++;
  }
  let total = 0;
  for (let a = 0; a < TINY_AUTHORS; a++) total += catalog.authorPopularity[a]!;
  for (let a = 0; a < TINY_AUTHORS; a++) {
    const p = catalog.authorPopularity[a]! / total;
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(byAuthor[a]! / n - p) <= 4 * sd + 1e-9, `author ${a}: ${byAuthor[a]! / n} vs ${p}`);
  }
  assert.equal(byAuthor[3], 0, 'an author with zero popularity is never drawn');
  // Within author 11 (the most popular), items are uniform.
  const lo = catalog.authorItemOffsets[11]!;
  const hi = catalog.authorItemOffsets[12]!;
  assert.equal(hi - lo, TINY_ITEMS_PER_AUTHOR);
  for (let j = lo; j < hi; j++) {
    const share = byItem[catalog.authorItemIds[j]!]! / byAuthor[11]!;
    assert.ok(Math.abs(share - 1 / TINY_ITEMS_PER_AUTHOR) < 0.03, `item share ${share}`);
  }
});

test('recent-author source offers only the authors the user interacted with; candidates are distinct; one draw of the caller rng', () => {
  const catalog = skewedCatalog();
  const gen = new CandidateGenerator(catalog, { numCandidates: 8, mix: { popular: 0, recentAuthor: 1, random: 0 }, recentAuthorsPerUser: 4 });
  gen.noteInteraction(7, 2);
  gen.noteInteraction(7, 5);
  gen.noteInteraction(7, 2); // already remembered: no duplicate
  assert.deepEqual([...gen.recentAuthors(7)], [2, 5]);
  const rng = new Rng(6);
  const out = new Int32Array(8);
  for (let r = 0; r < 200; r++) {
    const reference = new Rng(1);
    reference.setState(rng.getState());
    reference.nextUint32();
    gen.generate(7, rng, out);
    assert.deepEqual(rng.getState(), reference.getState(), 'generate consumes exactly one draw');
    assert.equal(new Set(out).size, 8, 'distinct candidates');
    for (const item of out) assert.ok([2, 5].includes(catalog.itemAuthor[item]!), `item ${item} of author ${catalog.itemAuthor[item]}`);
  }
  // A user without recent authors gets the popular source instead.
  gen.generate(8, rng, out);
  assert.equal(new Set(out).size, 8);
  // The ring keeps the last 4 authors.
  for (const a of [6, 7, 8, 9]) gen.noteInteraction(7, a);
  assert.deepEqual(
    [...gen.recentAuthors(7)].sort((x, y) => x - y),
    [6, 7, 8, 9],
  );
});

test('random source is uniform over items; bad options are refused', () => {
  const catalog = skewedCatalog();
  const gen = new CandidateGenerator(catalog, { numCandidates: 1, mix: { popular: 0, recentAuthor: 0, random: 1 } });
  const rng = new Rng(8);
  const out = new Int32Array(1);
  const counts = new Float64Array(catalog.numItems);
  const n = 72_000;
  for (let r = 0; r < n; r++) {
    gen.generate(0, rng, out);
    counts[out[0]!]!++;
  }
  const p = 1 / catalog.numItems;
  for (let i = 0; i < catalog.numItems; i++) assert.ok(Math.abs(counts[i]! / n - p) <= 4.5 * Math.sqrt((p * (1 - p)) / n), `item ${i}`);
  assert.throws(() => new CandidateGenerator(catalog, { numCandidates: 0 }), /numCandidates must be an integer in \[1, 300\]/);
  assert.throws(() => new CandidateGenerator(catalog, { numCandidates: 100 }), /numCandidates \(100\) exceeds the catalog's 72 items/);
  assert.throws(() => new CandidateGenerator(catalog, { numCandidates: 1, mix: { popular: 0, recentAuthor: 0, random: 0 } }), /not all zero/);
});
