/**
 * The main-thread side of one experiment worker thread (experiment-worker.ts):
 * starts it on a {@link WorkerData} (it rebuilds the world and loads the
 * simulator once), runs jobs on it one at a time and stops it. Used by the
 * worker-thread job runner (job-runner.ts) and by `rliv worker`'s queue
 * worker (queue-worker.ts).
 */
import { Worker } from 'node:worker_threads';
import type { ExperimentJob, ExperimentJobResult } from './experiment-job.js';
import type { WorkerData } from './experiment-worker.js';

/** The worker script: the compiled .js beside this file, or under tsx (tests, development) a bootstrap that registers tsx first. */
function workerUrl(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./experiment-worker.js', import.meta.url);
  const source = new URL('./experiment-worker.ts', import.meta.url).href;
  const code = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(source)});`;
  return new URL('data:text/javascript,' + encodeURIComponent(code));
}

interface OutMessage {
  type: 'ready' | 'unit' | 'done' | 'error';
  note?: string;
  result?: ExperimentJobResult;
  message?: string;
  stack?: string;
  fatal?: boolean;
}

function errorOf(msg: OutMessage): Error {
  const e = new Error(msg.message);
  if (msg.stack) e.stack = msg.stack;
  return e;
}

export class JobThread {
  private readonly worker: Worker;
  /** Resolves once the thread has built its setup; rejects when that failed. */
  readonly ready: Promise<void>;
  private current: { resolve(r: ExperimentJobResult): void; reject(e: Error): void; onUnit(note: string): void } | undefined;
  private dead: Error | undefined;
  private exited = false;

  constructor(data: WorkerData) {
    this.worker = new Worker(workerUrl(), { workerData: data });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
    const die = (err: Error) => {
      if (this.dead) return;
      this.dead = err;
      readyReject(err);
      const c = this.current;
      this.current = undefined;
      c?.reject(err);
    };
    this.worker.on('message', (msg: OutMessage) => {
      if (msg.type === 'ready') readyResolve();
      else if (msg.type === 'unit') this.current?.onUnit(msg.note ?? '');
      else if (msg.type === 'done') {
        const c = this.current;
        this.current = undefined;
        c?.resolve(msg.result!);
      } else if (msg.type === 'error') {
        if (msg.fatal) die(errorOf(msg));
        else {
          const c = this.current;
          this.current = undefined;
          c?.reject(errorOf(msg));
        }
      }
    });
    this.worker.on('error', die);
    this.worker.on('exit', (code) => {
      this.exited = true;
      die(new Error(`experiment worker thread exited with code ${code}`));
    });
  }

  /** True while a job runs on this thread. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /** False once the thread failed or exited. */
  get alive(): boolean {
    return this.dead === undefined;
  }

  /** Runs one job (waiting for the thread's setup first). */
  async run(job: ExperimentJob, onUnit: (note: string) => void): Promise<ExperimentJobResult> {
    await this.ready;
    if (this.dead) throw this.dead;
    if (this.current) throw new Error('JobThread.run: a job is already running on this thread');
    return new Promise((resolve, reject) => {
      this.current = { resolve, reject, onUnit };
      this.worker.postMessage({ type: 'job', job });
    });
  }

  /** Stops the thread: at once (terminate), or after its current job when `graceful`. */
  async close(graceful = false): Promise<void> {
    if (this.exited) return;
    if (graceful && this.alive && !this.busy) {
      const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
      this.worker.postMessage({ type: 'exit' });
      await exited;
      return;
    }
    await this.worker.terminate();
  }
}
