/**
 * The one interface every model (RLIV-UA and its variants, RankingModel,
 * DQN, CQL, TD3, RLUR) implements, so environments, experiments, the shared
 * test harness and the ranking service treat them alike.
 */
import type { Catalog } from '../world/catalog.js';
import type { SessionTrace, SessionSummary } from '../simulator/trace.js';

/** One request to score. */
export interface RankRequest {
  /** Dense user id (hashed by the model; unseen ids are fine). */
  user: number;
  /** Candidate item ids, N <= 300. */
  candidates: Int32Array;
  /** N x PAIR_COUNT_DIM: f_ua of each candidate's author (zeros when unknown). */
  candidatePairCounts: Float32Array;
  /** Session summary before this request (SESSION_SUMMARY_DIM). */
  summary: SessionSummary;
}

/** Figures reported by one call to `train`. */
export interface TrainStats {
  /** Gradient steps taken. */
  steps: number;
  /** Mean loss per named component (e.g. per tower), over the steps. */
  losses: Record<string, number>;
}

export interface Ranker {
  /** Model name as used in reports, e.g. "RLIV-UA(w/o SL)" or "DQN". */
  readonly name: string;
  /**
   * True for offline agents (CQL, and the RankingModel's pre-training): the
   * training loop feeds them sessions of the behaviour (logging) policy only,
   * never sessions collected with their own scores.
   */
  readonly learnsOffline?: boolean;
  /** Writes one score per candidate into `out` (higher = rank first). Deterministic: no exploration. */
  score(request: RankRequest, out: Float32Array): void;
  /** Feeds completed sessions collected by any policy (the agent builds its samples). */
  observe(sessions: readonly SessionTrace[]): void;
  /** Runs up to `steps` gradient steps on what was observed. */
  train(steps: number): TrainStats;
  /** Serializes config + parameters + optimizer state (+ RNG, replay position) to bytes. */
  save(): Uint8Array;
  /** Restores what `save` produced; throws a clear error on corrupt or mismatched bytes and changes nothing then. */
  load(bytes: Uint8Array): void;
}

/** Options shared by every agent's constructor. */
export interface RankerContext {
  /** The static world the agent ranks in (features of users, items, authors). */
  catalog: Catalog;
  /** Seed of every random choice of the agent. */
  seed: number;
}
