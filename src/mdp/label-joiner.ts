/**
 * Label joiner: joins impression events with the feedback events that follow
 * them, keyed by (requestId, item), within a window, and emits each joined
 * interaction exactly once. It is the first stage of SCRI-MDP sample
 * construction (joiner -> ASA -> replay buffer / sample stream), used both
 * by the offline training loop and by the online service.
 *
 * Time. The joiner runs on a watermark: the largest impression time seen
 * (impressions are written by the ranking service, so their clock is
 * trusted) or any later time given to `advanceTo` (the service calls it on a
 * timer so windows close while traffic is idle). Feedback times never move
 * the watermark: a client clock cannot close everyone's windows.
 *
 * Rules (every event ends up in exactly one counter, nothing is lost
 * silently):
 * - impression: opens a pending record, window [t, t + windowMs]. It is
 *   emitted when the watermark passes t + windowMs, when `flush` is called,
 *   or early when `maxPending` records are pending (the oldest is emitted,
 *   counted in `evictedImpressions`). An impression without feedback is
 *   emitted with an all-zero outcome: negative labels.
 * - duplicate impression (same key pending or recently emitted): dropped,
 *   counted in `duplicateImpressions`.
 * - feedback for a pending record: applied (`joinedFeedback`), unless its
 *   time is after the window (`lateFeedback`, dropped), before the
 *   impression (`beforeImpressionFeedback`, dropped: a reaction cannot
 *   precede its exposure) or the same kind was already applied
 *   (`duplicateFeedback`; the larger value is kept, so retries are
 *   idempotent and progressive watch-time reports end at the final figure).
 * - feedback for a record already emitted (remembered for the last
 *   `closedKeyMemory` keys): `lateFeedback`, dropped.
 * - feedback with no impression yet (out of order): buffered for up to
 *   `earlyBufferMs` of watermark time from its arrival (its own time, set
 *   by a client, never extends the wait: an event stamped far in the future
 *   cannot hold up the expiry of the ones behind it) and at most
 *   `maxEarlyFeedback` events;
 *   applied when its impression arrives (`outOfOrderJoined`, also counted in
 *   `joinedFeedback`); otherwise dropped as `orphanFeedback` when it
 *   expires or `earlyEvicted` when the buffer is full.
 * - feedback with an unknown kind or a negative / non-finite value:
 *   `invalidFeedback`, dropped.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import { KeyRing, PayloadRing } from './joiner-rings.js';
import { OUTCOME_DIM, feedbackKindIndex } from './scri-mdp.js';

/** An exposed item, as logged by the ranking service (or a simulator trace). */
export interface ImpressionEvent {
  /** Id of the ranking request that exposed the item. */
  requestId: string;
  /** Dense user id. */
  user: number;
  /** Dense item id. */
  item: number;
  /** Dense author id of the item. */
  author: number;
  /** Time of the exposure in ms (event time). */
  timeMs: number;
  /** f_ua at ranking time (PAIR_COUNT_DIM; shorter is zero-padded, longer cut). Copied: the caller may reuse it. */
  pairCounts: Float32Array;
  /** Categorical user features, if known (kept by reference). */
  userFeatures?: Int32Array;
  /** Categorical item features, if known (kept by reference). */
  itemFeatures?: Int32Array;
}

/** One user reaction to an exposed item. */
export interface FeedbackEvent {
  /** Id of the ranking request the item was exposed in. */
  requestId: string;
  /** Dense item id. */
  item: number;
  /** One of FEEDBACK_KINDS. */
  kind: string;
  /** Flags: > 0 means it happened; watchTime: seconds; gift: amount. Must be finite and >= 0. */
  value: number;
  /** Time of the reaction in ms (event time). */
  timeMs: number;
}

/** An impression with all its feedback joined: the input of ASA. */
export interface JoinedInteraction {
  requestId: string;
  user: number;
  item: number;
  author: number;
  timeMs: number;
  userFeatures: Int32Array | undefined;
  itemFeatures: Int32Array | undefined;
  /** f_ua^t (PAIR_COUNT_DIM). */
  pairCounts: Float32Array;
  /** Joined feedback in FEEDBACK_KINDS layout (all zeros = negative labels). */
  outcome: Float32Array;
  /** Distinct feedback kinds joined. */
  feedbackCount: number;
  /** Why the record was emitted. */
  closedBy: 'window' | 'eviction' | 'flush';
}

