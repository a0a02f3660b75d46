/**
 * Column storage of the label joiner (label-joiner.ts): one typed array (or
 * reference array) per field, row = an impression's sequence number modulo
 * the capacity, so tens of thousands of pending impressions are a few
 * long-lived arrays rather than an object graph per impression that every
 * garbage collection has to trace. Both rings double when full; `grown`
 * moves the live rows [lo, hi) to their slots in the larger ring.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import { OUTCOME_DIM } from './scri-mdp.js';

/** (requestId, item) of each remembered or pending impression, chained per requestId in arrival order. */
export class KeyRing {
  readonly request: (string | undefined)[];
  readonly item: Int32Array;
  /** Next seq of the same requestId, -1 at the end of the chain. */
  readonly next: Float64Array;
  /** Last seq of the chain; kept at the chain's head only. */
  readonly tail: Float64Array;

  constructor(readonly capacity: number) {
    this.request = new Array(capacity);
    this.item = new Int32Array(capacity);
    this.next = new Float64Array(capacity);
    this.tail = new Float64Array(capacity);
  }

  /** A ring twice this size holding this one's rows of seqs [lo, hi). */
  grown(lo: number, hi: number): KeyRing {
    const g = new KeyRing(this.capacity * 2);
    for (let seq = lo; seq < hi; seq++) {
      const from = seq % this.capacity;
      const to = seq % g.capacity;
      g.request[to] = this.request[from];
      g.item[to] = this.item[from]!;
      g.next[to] = this.next[from]!;
      g.tail[to] = this.tail[from]!;
    }
    return g;
  }
}

/** The fields of each pending impression. */
export class PayloadRing {
  readonly user: Int32Array;
  readonly author: Int32Array;
  readonly time: Float64Array;
  /** f_ua^t, PAIR_COUNT_DIM per row. */
  readonly counts: Float32Array;
  /** Joined feedback, OUTCOME_DIM per row. */
  readonly outcome: Float32Array;
  /** Bit k set when feedback kind k was applied. */
  readonly seen: Uint8Array;
  readonly feedbackCount: Uint8Array;
  /** Kept by reference, as given. */
  readonly userFeatures: (Int32Array | undefined)[];
  readonly itemFeatures: (Int32Array | undefined)[];

  constructor(readonly capacity: number) {
    this.user = new Int32Array(capacity);
    this.author = new Int32Array(capacity);
    this.time = new Float64Array(capacity);
    this.counts = new Float32Array(capacity * PAIR_COUNT_DIM);
    this.outcome = new Float32Array(capacity * OUTCOME_DIM);
    this.seen = new Uint8Array(capacity);
    this.feedbackCount = new Uint8Array(capacity);
    this.userFeatures = new Array(capacity);
    this.itemFeatures = new Array(capacity);
  }

  /** A ring twice this size holding this one's rows of seqs [lo, hi). */
  grown(lo: number, hi: number): PayloadRing {
    const g = new PayloadRing(this.capacity * 2);
    for (let seq = lo; seq < hi; seq++) {
      const from = seq % this.capacity;
      const to = seq % g.capacity;
      g.user[to] = this.user[from]!;
      g.author[to] = this.author[from]!;
      g.time[to] = this.time[from]!;
      g.counts.set(this.counts.subarray(from * PAIR_COUNT_DIM, from * PAIR_COUNT_DIM + PAIR_COUNT_DIM), to * PAIR_COUNT_DIM);
      g.outcome.set(this.outcome.subarray(from * OUTCOME_DIM, from * OUTCOME_DIM + OUTCOME_DIM), to * OUTCOME_DIM);
      g.seen[to] = this.seen[from]!;
      g.feedbackCount[to] = this.feedbackCount[from]!;
      g.userFeatures[to] = this.userFeatures[from];
      g.itemFeatures[to] = this.itemFeatures[from];
    }
    return g;
  }
}
