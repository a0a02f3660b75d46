/**
 * `rliv bench numeric`: the numeric core's speed on the RLIV-UA training
 * workload, against PyTorch in the same run (issue 2, DESIGN.md §7).
 *
 * Workloads (batch 1024, all through the same EmbeddingTable / MlpGroup /
 * Mlp / Adam classes the agents use):
 * - full step: 100,000 x 32 hashed embedding table, 3 ids per sample
 *   gathered into a 96-d input, 12 MLPs 96-64-64-1 (4 towers x (2 critics
 *   + reward head)) as one MlpGroup, the sum of the 12 per-head Huber
 *   losses, Adam on the MLPs with lazy (touched rows only) embedding updates;
 * - single-MLP step: one 96-64-64-1 Mlp, Huber loss, Adam;
 * - scoring 300 candidates with one Mlp: p50/p99 latency over 2,000 calls.
 * When /usr/bin/python3 can import torch, bench/torch_numeric.py runs the
 * identical workloads (1 thread, SparseAdam) and the ratio is reported
 * (against the plain nn.ModuleList step; the script also times PyTorch with
 * MlpGroup's fusion written by hand, reported as a reference figure).
 * Throughputs are the median of 3 timed repeats after a warm-up, by wall
 * clock (the headline figures) and per CPU-second of the process (reported
 * too, because the machine is shared and wall clock includes waiting).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag, type CommandContext, type OptionValues } from '../src/cli/command.js';
import { Adam } from '../src/numeric/adam.js';
import { EmbeddingTable } from '../src/numeric/embedding.js';
import { gemmBackend, nativeStatus } from '../src/numeric/gemm.js';
import { huberLoss, sumOfColumnMeans } from '../src/numeric/losses.js';
import { Mlp } from '../src/numeric/mlp.js';
import { MlpGroup } from '../src/numeric/mlp-group.js';
import { Rng } from '../src/numeric/rng.js';

/** Shape of the benchmark; the defaults are the workload. */
export interface NumericBenchOptions {
  /** Samples per training step; default 1024. */
  batch: number;
  /** Embedding rows; default 100,000. */
  rows: number;
  /** Embedding width; default 32. */
  dim: number;
  /** Ids per sample (user, author, pair); default 3, so the input is fields*dim = 96-d. */
  fields: number;
  /** Heads in the group: 4 towers x (2 critics + reward head) = 12. */
  heads: number;
  /** Hidden width of every MLP; default 64. */
  hidden: number;
  /** Timed full steps per repeat; default 20 (the MLP step runs 4x as many). */
  steps: number;
  /** Untimed warm-up steps; default 5. */
  warmup: number;
  /** Timed repeats (the median is reported); default 3. */
  repeats: number;
  /** Scoring calls timed for p50/p99; default 2,000. */
  scoreCalls: number;
  /** Candidates per scoring call; default 300. */
  candidates: number;
}

export const DEFAULT_NUMERIC_BENCH: Readonly<NumericBenchOptions> = {
  batch: 1024, rows: 100_000, dim: 32, fields: 3, heads: 12, hidden: 64, steps: 20, warmup: 5, repeats: 3, scoreCalls: 2000, candidates: 300,
};

/**
 * Median samples/s over `repeats` runs of `steps` calls of `step`, by wall
 * clock and by this process's CPU time (the CPU figure is less disturbed when
 * other processes share the cores).
 */
function measureRate(step: () => void, batch: number, warmup: number, steps: number, repeats: number): { wall: number; cpu: number } {
  for (let i = 0; i < warmup; i++) step();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) step();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    wall.push((batch * steps) / seconds);
    cpu.push((batch * steps) / ((c.user + c.system) / 1e6));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  return { wall: median(wall), cpu: median(cpu) };
}

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The full RLIV-UA-shaped training step, built once; `step()` runs one batch. */
export function buildFullStep(o: NumericBenchOptions, rng: Rng): { step: () => number } {
  const inDim = o.fields * o.dim;
  const emb = new EmbeddingTable({ rows: o.rows, dim: o.dim, name: 'emb' }, rng.fork('emb'));
  const group = new MlpGroup({ heads: o.heads, sizes: [inDim, o.hidden, o.hidden, 1], name: 'heads' }, rng.fork('heads'));
  const adam = new Adam([emb.table, ...group.params()], { lr: 1e-3 });
  // Pre-drawn batches (as the PyTorch script does), so the timing is the step, not the data.
  const nBatches = 8;
  const data = rng.fork('data');
  const rowsOf: Int32Array[][] = [];
  const targets: Float32Array[] = [];
  for (let b = 0; b < nBatches; b++) {
    const fields: Int32Array[] = [];
    for (let f = 0; f < o.fields; f++) {
      const ids = new Int32Array(o.batch);
      for (let i = 0; i < o.batch; i++) ids[i] = emb.rowOf(f, data.int(1_000_000_000));
      fields.push(ids);
    }
    rowsOf.push(fields);
    const t = new Float32Array(o.batch * o.heads);
    for (let i = 0; i < t.length; i++) t[i] = data.normal();
    targets.push(t);
  }
  const x = new Float32Array(o.batch * inDim);
  const grad = new Float32Array(o.batch * o.heads);
  const n = o.batch * o.heads;
  let next = 0;
  const step = (): number => {
    const ids = rowsOf[next % nBatches]!;
    const target = targets[next % nBatches]!;
    next++;
    for (let f = 0; f < o.fields; f++) emb.gather(ids[f]!, o.batch, x, inDim, f * o.dim);
    const out = group.forward(x, o.batch);
    const loss = sumOfColumnMeans(huberLoss(out, target, n, 1.0, grad), o.heads, grad, n);
    const dx = group.backward(grad, o.batch);
    for (let f = 0; f < o.fields; f++) emb.scatterAddGrad(ids[f]!, o.batch, dx, inDim, f * o.dim);
    adam.step();
    adam.zeroGrad();
    return loss;
  };
  return { step };
}

