/**
 * Counts occurrences of non-negative integer ids (a session's exposed
 * authors and tags): an open-addressing table in two typed arrays. The
 * environment asks it twice per exposure; a JS Map costs several times more
 * there, and its entries are heap objects the garbage collector has to walk.
 */
export class IdCounter {
  /** id + 1 per slot, 0 = empty. */
  private keys: Int32Array;
  private counts: Int32Array;
  private size = 0;

  /** @param initialCapacity slots to start with (rounded up to a power of two, at least 16). */
  constructor(initialCapacity = 32) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.keys = new Int32Array(cap);
    this.counts = new Int32Array(cap);
  }

  /** Distinct ids counted. */
  get distinct(): number {
    return this.size;
  }

  /** Times `id` was counted (0 if never). */
  get(id: number): number {
    const i = this.slotOf(id);
    return this.keys[i] === 0 ? 0 : this.counts[i]!;
  }

  /** Counts `id` once more and returns the count BEFORE this call. */
  increment(id: number): number {
    if (!(id >= 0 && id < 0x7fffffff && Number.isInteger(id))) throw new RangeError(`IdCounter: id must be an integer in [0, 2^31 - 1), got ${id}`);
    const i = this.slotOf(id);
    if (this.keys[i] !== 0) return this.counts[i]!++;
    this.keys[i] = id + 1;
    this.counts[i] = 1;
    if (++this.size * 2 > this.keys.length) this.grow();
    return 0;
  }

  /** The slot holding `id`, or the empty slot where it would go (linear probing). */
  private slotOf(id: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    const key = id + 1;
    let i = mix(id) & mask;
    for (;;) {
      const k = keys[i]!;
      if (k === key || k === 0) return i;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldCounts = this.counts;
    const cap = oldKeys.length * 2;
    const mask = cap - 1;
    this.keys = new Int32Array(cap);
    this.counts = new Int32Array(cap);
    for (let j = 0; j < oldKeys.length; j++) {
      const key = oldKeys[j]!;
      if (key === 0) continue;
      let i = mix(key - 1) & mask;
      while (this.keys[i] !== 0) i = (i + 1) & mask;
      this.keys[i] = key;
      this.counts[i] = oldCounts[j]!;
    }
  }
}

/** 32-bit mix of an id. */
function mix(id: number): number {
  let h = Math.imul(id, 0x9e3779b1);
  h ^= h >>> 16;
  return h >>> 0;
}
