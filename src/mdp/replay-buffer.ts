/**
 * Fixed-capacity ring buffer of SCRI-MDP samples (struct-of-arrays) with
 * seeded uniform sampling. When full, the oldest sample is overwritten.
 *
 * Its whole state (stored samples, write position, size and the sampling
 * RNG) serializes to bytes with a checksum, so a training run resumed from a
 * checkpoint draws exactly the batches the uninterrupted run would have.
 */
import { Rng, type RngState } from '../numeric/rng.js';
import { PAIR_COUNT_DIM, TOWER_COUNT } from '../data/interaction-kinds.js';
import { allocSampleBatch, copySample, type SampleBatch } from './scri-mdp.js';
import { fnv1a } from '../numeric/fnv1a.js';

/** Configuration of a {@link ReplayBuffer}. */
export interface ReplayBufferOptions {
  /** Samples held; the oldest is overwritten beyond it. Paper-scale default 1,000,000. */
  capacity: number;
  /** Categorical user features per sample. Default 0. */
  userFeatureDim: number;
  /** Categorical item features per sample. Default 0. */
  itemFeatureDim: number;
  /** Seed of the sampling RNG. */
  seed: number;
}

export const DEFAULT_REPLAY_BUFFER_OPTIONS: Readonly<Omit<ReplayBufferOptions, 'seed'>> = {
  capacity: 1_000_000,
  userFeatureDim: 0,
  itemFeatureDim: 0,
};

/** Thrown by `ReplayBuffer.load` on corrupt or mismatched bytes (the buffer is unchanged). */
export class ReplayBufferFormatError extends Error {
  override name = 'ReplayBufferFormatError';
}

const MAGIC = 'RLIVRB1\n';

export class ReplayBuffer {
  readonly capacity: number;
  readonly userFeatureDim: number;
  readonly itemFeatureDim: number;
  /** The stored samples; row i is valid for i < size. */
  readonly storage: SampleBatch;
  private position = 0;
  private stored = 0;
  private pushedTotal = 0;
  private rng: Rng;

  constructor(options: Partial<ReplayBufferOptions> & { seed: number }) {
    const o = { ...DEFAULT_REPLAY_BUFFER_OPTIONS, ...options };
    this.capacity = o.capacity;
    this.userFeatureDim = o.userFeatureDim;
    this.itemFeatureDim = o.itemFeatureDim;
    this.storage = allocSampleBatch(o.capacity, o.userFeatureDim, o.itemFeatureDim);
    this.rng = new Rng(o.seed).fork('replay-buffer');
  }

  /**
   * Empties the buffer and reseeds its sampler: afterwards it behaves
   * exactly like `new ReplayBuffer({ ...sameOptions, seed })`, without
   * allocating the storage again (a serving reload does this).
   */
  reset(seed: number): void {
    this.position = 0;
    this.stored = 0;
    this.pushedTotal = 0;
    this.rng = new Rng(seed).fork('replay-buffer');
  }

  /** Samples currently stored. */
  get size(): number {
    return this.stored;
  }
  /** Row the next push writes. */
  get writePosition(): number {
    return this.position;
  }
  /** Samples pushed since creation (including overwritten ones). */
  get totalPushed(): number {
    return this.pushedTotal;
  }

  /** Appends rows [0, batch.count) of `batch`, overwriting the oldest when full. */
  pushBatch(batch: SampleBatch): void {
    for (let i = 0; i < batch.count; i++) this.push(batch, i);
  }

  /** Appends row `row` of `batch`. */
  push(batch: SampleBatch, row: number): void {
    copySample(batch, row, this.storage, this.position);
    this.storage.count = Math.max(this.storage.count, this.position + 1);
    this.position = (this.position + 1) % this.capacity;
    if (this.stored < this.capacity) this.stored++;
    this.pushedTotal++;
  }

