import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LOG_COLUMNS } from '../../src/data/kuairand-schema.js';
import { readKuaiRandLog, readGiftLog } from '../../src/data/kuairand-reader.js';
import { KUAIRAND_PURE_RATES, RATE_KEYS } from '../../src/environment/calibration.js';
import { DAY_MS, KUAIRAND_START_MS } from '../../src/environment/environment.js';
import { GENERATION_PRESETS, calibrationUsersFor, generateDataset, worldLoggingPolicy } from '../../src/environment/log-generation.js';
import { buildDescribedCatalog, buildDescribedWorld, readWorldDescription } from '../../src/environment/world-description.js';
import { DEFAULT_WORLD_CONFIG } from '../../src/world/world-config.js';
import { tempDir } from '../helpers/paths.js';

test('generate at the smoke preset writes valid KuaiRand logs whose rates are within ±20 % of KuaiRand-Pure', async () => {
  const out = tempDir('rliv-generate-');
  const result = await generateDataset({ outDir: out, scale: GENERATION_PRESETS.smoke, seed: 1 });
  // 900 user-days over 3 days: the smoke preset's 300 users, all of them.
  assert.equal(result.calibrationUsers, 300);
  // The preset's warm-up day is not written: the logs start on the day after it.
  assert.equal(GENERATION_PRESETS.smoke.warmUpDays, 1);
  let firstMs = Infinity;
  for await (const b of readKuaiRandLog(result.files.log)) for (let r = 0; r < b.count; r++) firstMs = Math.min(firstMs, b.timeMs[r]!);
  assert.equal(Math.floor((firstMs - KUAIRAND_START_MS) / DAY_MS), 1, 'the first logged exposure is on day 1, after the warm-up day 0');

  // Exact header, and the reader (which validates every field) accepts the file.
  const header = readFileSync(result.files.log, 'utf8').split('\n', 1)[0];
  assert.equal(header, LOG_COLUMNS.join(','));
  assert.equal(LOG_COLUMNS.length, 19);
  let rows = 0,
    clicks = 0,
    longViews = 0,
    likes = 0,
    comments = 0,
    follows = 0,
    play = 0,
    rand = 0;
  const perRequest = new Map<string, number>();
  for await (const b of readKuaiRandLog(result.files.log)) {
    for (let r = 0; r < b.count; r++) {
      rows++;
      clicks += b.isClick[r]!;
      longViews += b.longView[r]!;
      likes += b.isLike[r]!;
      comments += b.isComment[r]!;
      follows += b.isFollow[r]!;
      play += b.playTimeMs[r]!;
      rand += b.isRand[r]!;
      const dur = b.durationMs[r]!;
      const p = b.playTimeMs[r]!;
      // KuaiRand's play-time rules.
      assert.equal(b.isClick[r], (dur <= 7000 ? p >= dur : p > 7000) ? 1 : 0, `is_click rule at line ${b.firstLine + r}`);
      assert.equal(b.longView[r], (dur <= 18000 ? p >= dur : p > 18000) ? 1 : 0, `long_view rule at line ${b.firstLine + r}`);
      const key = `${b.userId[r]}:${b.timeMs[r]}`;
      perRequest.set(key, (perRequest.get(key) ?? 0) + 1);
    }
  }
  assert.equal(rows, result.rows);
  assert.ok(rows > 10_000, `smoke log has ${rows} rows`);
  assert.ok(Math.max(...perRequest.values()) <= 6, 'at most 6 items share a time_ms');
  assert.ok([...perRequest.values()].filter((n) => n === 6).length > perRequest.size * 0.9, 'requests show K=6 items');
  // is_rand near KuaiRand's 0.37 % (binomial spread at this size).
  assert.ok(rand / rows > 0.0015 && rand / rows < 0.007, `is_rand share ${rand / rows}`);

  // The figures recomputed from the file equal calibration.json's, and are within tolerance.
  const cal = JSON.parse(readFileSync(result.files.calibration, 'utf8')) as {
    rates: Record<string, { generated: number; kuairand: number }>;
    warmUpDays: number;
  };
  assert.equal(cal.warmUpDays, 1);
  assert.deepEqual(Object.keys(cal.rates).sort(), [...RATE_KEYS].sort());
  const fromFile: Record<string, number> = {
    click: clicks / rows,
    long_view: longViews / rows,
    like: likes / rows,
    comment: comments / rows,
    follow: follows / rows,
    play_time_s: play / rows / 1000,
  };
  for (const k of RATE_KEYS) {
    assert.equal(cal.rates[k]!.kuairand, KUAIRAND_PURE_RATES[k]);
    assert.ok(
      Math.abs(cal.rates[k]!.generated - fromFile[k]!) <= 1e-6 * Math.max(1, fromFile[k]!),
      `${k}: calibration.json ${cal.rates[k]!.generated} vs file ${fromFile[k]}`,
    );
    assert.ok(Math.abs(fromFile[k]! / KUAIRAND_PURE_RATES[k] - 1) <= 0.2, `${k}: generated ${fromFile[k]} vs KuaiRand ${KUAIRAND_PURE_RATES[k]}`);
  }

  // Gifts file: only live-streamer authors, positive amounts.
  const gifts = await readGiftLog(result.files.gifts);
  assert.equal(gifts.count, result.giftRows);
  const authorOfRaw = new Map<number, number>();
  result.catalog.authorRawId.forEach((raw, a) => authorOfRaw.set(raw, a));
  for (let k = 0; k < gifts.count; k++) {
    assert.ok(gifts.amount[k]! >= 1);
    assert.equal(result.catalog.authorIsLive[authorOfRaw.get(gifts.authorId[k]!)!], 1);
  }

  // world.json rebuilds the same catalog and the calibrated world.
  const description = readWorldDescription(result.files.world);
  const rebuilt = await buildDescribedWorld(description);
  assert.equal(rebuilt.catalog.numItems, result.catalog.numItems);
  assert.deepEqual(Array.from(rebuilt.catalog.itemDurationMs.subarray(0, 50)), Array.from(result.catalog.itemDurationMs.subarray(0, 50)));
  assert.equal(rebuilt.world.config.click.intercept, result.world.config.click.intercept);
  assert.equal(rebuilt.world.affinity(3, 7), result.world.affinity(3, 7));
  // The world's logging policy is the one that wrote these logs (a learned simulator answers its choices as standard-log ones).
  assert.equal(worldLoggingPolicy(result.catalog, result.world, 1).wroteTheStandardLog, true);
});

