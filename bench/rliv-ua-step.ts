/**
 * Benchmark of the FULL RLIV-UA training step (src/agents/rliv-ua-network.ts)
 * and of its scoring, against the same step in PyTorch
 * (bench/torch_rliv_ua_step.py) when /usr/bin/python3 has torch.
 *
 * The catalog is KuaiRand-Pure's (real user and video tables, from
 * RLIV_DATA_DIR or ../shared/data/kuairand-pure) when present, else a
 * synthetic one of the same size. The replay buffer is filled with random
 * ASA samples (uniform users and items, small counts, 0/1 and log1p
 * rewards); a step is: replay sample -> H, H' of the author's items ->
 * target critics -> TD targets -> 4 towers x (r_hat, V_1, V_2) forward/backward
 * -> assistance BCE -> embedding scatter -> Adam (+ lazy rows) -> soft update.
 *
 * Run: node --import tsx bench/rliv-ua-step.ts [--steps N] [--batch B] [--no-torch]
 * or import `runRlivUaStepBench` (same shape as the other benches).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RlivUaAgent } from '../src/agents/rliv-ua.js';
import { allocSampleBatch } from '../src/mdp/scri-mdp.js';
import { PAIR_COUNT_DIM, TOWER_COUNT } from '../src/data/interaction-kinds.js';
import { Rng } from '../src/numeric/rng.js';
import { gemmBackend } from '../src/numeric/gemm.js';
import { buildCatalog } from '../src/world/catalog-builder.js';
import { loadCatalogFromKuaiRand } from '../src/world/load-catalog.js';
import type { Catalog } from '../src/world/catalog.js';
import { findBenchScript, SYSTEM_PYTHON, torchAvailability } from './numeric.js';

export interface RlivUaStepBenchOptions {
  batch: number;
  steps: number;
  repeats: number;
  warmup: number;
  /** Samples put in the replay buffer. */
  samples: number;
  scoreCalls: number;
  torch: boolean;
}

const DEFAULTS: RlivUaStepBenchOptions = { batch: 1024, steps: 10, repeats: 3, warmup: 3, samples: 50_000, scoreCalls: 2000, torch: true };