  /**
   * Fills `out` with `batchSize` samples drawn uniformly with replacement
   * (sets out.count). Throws when the buffer is empty.
   */
  sample(batchSize: number, out: SampleBatch): void {
    if (this.stored === 0) throw new RangeError('cannot sample from an empty replay buffer; push samples first');
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > out.capacity) {
      throw new RangeError(`batch size must be an integer in [1, ${out.capacity}] (the output batch capacity), got ${batchSize}`);
    }
    for (let i = 0; i < batchSize; i++) copySample(this.storage, this.rng.int(this.stored), out, i);
    out.count = batchSize;
  }

  /** Allocates an output batch with this buffer's feature dims. */
  allocBatch(capacity: number): SampleBatch {
    return allocSampleBatch(capacity, this.userFeatureDim, this.itemFeatureDim);
  }

  /** Serializes samples, position, size and the sampling RNG (checksummed). */
  save(): Uint8Array {
    const n = this.stored;
    const header = JSON.stringify({
      capacity: this.capacity,
      userFeatureDim: this.userFeatureDim,
      itemFeatureDim: this.itemFeatureDim,
      position: this.position,
      size: n,
      pushedTotal: this.pushedTotal,
      rng: this.rng.getState(),
    });
    const parts = this.columns(n);
    const headerBytes = new TextEncoder().encode(header);
    let total = MAGIC.length + 4 + headerBytes.length;
    for (const p of parts) total += p.byteLength;
    const out = new Uint8Array(total + 4);
    let off = 0;
    out.set(new TextEncoder().encode(MAGIC), off);
    off += MAGIC.length;
    new DataView(out.buffer).setUint32(off, headerBytes.length, true);
    off += 4;
    out.set(headerBytes, off);
    off += headerBytes.length;
    for (const p of parts) {
      out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), off);
      off += p.byteLength;
    }
    new DataView(out.buffer).setUint32(off, fnv1a(out, 0, off), true);
    return out;
  }

  /** Restores what `save` wrote. Throws ReplayBufferFormatError and changes nothing on corrupt or mismatched bytes. */
  load(bytes: Uint8Array): void {
    if (bytes.length < MAGIC.length + 8 || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) {
      throw new ReplayBufferFormatError('not a replay buffer snapshot (bad magic); pass the bytes written by ReplayBuffer.save');
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = bytes.length - 4;
    if (dv.getUint32(end, true) !== fnv1a(bytes, 0, end))
      throw new ReplayBufferFormatError('replay buffer snapshot checksum mismatch: the file is corrupt or truncated');
    const hlen = dv.getUint32(MAGIC.length, true);
    let header: { capacity: number; userFeatureDim: number; itemFeatureDim: number; position: number; size: number; pushedTotal: number; rng: RngState };
    try {
      header = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + hlen)));
    } catch {
      throw new ReplayBufferFormatError('replay buffer snapshot header is not valid JSON');
    }
    if (header.capacity !== this.capacity || header.userFeatureDim !== this.userFeatureDim || header.itemFeatureDim !== this.itemFeatureDim) {
      throw new ReplayBufferFormatError(
        `replay buffer snapshot has capacity/dims ${header.capacity}/${header.userFeatureDim}/${header.itemFeatureDim}, this buffer ${this.capacity}/${this.userFeatureDim}/${this.itemFeatureDim}: build the buffer with the saved configuration`,
      );
    }
    const n = header.size;
    if (!Number.isInteger(n) || n < 0 || n > this.capacity || !Number.isInteger(header.position) || header.position < 0 || header.position >= this.capacity) {
      throw new ReplayBufferFormatError('replay buffer snapshot has an invalid size or position');
    }
    // Validate the payload length before touching any state.
    const cols = this.columns(n);
    let need = 0;
    for (const c of cols) need += c.byteLength;
    const off = MAGIC.length + 4 + hlen;
    if (off + need !== end) throw new ReplayBufferFormatError(`replay buffer snapshot payload is ${end - off} bytes, expected ${need}`);
    const probe = new Rng(0);
    probe.setState(header.rng); // throws on a malformed RNG state before anything changes
    const copy = bytes.slice(off, end); // aligned copy
    let c = 0;
    for (const col of cols) {
      const src = new Uint8Array(copy.buffer, c, col.byteLength);
      new Uint8Array(col.buffer, col.byteOffset, col.byteLength).set(src);
      c += col.byteLength;
    }
    this.position = header.position;
    this.stored = n;
    this.pushedTotal = header.pushedTotal;
    this.storage.count = n;
    this.rng.setState(header.rng);
  }

  /** Views of the first n rows of every column, in a fixed order. */
  private columns(n: number): ArrayBufferView[] {
    const s = this.storage;
    return [
      s.user.subarray(0, n),
      s.item.subarray(0, n),
      s.author.subarray(0, n),
      s.userFeatures.subarray(0, n * this.userFeatureDim),
      s.itemFeatures.subarray(0, n * this.itemFeatureDim),
      s.pairCounts.subarray(0, n * PAIR_COUNT_DIM),
      s.nextPairCounts.subarray(0, n * PAIR_COUNT_DIM),
      s.rewards.subarray(0, n * TOWER_COUNT),
      s.giftLabel.subarray(0, n),
      s.timeMs.subarray(0, n),
    ];
  }
}
