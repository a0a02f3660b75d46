/**
 * Online training (paper Fig. 4, docs/design.md §9): consumes ASA samples from
 * the sample stream, trains a copy of the served model, and publishes
 * versioned checksummed checkpoints to the model registry, which the
 * ranking service hot-reloads.
 *
 * Delivery, exactly once per model lineage: stream entries are acknowledged
 * only after a checkpoint that contains them is published, so a trainer that
 * dies mid-way loses nothing: on restart it resumes from the last published
 * version, and its unacknowledged entries are delivered again, once each,
 * before new ones. Each version records the entries it was trained on since
 * its parent ({@link TrainedEntries}, `state.online.stream`), so a restart
 * after a publish whose acknowledgement never happened skips (acknowledges
 * without training) the entries its base version already contains. On
 * `stop()` the trainer publishes what it trained since the last version
 * (`publishOnStop`), so a clean restart retrains nothing.
 *
 * Feeding the agent: a ranker with `observeSamples(batch)` takes the samples
 * as they are; any other `Ranker` gets them as one-exposure session traces
 * rebuilt from the sample (rewards and ASA deltas carry the outcome), which
 * its own `observe` turns back into the same samples.
 *
 * A non-finite loss reverts the trainer to the last published version; the
 * offending entries are acknowledged and counted (a poison batch must not
 * stop online learning forever), nothing is published from a diverged model.
 */
import { PAIR_COUNT_DIM, PC_COMMENT, PC_LIKE, PC_LONG_VIEW, PC_WATCH_TIME, TOWER_COUNT } from '../data/interaction-kinds.js';
import type { Ranker } from '../agents/ranker.js';
import { createAgent } from '../agents/registry.js';
import type { SampleBatch } from '../mdp/scri-mdp.js';
import { SESSION_SUMMARY_DIM, type RequestRecord, type SessionTrace } from '../environment/trace.js';
import { allocResponseBatch } from '../world/response.js';
import { modelCheckpoint, type ModelRegistry, type RegistryPointer, type ServingModel } from './model-registry.js';
import type { SampleStream } from './sample-stream.js';

/** A ranker that accepts SCRI-MDP samples directly (optional capability). */
export interface SampleLearner {
  observeSamples(batch: SampleBatch): void;
}

/** Configuration of an {@link OnlineTrainer}. */
export interface OnlineTrainerOptions {
  /** Consumer group of trainers. Default "trainers". */
  group: string;
  /** This trainer's consumer name (stable across restarts to get its unacknowledged entries back). Default "trainer-1". */
  consumer: string;
  /** Gradient steps after each read that brought new samples. Default 20. */
  stepsPerRound: number;
  /** Publish once at least this many new samples were trained on... Default 256. */
  publishEverySamples: number;
  /** ...and at least this long after the previous publish (ms). Default 2000. */
  minPublishIntervalMs: number;
  /** Stream entries per read. Default 32. */
  maxEntriesPerRead: number;
  /** Longest wait for new entries per read (ms). Default 1000. */
  blockMs: number;
  /** Reward options the samples were built with ('flag' gift rewards carry no amount). Default 'flag'. */
  giftReward: 'flag' | 'log1pAmount';
  /** On stop, publish the samples trained on since the last version (so a restart does not train them again). Default true. */
  publishOnStop: boolean;
}

/**
 * What a version published by an online trainer records about the stream
 * entries it was trained on (checkpoint `state.online.stream`).
 */
export interface TrainedEntries {
  group: string;
  consumer: string;
  /** Ids of the stream entries trained on since the parent version (acknowledged right after this publish). */
  entries: string[];
  /** Samples in those entries. */
  samples: number;
  /** Entries trained on over the version's whole lineage of online training (parent's total + `entries`). */
  entriesTotal: number;
  /** Samples trained on over the lineage. */
  samplesTotal: number;
}

