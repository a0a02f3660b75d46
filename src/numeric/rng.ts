/**
 * Seeded pseudo-random number generator used for every random choice in rliv.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna, 2018) on four 32-bit words,
 * seeded through splitmix32 so that any 32-bit seed (including 0) gives a
 * well-mixed state. Normals use the Box-Muller transform (the spare value is
 * cached and is part of the saved state). `fork(label)` derives an
 * independent child stream from the parent's seed and a label, so components
 * can own their own stream without consuming the parent's sequence.
 *
 * The state is 5 numbers (4 words + a flag/spare pair encoded as floats in
 * {@link RngState}), serializable to JSON for checkpoints.
 */

/** Serializable state of an {@link Rng}. */
export interface RngState {
  /** The four xoshiro128** state words. */
  s: [number, number, number, number];
  /** Cached second Box-Muller normal, or null when none is cached. */
  spare: number | null;
  /** The seed the generator was created with (used by `fork`). */
  seed: number;
}

function splitmix32(x: number): () => number {
  let state = x >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a hash of a string to 32 bits; used to turn fork labels into seeds. */
export function hashString32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;
  readonly seed: number;

  /** @param seed any finite number; it is reduced to 32 bits. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}`);
    this.seed = Math.trunc(seed) >>> 0;
    const next = splitmix32(this.seed);
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniformRange(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n). Unbiased (rejection sampling). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n) || n > 4294967296) {
      throw new RangeError(`Rng.int(n) needs an integer 1 <= n <= 2^32, got ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Standard normal N(0, 1) by Box-Muller. */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = this.uniform();
    while (u <= 1e-300) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Bernoulli draw: true with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /**
   * Index drawn with probability proportional to `weights[i]` (non-negative,
   * not all zero). Linear scan; for repeated draws from one fixed
   * distribution build an alias table instead.
   */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (!(w >= 0)) throw new RangeError(`categorical weight ${i} must be >= 0, got ${w}`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('categorical weights must not all be zero');
    let x = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** In-place Fisher-Yates shuffle. Returns the same array. */
  shuffle<T extends { length: number; [i: number]: any }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** An independent generator derived from this one's seed and a label. */
  fork(label: string | number): Rng {
    return new Rng((hashString32(String(label)) ^ Math.imul(this.seed, 0x9e3779b1)) >>> 0);
  }

  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare, seed: this.seed };
  }

  setState(state: RngState): void {
    if (!state || !Array.isArray(state.s) || state.s.length !== 4 || state.s.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new TypeError('Rng.setState: state.s must be four unsigned 32-bit integers');
    }
    [this.s0, this.s1, this.s2, this.s3] = state.s;
    this.spare = state.spare;
    (this as { seed: number }).seed = state.seed >>> 0;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
