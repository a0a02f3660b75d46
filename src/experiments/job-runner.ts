/**
 * How the experiment's jobs (experiment-job.ts) get run: the narrow
 * interface between the experiment (experiment.ts) and where the work
 * happens. The experiment hands a runner its setup and its list of jobs; the
 * runner calls back with units of progress and with each job's result, once
 * per job. Two runners exist:
 *
 * - {@link threadJobRunner} (the default): in this thread (1 worker) or on N
 *   worker threads of this process;
 * - `queueJobRunner` (queue-runner.ts, `rliv experiment --queue URL`): a
 *   BullMQ queue on Redis served by `rliv worker` processes on any machine.
 *
 * A job's result depends only on the job and the setup, never on the runner
 * (every random choice flows from the job's seed), so the figures are the
 * same whichever runs them. A runner knows nothing of what a job computes:
 * new kinds of job flow through unchanged.
 */
import type { ExperimentJob, ExperimentJobResult, JobSetup } from './experiment-job.js';
import { runJob } from './experiment-job.js';
import type { WorkerData } from './experiment-worker.js';
import { JobThread } from './job-thread.js';

/** The setup of a run, both as live objects (for this thread) and as data another thread or machine rebuilds it from. */
export interface JobRunContext {
  /** Catalog, simulator, world, ... as objects. */
  setup: JobSetup;
  /** The same as data: the world description, the simulator's file, the environment and schedules. */
  shipped: WorkerData;
}

/** What a runner reports back. */
export interface JobRunnerHooks {
  /** One unit of progress of some job (an epoch or a world round); `note` says which. */
  onUnit(note: string): void;
  /** The runner's status changed without a unit of progress (e.g. "3 done, 2 running, 25 waiting"). */
  onStatus(note: string): void;
  /** A job finished with this result. Called exactly once per job of the list. */
  onDone(job: ExperimentJob, result: ExperimentJobResult): void;
  /** A human-readable line (e.g. where to start workers). */
  log(message: string): void;
}

export interface JobRunner {
  /** How the jobs run, for results.json's settings (e.g. "worker threads (2)"). */
  readonly description: string;
  /** Runs every job; resolves when all are done, rejects on the first failure. */
  run(context: JobRunContext, jobs: readonly ExperimentJob[], hooks: JobRunnerHooks): Promise<void>;
}

/**
 * Runs the jobs in this thread (`workers` = 1) or on `workers` worker threads
 * (each rebuilds the world and loads the simulator once, then takes jobs
 * until none are left).
 */
export function threadJobRunner(workers: number): JobRunner {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be an integer >= 1, got ${workers}`);
  return {
    description: workers === 1 ? 'this thread' : `worker threads (${workers})`,
    async run(context, jobs, hooks) {
      if (workers === 1 || jobs.length <= 1) {
        for (const job of jobs) hooks.onDone(job, runJob(context.setup, job, hooks.onUnit));
        return;
      }
      const queue = jobs.slice();
      const pool = Array.from({ length: Math.min(workers, jobs.length) }, () => new JobThread(context.shipped));
      const drain = async (thread: JobThread) => {
        for (let job = queue.shift(); job; job = queue.shift()) hooks.onDone(job, await thread.run(job, hooks.onUnit));
      };
      try {
        await Promise.all(pool.map(drain));
      } catch (err) {
        queue.length = 0;
        throw err;
      } finally {
        await Promise.all(pool.map((t) => t.close(true)));
      }
    },
  };
}
