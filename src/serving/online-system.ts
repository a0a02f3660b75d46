/**
 * Wires the online system together (docs/design.md §9): model registry, initial
 * model, pair-count store and sample stream (memory or Redis), the ranking
 * service, and optionally an in-process online trainer. Used by `rliv
 * serve`, the tests and the serving benchmark.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  instantiateModel,
  freshModel,
  ModelRegistry,
  ModelLoadError,
  servingModelCheckpoint,
  sha256Hex,
  syntheticCatalogSpec,
  DEFAULT_CATALOG_SIZE,
  type DataTables,
  type ServingModel,
} from './model-registry.js';
import { MemoryPairStore, type PairFeatureStore } from './pair-store.js';
import { RedisPairStore } from './redis-pair-store.js';
import { MemorySampleStream, type SampleStream } from './sample-stream.js';
import { RedisSampleStream } from './redis-sample-stream.js';
import { createRankingService, type RankingService } from './server.js';
import type { ServiceAuthOptions } from './request-guards.js';
import type { ServiceLogOptions } from './service-log.js';
import { OnlineTrainer, type OnlineTrainerOptions, type OnlineTrainerStats } from './online-trainer.js';
import { TrainerThread } from './trainer-thread.js';
import type { LabelJoinerOptions } from '../mdp/label-joiner.js';

/** Agent config of the fresh default model: small batches so a demo trains after a few dozen interactions. */
export const DEFAULT_SERVING_AGENT_CONFIG: Readonly<Record<string, unknown>> = { batchSize: 64, minReplaySize: 32 };

/** Configuration of {@link startOnlineSystem}. */
export interface OnlineSystemOptions {
  /** Model registry directory (created when missing). */
  modelsDir: string;
  /** Checkpoint to serve (published into the registry when it is not its latest version). Default: the registry's latest, else (only in an empty registry) a fresh model. */
  checkpointPath?: string;
  /** KuaiRand tables for models trained on them (`--users/--videos`); a table path recorded in a checkpoint is never read. Default none. */
  tables?: DataTables;
  /** Redis URL for the pair store and the sample stream; memory backends when absent. */
  redisUrl?: string;
  /** Redis key prefix. Default "rliv:". */
  redisPrefix?: string;
  /** `redisUrl` names a Redis Cluster (its seed nodes, redis://h1:p1,h2:p2). Default false. */
  redisCluster?: boolean;
  /** Agent of a fresh default model. Default "RLIV-UA". */
  agent?: string;
  /** Agent config of a fresh default model. Default {@link DEFAULT_SERVING_AGENT_CONFIG}. */
  agentConfig?: Record<string, unknown>;
  /** Synthetic catalog of a fresh default model: users and items (default: the size of `rliv train --preset quick`'s world, 3000 x 20000). */
  catalog?: { users: number; items: number };
  /** Seed of a fresh default model's catalog and agent. */
  seed: number;
  /** Run an online trainer in this process. Default true. */
  inlineTrainer?: boolean;
  /** Run that trainer in a worker thread (default true), so training and publishing never stall requests. */
  trainerInWorker?: boolean;
  /** Settings of the inline trainer. */
  trainer?: Partial<OnlineTrainerOptions>;
  /** Label joiner settings of the service. */
  joiner?: Partial<LabelJoinerOptions>;
  /** Bearer tokens of the service (writes, optionally ranking). Default none. */
  auth?: ServiceAuthOptions;
  /** Registry polling interval (ms). Default 1000. */
  reloadIntervalMs?: number;
  /** Joiner clock / write interval (ms). Default 200. */
  tickIntervalMs?: number;
  /** The service's log: level (default warn) and destination (default stderr). */
  log?: ServiceLogOptions;
}

/** The in-process trainer, on the main thread or in a worker. */
export interface InlineTrainer {
  /** Figures of the trainer (in worker mode: as of its last publish). */
  readonly stats: OnlineTrainerStats | null;
  /** Set when the trainer failed. */
  readonly error: string | undefined;
  /** Finishes the current round and stops. */
  stop(): Promise<void>;
}

