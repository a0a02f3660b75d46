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
 * The registry never loses a trained model: an unreadable or inconsistent
 * LATEST.json is a {@link RegistryError} naming the file (never "no model
 * yet"), `rliv registry repair` ({@link ModelRegistry.repair}) points it at
 * the newest valid version, and a pointer can only name a version file of
 * the directory itself (`../` and other paths are refused).
 *
 * Checkpoints carry what the server needs to rebuild the model: the agent
 * name and config, and (as `rliv train` writes them) `state.options.meta =
 * {env: {kind, users, items, seed}, agentSeed}`, from which the serving
 * catalog is rebuilt exactly as the trainer built it. A data path recorded
 * there (a KuaiRand table) is never read or shown by the service: the
 * operator names the tables ({@link DataTables}, `rliv serve --users/--videos`).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent } from '../agents/registry.js';
import type { Ranker } from '../agents/ranker.js';
import { decodeCheckpoint, encodeCheckpoint, writeFileAtomic, CheckpointError, type Checkpoint } from '../agents/checkpoint.js';
import { Rng } from '../numeric/rng.js';
import { buildDescribedCatalog } from '../environment/world-description.js';
import type { Catalog } from '../world/catalog.js';

/** Where a catalog comes from: the catalog fields of a world description (src/environment/world-description.ts). */
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
  const world = {
    kind: 'rliv-world',
    version: 1,
    catalogSeed: root.fork('catalog').seed,
    worldSeed: root.fork('world').seed,
    numUsers: users,
    numItems: items,
  };
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
  /** What the online trainer recorded in this version (the checkpoint's `state.online`: parent version, stream entries trained on), when loaded in full. */
  online?: Record<string, unknown>;
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

/**
 * The registry itself is damaged: LATEST.json unreadable, inconsistent or
 * pointing outside the directory, or versions present without a pointer.
 * The message names the file and says how to repair it; nothing is
 * published over it.
 */
export class RegistryError extends ModelLoadError {
  override name = 'RegistryError';
}

/**
 * The KuaiRand tables a service may read, named by its operator (`rliv serve
 * --users FILE --videos FILE`). A model trained on a table is served only
 * with the table given here: the path recorded in its checkpoint is never
 * read (a checkpoint is data, not a file-system capability).
 */
export interface DataTables {
  /** KuaiRand user_features_*.csv, for models whose world was built on a user table. */
  usersPath?: string;
  /** KuaiRand video_features_basic_*.csv, for models whose world was built on a video table. */
  videosPath?: string;
}

/**
 * The description the service builds a model's catalog from: the recorded
 * one with its table paths replaced by the operator's `tables`. Throws
 * ModelLoadError (naming `source` and the flag to give, never the recorded
 * path) when the model needs a table the operator did not give.
 */
export function servingCatalogDescription(spec: CatalogSpec, tables: DataTables, source: string): CatalogDescription {
  const d: CatalogDescription = { ...spec.description };
  if (d.usersPath !== undefined) {
    if (tables.usersPath === undefined)
      throw new ModelLoadError(
        `${source} was trained on a KuaiRand user table: give the service that table with --users FILE (a data path recorded in a checkpoint is never read)`,
      );
    d.usersPath = tables.usersPath;
  }
  if (d.videosPath !== undefined) {
    if (tables.videosPath === undefined)
      throw new ModelLoadError(
        `${source} was trained on a KuaiRand video table: give the service that table with --videos FILE (a data path recorded in a checkpoint is never read)`,
      );
    d.videosPath = tables.videosPath;
  }
  return d;
}

/** What /healthz shows of a catalog description: seeds and sizes, whether tables were used, never their paths. */
export function publicCatalogDescription(d: CatalogDescription): Record<string, unknown> {
  const out: Record<string, unknown> = { catalogSeed: d.catalogSeed };
  if (d.numUsers !== undefined) out.numUsers = d.numUsers;
  if (d.numItems !== undefined) out.numItems = d.numItems;
  if (d.usersPath !== undefined) out.usersTable = true;
  if (d.videosPath !== undefined) out.videosTable = true;
  return out;
}

const catalogCache = new Map<string, Promise<Catalog>>();

/**
 * Builds (once per process and description) the catalog a model was trained
 * on, exactly as training built it, with the operator's `tables` in place of
 * any recorded table path (see {@link servingCatalogDescription}).
 */