/** One Mlp with Huber loss and Adam; `step()` runs one batch. Also returns the Mlp for scoring. */
export function buildMlpStep(o: NumericBenchOptions, rng: Rng): { step: () => number; mlp: Mlp } {
  const inDim = o.fields * o.dim;
  const mlp = new Mlp({ sizes: [inDim, o.hidden, o.hidden, 1], name: 'mlp', inputGrad: false }, rng.fork('mlp'));
  const adam = new Adam(mlp.params(), { lr: 1e-3 });
  const data = rng.fork('mlp-data');
  const nBatches = 8;
  const xs: Float32Array[] = [];
  const ys: Float32Array[] = [];
  for (let b = 0; b < nBatches; b++) {
    xs.push(Float32Array.from({ length: o.batch * inDim }, () => data.normal()));
    ys.push(Float32Array.from({ length: o.batch }, () => data.normal()));
  }
  const grad = new Float32Array(o.batch);
  let next = 0;
  const step = (): number => {
    const x = xs[next % nBatches]!;
    const y = ys[next % nBatches]!;
    next++;
    const out = mlp.forward(x, o.batch);
    const loss = huberLoss(out, y, o.batch, 1.0, grad);
    mlp.backward(grad, o.batch);
    adam.step();
    adam.zeroGrad();
    return loss;
  };
  return { step, mlp };
}

