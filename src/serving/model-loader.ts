/**
 * Hot-reload loading off the event loop. Reading a version touches every
 * byte of a checkpoint (71 MB for a Table 1 RLIV-UA with its replay buffer):
 * two SHA-256 passes, decoding, and the parameter section's CRC-32 (the
 * slowest, in JavaScript). A worker thread (model-load-worker.ts) does all of
 * that and transfers the decoded parameters; the event loop only builds (or
 * recycles) the ranker and copies the parameters in, so requests keep being
 * served during a reload. Errors carry the same messages as the in-thread
 * path (ModelRegistry.readBytes, decodeCheckpoint, the agent's checks).
 */
import { Worker } from 'node:worker_threads';
import { createAgent } from '../agents/registry.js';
import type { Ranker } from '../agents/ranker.js';
import type { PreparedRlivUaParameters } from '../agents/rliv-ua.js';
import type { Checkpoint } from '../agents/checkpoint.js';
import type { Catalog } from '../world/catalog.js';
import { checkpointWorld, ModelLoadError, servingCatalog, type DataTables, type RegistryPointer, type ServingModel } from './model-registry.js';
import { workerEntry } from './worker-entry.js';

/** Message to the worker. */
export interface LoadRequest {
  id: number;
  /** Registry directory. */
  dir: string;
  pointer: RegistryPointer;
}

/** The worker's answer. */
export type LoadReply =
  | {
      id: number;
      ok: true;
      agent: string;
      agentConfig: Record<string, unknown>;
      state: Checkpoint['state'];
      prepared: PreparedRlivUaParameters | null;
      modelBytes: Uint8Array | null;
    }
  | { id: number; ok: false; message: string; loadError: boolean };

type Loaded = Extract<LoadReply, { ok: true }>;

interface ParameterApplier {
  applyPreparedParameters(prepared: PreparedRlivUaParameters): void;
}

export class ModelLoaderThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private isReady = false;
  private readonly pending = new Map<number, { resolve: (r: Loaded) => void; reject: (e: Error) => void }>();

  /** Starts the worker now (its module loading takes a while), so the first reload does not wait for it. */
  warm(): void {
    this.ensureWorker();
  }

  /** True once the worker has started and can take loads without start-up delay. */
  get ready(): boolean {
    return this.isReady && this.worker !== null;
  }

  /**
   * Verifies and decodes registry version `pointer` of `dir` in the worker,
   * then builds the serving model here (catalog tables from `tables`, never
   * from the checkpoint).
   */
  async load(dir: string, pointer: RegistryPointer, recycle: ServingModel | null, tables: DataTables = {}): Promise<ServingModel> {
    const loaded = await this.request(dir, pointer);
    return instantiateLoaded(loaded, pointer, recycle, tables);
  }

  private request(dir: string, pointer: RegistryPointer): Promise<Loaded> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<Loaded>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, dir, pointer } satisfies LoadRequest);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(workerEntry(import.meta.url, './model-load-worker'));
    worker.unref();
    worker.on('message', (r: LoadReply | { ready: true }) => {
      if ('ready' in r) {
        this.isReady = true;
        return;
      }
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r);
      else p.reject(r.loadError ? new ModelLoadError(r.message) : new Error(r.message));
    });
    const fail = (err: Error): void => {
      if (this.worker === worker) {
        this.worker = null;
        this.isReady = false;
      }
      for (const p of this.pending.values()) p.reject(new Error(`model loader thread failed: ${err.message}`));
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  /** Stops the worker (pending loads are rejected). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

/**
 * An idle twin of `model` (same agent, catalog, seed and config; its own
 * freshly initialized parameters) for the next reload to load into. Building
 * an agent is the one part of a reload that cannot leave the event loop
 * (~300-480 ms for a Table 1 RLIV-UA: random init of the hashed embedding
 * tables), so the holder builds this spare at start, before traffic, and
 * later reloads recycle the model each swap replaced. Not servable until a
 * reload copied parameters in.
 */
export function buildSpare(model: ServingModel): ServingModel {
  const ranker = createAgent(model.agent, { catalog: model.catalog, seed: model.agentSeed }, model.agentConfig);
  return { ...model, version: -1, sha256: '', ranker, loadedAt: 0 };
}

/** The main-thread part: catalog, ranker (recycled when it fits), parameters copied in. */
async function instantiateLoaded(loaded: Loaded, pointer: RegistryPointer, recycle: ServingModel | null, tables: DataTables): Promise<ServingModel> {
  const source = `model version ${pointer.version}`;
  const { catalogSpec, agentSeed } = checkpointWorld({ agent: loaded.agent, agentConfig: loaded.agentConfig, state: loaded.state, sections: {} });
  const catalog = await servingCatalog(catalogSpec, tables, source);
  const reusable =
    recycle &&
    recycle.agent === loaded.agent &&
    recycle.catalog === catalog &&
    recycle.agentSeed === agentSeed &&
    JSON.stringify(recycle.agentConfig) === JSON.stringify(loaded.agentConfig);
  let ranker: Ranker;
  try {
    ranker = reusable ? recycle.ranker : createAgent(loaded.agent, { catalog, seed: agentSeed }, loaded.agentConfig);
    if (loaded.prepared !== null) {
      const apply = (ranker as Partial<ParameterApplier>).applyPreparedParameters;
      if (typeof apply !== 'function') throw new Error(`${loaded.agent} cannot take prepared parameters`);
      apply.call(ranker, loaded.prepared);
    } else {
      ranker.load(loaded.modelBytes!);
    }
  } catch (err) {
    throw new ModelLoadError(`${source}: cannot build ${loaded.agent}: ${(err as Error).message}`);
  }
  return {
    version: pointer.version,
    agent: loaded.agent,
    ranker,
    sha256: pointer.sha256,
    catalog,
    catalogSpec,
    agentConfig: loaded.agentConfig,
    agentSeed,
    loadedAt: Date.now(),
  };
}
