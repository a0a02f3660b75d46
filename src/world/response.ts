/**
 * The contract between an environment and whatever answers exposures: the
 * ground-truth world (`--env world`) or the learned simulator
 * (`--env simulator`). Batched struct-of-arrays for speed.
 */
import type { Rng } from '../numeric/rng.js';

/** A batch of exposures to answer. Buffers may be larger than `count`. */
export interface ExposureBatch {
  count: number;
  /** Dense user id per exposure. */
  user: Int32Array;
  /** Dense item id per exposure. */
  item: Int32Array;
  /** count x PAIR_COUNT_DIM: the pair's counts f_ua (user, item's author) before this exposure. */
  pairCounts: Float32Array;
  /** Times the item's author was already exposed earlier in this session. */
  repeatAuthor: Float32Array;
  /** Times the item's tag was already exposed earlier in this session. */
  repeatTag: Float32Array;
  /** Position of the exposure in its slate (0..K-1). */
  position: Int32Array;
  /**
   * 1 where the exposure was chosen by the policy that wrote the standard
   * log (a non-random request of the policy whose
   * `SlatePolicy.wroteTheStandardLog` is true, src/environment/slate-policy.ts), 0 elsewhere; absent = all 0. The ground-truth world ignores it;
   * a learned simulator with the log-source input answers a 1 as the standard
   * log answered that policy's choices (docs/design.md §10.2).
   */
  standardLog?: Uint8Array;
  /**
   * Logged batches only (fitting a simulator on logs): how many of the
   * {@link repeatAuthor} (resp. {@link repeatTag}) earlier exposures in the
   * session were standard-log ones, chosen by the logging policy. Absent or
   * 0 in simulation. The ground-truth world ignores them; the learned
   * simulator reads fatigue only where no earlier exposure was chosen
   * (docs/design.md §10.2).
   */
  chosenRepeatAuthor?: Float32Array;
  chosenRepeatTag?: Float32Array;
}

/** Responses to a batch, one entry per exposure. */
export interface ResponseBatch {
  click: Uint8Array;
  longView: Uint8Array;
  like: Uint8Array;
  /** 1 when this exposure made the user follow the author (first follow only). */
  follow: Uint8Array;
  comment: Uint8Array;
  forward: Uint8Array;
  hate: Uint8Array;
  /** Play time in milliseconds (0 when not played). */
  playTimeMs: Float32Array;
  /** Gift amount (0 = no gift). Only live-streamer authors receive gifts. */
  giftAmount: Float32Array;
}

/**
 * Which f_ua a response model reads for an exposure:
 * - `live`: the pair's counts just before the request (what the ground-truth
 *   world reads: familiarity moves within the session);
 * - `session-start`: the pair's counts at the start of the session (history
 *   of earlier sessions only). The learned simulator is fitted and run with
 *   this view, so a policy's own simulated clicks in a session never feed
 *   back into that session's click predictions (docs/design.md, the offline
 *   instrument); repetition within the session is carried by the
 *   repeat-author / repeat-tag context instead.
 */
export type PairCountView = 'live' | 'session-start';

export interface ResponseModel {
  /** Samples responses for `batch` into `out` (first batch.count entries), drawing only from `rng`. */
  respond(batch: ExposureBatch, rng: Rng, out: ResponseBatch): void;
  /** Which f_ua `batch.pairCounts` must hold (see {@link PairCountView}); the environment provides it. Default `live`. */
  readonly pairCountView?: PairCountView;
}

/** Allocates a ResponseBatch of the given capacity. */
export function allocResponseBatch(capacity: number): ResponseBatch {
  return {
    click: new Uint8Array(capacity),
    longView: new Uint8Array(capacity),
    like: new Uint8Array(capacity),
    follow: new Uint8Array(capacity),
    comment: new Uint8Array(capacity),
    forward: new Uint8Array(capacity),
    hate: new Uint8Array(capacity),
    playTimeMs: new Float32Array(capacity),
    giftAmount: new Float32Array(capacity),
  };
}
