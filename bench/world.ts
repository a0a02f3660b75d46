/**
 * `rliv bench world` (register in src/cli/bench.ts): speed and memory of the
 * data and world layers.
 *
 * - catalog: synthetic KuaiRand-27K-sized catalog (27,285 users, 2,000,000
 *   items by default) build time and the bytes its typed arrays hold;
 * - world: ground-truth world construction time and bytes, then
 *   `respond` throughput on batches of 4,096 random exposures with pair
 *   counts (median of 3 timed repeats after a warm-up);
 * - log io: KuaiRand-format log write rows/s and streaming read rows/s on a
 *   generated 1,000,000-row log (written under the OS temp directory, deleted).
 * Each workload is also exported for `bench/simulator.ts` to reuse.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './bench-context.js';
import { Rng } from '../src/numeric/rng.js';
import { PAIR_COUNT_DIM, PC_CLICK, PC_FOLLOW } from '../src/data/interaction-kinds.js';
import { KuaiRandLogWriter, emptyLogRow } from '../src/data/kuairand-log-writer.js';
import { readKuaiRandLog } from '../src/data/kuairand-reader.js';
import { buildCatalog } from '../src/world/catalog-builder.js';
import type { Catalog } from '../src/world/catalog.js';
import { createWorld } from '../src/world/ground-truth-world.js';
import { allocResponseBatch, type ExposureBatch, type ResponseModel } from '../src/world/response.js';

function typedBytes(obj: object): number {
  let bytes = 0;
  for (const v of Object.values(obj)) if (ArrayBuffer.isView(v)) bytes += v.byteLength;
  return bytes;
}

/** Seconds of CPU this process used since `start` (user + system): on a shared machine a fairer clock than wall time. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

/** Median of a small sample (the middle of the sorted values). */
export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * `respond` throughput of any ResponseModel (the ground-truth world or the
 * learned simulator): `batches` batches of `batchSize` random exposures with
 * pair counts, after `warmup` untimed batches; median of 3 repeats, per wall
 * second and per CPU second.
 */
export function benchResponses(
  responder: ResponseModel,
  catalog: Catalog,
  batchSize = 4096,
  batches = 100,
  warmup = 20,
): { perSec: number; perCpuSec: number } {
  const rng = new Rng(7);
  const b: ExposureBatch = {
    count: batchSize,
    user: new Int32Array(batchSize),
    item: new Int32Array(batchSize),
    pairCounts: new Float32Array(batchSize * PAIR_COUNT_DIM),
    repeatAuthor: new Float32Array(batchSize),
    repeatTag: new Float32Array(batchSize),
    position: new Int32Array(batchSize),
  };
  for (let j = 0; j < batchSize; j++) {
    b.user[j] = rng.int(catalog.numUsers);
    b.item[j] = rng.int(catalog.numItems);
    b.position[j] = j % 6;
    b.repeatAuthor[j] = j % 3 === 0 ? 1 : 0;
    b.pairCounts[j * PAIR_COUNT_DIM + PC_CLICK] = j % 5;
    b.pairCounts[j * PAIR_COUNT_DIM + PC_FOLLOW] = j % 11 === 0 ? 1 : 0;
  }
  const out = allocResponseBatch(batchSize);
  for (let r = 0; r < warmup; r++) responder.respond(b, rng, out);
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let r = 0; r < batches; r++) responder.respond(b, rng, out);
    cpuRates.push((batchSize * batches) / cpuSeconds(c0));
    rates.push((batchSize * batches) / ((performance.now() - t0) / 1000));
  }
  return { perSec: median(rates), perCpuSec: median(cpuRates) };
}