/** The stream record of a loaded version, if it has a valid one. */
export function trainedEntriesOf(model: ServingModel): TrainedEntries | null {
  const r = (model.online as { stream?: Partial<TrainedEntries> } | undefined)?.stream;
  if (!r || typeof r.group !== 'string' || typeof r.consumer !== 'string' || !Array.isArray(r.entries) || !r.entries.every((e) => typeof e === 'string'))
    return null;
  if (![r.samples, r.entriesTotal, r.samplesTotal].every((n) => Number.isInteger(n) && (n as number) >= 0)) return null;
  return r as TrainedEntries;
}

export const DEFAULT_ONLINE_TRAINER_OPTIONS: Readonly<OnlineTrainerOptions> = {
  group: 'trainers',
  consumer: 'trainer-1',
  stepsPerRound: 20,
  publishEverySamples: 256,
  minPublishIntervalMs: 2000,
  maxEntriesPerRead: 32,
  blockMs: 1000,
  giftReward: 'flag',
  publishOnStop: true,
};

/** Figures of a trainer, for logs and tests. */
export interface OnlineTrainerStats {
  samplesConsumed: number;
  entriesConsumed: number;
  steps: number;
  published: number;
  lastPublishedVersion: number;
  divergences: number;
  /** Redelivered entries skipped because the base version already contains them (published, acknowledgement lost). */
  entriesAlreadyTrained: number;
  /** Rounds that failed (e.g. the registry could not be written); the loop retries after a pause. */
  errors: number;
  lastError?: string;
  lastLosses: Record<string, number>;
}

export class OnlineTrainer {
  readonly options: OnlineTrainerOptions;
  readonly stats: OnlineTrainerStats;
  private ranker: Ranker;
  private lastGoodBytes: Uint8Array;
  /** Entries trained on since the last publish (acknowledged after the next one). */
  private unacked: string[] = [];
  /** Entries whose acknowledgement failed (Redis down); retried every round. */
  private ackBacklog: string[] = [];
  /** Entries the base version was trained on since its parent: redelivered ones are skipped, not trained twice. */
  private readonly inBase: Set<string>;
  private entriesTotal = 0;
  private samplesTotal = 0;
  private samplesSincePublish = 0;
  private stepsSincePublish = 0;
  private lastPublishAt = 0;
  private stopping = false;

  /**
   * @param base the version to continue from (its agent, config, catalog and parameters).
   */
  constructor(
    private readonly base: ServingModel,
    private readonly stream: SampleStream,
    private readonly registry: ModelRegistry,
    options: Partial<OnlineTrainerOptions> = {},
  ) {
    this.options = { ...DEFAULT_ONLINE_TRAINER_OPTIONS, ...options };
    this.lastGoodBytes = base.ranker.save();
    this.ranker = this.rebuild(this.lastGoodBytes);
    this.stats = {
      samplesConsumed: 0,
      entriesConsumed: 0,
      steps: 0,
      published: 0,
      lastPublishedVersion: base.version,
      divergences: 0,
      entriesAlreadyTrained: 0,
      errors: 0,
      lastLosses: {},
    };
    const record = trainedEntriesOf(base);
    this.entriesTotal = record?.entriesTotal ?? 0;
    this.samplesTotal = record?.samplesTotal ?? 0;
    this.inBase = new Set(record && record.group === this.options.group && record.consumer === this.options.consumer ? record.entries : []);
  }

  private rebuild(bytes: Uint8Array): Ranker {
    const r = createAgent(this.base.agent, { catalog: this.base.catalog, seed: this.base.agentSeed }, this.base.agentConfig);
    r.load(bytes);
    return r;
  }

