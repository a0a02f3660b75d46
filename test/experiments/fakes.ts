/**
 * Small deterministic stand-ins for tests of the trainer: an environment
 * whose users click items by a fixed per-item quality and whose sessions end
 * when a satisfaction budget runs out, and a learning ranker that estimates
 * each item's click rate by SGD on a logistic model.
 */
import type { Ranker, RankRequest, TrainStats } from '../../src/agents/ranker.js';
import { Rng } from '../../src/numeric/rng.js';
import type { PendingRequest, SlatePolicy } from '../../src/environment/slate-policy.js';
import { RandomPolicy } from '../../src/environment/slate-policy.js';
import { SESSION_SUMMARY_DIM, type SessionTrace } from '../../src/environment/trace.js';
import { allocResponseBatch } from '../../src/world/response.js';
import type { TrainingEnvironment } from '../../src/experiments/training-loop.js';
import { PAIR_COUNT_DIM } from '../../src/data/interaction-kinds.js';

export const FAKE_ITEMS = 40;

export class FakeEnv implements TrainingEnvironment {
  readonly numUsers: number;
  /** Click probability of each item. */
  readonly quality: Float64Array;
  /** Sessions each user has had (evolving state that must survive a resume). */
  sessionsOfUser: Int32Array;
  /** Every user list passed to runSessions (for fairness checks). */
  readonly calls: number[][] = [];
  private rng: Rng;

  constructor(numUsers = 20, seed = 5) {
    this.numUsers = numUsers;
    const r = new Rng(seed);
    this.quality = Float64Array.from({ length: FAKE_ITEMS }, () => 0.05 + 0.9 * r.uniform() ** 2);
    this.sessionsOfUser = new Int32Array(numUsers);
    this.rng = new Rng(seed + 1);
  }

  runSessions(users: readonly number[], policy: SlatePolicy): SessionTrace[] {
    this.calls.push(users.slice());
    const rng = this.rng;
    const out: SessionTrace[] = [];
    for (const user of users) {
      const trace: SessionTrace = { user, sessionIndex: this.sessionsOfUser[user]!++, requests: [], returnGapDays: 1 };
      let budget = 3;
      while (budget > 0 && trace.requests.length < 30) {
        const candidates = new Int32Array(10);
        for (let i = 0; i < 10; i++) candidates[i] = rng.int(FAKE_ITEMS);
        const request: PendingRequest = {
          user,
          timeMs: trace.requests.length * 1000,
          summary: new Float32Array(SESSION_SUMMARY_DIM),
          candidates,
          candidatePairCounts: new Float32Array(10 * PAIR_COUNT_DIM),
        };
        const slate = policy.chooseSlates([request], 3)[0]!;
        const responses = allocResponseBatch(3);
        let clicks = 0;
        for (let p = 0; p < slate.length; p++) {
          const click = rng.uniform() < this.quality[candidates[slate[p]!]!]! ? 1 : 0;
          responses.click[p] = click;
          responses.playTimeMs[p] = click * 10_000;
          clicks += click;
        }
        trace.requests.push({ ...request, slate, responses });
        budget += 0.6 * clicks - 1;
      }
      out.push(trace);
    }
    return out;
  }

  loggingPolicy(rng: Rng): SlatePolicy {
    return new RandomPolicy(rng);
  }

  saveState(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ sessions: Array.from(this.sessionsOfUser), rng: this.rng.getState() }));
  }

  loadState(bytes: Uint8Array): void {
    const s = JSON.parse(new TextDecoder().decode(bytes));
    if (s.sessions.length !== this.numUsers) throw new Error('FakeEnv state has the wrong number of users');
    this.sessionsOfUser = Int32Array.from(s.sessions);
    this.rng.setState(s.rng);
  }
}

/** Logistic click model per item, trained by SGD on minibatches drawn by its own seeded Rng. */
export class FakeRanker implements Ranker {
  readonly name: string;
  readonly towerLiv = null;
  readonly learnsOffline: boolean;
  logits = new Float32Array(FAKE_ITEMS);
  private items: number[] = [];
  private labels: number[] = [];
  private rng: Rng;
  /** train() calls so far; `nanAtTrainCall` makes that call report a NaN loss. */
  trainCalls = 0;
  scoreCalls = 0;
  observed: SessionTrace[] = [];

  constructor(seed: number, options: { name?: string; offline?: boolean; nanAtTrainCall?: number; throwAtTrainCall?: number } = {}) {
    this.name = options.name ?? 'Fake';
    this.learnsOffline = options.offline ?? false;
    this.rng = new Rng(seed);
    this.nanAtTrainCall = options.nanAtTrainCall ?? -1;
    this.throwAtTrainCall = options.throwAtTrainCall ?? -1;
  }
  private readonly nanAtTrainCall: number;
  private readonly throwAtTrainCall: number;

  score(request: RankRequest, out: Float32Array): void {
    this.scoreCalls++;
    for (let i = 0; i < request.candidates.length; i++) out[i] = this.logits[request.candidates[i]!]!;
  }

  observe(sessions: readonly SessionTrace[]): void {
    this.observed.push(...sessions);
    for (const s of sessions) {
      for (const r of s.requests) {
        for (let p = 0; p < r.slate.length; p++) {
          this.items.push(r.candidates[r.slate[p]!]!);
          this.labels.push(r.responses.click[p]!);
        }
      }
    }
  }

  train(steps: number): TrainStats {
    this.trainCalls++;
    if (this.trainCalls === this.throwAtTrainCall) {
      // As the real agents do: a typed error before the optimizer step.
      const err = new Error('Fake: loss "click" is Infinity at training step 7');
      err.name = 'NonFiniteLossError';
      throw err;
    }
    let loss = 0;
    for (let s = 0; s < steps && this.items.length > 0; s++) {
      let batchLoss = 0;
      for (let b = 0; b < 8; b++) {
        const j = this.rng.int(this.items.length);
        const item = this.items[j]!;
        const p = 1 / (1 + Math.exp(-this.logits[item]!));
        const y = this.labels[j]!;
        batchLoss -= y * Math.log(p + 1e-9) + (1 - y) * Math.log(1 - p + 1e-9);
        this.logits[item]! -= 0.5 * (p - y);
      }
      loss += batchLoss / 8;
    }
    if (this.trainCalls === this.nanAtTrainCall) {
      this.logits.fill(NaN);
      return { steps, losses: { click: NaN } };
    }
    return { steps, losses: { click: steps > 0 ? loss / steps : 0 } };
  }

  save(): Uint8Array {
    const json = JSON.stringify({
      logits: Array.from(this.logits),
      items: this.items,
      labels: this.labels,
      rng: this.rng.getState(),
      trainCalls: this.trainCalls,
    });
    return new TextEncoder().encode(json);
  }

  load(bytes: Uint8Array): void {
    const s = JSON.parse(new TextDecoder().decode(bytes));
    this.logits = Float32Array.from(s.logits);
    this.items = s.items;
    this.labels = s.labels;
    this.rng.setState(s.rng);
    this.trainCalls = s.trainCalls;
  }
}

/** Session length, clicks per exposure: the metrics the fake environment supports. */
export function fakeMetrics(sessions: readonly SessionTrace[]): Record<string, number> {
  let requests = 0;
  let exposures = 0;
  let clicks = 0;
  for (const s of sessions) {
    requests += s.requests.length;
    for (const r of s.requests) {
      exposures += r.slate.length;
      for (let p = 0; p < r.slate.length; p++) clicks += r.responses.click[p]!;
    }
  }
  return { sessionLength: requests / sessions.length, ctr: clicks / exposures };
}