/** Configuration of a {@link LabelJoiner}. */
export interface LabelJoinerOptions {
  /** Feedback later than impression time + windowMs is late. Default 30 minutes. */
  windowMs: number;
  /** How long (in watermark time) feedback may wait for its impression. Default 60 s. */
  earlyBufferMs: number;
  /** Most impressions pending at once; beyond it the oldest is emitted early (counted). Default 1,000,000. */
  maxPending: number;
  /** Most out-of-order feedback events buffered; beyond it the oldest is dropped (counted). Default 100,000. */
  maxEarlyFeedback: number;
  /** How many emitted keys are remembered to tell late feedback from orphans, and to catch duplicate impressions. Default 200,000. */
  closedKeyMemory: number;
}

export const DEFAULT_LABEL_JOINER_OPTIONS: Readonly<LabelJoinerOptions> = {
  windowMs: 30 * 60 * 1000,
  earlyBufferMs: 60 * 1000,
  maxPending: 1_000_000,
  maxEarlyFeedback: 100_000,
  closedKeyMemory: 200_000,
};

/** Every event counted by the outcome it had. */
export interface JoinerCounters {
  impressions: number;
  duplicateImpressions: number;
  /** Impressions emitted early because `maxPending` was reached. */
  evictedImpressions: number;
  /** Joined records emitted (window, eviction or flush). */
  emitted: number;
  /** Emitted records with at least one feedback. */
  emittedWithFeedback: number;
  /** Emitted records with no feedback (negative labels). */
  emittedNegative: number;
  feedback: number;
  joinedFeedback: number;
  duplicateFeedback: number;
  lateFeedback: number;
  /** Feedback whose time is before its impression's (dropped). */
  beforeImpressionFeedback: number;
  /** Feedback that arrived before its impression and was joined later (subset of joinedFeedback). */
  outOfOrderJoined: number;
  orphanFeedback: number;
  earlyEvicted: number;
  invalidFeedback: number;
}

function zeroCounters(): JoinerCounters {
  return {
    impressions: 0,
    duplicateImpressions: 0,
    evictedImpressions: 0,
    emitted: 0,
    emittedWithFeedback: 0,
    emittedNegative: 0,
    feedback: 0,
    joinedFeedback: 0,
    duplicateFeedback: 0,
    lateFeedback: 0,
    beforeImpressionFeedback: 0,
    outOfOrderJoined: 0,
    orphanFeedback: 0,
    earlyEvicted: 0,
    invalidFeedback: 0,
  };
}

interface EarlyEntry {
  key: string;
  event: FeedbackEvent;
  expireAt: number;
  done: boolean;
}

/**
 * Where an impression stands ({@link LabelJoiner.lookup}): pending (with its
 * time), closed (emitted and still remembered), `otherItem` (the request is
 * remembered, but did not expose this item), or unknown.
 */
export type ImpressionLookup = { status: 'pending'; timeMs: number } | { status: 'closed' } | { status: 'otherItem' } | { status: 'unknown' };

/** Called once per joined record. The record object is not reused by the joiner. */
export type JoinedSink = (record: JoinedInteraction) => void;

/** First capacity of the rings; they double as needed (a fresh joiner per offline batch stays small). */
const INITIAL_CAPACITY = 256;

/**
 * Storage. A service joining 500 requests/s x 6 items over a 30 s window
 * holds ~90k pending impressions; as one object (plus key string, outcome
 * and count arrays) each, they were ~500k long-lived heap objects that every
 * garbage collection had to copy or mark (5-28 ms pauses). Here every
 * impression gets a sequence number, and its fields live in preallocated
 * column arrays indexed by `seq % capacity` (joiner-rings.ts):
 * - the key ring remembers (requestId, item) of every impression from the
 *   oldest remembered emitted one to the newest pending one, chained per
 *   requestId in arrival order; `byRequest` maps a requestId to its oldest
 *   remembered seq. Impressions are emitted and forgotten in arrival order,
 *   so a chain only ever loses its head. Lookups walk one request's chain
 *   (the items of one slate), and no key string is built per impression.
 * - the payload ring holds the pending impressions' fields (user, author,
 *   time, f_ua, outcome, features by reference).
 * Seqs in [pendingHead, nextSeq) are pending; [forgetHead, pendingHead) are
 * the remembered emitted keys (at most `closedKeyMemory`).
 */
