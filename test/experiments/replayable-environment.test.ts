import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/numeric/rng.js';
import { Environment } from '../../src/environment/environment.js';
import { RandomPolicy } from '../../src/environment/slate-policy.js';
import type { Catalog } from '../../src/world/catalog.js';
import type { ExposureBatch, ResponseBatch, ResponseModel } from '../../src/world/response.js';
import { ReplayableEnvironment, ReplayMismatchError } from '../../src/experiments/replayable-environment.js';

function tinyCatalog(): Catalog {
  const numUsers = 12,
    numAuthors = 5,
    numItems = 20;
  const itemAuthor = Int32Array.from({ length: numItems }, (_, i) => i % numAuthors);
  const offsets = new Int32Array(numAuthors + 1);
  const ids: number[] = [];
  for (let a = 0; a < numAuthors; a++) {
    for (let i = 0; i < numItems; i++) if (itemAuthor[i] === a) ids.push(i);
    offsets[a + 1] = ids.length;
  }
  return {
    numUsers,
    numAuthors,
    numItems,
    numTags: 4,
    userFeatureFields: [],
    userFeatures: new Int32Array(0),
    userActivity: new Float32Array(numUsers).fill(0.7),
    userRawId: Int32Array.from({ length: numUsers }, (_, i) => i),
    itemAuthor,
    itemTag: Int32Array.from({ length: numItems }, (_, i) => i % 4),
    itemDurationMs: new Float32Array(numItems).fill(30_000),
    itemFeatureFields: [],
    itemFeatures: new Int32Array(0),
    itemRawId: Int32Array.from({ length: numItems }, (_, i) => i),
    authorIsLive: new Uint8Array(numAuthors),
    authorPopularity: new Float32Array(numAuthors).fill(1 / numAuthors),
    authorItemOffsets: offsets,
    authorItemIds: Int32Array.from(ids),
    authorRawId: Int32Array.from({ length: numAuthors }, (_, i) => i),
  };
}

/** Clicks items with a per-item rate; familiar pairs (clicked before) click more. */
const responder: ResponseModel = {
  respond(batch: ExposureBatch, rng: Rng, out: ResponseBatch): void {
    for (let e = 0; e < batch.count; e++) {
      const p = 0.2 + 0.03 * (batch.item[e]! % 10) + Math.min(0.3, 0.05 * batch.pairCounts[e * 7]!);
      const click = rng.uniform() < p ? 1 : 0;
      out.click[e] = click;
      out.longView[e] = 0;
      out.like[e] = 0;
      out.follow[e] = click && rng.uniform() < 0.1 ? 1 : 0;
      out.comment[e] = 0;
      out.forward[e] = 0;
      out.hate[e] = 0;
      out.giftAmount[e] = 0;
      out.playTimeMs[e] = click ? 20_000 : 1000;
    }
  },
};

const make = (seed = 3) =>
  new ReplayableEnvironment(new Environment(tinyCatalog(), responder, { seed, numCandidates: 10, slateSize: 3 }), (rng) => new RandomPolicy(rng));

function snapshot(w: ReplayableEnvironment): number[] {
  const out: number[] = [];
  for (let u = 0; u < 12; u++) {
    out.push(w.env.nextSessionDay(u), w.env.sessionsOf(u));
    for (let a = 0; a < 5; a++) out.push(...w.env.pairCounts(u, a));
  }
  return out;
}

