/**
 * The service side of online learning (paper Fig. 4): impressions logged by
 * /v1/rank and events from /v1/feedback go through the label joiner; each
 * joined interaction becomes an ASA sample (s, a, r, s') published to the
 * sample stream, and its ASA delta updates the pair-count store, so the
 * next request of that pair sees f_ua^{t+1}.
 *
 * Samples and store updates are batched and written on a short timer (and
 * when a batch fills), never awaited by the ranking path.
 */
import { PAIR_COUNT_DIM } from '../data/interaction-kinds.js';
import { AsaSampleBuilder, asaDelta } from '../mdp/adjacent-state-approximation.js';
import { LabelJoiner, type FeedbackEvent, type ImpressionEvent, type JoinedInteraction, type LabelJoinerOptions } from '../mdp/label-joiner.js';
import { allocSampleBatch, type RewardOptions, type SampleBatch } from '../mdp/scri-mdp.js';
import type { PairFeatureStore, PairDelta } from './pair-store.js';
import type { SampleStream } from './sample-stream.js';

/** Configuration of a {@link SamplePipeline}. */
export interface SamplePipelineOptions {
  /** Label joiner settings (window, buffers). The service default window is 30 s so a demo sees samples quickly. */
  joiner: Partial<LabelJoinerOptions>;
  /** Reward options of the ASA samples. Default: gift as a 0/1 flag. */
  reward: Partial<RewardOptions>;
  /** Samples per stream entry. Default 256. */
  batchSize: number;
  /** Categorical user features per sample (the catalog's user fields). */
  userFeatureDim: number;
  /** Categorical item features per sample (the catalog's item fields). */
  itemFeatureDim: number;
}

export const DEFAULT_SERVICE_JOIN_WINDOW_MS = 30_000;

export class SamplePipeline {
  readonly joiner: LabelJoiner;
  private readonly asa: AsaSampleBuilder;
  private readonly options: SamplePipelineOptions;
  private batch: SampleBatch;
  private deltas: PairDelta[] = [];
  private inflight: Promise<unknown>[] = [];
  /** Samples handed to the stream. */
  samplesEmitted = 0;
  /** Pair-store updates (interactions with at least one positive signal). */
  storeUpdates = 0;

  constructor(
    private readonly store: PairFeatureStore,
    private readonly stream: SampleStream,
    options: Partial<SamplePipelineOptions> = {},
  ) {
    this.options = {
      joiner: { windowMs: DEFAULT_SERVICE_JOIN_WINDOW_MS, earlyBufferMs: 10_000, ...options.joiner },
      reward: options.reward ?? {},
      batchSize: options.batchSize ?? 256,
      userFeatureDim: options.userFeatureDim ?? 0,
      itemFeatureDim: options.itemFeatureDim ?? 0,
    };
    this.asa = new AsaSampleBuilder(this.options.reward);
    this.batch = this.newBatch();
    this.joiner = new LabelJoiner((rec) => this.onJoined(rec), this.options.joiner);
  }

  private newBatch(): SampleBatch {
    return allocSampleBatch(this.options.batchSize, this.options.userFeatureDim, this.options.itemFeatureDim);
  }

  impression(ev: ImpressionEvent): void {
    this.joiner.impression(ev);
  }

  feedback(ev: FeedbackEvent): void {
    this.joiner.feedback(ev);
  }

  private onJoined(rec: JoinedInteraction): void {
    this.asa.append(rec, this.batch);
    this.samplesEmitted++;
    if (rec.feedbackCount > 0) {
      const delta = new Float32Array(PAIR_COUNT_DIM);
      asaDelta(rec.outcome, 0, delta, 0);
      this.deltas.push({ user: rec.user, author: rec.author, delta });
      this.storeUpdates++;
    }
    if (this.batch.count >= this.batch.capacity) this.publishBatch();
  }

  private publishBatch(): void {
    if (this.batch.count === 0) return;
    const full = this.batch;
    this.batch = this.newBatch();
    this.track(this.stream.publish(full));
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch(() => undefined); // backends never reject by contract; this keeps a bug from becoming an unhandled rejection
    this.inflight.push(guarded);
    void guarded.then(() => {
      this.inflight = this.inflight.filter((x) => x !== guarded);
    });
  }

  /** Advances the joiner to `nowMs` and writes pending samples and store updates. */
  tick(nowMs: number): void {
    this.joiner.advanceTo(nowMs);
    this.publishBatch();
    if (this.deltas.length > 0) {
      const d = this.deltas;
      this.deltas = [];
      this.track(this.store.apply(d));
    }
  }

  /** Emits every pending impression now (shutdown, tests) and waits for the writes. */
  async flush(): Promise<void> {
    this.joiner.flush();
    this.tick(this.joiner.watermark);
    await Promise.all(this.inflight);
  }

  /** Waits for writes started so far. */
  async settle(): Promise<void> {
    await Promise.all(this.inflight);
  }
}