test('calibration runs on a budget of user-days: a shorter horizon calibrates on more users, never more than exist', () => {
  // The presets keep their historical sample: 300 x 3, 600 x 7 and 1,500 x 14 user-days.
  assert.equal(calibrationUsersFor(GENERATION_PRESETS.smoke, 300), 300);
  assert.equal(calibrationUsersFor(GENERATION_PRESETS.quick, 3000), 600);
  assert.equal(calibrationUsersFor(GENERATION_PRESETS.paper, 27285), 1500);
  // `--days 1` on the quick preset: 4,200 users for one day, not 600.
  assert.equal(calibrationUsersFor({ ...GENERATION_PRESETS.quick, days: 1 }, 27285), 4200);
  assert.equal(calibrationUsersFor({ ...GENERATION_PRESETS.quick, days: 1 }, 3000), 3000);
  // A budget that does not divide evenly rounds up: 1,000 user-days over 3 days is 334 users.
  assert.equal(calibrationUsersFor({ calibrationUserDays: 1000, days: 3 }, 5000), 334);
  assert.equal(calibrationUsersFor({ calibrationUserDays: 0, days: 3 }, 5000), 0);
  assert.throws(() => calibrationUsersFor({ calibrationUserDays: -1, days: 3 }, 10), /calibrationUserDays must be a non-negative integer, got -1/);
  assert.throws(() => calibrationUsersFor({ calibrationUserDays: 10, days: 0 }, 10), /days must be a positive integer, got 0/);
});

test("a world's description rebuilds its world's catalog: buildDescribedCatalog reads the description's popularity exponent", async () => {
  const description = {
    kind: 'rliv-world' as const,
    version: 1 as const,
    catalogSeed: 7,
    worldSeed: 8,
    numUsers: 200,
    numItems: 3000,
    worldConfig: { ...DEFAULT_WORLD_CONFIG, popularityExponent: 1.4 },
  };
  const { catalog } = await buildDescribedWorld(description);
  const rebuilt = await buildDescribedCatalog(description);
  assert.deepEqual(Array.from(rebuilt.itemAuthor), Array.from(catalog.itemAuthor));
  assert.deepEqual(Array.from(rebuilt.authorPopularity), Array.from(catalog.authorPopularity));
  // The exponent matters: the default one (1.0) gives other authors' popularity.
  const { worldConfig: _, ...withoutConfig } = description;
  const other = await buildDescribedCatalog(withoutConfig);
  assert.notDeepEqual(Array.from(other.authorPopularity), Array.from(catalog.authorPopularity));
});
