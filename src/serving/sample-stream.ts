/**
 * The sample stream between the label joiner (producer: the ranking
 * service) and online trainers (consumers), docs/design.md §9. One interface, two
 * backends: in-memory (default, this file; producer and consumers in one
 * process) and Redis Streams with consumer groups (redis-sample-stream.ts;
 * several processes share the work, unacknowledged entries are redelivered
 * after a restart).
 *
 * Semantics (both backends): every entry is delivered to one consumer of
 * each group; a consumer acknowledges entries once their effect is durable
 * (the trainer: after publishing a checkpoint that includes them); entries
 * delivered but not acknowledged are delivered again, once each, to the
 * same consumer name when it starts again (the first reads of that name by
 * a stream object, in id order, before any new entry; on Redis they are also
 * claimed by another consumer after `claimIdleMs`). An entry is never
 * delivered twice by one stream object while it is unacknowledged.
 */
import type { SampleBatch } from '../mdp/scri-mdp.js';
import { decodeSamples, encodeSamples } from './sample-codec.js';

/** One delivered entry: a batch of samples and the id to acknowledge. */
export interface SampleStreamEntry {
  id: string;
  batch: SampleBatch;
}

/** Health and counters of a stream, shown by /healthz and /metrics. */
export interface SampleStreamStatus {
  kind: 'memory' | 'redis';
  /** False while the backend is unreachable. */
  healthy: boolean;
  /** Sample batches published (entries). */
  publishedEntries: number;
  /** Samples published. */
  publishedSamples: number;
  /** Entries waiting in the producer's buffer for the backend to come back. */
  bufferedEntries: number;
  /** Entries dropped: producer buffer full (memory: stream over maxLength). */
  droppedEntries: number;
  lastError?: string;
}

export interface SampleStream {
  readonly kind: 'memory' | 'redis';
  /** Appends rows [0, count) of `batch` as one entry. Never throws: buffers (bounded) while the backend is down. */
  publish(batch: SampleBatch): Promise<void>;
  /**
   * Delivers up to `maxEntries` entries to consumer `consumer` of `group`
   * (created on first use, starting at the oldest retained entry): first its
   * own unacknowledged ones, then new ones, waiting up to `blockMs` when none.
   */
  read(group: string, consumer: string, maxEntries: number, blockMs: number): Promise<SampleStreamEntry[]>;
  /** Acknowledges delivered entries of `group`. */
  ack(group: string, ids: readonly string[]): Promise<void>;
  status(): SampleStreamStatus;
  close(): Promise<void>;
}

/**
 * Default retention of both stream backends, in entries. An entry is one
 * published batch (the pipeline publishes 256 samples at a time, ~31 KB
 * encoded), so 10,000 entries hold ~2.6M samples in ~300 MB — about a
 * quarter of an hour of backlog at 500 ranked requests/s.
 */
export const DEFAULT_STREAM_MAX_ENTRIES = 10_000;

/** Configuration of {@link MemorySampleStream}. */
export interface MemorySampleStreamOptions {
  /**
   * Entries retained; older entries are trimmed (counted as dropped if some
   * group had not read them). Default {@link DEFAULT_STREAM_MAX_ENTRIES}
   * (10,000 entries of up to 256 samples, ~120 bytes each: ~300 MB).
   */
  maxLength: number;
}

interface MemoryGroup {
  /** Sequence number of the next entry never delivered to this group. */
  next: number;
  /** Delivered, unacknowledged: id -> consumer. */
  pending: Map<string, string>;
}

/** In-process stream with consumer groups (entries are encoded bytes, as on Redis). */
export class MemorySampleStream implements SampleStream {
  readonly kind = 'memory' as const;
  private readonly maxLength: number;
  /** Retained entries are entries[head ..]; trimming advances `head` (O(1)) and compacts now and then. */
  private entries: { seq: number; bytes: Uint8Array; samples: number }[] = [];
  private head = 0;
  private firstSeq = 0;
  private nextSeq = 0;
  private readonly groups = new Map<string, MemoryGroup>();
  private waiters: (() => void)[] = [];
  private publishedEntries = 0;
  private publishedSamples = 0;
  private dropped = 0;
  private closed = false;
  /** group/consumer names that already got their unacknowledged entries back (once per consumer "start"). */
  private readonly drained = new Set<string>();
  /** group/consumer -> sequence number of the last own pending entry re-delivered since its start. */
  private readonly pendingCursor = new Map<string, number>();