export class LabelJoiner {
  readonly options: Readonly<LabelJoinerOptions>;
  readonly counters: JoinerCounters = zeroCounters();
  private readonly sink: JoinedSink;
  private readonly closedMemory: number;
  private nextSeq = 0;
  private pendingHead = 0;
  private forgetHead = 0;
  /** requestId -> its oldest remembered seq (the head of its chain in `keys`). */
  private readonly byRequest = new Map<string, number>();
  private keys = new KeyRing(INITIAL_CAPACITY);
  private pay = new PayloadRing(INITIAL_CAPACITY);
  // ---- out-of-order feedback (rare: kept as objects) ----
  private readonly early = new Map<string, EarlyEntry[]>();
  private earlyQueue: EarlyEntry[] = [];
  private earlyHead = 0;
  private earlyLive = 0;
  private watermarkMs = -Infinity;

  /** @param sink receives every joined record exactly once. */
  constructor(sink: JoinedSink, options: Partial<LabelJoinerOptions> = {}) {
    const o = { ...DEFAULT_LABEL_JOINER_OPTIONS, ...options };
    for (const [name, v] of Object.entries(o)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`LabelJoiner option ${name} must be a finite number >= 0, got ${v}`);
    }
    if (o.maxPending < 1) throw new RangeError(`LabelJoiner option maxPending must be >= 1, got ${o.maxPending}`);
    this.options = o;
    this.sink = sink;
    this.closedMemory = Math.max(1, Math.floor(o.closedKeyMemory));
  }

  /** Current watermark (ms); -Infinity before any impression or advanceTo. */
  get watermark(): number {
    return this.watermarkMs;
  }
  /** Impressions waiting for their window to close. */
  get pendingCount(): number {
    return this.nextSeq - this.pendingHead;
  }
  /** Out-of-order feedback events waiting for their impression. */
  get earlyCount(): number {
    return this.earlyLive;
  }

  /** Adds an impression; may emit records whose window closed. */
  impression(ev: ImpressionEvent): void {
    this.counters.impressions++;
    const head = this.byRequest.get(ev.requestId);
    if (head !== undefined && this.find(head, ev.item) >= 0) {
      this.counters.duplicateImpressions++;
      return;
    }
    if (this.pendingCount >= this.options.maxPending) {
      this.counters.evictedImpressions++;
      this.closeHead('eviction');
    }
    const seq = this.insert(ev);
    if (this.early.size > 0) {
      const key = joinKey(ev.requestId, ev.item);
      const buffered = this.early.get(key);
      if (buffered !== undefined) {
        this.early.delete(key);
        for (const entry of buffered) {
          if (entry.done) continue;
          entry.done = true;
          this.earlyLive--;
          if (this.apply(seq, entry.event)) this.counters.outOfOrderJoined++;
        }
      }
    }
    if (ev.timeMs > this.watermarkMs) this.advanceTo(ev.timeMs);
  }

  /** Adds a feedback event (joined now, buffered, or counted as dropped). */
  feedback(ev: FeedbackEvent): void {
    this.counters.feedback++;
    if (feedbackKindIndex(ev.kind) < 0 || !(ev.value >= 0) || ev.value === Infinity || !Number.isFinite(ev.timeMs)) {
      this.counters.invalidFeedback++;
      return;
    }
    const head = this.byRequest.get(ev.requestId);
    const seq = head === undefined ? -1 : this.find(head, ev.item);
    if (seq >= this.pendingHead) {
      this.apply(seq, ev);
      return;
    }
    if (seq >= 0) {
      this.counters.lateFeedback++;
      return;
    }
    const key = joinKey(ev.requestId, ev.item);
    // Expiry in watermark time from arrival (before any watermark: from the event's time, clamped once the
    // watermark exists), so expiry times never decrease along the queue and its head-first expiry is exact.
    const from = this.watermarkMs === -Infinity ? ev.timeMs : this.watermarkMs;
    const entry: EarlyEntry = { key, event: ev, expireAt: from + this.options.earlyBufferMs, done: false };
    let list = this.early.get(key);
    if (list === undefined) {
      list = [];
      this.early.set(key, list);
    }
    list.push(entry);
    this.earlyQueue.push(entry);
    this.earlyLive++;
    while (this.earlyLive > this.options.maxEarlyFeedback) this.dropEarlyHead(true);
  }

  /** Moves the watermark to `timeMs` (if later) and emits every record whose window closed. */
  advanceTo(timeMs: number): void {
    if (timeMs > this.watermarkMs) {
      if (this.watermarkMs === -Infinity) {
        // Feedback buffered before any watermark waited from its own time: bound it by the first watermark.
        const bound = timeMs + this.options.earlyBufferMs;
        for (let i = this.earlyHead; i < this.earlyQueue.length; i++) {
          const e = this.earlyQueue[i]!;
          if (e.expireAt > bound) e.expireAt = bound;
        }
      }
      this.watermarkMs = timeMs;
    }
    const limit = this.watermarkMs - this.options.windowMs;
    while (this.pendingHead < this.nextSeq) {
      if (!(this.pay.time[this.pendingHead % this.pay.capacity]! < limit)) break;
      this.closeHead('window');
    }
    while (this.earlyHead < this.earlyQueue.length) {
      const head = this.earlyQueue[this.earlyHead]!;
      if (!head.done && head.expireAt >= this.watermarkMs) break;
      this.dropEarlyHead(false);
    }
    this.compactEarly();
  }

  /**
   * Emits every pending record now (end of stream or shutdown) and counts
   * every still-buffered early feedback as orphan.
   */
  flush(): void {
    while (this.pendingHead < this.nextSeq) this.closeHead('flush');
    while (this.earlyHead < this.earlyQueue.length) this.dropEarlyHead(false);
    this.compactEarly();
  }

  /** Where the impression of (`requestId`, `item`) stands; changes nothing (the service checks feedback with it before applying any). */
  lookup(requestId: string, item: number): ImpressionLookup {
    const head = this.byRequest.get(requestId);
    if (head === undefined) return { status: 'unknown' };
    const seq = this.find(head, item);
    if (seq < 0) return { status: 'otherItem' };
    if (seq >= this.pendingHead) return { status: 'pending', timeMs: this.pay.time[seq % this.pay.capacity]! };
    return { status: 'closed' };
  }

  /** The remembered seq of `item` in the chain starting at `seq`, or -1. */
  private find(seq: number, item: number): number {
    const keys = this.keys;
    while (seq >= 0) {
      const slot = seq % keys.capacity;
      if (keys.item[slot] === item) return seq;
      seq = keys.next[slot]!;
    }
    return -1;
  }

  /** Stores a new pending impression and chains its key; returns its seq. */
  private insert(ev: ImpressionEvent): number {
    if (this.nextSeq - this.forgetHead >= this.keys.capacity) this.keys = this.keys.grown(this.forgetHead, this.nextSeq);
    if (this.nextSeq - this.pendingHead >= this.pay.capacity) this.pay = this.pay.grown(this.pendingHead, this.nextSeq);
    const keys = this.keys;
    const pay = this.pay;
    const seq = this.nextSeq++;
    const k = seq % keys.capacity;
    keys.request[k] = ev.requestId;
    keys.item[k] = ev.item;
    keys.next[k] = -1;
    const head = this.byRequest.get(ev.requestId);
    if (head === undefined) {
      this.byRequest.set(ev.requestId, seq);
      keys.tail[k] = seq;
    } else {
      const h = head % keys.capacity;
      keys.next[keys.tail[h]! % keys.capacity] = seq;
      keys.tail[h] = seq;
    }
    const p = seq % pay.capacity;
    pay.user[p] = ev.user;
    pay.author[p] = ev.author;
    pay.time[p] = ev.timeMs;
    const n = Math.min(ev.pairCounts.length, PAIR_COUNT_DIM);
    const c = p * PAIR_COUNT_DIM;
    for (let i = 0; i < n; i++) pay.counts[c + i] = ev.pairCounts[i]!;
    for (let i = n; i < PAIR_COUNT_DIM; i++) pay.counts[c + i] = 0;
    pay.outcome.fill(0, p * OUTCOME_DIM, p * OUTCOME_DIM + OUTCOME_DIM);
    pay.seen[p] = 0;
    pay.feedbackCount[p] = 0;
    pay.userFeatures[p] = ev.userFeatures;
    pay.itemFeatures[p] = ev.itemFeatures;
    return seq;
  }

  /** Applies one feedback event to pending impression `seq`; returns true when joined. */
  private apply(seq: number, ev: FeedbackEvent): boolean {
    const pay = this.pay;
    const p = seq % pay.capacity;
    if (ev.timeMs > pay.time[p]! + this.options.windowMs) {
      this.counters.lateFeedback++;
      return false;
    }
    if (ev.timeMs < pay.time[p]!) {
      this.counters.beforeImpressionFeedback++;
      return false;
    }
    const k = feedbackKindIndex(ev.kind);
    const bit = 1 << k;
    const o = p * OUTCOME_DIM + k;
    if ((pay.seen[p]! & bit) !== 0) {
      this.counters.duplicateFeedback++;
      if (ev.value > pay.outcome[o]!) pay.outcome[o] = ev.value;
      return false;
    }
    pay.seen[p] = pay.seen[p]! | bit;
    pay.outcome[o] = ev.value;
    pay.feedbackCount[p]!++;
    this.counters.joinedFeedback++;
    return true;
  }

  /** Emits the oldest pending impression as a fresh record and remembers its key. */
  private closeHead(reason: JoinedInteraction['closedBy']): void {
    const seq = this.pendingHead++;
    const k = seq % this.keys.capacity;
    const pay = this.pay;
    const p = seq % pay.capacity;
    const rec: JoinedInteraction = {
      requestId: this.keys.request[k]!,
      user: pay.user[p]!,
      item: this.keys.item[k]!,
      author: pay.author[p]!,
      timeMs: pay.time[p]!,
      userFeatures: pay.userFeatures[p],
      itemFeatures: pay.itemFeatures[p],
      pairCounts: pay.counts.slice(p * PAIR_COUNT_DIM, p * PAIR_COUNT_DIM + PAIR_COUNT_DIM),
      outcome: pay.outcome.slice(p * OUTCOME_DIM, p * OUTCOME_DIM + OUTCOME_DIM),
      feedbackCount: pay.feedbackCount[p]!,
      closedBy: reason,
    };
    pay.userFeatures[p] = undefined;
    pay.itemFeatures[p] = undefined;
    while (this.pendingHead - this.forgetHead > this.closedMemory) this.forgetOldest();
    this.counters.emitted++;
    if (rec.feedbackCount > 0) this.counters.emittedWithFeedback++;
    else this.counters.emittedNegative++;
    this.sink(rec);
  }

  /** Forgets the oldest remembered key: the head of its request's chain. */
  private forgetOldest(): void {
    const keys = this.keys;
    const seq = this.forgetHead++;
    const k = seq % keys.capacity;
    const requestId = keys.request[k]!;
    const next = keys.next[k]!;
    if (next < 0) this.byRequest.delete(requestId);
    else {
      this.byRequest.set(requestId, next);
      keys.tail[next % keys.capacity] = keys.tail[k]!;
    }
    keys.request[k] = undefined;
  }

  private dropEarlyHead(evicted: boolean): void {
    const entry = this.earlyQueue[this.earlyHead]!;
    this.earlyQueue[this.earlyHead] = undefined as unknown as EarlyEntry;
    this.earlyHead++;
    if (entry.done) return;
    entry.done = true;
    this.earlyLive--;
    if (evicted) this.counters.earlyEvicted++;
    else this.counters.orphanFeedback++;
    const list = this.early.get(entry.key);
    if (list !== undefined) {
      // Entries of one key leave in FIFO order, so this one is the list's first live entry.
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.early.delete(entry.key);
    }
  }

  /** Drops the early queue's consumed prefix once it dominates the array (amortized O(1)). */
  private compactEarly(): void {
    if (this.earlyHead > 4096 && this.earlyHead * 2 > this.earlyQueue.length) {
      this.earlyQueue = this.earlyQueue.slice(this.earlyHead);
      this.earlyHead = 0;
    }
  }
}

/** The join key of (requestId, item), used for out-of-order feedback. */
export function joinKey(requestId: string, item: number): string {
  return requestId + '#' + item;
}