/** Writes a `rows`-row KuaiRand-format log into `dir` and streams it back: rows/s of each, and the file size. */
export async function benchLogIo(
  catalog: Catalog,
  rows: number,
  dir: string,
): Promise<{ writeRowsPerSec: number; writeRowsPerCpuSec: number; loadRowsPerSec: number; loadRowsPerCpuSec: number; bytes: number }> {
  const path = join(dir, 'log_standard_bench.csv');
  const rng = new Rng(3);
  const row = emptyLogRow();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const w = new KuaiRandLogWriter(path);
  let time = Date.UTC(2022, 3, 8);
  for (let i = 0; i < rows; i++) {
    if (i % 6 === 0) time += 1000 + rng.int(60000);
    const item = rng.int(catalog.numItems);
    row.userId = rng.int(catalog.numUsers);
    row.videoId = item;
    row.timeMs = time;
    row.isClick = rng.uniform() < 0.46 ? 1 : 0;
    row.longView = row.isClick && rng.uniform() < 0.7 ? 1 : 0;
    row.isLike = row.isClick && rng.uniform() < 0.04 ? 1 : 0;
    row.playTimeMs = row.isClick ? 7001 + rng.int(60000) : rng.int(3000);
    row.durationMs = catalog.itemDurationMs[item]!;
    row.isRand = rng.uniform() < 0.0037 ? 1 : 0;
    row.tab = 1;
    w.append(row);
  }
  w.close();
  const writeRowsPerSec = rows / ((performance.now() - t0) / 1000);
  const writeRowsPerCpuSec = rows / cpuSeconds(c0);
  const bytes = statSync(path).size;
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  let read = 0;
  let clicks = 0;
  for await (const batch of readKuaiRandLog(path)) {
    read += batch.count;
    for (let r = 0; r < batch.count; r++) clicks += batch.isClick[r]!;
  }
  const loadRowsPerSec = read / ((performance.now() - t1) / 1000);
  const loadRowsPerCpuSec = read / cpuSeconds(c1);
  if (read !== rows || clicks === 0) throw new Error(`log io bench: read ${read} rows of ${rows}`);
  return { writeRowsPerSec, writeRowsPerCpuSec, loadRowsPerSec, loadRowsPerCpuSec, bytes };
}

/** `rliv bench world`'s flags (checked by the command). */
export interface WorldBenchFlags {
  /** `--items N`: catalog size in items (>= 1). */
  items: number;
  /** `--rows N`: log rows written and read back (>= 1). */
  rows: number;
  /** `--iterations N`: batches of 4,096 exposures timed for the world's responses (>= 1). */
  responseBatches: number;
}

export async function runWorldBench(flags: WorldBenchFlags, ctx: BenchContext): Promise<Record<string, unknown>> {
  const items = flags.items;
  const logRows = flags.rows;
  const rssBefore = process.memoryUsage().rss;
  let t = performance.now();
  const catalog = buildCatalog({ numUsers: 27285, numItems: items }, new Rng(ctx.seed).fork('catalog'));
  const catalogMs = performance.now() - t;
  const catalogMb = typedBytes(catalog) / 2 ** 20;
  ctx.log(
    `catalog: ${catalog.numUsers} users, ${catalog.numItems} items, ${catalog.numAuthors} authors in ${catalogMs.toFixed(0)} ms, ${catalogMb.toFixed(1)} MB of arrays`,
  );
  t = performance.now();
  const world = createWorld(catalog, undefined, ctx.seed);
  const worldMs = performance.now() - t;
  const worldMb =
    (world.userInterest.byteLength +
      world.authorStyle.byteLength +
      world.authorQuality.byteLength +
      world.tagEmbedding.byteLength +
      world.itemNoise.byteLength) /
    2 ** 20;
  ctx.log(`world: built in ${worldMs.toFixed(0)} ms, ${worldMb.toFixed(1)} MB of latent parameters`);
  const responses = benchResponses(world, world.catalog, 4096, flags.responseBatches);
  ctx.log(`world responses: ${(responses.perSec / 1e6).toFixed(2)} M/s wall, ${(responses.perCpuSec / 1e6).toFixed(2)} M per CPU second (one thread)`);
  const dir = mkdtempSync(join(tmpdir(), 'rliv-bench-world-'));
  try {
    const io = await benchLogIo(catalog, logRows, dir);
    ctx.log(
      `log (${logRows} rows, ${(io.bytes / 2 ** 20).toFixed(0)} MB): write ${(io.writeRowsPerSec / 1e6).toFixed(2)} M rows/s wall (${(io.writeRowsPerCpuSec / 1e6).toFixed(2)} M per CPU s), ` +
        `streaming read ${(io.loadRowsPerSec / 1e6).toFixed(2)} M rows/s wall (${(io.loadRowsPerCpuSec / 1e6).toFixed(2)} M per CPU s)`,
    );
    return {
      bench: 'world',
      items: catalog.numItems,
      catalogBuildMs: Math.round(catalogMs),
      catalogMb: Number(catalogMb.toFixed(1)),
      worldBuildMs: Math.round(worldMs),
      worldMb: Number(worldMb.toFixed(1)),
      worldResponsesPerSec: Math.round(responses.perSec),
      worldResponsesPerCpuSec: Math.round(responses.perCpuSec),
      logWriteRowsPerSec: Math.round(io.writeRowsPerSec),
      logWriteRowsPerCpuSec: Math.round(io.writeRowsPerCpuSec),
      loadRowsPerSec: Math.round(io.loadRowsPerSec),
      loadRowsPerCpuSec: Math.round(io.loadRowsPerCpuSec),
      peakRssMb: Math.round(Math.max(process.memoryUsage().rss, rssBefore) / 2 ** 20),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
