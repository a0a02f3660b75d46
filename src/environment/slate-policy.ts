/**
 * What the environment asks of a recommender: for each pending request (a
 * user, the session summary so far and N candidates with their pair counts
 * f_ua), the indices of the K candidates to expose, in display order.
 *
 * `PendingRequest` is structurally identical to the agents' `RankRequest`
 * (plus `timeMs`), so any `Ranker` can be passed where a {@link Scorer} is
 * expected and wrapped by {@link TopKPolicy} without this layer importing the
 * agents layer.
 */
import type { Rng } from '../numeric/rng.js';
import type { SessionSummary } from './trace.js';

/** A request waiting for a slate. Buffers are owned by the environment's trace: do not mutate. */
export interface PendingRequest {
  /** Dense user id. */
  user: number;
  /** Simulated time of the request (ms). */
  timeMs: number;
  /** Session summary before this request (SESSION_SUMMARY_DIM). */
  summary: SessionSummary;
  /** Candidate item ids offered (N). */
  candidates: Int32Array;
  /** N x PAIR_COUNT_DIM: f_ua of each candidate's author at request time. */
  candidatePairCounts: Float32Array;
}

/** Chooses slates for a batch of requests (all active users of one step). */
export interface SlatePolicy {
  /**
   * Returns, per request, K distinct indices into that request's `candidates`
   * (display order). Must be deterministic given its own seeded state.
   */
  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[];
  /**
   * Optional: per request of the last `chooseSlates` call, 1 for each slate
   * position filled at random (recorded as KuaiRand's `is_rand`).
   */
  lastRandomFlags?(): readonly Uint8Array[];
  /**
   * True only for the very policy that wrote the standard log a learned
   * simulator was fitted on (the world's logging policy; never a stand-in
   * for real logs, never a trained model). The environment then marks its
   * exposures in non-random requests `ExposureBatch.standardLog = 1`: they
   * carry the same private relevance as the logged choices, so the simulator
   * answers them as the standard log answered that policy. Every other
   * policy's exposures are answered as unselected (docs/design.md §10.2).
   */
  readonly wroteTheStandardLog?: boolean;
}

/** True when every position of the slate was random (`lastRandomFlags`): a request of the random log. */
export function isRandomRequest(flags: Uint8Array | undefined): boolean {
  if (!flags || flags.length === 0) return false;
  for (let p = 0; p < flags.length; p++) if (flags[p] !== 1) return false;
  return true;
}

/** Anything that scores candidates, e.g. an agent's `Ranker` (higher = better). */
export interface Scorer {
  score(request: PendingRequest, out: Float32Array): void;
}

/**
 * Writes the indices of the k largest scores of `scores[0..n)` into `out`,
 * best first (ties: lower index first). O(n k), allocation-free; k is small.
 */
export function topKIndices(scores: Float32Array, n: number, k: number, out: Int32Array): void {
  const kk = Math.min(k, n);
  let filled = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    if (filled < kk) {
      let j = filled++;
      while (j > 0 && scores[out[j - 1]!]! < s) {
        out[j] = out[j - 1]!;
        j--;
      }
      out[j] = i;
    } else if (s > scores[out[kk - 1]!]!) {
      let j = kk - 1;
      while (j > 0 && scores[out[j - 1]!]! < s) {
        out[j] = out[j - 1]!;
        j--;
      }
      out[j] = i;
    }
  }
}

/** Ranks by a scorer and exposes the top K (greedy, no exploration). */
export class TopKPolicy implements SlatePolicy {
  private scores = new Float32Array(300);

  constructor(private readonly scorer: Scorer) {}

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    const slates: Int32Array[] = [];
    for (const request of requests) {
      const n = request.candidates.length;
      if (this.scores.length < n) this.scores = new Float32Array(n);
      this.scores.fill(0, 0, n);
      this.scorer.score(request, this.scores);
      const slate = new Int32Array(Math.min(k, n));
      topKIndices(this.scores, n, k, slate);
      slates.push(slate);
    }
    return slates;
  }
}

/** Exposes K candidates drawn uniformly without replacement. */
export class RandomPolicy implements SlatePolicy {
  constructor(private readonly rng: Rng) {}

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    return requests.map((request) => sampleWithoutReplacement(this.rng, request.candidates.length, k));
  }
}

/**
 * k distinct integers of [0, n) in random order. For k much smaller than n
 * (slates from candidate sets) draws with rejection of repeats, which needs
 * no n-sized scratch array; otherwise a partial Fisher-Yates shuffle.
 */
export function sampleWithoutReplacement(rng: Rng, n: number, k: number): Int32Array {
  const kk = Math.min(k, n);
  if (kk * 4 <= n) {
    const out = new Int32Array(kk);
    for (let i = 0; i < kk; i++) {
      let x: number;
      let repeat: boolean;
      do {
        x = rng.int(n);
        repeat = false;
        for (let j = 0; j < i; j++)
          if (out[j] === x) {
            repeat = true;
            break;
          }
      } while (repeat);
      out[i] = x;
    }
    return out;
  }
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < kk; i++) {
    const j = i + rng.int(n - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, kk);
}
