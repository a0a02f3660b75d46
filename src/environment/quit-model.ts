/**
 * The quit model: a per-session satisfaction budget ("temper", after
 * KuaiSim) that decides when a user leaves.
 *
 * The session starts with `budgetBase + budgetPerActivity * activity`. Each request
 * costs `costPerRequest`; the slate refunds part of it, linearly in what the
 * user did with each exposed item (click, watch ratio, like, follow,
 * comment; hate subtracts) minus a fixed penalty per item whose author (or
 * tag) was already exposed earlier in the session. The session ends when
 * the temper is <= 0 or at `maxRequests`.
 *
 * Why linear: KuaiSim squashes the already-sigmoided response probabilities
 * through a second sigmoid before spending temper, which flattens the
 * difference between good and bad slates so session length barely depends
 * on the policy. Here satisfaction enters the budget unsquashed, so a slate
 * that is twice as engaging refunds twice as much.
 *
 * Why a ceiling (`refundCeiling`, docs/design.md §6.2): a linear refund
 * that can exceed the request's cost makes a session endless for a policy
 * engaging enough, and a user's time is not. The refund of a satisfaction
 * s > 0 is c (1 - exp(-s / c)) with c = refundCeiling * costPerRequest:
 * slope 1 at s = 0, so a weak slate refunds what it did, and a strong one
 * approaches c < cost and never pays the request back. Penalties (s <= 0)
 * pass through unchanged.
 */
import type { ResponseBatch, ExposureBatch } from '../world/response.js';

export interface QuitModelOptions {
  /** Budget (requests' worth of temper) at session start of a user with activity 0. Default 2 (the world's). */
  budgetBase: number;
  /** Extra starting budget per unit of activity (activity in [0, 1]). Default 6. */
  budgetPerActivity: number;
  /** Budget every request spends before its refund. Default 1. */
  costPerRequest: number;
  /** Refund per clicked item. Default 0.12. */
  clickWeight: number;
  /** Refund per unit of watch ratio (play / duration, capped at 1) of an item. Default 0.15. */
  watchRatioWeight: number;
  /** Refund per like. Default 0.3. */
  likeWeight: number;
  /** Refund per (first) follow. Default 0.5. */
  followWeight: number;
  /** Refund per comment. Default 0.2. */
  commentWeight: number;
  /** Budget lost per hate. Default 0.5. */
  hateWeight: number;
  /** Budget lost per item whose author was already exposed earlier in the session (boredom). Default 0.05. */
  repeatAuthorPenalty: number;
  /** Budget lost per item whose tag was already exposed earlier in the session. Default 0 (tags repeat constantly; the click model's tag fatigue covers them). */
  repeatTagPenalty: number;
  /** Hard cap of requests per session. Default 60. */
  maxRequests: number;
  /**
   * Largest refund of one request, as a share of its cost (see the file's
   * doc comment); `Infinity` = linear, no ceiling. Default `Infinity`; the
   * world's config sets it (`session.refundCeiling`, 52/60).
   */
  refundCeiling: number;
}

export const DEFAULT_QUIT_OPTIONS: QuitModelOptions = {
  budgetBase: 2,
  budgetPerActivity: 6,
  costPerRequest: 1,
  clickWeight: 0.12,
  watchRatioWeight: 0.15,
  likeWeight: 0.3,
  followWeight: 0.5,
  commentWeight: 0.2,
  hateWeight: 0.5,
  repeatAuthorPenalty: 0.05,
  repeatTagPenalty: 0,
  maxRequests: 60,
  refundCeiling: Infinity,
};

export class QuitModel {
  readonly options: QuitModelOptions;

  constructor(options: Partial<QuitModelOptions> = {}) {
    const o = { ...DEFAULT_QUIT_OPTIONS, ...options };
    for (const [key, value] of Object.entries(o)) {
      if (key === 'refundCeiling') {
        if (!(value > 0)) throw new RangeError(`quit model option refundCeiling must be > 0 (Infinity: no ceiling), got ${value}`);
      } else if (!Number.isFinite(value) || value < 0) throw new RangeError(`quit model option ${key} must be finite and >= 0, got ${value}`);
    }
    if (!(o.budgetBase + o.budgetPerActivity > 0)) throw new RangeError('quit model budgetBase + budgetPerActivity must be > 0');
    if (!Number.isInteger(o.maxRequests) || o.maxRequests < 1) throw new RangeError(`quit model maxRequests must be a positive integer, got ${o.maxRequests}`);
    this.options = o;
  }

  /** Budget at the start of a session of a user with this activity level (0..1). */
  initialTemper(activity: number): number {
    return this.options.budgetBase + this.options.budgetPerActivity * activity;
  }

  /**
   * Satisfaction (refund minus repetition penalty) of the slate occupying
   * exposures [start, start + k) of `batch`/`responses`; `durationMs` is the
   * catalog's item durations.
   */
  slateSatisfaction(batch: ExposureBatch, responses: ResponseBatch, start: number, k: number, durationMs: Float32Array): number {
    const o = this.options;
    let s = 0;
    for (let i = start; i < start + k; i++) {
      const dur = durationMs[batch.item[i]!]!;
      const ratio = dur > 0 ? Math.min(1, responses.playTimeMs[i]! / dur) : 0;
      s +=
        o.clickWeight * responses.click[i]! +
        o.watchRatioWeight * ratio +
        o.likeWeight * responses.like[i]! +
        o.followWeight * responses.follow[i]! +
        o.commentWeight * responses.comment[i]! -
        o.hateWeight * responses.hate[i]! -
        (batch.repeatAuthor[i]! > 0 ? o.repeatAuthorPenalty : 0) -
        (batch.repeatTag[i]! > 0 ? o.repeatTagPenalty : 0);
    }
    return s;
  }

  /** The budget a request with this satisfaction gives back: linear below 0, saturating at refundCeiling * cost above. */
  refund(satisfaction: number): number {
    const o = this.options;
    if (satisfaction <= 0 || o.refundCeiling === Infinity) return satisfaction;
    const c = o.refundCeiling * o.costPerRequest;
    return c * -Math.expm1(-satisfaction / c);
  }

  /** The temper after a request with this satisfaction. */
  spend(temper: number, satisfaction: number): number {
    return temper - this.options.costPerRequest + this.refund(satisfaction);
  }

  /** True when the session ends after `requests` requests with this temper left. */
  quits(temper: number, requests: number): boolean {
    return temper <= 0 || requests >= this.options.maxRequests;
  }
}
