/**
 * Adapts any `Ranker` to the environment's `SlatePolicy`: scores each pending
 * request's N candidates with the ranker, then picks K of them with the
 * current exploration setting (greedy at evaluation; epsilon-greedy or
 * softmax while collecting training sessions). One score buffer and one
 * selector are reused across requests; the slate arrays are returned to the
 * environment, which keeps them in its traces.
 */
import type { Rng } from '../numeric/rng.js';
import type { PendingRequest, SlatePolicy } from '../simulator/slate-policy.js';
import { GREEDY, SlateSelector, type ExplorationSetting } from './exploration.js';
import type { Ranker } from './ranker.js';

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
  constructor(readonly ranker: Ranker, private readonly rng: Rng, setting: ExplorationSetting = GREEDY) {
    this.setting = setting;
  }

  chooseSlates(requests: readonly PendingRequest[], k: number): Int32Array[] {
    const slates: Int32Array[] = new Array(requests.length);
    const flags: Uint8Array[] = new Array(requests.length);
    for (let r = 0; r < requests.length; r++) {
      const request = requests[r]!;
      const n = request.candidates.length;
      if (this.scores.length < n) this.scores = new Float32Array(n);
      const scores = n === this.scores.length ? this.scores : this.scores.subarray(0, n);
      scores.fill(0);
      this.ranker.score(request, scores);
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
    this.requestsScored += requests.length;
    this.flags = flags;
    return slates;
  }

  lastRandomFlags(): readonly Uint8Array[] {
    return this.flags;
  }
}