  /** One read -> observe -> train -> maybe publish round. Returns the pointer when a version was published. */
  async round(): Promise<RegistryPointer | null> {
    const o = this.options;
    if (this.ackBacklog.length > 0) {
      await this.stream.ack(o.group, this.ackBacklog);
      this.ackBacklog = [];
    }
    let entries = await this.stream.read(o.group, o.consumer, o.maxEntriesPerRead, o.blockMs);
    if (this.inBase.size > 0) {
      // Published in the base version, acknowledgement lost (the trainer died in between): acknowledge, do not train again.
      const known = entries.filter((e) => this.inBase.has(e.id));
      if (known.length > 0) {
        for (const e of known) this.inBase.delete(e.id);
        this.stats.entriesAlreadyTrained += known.length;
        await this.stream.ack(
          o.group,
          known.map((e) => e.id),
        );
        entries = entries.filter((e) => !known.includes(e));
      }
    }
    if (entries.length > 0) {
      let samples = 0;
      for (const e of entries) {
        this.feed(e.batch);
        samples += e.batch.count;
        this.unacked.push(e.id);
      }
      this.stats.entriesConsumed += entries.length;
      this.stats.samplesConsumed += samples;
      this.samplesSincePublish += samples;
      try {
        const s = this.ranker.train(o.stepsPerRound);
        for (const v of Object.values(s.losses)) if (!Number.isFinite(v)) throw new Error(`non-finite loss ${JSON.stringify(s.losses)}`);
        this.stats.steps += s.steps;
        this.stepsSincePublish += s.steps;
        if (s.steps > 0) this.stats.lastLosses = s.losses;
      } catch (err) {
        // Diverged: back to the last published parameters; drop (ack) what caused it.
        this.stats.divergences++;
        this.ranker = this.rebuild(this.lastGoodBytes);
        const dropped = this.unacked;
        this.unacked = [];
        this.ackBacklog.push(...dropped);
        this.samplesSincePublish = 0;
        this.stepsSincePublish = 0;
        void err;
        return null;
      }
    }
    if (this.stepsSincePublish > 0 && this.samplesSincePublish >= o.publishEverySamples && Date.now() - this.lastPublishAt >= o.minPublishIntervalMs) {
      return this.publish();
    }
    return null;
  }

  /**
   * Publishes the current parameters as a new version, recording the stream
   * entries trained on since the last one, then acknowledges them (a failed
   * acknowledgement is retried every round).
   */
  async publish(): Promise<RegistryPointer> {
    const bytes = this.ranker.save();
    const trained = this.unacked;
    const stream: TrainedEntries = {
      group: this.options.group,
      consumer: this.options.consumer,
      entries: trained,
      samples: this.samplesSincePublish,
      entriesTotal: this.entriesTotal + trained.length,
      samplesTotal: this.samplesTotal + this.samplesSincePublish,
    };
    const ckpt = modelCheckpoint(this.base.agent, this.base.agentConfig, bytes, this.base.catalogSpec, this.base.agentSeed, {
      parentVersion: this.stats.lastPublishedVersion,
      samplesConsumed: this.stats.samplesConsumed,
      steps: this.stats.steps,
      stream,
    });
    const pointer = this.registry.publish(ckpt);
    this.lastGoodBytes = bytes;
    this.unacked = [];
    this.entriesTotal = stream.entriesTotal;
    this.samplesTotal = stream.samplesTotal;
    this.samplesSincePublish = 0;
    this.stepsSincePublish = 0;
    this.lastPublishAt = Date.now();
    this.stats.published++;
    this.stats.lastPublishedVersion = pointer.version;
    try {
      await this.stream.ack(this.options.group, trained);
    } catch {
      this.ackBacklog.push(...trained);
    }
    return pointer;
  }