  constructor(options: Partial<MemorySampleStreamOptions> = {}) {
    this.maxLength = options.maxLength ?? DEFAULT_STREAM_MAX_ENTRIES;
    if (!(Number.isInteger(this.maxLength) && this.maxLength >= 1))
      throw new RangeError(`MemorySampleStream: maxLength must be a positive integer, got ${this.maxLength}`);
  }

  publish(batch: SampleBatch): Promise<void> {
    if (batch.count === 0) return Promise.resolve();
    this.entries.push({ seq: this.nextSeq++, bytes: encodeSamples(batch), samples: batch.count });
    this.publishedEntries++;
    this.publishedSamples += batch.count;
    while (this.entries.length - this.head > this.maxLength) {
      const gone = this.entries[this.head]!;
      this.entries[this.head++] = undefined as never; // release the bytes now
      this.firstSeq = gone.seq + 1;
      for (const g of this.groups.values()) {
        if (g.next <= gone.seq) {
          g.next = gone.seq + 1;
          this.dropped++;
        }
        g.pending.delete(String(gone.seq));
      }
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
    return Promise.resolve();
  }

  private group(name: string): MemoryGroup {
    let g = this.groups.get(name);
    if (g === undefined) {
      g = { next: this.firstSeq, pending: new Map() };
      this.groups.set(name, g);
    }
    return g;
  }

  private entry(seq: number) {
    return this.entries[this.head + seq - this.firstSeq];
  }

  async read(group: string, consumer: string, maxEntries: number, blockMs: number): Promise<SampleStreamEntry[]> {
    const g = this.group(group);
    const out: SampleStreamEntry[] = [];
    const who = `${group}/${consumer}`;
    if (!this.drained.has(who)) {
      // Own unacknowledged entries, each once, in id order after the last one re-delivered.
      const after = this.pendingCursor.get(who) ?? -1;
      const own: number[] = [];
      for (const [id, owner] of g.pending) if (owner === consumer && Number(id) > after) own.push(Number(id));
      own.sort((a, b) => a - b);
      for (const seq of own.slice(0, maxEntries)) {
        const e = this.entry(seq);
        if (e) out.push({ id: String(seq), batch: decodeSamples(e.bytes) });
        this.pendingCursor.set(who, seq);
      }
      if (out.length > 0) return out;
      this.drained.add(who);
      this.pendingCursor.delete(who);
    }
    if (g.next >= this.nextSeq && blockMs > 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve();
        }, blockMs);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiters.push(wake);
      });
    }
    while (out.length < maxEntries && g.next < this.nextSeq) {
      const e = this.entry(g.next)!;
      g.next++;
      const id = String(e.seq);
      g.pending.set(id, consumer);
      out.push({ id, batch: decodeSamples(e.bytes) });
    }
    return out;
  }

  ack(group: string, ids: readonly string[]): Promise<void> {
    const g = this.group(group);
    for (const id of ids) g.pending.delete(id);
    return Promise.resolve();
  }

  /**
   * Simulates a consumer restart: its unacknowledged entries will be
   * delivered again on its next read (what Redis does for a restarted process).
   */
  restartConsumer(group: string, consumer: string): void {
    this.drained.delete(`${group}/${consumer}`);
    this.pendingCursor.delete(`${group}/${consumer}`);
  }

  /** Entries delivered to `group` and not yet acknowledged. */
  pendingCount(group: string): number {
    return this.groups.get(group)?.pending.size ?? 0;
  }

  status(): SampleStreamStatus {
    return {
      kind: 'memory',
      healthy: true,
      publishedEntries: this.publishedEntries,
      publishedSamples: this.publishedSamples,
      bufferedEntries: 0,
      droppedEntries: this.dropped,
    };
  }

  close(): Promise<void> {
    this.closed = true;
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
    return Promise.resolve();
  }
}
