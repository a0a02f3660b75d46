/**
 * The model registry of the online system (docs/design.md §9): a directory of
 * versioned, checksummed checkpoints written by trainers and watched by the
 * ranking service.
 *
 * Layout of DIR:
 *   v000001.ckpt, v000002.ckpt, ...  checkpoints (the format of
 *                                     src/agents/checkpoint.ts: SHA-256
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
import type { Ranker } from '../agents/ranker.js';
import { decodeCheckpoint, encodeCheckpoint, writeFileAtomic, CheckpointError, type Checkpoint } from '../agents/checkpoint.js';
import { Rng } from '../numeric/rng.js';
import { buildDescribedCatalog } from '../simulator/world-description.js';
import type { Catalog } from '../world/catalog.js';

/** Where a catalog comes from: the catalog fields of a world description (src/simulator/world-description.ts). */
export interface CatalogDescription {
  /** Seed of the catalog builder. */
  catalogSeed: number;
  /** Synthetic users (or a cap on the real table's rows). */
  numUsers?: number;
  /** Synthetic items (or a cap on the real table's rows). */
  numItems?: number;
  /** Real KuaiRand user table, when the world was built on it. */
  usersPath?: string;
  /** Real KuaiRand video table, when the world was built on it. */
  videosPath?: string;
}

/**
 * The world a model was trained on, as its checkpoint records it:
 * `env` is the checkpoint's `state.options.meta.env`, kept verbatim (so
 * versions published from an `rliv train` checkpoint stay readable by
 * `rliv evaluate`); `description` is what rebuilds the serving catalog.
 */
export interface CatalogSpec {
  env: Record<string, unknown>;
  description: CatalogDescription;
}

/** The serving default: the world `rliv train --preset quick` builds by default (3000 users, 20000 items). */
export const DEFAULT_CATALOG_SIZE: Readonly<{ users: number; items: number }> = { users: 3000, items: 20000 };

/** The spec of a synthetic default world of the given size, seeded like `rliv train`'s default world. */
export function syntheticCatalogSpec(users: number, items: number, seed: number): CatalogSpec {
  const root = new Rng(seed);
  const world = { kind: 'rliv-world', version: 1, catalogSeed: root.fork('catalog').seed, worldSeed: root.fork('world').seed, numUsers: users, numItems: items };
  return { env: { kind: 'world', scale: 'serve', seed, world }, description: { catalogSeed: world.catalogSeed, numUsers: users, numItems: items } };
}

