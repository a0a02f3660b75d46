/**
 * The experiment's jobs on a BullMQ queue (`rliv experiment --queue URL`): a
 * {@link JobRunner} that puts every job on the queue of this build
 * (job-queue.ts) and gathers the results that `rliv worker` processes on any
 * machine reaching the Redis server write back (queue-worker.ts).
 *
 * - A job whose result is stored already (same build, setup and job: see
 *   job-queue.ts) is not enqueued; its stored result is used. So a finished
 *   experiment is re-assembled without running anything, and a coordinator
 *   restarted with the same arguments resumes: finished jobs are taken from
 *   Redis, queued or running ones are waited for (BullMQ ignores a job id
 *   it holds already), failed ones are retried.
 * - Each job's result is taken once, when its key first shows a result; a job
 *   that BullMQ handed to a second worker after the first one died is still
 *   one job, one result.
 * - Progress: the units each worker reports (job progress), and a status of
 *   jobs done, running and waiting and of the workers connected.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobLabel, type ExperimentJob } from './experiment-job.js';
import type { JobRunner, JobRunnerHooks, JobRunContext } from './job-runner.js';
import {
  buildIdentity,
  BULL_PREFIX,
  connectQueueRedis,
  decodeRecord,
  jobKey,
  queueName,
  redactUrl,
  resultKeyOf,
  setupHash,
  setupKeyOf,
  SETUP_TTL_SECONDS,
  sha256,
  historyKeyOf,
  simulatorKeyOf,
  tableHashes,
  type QueueJobData,
  type ResultRecord,
  type ShippedSetup,
} from './job-queue.js';
import { readFileSync } from 'node:fs';

/** Configuration of {@link queueJobRunner}. */
export interface QueueRunnerOptions {
  /** redis://HOST:PORT of the Redis server the workers reach. */
  url: string;
  /** How often the coordinator polls the jobs' states (ms). Default 500. */
  pollMs?: number;
}

/** A job failed on a worker; the message names the job, the worker's error, and how to resume. */
export class QueueJobError extends Error {
  override name = 'QueueJobError';
}

/** What {@link queueJobRunner} returns: the runner, plus `close()` for its Redis connection. */
export interface QueueJobRunner extends JobRunner {
  /** The BullMQ queue the jobs go on (workers of the same build serve it). */
  readonly queueName: string;
  /** Figures of the last run: jobs taken from stored results, jobs enqueued, and jobs that were queued or running already. */
  readonly stats: { reused: number; enqueued: number; attached: number; retried: number };
  close(): Promise<void>;
}

