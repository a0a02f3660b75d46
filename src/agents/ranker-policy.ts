/**
 * Adapts any `Ranker` to the environment's `SlatePolicy`: scores each pending
 * request's N candidates with the ranker, then picks K of them with the
 * current exploration setting (greedy at evaluation; epsilon-greedy or
 * softmax while collecting training sessions). A ranker with
 * `scoreRequests` scores the pending requests together, in batches of up to
 * {@link MAX_SCORE_ROWS} candidates (the environment steps every live
 * session at once, so one batch is a request of each session). One score
 * buffer and one selector are reused across requests; the slate arrays are
 * returned to the environment, which keeps them in its traces.
 */
import type { Rng } from '../numeric/rng.js';
import type { PendingRequest, SlatePolicy } from '../environment/slate-policy.js';
import { GREEDY, SlateSelector, type ExplorationSetting } from './exploration.js';
import type { Ranker } from './ranker.js';

/** Most candidates one `scoreRequests` call scores (bounds the rankers' batch buffers). */
export const MAX_SCORE_ROWS = 4096;

export class RankerPolicy implements SlatePolicy {
  /** Exploration in force; the training loop changes it per epoch and sets GREEDY for evaluation. */
  setting: ExplorationSetting;
  private scores = new Float32Array(300);
  private readonly selector = new SlateSelector();
  private flags: Uint8Array[] = [];
  /** Requests scored so far (for throughput figures). */
  requestsScored = 0;

  /**
   * @param ranker the agent whose scores rank the candidates (its `score` is deterministic).
   * @param rng drawn from only when the setting explores.
   */
  constructor(
    readonly ranker: Ranker,
    private readonly rng: Rng,
    setting: ExplorationSetting = GREEDY,
  ) {
    this.setting = setting;
  }

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    const slates: Int32Array[] = new Array(requests.length);
    const flags: Uint8Array[] = new Array(requests.length);
    const batched = this.ranker.scoreRequests !== undefined;
    let r = 0;
    while (r < requests.length) {
      // The next batch: requests r .. r1 (at least one; with scoreRequests, up to MAX_SCORE_ROWS candidates).
      let r1 = r + 1;
      let rows = requests[r]!.candidates.length;
      if (batched) {
        while (r1 < requests.length && rows + requests[r1]!.candidates.length <= MAX_SCORE_ROWS) rows += requests[r1++]!.candidates.length;
      }
      if (this.scores.length < rows) this.scores = new Float32Array(rows);
      this.scores.fill(0, 0, rows);
      if (batched) this.ranker.scoreRequests!(r1 === r + 1 ? [requests[r]!] : requests.slice(r, r1), this.scores);
      else this.ranker.score(requests[r]!, rows === this.scores.length ? this.scores : this.scores.subarray(0, rows));
      let offset = 0;
      for (; r < r1; r++) {
        const request = requests[r]!;
        const n = request.candidates.length;
        const scores = this.scores.subarray(offset, offset + n);
        offset += n;
        for (let i = 0; i < n; i++) {
          if (Number.isNaN(scores[i]!)) {
            throw new RangeError(`${this.ranker.name} scored candidate ${i} of user ${request.user}'s request as NaN; its parameters have probably diverged`);
          }
        }
        const kk = Math.min(k, n);
        const slate = new Int32Array(kk);
        const flag = new Uint8Array(kk);
        this.selector.select(scores, n, kk, this.setting, this.rng, slate, flag);
        slates[r] = slate;
        flags[r] = flag;
      }
    }
    this.requestsScored += requests.length;
    this.flags = flags;
    return slates;
  }

  lastRandomFlags(): readonly Uint8Array[] {
    return this.flags;
  }
}
