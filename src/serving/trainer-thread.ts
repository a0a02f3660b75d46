/**
 * Runs the in-process online trainer in a worker thread (trainer-worker.ts)
 * so that training and checkpoint publishing never stall ranking requests.
 * The main thread serves the worker's reads and acknowledgements from the
 * real sample stream and hot-reloads each version the worker publishes.
 */
import { Worker } from 'node:worker_threads';
import { encodeSamples } from './sample-codec.js';
import type { SampleStream } from './sample-stream.js';
import type { OnlineTrainerOptions, OnlineTrainerStats } from './online-trainer.js';
import type { DataTables } from './model-registry.js';
import type { TrainerWorkerData } from './trainer-worker.js';
import { workerEntry } from './worker-entry.js';

export class TrainerThread {
  private readonly worker: Worker;
  /** The worker's latest figures (updated on every publish and at stop). */
  stats: OnlineTrainerStats | null = null;
  /** Set when the worker failed. */
  error: string | undefined;
  private readonly exited: Promise<void>;

  /**
   * @param onPublished called in the main thread after each version the worker published.
   */
  constructor(stream: SampleStream, modelsDir: string, tables: DataTables, options: Partial<OnlineTrainerOptions>, onPublished: (version: number) => void) {
    const data: TrainerWorkerData = { modelsDir, tables, options };
    this.worker = new Worker(workerEntry(import.meta.url, './trainer-worker'), { workerData: data });
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', (err) => {
      this.error = err.message;
    });
    this.worker.on(
      'message',
      (m: {
        type: string;
        rpc?: number;
        op?: string;
        group?: string;
        consumer?: string;
        maxEntries?: number;
        blockMs?: number;
        ids?: string[];
        version?: number;
        stats?: OnlineTrainerStats;
        message?: string;
      }) => {
        if (m.type === 'rpc') {
          void (async () => {
            try {
              if (m.op === 'read') {
                const entries = await stream.read(m.group!, m.consumer!, m.maxEntries!, m.blockMs!);
                const wire = entries.map((e) => ({ id: e.id, bytes: encodeSamples(e.batch) }));
                this.worker.postMessage(
                  { type: 'reply', rpc: m.rpc, entries: wire },
                  wire.map((w) => w.bytes.buffer as ArrayBuffer),
                );
              } else {
                await stream.ack(m.group!, m.ids ?? []);
                this.worker.postMessage({ type: 'reply', rpc: m.rpc });
              }
            } catch (err) {
              this.error = (err as Error).message;
              this.worker.postMessage({ type: 'reply', rpc: m.rpc, entries: [] });
            }
          })();
        } else if (m.type === 'published') {
          this.stats = m.stats ?? null;
          onPublished(m.version!);
        } else if (m.type === 'stopped') {
          this.stats = m.stats ?? null;
        } else if (m.type === 'error') {
          this.error = m.message;
        }
      },
    );
  }

  /** Asks the worker to finish its round and exit (terminates it after `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.worker.postMessage({ type: 'stop' });
    const timer = setTimeout(() => {
      void this.worker.terminate();
    }, timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