/** Connects to Redis (a clear error when it is unreachable) and returns the runner. */
export async function queueJobRunner(options: QueueRunnerOptions): Promise<QueueJobRunner> {
  const redis: Redis = await connectQueueRedis(options.url, 'rliv-experiment');
  const build = buildIdentity();
  const name = queueName(build.id);
  const queue = new Queue<QueueJobData>(name, { connection: redis, prefix: BULL_PREFIX });
  const pollMs = options.pollMs ?? 500;
  const stats = { reused: 0, enqueued: 0, attached: 0, retried: 0 };

  /** Stores the setup and the simulator's bytes for the workers; returns the setup's hash. */
  async function shipSetup(context: JobRunContext): Promise<string> {
    const simulatorBytes = readFileSync(context.shipped.simulatorPath);
    const historyBytes = context.shipped.historyPath === undefined ? undefined : readFileSync(context.shipped.historyPath);
    const shipped: ShippedSetup = {
      description: context.shipped.description,
      ...(context.shipped.logs ? { logs: context.shipped.logs } : {}),
      tables: tableHashes(context.shipped.description),
      simulatorSha256: sha256(simulatorBytes),
      ...(historyBytes ? { historySha256: sha256(historyBytes) } : {}),
      environment: context.shipped.environment,
      train: context.shipped.train,
      worldRounds: context.shipped.worldRounds,
    };
    const hash = setupHash(shipped);
    const write = redis.multi().set(simulatorKeyOf(shipped.simulatorSha256), simulatorBytes, 'EX', SETUP_TTL_SECONDS);
    if (historyBytes) write.set(historyKeyOf(shipped.historySha256!), historyBytes, 'EX', SETUP_TTL_SECONDS);
    await write.set(setupKeyOf(hash), JSON.stringify(shipped), 'EX', SETUP_TTL_SECONDS).exec();
    return hash;
  }

  return {
    queueName: name,
    stats,
    get description() {
      return `BullMQ queue ${name} at ${redactUrl(options.url)}`;
    },
    async run(context: JobRunContext, jobs: readonly ExperimentJob[], hooks: JobRunnerHooks) {
      const setup = await shipSetup(context);
      // One entry per distinct key; a list with the same job twice gets its result twice.
      const byKey = new Map<string, { job: ExperimentJob; indices: number[] }>();
      jobs.forEach((job, i) => {
        const key = jobKey(build.id, setup, job);
        const e = byKey.get(key);
        if (e) e.indices.push(i);
        else byKey.set(key, { job, indices: [i] });
      });
      const pending = new Map<string, { job: ExperimentJob; indices: number[]; unitsSeen: number }>();
      let doneCount = 0;
      const finish = (key: string, record: ResultRecord) => {
        const p = pending.get(key)!;
        pending.delete(key);
        for (let u = p.unitsSeen; u < record.units; u++) hooks.onUnit(`${jobLabel(p.job)} (${record.worker})`);
        for (const i of p.indices) hooks.onDone(jobs[i]!, record.result);
        doneCount++;
      };
      for (const [key, e] of byKey) pending.set(key, { ...e, unitsSeen: 0 });

      // Finished before: re-assembled from the stored results.
      const keys = [...byKey.keys()];
      const stored = keys.length ? await redis.mget(...keys.map(resultKeyOf)) : [];
      keys.forEach((key, i) => {
        const text = stored[i];
        if (text) {
          stats.reused++;
          finish(key, decodeRecord<ResultRecord>(text));
        }
      });
      if (stats.reused > 0) hooks.log(`queue: ${stats.reused} of ${keys.length} job(s) finished before (results stored in Redis); not run again`);

      // Everything else goes on the queue, or is already there.
      for (const [key, p] of pending) {
        const state = await queue.getJobState(key);
        if (state === 'unknown') {
          await queue.add(jobLabel(p.job), { setup, job: p.job }, { jobId: key, attempts: 1, removeOnComplete: false, removeOnFail: false });
          stats.enqueued++;
        } else if (state === 'failed') {
          await (await queue.getJob(key))!.retry('failed');
          stats.retried++;
        } else if (state === 'completed') {
          // Completed, but its result is gone (deleted from Redis): run it again.
          await queue.remove(key);
          await queue.add(jobLabel(p.job), { setup, job: p.job }, { jobId: key, attempts: 1, removeOnComplete: false, removeOnFail: false });
          stats.enqueued++;
        } else {
          stats.attached++;
        }
      }
      if (pending.size > 0) {
        hooks.log(
          `queue: ${stats.enqueued} job(s) enqueued, ${stats.attached} already queued or running, ${stats.retried} failed before and retried, on ${name} at ${redactUrl(options.url)} (${build.describe})`,
        );
        hooks.log(
          `queue: start workers on any machine that reaches Redis: rliv worker --queue ${redactUrl(options.url)} [--concurrency N] (same commit and build)`,
        );
      }

      let lastStatus = '';
      let lonelySince = Date.now();
      while (pending.size > 0) {
        let running = 0;
        let waiting = 0;
        const finished: string[] = [];
        for (const [key, p] of pending) {
          const job = await queue.getJob(key);
          if (!job)
            throw new QueueJobError(
              `job ${jobLabel(p.job)} (${key}) vanished from queue ${name}: was the queue obliterated? Run the same command again to re-enqueue it`,
            );
          const state = await job.getState();
          if (state === 'completed') finished.push(key);
          else if (state === 'failed') {
            throw new QueueJobError(
              `job ${jobLabel(p.job)} failed on worker ${job.processedBy ?? '?'}: ${job.failedReason}. Other jobs keep running on the workers; run the same command again to retry it and collect the rest`,
            );
          } else if (state === 'active') {
            running++;
            const units = typeof job.progress === 'object' && job.progress !== null ? Number((job.progress as { units?: number }).units ?? 0) : 0;
            for (; p.unitsSeen < units; p.unitsSeen++) hooks.onUnit(`${jobLabel(p.job)} (${job.processedBy ?? 'worker'})`);
          } else waiting++;
        }
        if (finished.length > 0) {
          const texts = await redis.mget(...finished.map(resultKeyOf));
          finished.forEach((key, i) => {
            const text = texts[i];
            if (!text)
              throw new QueueJobError(
                `job ${jobLabel(pending.get(key)!.job)} completed but its result ${resultKeyOf(key)} is missing from Redis; run the same command again to re-run it`,
              );
            finish(key, decodeRecord<ResultRecord>(text));
          });
        }
        const workers = await queue.getWorkersCount();
        if (workers > 0) lonelySince = Date.now();
        else if (Date.now() - lonelySince >= 60_000) {
          lonelySince = Date.now();
          hooks.log(
            `queue: no worker is serving ${name}; start "rliv worker --queue ${redactUrl(options.url)}" from this same build (a worker of another commit or build prints another queue name)`,
          );
        }
        const status = `jobs: ${doneCount} done, ${running} running, ${waiting} waiting; ${workers} worker(s) connected`;
        if (status !== lastStatus) {
          hooks.onStatus(status);
          lastStatus = status;
        }
        if (pending.size > 0) await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}
