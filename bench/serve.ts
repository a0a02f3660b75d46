/**
 * `rliv bench serve [--duration S] [--redis URL]`: the ranking service's
 * speed (issue 7, docs/design.md §11 targets: in-process scoring of 300
 * candidates p99 <= 1 ms; over HTTP p99 <= 10 ms at 500 requests/s on 2
 * cores).
 *
 * Workloads, on a fresh default RLIV-UA (full Table 1 size, 2^17-row
 * embedding) over the default synthetic world (3000 users, 20000 items):
 * 1. in-process: `ranker.score` of 300 candidates, p50/p99 over 2,000 calls;
 * 2. HTTP: POST /v1/rank with 300 candidates and k = 6 at a fixed 500
 *    requests/s for `--duration` seconds (default 60) on loopback, one
 *    request every 2 ms on an absolute schedule from an open-loop generator
 *    in a worker thread (open-loop-load.ts), after 3 s of unrecorded load at
 *    the same rate (a fresh system's Redis read path otherwise runs cold:
 *    p99 ~100-200 ms from a ~250 ms start-up stall); latency is counted from
 *    each request's scheduled send time (no coordinated omission) and also
 *    from its actual send; against the memory store,
 *    then against the Redis store (the `--redis` server, or a private
 *    redis-server started for the run when installed). No trainer runs
 *    during the load test (it would share the event loop; production runs
 *    `rliv train-online` as its own process).
 * 3. service CPU per rank request (fastify.inject, no network), a figure
 *    that does not depend on how busy the shared machine is;
 * 4. label joiner + ASA throughput (events/s) on a synthetic stream;
 * 5. hot reload of a checkpoint with a full replay buffer: time to serve it
 *    and the longest event-loop block meanwhile.
 * Figures are printed to stderr; the summary is the final JSON line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { BenchContext } from './bench-context.js';
import { PAIR_COUNT_DIM } from '../src/data/interaction-kinds.js';
import { AsaSampleBuilder } from '../src/mdp/adjacent-state-approximation.js';
import { LabelJoiner } from '../src/mdp/label-joiner.js';
import { allocSampleBatch } from '../src/mdp/scri-mdp.js';
import { Rng } from '../src/numeric/rng.js';
import { servingModelCheckpoint } from '../src/serving/model-registry.js';
import { startOnlineSystem, type OnlineSystem } from '../src/serving/online-system.js';
import { SESSION_SUMMARY_DIM } from '../src/environment/trace.js';
import { percentile, runOpenLoopInWorker } from './open-loop-load.js';

const CANDIDATES = 300;
const RATE = 500;
/** Seconds of unrecorded load before each measured run (JIT of the store's read path and of the client, connections). */
const WARMUP_S = 3;

