/**
 * A worker of the experiment queue (`rliv worker --queue URL`): takes jobs
 * from the BullMQ queue of this build (job-queue.ts) and runs each on one of
 * `concurrency` worker threads (job-thread.ts), so this process's event loop
 * stays free to renew the jobs' locks however long a job computes.
 *
 * - The setup of a job (world description, simulator bytes, schedules) is
 *   fetched from Redis once per setup and checked against its hash; the
 *   simulator file is kept in a private temporary directory. Threads are
 *   kept per setup and reused across jobs.
 * - The result is stored under the job's key before the job is completed; a
 *   job whose result exists is completed without running it again.
 * - Killed (SIGKILL, power loss): the jobs' locks lapse after `lockMs`, and
 *   BullMQ's stalled-job check of any other worker puts them back on the
 *   queue, where another worker runs them (same inputs, same result).
 *   Stopped (SIGINT/SIGTERM, {@link QueueWorker.stop}): running jobs are
 *   handed back to the queue at once.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, WaitingError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobLabel, type ExperimentJobResult } from './experiment-job.js';
import type { WorkerData } from './experiment-worker.js';
import { JobThread } from './job-thread.js';
import {
  buildIdentity,
  BULL_PREFIX,
  connectQueueRedis,
  encodeRecord,
  jobKey,
  queueName,
  resultKeyOf,
  setupHash,
  setupKeyOf,
  sha256,
  historyKeyOf,
  simulatorKeyOf,
  type QueueJobData,
  type ResultRecord,
  type ShippedSetup,
} from './job-queue.js';

/** Configuration of {@link startQueueWorker}. */
export interface QueueWorkerOptions {
  /** redis://HOST:PORT of the queue's Redis server. */
  url: string;
  /** Jobs run at once, each on its own worker thread. Default 1. */
  concurrency?: number;
  /** Lock of a running job (ms): a worker that died is noticed this long after its last renewal. Default 30,000 (BullMQ's). */
  lockMs?: number;
  /** How often this worker looks for stalled jobs of dead workers (ms). Default 30,000 (BullMQ's). */
  stalledCheckMs?: number;
  /** Times a job may be taken over from a dead worker before it fails. Default 3. */
  maxStalledCount?: number;
  /** Name of this worker in the queue (`processedBy`) and in results. Default `host:pid`. */
  name?: string;
  /** Called for lines worth printing (job started, finished, handed back). */
  log?: (message: string) => void;
}

export interface QueueWorkerStats {
  /** Jobs this worker ran to completion. */
  completed: number;
  /** Jobs completed from a result stored before (not run again). */
  reused: number;
  /** Jobs that failed here. */
  failed: number;
}

export interface QueueWorker {
  readonly name: string;
  readonly queueName: string;
  readonly stats: QueueWorkerStats;
  /** Stops taking jobs, hands running jobs back to the queue, stops the threads. */
  stop(): Promise<void>;
  /** Resolves when the worker has stopped. */
  readonly stopped: Promise<void>;
}

interface PoolEntry {
  setup: string;
  thread: JobThread;
  busy: boolean;
}

