import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import { buildCatalog } from '../../src/world/catalog-builder.js';
import { createWorld, passesPlayRule, CLICK_PLAY_THRESHOLD_MS, LONG_VIEW_PLAY_THRESHOLD_MS } from '../../src/world/ground-truth-world.js';
import { mergeWorldConfig, DEFAULT_WORLD_CONFIG } from '../../src/world/world-config.js';
import { allocResponseBatch, type ExposureBatch } from '../../src/world/response.js';
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW, PC_GIFT } from '../../src/data/interaction-kinds.js';

const catalog = buildCatalog({ numUsers: 500, numItems: 3000 }, new Rng(11));

/** A batch of n random exposures (all pair counts zero unless `counts` fills them). */
function randomBatch(n: number, seed: number, counts?: (j: number, pc: Float32Array, o: number) => void): ExposureBatch {
  const rng = new Rng(seed);
  const b: ExposureBatch = {
    count: n,
    user: new Int32Array(n),
    item: new Int32Array(n),
    pairCounts: new Float32Array(n * PAIR_COUNT_DIM),
    repeatAuthor: new Float32Array(n),
    repeatTag: new Float32Array(n),
    position: new Int32Array(n),
  };
  for (let j = 0; j < n; j++) {
    b.user[j] = rng.int(catalog.numUsers);
    b.item[j] = rng.int(catalog.numItems);
    b.position[j] = j % 6;
    counts?.(j, b.pairCounts, j * PAIR_COUNT_DIM);
  }
  return b;
}

test("KuaiRand's play-time rules, hand cases", () => {
  // duration <= threshold: a valid play watches the whole video.
  assert.equal(passesPlayRule(7000, 7000, CLICK_PLAY_THRESHOLD_MS), true);
  assert.equal(passesPlayRule(6999, 7000, CLICK_PLAY_THRESHOLD_MS), false);
  assert.equal(passesPlayRule(5000, 5000, CLICK_PLAY_THRESHOLD_MS), true);
  // duration > threshold: play strictly longer than the threshold.
  assert.equal(passesPlayRule(7000, 10000, CLICK_PLAY_THRESHOLD_MS), false);
  assert.equal(passesPlayRule(7001, 10000, CLICK_PLAY_THRESHOLD_MS), true);
  assert.equal(passesPlayRule(18000, 18000, LONG_VIEW_PLAY_THRESHOLD_MS), true);
  assert.equal(passesPlayRule(18000, 20000, LONG_VIEW_PLAY_THRESHOLD_MS), false);
  assert.equal(passesPlayRule(12000, 12000, LONG_VIEW_PLAY_THRESHOLD_MS), true);
});

test('responses obey the play-time rules, and like/comment/forward/follow/gift need a click', () => {
  const world = createWorld(catalog, DEFAULT_WORLD_CONFIG, 3);
  const n = 40000;
  const batch = randomBatch(n, 1);
  const out = allocResponseBatch(n);
  world.respond(batch, new Rng(2), out);
  let clicks = 0,
    skims = 0,
    shortVideos = 0;
  for (let j = 0; j < n; j++) {
    const dur = catalog.itemDurationMs[batch.item[j]!]!;
    const play = out.playTimeMs[j]!;
    assert.equal(out.click[j], passesPlayRule(play, dur, 7000) ? 1 : 0, `click rule at ${j}: play ${play} duration ${dur}`);
    assert.equal(out.longView[j], passesPlayRule(play, dur, 18000) ? 1 : 0, `long-view rule at ${j}`);
    assert.ok(play >= 0 && Number.isInteger(play));
    if (out.click[j] === 0) {
      assert.equal(out.like[j]! + out.comment[j]! + out.forward[j]! + out.follow[j]!, 0);
      assert.equal(out.giftAmount[j], 0);
      if (play > 0) skims++;
    } else clicks++;
    if (dur <= 7000) shortVideos++;
  }
  assert.ok(clicks > 1000 && clicks < n - 1000, `clicks ${clicks}`);
  assert.ok(skims > 1000, 'non-clicks have a short skim play time');
  assert.ok(shortVideos > 0);
});

test('follow only when not yet following', () => {
  // A large follow intercept so follows are frequent when allowed.
  const world = createWorld(catalog, mergeWorldConfig({ follow: { intercept: 2 } }), 3);
  const n = 20000;
  const out = allocResponseBatch(n);
  const following = randomBatch(n, 4, (_, pc, o) => (pc[o + PC_FOLLOW] = 1));
  world.respond(following, new Rng(5), out);
  assert.equal(
    out.follow.reduce((s, x) => s + x, 0),
    0,
  );
  assert.ok(out.click.reduce((s, x) => s + x, 0) > 1000);
  const fresh = randomBatch(n, 4);
  world.respond(fresh, new Rng(5), out);
  const follows = out.follow.reduce((s, x) => s + x, 0);
  assert.ok(follows > 1000, `follows ${follows}`);
});