export async function benchCatalog(log: (m: string) => void): Promise<{ catalog: Catalog; source: string }> {
  const dir = process.env.RLIV_DATA_DIR ?? resolve(process.cwd(), '../shared/data/kuairand-pure');
  const users = join(dir, 'user_features_pure.csv');
  const videos = join(dir, 'video_features_basic_pure.csv');
  if (existsSync(users) && existsSync(videos)) {
    log(`rliv-ua bench: KuaiRand-Pure catalog from ${dir}`);
    return { catalog: await loadCatalogFromKuaiRand(users, videos, {}, new Rng(1)), source: 'kuairand-pure' };
  }
  log('rliv-ua bench: KuaiRand-Pure tables not found; synthetic catalog of the same size');
  return { catalog: buildCatalog({}, new Rng(1)), source: 'synthetic' };
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export async function runRlivUaStepBench(
  options: Partial<RlivUaStepBenchOptions> = {},
  log: (m: string) => void = (m) => process.stderr.write(m + '\n'),
): Promise<Record<string, unknown>> {
  const o = { ...DEFAULTS, ...options };
  const { catalog, source } = await benchCatalog(log);
  const agent = new RlivUaAgent({ catalog, seed: 1 }, { batchSize: o.batch, replayCapacity: o.samples });
  // Random ASA samples straight into the replay buffer (the joiner path has its own benchmark figures).
  const rng = new Rng(2);
  const staging = allocSampleBatch(o.samples);
  const nextHist = new Array(8).fill(0);
  for (let i = 0; i < o.samples; i++) {
    const item = rng.int(catalog.numItems);
    const author = catalog.itemAuthor[item]!;
    staging.user[i] = rng.int(catalog.numUsers);
    staging.item[i] = item;
    staging.author[i] = author;
    const clicked = rng.bernoulli(0.4);
    const seconds = clicked ? 2 + rng.int(60) : 0;
    for (let k = 0; k < PAIR_COUNT_DIM; k++) staging.pairCounts[i * PAIR_COUNT_DIM + k] = k === 3 ? rng.int(2) : rng.int(6);
    staging.nextPairCounts.set(staging.pairCounts.subarray(i * PAIR_COUNT_DIM, (i + 1) * PAIR_COUNT_DIM), i * PAIR_COUNT_DIM);
    if (clicked) {
      staging.nextPairCounts[i * PAIR_COUNT_DIM]! += 1;
      staging.nextPairCounts[i * PAIR_COUNT_DIM + 6]! += seconds;
    }
    staging.rewards[i * TOWER_COUNT] = clicked ? 1 : 0;
    staging.rewards[i * TOWER_COUNT + 1] = Math.log1p(seconds);
    staging.rewards[i * TOWER_COUNT + 2] = clicked && rng.bernoulli(0.01) ? 1 : 0;
    const gift = clicked && catalog.authorIsLive[author] === 1 && rng.bernoulli(0.05);
    staging.rewards[i * TOWER_COUNT + 3] = gift ? 1 : 0;
    staging.giftLabel[i] = gift ? 1 : 0;
    nextHist[Math.min(8, catalog.authorItemOffsets[author + 1]! - catalog.authorItemOffsets[author]!) - 1]++;
  }
  staging.count = o.samples;
  agent.replay.pushBatch(staging);
  const meanNext = nextHist.reduce((s, c, k) => s + c * (k + 1), 0) / o.samples;
  log(
    `rliv-ua bench: ${catalog.numUsers} users (${catalog.userFeatureFields.length} feature fields), ${catalog.numItems} items (${catalog.itemFeatureFields.length} fields), ${catalog.numAuthors} authors; ${meanNext.toFixed(2)} next items per sample; gemm ${gemmBackend()}`,
  );

  agent.train(o.warmup);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    agent.train(o.steps);
    const c = process.cpuUsage(c0);
    wall.push((o.batch * o.steps) / (Number(process.hrtime.bigint() - t0) / 1e9));
    cpu.push((o.batch * o.steps) / ((c.user + c.system) / 1e6));
  }
  const stepRate = median(wall);
  const stepCpuRate = median(cpu);
  log(
    `  full step (batch ${o.batch}, incl. replay sampling): ${stepRate.toFixed(0)} samples/s wall, ${stepCpuRate.toFixed(0)} samples per CPU-second (${((1000 * o.batch) / stepRate).toFixed(1)} ms/step)`,
  );

  // Scoring 300 candidates: the default watch-time score, and all four towers (serving).
  const n = Math.min(300, catalog.numItems);
  const request = {
    user: 5,
    candidates: Int32Array.from({ length: n }, () => rng.int(catalog.numItems)),
    candidatePairCounts: Float32Array.from({ length: n * PAIR_COUNT_DIM }, () => rng.int(4)),
    summary: new Float32Array(8),
  };
  const out = new Float32Array(n);
  const livs = new Float32Array(n * TOWER_COUNT);
  const lat = (f: () => void): { p50: number; p99: number } => {
    for (let i = 0; i < 100; i++) f();
    const t = new Float64Array(o.scoreCalls);
    for (let i = 0; i < o.scoreCalls; i++) {
      const t0 = process.hrtime.bigint();
      f();
      t[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    t.sort();
    return { p50: t[Math.floor(0.5 * t.length)]!, p99: t[Math.floor(0.99 * t.length)]! };
  };
  const score = lat(() => agent.score(request, out));
  const perTower = lat(() => agent.livPerTower(request, livs));
  log(`  score ${n} candidates (watch-time LIV): p50 ${score.p50.toFixed(3)} ms, p99 ${score.p99.toFixed(3)} ms`);
  log(`  LIV of all 4 towers for ${n} candidates: p50 ${perTower.p50.toFixed(3)} ms, p99 ${perTower.p99.toFixed(3)} ms`);

  const result: Record<string, unknown> = {
    bench: 'rliv-ua-step',
    catalog: source,
    batch: o.batch,
    gemm: gemmBackend(),
    nextItemsPerSample: Number(meanNext.toFixed(3)),
    stepSamplesPerSec: Math.round(stepRate),
    stepSamplesPerCpuSec: Math.round(stepCpuRate),
    score300P50Ms: Number(score.p50.toFixed(4)),
    score300P99Ms: Number(score.p99.toFixed(4)),
    livPerTower300P50Ms: Number(perTower.p50.toFixed(4)),
    livPerTower300P99Ms: Number(perTower.p99.toFixed(4)),
  };
  if (o.torch) {
    const avail = torchAvailability();
    const script = findBenchScript('torch_rliv_ua_step.py');
    if (!avail.ok || !script) {
      result.torchSkipped = avail.ok ? 'bench/torch_rliv_ua_step.py not found' : avail.reason;
    } else {
      log('  running the PyTorch reference ...');
      const r = spawnSync(
        SYSTEM_PYTHON,
        [
          script,
          '--batch',
          String(o.batch),
          '--rows',
          String(agent.config.embeddingRows),
          '--user-fields',
          String(1 + catalog.userFeatureFields.length),
          '--author-fields',
          String(5 + catalog.itemFeatureFields.length),
          '--next-hist',
          nextHist.join(','),
          '--steps',
          String(o.steps),
          '--repeats',
          String(o.repeats),
          '--warmup',
          String(o.warmup),
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
          timeout: 20 * 60_000,
        },
      );
      const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
      try {
        const t = JSON.parse(last) as { torch: string; stepSamplesPerSec: number; stepSamplesPerCpuSec: number };
        result.torch = t.torch;
        result.torchStepSamplesPerSec = Math.round(t.stepSamplesPerSec);
        result.torchStepSamplesPerCpuSec = Math.round(t.stepSamplesPerCpuSec);
        result.ratioWall = Number((stepRate / t.stepSamplesPerSec).toFixed(2));
        result.ratioCpu = Number((stepCpuRate / t.stepSamplesPerCpuSec).toFixed(2));
        log(
          `  PyTorch ${t.torch}: ${t.stepSamplesPerSec.toFixed(0)} samples/s wall, ${t.stepSamplesPerCpuSec.toFixed(0)} per CPU-second; ratio rliv/PyTorch ${result.ratioWall}x wall, ${result.ratioCpu}x CPU`,
        );
      } catch {
        result.torchSkipped = `torch_rliv_ua_step.py failed (exit ${r.status}): ${(r.stderr || last).trim().split('\n').slice(-2).join(' | ')}`;
      }
    }
  }
  return result;
}

// Standalone: node --import tsx bench/rliv-ua-step.ts [--steps N] [--batch B] [--no-torch]
if (process.argv[1] && /rliv-ua-step\.(ts|js)$/.test(process.argv[1])) {
  const args = process.argv.slice(2);
  const num = (flag: string): number | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const opts: Partial<RlivUaStepBenchOptions> = { torch: !args.includes('--no-torch') };
  if (num('--steps') !== undefined) opts.steps = num('--steps')!;
  if (num('--batch') !== undefined) opts.batch = num('--batch')!;
  runRlivUaStepBench(opts).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
