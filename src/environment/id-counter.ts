/**
 * Counts occurrences of non-negative integer ids (a session's exposed
 * authors and tags): an open-addressing table in one typed array. The
 * environment asks it twice per exposure; a JS Map costs several times more
 * there, and its entries are heap objects the garbage collector has to walk.
 */
export class IdCounter {
  /**
   * Slot s at [2s, 2s + 1] = [id + 1 (0 = empty), count]: a key and its
   * count share a cache line, so a lookup in a cold table (each session's
   * table is touched once per step) misses once, not twice.
   */
  private slots: Int32Array;
  private size = 0;

  /** @param initialCapacity slots to start with (rounded up to a power of two, at least 16). */
  constructor(initialCapacity = 32) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.slots = new Int32Array(cap * 2);
  }

  /** Distinct ids counted. */
  get distinct(): number {
    return this.size;
  }

  /** Times `id` was counted (0 if never). */
  get(id: number): number {
    const s = this.slotOf(id);
    return this.slots[s + 1]!; // an empty slot's count is 0
  }

  /** Counts `id` once more and returns the count BEFORE this call. */
  increment(id: number): number {
    if (!(id >= 0 && id < 0x7fffffff && Number.isInteger(id))) throw new RangeError(`IdCounter: id must be an integer in [0, 2^31 - 1), got ${id}`);
    const s = this.slotOf(id);
    const slots = this.slots;
    if (slots[s] !== 0) return slots[s + 1]!++;
    slots[s] = id + 1;
    slots[s + 1] = 1;
    if (++this.size * 4 > slots.length) this.grow();
    return 0;
  }

  /** Index (even) of the slot holding `id`, or of the empty slot where it would go (linear probing). */
  private slotOf(id: number): number {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    const key = id + 1;
    let i = mix(id) & mask;
    for (;;) {
      const k = slots[i << 1]!;
      if (k === key || k === 0) return i << 1;
      i = (i + 1) & mask;
    }
  }

  /** Doubles the table (load stays <= 1/2). */
  private grow(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    const mask = (slots.length >> 1) - 1;
    for (let j = 0; j < old.length; j += 2) {
      const key = old[j]!;
      if (key === 0) continue;
      let i = mix(key - 1) & mask;
      while (slots[i << 1] !== 0) i = (i + 1) & mask;
      slots[i << 1] = key;
      slots[(i << 1) + 1] = old[j + 1]!;
    }
    this.slots = slots;
  }
}

/** 32-bit mix of an id. */
function mix(id: number): number {
  let h = Math.imul(id, 0x9e3779b1);
  h ^= h >>> 16;
  return h >>> 0;
}