export function loadServingCatalog(spec: CatalogSpec, tables: DataTables = {}, source = 'the checkpoint'): Promise<Catalog> {
  let description: CatalogDescription;
  try {
    description = servingCatalogDescription(spec, tables, source);
  } catch (err) {
    return Promise.reject(err);
  }
  const key = JSON.stringify(description);
  let c = catalogCache.get(key);
  if (c === undefined) {
    c = buildDescribedCatalog({ kind: 'rliv-world', version: 1, worldSeed: 0, ...description });
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
    throw new ModelLoadError(
      'checkpoint does not record the world it was trained on (state.options.meta.env.world with catalogSeed); serve a checkpoint written by "rliv train", "rliv serve" or "rliv train-online"',
    );
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
export async function instantiateModel(
  bytes: Uint8Array,
  version: number,
  source: string,
  recycle?: ServingModel | null,
  knownSha256?: string,
  parametersOnly = false,
  tables: DataTables = {},
): Promise<ServingModel> {
  const { ckpt, model } = decodeModelCheckpoint(bytes, source);
  const { catalogSpec, agentSeed } = checkpointWorld(ckpt);
  const catalog = await servingCatalog(catalogSpec, tables, source);
  const reusable =
    recycle &&
    recycle.agent === ckpt.agent &&
    recycle.catalog === catalog &&
    recycle.agentSeed === agentSeed &&
    JSON.stringify(recycle.agentConfig) === JSON.stringify(ckpt.agentConfig);
  let ranker: Ranker;
  try {
    ranker = reusable ? recycle.ranker : createAgent(ckpt.agent, { catalog, seed: agentSeed }, ckpt.agentConfig);
    const lean = (ranker as Partial<ParameterLoader>).loadParameters;
    if (parametersOnly && typeof lean === 'function') lean.call(ranker, model);
    else ranker.load(model);
  } catch (err) {
    throw new ModelLoadError(`${source}: cannot build ${ckpt.agent}: ${(err as Error).message}`);
  }
  const online = ckpt.state.online;
  return {
    version,
    agent: ckpt.agent,
    ranker,
    sha256: knownSha256 ?? sha256Hex(bytes),
    catalog,
    catalogSpec,
    agentConfig: ckpt.agentConfig,
    agentSeed,
    loadedAt: Date.now(),
    ...(online !== null && typeof online === 'object' && !Array.isArray(online) ? { online: online as Record<string, unknown> } : {}),
  };
}

/** The catalog of a model being loaded; any failure is a ModelLoadError naming `source`. */
export async function servingCatalog(spec: CatalogSpec, tables: DataTables, source: string): Promise<Catalog> {
  try {
    return await loadServingCatalog(spec, tables, source);
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`${source}: cannot rebuild its catalog: ${(err as Error).message}`);
  }
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
export function modelCheckpoint(
  agent: string,
  agentConfig: Record<string, unknown>,
  modelBytes: Uint8Array,
  spec: CatalogSpec,
  agentSeed: number,
  extra: Record<string, unknown>,
): Checkpoint {
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

/** The file name of a version: v000001.ckpt. */
export function versionFileName(version: number): string {
  return `v${String(version).padStart(6, '0')}.ckpt`;
}

/** What `ModelRegistry.repair` did. */
export interface RegistryRepair {
  /** The new pointer (the newest version that decodes and verifies). */
  pointer: RegistryPointer;
  /** The pointer before the repair, or the reason it was unusable. */
  previous: RegistryPointer | string | null;
  /** Newer version files that were skipped, with why. */
  skipped: { file: string; problem: string }[];
}

export class ModelRegistry {
  /**
   * @param dir the registry directory (created on first publish).
   * @param keepVersions checkpoints kept on disk; older versions are deleted after each publish. Default 10.
   * @param tables the KuaiRand tables models may be served with (see {@link DataTables}). Default none.
   */
  constructor(
    readonly dir: string,
    readonly keepVersions = 10,
    readonly tables: DataTables = {},
  ) {}

  /** Deletes version files older than the newest `keepVersions`. */
  private prune(newest: number): void {
    for (const f of readdirSync(this.dir)) {
      const m = VERSION_FILE.exec(f);
      if (m && Number(m[1]) <= newest - this.keepVersions) {
        try {
          unlinkSync(join(this.dir, f));
        } catch {
          /* already gone */
        }
      }
    }
  }

  get pointerPath(): string {
    return join(this.dir, 'LATEST.json');
  }

  private get repairHint(): string {
    return `run "rliv registry repair --models ${this.dir}" to point it at the newest valid version`;
  }

  /**
   * The current pointer, or null when nothing was ever published (no
   * LATEST.json). A pointer that exists but cannot be read, is not JSON, is
   * inconsistent, or names a file other than its version's file in this
   * directory is a RegistryError naming the file: a damaged pointer is
   * never mistaken for an empty registry.
   */
  latest(): RegistryPointer | null {
    const path = this.pointerPath;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new RegistryError(`model registry pointer ${path} cannot be read (${(err as Error).message}); ${this.repairHint}`);
    }
    let p: unknown;
    try {
      p = JSON.parse(text);
    } catch (err) {
      throw new RegistryError(`model registry pointer ${path} is not valid JSON (${(err as Error).message}); ${this.repairHint}`);
    }
    const problem = pointerProblem(p);
    if (problem !== null) throw new RegistryError(`model registry pointer ${path} ${problem}; ${this.repairHint}`);
    return p as RegistryPointer;
  }

  /** Reads and verifies the checkpoint bytes of a pointer (throws ModelLoadError). */
  readBytes(pointer: RegistryPointer): Uint8Array {
    const problem = pointerProblem(pointer);
    if (problem !== null) throw new RegistryError(`model registry pointer of ${this.dir} ${problem}; ${this.repairHint}`);
    const path = join(this.dir, pointer.file);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new ModelLoadError(`cannot read model version ${pointer.version} (${path}): ${(err as Error).message}`);
    }
    const sha = sha256Hex(bytes);
    if (sha !== pointer.sha256)
      throw new ModelLoadError(
        `model version ${pointer.version} (${path}) is corrupted: SHA-256 ${sha.slice(0, 12)}... does not match the published ${pointer.sha256.slice(0, 12)}...`,
      );
    return bytes;
  }

  /** Loads the latest published version (throws ModelLoadError / RegistryError; null when none). `recycle`, `parametersOnly`: see instantiateModel. */
  loadLatest(recycle?: ServingModel | null, parametersOnly = false): Promise<ServingModel | null> {
    try {
      const p = this.latest();
      if (p === null) return Promise.resolve(null);
      return instantiateModel(this.readBytes(p), p.version, `model version ${p.version}`, recycle, p.sha256, parametersOnly, this.tables);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Version numbers of the checkpoint files in the directory, newest first. */
  versions(): number[] {
    if (!existsSync(this.dir)) return [];
    const out: number[] = [];
    for (const f of readdirSync(this.dir)) {
      const m = VERSION_FILE.exec(f);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => b - a);
  }

  /** Highest version present in the directory (files or pointer; throws RegistryError on a damaged pointer). */
  highestVersion(): number {
    return Math.max(this.latest()?.version ?? 0, this.versions()[0] ?? 0);
  }

  /**
   * Throws RegistryError when the registry holds versions but no pointer:
   * its LATEST.json was lost, and "empty" would publish an untrained model
   * over trained ones.
   */
  assertEmptyOrPointed(): void {
    if (existsSync(this.pointerPath)) return;
    const v = this.versions();
    if (v.length > 0)
      throw new RegistryError(
        `model registry ${this.dir} holds ${v.length} model version(s) (newest ${versionFileName(v[0]!)}) but no LATEST.json; refusing to treat it as empty; ${this.repairHint}`,
      );
  }

  /**
   * Rebuilds LATEST.json from the newest version file whose checkpoint
   * decodes and verifies (its own checksums), and returns what it did.
   * Throws RegistryError when no version is valid.
   */
  repair(): RegistryRepair {
    let previous: RegistryPointer | string | null;
    try {
      previous = this.latest();
    } catch (err) {
      previous = (err as Error).message;
    }
    const skipped: { file: string; problem: string }[] = [];
    for (const version of this.versions()) {
      const file = versionFileName(version);
      const path = join(this.dir, file);
      try {
        const bytes = readFileSync(path);
        const ckpt = decodeCheckpoint(bytes, path);
        if (!ckpt.sections.model) throw new CheckpointError(`${path} has no "model" section`);
        const pointer: RegistryPointer = { version, file, sha256: sha256Hex(bytes), agent: ckpt.agent, publishedAt: statSync(path).mtime.toISOString() };
        writeFileAtomic(this.pointerPath, new TextEncoder().encode(JSON.stringify(pointer, null, 2) + '\n'));
        return { pointer, previous, skipped };
      } catch (err) {
        skipped.push({ file, problem: (err as Error).message });
      }
    }
    throw new RegistryError(
      `model registry ${this.dir} has no valid model version to point LATEST.json at${skipped.length ? ` (${skipped.map((s) => `${s.file}: ${s.problem}`).join('; ')})` : ' (no v*.ckpt files)'}`,
    );
  }

  /**
   * Publishes a checkpoint as the next version: claims the version file
   * exclusively, writes it atomically, verifies it decodes, then swaps
   * LATEST.json. Returns the new pointer. Refuses (RegistryError) while the
   * pointer is damaged or missing next to existing versions.
   */
  publish(ckpt: Checkpoint): RegistryPointer {
    this.assertEmptyOrPointed();
    mkdirSync(this.dir, { recursive: true });
    const bytes = encodeCheckpoint(ckpt);
    try {
      decodeCheckpoint(bytes, 'new checkpoint');
    } catch (err) {
      throw new CheckpointError(`refusing to publish: ${(err as Error).message}`);
    }
    for (let attempt = 0; attempt < 100; attempt++) {
      const version = this.highestVersion() + 1;
      const file = versionFileName(version);
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
        try {
          unlinkSync(path);
        } catch {
          /* gone */
        }
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

/** Why `p` is not a usable pointer (null when it is): fields, and a file that is exactly its version's file in the registry. */
function pointerProblem(p: unknown): string | null {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return 'is not a JSON object';
  const o = p as Record<string, unknown>;
  if (!Number.isInteger(o.version) || (o.version as number) < 1) return `has no valid "version" (a positive integer), got ${JSON.stringify(o.version)}`;
  if (typeof o.file !== 'string') return `has no "file" string`;
  const expected = versionFileName(o.version as number);
  if (o.file !== expected)
    return `names file ${JSON.stringify(o.file).slice(0, 80)} for version ${o.version as number}; only "${expected}" inside the registry is allowed (no other path)`;
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) return 'has no valid "sha256" (64 hex digits)';
  if (typeof o.agent !== 'string') return 'has no "agent" string';
  return null;
}
