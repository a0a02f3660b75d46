/**
 * The model registry of the online system (DESIGN.md §6): a directory of
 * versioned, checksummed checkpoints written by trainers and watched by the
 * ranking service.
 *
 * Layout of DIR:
 *   v000001.ckpt, v000002.ckpt, ...  checkpoints (the format of
 *                                     src/experiments/checkpoint.ts: SHA-256
 *                                     inside, atomic writes)
 *   LATEST.json                       {"version", "file", "sha256", "agent", "publishedAt"}
 * A version number is claimed by creating its file exclusively, so two
 * trainers publishing at once get distinct versions; LATEST.json is replaced
 * atomically after the checkpoint is fully written, so a reader never sees a
 * pointer to a partial file. Readers verify the pointer's SHA-256 of the
 * whole file and the checkpoint's own checksum before using anything.
 *
 * Checkpoints carry what the server needs to rebuild the model: the agent
 * name and config, and (as `rliv train` writes them) `state.options.meta =
 * {env: {kind, users, items, seed}, agentSeed}`, from which the serving
 * catalog is rebuilt exactly as the trainer built it.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent } from '../agents/registry.js';
import type { Ranker, RankRequest } from '../agents/ranker.js';
import { decodeCheckpoint, encodeCheckpoint, writeFileAtomic, CheckpointError, type Checkpoint } from '../experiments/checkpoint.js';
import { Rng } from '../numeric/rng.js';
import { buildCatalog } from '../world/catalog-builder.js';
import type { Catalog } from '../world/catalog.js';

/** The synthetic catalog a model was trained on (as `rliv train`'s default world builds it). */
export interface CatalogSpec {
  /** Users of the synthetic world. */
  users: number;
  /** Items of the synthetic world. */
  items: number;
  /** Seed of the world. */
  seed: number;
}

/** The serving default: the `quick` training preset's world. */
export const DEFAULT_CATALOG_SPEC: Readonly<Omit<CatalogSpec, 'seed'>> = { users: 1000, items: 7583 };

/**
 * Optional capability of a ranker: the per-tower LIV of each candidate,
 * N x 4 in TOWERS order (click, watchTime, follow, gift), written into `out`;
 * NaN for towers the variant does not train. The RLIV-UA agent provides it
 * (`RlivUaAgent.livPerTower`); the service reports `liv: null` for rankers
 * without it.
 */
export interface TowerScorer {
  livPerTower(request: RankRequest, out: Float32Array): void;
}

/** A loaded, ready-to-serve model version. */
export interface ServingModel {
  /** Registry version (0 for a checkpoint served from outside a registry or a fresh default model). */
  version: number;
  /** Exact agent name. */
  agent: string;
  ranker: Ranker;
  /** Per-tower LIV, when the ranker provides it. */
  towers: TowerScorer | null;
  /** SHA-256 (hex) of the checkpoint bytes. */
  sha256: string;
  catalog: Catalog;
  catalogSpec: CatalogSpec;
  agentConfig: Record<string, unknown>;
  agentSeed: number;
  loadedAt: number;
}

/** The pointer file of a registry. */
export interface RegistryPointer {
  version: number;
  file: string;
  sha256: string;
  agent: string;
  publishedAt: string;
}

/** A model that cannot be loaded (corrupt, mismatched, unknown agent). The serving model is unchanged. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

const catalogCache = new Map<string, Catalog>();

/** Builds (once per process) the synthetic catalog of `spec`, exactly as `rliv train` does. */
export function buildServingCatalog(spec: CatalogSpec): Catalog {
  const key = `${spec.users}/${spec.items}/${spec.seed}`;
  let c = catalogCache.get(key);
  if (c === undefined) {
    c = buildCatalog({ numUsers: spec.users, numItems: spec.items }, new Rng(spec.seed).fork('catalog'));
    catalogCache.set(key, c);
  }
  return c;
}

interface TrainMeta { env?: { kind?: string; users?: number; items?: number; seed?: number }; agentSeed?: number }

