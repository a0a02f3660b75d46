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
 * reused for loading the next version (saves building a new agent).
 * A version that fails to load (corrupt, truncated, wrong agent) is refused,
 * counted and reported in /healthz; the current model keeps serving, and the
 * same bad file is not retried until the pointer changes.
 */
import { ModelLoadError, type ModelRegistry, type RegistryPointer, type ServingModel } from './model-registry.js';

export interface ReloadStatus {
  /** Successful reloads since start. */
  reloads: number;
  /** Refused versions since start. */
  failures: number;
  /** Message of the last refused version. */
  lastError?: string;
  /** Version of the last refused pointer. */
  lastFailedVersion?: number;
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
    if (this.checking === null) this.checking = this.check().finally(() => { this.checking = null; });
    return this.checking;
  }

  private async check(): Promise<boolean> {
    if (this.registry === null) return false;
    const p: RegistryPointer | null = this.registry.latest();
    if (p === null || p.sha256 === this.model.sha256 || p.sha256 === this.failedSha) return false;
    if (p.version < this.model.version) return false;
    const recycle = this.previous;
    this.previous = null; // a failed load may leave it unusable for recycling; never reuse it twice
    try {
      // Serving only: the parameters-only load (no replay buffer or optimizer use; still checksummed).
      const m = await this.registry.loadLatest(recycle, true);
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

  /** Polls the registry every `intervalMs`. */
  watch(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => { void this.checkNow(); }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
