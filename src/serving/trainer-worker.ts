/**
 * Worker-thread entry of the in-process online trainer: training steps and
 * checkpoint publishing (seconds of CPU for a full-size model) run off the
 * ranking service's event loop. The sample stream stays in the main thread;
 * this worker reads and acknowledges entries through messages
 * ({@link PortSampleStream}). Started by trainer-thread.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { decodeSamples } from './sample-codec.js';
import type { SampleBatch } from '../mdp/scri-mdp.js';
import type { SampleStream, SampleStreamEntry, SampleStreamStatus } from './sample-stream.js';
import { ModelRegistry, type DataTables } from './model-registry.js';
import { OnlineTrainer, type OnlineTrainerOptions } from './online-trainer.js';

/** What the main thread sends the worker at start. */
export interface TrainerWorkerData {
  modelsDir: string;
  /** The service's KuaiRand tables (see DataTables). */
  tables: DataTables;
  options: Partial<OnlineTrainerOptions>;
}

/** A SampleStream whose read/ack are served by the main thread over a port. */
class PortSampleStream implements SampleStream {
  readonly kind = 'memory' as const;
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: { entries?: { id: string; bytes: Uint8Array }[] }) => void>();

  constructor(private readonly port: MessagePort) {
    port.on('message', (m: { type: string; rpc?: number; entries?: { id: string; bytes: Uint8Array }[] }) => {
      if (m.type === 'reply' && m.rpc !== undefined) {
        const done = this.waiting.get(m.rpc);
        this.waiting.delete(m.rpc);
        done?.(m);
      }
    });
  }

  private call(msg: Record<string, unknown>): Promise<{ entries?: { id: string; bytes: Uint8Array }[] }> {
    const rpc = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(rpc, resolve);
      this.port.postMessage({ ...msg, type: 'rpc', rpc });
    });
  }

  publish(_batch: SampleBatch): Promise<void> {
    return Promise.reject(new Error('the trainer worker only consumes samples'));
  }

  async read(group: string, consumer: string, maxEntries: number, blockMs: number): Promise<SampleStreamEntry[]> {
    const reply = await this.call({ op: 'read', group, consumer, maxEntries, blockMs });
    return (reply.entries ?? []).map((e) => ({ id: e.id, batch: decodeSamples(e.bytes) }));
  }

  async ack(group: string, ids: readonly string[]): Promise<void> {
    await this.call({ op: 'ack', group, ids: [...ids] });
  }

  status(): SampleStreamStatus {
    return { kind: 'memory', healthy: true, publishedEntries: 0, publishedSamples: 0, bufferedEntries: 0, droppedEntries: 0 };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as TrainerWorkerData;
  const registry = new ModelRegistry(data.modelsDir, undefined, data.tables);
  const base = await registry.loadLatest();
  if (base === null) throw new Error(`no model in registry ${data.modelsDir}`);
  const trainer = new OnlineTrainer(base, new PortSampleStream(port), registry, data.options);
  port.on('message', (m: { type: string }) => {
    if (m.type === 'stop') trainer.stop();
  });
  port.postMessage({ type: 'ready', version: base.version });
  await trainer.run((p) => port.postMessage({ type: 'published', version: p.version, stats: { ...trainer.stats } }));
  port.postMessage({ type: 'stopped', stats: { ...trainer.stats } });
  port.close(); // lets the thread exit
}

main().catch((err: Error) => {
  parentPort?.postMessage({ type: 'error', message: err.message });
});
