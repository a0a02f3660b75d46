/**
 * `rliv worker --queue redis://HOST:PORT [--concurrency N] [--lock-seconds S]
 *  [--stalled-check-seconds S] [--duration S]`: a worker of the experiment
 * queue (src/experiments/queue-worker.ts). Runs the jobs that
 * `rliv experiment --queue URL` puts on the queue of this build, N at a time
 * on worker threads, until stopped (SIGINT/SIGTERM hand running jobs back to
 * the queue) or --duration passes.
 */
import { checkQueueUrl, QueueError } from '../experiments/job-queue.js';
import { startQueueWorker } from '../experiments/queue-worker.js';
import { intFlag, requireString, UsageError, type CommandSpec } from './command.js';

function secondsFlag(values: Record<string, unknown>, name: string, min: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !(n >= min) || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number of seconds >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export const workerCommand: CommandSpec = {
  name: 'worker',
  summary: 'run experiment jobs from the BullMQ queue that "rliv experiment --queue URL" fills (any machine that reaches Redis)',
  description:
    'Takes jobs (model, seed, config) from the queue of this build and runs each on a worker thread; results go back to Redis,\n' +
    "keyed by a hash of the job's inputs. A worker killed mid-job loses nothing: after --lock-seconds another worker takes the\n" +
    'job over. Workers must run the same commit and build as the coordinator (they print the build id; other builds serve other queues).',
  options: {
    queue: { type: 'string', description: 'Redis URL of the queue (the one given to "rliv experiment --queue")', valueName: 'redis://HOST:PORT' },
    concurrency: { type: 'string', description: 'jobs run at once, each on its own thread (about one per free CPU)', default: '1', valueName: 'N' },
    'lock-seconds': {
      type: 'string',
      description: "lock of a running job: a dead worker's jobs are taken over this long after its last renewal",
      default: '30',
      valueName: 'S',
    },
    'stalled-check-seconds': { type: 'string', description: 'how often this worker looks for jobs of dead workers', default: '30', valueName: 'S' },
    duration: { type: 'string', description: 'stop after this many seconds (default: run until interrupted)', valueName: 'S' },
  },
  async run(values, _positionals, ctx) {
    let url: string;
    try {
      url = checkQueueUrl(requireString(values, 'queue'));
    } catch (err) {
      throw new UsageError((err as QueueError).message);
    }
    const concurrency = intFlag(values, 'concurrency', 1, 256) ?? 1;
    const lockS = secondsFlag(values, 'lock-seconds', 1)!;
    const stalledS = secondsFlag(values, 'stalled-check-seconds', 0.1)!;
    const duration = secondsFlag(values, 'duration', 0.001);
    const started = Date.now();
    const worker = await startQueueWorker({ url, concurrency, lockMs: lockS * 1000, stalledCheckMs: stalledS * 1000, log: ctx.log });
    ctx.log('Ctrl-C stops the worker; its running jobs go back to the queue');
    const stop = () => {
      void worker.stop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const timer = duration !== undefined ? setTimeout(stop, duration * 1000) : undefined;
    try {
      await worker.stopped;
    } finally {
      if (timer) clearTimeout(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return { command: 'worker', name: worker.name, queue: worker.queueName, seconds: (Date.now() - started) / 1000, ...worker.stats };
  },
};