/** Connects (a clear error when Redis is unreachable) and starts taking jobs. */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const log = options.log ?? (() => {});
  const redis: Redis = await connectQueueRedis(options.url, `rliv-worker ${name}`);
  const build = buildIdentity();
  const qName = queueName(build.id);
  const cacheDir = mkdtempSync(join(tmpdir(), 'rliv-worker-'));
  const stats: QueueWorkerStats = { completed: 0, reused: 0, failed: 0 };
  const setups = new Map<string, Promise<WorkerData>>();
  const pool: PoolEntry[] = [];
  let stopping = false;
  const active = new Map<string, { job: Job<QueueJobData>; token: string; entry?: PoolEntry }>();

  /** The bytes stored under `key`, checked against their SHA-256, written to the cache directory; returns the file's path. */
  async function fetchFile(key: string, sha: string, what: string, setup: string): Promise<string> {
    const bytes = await redis.getBuffer(key);
    if (bytes === null) throw new Error(`${what} ${sha} of setup ${setup} is not in Redis: run the coordinator again`);
    if (sha256(bytes) !== sha) throw new Error(`${what} bytes in Redis do not match their SHA-256 ${sha}`);
    const path = join(cacheDir, `${sha}.${what}.bin`);
    writeFileSync(path, bytes);
    return path;
  }

  /** Fetches a setup and its simulator (and history) bytes once, checks them against their hashes, writes their files. */
  async function fetchSetup(hash: string): Promise<WorkerData> {
    const text = await redis.get(setupKeyOf(hash));
    if (text === null) throw new Error(`setup ${hash} is not in Redis (expired after 7 days, or deleted): run the coordinator again`);
    const shipped = JSON.parse(text) as ShippedSetup;
    if (setupHash(shipped) !== hash) throw new Error(`setup ${hash} in Redis does not match its hash`);
    const d = shipped.description;
    for (const [path, want] of [
      [d.usersPath, shipped.tables.usersSha256],
      [d.videosPath, shipped.tables.videosSha256],
    ] as const) {
      if (!path) continue;
      if (!existsSync(path)) throw new Error(`the world is built on ${path}, which this machine does not have: put the same KuaiRand table at that path`);
      if (sha256(readFileSync(path)) !== want) throw new Error(`${path} on this machine differs from the coordinator's copy (SHA-256 ${want})`);
    }
    const simulatorPath = await fetchFile(simulatorKeyOf(shipped.simulatorSha256), shipped.simulatorSha256, 'simulator', hash);
    const historySha = shipped.historySha256;
    const historyPath = historySha === undefined ? undefined : await fetchFile(historyKeyOf(historySha), historySha, 'history', hash);
    return {
      description: shipped.description,
      ...(shipped.logs ? { logs: shipped.logs } : {}),
      simulatorPath,
      ...(historyPath ? { historyPath } : {}),
      environment: shipped.environment,
      train: shipped.train,
      worldRounds: shipped.worldRounds,
    };
  }

  function setupOf(hash: string): Promise<WorkerData> {
    let p = setups.get(hash);
    if (!p) {
      p = fetchSetup(hash);
      setups.set(hash, p);
      p.catch(() => setups.delete(hash)); // try again with the next job
    }
    return p;
  }

  /** An idle thread of this setup, a new one, or a new one in place of an idle thread of another setup. */
  async function acquire(hash: string, data: WorkerData): Promise<PoolEntry> {
    for (let i = pool.length - 1; i >= 0; i--) if (!pool[i]!.thread.alive && !pool[i]!.busy) pool.splice(i, 1);
    let entry = pool.find((e) => e.setup === hash && !e.busy);
    if (!entry) {
      if (pool.length >= concurrency) {
        const idle = pool.findIndex((e) => !e.busy);
        if (idle < 0) throw new Error('no idle worker thread (more jobs than --concurrency)');
        void pool[idle]!.thread.close(true);
        pool.splice(idle, 1);
      }
      entry = { setup: hash, thread: new JobThread(data), busy: false };
      pool.push(entry);
    }
    entry.busy = true;
    return entry;
  }

  async function processJob(job: Job<QueueJobData>, token?: string): Promise<{ units: number; reused: boolean }> {
    const key = job.id!;
    const { setup, job: spec } = job.data;
    if (jobKey(build.id, setup, spec) !== key) throw new Error(`job ${key} does not hash to its id under ${build.describe}: refusing to run it`);
    if ((await redis.exists(resultKeyOf(key))) === 1) {
      stats.reused++;
      log(`${jobLabel(spec)}: result stored already, not run again`);
      return { units: 0, reused: true };
    }
    const a = { job, token: token ?? '' } as { job: Job<QueueJobData>; token: string; entry?: PoolEntry };
    active.set(key, a);
    const t0 = performance.now();
    try {
      const data = await setupOf(setup);
      if (stopping) throw new WaitingError();
      a.entry = await acquire(setup, data);
      log(
        `${jobLabel(spec)}: started (attempt ${job.attemptsStarted}${job.stalledCounter ? `, taken over ${job.stalledCounter} time(s) from a dead worker` : ''})`,
      );
      let units = 0;
      let lastSent = 0;
      let sending: Promise<void> | undefined;
      const result: ExperimentJobResult = await a.entry.thread.run(spec, (note) => {
        units++;
        const now = performance.now();
        if (now - lastSent >= 200 && !sending) {
          lastSent = now;
          sending = job
            .updateProgress({ units, note })
            .catch(() => {})
            .finally(() => {
              sending = undefined;
            });
        }
      });
      await sending;
      const record: ResultRecord = { key, job: spec, result, units, worker: name, finishedAt: new Date().toISOString() };
      await redis.set(resultKeyOf(key), encodeRecord(record));
      stats.completed++;
      log(`${jobLabel(spec)}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return { units, reused: false };
    } catch (err) {
      if (stopping) {
        // Handed back: another worker (or this one, restarted) takes it from the start.
        await job.moveToWait(a.token).catch(() => {});
        log(`${jobLabel(spec)}: handed back to the queue`);
        throw new WaitingError();
      }
      stats.failed++;
      log(`${jobLabel(spec)}: failed: ${(err as Error).message}`);
      throw err;
    } finally {
      if (a.entry) a.entry.busy = false;
      active.delete(key);
    }
  }

  const worker = new Worker<QueueJobData>(qName, processJob, {
    connection: redis,
    prefix: BULL_PREFIX,
    name,
    concurrency,
    lockDuration: options.lockMs ?? 30_000,
    stalledInterval: options.stalledCheckMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 3,
  });
  worker.on('error', (err) => log(`queue worker error: ${err.message}`));
  await worker.waitUntilReady();
  log(`worker ${name}: serving ${qName} (${build.describe}) with ${concurrency} thread(s)`);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => {
    resolveStopped = r;
  });
  let stopPromise: Promise<void> | undefined;
  return {
    name,
    queueName: qName,
    stats,
    stopped,
    stop() {
      stopPromise ??= (async () => {
        stopping = true;
        // Stop the computations; their jobs go back to the queue (processJob's catch).
        await Promise.all(pool.map((e) => e.thread.close()));
        await worker.close();
        await redis.quit().catch(() => redis.disconnect());
        rmSync(cacheDir, { recursive: true, force: true });
        resolveStopped();
      })();
      return stopPromise;
    },
  };
}
