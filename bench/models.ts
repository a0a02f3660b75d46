/**
 * `rliv bench models`: one training step of every model of the experiment
 * at batch 1024, against the same step of the same network in PyTorch in
 * the same run (issue 15 item 5).
 *
 * Every agent is built by the registry with `batchSize` 1024 and observes
 * the same sessions: the world's logging policy over the KuaiRand-Pure
 * catalog (or a synthetic one of the same size when the tables are absent),
 * N = 100 candidates per request. A timed repeat is `agent.train(steps)`:
 * for the request-level baselines that is exactly `steps` gradient steps
 * (RLUR's include one ranking-model step each and the signals of the
 * entries they sample), for RLIV-UA and its ablations `steps` steps of the
 * network on ASA samples. The PyTorch references are bench/torch_models.py
 * (RankingModel, DQN, CQL, TD3, RLUR) and bench/torch_rliv_ua_step.py (the
 * RLIV-UA variants), each told this catalog's field counts and the replay's
 * measured shape, run as a child in --serve mode; the timings ALTERNATE
 * (rliv repeat, PyTorch repeat, ...) so both see the same machine load, and
 * the ratio of the medians is reported per model, by wall clock and per
 * CPU-second. The target (issue 15): every ratio >= 1.5.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { PAPER_MODEL_ORDER, createAgent } from '../src/agents/registry.js';
import { RLIV_UA_VARIANTS } from '../src/agents/rliv-ua-variants.js';
import type { Ranker } from '../src/agents/ranker.js';
import { gemmBackend, nativeStatus } from '../src/numeric/gemm.js';
import { Rng } from '../src/numeric/rng.js';
import { Environment } from '../src/environment/environment.js';
import { worldLoggingPolicy } from '../src/environment/log-generation.js';
import type { SessionTrace } from '../src/environment/trace.js';
import { sessionOptionsFromWorld } from '../src/environment/world-session-options.js';
import { createWorld } from '../src/world/ground-truth-world.js';
import { mergeWorldConfig } from '../src/world/world-config.js';
import type { Catalog } from '../src/world/catalog.js';
import { findBenchScript, SYSTEM_PYTHON, torchAvailability } from './numeric.js';
import { benchCatalog } from './rliv-ua-step.js';
import type { BenchContext } from './bench-context.js';

/** What `rliv bench models` runs. */
export interface ModelsBenchOptions {
  /** Models, exact registry names; default all ten. */
  models: string[];
  /** Samples per training step (issue 15: 1024). */
  batch: number;
  /** Timed steps per repeat. */
  steps: number;
  /** Untimed steps first. */
  warmup: number;
  /** Timed repeats, alternating with PyTorch (medians are reported). */
  repeats: number;
  /** Users whose logging-policy sessions every agent observes. */
  users: number;
  /** Run the PyTorch references when available. */
  torch: boolean;
  /** The catalog (tests pass a small one); default KuaiRand-Pure's tables, or a synthetic catalog of their size. */
  catalog?: Catalog;
}

export const DEFAULT_MODELS_BENCH: Readonly<ModelsBenchOptions> = {
  models: [...PAPER_MODEL_ORDER],
  batch: 1024,
  steps: 10,
  warmup: 3,
  repeats: 3,
  users: 3000,
  torch: true,
};

/** One model's figures: samples per second (wall and per CPU-second) of ours and PyTorch's, and the ratios. */
export interface ModelBenchRow {
  model: string;
  msPerStep: number;
  samplesPerSec: number;
  samplesPerCpuSec: number;
  torchSamplesPerSec?: number;
  torchSamplesPerCpuSec?: number;
  ratioWall?: number;
  ratioCpu?: number;
  torchSkipped?: string;
}

type Timing = { wall: number; cpu: number };

