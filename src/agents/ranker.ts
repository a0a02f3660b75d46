/**
 * The one interface every model (RLIV-UA and its variants, RankingModel,
 * DQN, CQL, TD3, RLUR) implements, so environments, experiments, the shared
 * test harness and the ranking service treat them alike.
 */
import type { Catalog } from '../world/catalog.js';
import type { Tower } from '../data/interaction-kinds.js';
import type { SessionTrace, SessionSummary } from '../environment/trace.js';

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

/**
 * The per-tower lifelong interaction value of a model with LIV towers
 * (RLIV-UA and its variants). The ranking score such a model gives is
 * {@link combineTowerLivs} (src/agents/tower-liv.ts) of these LIVs with its
 * `scoreWeights`; the service and the A/B test call the same function with
 * weights of their own.
 */
export interface TowerLiv {
  /** Towers the model trains, in TOWERS order; the others read NaN in `livPerTower`. */
  readonly trainedTowers: readonly Tower[];
  /** The tower weights `score` ranks by (only trained towers, at least one nonzero). */
  readonly scoreWeights: Readonly<Partial<Record<Tower, number>>>;
  /** Changes the tower weights `score` ranks by; validated (an untrained tower or all zeros throws, nothing changes). */
  setScoreWeights(weights: Partial<Record<Tower, number>>): void;
  /**
   * The LIV of every tower for the request's candidates: out[i * TOWER_COUNT + t],
   * t in TOWERS order (click, watchTime, follow, gift); NaN for a tower the
   * model does not train. `out` holds N * TOWER_COUNT floats.
   */
  livPerTower(request: RankRequest, out: Float32Array): void;
}

export interface Ranker {
  /** Model name as used in reports, e.g. "RLIV-UA(w/o SL)" or "DQN". */
  readonly name: string;
  /** The model's per-tower LIV; null for models without LIV towers (the baselines). */
  readonly towerLiv: TowerLiv | null;
  /**
   * True for offline agents (CQL, and the RankingModel's pre-training): the
   * training loop feeds them sessions of the behaviour (logging) policy only,
   * never sessions collected with their own scores.
   */
  readonly learnsOffline?: boolean;
  /** Writes one score per candidate into `out` (higher = rank first). Deterministic: no exploration. */
  score(request: RankRequest, out: Float32Array): void;
  /**
   * Optional batched {@link score}: scores several requests in one pass (one
   * forward over all their candidates: one gemm per layer instead of one per
   * request and layer), request r's scores at out[start_r ..], start_r the
   * sum of the earlier requests' candidate counts. Each row's score is the
   * one `score` gives it on a gemm whose rows do not depend on the matrix's
   * other rows (the TypeScript backend: bit for bit); OpenBLAS's sgemm may
   * round a row's last bit differently by the matrix's shape.
   */
  scoreRequests?(requests: readonly RankRequest[], out: Float32Array): void;
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