/** A loaded, ready-to-serve model version. */
export interface ServingModel {
  /** Registry version (0 for a checkpoint served from outside a registry or a fresh default model). */
  version: number;
  /** Exact agent name. */
  agent: string;
  /** The model; its `towerLiv` (null for baselines) gives the per-tower LIV the service reports. */
  ranker: Ranker;
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

const catalogCache = new Map<string, Promise<Catalog>>();

/** Builds (once per process and description) the catalog a model was trained on, exactly as training built it. */
export function loadServingCatalog(spec: CatalogSpec): Promise<Catalog> {
  const key = JSON.stringify(spec.description);
  let c = catalogCache.get(key);
  if (c === undefined) {
    c = buildDescribedCatalog({ kind: 'rliv-world', version: 1, worldSeed: 0, ...spec.description });
    catalogCache.set(key, c);
    c.catch(() => catalogCache.delete(key));
  }
  return c;
}

/** The catalog spec and agent seed recorded in a checkpoint (`state.options.meta`, as `rliv train` writes it). */
export function checkpointWorld(ckpt: Checkpoint): { catalogSpec: CatalogSpec; agentSeed: number } {
  const meta = (ckpt.state.options as { meta?: { env?: Record<string, unknown>; agentSeed?: number } } | undefined)?.meta;
  const env = meta?.env;
  const world = env?.world as Partial<CatalogDescription> | undefined;
  if (!env || !world || !Number.isInteger(world.catalogSeed)) {
    throw new ModelLoadError('checkpoint does not record the world it was trained on (state.options.meta.env.world with catalogSeed); serve a checkpoint written by "rliv train", "rliv serve" or "rliv train-online"');
  }
  const description: CatalogDescription = { catalogSeed: world.catalogSeed! };
  if (world.numUsers !== undefined) description.numUsers = world.numUsers;
  if (world.numItems !== undefined) description.numItems = world.numItems;
  if (world.usersPath !== undefined) description.usersPath = world.usersPath;
  if (world.videosPath !== undefined) description.videosPath = world.videosPath;
  const seed = typeof env.seed === 'number' ? env.seed : 0;
  return { catalogSpec: { env, description }, agentSeed: Number.isInteger(meta?.agentSeed) ? meta!.agentSeed! : seed };
}

/** The checkpoint `state` that records the world and agent seed (what `checkpointWorld` reads). */
export function worldState(catalogSpec: CatalogSpec, agentSeed: number): Record<string, unknown> {
  return { options: { meta: { env: catalogSpec.env, agentSeed } } };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Decodes a checkpoint and its "model" section; any defect is a ModelLoadError naming `source`. */
export function decodeModelCheckpoint(bytes: Uint8Array, source: string): { ckpt: Checkpoint; model: Uint8Array } {
  let ckpt: Checkpoint;
  try {
    ckpt = decodeCheckpoint(bytes, source);
  } catch (err) {
    throw new ModelLoadError((err as Error).message);
  }
  const model = ckpt.sections.model;
  if (!model) throw new ModelLoadError(`${source} has no "model" section`);
  return { ckpt, model };
}

/**
 * Decodes checkpoint bytes and builds the ranker; throws ModelLoadError naming
 * the problem. `recycle`: a model no request uses any more (same agent,
 * config and catalog) whose ranker object is reused: `load` overwrites its
 * whole state, which saves building and randomly initializing a new agent
 * on every hot reload. On failure the recycled ranker is left as it was
 * (the agents' `load` changes nothing on bad bytes).
 * `parametersOnly`: for a model that will only serve (the hot reload), use
 * the ranker's `loadParameters` when it has one (RLIV-UA: no replay buffer,
 * no redundant outer checksum; still checksummed, see RlivUaAgent). Such a
 * model cannot be saved or re-published; trainers load in full.
 */
export async function instantiateModel(bytes: Uint8Array, version: number, source: string, recycle?: ServingModel | null, knownSha256?: string, parametersOnly = false): Promise<ServingModel> {
  const { ckpt, model } = decodeModelCheckpoint(bytes, source);
  const { catalogSpec, agentSeed } = checkpointWorld(ckpt);
  let catalog: Catalog;
  try {
    catalog = await loadServingCatalog(catalogSpec);
  } catch (err) {
    throw new ModelLoadError(`${source}: cannot rebuild its catalog: ${(err as Error).message}`);
  }
  const reusable = recycle && recycle.agent === ckpt.agent && recycle.catalog === catalog && recycle.agentSeed === agentSeed
    && JSON.stringify(recycle.agentConfig) === JSON.stringify(ckpt.agentConfig);
  let ranker: Ranker;
  try {
    ranker = reusable ? recycle.ranker : createAgent(ckpt.agent, { catalog, seed: agentSeed }, ckpt.agentConfig);
    const lean = (ranker as Partial<ParameterLoader>).loadParameters;
    if (parametersOnly && typeof lean === 'function') lean.call(ranker, model);
    else ranker.load(model);
  } catch (err) {
    throw new ModelLoadError(`${source}: cannot build ${ckpt.agent}: ${(err as Error).message}`);
  }
  return {
    version, agent: ckpt.agent, ranker, sha256: knownSha256 ?? sha256Hex(bytes),
    catalog, catalogSpec, agentConfig: ckpt.agentConfig, agentSeed, loadedAt: Date.now(),
  };
}

/**
 * A fresh (untrained) model of `agent` over the catalog of `spec`, as
 * version 0 with no checksum yet (publishing it gives both).
 */
export async function freshModel(agent: string, spec: CatalogSpec, agentSeed: number, agentConfig: Record<string, unknown> = {}): Promise<ServingModel> {
  const catalog = await loadServingCatalog(spec);
  const ranker = createAgent(agent, { catalog, seed: agentSeed }, agentConfig);
  return { version: 0, agent, ranker, sha256: '', catalog, catalogSpec: spec, agentConfig, agentSeed, loadedAt: Date.now() };
}

/** The checkpoint of a ranker's `save()` bytes, in the layout `instantiateModel` reads. */
export function modelCheckpoint(agent: string, agentConfig: Record<string, unknown>, modelBytes: Uint8Array, spec: CatalogSpec, agentSeed: number, extra: Record<string, unknown>): Checkpoint {
  return { agent, agentConfig, state: { ...worldState(spec, agentSeed), online: extra }, sections: { model: modelBytes } };
}

/** The checkpoint of a serving model (e.g. to publish it into a registry). */
export function servingModelCheckpoint(model: ServingModel, extra: Record<string, unknown> = {}): Checkpoint {
  return modelCheckpoint(model.agent, model.agentConfig, model.ranker.save(), model.catalogSpec, model.agentSeed, extra);
}

/** Optional ranker capability: load only what scoring needs (see instantiateModel). */
interface ParameterLoader {
  loadParameters(bytes: Uint8Array): void;
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

  /** Loads the latest published version (throws ModelLoadError; null when none). `recycle`, `parametersOnly`: see instantiateModel. */
  loadLatest(recycle?: ServingModel | null, parametersOnly = false): Promise<ServingModel | null> {
    const p = this.latest();
    if (p === null) return Promise.resolve(null);
    try {
      return instantiateModel(this.readBytes(p), p.version, `model version ${p.version}`, recycle, p.sha256, parametersOnly);
    } catch (err) {
      return Promise.reject(err);
    }
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