/** The catalog spec and agent seed recorded in a checkpoint. */
export function checkpointWorld(ckpt: Checkpoint): { catalogSpec: CatalogSpec; agentSeed: number } {
  const meta = (ckpt.state.options as { meta?: TrainMeta } | undefined)?.meta;
  const env = meta?.env;
  if (!env || env.kind !== 'world' || !Number.isInteger(env.users) || !Number.isInteger(env.items) || !Number.isInteger(env.seed)) {
    throw new ModelLoadError('checkpoint does not record the world it was trained on (state.options.meta.env with kind "world", users, items, seed); serve a checkpoint written by "rliv train" or "rliv train-online"');
  }
  return { catalogSpec: { users: env.users!, items: env.items!, seed: env.seed! }, agentSeed: Number.isInteger(meta?.agentSeed) ? meta!.agentSeed! : env.seed! };
}

/** The checkpoint `state` that records the world and agent seed (what `checkpointWorld` reads). */
export function worldState(catalogSpec: CatalogSpec, agentSeed: number): Record<string, unknown> {
  return { options: { meta: { env: { kind: 'world', users: catalogSpec.users, items: catalogSpec.items, seed: catalogSpec.seed }, agentSeed } } };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Decodes checkpoint bytes and builds the ranker; throws ModelLoadError naming
 * the problem. `recycle`: a model no request uses any more (same agent,
 * config and catalog) whose ranker object is reused: `load` overwrites its
 * whole state, which saves building and randomly initializing a new agent
 * on every hot reload. On failure the recycled ranker is left as it was
 * (the agents' `load` changes nothing on bad bytes).
 */
export function instantiateModel(bytes: Uint8Array, version: number, source: string, recycle?: ServingModel | null, knownSha256?: string): ServingModel {
  let ckpt: Checkpoint;
  try {
    ckpt = decodeCheckpoint(bytes, source);
  } catch (err) {
    throw new ModelLoadError((err as Error).message);
  }
  const model = ckpt.sections.model;
  if (!model) throw new ModelLoadError(`${source} has no "model" section`);
  const { catalogSpec, agentSeed } = checkpointWorld(ckpt);
  const catalog = buildServingCatalog(catalogSpec);
  const reusable = recycle && recycle.agent === ckpt.agent && recycle.catalog === catalog && recycle.agentSeed === agentSeed
    && JSON.stringify(recycle.agentConfig) === JSON.stringify(ckpt.agentConfig);
  let ranker: Ranker;
  try {
    ranker = reusable ? recycle.ranker : createAgent(ckpt.agent, { catalog, seed: agentSeed }, ckpt.agentConfig);
    ranker.load(model);
  } catch (err) {
    throw new ModelLoadError(`${source}: cannot build ${ckpt.agent}: ${(err as Error).message}`);
  }
  return {
    version, agent: ckpt.agent, ranker, towers: towerScorerOf(ranker), sha256: knownSha256 ?? sha256Hex(bytes),
    catalog, catalogSpec, agentConfig: ckpt.agentConfig, agentSeed, loadedAt: Date.now(),
  };
}

/**
 * A fresh (untrained) model of `agent` over the catalog of `spec`, as
 * version 0 with no checksum yet (publishing it gives both).
 */
export function freshModel(agent: string, spec: CatalogSpec, agentSeed: number, agentConfig: Record<string, unknown> = {}): ServingModel {
  const catalog = buildServingCatalog(spec);
  const ranker = createAgent(agent, { catalog, seed: agentSeed }, agentConfig);
  return { version: 0, agent, ranker, towers: towerScorerOf(ranker), sha256: '', catalog, catalogSpec: spec, agentConfig, agentSeed, loadedAt: Date.now() };
}

/** The checkpoint of a ranker's `save()` bytes, in the layout `instantiateModel` reads. */
export function modelCheckpoint(agent: string, agentConfig: Record<string, unknown>, modelBytes: Uint8Array, spec: CatalogSpec, agentSeed: number, extra: Record<string, unknown>): Checkpoint {
  return { agent, agentConfig, state: { ...worldState(spec, agentSeed), online: extra }, sections: { model: modelBytes } };
}

/** The checkpoint of a serving model (e.g. to publish it into a registry). */
export function servingModelCheckpoint(model: ServingModel, extra: Record<string, unknown> = {}): Checkpoint {
  return modelCheckpoint(model.agent, model.agentConfig, model.ranker.save(), model.catalogSpec, model.agentSeed, extra);
}

export function towerScorerOf(ranker: Ranker): TowerScorer | null {
  const r = ranker as Partial<TowerScorer>;
  return typeof r.livPerTower === 'function' ? (ranker as unknown as TowerScorer) : null;
}

const VERSION_FILE = /^v(\d{6,})\.ckpt$/;

export class ModelRegistry {
  /**
   * @param dir the registry directory (created on first publish).
   * @param keepVersions checkpoints kept on disk; older versions are deleted after each publish. Default 10.
   */
  constructor(readonly dir: string, readonly keepVersions = 10) {}

  /** Deletes version files older than the newest `keepVersions`. */
  private prune(newest: number): void {
    for (const f of readdirSync(this.dir)) {
      const m = VERSION_FILE.exec(f);
      if (m && Number(m[1]) <= newest - this.keepVersions) {
        try { unlinkSync(join(this.dir, f)); } catch { /* already gone */ }
      }
    }
  }

  get pointerPath(): string {
    return join(this.dir, 'LATEST.json');
  }

  /** The current pointer, or null when nothing was published (or the pointer is unreadable). */
  latest(): RegistryPointer | null {
    if (!existsSync(this.pointerPath)) return null;
    try {
      const p = JSON.parse(readFileSync(this.pointerPath, 'utf8')) as RegistryPointer;
      if (!Number.isInteger(p.version) || typeof p.file !== 'string' || typeof p.sha256 !== 'string') return null;
      return p;
    } catch {
      return null;
    }
  }

  /** Reads and verifies the checkpoint bytes of a pointer (throws ModelLoadError). */
  readBytes(pointer: RegistryPointer): Uint8Array {
    const path = join(this.dir, pointer.file);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new ModelLoadError(`cannot read model version ${pointer.version} (${path}): ${(err as Error).message}`);
    }
    const sha = sha256Hex(bytes);
    if (sha !== pointer.sha256) throw new ModelLoadError(`model version ${pointer.version} (${path}) is corrupted: SHA-256 ${sha.slice(0, 12)}... does not match the published ${pointer.sha256.slice(0, 12)}...`);
    return bytes;
  }

  /** Loads the latest published version (throws ModelLoadError; null when none). `recycle`: see instantiateModel. */
  loadLatest(recycle?: ServingModel | null): ServingModel | null {
    const p = this.latest();
    if (p === null) return null;
    return instantiateModel(this.readBytes(p), p.version, `model version ${p.version}`, recycle, p.sha256);
  }

  /** Highest version present in the directory (files or pointer). */
  highestVersion(): number {
    let max = this.latest()?.version ?? 0;
    if (existsSync(this.dir)) for (const f of readdirSync(this.dir)) {
      const m = VERSION_FILE.exec(f);
      if (m) max = Math.max(max, Number(m[1]));
    }
    return max;
  }

  /**
   * Publishes a checkpoint as the next version: claims the version file
   * exclusively, writes it atomically, verifies it decodes, then swaps
   * LATEST.json. Returns the new pointer.
   */
  publish(ckpt: Checkpoint): RegistryPointer {
    mkdirSync(this.dir, { recursive: true });
    const bytes = encodeCheckpoint(ckpt);
    try {
      decodeCheckpoint(bytes, 'new checkpoint');
    } catch (err) {
      throw new CheckpointError(`refusing to publish: ${(err as Error).message}`);
    }
    for (let attempt = 0; attempt < 100; attempt++) {
      const version = this.highestVersion() + 1;
      const file = `v${String(version).padStart(6, '0')}.ckpt`;
      const path = join(this.dir, file);
      let fd: number;
      try {
        fd = openSync(path, 'wx'); // claim the version; fails if another trainer took it
      } catch {
        continue;
      }
      closeSync(fd);
      try {
        writeFileAtomic(path, bytes);
      } catch (err) {
        try { unlinkSync(path); } catch { /* gone */ }
        throw err;
      }
      const pointer: RegistryPointer = { version, file, sha256: sha256Hex(bytes), agent: ckpt.agent, publishedAt: new Date().toISOString() };
      // Never move the pointer backwards if a concurrent trainer already published a later version.
      if ((this.latest()?.version ?? 0) < version) writeFileAtomic(this.pointerPath, new TextEncoder().encode(JSON.stringify(pointer, null, 2) + '\n'));
      this.prune(version);
      return pointer;
    }
    throw new Error(`could not claim a new model version in ${this.dir} after 100 attempts`);
  }
}
