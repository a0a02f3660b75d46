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
 *   time is after the window (`lateFeedback`, dropped) or the same kind was
 *   already applied (`duplicateFeedback`; the larger value is kept, so
 *   retries are idempotent and progressive watch-time reports end at the
 *   final figure).
 * - feedback for a record already emitted (remembered for the last
 *   `closedKeyMemory` keys): `lateFeedback`, dropped.
 * - feedback with no impression yet (out of order): buffered for up to
 *   `earlyBufferMs` of watermark time and at most `maxEarlyFeedback` events;
 *   applied when its impression arrives (`outOfOrderJoined`, also counted in
 *   `joinedFeedback`); otherwise dropped as `orphanFeedback` when it
 *   expires or `earlyEvicted` when the buffer is full.
 * - feedback with an unknown kind or a negative / non-finite value:
 *   `invalidFeedback`, dropped.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
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
  /** Feedback that arrived before its impression and was joined later (subset of joinedFeedback). */
  outOfOrderJoined: number;
  orphanFeedback: number;
  earlyEvicted: number;
  invalidFeedback: number;
}

function zeroCounters(): JoinerCounters {
  return {
    impressions: 0, duplicateImpressions: 0, evictedImpressions: 0, emitted: 0, emittedWithFeedback: 0, emittedNegative: 0,
    feedback: 0, joinedFeedback: 0, duplicateFeedback: 0, lateFeedback: 0, outOfOrderJoined: 0, orphanFeedback: 0,
    earlyEvicted: 0, invalidFeedback: 0,
  };
}

