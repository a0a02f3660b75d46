/**
 * What an environment records and hands to agents: one record per request
 * (the candidates offered, the slate chosen, the responses), grouped into
 * sessions. Agents derive their own training samples from traces (RLIV-UA
 * through the label joiner and ASA; DQN/CQL/TD3/RLUR as request-level
 * transitions; the RankingModel as supervised examples).
 */
import type { ResponseBatch } from '../world/response.js';

/** Dimension of the session-summary vector given to request-level agents. */
export const SESSION_SUMMARY_DIM = 8;

/**
 * Summary of the session so far, as seen before a request:
 * [requestIndex/10, clicks/exposures so far, mean watch ratio so far,
 *  likes so far/10, follows so far, remaining budget (0..1, the quit model's
 *  temper as the agent may observe it: NOT given; always 0), log1p(watch s)/5,
 *  days since last session/7].
 */
export type SessionSummary = Float32Array;

/** One request of a session. */
export interface RequestRecord {
  /** Dense user id. */
  user: number;
  /** Simulated time of the request in ms (KuaiRand `time_ms` semantics). */
  timeMs: number;
  /** Session summary before this request (SESSION_SUMMARY_DIM). */
  summary: SessionSummary;
  /** Candidate item ids offered (N). */
  candidates: Int32Array;
  /** N x PAIR_COUNT_DIM: f_ua of each candidate's author at request time. */
  candidatePairCounts: Float32Array;
  /** Indices into `candidates` of the exposed slate, in display order (K). */
  slate: Int32Array;
  /** Responses of the K exposed items (arrays of length >= K, index = slate position). */
  responses: ResponseBatch;
  /** Optional: 1 per slate position the behaviour policy filled at random (KuaiRand `is_rand`); absent = all 0. */
  isRand?: Uint8Array;
}

/** A whole session of one user, in order. */
export interface SessionTrace {
  user: number;
  /** Index of the session for this user (0, 1, ...). */
  sessionIndex: number;
  requests: RequestRecord[];
  /** Days until the user's next session (drawn by the return model); Infinity if beyond the horizon. */
  returnGapDays: number;
  /** Optional: calendar day of the session (0 = the environment's first day). */
  day?: number;
  /** Optional: simulated time (ms) when the user left: last request's time + its slate's play and browse time. */
  endTimeMs?: number;
  /** Optional: the quit model's mean satisfaction per request of this session (what the return model saw). */
  satisfaction?: number;
}
