/**
 * `rliv bench numeric`: the numeric core's speed on the RLIV-UA training
 * workload, against PyTorch in the same run (issue 2, docs/design.md §11).
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
 * identical workloads (1 thread, SparseAdam) as a child in --serve mode and
 * the timings ALTERNATE (rliv repeat, PyTorch repeat, ...) so both see the
 * same load on a shared machine; the ratio is reported
 * (against the plain nn.ModuleList step; the script also times PyTorch with
 * MlpGroup's fusion written by hand, reported as a reference figure).
 * Throughputs are the median of 5 timed repeats after a warm-up, by wall
 * clock (the headline figures) and per CPU-second of the process (reported
 * too, because the machine is shared and wall clock includes waiting).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './bench-context.js';
import { Adam } from '../src/numeric/adam.js';
import { EmbeddingTable } from '../src/numeric/embedding.js';
import { gemm, gemmAt, gemmBackend, nativeStatus } from '../src/numeric/gemm.js';
import { huberLoss, sumOfColumnMeans } from '../src/numeric/losses.js';
import { Mlp } from '../src/numeric/mlp.js';
import { MlpGroup } from '../src/numeric/mlp-group.js';
import { Rng } from '../src/numeric/rng.js';

/** Shape of the benchmark; the defaults are the issue's workload. */
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
  /** Timed repeats, alternating with PyTorch (the median is reported); default 5. */
  repeats: number;
  /** Scoring calls timed for p50/p99; default 2,000. */
  scoreCalls: number;
  /** Candidates per scoring call; default 300. */
  candidates: number;
}

export const DEFAULT_NUMERIC_BENCH: Readonly<NumericBenchOptions> = {
  batch: 1024,
  rows: 100_000,
  dim: 32,
  fields: 3,
  heads: 12,
  hidden: 64,
  steps: 20,
  warmup: 5,
  repeats: 5,
  scoreCalls: 2000,
  candidates: 300,
};

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

/**
 * Floating-point operations of one full step's MLP group, the roofline's
 * numerator: every layer of every head costs one multiply-add per weight
 * and sample forward, and two more backward (the weight gradient, and the
 * input gradient, which the first layer also needs because it flows into
 * the embedding table): 2 x 3 x batch x heads x sum(in x out). The gather,
 * Huber loss, scatter and Adam are left out (a few % of the step).
 */
export function fullStepFlops(o: Pick<NumericBenchOptions, 'batch' | 'heads' | 'fields' | 'dim' | 'hidden'>): number {
  const sizes = [o.fields * o.dim, o.hidden, o.hidden, 1];
  let macs = 0;
  for (let l = 0; l + 1 < sizes.length; l++) macs += sizes[l]! * sizes[l + 1]!;
  return 6 * o.batch * o.heads * macs;
}

/**
 * The floor of the full step under the backend in use: the wall time of
 * exactly the gemm calls MlpGroup makes for one step (src/numeric/mlp-group.ts:
 * the fused first layer forward, its weight and input gradients, and per
 * head the hidden layer's forward, weight and input gradients, with the
 * same transposes and strides), nothing else; median ms of `repeats` x
 * `calls`. The output layer (a segmented dot product, not a gemm), ReLU,
 * loss, gather, scatter and Adam are what the step adds on top. A step made
 * of these gemms cannot run faster than this on this core.
 */
export function measureGemmFloor(o: NumericBenchOptions, rng: Rng, calls = 10): { ms: number; gflops: number } {
  const G = o.heads,
    B = o.batch,
    fin = o.fields * o.dim,
    h = o.hidden,
    width = G * h;
  const buf = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const x = buf(B * fin),
    w1 = buf(width * fin),
    g1 = new Float32Array(width * fin),
    a1 = buf(B * width),
    d1 = buf(B * width),
    dx = new Float32Array(B * fin);
  const w2 = buf(G * h * h),
    g2 = new Float32Array(G * h * h),
    a2 = new Float32Array(B * width),
    d2 = buf(B * width);
  const once = (): void => {
    gemm(false, true, B, width, fin, 1, x, fin, w1, fin, 1, a1, width);
    for (let g = 0; g < G; g++) gemmAt(false, true, B, h, h, 1, a1, g * h, width, w2, g * h * h, h, 1, a2, g * h, width);
    for (let g = 0; g < G; g++) {
      gemmAt(true, false, h, h, B, 1, d2, g * h, width, a1, g * h, width, 1, g2, g * h * h, h);
      gemmAt(false, false, B, h, h, 1, d2, g * h, width, w2, g * h * h, h, 0, d1, g * h, width);
    }
    gemm(true, false, width, fin, B, 1, d1, width, x, fin, 1, g1, fin);
    gemm(false, false, B, fin, width, 1, d1, width, w1, fin, 0, dx, fin);
  };
  for (let i = 0; i < 3; i++) once();
  const runs: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) once();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6 / calls);
  }
  const ms = median(runs);
  // The gemm flops of the step: fullStepFlops without the output layer (hidden -> 1, a segmented dot product).
  const gemmFlops = fullStepFlops(o) - 6 * B * G * h;
  return { ms, gflops: gemmFlops / ms / 1e6 };
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