interface EarlyEntry {
  key: string;
  event: FeedbackEvent;
  expireAt: number;
  done: boolean;
}

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
 * column arrays indexed by `seq % capacity`:
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
  // ---- key ring (remembered and pending impressions) ----
  private readonly byRequest = new Map<string, number>();
  private keyCap = INITIAL_CAPACITY;
  private keyRequest: (string | undefined)[] = new Array(INITIAL_CAPACITY);
  private keyItem = new Int32Array(INITIAL_CAPACITY);
  /** Next seq of the same requestId, -1 at the end of the chain. */
  private keyNext = new Float64Array(INITIAL_CAPACITY);
  /** Last seq of the chain; kept at the chain's head only. */
  private keyTail = new Float64Array(INITIAL_CAPACITY);
  // ---- payload ring (pending impressions) ----
  private payCap = INITIAL_CAPACITY;
  private user = new Int32Array(INITIAL_CAPACITY);
  private author = new Int32Array(INITIAL_CAPACITY);
  private time = new Float64Array(INITIAL_CAPACITY);
  private counts = new Float32Array(INITIAL_CAPACITY * PAIR_COUNT_DIM);
  private outcome = new Float32Array(INITIAL_CAPACITY * OUTCOME_DIM);
  /** Bit k set when feedback kind k was applied. */
  private seen = new Uint8Array(INITIAL_CAPACITY);
  private feedbackCount = new Uint8Array(INITIAL_CAPACITY);
  private userFeatures: (Int32Array | undefined)[] = new Array(INITIAL_CAPACITY);
  private itemFeatures: (Int32Array | undefined)[] = new Array(INITIAL_CAPACITY);
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
  get watermark(): number { return this.watermarkMs; }
  /** Impressions waiting for their window to close. */
  get pendingCount(): number { return this.nextSeq - this.pendingHead; }
  /** Out-of-order feedback events waiting for their impression. */
  get earlyCount(): number { return this.earlyLive; }

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
    const entry: EarlyEntry = { key, event: ev, expireAt: Math.max(this.watermarkMs, ev.timeMs) + this.options.earlyBufferMs, done: false };
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
    if (timeMs > this.watermarkMs) this.watermarkMs = timeMs;
    const limit = this.watermarkMs - this.options.windowMs;
    while (this.pendingHead < this.nextSeq) {
      if (!(this.time[this.pendingHead % this.payCap]! < limit)) break;
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

  /** The remembered seq of `item` in the chain starting at `seq`, or -1. */
  private find(seq: number, item: number): number {
    const cap = this.keyCap;
    while (seq >= 0) {
      const slot = seq % cap;
      if (this.keyItem[slot] === item) return seq;
      seq = this.keyNext[slot]!;
    }
    return -1;
  }

  /** Stores a new pending impression and chains its key; returns its seq. */
  private insert(ev: ImpressionEvent): number {
    if (this.nextSeq - this.forgetHead >= this.keyCap) this.growKeys();
    if (this.nextSeq - this.pendingHead >= this.payCap) this.growPayload();
    const seq = this.nextSeq++;
    const k = seq % this.keyCap;
    this.keyRequest[k] = ev.requestId;
    this.keyItem[k] = ev.item;
    this.keyNext[k] = -1;
    const head = this.byRequest.get(ev.requestId);
    if (head === undefined) {
      this.byRequest.set(ev.requestId, seq);
      this.keyTail[k] = seq;
    } else {
      const h = head % this.keyCap;
      this.keyNext[this.keyTail[h]! % this.keyCap] = seq;
      this.keyTail[h] = seq;
    }
    const p = seq % this.payCap;
    this.user[p] = ev.user;
    this.author[p] = ev.author;
    this.time[p] = ev.timeMs;
    const n = Math.min(ev.pairCounts.length, PAIR_COUNT_DIM);
    const c = p * PAIR_COUNT_DIM;
    for (let i = 0; i < n; i++) this.counts[c + i] = ev.pairCounts[i]!;
    for (let i = n; i < PAIR_COUNT_DIM; i++) this.counts[c + i] = 0;
    this.outcome.fill(0, p * OUTCOME_DIM, p * OUTCOME_DIM + OUTCOME_DIM);
    this.seen[p] = 0;
    this.feedbackCount[p] = 0;
    this.userFeatures[p] = ev.userFeatures;
    this.itemFeatures[p] = ev.itemFeatures;
    return seq;
  }

  /** Applies one feedback event to pending impression `seq`; returns true when joined. */
  private apply(seq: number, ev: FeedbackEvent): boolean {
    const p = seq % this.payCap;
    if (ev.timeMs > this.time[p]! + this.options.windowMs) {
      this.counters.lateFeedback++;
      return false;
    }
    const k = feedbackKindIndex(ev.kind);
    const bit = 1 << k;
    const o = p * OUTCOME_DIM + k;
    if ((this.seen[p]! & bit) !== 0) {
      this.counters.duplicateFeedback++;
      if (ev.value > this.outcome[o]!) this.outcome[o] = ev.value;
      return false;
    }
    this.seen[p] = this.seen[p]! | bit;
    this.outcome[o] = ev.value;
    this.feedbackCount[p]++;
    this.counters.joinedFeedback++;
    return true;
  }

  /** Emits the oldest pending impression as a fresh record and remembers its key. */
  private closeHead(reason: JoinedInteraction['closedBy']): void {
    const seq = this.pendingHead++;
    const k = seq % this.keyCap;
    const p = seq % this.payCap;
    const rec: JoinedInteraction = {
      requestId: this.keyRequest[k]!, user: this.user[p]!, item: this.keyItem[k]!, author: this.author[p]!, timeMs: this.time[p]!,
      userFeatures: this.userFeatures[p], itemFeatures: this.itemFeatures[p],
      pairCounts: this.counts.slice(p * PAIR_COUNT_DIM, p * PAIR_COUNT_DIM + PAIR_COUNT_DIM),
      outcome: this.outcome.slice(p * OUTCOME_DIM, p * OUTCOME_DIM + OUTCOME_DIM),
      feedbackCount: this.feedbackCount[p]!, closedBy: reason,
    };
    this.userFeatures[p] = undefined;
    this.itemFeatures[p] = undefined;
    while (this.pendingHead - this.forgetHead > this.closedMemory) this.forgetOldest();
    this.counters.emitted++;
    if (rec.feedbackCount > 0) this.counters.emittedWithFeedback++;
    else this.counters.emittedNegative++;
    this.sink(rec);
  }

  /** Forgets the oldest remembered key: the head of its request's chain. */
  private forgetOldest(): void {
    const seq = this.forgetHead++;
    const k = seq % this.keyCap;
    const requestId = this.keyRequest[k]!;
    const next = this.keyNext[k]!;
    if (next < 0) this.byRequest.delete(requestId);
    else {
      this.byRequest.set(requestId, next);
      this.keyTail[next % this.keyCap] = this.keyTail[k]!;
    }
    this.keyRequest[k] = undefined;
  }

  /** Doubles the key ring, moving remembered and pending keys to their new slots. */
  private growKeys(): void {
    const cap = this.keyCap * 2;
    const request: (string | undefined)[] = new Array(cap);
    const item = new Int32Array(cap);
    const next = new Float64Array(cap);
    const tail = new Float64Array(cap);
    for (let seq = this.forgetHead; seq < this.nextSeq; seq++) {
      const from = seq % this.keyCap;
      const to = seq % cap;
      request[to] = this.keyRequest[from];
      item[to] = this.keyItem[from]!;
      next[to] = this.keyNext[from]!;
      tail[to] = this.keyTail[from]!;
    }
    this.keyCap = cap;
    this.keyRequest = request;
    this.keyItem = item;
    this.keyNext = next;
    this.keyTail = tail;
  }

  /** Doubles the payload ring, moving pending impressions to their new slots. */
  private growPayload(): void {
    const cap = this.payCap * 2;
    const user = new Int32Array(cap);
    const author = new Int32Array(cap);
    const time = new Float64Array(cap);
    const counts = new Float32Array(cap * PAIR_COUNT_DIM);
    const outcome = new Float32Array(cap * OUTCOME_DIM);
    const seen = new Uint8Array(cap);
    const feedbackCount = new Uint8Array(cap);
    const userFeatures: (Int32Array | undefined)[] = new Array(cap);
    const itemFeatures: (Int32Array | undefined)[] = new Array(cap);
    for (let seq = this.pendingHead; seq < this.nextSeq; seq++) {
      const from = seq % this.payCap;
      const to = seq % cap;
      user[to] = this.user[from]!;
      author[to] = this.author[from]!;
      time[to] = this.time[from]!;
      counts.set(this.counts.subarray(from * PAIR_COUNT_DIM, from * PAIR_COUNT_DIM + PAIR_COUNT_DIM), to * PAIR_COUNT_DIM);
      outcome.set(this.outcome.subarray(from * OUTCOME_DIM, from * OUTCOME_DIM + OUTCOME_DIM), to * OUTCOME_DIM);
      seen[to] = this.seen[from]!;
      feedbackCount[to] = this.feedbackCount[from]!;
      userFeatures[to] = this.userFeatures[from];
      itemFeatures[to] = this.itemFeatures[from];
    }
    this.payCap = cap;
    this.user = user;
    this.author = author;
    this.time = time;
    this.counts = counts;
    this.outcome = outcome;
    this.seen = seen;
    this.feedbackCount = feedbackCount;
    this.userFeatures = userFeatures;
    this.itemFeatures = itemFeatures;
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