test('gifts only for live-streamer authors, integer amounts >= 1', () => {
  const world = createWorld(catalog, mergeWorldConfig({ gift: { intercept: 1 } }), 3);
  const n = 30000;
  const batch = randomBatch(n, 6);
  const out = allocResponseBatch(n);
  world.respond(batch, new Rng(7), out);
  let gifts = 0;
  for (let j = 0; j < n; j++) {
    const amount = out.giftAmount[j]!;
    if (amount > 0) {
      gifts++;
      assert.equal(catalog.authorIsLive[catalog.itemAuthor[batch.item[j]!]!], 1);
      assert.equal(out.click[j], 1);
      assert.ok(Number.isInteger(amount) && amount >= 1);
    }
  }
  assert.ok(gifts > 500, `gifts ${gifts}`);
});

test('familiarity raises click probability; fatigue lowers it (invariants)', () => {
  const world = createWorld(catalog, DEFAULT_WORLD_CONFIG, 3);
  const pc = new Float32Array(PAIR_COUNT_DIM);
  for (let k = 0; k < 200; k++) {
    const u = k % catalog.numUsers,
      i = (k * 37) % catalog.numItems;
    pc.fill(0);
    const p0 = world.clickProbability(u, i, pc);
    pc[PC_CLICK] = 3;
    const p1 = world.clickProbability(u, i, pc);
    pc[PC_FOLLOW] = 1;
    const p2 = world.clickProbability(u, i, pc);
    pc[PC_GIFT] = 2;
    const p3 = world.clickProbability(u, i, pc);
    assert.ok(p0 < p1 && p1 < p2 && p2 < p3, `${p0} ${p1} ${p2} ${p3}`);
    assert.ok(world.clickProbability(u, i, pc, 0, 2, 0) < p3);
    assert.ok(world.clickProbability(u, i, pc, 0, 0, 3) < p3);
    // Hand-computed: sigmoid(base + phi) with phi = b_n log1p(3) + b_f + b_g log1p(2).
    const f = DEFAULT_WORLD_CONFIG.familiarity;
    const expected = 1 / (1 + Math.exp(-(world.baseClickLogit(u, i) + f.clicks * Math.log1p(3) + f.follow + f.gifts * Math.log1p(2))));
    assert.ok(Math.abs(p3 - expected) < 1e-12);
  }
  // Empirically: followed pairs click more often than fresh ones on the same exposures.
  const n = 40000;
  const out = allocResponseBatch(n);
  world.respond(randomBatch(n, 8), new Rng(9), out);
  const fresh = out.click.reduce((s, x) => s + x, 0) / n;
  world.respond(
    randomBatch(n, 8, (_, c, o) => ((c[o + PC_FOLLOW] = 1), (c[o + PC_CLICK] = 5))),
    new Rng(9),
    out,
  );
  const familiar = out.click.reduce((s, x) => s + x, 0) / n;
  // Standard error of each rate is below 0.0025; the gap must be far larger.
  assert.ok(familiar - fresh > 0.15, `fresh ${fresh} familiar ${familiar}`);
});

test('the affinity matches a hand computation from the latent parameters', () => {
  const world = createWorld(catalog, DEFAULT_WORLD_CONFIG, 3);
  const d = world.latentDim;
  const v = new Float32Array(d);
  for (const [u, i] of [
    [0, 0],
    [7, 123],
    [499, 2999],
  ] as const) {
    world.itemVector(i, v);
    let dot = 0;
    for (let k = 0; k < d; k++) dot += world.userInterest[u * d + k]! * v[k]!;
    assert.ok(Math.abs(world.affinity(u, i) - dot / Math.sqrt(d)) < 1e-5);
    const a = catalog.itemAuthor[i]!;
    const s = DEFAULT_WORLD_CONFIG.affinityScale;
    assert.ok(Math.abs(world.longTermAffinity(u, i) - (s * world.affinity(u, i) + world.authorQuality[a]! + s * world.authorAffinity(u, a))) < 1e-9);
  }
});

test('the empirical click rate matches the expected click probabilities', () => {
  const world = createWorld(catalog, DEFAULT_WORLD_CONFIG, 3);
  const n = 50000;
  const batch = randomBatch(n, 10, (j, c, o) => (c[o + PC_CLICK] = j % 4));
  const out = allocResponseBatch(n);
  world.respond(batch, new Rng(11), out);
  const p = world.expectedClickProbabilities(batch, new Float32Array(n));
  let expected = 0,
    variance = 0,
    observed = 0;
  for (let j = 0; j < n; j++) {
    expected += p[j]!;
    variance += p[j]! * (1 - p[j]!);
    observed += out.click[j]!;
  }
  assert.ok(Math.abs(observed - expected) < 4 * Math.sqrt(variance), `observed ${observed} expected ${expected}`);
});