/** In-process scoring latency of 300 candidates. */
function scoringLatency(sys: OnlineSystem, calls: number): { p50: number; p99: number } {
  const model = sys.service.holder.current;
  const rng = new Rng(1);
  const counts = new Float32Array(CANDIDATES * PAIR_COUNT_DIM);
  for (let i = 0; i < counts.length; i++) counts[i] = rng.bernoulli(0.2) ? rng.int(5) : 0;
  const out = new Float32Array(CANDIDATES);
  const times = new Float64Array(calls);
  const summary = new Float32Array(SESSION_SUMMARY_DIM);
  for (let c = -200; c < calls; c++) {
    const start = rng.int(model.catalog.numItems - CANDIDATES);
    const candidates = new Int32Array(CANDIDATES);
    for (let i = 0; i < CANDIDATES; i++) candidates[i] = start + i;
    const t0 = performance.now();
    model.ranker.score({ user: rng.int(model.catalog.numUsers), candidates, candidatePairCounts: counts, summary }, out);
    if (c >= 0) times[c] = performance.now() - t0;
  }
  times.sort();
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

/** Rank bodies with 300 candidates for different users and candidate windows. */
function rankBodies(sys: OnlineSystem, count: number): string[] {
  const cat = sys.service.holder.current.catalog;
  const rng = new Rng(2);
  const bodies: string[] = [];
  for (let b = 0; b < count; b++) {
    const start = rng.int(cat.numItems - CANDIDATES);
    const candidates = Array.from({ length: CANDIDATES }, (_, i) => ({ itemId: start + i, authorId: cat.itemAuthor[start + i]! }));
    bodies.push(JSON.stringify({ userId: rng.int(cat.numUsers), candidates, k: 6 }));
  }
  return bodies;
}

interface HttpFigures {
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
  warmupFailures: number;
  /** Latency from each request's scheduled send time (the target's figure). */
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Latency from the actual send (the generator's own lateness excluded). */
  fromSendP50Ms: number;
  fromSendP99Ms: number;
  /** p99 of the generator's lateness against its schedule. */
  sendLagP99Ms: number;
  /** The server thread's garbage-collection pauses during the run. */
  gc: GcFigures;
}

/** Garbage-collection pauses of this thread (perf_hooks 'gc' entries): count, total, distribution in ms, and pauses over 5 ms. */
interface GcFigures {
  count: number;
  totalMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  over5Ms: number;
  minor: number;
  major: number;
}

/** Runs `fn` while recording this thread's GC pauses. */
async function withGcPauses<T>(fn: () => Promise<T>): Promise<{ value: T; gc: GcFigures }> {
  const pauses: number[] = [];
  let minor = 0;
  let major = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      pauses.push(e.duration);
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  try {
    const value = await fn();
    // Entries are delivered asynchronously: let the last ones arrive.
    await new Promise((r) => setTimeout(r, 50));
    const sorted = Float64Array.from(pauses).sort();
    const total = pauses.reduce((a, b) => a + b, 0);
    return {
      value,
      gc: {
        count: pauses.length,
        totalMs: ms(total),
        p50Ms: ms(percentile(sorted, 0.5) || 0),
        p99Ms: ms(percentile(sorted, 0.99) || 0),
        maxMs: ms(sorted[sorted.length - 1] ?? 0),
        over5Ms: pauses.filter((p) => p > 5).length,
        minor,
        major,
      },
    };
  } finally {
    obs.disconnect();
  }
}

async function loadTest(sys: OnlineSystem, seconds: number): Promise<HttpFigures> {
  const origin = await sys.service.app.listen({ host: '127.0.0.1', port: 0 });
  const bodies = rankBodies(sys, 16);
  const { value: r, gc } = await withGcPauses(() =>
    runOpenLoopInWorker({ origin, path: '/v1/rank', bodies, rate: RATE, durationS: seconds, warmupS: WARMUP_S, connections: 16, timeoutMs: 10_000 }),
  );
  return {
    gc,
    rps: r.rps,
    requests: r.requests,
    errors: r.errors + r.non2xx,
    non2xx: r.non2xx,
    warmupFailures: r.warmupFailures,
    p50Ms: ms(r.fromScheduled.p50),
    p99Ms: ms(r.fromScheduled.p99),
    p999Ms: ms(r.fromScheduled.p999),
    maxMs: ms(r.fromScheduled.max),
    fromSendP50Ms: ms(r.fromSend.p50),
    fromSendP99Ms: ms(r.fromSend.p99),
    sendLagP99Ms: ms(r.sendLag.p99),
  };
}

/** A latency rounded to 0.01 ms. */
function ms(x: number): number {
  return Math.round(x * 100) / 100;
}

function describeHttp(h: HttpFigures): string {
  return (
    `${h.rps.toFixed(1)} req/s, from scheduled send: p50 ${h.p50Ms} ms, p99 ${h.p99Ms} ms, p99.9 ${h.p999Ms} ms, max ${h.maxMs} ms; ` +
    `from actual send: p50 ${h.fromSendP50Ms} ms, p99 ${h.fromSendP99Ms} ms (generator lateness p99 ${h.sendLagP99Ms} ms); errors ${h.errors} of ${h.requests} (warm-up failures ${h.warmupFailures}); ` +
    `server GC: ${h.gc.count} pauses (${h.gc.minor} minor, ${h.gc.major} major), total ${h.gc.totalMs} ms, p50 ${h.gc.p50Ms} ms, p99 ${h.gc.p99Ms} ms, max ${h.gc.maxMs} ms, ${h.gc.over5Ms} over 5 ms`
  );
}

/**
 * CPU time per /v1/rank request inside the service (parse, validate, store
 * read, score, top K, LIV, impressions, serialize), through fastify.inject:
 * the cost a core pays per request, independent of other load on the machine.
 */
async function handlerCpuPerRequest(sys: OnlineSystem, requests: number): Promise<number> {
  const bodies = rankBodies(sys, 16);
  const app = sys.service.app;
  const send = (i: number) => app.inject({ method: 'POST', url: '/v1/rank', payload: bodies[i % 16]!, headers: { 'content-type': 'application/json' } });
  for (let i = 0; i < 200; i++) await send(i);
  const c0 = process.cpuUsage();
  for (let i = 0; i < requests; i++) await send(i);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / requests;
}

/**
 * Hot reload of a Table 1-size checkpoint that includes a full replay buffer
 * (200k samples: what `rliv train` / the online trainer publish): wall time
 * until the new version serves, and the longest event-loop block meanwhile
 * (a 1 ms timer's largest gap), which is what requests would wait.
 */
async function reloadPause(sys: OnlineSystem): Promise<{ checkpointMb: number; first: ReloadFigures; steady: ReloadFigures }> {
  const model = sys.service.holder.current;
  const replay = (model.ranker as { replay?: { pushBatch(b: ReturnType<typeof allocSampleBatch>): void; capacity: number } }).replay;
  if (replay) {
    const batch = allocSampleBatch(4096);
    batch.count = 4096;
    const cat = model.catalog;
    for (let i = 0; i < 4096; i++) {
      batch.user[i] = i % cat.numUsers;
      batch.item[i] = i % cat.numItems;
      batch.author[i] = cat.itemAuthor[i % cat.numItems]!;
    }
    for (let k = 0; k * 4096 < replay.capacity; k++) replay.pushBatch(batch);
  }
  let checkpointMb = 0;
  let published = 0;
  const once = async (): Promise<ReloadFigures> => {
    // Distinct bytes per version (the service skips a pointer whose SHA-256 it already serves).
    const pointer = sys.registry.publish(servingModelCheckpoint(model, { source: 'bench serve reload', reload: ++published }));
    checkpointMb = statSync(join(sys.registry.dir, pointer.file)).size / 1e6;
    let last = performance.now();
    let block = 0;
    const timer = setInterval(() => {
      const t = performance.now();
      block = Math.max(block, t - last);
      last = t;
    }, 1);
    const t0 = performance.now();
    while (sys.service.holder.current.version !== pointer.version) {
      await sys.service.holder.checkNow();
      if (performance.now() - t0 > 60_000) break;
    }
    const wallMs = performance.now() - t0;
    clearInterval(timer);
    return { wallMs, blockMs: Math.max(block, performance.now() - last) };
  };
  // The first reload after start loads into the spare ranker the holder prebuilt at start (building an agent
  // runs on the event loop: it blocked the first reload ~300-450 ms before); later reloads recycle the model
  // the previous swap replaced, as a long-running server does.
  const first = await once();
  const steady = await once();
  return { checkpointMb, first, steady };
}

interface ReloadFigures {
  wallMs: number;
  blockMs: number;
}

/** Label joiner + ASA events per wall-clock second and per CPU second on a synthetic impression/feedback stream. */
function joinerThroughput(n = 300_000): { wall: number; cpu: number } {
  const batch = allocSampleBatch(4096, 4, 3);
  const asa = new AsaSampleBuilder();
  const joiner = new LabelJoiner(
    (r) => {
      if (!asa.append(r, batch)) {
        batch.count = 0;
        asa.append(r, batch);
      }
    },
    { windowMs: 1000 },
  );
  const uf = new Int32Array(4);
  const itf = new Int32Array(3);
  const counts = new Float32Array(PAIR_COUNT_DIM);
  let events = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const requestId = 'r' + ((i / 6) | 0);
    joiner.impression({ requestId, user: i % 1000, item: i, author: i % 77, timeMs: i, pairCounts: counts, userFeatures: uf, itemFeatures: itf });
    events++;
    if (i % 2 === 0) {
      joiner.feedback({ requestId, item: i, kind: 'click', value: 1, timeMs: i + 1 });
      joiner.feedback({ requestId, item: i, kind: 'watchTime', value: 12, timeMs: i + 2 });
      events += 2;
    }
  }
  joiner.flush();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: events / wall, cpu: events / ((c.user + c.system) / 1e6) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a private redis-server (no persistence) for the run; null when it is not installed. */
async function privateRedis(): Promise<{ url: string; proc: ChildProcess } | null> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return null;
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return { url, proc };
    } catch {
      c.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  proc.kill('SIGKILL');
  return null;
}

/** `rliv bench serve`'s flags (checked by the command). */
export interface ServeBenchFlags {
  /** `--duration S`: seconds of HTTP load per store (> 0). */
  durationSeconds: number;
  /** `--iterations N`: in-process scoring calls (integer >= 10). */
  scoreCalls: number;
  /** `--redis URL`: the Redis server of the Redis-store run; absent: a private redis-server if one can be started. */
  redisUrl?: string;
}

export async function runServeBench(flags: ServeBenchFlags, ctx: BenchContext): Promise<Record<string, unknown>> {
  const duration = flags.durationSeconds;
  const calls = flags.scoreCalls;
  const dirs: string[] = [];
  const newSystem = async (redisUrl?: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'rliv-bench-serve-'));
    dirs.push(dir);
    return startOnlineSystem({ modelsDir: dir, seed: ctx.seed, inlineTrainer: false, redisUrl });
  };

  // Joiner first: a process that already holds models and HTTP state pays more for garbage collection.
  joinerThroughput(100_000); // warm-up (JIT)
  const joinerEps = joinerThroughput();
  ctx.log(`label joiner + ASA: ${(joinerEps.wall / 1000).toFixed(0)}k events/s (${(joinerEps.cpu / 1000).toFixed(0)}k per CPU-second)`);

  ctx.log(`building a default RLIV-UA over the default world (load average ${loadavg()[0]!.toFixed(1)}) ...`);
  const mem = await newSystem();
  const score = scoringLatency(mem, calls);
  ctx.log(`in-process scoring, 300 candidates: p50 ${score.p50.toFixed(3)} ms, p99 ${score.p99.toFixed(3)} ms (${calls} calls)`);
  const handlerCpu = await handlerCpuPerRequest(mem, 1000);
  ctx.log(
    `service CPU per /v1/rank request (300 candidates, in-process): ${handlerCpu.toFixed(3)} ms (one core sustains ~${Math.floor(1000 / handlerCpu)} req/s)`,
  );

  ctx.log(`HTTP load test, memory store: POST /v1/rank x 300 candidates at ${RATE} req/s for ${duration} s ...`);
  const memHttp = await loadTest(mem, duration);
  ctx.log(`  memory (load average ${loadavg()[0]!.toFixed(2)}): ${describeHttp(memHttp)}`);
  const reload = await reloadPause(mem);
  ctx.log(
    `hot reload of a ${reload.checkpointMb.toFixed(0)} MB checkpoint (full replay buffer): first after start ${reload.first.wallMs.toFixed(0)} ms to serve, longest event-loop block ${reload.first.blockMs.toFixed(0)} ms; next ${reload.steady.wallMs.toFixed(0)} ms, block ${reload.steady.blockMs.toFixed(0)} ms`,
  );
  await mem.close();

  let redisHttp: HttpFigures | null = null;
  let redisSource = 'none';
  let own: { url: string; proc: ChildProcess } | null = null;
  let redisUrl = flags.redisUrl;
  if (redisUrl === undefined) {
    own = await privateRedis();
    redisUrl = own?.url;
    redisSource = own ? 'private redis-server' : 'none';
  } else redisSource = redisUrl;
  if (redisUrl !== undefined) {
    ctx.log(`HTTP load test, Redis store (${redisSource}) ...`);
    const rs = await newSystem(redisUrl);
    if (!rs.service.store.status().healthy) ctx.log(`  warning: Redis at ${redisUrl} is not reachable; the run measures degraded serving`);
    redisHttp = await loadTest(rs, duration);
    ctx.log(`  redis (load average ${loadavg()[0]!.toFixed(2)}): ${describeHttp(redisHttp)}`);
    await rs.close();
  } else {
    ctx.log('  no Redis (pass --redis URL or install redis-server): Redis store not measured');
  }
  if (own) own.proc.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });

  return {
    bench: 'serve',
    score300P50Ms: round(score.p50),
    score300P99Ms: round(score.p99),
    httpRps: round(memHttp.rps),
    httpP50Ms: memHttp.p50Ms,
    httpP99Ms: memHttp.p99Ms,
    httpP999Ms: memHttp.p999Ms,
    httpMaxMs: memHttp.maxMs,
    httpFromSendP50Ms: memHttp.fromSendP50Ms,
    httpFromSendP99Ms: memHttp.fromSendP99Ms,
    httpSendLagP99Ms: memHttp.sendLagP99Ms,
    gc: memHttp.gc,
    errors: memHttp.errors + (redisHttp?.errors ?? 0),
    redis: redisHttp
      ? {
          source: redisSource,
          httpRps: round(redisHttp.rps),
          httpP50Ms: redisHttp.p50Ms,
          httpP99Ms: redisHttp.p99Ms,
          httpP999Ms: redisHttp.p999Ms,
          httpMaxMs: redisHttp.maxMs,
          httpFromSendP50Ms: redisHttp.fromSendP50Ms,
          httpFromSendP99Ms: redisHttp.fromSendP99Ms,
          httpSendLagP99Ms: redisHttp.sendLagP99Ms,
          gc: redisHttp.gc,
          errors: redisHttp.errors,
        }
      : null,
    handlerCpuMsPerRequest: round(handlerCpu),
    reload: {
      checkpointMb: round(reload.checkpointMb),
      firstWallMs: Math.round(reload.first.wallMs),
      firstEventLoopBlockMs: Math.round(reload.first.blockMs),
      wallMs: Math.round(reload.steady.wallMs),
      eventLoopBlockMs: Math.round(reload.steady.blockMs),
    },
    joinerAsaEventsPerSec: Math.round(joinerEps.wall),
    joinerAsaEventsPerCpuSec: Math.round(joinerEps.cpu),
    rateTarget: RATE,
    durationS: duration,
    warmupS: WARMUP_S,
    warmupFailures: memHttp.warmupFailures + (redisHttp?.warmupFailures ?? 0),
    loadAverage: round(loadavg()[0]!),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