  /** Runs rounds until `stop()`; `onPublish` is called for each new version. */
  async run(onPublish?: (p: RegistryPointer) => void): Promise<void> {
    this.stopping = false;
    while (!this.stopping) {
      try {
        const p = await this.round();
        if (p && onPublish) onPublish(p);
      } catch (err) {
        this.stats.errors++;
        this.stats.lastError = (err as Error).message;
        await new Promise((r) => setTimeout(r, 1000));
      }
      // Let the event loop breathe between rounds (an in-process trainer shares it with the HTTP server).
      await new Promise((r) => setImmediate(r));
    }
    if (this.options.publishOnStop && this.unacked.length > 0) {
      try {
        const p = await this.publish();
        if (onPublish) onPublish(p);
      } catch (err) {
        this.stats.errors++;
        this.stats.lastError = (err as Error).message;
      }
    }
  }

  stop(): void {
    this.stopping = true;
  }

  private feed(batch: SampleBatch): void {
    const learner = this.ranker as Partial<SampleLearner>;
    if (typeof learner.observeSamples === 'function') {
      learner.observeSamples(batch);
      return;
    }
    this.ranker.observe(samplesToSessions(batch, this.options.giftReward));
  }
}

/**
 * Rebuilds one-exposure session traces from ASA samples (for rankers that
 * learn from traces): click, watch seconds, follow and gift come from the
 * rewards (watch seconds from the watch-time delta when there is one);
 * long view, like and comment from the ASA deltas (s' - s). The agent's own
 * joiner and ASA then rebuild the same samples (watch time up to float32
 * rounding of the play time).
 * Samples of one user become one session, in time order.
 */
export function samplesToSessions(batch: SampleBatch, giftReward: 'flag' | 'log1pAmount' = 'flag'): SessionTrace[] {
  const byUser = new Map<number, number[]>();
  for (let i = 0; i < batch.count; i++) {
    const u = batch.user[i]!;
    let rows = byUser.get(u);
    if (rows === undefined) {
      rows = [];
      byUser.set(u, rows);
    }
    rows.push(i);
  }
  const sessions: SessionTrace[] = [];
  for (const [user, rows] of byUser) {
    rows.sort((a, b) => batch.timeMs[a]! - batch.timeMs[b]! || a - b);
    const requests: RequestRecord[] = rows.map((i) => {
      const p = i * PAIR_COUNT_DIM;
      const r = i * TOWER_COUNT;
      const responses = allocResponseBatch(1);
      responses.click[0] = batch.rewards[r]! > 0 ? 1 : 0;
      // Watch seconds: the ASA delta of the watch-time total (exact), else invert the log1p reward.
      const watchDelta = batch.nextPairCounts[p + PC_WATCH_TIME]! - batch.pairCounts[p + PC_WATCH_TIME]!;
      responses.playTimeMs[0] = batch.rewards[r + 1]! > 0 ? (watchDelta > 0 ? watchDelta : Math.expm1(batch.rewards[r + 1]!)) * 1000 : 0;
      responses.follow[0] = batch.rewards[r + 2]! > 0 ? 1 : 0;
      responses.giftAmount[0] = batch.rewards[r + 3]! > 0 ? (giftReward === 'log1pAmount' ? Math.expm1(batch.rewards[r + 3]!) : 1) : 0;
      responses.longView[0] = batch.nextPairCounts[p + PC_LONG_VIEW]! > batch.pairCounts[p + PC_LONG_VIEW]! ? 1 : 0;
      responses.like[0] = batch.nextPairCounts[p + PC_LIKE]! > batch.pairCounts[p + PC_LIKE]! ? 1 : 0;
      responses.comment[0] = batch.nextPairCounts[p + PC_COMMENT]! > batch.pairCounts[p + PC_COMMENT]! ? 1 : 0;
      return {
        user,
        timeMs: batch.timeMs[i]!,
        summary: new Float32Array(SESSION_SUMMARY_DIM),
        candidates: Int32Array.of(batch.item[i]!),
        candidatePairCounts: batch.pairCounts.slice(p, p + PAIR_COUNT_DIM),
        slate: Int32Array.of(0),
        responses,
      };
    });
    sessions.push({ user, sessionIndex: 0, requests, returnGapDays: Infinity });
  }
  return sessions;
}