test('deterministic: same world seed and rng give the same responses', () => {
  const n = 5000;
  const batch = randomBatch(n, 12);
  const a = allocResponseBatch(n),
    b = allocResponseBatch(n),
    c = allocResponseBatch(n);
  createWorld(catalog, DEFAULT_WORLD_CONFIG, 3).respond(batch, new Rng(13), a);
  createWorld(catalog, DEFAULT_WORLD_CONFIG, 3).respond(batch, new Rng(13), b);
  createWorld(catalog, DEFAULT_WORLD_CONFIG, 4).respond(batch, new Rng(13), c);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.playTimeMs, c.playTimeMs);
  // A fixed number of draws per exposure: the rng ends in the same state whatever the outcomes.
  const r1 = new Rng(14),
    r2 = new Rng(14);
  createWorld(catalog, DEFAULT_WORLD_CONFIG, 3).respond(batch, r1, a);
  createWorld(catalog, mergeWorldConfig({ click: { intercept: 5 } }), 3).respond(batch, r2, b);
  assert.deepEqual(r1.getState(), r2.getState());
});

test('respond refuses an output batch smaller than the exposures', () => {
  const world = createWorld(catalog, DEFAULT_WORLD_CONFIG, 3);
  assert.throws(() => world.respond(randomBatch(10, 1), new Rng(1), allocResponseBatch(5)), /output batch holds 5 responses, the exposure batch has 10/);
});

test('quit and return helpers follow the config', () => {
  const world = createWorld(catalog, DEFAULT_WORLD_CONFIG, 3);
  const s = DEFAULT_WORLD_CONFIG.session;
  assert.ok(Math.abs(world.sessionBudget(0) - (s.budgetBase + s.budgetPerActivity * catalog.userActivity[0]!)) < 1e-6);
  const p0 = world.dailyReturnProbability(0, 0, 0);
  assert.ok(world.dailyReturnProbability(0, 0.5, 0) > p0);
  assert.ok(world.dailyReturnProbability(0, 0, 5) > p0);
});

test('an oracle ranking by true long-term affinity beats random slates on clicks, watch time and follows', () => {
  // Follows made frequent (intercept -6 instead of -10) so their counts are large enough to compare.
  const world = createWorld(catalog, mergeWorldConfig({ follow: { intercept: -6 } }), 3);
  const users = 300,
    rounds = 15,
    n = 100,
    k = 6;
  /** Runs `rounds` requests per user; the pair counts evolve with the responses. */
  const run = (oracle: boolean) => {
    const rng = new Rng(21);
    const responseRng = new Rng(22);
    const pairs = new Map<number, Float32Array>();
    const batch = randomBatch(users * k, 0);
    const out = allocResponseBatch(users * k);
    const cand = new Int32Array(n);
    const scores = new Float32Array(n);
    let clicks = 0,
      play = 0,
      follows = 0;
    for (let r = 0; r < rounds; r++) {
      for (let u = 0; u < users; u++) {
        for (let c = 0; c < n; c++) cand[c] = rng.int(catalog.numItems);
        let order = Array.from({ length: n }, (_, c) => c);
        if (oracle) {
          world.scoreLongTerm(u, cand, n, scores);
          order.sort((x, y) => scores[y]! - scores[x]!);
        } else order = order.slice(0, k);
        for (let p = 0; p < k; p++) {
          const j = u * k + p;
          const item = cand[order[p]!]!;
          batch.user[j] = u;
          batch.item[j] = item;
          batch.position[j] = p;
          const counts = pairs.get(u * catalog.numAuthors + catalog.itemAuthor[item]!);
          batch.pairCounts.fill(0, j * PAIR_COUNT_DIM, (j + 1) * PAIR_COUNT_DIM);
          if (counts) batch.pairCounts.set(counts, j * PAIR_COUNT_DIM);
        }
      }
      world.respond(batch, responseRng, out);
      for (let j = 0; j < users * k; j++) {
        const key = batch.user[j]! * catalog.numAuthors + catalog.itemAuthor[batch.item[j]!]!;
        let counts = pairs.get(key);
        if (!counts) pairs.set(key, (counts = new Float32Array(PAIR_COUNT_DIM)));
        counts[PC_CLICK]! += out.click[j]!;
        if (out.follow[j]) counts[PC_FOLLOW] = 1;
        if (out.giftAmount[j]! > 0) counts[PC_GIFT]! += 1;
        clicks += out.click[j]!;
        play += out.playTimeMs[j]!;
        follows += out.follow[j]!;
      }
    }
    return { ctr: clicks / (users * rounds * k), playS: play / 1000 / (users * rounds * k), follows };
  };
  const oracle = run(true);
  const random = run(false);
  // 27,000 exposures each: the standard error of a CTR is below 0.003.
  assert.ok(oracle.ctr > random.ctr + 0.1, `CTR oracle ${oracle.ctr} random ${random.ctr}`);
  assert.ok(oracle.playS > 1.5 * random.playS, `play oracle ${oracle.playS} random ${random.playS}`);
  assert.ok(oracle.follows > 2 * random.follows + 20, `follows oracle ${oracle.follows} random ${random.follows}`);
});