test('replaying the saved history rebuilds the environment state exactly, and the futures agree', () => {
  const a = make();
  const policyRng = new Rng(7);
  a.runSessions([0, 3, 5], new RandomPolicy(policyRng));
  a.runSessions([1, 2, 3, 4, 9], new RandomPolicy(policyRng));
  a.runSessions([0, 11], new RandomPolicy(policyRng));
  const state = a.saveState();
  const b = make();
  b.loadState(state);
  assert.deepEqual(snapshot(b), snapshot(a));
  assert.ok(a.env.pairStore.size > 0, 'the history touched pairs');
  // Same policy draws from here on -> identical sessions, and the log keeps growing from the old one.
  const ta = a.runSessions([2, 6, 7], new RandomPolicy(new Rng(8)));
  const tb = b.runSessions([2, 6, 7], new RandomPolicy(new Rng(8)));
  assert.deepEqual(
    tb.map((t) => t.requests.map((r) => [Array.from(r.candidates), Array.from(r.slate), Array.from(r.responses.click)])),
    ta.map((t) => t.requests.map((r) => [Array.from(r.candidates), Array.from(r.slate), Array.from(r.responses.click)])),
  );
  assert.deepEqual(b.saveState(), a.saveState());
});

test('replaying into a different environment fails clearly; loadState needs a fresh environment', () => {
  const a = make(3);
  a.runSessions([0, 1, 2], new RandomPolicy(new Rng(1)));
  const other = make(4);
  assert.throws(() => other.loadState(a.saveState()), ReplayMismatchError);
  const used = make(3);
  used.runSessions([5], new RandomPolicy(new Rng(1)));
  assert.throws(() => used.loadState(a.saveState()), /fresh environment/);
  assert.throws(() => make().loadState(new Uint8Array([1, 2, 3, 4])), /replay-log marker/);
});

/** A policy that wrote the standard log: random slates, and a share of whole random requests (all flags 1). */
class LogWritingPolicy extends RandomPolicy {
  readonly wroteTheStandardLog = true;
  private flags: Uint8Array[] = [];
  constructor(private readonly flagRng: Rng) {
    super(flagRng.fork('slates'));
  }
  override chooseSlates(requests: Parameters<RandomPolicy['chooseSlates']>[0], k: number): Int32Array[] {
    const slates = super.chooseSlates(requests, k);
    this.flags = slates.map(() => new Uint8Array(k).fill(this.flagRng.uniform() < 0.4 ? 1 : 0));
    return slates;
  }
  lastRandomFlags(): readonly Uint8Array[] {
    return this.flags;
  }
}

test("the standard log's policy: its non-random requests reach the responder marked, others' never; replay marks the same exposures", () => {
  // Clicks only marked exposures, so the marks decide the pair counts, and a replay without them would diverge.
  const seen: Array<{ marks: number[] }> = [];
  const marking: ResponseModel = {
    respond(batch, rng, out) {
      responder.respond(batch, rng, out);
      const marks = Array.from(batch.standardLog!.subarray(0, batch.count));
      seen.push({ marks });
      for (let e = 0; e < batch.count; e++) {
        out.click[e] = marks[e]!;
        out.follow[e] = 0;
      }
    },
  };
  const build = () =>
    new ReplayableEnvironment(new Environment(tinyCatalog(), marking, { seed: 5, numCandidates: 10, slateSize: 3 }), (rng) => new LogWritingPolicy(rng));
  const a = build();
  const traces = a.runSessions([0, 1, 2, 3], a.loggingPolicy(new Rng(9)));
  // Marked exactly where the request was not a random one (every position of a request alike).
  let marked = 0,
    random = 0;
  for (const t of traces)
    for (const r of t.requests) {
      const isRandom = r.isRand !== undefined && r.isRand.every((f) => f === 1);
      for (let p = 0; p < r.slate.length; p++) assert.equal(r.responses.click[p], isRandom ? 0 : 1);
      if (isRandom) random++;
      else marked++;
    }
  assert.ok(marked > 0 && random > 0, `${marked} marked and ${random} random requests`);
  // Any other policy: never marked.
  seen.length = 0;
  a.runSessions([4, 5], new RandomPolicy(new Rng(2)));
  assert.ok(seen.length > 0 && seen.every((s) => s.marks.every((m) => m === 0)));
  // The replay gives the responder the same marks, so the rebuilt state is the same.
  const b = build();
  b.loadState(a.saveState());
  assert.deepEqual(snapshot(b), snapshot(a));
  assert.ok(a.env.pairStore.size > 0);
});