/** A PyTorch reference child in --serve mode: "step N" in, {"wall", "cpu"} out. */
class TorchChild {
  private readonly pending: Array<{ resolve: (v: Timing) => void; reject: (e: Error) => void }> = [];
  private stderr = '';
  private exited: string | null = null;
  readonly ready: Promise<{ torch: string }>;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    label: string,
  ) {
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    let gotReady = false;
    let resolveReady!: (v: { torch: string }) => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!gotReady) {
        gotReady = true;
        resolveReady(msg as { torch: string });
      } else this.pending.shift()?.resolve(msg as Timing);
    });
    child.on('exit', (code, signal) => {
      this.exited = `${label} exited (${signal ?? code}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      const err = new Error(this.exited);
      if (!gotReady) rejectReady(err);
      for (const p of this.pending.splice(0)) p.reject(err);
    });
  }

  steps(n: number): Promise<Timing> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`step ${n}\n`);
    });
  }

  close(): void {
    if (!this.exited) this.child.stdin.end('quit\n');
  }
}

/** Shape of the request-level replay the PyTorch side imitates (measured on the TypeScript agent's data). */
interface ReplayShape {
  userFields: number;
  itemFields: number;
  candidates: number;
  slate: number;
  doneRate: number;
  meanNextItems: number;
  nextHist: number[];
}

function replayShape(catalog: Catalog, sessions: readonly SessionTrace[]): ReplayShape {
  let requests = 0;
  let ends = 0;
  let slate = 0;
  const nextHist = new Array(8).fill(0) as number[];
  for (const s of sessions) {
    requests += s.requests.length;
    if (s.requests.length > 0) ends++;
    for (const r of s.requests) {
      slate = Math.max(slate, r.slate.length);
      for (const p of r.slate) {
        const a = catalog.itemAuthor[r.candidates[p]!]!;
        nextHist[Math.min(8, catalog.authorItemOffsets[a + 1]! - catalog.authorItemOffsets[a]!) - 1]!++;
      }
    }
  }
  const exposures = nextHist.reduce((x, y) => x + y, 0);
  return {
    userFields: 1 + catalog.userFeatureFields.length,
    itemFields: 3 + catalog.itemFeatureFields.length,
    candidates: 16,
    slate,
    doneRate: ends / Math.max(1, requests),
    meanNextItems: nextHist.reduce((s, c, k) => s + c * (k + 1), 0) / Math.max(1, exposures),
    nextHist,
  };
}

/** The PyTorch reference of `model` with this replay's shape, or why there is none. */
function startReference(model: string, o: ModelsBenchOptions, shape: ReplayShape, agent: Ranker, seed: number): TorchChild | { error: string } {
  const variant = (RLIV_UA_VARIANTS as Record<string, { towers: readonly string[]; supervised: boolean; assistance: boolean }>)[model];
  const script = findBenchScript(variant ? 'torch_rliv_ua_step.py' : 'torch_models.py');
  if (!script) return { error: `bench/${variant ? 'torch_rliv_ua_step.py' : 'torch_models.py'} not found` };
  const rows = (agent as unknown as { config: { embeddingRows: number } }).config.embeddingRows;
  const common = ['--serve', '--batch', String(o.batch), '--rows', String(rows), '--seed', String(seed)];
  const args = variant
    ? [
        script,
        ...common,
        '--user-fields',
        String(shape.userFields),
        '--author-fields',
        String(shape.itemFields + 2),
        '--next-hist',
        shape.nextHist.join(','),
        '--towers',
        String(variant.towers.length),
        '--supervised',
        variant.supervised ? '1' : '0',
        '--assistance',
        variant.assistance ? '1' : '0',
      ]
    : [
        script,
        ...common,
        '--model',
        model,
        '--user-fields',
        String(shape.userFields),
        '--item-fields',
        String(shape.itemFields),
        '--candidates',
        String(shape.candidates),
        '--slate',
        String(shape.slate),
        '--done-rate',
        shape.doneRate.toFixed(4),
      ];
  const child = spawn(SYSTEM_PYTHON, args, {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new TorchChild(child, `${script.split('/').pop()} --model ${model}`);
}

function timeTrain(agent: Ranker, steps: number): Timing {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const stats = agent.train(steps);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  if (stats.steps !== steps) throw new Error(`${agent.name}.train(${steps}) ran ${stats.steps} steps`);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
const round = (x: number, digits = 0): number => Number(x.toFixed(digits));

/** Sessions of the logging policy over a synthetic-world ground truth on `catalog` (what every agent observes). */
function benchSessions(catalog: Catalog, users: number, seed: number): SessionTrace[] {
  const world = createWorld(catalog, mergeWorldConfig({}), seed);
  const env = new Environment(catalog, world, { numCandidates: 100, seed, ...sessionOptionsFromWorld(world.config) });
  const ids = new Rng(seed)
    .fork('bench-users')
    .shuffle(Array.from({ length: catalog.numUsers }, (_, i) => i))
    .slice(0, Math.min(users, catalog.numUsers));
  return env.runSessions(ids, worldLoggingPolicy(catalog, world, seed));
}

export async function runModelsBench(options: Partial<ModelsBenchOptions>, ctx: BenchContext): Promise<Record<string, unknown>> {
  const o: ModelsBenchOptions = { ...DEFAULT_MODELS_BENCH, ...options };
  const log = (m: string): void => ctx.log(m);
  const seed = ctx.seed;
  for (const m of o.models)
    if (!(PAPER_MODEL_ORDER as readonly string[]).includes(m))
      throw new RangeError(`bench models: unknown model "${m}"; known: ${PAPER_MODEL_ORDER.join(', ')}`);
  const loadStart = loadavg()[0]!;
  const { catalog, source } = o.catalog ? { catalog: o.catalog, source: 'given' } : await benchCatalog(log);
  const sessions = benchSessions(catalog, o.users, seed);
  const shape = replayShape(catalog, sessions);
  const requests = sessions.reduce((s, t) => s + t.requests.length, 0);
  log(
    `models bench: ${catalog.numUsers} users (${shape.userFields} user fields), ${catalog.numItems} items (${shape.itemFields} item fields); ${sessions.length} logging-policy sessions, ${requests} requests; batch ${o.batch}; gemm ${gemmBackend()} (${nativeStatus()})`,
  );
  let torchReason: string | null = null;
  if (o.torch) {
    const avail = torchAvailability();
    if (!avail.ok) torchReason = avail.reason;
  } else torchReason = 'disabled (--no-torch)';
  if (torchReason) log(`  PyTorch references skipped: ${torchReason}`);
  const rows: ModelBenchRow[] = [];
  let torchVersion: string | undefined;
  for (const model of o.models) {
    const agent = createAgent(model, { catalog, seed }, { batchSize: o.batch });
    agent.observe(sessions);
    let peer: TorchChild | null = null;
    let skipped = torchReason ?? undefined;
    if (!torchReason) {
      const started = startReference(model, o, shape, agent, seed);
      if ('error' in started) skipped = started.error;
      else peer = started;
    }
    timeTrain(agent, o.warmup);
    if (peer) {
      try {
        torchVersion = (await peer.ready).torch;
        await peer.steps(o.warmup);
      } catch (err) {
        skipped = (err as Error).message;
        peer = null;
      }
    }
    const ours: Timing[] = [];
    const theirs: Timing[] = [];
    for (let r = 0; r < o.repeats; r++) {
      ours.push(timeTrain(agent, o.steps));
      if (peer) {
        try {
          theirs.push(await peer.steps(o.steps));
        } catch (err) {
          skipped = (err as Error).message;
          peer = null;
        }
      }
    }
    peer?.close();
    const rate = (runs: Timing[], key: keyof Timing): number => median(runs.map((x) => (o.batch * o.steps) / x[key]));
    const row: ModelBenchRow = {
      model,
      msPerStep: round((1000 * o.batch) / rate(ours, 'wall'), 2),
      samplesPerSec: round(rate(ours, 'wall')),
      samplesPerCpuSec: round(rate(ours, 'cpu')),
    };
    if (theirs.length === o.repeats) {
      row.torchSamplesPerSec = round(rate(theirs, 'wall'));
      row.torchSamplesPerCpuSec = round(rate(theirs, 'cpu'));
      row.ratioWall = round(rate(ours, 'wall') / rate(theirs, 'wall'), 2);
      row.ratioCpu = round(rate(ours, 'cpu') / rate(theirs, 'cpu'), 2);
    } else if (skipped) row.torchSkipped = skipped;
    rows.push(row);
    log(
      `  ${model.padEnd(22)} ${String(row.samplesPerSec).padStart(7)} samples/s (${row.msPerStep} ms/step, ${row.samplesPerCpuSec} per CPU-s)` +
        (row.ratioWall !== undefined
          ? `  PyTorch ${row.torchSamplesPerSec} samples/s (${row.torchSamplesPerCpuSec} per CPU-s)  ratio ${row.ratioWall}x wall, ${row.ratioCpu}x CPU`
          : row.torchSkipped
            ? `  (PyTorch: ${row.torchSkipped})`
            : ''),
    );
  }
  const loadEnd = loadavg()[0]!;
  const ratios = rows.filter((r) => r.ratioWall !== undefined);
  if (ratios.length > 0) {
    const below = ratios.filter((r) => r.ratioWall! < 1.5 && r.ratioCpu! < 1.5).map((r) => r.model);
    log(
      `models bench: 1-min load average ${loadStart.toFixed(1)} at start, ${loadEnd.toFixed(1)} at end; target >= 1.5x PyTorch per model: ${below.length === 0 ? 'met by every model' : `NOT met by ${below.join(', ')}`}`,
    );
  }
  return {
    bench: 'models',
    catalog: source,
    batch: o.batch,
    steps: o.steps,
    repeats: o.repeats,
    gemm: gemmBackend(),
    torch: torchVersion,
    loadAverageStart: round(loadStart, 2),
    loadAverageEnd: round(loadEnd, 2),
    models: rows,
  };
}