export interface OnlineSystem {
  service: RankingService;
  registry: ModelRegistry;
  trainer: InlineTrainer | null;
  /** How the initial model was chosen, for logs. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Chooses the initial model and makes sure it is the registry's latest
 * version. A damaged registry (LATEST.json unreadable or inconsistent, or
 * versions without a pointer) is a RegistryError: a fresh model is
 * published only into an empty registry.
 */
export async function initialModel(registry: ModelRegistry, options: OnlineSystemOptions): Promise<{ model: ServingModel; origin: string }> {
  if (options.checkpointPath) {
    const path = resolve(options.checkpointPath);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new ModelLoadError(`cannot read --checkpoint ${path}: ${(err as Error).message}`);
    }
    registry.assertEmptyOrPointed();
    const latest = registry.latest();
    if (latest && latest.sha256 === sha256Hex(bytes)) {
      return {
        model: await instantiateModel(bytes, latest.version, `checkpoint ${path}`, null, undefined, false, registry.tables),
        origin: `checkpoint ${path} (registry version ${latest.version})`,
      };
    }
    const loaded = await instantiateModel(bytes, 0, `checkpoint ${path}`, null, undefined, false, registry.tables);
    const pointer = registry.publish(servingModelCheckpoint(loaded, { source: path }));
    // The published bytes hold exactly this ranker's state: serve the object we have.
    return {
      model: { ...loaded, version: pointer.version, sha256: pointer.sha256 },
      origin: `checkpoint ${path}, published as registry version ${pointer.version}`,
    };
  }
  const latest = await registry.loadLatest();
  if (latest) return { model: latest, origin: `registry ${registry.dir} version ${latest.version}` };
  registry.assertEmptyOrPointed();
  const agent = options.agent ?? 'RLIV-UA';
  const size = options.catalog ?? DEFAULT_CATALOG_SIZE;
  const spec = syntheticCatalogSpec(size.users, size.items, options.seed);
  const fresh = await freshModel(agent, spec, options.seed, options.agentConfig ?? { ...DEFAULT_SERVING_AGENT_CONFIG });
  const pointer = registry.publish(servingModelCheckpoint(fresh, { source: 'fresh default model' }));
  const model = { ...fresh, version: pointer.version, sha256: pointer.sha256 };
  return {
    model,
    origin: `fresh ${agent} over a synthetic catalog (${size.users} users, ${size.items} items, seed ${options.seed}), published as registry version ${pointer.version}`,
  };
}

export async function startOnlineSystem(options: OnlineSystemOptions): Promise<OnlineSystem> {
  const registry = new ModelRegistry(resolve(options.modelsDir), undefined, options.tables ?? {});
  const { model, origin } = await initialModel(registry, options);
  let store: PairFeatureStore;
  let stream: SampleStream;
  if (options.redisUrl) {
    const cluster = options.redisCluster ?? false;
    const rs = new RedisPairStore({ url: options.redisUrl, prefix: options.redisPrefix, cluster });
    const ss = new RedisSampleStream({ url: options.redisUrl, prefix: options.redisPrefix, cluster });
    await Promise.all([rs.connect(), ss.connect()]); // false = degraded; both keep retrying in the background
    store = rs;
    stream = ss;
  } else {
    store = new MemoryPairStore();
    stream = new MemorySampleStream();
  }
  const service = await createRankingService({
    model,
    registry,
    store,
    stream,
    pipeline: options.joiner ? { joiner: options.joiner } : {},
    ...(options.auth ? { auth: options.auth } : {}),
    reloadIntervalMs: options.reloadIntervalMs,
    tickIntervalMs: options.tickIntervalMs,
    log: options.log,
  });
  let trainer: InlineTrainer | null = null;
  if (options.inlineTrainer ?? true) {
    const trainerOptions = { publishEverySamples: 64, ...options.trainer };
    if (options.trainerInWorker ?? true) {
      trainer = new TrainerThread(stream, registry.dir, registry.tables, trainerOptions, () => {
        void service.holder.checkNow();
      });
    } else {
      const t = new OnlineTrainer(model, stream, registry, trainerOptions);
      const done = t.run(() => {
        void service.holder.checkNow();
      });
      trainer = {
        get stats() {
          return t.stats;
        },
        get error() {
          return t.stats.lastError;
        },
        async stop() {
          t.stop();
          await done;
        },
      };
    }
  }
  return {
    service,
    registry,
    trainer,
    origin,
    async close() {
      await trainer?.stop();
      await service.close();
    },
  };
}
