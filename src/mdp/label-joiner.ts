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
  /** f_ua at ranking time (PAIR_COUNT_DIM). The joiner keeps this array: do not modify it afterwards. */
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

interface Pending extends JoinedInteraction {
  key: string;
  /** Bit k set when feedback kind k was applied. */
  seen: number;
}

interface EarlyEntry {
  key: string;
  event: FeedbackEvent;
  expireAt: number;
  done: boolean;
}

/** Called once per joined record. The record object is not reused by the joiner. */
export type JoinedSink = (record: JoinedInteraction) => void;

export class LabelJoiner {
  readonly options: Readonly<LabelJoinerOptions>;
  readonly counters: JoinerCounters = zeroCounters();
  private readonly sink: JoinedSink;
  private readonly pending = new Map<string, Pending>();
  private queue: Pending[] = [];
  private queueHead = 0;
  private readonly early = new Map<string, EarlyEntry[]>();
  private earlyQueue: EarlyEntry[] = [];
  private earlyHead = 0;
  private earlyLive = 0;
  private readonly closedSet = new Set<string>();
  private readonly closedRing: (string | undefined)[];
  private closedPos = 0;
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
    this.closedRing = new Array(Math.max(1, Math.floor(o.closedKeyMemory)));
  }

  /** Current watermark (ms); -Infinity before any impression or advanceTo. */
  get watermark(): number { return this.watermarkMs; }
  /** Impressions waiting for their window to close. */
  get pendingCount(): number { return this.pending.size; }
  /** Out-of-order feedback events waiting for their impression. */
  get earlyCount(): number { return this.earlyLive; }

  /** Adds an impression; may emit records whose window closed. */
  impression(ev: ImpressionEvent): void {
    this.counters.impressions++;
    const key = joinKey(ev.requestId, ev.item);
    if (this.pending.has(key) || this.closedSet.has(key)) {
      this.counters.duplicateImpressions++;
      return;
    }
    const rec: Pending = {
      key, requestId: ev.requestId, user: ev.user, item: ev.item, author: ev.author, timeMs: ev.timeMs,
      userFeatures: ev.userFeatures, itemFeatures: ev.itemFeatures,
      pairCounts: ev.pairCounts.length === PAIR_COUNT_DIM ? ev.pairCounts : fixCounts(ev.pairCounts),
      outcome: new Float32Array(OUTCOME_DIM), feedbackCount: 0, closedBy: 'window', seen: 0,
    };
    if (this.pending.size >= this.options.maxPending) {
      this.counters.evictedImpressions++;
      this.closeHead('eviction');
    }
    this.pending.set(key, rec);
    this.queue.push(rec);
    const buffered = this.early.get(key);
    if (buffered !== undefined) {
      this.early.delete(key);
      for (const entry of buffered) {
        if (entry.done) continue;
        entry.done = true;
        this.earlyLive--;
        if (this.apply(rec, entry.event)) this.counters.outOfOrderJoined++;
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
    const key = joinKey(ev.requestId, ev.item);
    const rec = this.pending.get(key);
    if (rec !== undefined) {
      this.apply(rec, ev);
      return;
    }
    if (this.closedSet.has(key)) {
      this.counters.lateFeedback++;
      return;
    }
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
    while (this.queueHead < this.queue.length) {
      const head = this.queue[this.queueHead]!;
      if (!(head.timeMs < limit)) break;
      this.closeHead('window');
    }
    while (this.earlyHead < this.earlyQueue.length) {
      const head = this.earlyQueue[this.earlyHead]!;
      if (!head.done && head.expireAt >= this.watermarkMs) break;
      this.dropEarlyHead(false);
    }
    this.compact();
  }

  /**
   * Emits every pending record now (end of stream or shutdown) and counts
   * every still-buffered early feedback as orphan.
   */
  flush(): void {
    while (this.queueHead < this.queue.length) this.closeHead('flush');
    while (this.earlyHead < this.earlyQueue.length) this.dropEarlyHead(false);
    this.compact();
  }

  /** Applies one feedback event to a pending record; returns true when joined. */
  private apply(rec: Pending, ev: FeedbackEvent): boolean {
    if (ev.timeMs > rec.timeMs + this.options.windowMs) {
      this.counters.lateFeedback++;
      return false;
    }
    const k = feedbackKindIndex(ev.kind);
    const bit = 1 << k;
    if ((rec.seen & bit) !== 0) {
      this.counters.duplicateFeedback++;
      if (ev.value > rec.outcome[k]!) rec.outcome[k] = ev.value;
      return false;
    }
    rec.seen |= bit;
    rec.outcome[k] = ev.value;
    rec.feedbackCount++;
    this.counters.joinedFeedback++;
    return true;
  }

  private closeHead(reason: JoinedInteraction['closedBy']): void {
    const rec = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined as unknown as Pending;
    this.queueHead++;
    this.pending.delete(rec.key);
    this.remember(rec.key);
    rec.closedBy = reason;
    this.counters.emitted++;
    if (rec.feedbackCount > 0) this.counters.emittedWithFeedback++;
    else this.counters.emittedNegative++;
    this.sink(rec);
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

  private remember(key: string): void {
    const ring = this.closedRing;
    const old = ring[this.closedPos];
    if (old !== undefined) this.closedSet.delete(old);
    ring[this.closedPos] = key;
    this.closedSet.add(key);
    this.closedPos = (this.closedPos + 1) % ring.length;
  }

  /** Drops consumed queue prefixes once they dominate the arrays (amortized O(1)). */
  private compact(): void {
    if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    if (this.earlyHead > 4096 && this.earlyHead * 2 > this.earlyQueue.length) {
      this.earlyQueue = this.earlyQueue.slice(this.earlyHead);
      this.earlyHead = 0;
    }
  }
}

/** The join key of (requestId, item). */
export function joinKey(requestId: string, item: number): string {
  return requestId + '#' + item;
}

function fixCounts(counts: Float32Array): Float32Array {
  const out = new Float32Array(PAIR_COUNT_DIM);
  out.set(counts.subarray(0, Math.min(counts.length, PAIR_COUNT_DIM)));
  return out;
}