/** The PyTorch reference running as a child in --serve mode: one command in, one JSON line out. */
class TorchPeer {
  private readonly pending: Array<{ resolve: (v: Record<string, number>) => void; reject: (e: Error) => void }> = [];
  private stderr = '';
  private exited: string | null = null;
  readonly ready: Promise<Record<string, unknown>>;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout });
    let resolveReady!: (v: Record<string, unknown>) => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    let gotReady = false;
    lines.on('line', (line) => {
      let msg: Record<string, number>;
      try {
        msg = JSON.parse(line) as Record<string, number>;
      } catch {
        return; // not a reply (torch may print warnings)
      }
      if (!gotReady) {
        gotReady = true;
        resolveReady(msg);
        return;
      }
      this.pending.shift()?.resolve(msg);
    });
    child.on('exit', (code, signal) => {
      this.exited = `torch_numeric.py exited (${signal ?? code}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      const err = new Error(this.exited);
      if (!gotReady) rejectReady(err);
      for (const p of this.pending.splice(0)) p.reject(err);
    });
  }

  /** Sends one command (`full N`, `fused N`, `mlp N`, `score C`) and waits for its reply. */
  ask(command: string): Promise<Record<string, number>> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(command + '\n');
    });
  }

  close(): void {
    if (!this.exited) this.child.stdin.end('quit\n');
  }
}

function startTorch(o: NumericBenchOptions, seed: number): TorchPeer | { error: string } {
  const avail = torchAvailability();
  if (!avail.ok) return { error: avail.reason };
  const script = findBenchScript('torch_numeric.py');
  if (!script) return { error: 'bench/torch_numeric.py not found' };
  const args = [
    script,
    '--serve',
    '--batch',
    String(o.batch),
    '--rows',
    String(o.rows),
    '--dim',
    String(o.dim),
    '--fields',
    String(o.fields),
    '--heads',
    String(o.heads),
    '--hidden',
    String(o.hidden),
    '--candidates',
    String(o.candidates),
    '--seed',
    String(seed),
  ];
  const child = spawn(SYSTEM_PYTHON, args, {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new TorchPeer(child);
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

/** Times `steps` calls of `step`: wall and CPU seconds of this process. */
function timeSteps(step: () => void, steps: number): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) step();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

/**
 * Runs ours and (when available) PyTorch's step alternately, repeat by
 * repeat, so both see the same machine load; returns median samples/s.
 */
async function interleaved(label: string, step: () => void, torchCommand: string | null, peer: TorchPeer | null, o: NumericBenchOptions, steps: number) {
  for (let i = 0; i < o.warmup; i++) step();
  if (peer && torchCommand) await peer.ask(`${torchCommand} ${o.warmup}`);
  const ours: Array<{ wall: number; cpu: number }> = [];
  const theirs: Array<{ wall: number; cpu: number }> = [];
  for (let r = 0; r < o.repeats; r++) {
    ours.push(timeSteps(step, steps));
    if (peer && torchCommand) theirs.push((await peer.ask(`${torchCommand} ${steps}`)) as { wall: number; cpu: number });
  }
  const rate = (runs: Array<{ wall: number; cpu: number }>, key: 'wall' | 'cpu') => (runs.length ? median(runs.map((x) => (o.batch * steps) / x[key])) : null);
  return { label, wall: rate(ours, 'wall')!, cpu: rate(ours, 'cpu')!, torchWall: rate(theirs, 'wall'), torchCpu: rate(theirs, 'cpu') };
}

/** `rliv bench numeric`'s flags. */
export interface NumericBenchFlags {
  /** `--iterations N`: timed steps per repeat (and 100 N scoring calls, at least 100); default DEFAULT_NUMERIC_BENCH's. */
  iterations?: number;
}

export async function runNumericBench(flags: NumericBenchFlags, ctx: BenchContext): Promise<Record<string, unknown>> {
  const o: NumericBenchOptions = { ...DEFAULT_NUMERIC_BENCH };
  const iterations = flags.iterations;
  if (iterations !== undefined) {
    o.steps = iterations;
    o.scoreCalls = Math.max(100, iterations * 100);
  }
  const backend = gemmBackend();
  ctx.log(`numeric bench: gemm backend ${backend} (${nativeStatus()})`);
  const extra: Record<string, unknown> = {};

  // Start PyTorch first: its import and set-up overlap with ours (nothing is timed yet).
  const started = startTorch(o, ctx.seed);
  let peer: TorchPeer | null = null;
  if ('error' in started) {
    ctx.log(`  PyTorch reference skipped: ${started.error}`);
    extra.torchSkipped = started.error;
  } else {
    peer = started;
  }
  const rng = new Rng(ctx.seed);
  const full = buildFullStep(o, rng);
  const single = buildMlpStep(o, rng);
  if (peer) {
    try {
      const hello = await peer.ready;
      extra.torchVersion = hello.torch;
      ctx.log(`numeric bench: PyTorch ${String(hello.torch)} reference ready (1 thread); timings alternate rliv / PyTorch`);
    } catch (err) {
      ctx.log(`  PyTorch reference skipped: ${(err as Error).message}`);
      extra.torchSkipped = (err as Error).message;
      peer = null;
    }
  }

  try {
    ctx.log(
      `numeric bench: full step (batch ${o.batch}, ${o.rows} x ${o.dim} embedding, ${o.fields} ids/sample, ${o.heads} MLPs ${o.fields * o.dim}-${o.hidden}-${o.hidden}-1, Huber, lazy Adam) ...`,
    );
    const f = await interleaved('full', full.step, 'full', peer, o, o.steps);
    ctx.log(`  rliv full step: ${round(f.wall, 0)} samples/s (${round((1000 * o.batch) / f.wall, 2)} ms/step; ${round(f.cpu, 0)} samples per CPU-second)`);
    if (f.torchWall !== null) ctx.log(`  PyTorch full step: ${round(f.torchWall, 0)} samples/s (${round(f.torchCpu!, 0)} samples per CPU-second)`);

    const m = await interleaved('mlp', single.step, 'mlp', peer, o, o.steps * 4);
    ctx.log(`  single-MLP step: rliv ${round(m.wall, 0)} samples/s${m.torchWall !== null ? `, PyTorch ${round(m.torchWall, 0)} samples/s` : ''}`);

    if (peer) {
      await peer.ask(`fused ${o.warmup}`);
      const fusedRuns: number[] = [];
      for (let r = 0; r < o.repeats; r++) fusedRuns.push((o.batch * o.steps) / (await peer.ask(`fused ${o.steps}`)).wall!);
      extra.torchFusedFullStepSamplesPerSec = round(median(fusedRuns), 0);
      ctx.log(`  (reference: PyTorch with MlpGroup's fusion written by hand: ${round(median(fusedRuns), 0)} samples/s)`);
    }

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
    if (peer) {
      await peer.ask('score 50');
      const s = await peer.ask(`score ${o.scoreCalls}`);
      extra.torchScore300P50Ms = round(s.p50!, 4);
      extra.torchScore300P99Ms = round(s.p99!, 4);
      ctx.log(`  PyTorch score ${o.candidates} candidates: p50 ${s.p50!.toFixed(4)} ms, p99 ${s.p99!.toFixed(4)} ms`);
    }

    // The floor: the step's own gemm calls alone. Both sides call an sgemm on one thread, so when
    // PyTorch's step takes less than twice this floor, no rliv step built on these gemms reaches 2x.
    const flops = fullStepFlops(o);
    const floor = measureGemmFloor(o, rng.fork('gemm-floor'));
    const stepMs = (samplesPerSec: number) => (1000 * o.batch) / samplesPerSec;
    ctx.log(
      `  gemm floor: the step's own ${backend} gemm calls alone take ${round(floor.ms, 2)} ms (${round(floor.gflops, 1)} GFLOP/s); ` +
        `rliv's step ${round(stepMs(f.wall), 2)} ms (${round((100 * floor.ms) / stepMs(f.wall), 0)} % of it in those gemms, ${round(flops * 1e-6, 1)} MFLOP)` +
        (f.torchWall !== null
          ? `; PyTorch's ${round(stepMs(f.torchWall), 2)} ms, so 2x PyTorch means ${round(stepMs(f.torchWall) / 2, 2)} ms, ` +
            `${round(stepMs(f.torchWall) / 2 / floor.ms, 2)}x the gemm floor`
          : ''),
    );
    extra.gemmFloor = {
      stepMflop: round(flops * 1e-6, 1),
      gemmFloorMs: round(floor.ms, 3),
      gemmFloorGflops: round(floor.gflops, 1),
      rlivStepMs: round(stepMs(f.wall), 3),
      ...(f.torchWall !== null ? { torchStepMs: round(stepMs(f.torchWall), 3), twoXTorchStepMs: round(stepMs(f.torchWall) / 2, 3) } : {}),
    };

    let ratio: number | null = null;
    if (f.torchWall !== null) {
      ratio = f.wall / f.torchWall;
      const cpuRatio = f.cpu / f.torchCpu!;
      ctx.log(`  ratio rliv / PyTorch (full step): ${ratio.toFixed(2)}x wall clock, ${cpuRatio.toFixed(2)}x per CPU-second`);
      extra.torchFullStepSamplesPerCpuSec = round(f.torchCpu!, 0);
      extra.cpuRatio = round(cpuRatio, 3);
      extra.torchMlpStepSamplesPerSec = round(m.torchWall!, 0);
    }
    return {
      bench: 'numeric',
      backend,
      fullStepSamplesPerSec: round(f.wall, 0),
      torchFullStepSamplesPerSec: f.torchWall === null ? null : round(f.torchWall, 0),
      ratio: ratio === null ? null : round(ratio, 3),
      mlpStepSamplesPerSec: round(m.wall, 0),
      score300P50Ms: round(p50, 4),
      score300P99Ms: round(p99, 4),
      fullStepSamplesPerCpuSec: round(f.cpu, 0),
      score300CpuP99Ms: round(cpuP99, 4),
      loadAverage1m: round(loadavg()[0]!, 2),
      ...extra,
    };
  } finally {
    peer?.close();
  }
}
