/**
 * The feature store of the dynamic pair features f_ua (docs/design.md §9): read
 * at ranking time for every candidate's (user, author) pair, updated by ASA
 * from joined feedback. One interface, two backends: in-memory (default,
 * this file) and Redis (redis-pair-store.ts).
 *
 * Updates travel as ASA deltas (see `asaDelta` in the MDP layer) so several
 * interactions of one pair merge into one write.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import { pairKey } from '../data/pair-key.js';
import { applyAsaDelta } from '../mdp/adjacent-state-approximation.js';

/** One pending store update: add `delta` (ASA delta, PAIR_COUNT_DIM) to the pair's counts. */
export interface PairDelta {
  user: number;
  author: number;
  delta: Float32Array;
}

/** Health and counters of a store, shown by /healthz and /metrics. */
export interface PairStoreStatus {
  kind: 'memory' | 'redis';
  /** False while the backend is unreachable (reads return default counts). */
  healthy: boolean;
  /** Pairs stored (memory) or -1 when unknown (redis). */
  pairs: number;
  /** Reads answered with default (zero) counts because the backend failed. */
  readFailures: number;
  /** Updates that could not be written yet and wait in memory for the backend. */
  deferredUpdates: number;
  /** Updates dropped because the deferred buffer was full (or memory store evictions). */
  droppedUpdates: number;
  /** Updates applied. */
  appliedUpdates: number;
  /** Last backend error message, if any. */
  lastError?: string;
  /** Redis only: times the store found Redis emptied under it (restarted without persistence, or flushed) since start. */
  resets?: number;
  /** Redis only: when the last reset was noticed (ISO time). */
  lastResetAt?: string;
}

/**
 * The service's feature store of f_ua (named apart from the environment's
 * in-process `PairCountStore` of src/environment/pair-count-store.ts, which
 * also keeps gift days and deep pairs for the offline metrics).
 */
export interface PairFeatureStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Writes f_ua of (user, authors[i]) into out[i * PAIR_COUNT_DIM ..] for
   * i < count (zeros for unknown pairs). Never throws: when the backend is
   * down it writes zeros and resolves false (degraded). Never touches `out`
   * or `authors` after the promise settled (the service reuses them).
   */
  read(user: number, authors: Int32Array, count: number, out: Float32Array): Promise<boolean>;
  /** Applies ASA deltas. Never throws: failed writes are deferred (bounded) and retried on recovery. */
  apply(updates: readonly PairDelta[]): Promise<void>;
  status(): PairStoreStatus;
  close(): Promise<void>;
}

/** Configuration of {@link MemoryPairStore}. */
export interface MemoryPairStoreOptions {
  /** Most pairs kept; beyond it the least recently written pair is evicted (counted as dropped). Default 5,000,000. */
  maxPairs: number;
}

/** In-process pair store: one Float32Array per pair in a Map (insertion order = write recency). */
export class MemoryPairStore implements PairFeatureStore {
  readonly kind = 'memory' as const;
  private readonly pairs = new Map<number, Float32Array>();
  private readonly maxPairs: number;
  private applied = 0;
  private evicted = 0;

  constructor(options: Partial<MemoryPairStoreOptions> = {}) {
    this.maxPairs = options.maxPairs ?? 5_000_000;
    if (!(this.maxPairs >= 1)) throw new RangeError(`maxPairs must be >= 1, got ${this.maxPairs}`);
  }

  /** Synchronous read (the memory store never fails). */
  readSync(user: number, authors: Int32Array, count: number, out: Float32Array): void {
    for (let i = 0; i < count; i++) {
      const c = this.pairs.get(pairKey(user, authors[i]!));
      const o = i * PAIR_COUNT_DIM;
      if (c === undefined) out.fill(0, o, o + PAIR_COUNT_DIM);
      else out.set(c, o);
    }
  }

  read(user: number, authors: Int32Array, count: number, out: Float32Array): Promise<boolean> {
    this.readSync(user, authors, count, out);
    return Promise.resolve(true);
  }

  applySync(updates: readonly PairDelta[]): void {
    for (const u of updates) {
      const key = pairKey(u.user, u.author);
      let c = this.pairs.get(key);
      if (c === undefined) {
        c = new Float32Array(PAIR_COUNT_DIM);
      } else {
        this.pairs.delete(key); // re-insert: keeps the Map in write-recency order
      }
      applyAsaDelta(c, 0, u.delta, 0);
      this.pairs.set(key, c);
      this.applied++;
      if (this.pairs.size > this.maxPairs) {
        const oldest = this.pairs.keys().next().value as number;
        this.pairs.delete(oldest);
        this.evicted++;
      }
    }
  }

  apply(updates: readonly PairDelta[]): Promise<void> {
    this.applySync(updates);
    return Promise.resolve();
  }

  /** Counts of one pair (a copy), or zeros. */
  get(user: number, author: number): Float32Array {
    const c = this.pairs.get(pairKey(user, author));
    return c ? c.slice() : new Float32Array(PAIR_COUNT_DIM);
  }

  status(): PairStoreStatus {
    return {
      kind: 'memory',
      healthy: true,
      pairs: this.pairs.size,
      readFailures: 0,
      deferredUpdates: 0,
      droppedUpdates: this.evicted,
      appliedUpdates: this.applied,
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