/** Finds bench/<name> (a Python script, which tsc does not copy to dist/) by walking up from this module. */
export function findBenchScript(name: string): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++) {
    const candidate = join(dir, 'bench', name);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Whether Debian's torch is importable; returns the reason when it is not. */
export function torchAvailability(): { ok: boolean; reason: string } {
  if (!existsSync(SYSTEM_PYTHON)) return { ok: false, reason: `${SYSTEM_PYTHON} not found` };
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return { ok: false, reason: `${SYSTEM_PYTHON} cannot import torch: ${(r.stderr || String(r.error)).trim().split('\n').pop()}` };
  return { ok: true, reason: '' };
}

interface TorchFigures {
  torch: string;
  fullStepSamplesPerSec: number;
  fullStepSamplesPerCpuSec: number;
  fusedFullStepSamplesPerSec: number;
  mlpStepSamplesPerSec: number;
  score300P50Ms: number;
  score300P99Ms: number;
}

function runTorch(o: NumericBenchOptions, seed: number, ctx: CommandContext): TorchFigures | { error: string } {
  const avail = torchAvailability();
  if (!avail.ok) return { error: avail.reason };
  const script = findBenchScript('torch_numeric.py');
  if (!script) return { error: 'bench/torch_numeric.py not found' };
  ctx.log(`numeric bench: running the PyTorch reference (${script}) ...`);
  const args = [script, '--batch', String(o.batch), '--rows', String(o.rows), '--dim', String(o.dim), '--fields', String(o.fields),
    '--heads', String(o.heads), '--hidden', String(o.hidden), '--steps', String(o.steps), '--warmup', String(o.warmup),
    '--repeats', String(o.repeats), '--score-calls', String(o.scoreCalls), '--candidates', String(o.candidates), '--seed', String(seed)];
  const r = spawnSync(SYSTEM_PYTHON, args, {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    timeout: 20 * 60_000,
  });
  if (r.status !== 0) return { error: `torch_numeric.py failed (exit ${r.status}): ${(r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' | ')}` };
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as TorchFigures;
  } catch {
    return { error: `torch_numeric.py printed no JSON line: ${last.slice(0, 200)}` };
  }
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

export async function runNumericBench(values: OptionValues, ctx: CommandContext): Promise<Record<string, unknown>> {
  const o: NumericBenchOptions = { ...DEFAULT_NUMERIC_BENCH };
  const iterations = intFlag(values, 'iterations', 1, 1_000_000);
  if (iterations !== undefined) {
    o.steps = iterations;
    o.scoreCalls = Math.max(100, iterations * 100);
  }
  const backend = gemmBackend();
  ctx.log(`numeric bench: gemm backend ${backend} (${nativeStatus()})`);
  const rng = new Rng(ctx.seed);

  ctx.log(`numeric bench: full step (batch ${o.batch}, ${o.rows} x ${o.dim} embedding, ${o.fields} ids/sample, ${o.heads} MLPs ${o.fields * o.dim}-${o.hidden}-${o.hidden}-1, Huber, lazy Adam) ...`);
  const full = buildFullStep(o, rng);
  const fullRates = measureRate(full.step, o.batch, o.warmup, o.steps, o.repeats);
  const fullRate = fullRates.wall;
  ctx.log(`  full step: ${round(fullRate, 0)} samples/s (${round((1000 * o.batch) / fullRate, 2)} ms/step; ${round(fullRates.cpu, 0)} samples per CPU-second)`);

  const single = buildMlpStep(o, rng);
  const mlpRate = measureRate(single.step, o.batch, o.warmup, o.steps * 4, o.repeats).wall;
  ctx.log(`  single-MLP step: ${round(mlpRate, 0)} samples/s`);

  const inDim = o.fields * o.dim;
  const cand = Float32Array.from({ length: o.candidates * inDim }, () => rng.normal());
  for (let i = 0; i < 50; i++) single.mlp.forward(cand, o.candidates);
  const times = new Float64Array(o.scoreCalls);
  const cpuTimes = new Float64Array(o.scoreCalls);
  let sink = 0;
  for (let i = 0; i < o.scoreCalls; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    sink += single.mlp.forward(cand, o.candidates)[0]!;
    times[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    cpuTimes[i] = (c.user + c.system) / 1000;
  }
  if (!Number.isFinite(sink)) throw new Error('scoring produced a non-finite value');
  times.sort();
  cpuTimes.sort();
  const p50 = percentile(times, 0.5);
  const p99 = percentile(times, 0.99);
  const cpuP99 = percentile(cpuTimes, 0.99);
  ctx.log(`  score ${o.candidates} candidates: p50 ${p50.toFixed(4)} ms, p99 ${p99.toFixed(4)} ms (CPU time p99 ${cpuP99.toFixed(4)} ms)`);

  const torch = runTorch(o, ctx.seed, ctx);
  let torchFull: number | null = null;
  let ratio: number | null = null;
  const extra: Record<string, unknown> = {};
  if ('error' in torch) {
    ctx.log(`  PyTorch reference skipped: ${torch.error}`);
    extra.torchSkipped = torch.error;
  } else {
    torchFull = torch.fullStepSamplesPerSec;
    ratio = fullRate / torchFull;
    ctx.log(`  PyTorch ${torch.torch}: full step ${round(torchFull, 0)} samples/s, MLP step ${round(torch.mlpStepSamplesPerSec, 0)} samples/s, score p50 ${torch.score300P50Ms.toFixed(4)} ms / p99 ${torch.score300P99Ms.toFixed(4)} ms`);
    const cpuRatio = fullRates.cpu / torch.fullStepSamplesPerCpuSec;
    ctx.log(`  ratio rliv / PyTorch (full step): ${ratio.toFixed(2)}x wall clock, ${cpuRatio.toFixed(2)}x per CPU-second`);
    extra.torchFullStepSamplesPerCpuSec = round(torch.fullStepSamplesPerCpuSec, 0);
    extra.torchFusedFullStepSamplesPerSec = round(torch.fusedFullStepSamplesPerSec, 0);
    ctx.log(`  (reference: PyTorch with MlpGroup's fusion hand-written: ${round(torch.fusedFullStepSamplesPerSec, 0)} samples/s)`);
    extra.cpuRatio = round(cpuRatio, 3);
    extra.torchVersion = torch.torch;
    extra.torchMlpStepSamplesPerSec = round(torch.mlpStepSamplesPerSec, 0);
    extra.torchScore300P50Ms = round(torch.score300P50Ms, 4);
    extra.torchScore300P99Ms = round(torch.score300P99Ms, 4);
  }
  return {
    bench: 'numeric',
    backend,
    fullStepSamplesPerSec: round(fullRate, 0),
    torchFullStepSamplesPerSec: torchFull === null ? null : round(torchFull, 0),
    ratio: ratio === null ? null : round(ratio, 3),
    mlpStepSamplesPerSec: round(mlpRate, 0),
    score300P50Ms: round(p50, 4),
    score300P99Ms: round(p99, 4),
    fullStepSamplesPerCpuSec: round(fullRates.cpu, 0),
    score300CpuP99Ms: round(cpuP99, 4),
    loadAverage1m: round(loadavg()[0]!, 2),
    ...extra,
  };
}
