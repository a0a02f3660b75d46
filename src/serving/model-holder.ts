/**
 * Holds the model the ranking service serves and hot-reloads new registry
 * versions.
 *
 * Atomicity: a new version is decoded, checksum-verified and fully built
 * off to the side; only then is the single `current` reference swapped.
 * Request handlers read `current` once, after their last await, and score
 * synchronously with that object, so no request fails or mixes two versions
 * during a reload. Because no request holds a model across an await, the
 * model replaced by the previous swap is idle and its ranker object is
 * reused for loading the next version (saves building a new agent). For
 * the first reload, `watch` builds an idle spare at start (building an
 * agent runs on the event loop: ~300-480 ms for a Table 1 RLIV-UA, which
 * the first reload used to block requests for).
 * A version that fails to load (corrupt, truncated, wrong agent) is refused,
 * counted and reported in /healthz; the current model keeps serving, and the
 * same bad file is not retried until the pointer changes. A damaged pointer
 * (LATEST.json unreadable or inconsistent) is reported as `pointerError`
 * (counted once per distinct problem) until it reads again.
 *
 * Loading runs in a worker thread (model-loader.ts): checksums and decoding
 * of the checkpoint never block requests; only the final parameter copy
 * runs on the event loop. If the worker cannot run, the in-thread
 * parameters-only load is used.
 */
import { ModelLoadError, RegistryError, type ModelRegistry, type RegistryPointer, type ServingModel } from './model-registry.js';
import { buildSpare, ModelLoaderThread } from './model-loader.js';

export interface ReloadStatus {
  /** Successful reloads since start. */
  reloads: number;
  /** Refused versions since start. */
  failures: number;
  /** Message of the last refused version. */
  lastError?: string;
  /** Version of the last refused pointer. */
  lastFailedVersion?: number;
  /** Set while the registry's LATEST.json is damaged (the message names the file and the repair command). */
  pointerError?: string;
}

export class ModelHolder {
  private model: ServingModel;
  /** The model before `model`: idle, its ranker is recycled by the next reload. */
  private previous: ServingModel | null = null;
  private readonly registry: ModelRegistry | null;
  private timer: NodeJS.Timeout | undefined;
  private failedSha: string | undefined;
  private checking: Promise<boolean> | null = null;
  readonly reload: ReloadStatus = { reloads: 0, failures: 0 };
  private readonly listeners: ((m: ServingModel) => void)[] = [];
  private loader: ModelLoaderThread | null = null;
  private loaderBroken = false;

  constructor(initial: ServingModel, registry: ModelRegistry | null) {
    this.model = initial;
    this.registry = registry;
  }

  /** The model to use for one whole request. */
  get current(): ServingModel {
    return this.model;
  }

  /** Called after each successful swap. */
  onSwap(listener: (m: ServingModel) => void): void {
    this.listeners.push(listener);
  }

  /** Replaces the model (used by an in-process trainer that already holds the loaded object). */
  swap(model: ServingModel): void {
    this.previous = model.ranker === this.model.ranker ? null : this.model;
    this.model = model;
    this.reload.reloads++;
    for (const l of this.listeners) l(model);
  }

  /**
   * Loads the registry's latest version if it differs from the current one.
   * Resolves true when the model changed. Never rejects; one check at a time.
   */
  checkNow(): Promise<boolean> {
    if (this.checking === null)
      this.checking = this.check().finally(() => {
        this.checking = null;
      });
    return this.checking;
  }

  private async check(): Promise<boolean> {
    if (this.registry === null) return false;
    let p: RegistryPointer | null;
    try {
      p = this.registry.latest();
      delete this.reload.pointerError;
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      if (this.reload.pointerError !== err.message) {
        this.reload.failures++;
        this.reload.lastError = err.message;
      }
      this.reload.pointerError = err.message;
      return false;
    }
    if (p === null || p.sha256 === this.model.sha256 || p.sha256 === this.failedSha) return false;
    if (p.version < this.model.version) return false;
    const recycle = this.previous;
    this.previous = null; // a failed load may leave it unusable for recycling; never reuse it twice
    try {
      // Serving only: parameters only (no replay buffer or optimizer state; still checksummed), off the event loop.
      const m = await this.load(p, recycle);
      if (m === null) return false;
      this.swap(m);
      return true;
    } catch (err) {
      this.failedSha = p.sha256;
      this.reload.failures++;
      this.reload.lastError = err instanceof ModelLoadError ? err.message : `unexpected error loading version ${p.version}: ${(err as Error).message}`;
      this.reload.lastFailedVersion = p.version;
      return false;
    }
  }

  private async load(p: RegistryPointer, recycle: ServingModel | null): Promise<ServingModel | null> {
    const registry = this.registry!;
    const loader = this.loader;
    // Until the worker has started (module loading), load here rather than wait for it.
    if (!this.loaderBroken && loader !== null && loader.ready) {
      try {
        return await loader.load(registry.dir, p, recycle, registry.tables);
      } catch (err) {
        if (err instanceof ModelLoadError) throw err;
        if (this.loader !== loader) return null; // stopped while loading
        // The worker itself failed (not the checkpoint): load in this thread from now on.
        this.loaderBroken = true;
      }
    }
    return registry.loadLatest(recycle, true);
  }

  /**
   * Polls the registry every `intervalMs`. Unless `prebuildSpare` is false,
   * first builds (synchronously, before any reload can be due) the spare
   * ranker the first reload loads into.
   */
  watch(intervalMs: number, prebuildSpare = true): void {
    this.stop();
    if (this.registry !== null && prebuildSpare && this.previous === null) {
      try {
        this.previous = buildSpare(this.model);
      } catch {
        this.previous = null; // the first reload builds its own, as before
      }
    }
    if (this.registry !== null && !this.loaderBroken) {
      try {
        this.loader = new ModelLoaderThread();
        this.loader.warm();
      } catch {
        this.loader = null;
        this.loaderBroken = true;
      }
    }
    this.timer = setInterval(() => {
      void this.checkNow();
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.loader) void this.loader.close();
    this.loader = null;
  }
}
