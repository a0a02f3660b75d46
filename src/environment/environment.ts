/**
 * The offline environment: users browse a feed, request after request, and
 * come back days later. Responses come from any {@link ResponseModel} — the
 * ground-truth world or the learned simulator — so the same environment runs
 * `--env world` and `--env simulator`.
 *
 * One step serves every active user at once: the candidate generator offers
 * N items per user, the policy picks K for all of them in one call, and all
 * K x users exposures go to the response model as ONE ExposureBatch. The
 * quit model (satisfaction budget) ends sessions; the return model draws the
 * gap in days to each user's next session. The environment owns the
 * lifelong pair-count store f_ua, so follows, gifts and watch time
 * accumulate across sessions and weeks.
 *
 * Time: every user has their own clock (the day of their next session).
 * `runSessions` runs each given user's next session at that day;
 * `runDays` walks a shared calendar and runs whoever is due each day.
 * Deterministic: same seed, same policy (same own seed) -> same traces.
 */
import { PAIR_COUNT_DIM as PAIR_COUNT_DIM_ } from '../data/interaction-kinds.js';
import { Rng } from '../numeric/rng.js';
import type { Catalog } from '../world/catalog.js';
import { allocResponseBatch, type ExposureBatch, type ResponseBatch, type ResponseModel } from '../world/response.js';
import { IdCounter } from './id-counter.js';
import { CandidateGenerator, DEFAULT_CANDIDATE_MIX, MAX_CANDIDATES, type CandidateMix } from './candidate-generator.js';
import { recordResponse, type EnvironmentHistory } from './environment-history.js';
import { PairCountStore } from './pair-count-store.js';
import { QuitModel, type QuitModelOptions } from './quit-model.js';
import { ReturnModel, type ReturnModelOptions } from './return-model.js';
import { isRandomRequest, type SlatePolicy } from './slate-policy.js';
import { SESSION_SUMMARY_DIM, type RequestRecord, type SessionTrace } from './trace.js';

// Imported constants copied to module locals: hot loops read them as plain constants.
const PAIR_COUNT_DIM = PAIR_COUNT_DIM_;

export const DAY_MS = 86_400_000;
/** Placeholders of a request record before its slate is chosen and answered. */
const NO_SLATE = new Int32Array(0);
const NO_RESPONSES: ResponseBatch = allocResponseBatch(0);
/** 2022-04-08 00:00 Beijing time, the first day of KuaiRand-Pure's logs. */
export const KUAIRAND_START_MS = Date.UTC(2022, 3, 7, 16, 0, 0);

export interface EnvironmentOptions {
  /** Seed of every random choice of the environment (candidates, responses, clocks, returns). Default 1. */
  seed: number;
  /** Candidates offered per request (N), 1..300. Default 100. */
  numCandidates: number;
  /** Items exposed per request (K). Default 6. */
  slateSize: number;
  /** Shares of the candidate sources. Default popular 0.5, recent-author 0.3, random 0.2. */
  candidateMix: Partial<CandidateMix>;
  /** Recent authors remembered per user for the recent-author source. Default 32. */
  recentAuthorsPerUser: number;
  /** Quit-model (temper) parameters; see quit-model.ts for defaults. */
  quit: Partial<QuitModelOptions>;
  /** Return-model parameters; see return-model.ts for defaults. */
  returnModel: Partial<ReturnModelOptions>;
  /** Simulated time (ms) of day 0, 00:00. Default KuaiRand-Pure's first day (2022-04-08, UTC+8). */
  startTimeMs: number;
  /** Time a user spends on an exposed item besides playing it (scrolling), ms. Default 1500. */
  browseMsPerItem: number;
  /** Sessions start uniformly between these hours of the day. Default [7, 23]. */
  sessionHours: [number, number];
  /**
   * The logged history to start after (environment-history.ts): the pairs'
   * counts, recent authors and last session days it records, and a calendar
   * continuing after its last day. Default none: every user starts new.
   */
  history?: EnvironmentHistory;
  /**
   * With `history`: copy only these users' history (every other user starts
   * new). For an environment that will run only them, such as the probe
   * evaluation of a panel: a few users' pairs instead of the whole store.
   * Default: every user's.
   */
  historyUsers?: ArrayLike<number>;
}

/** What `runDays` reports. */
export interface DaysSummary {
  /** First and one-past-last calendar day simulated. */
  fromDay: number;
  toDay: number;
  /** Sessions run. */
  sessions: number;
  /** Users with a session, per day. */
  activeUsersPerDay: number[];
}

/** Per-user state of a running session. */
interface LiveSession {
  user: number;
  trace: SessionTrace;
  temper: number;
  timeMs: number;
  day: number;
  exposures: number;
  clicks: number;
  watchRatioSum: number;
  likes: number;
  follows: number;
  watchSec: number;
  satisfactionSum: number;
  daysSinceLast: number;
  /** Exposures so far of each author and tag in this session (the quit model's repetition inputs). */
  authorSeen: IdCounter;
  tagSeen: IdCounter;
  /** Under a `session-start` responder: each author's f_ua when this session first exposed it. */
  startCounts: Map<number, Float32Array> | null;
}

function resolveOptions(options: Partial<EnvironmentOptions>): EnvironmentOptions {
  const o: EnvironmentOptions = {
    seed: options.seed ?? 1,
    numCandidates: options.numCandidates ?? 100,
    slateSize: options.slateSize ?? 6,
    candidateMix: options.candidateMix ?? {},
    recentAuthorsPerUser: options.recentAuthorsPerUser ?? 32,
    quit: options.quit ?? {},
    returnModel: options.returnModel ?? {},
    startTimeMs: options.startTimeMs ?? KUAIRAND_START_MS,
    browseMsPerItem: options.browseMsPerItem ?? 1500,
    sessionHours: options.sessionHours ?? [7, 23],
    ...(options.history ? { history: options.history } : {}),
    ...(options.historyUsers ? { historyUsers: options.historyUsers } : {}),
  };
  if (!Number.isInteger(o.numCandidates) || o.numCandidates < 1 || o.numCandidates > MAX_CANDIDATES) {
    throw new RangeError(`numCandidates must be an integer in [1, ${MAX_CANDIDATES}], got ${o.numCandidates}`);
  }
  if (!Number.isInteger(o.slateSize) || o.slateSize < 1 || o.slateSize > o.numCandidates) {
    throw new RangeError(`slateSize must be an integer in [1, numCandidates=${o.numCandidates}], got ${o.slateSize}`);
  }
  if (!Number.isFinite(o.startTimeMs)) throw new RangeError(`startTimeMs must be finite, got ${o.startTimeMs}`);
  if (!(o.browseMsPerItem >= 0)) throw new RangeError(`browseMsPerItem must be >= 0, got ${o.browseMsPerItem}`);
  const [h0, h1] = o.sessionHours;
  if (!(h0 >= 0 && h1 <= 24 && h0 <= h1)) throw new RangeError(`sessionHours must satisfy 0 <= from <= to <= 24, got ${JSON.stringify(o.sessionHours)}`);
  return o;
}

/**
 * Every option with its default filled in, the nested quit-model,
 * return-model and candidate-mix settings too: what an environment built
 * from `options` runs with (recorded in a run's config.json).
 */
export function resolvedEnvironmentOptions(
  options: Partial<EnvironmentOptions> = {},
): EnvironmentOptions & { candidateMix: CandidateMix; quit: QuitModelOptions; returnModel: ReturnModelOptions } {
  const o = resolveOptions(options);
  return {
    ...o,
    candidateMix: { ...DEFAULT_CANDIDATE_MIX, ...o.candidateMix },
    quit: { ...new QuitModel(o.quit).options },
    returnModel: { ...new ReturnModel(o.returnModel).options },
  };
}

export class Environment {
  readonly options: EnvironmentOptions;
  readonly quitModel: QuitModel;
  readonly returnModel: ReturnModel;
  readonly candidateGenerator: CandidateGenerator;
  /** Lifelong f_ua of every touched pair (read-only for callers). */
  readonly pairStore: PairCountStore;

  private readonly candidateRng: Rng;
  private readonly responseRng: Rng;
  private readonly clockRng: Rng;
  private readonly returnRng: Rng;
  /** Day of each user's next session. */
  private readonly nextDay: Int32Array;
  /** Day of each user's last session (-1 = none yet). */
  private readonly lastDay: Int32Array;
  private readonly sessionCount: Int32Array;
  private calendarDay = 0;
  private batch: ExposureBatch;
  private totalResponses = 0;
  /** The responder reads f_ua as of the session's start (see PairCountView in world/response.ts). */
  private readonly sessionStartCounts: boolean;

  constructor(
    readonly catalog: Catalog,
    readonly responder: ResponseModel,
    options: Partial<EnvironmentOptions> = {},
  ) {
    this.options = resolveOptions(options);
    const o = this.options;
    this.quitModel = new QuitModel(o.quit);
    this.returnModel = new ReturnModel(o.returnModel);
    this.candidateGenerator = new CandidateGenerator(catalog, {
      numCandidates: o.numCandidates,
      mix: { ...DEFAULT_CANDIDATE_MIX, ...o.candidateMix },
      recentAuthorsPerUser: o.recentAuthorsPerUser,
    });
    const history = o.history;
    if (history) {
      if (history.numUsers !== catalog.numUsers) throw new RangeError(`history: built for ${history.numUsers} users, the catalog has ${catalog.numUsers}`);
      if (history.recentAuthorsPerUser !== o.recentAuthorsPerUser)
        throw new RangeError(
          `history: built with ${history.recentAuthorsPerUser} recent authors per user, the environment remembers ${o.recentAuthorsPerUser}`,
        );
      history.copyRecentInto(this.candidateGenerator);
    }
    this.pairStore = history ? history.copyStore(o.historyUsers) : new PairCountStore(catalog.numUsers);
    const root = new Rng(o.seed);
    this.candidateRng = root.fork('candidates');
    this.responseRng = root.fork('responses');
    this.clockRng = root.fork('clock');
    this.returnRng = root.fork('return');
    this.nextDay = new Int32Array(catalog.numUsers);
    this.lastDay = new Int32Array(catalog.numUsers).fill(-1);
    this.sessionCount = new Int32Array(catalog.numUsers);
    // Users start at a random phase, as if they had been using the app already.
    const phaseRng = root.fork('phase');
    const ref = this.returnModel.options.satisfactionRef;
    for (let u = 0; u < catalog.numUsers; u++) {
      this.nextDay[u] = this.returnModel.sampleGapDays(ref, 0, 0, catalog.userActivity[u]!, phaseRng) - 1;
    }
    // After a history the calendar continues from its last day; each user keeps the phase drawn above.
    if (history) {
      this.calendarDay = history.days;
      for (let u = 0; u < catalog.numUsers; u++) {
        this.nextDay[u]! += history.days;
        this.lastDay[u] = history.lastDay(u);
      }
    }
    this.batch = allocExposureBatch(0);
    this.sessionStartCounts = responder.pairCountView === 'session-start';
  }

  /** The calendar day `runDays` continues from. */
  get day(): number {
    return this.calendarDay;
  }

  /** Total item responses sampled so far. */
  get responsesServed(): number {
    return this.totalResponses;
  }

  /** A copy of the pair's counts f_ua now (zeros for an unseen pair). */
  pairCounts(user: number, author: number): Float32Array {
    return this.pairStore.get(user, author);
  }

  /** Day of the user's next session. */
  nextSessionDay(user: number): number {
    return this.nextDay[user]!;
  }

  /** Sessions the user has had. */
  sessionsOf(user: number): number {
    return this.sessionCount[user]!;
  }

  /**
   * Runs one session for each given user (distinct ids), all in parallel,
   * each at the day of the user's next session, and returns the traces in
   * the order of `users`. Afterwards each user's next session day is moved
   * by the drawn return gap.
   */
  runSessions(users: ArrayLike<number>, policy: SlatePolicy): SessionTrace[] {
    const c = this.catalog;
    const seen = new Set<number>();
    for (let j = 0; j < users.length; j++) {
      const u = users[j]!;
      if (!Number.isInteger(u) || u < 0 || u >= c.numUsers) throw new RangeError(`runSessions: user ${u} is not a dense user id in [0, ${c.numUsers})`);
      if (seen.has(u)) throw new RangeError(`runSessions: user ${u} appears twice; each user runs one session per call`);
      seen.add(u);
    }
    const o = this.options;
    const [h0, h1] = o.sessionHours;
    const live: LiveSession[] = [];
    const traces: SessionTrace[] = [];
    for (let j = 0; j < users.length; j++) {
      const user = users[j]!;
      const day = this.nextDay[user]!;
      const trace: SessionTrace = { user, sessionIndex: this.sessionCount[user]!, requests: [], returnGapDays: Infinity, day };
      traces.push(trace);
      const startMs = o.startTimeMs + day * DAY_MS + Math.floor(this.clockRng.uniformRange(h0, h1) * 3_600_000);
      live.push({
        user,
        trace,
        day,
        temper: this.quitModel.initialTemper(c.userActivity[user]!),
        timeMs: startMs,
        exposures: 0,
        clicks: 0,
        watchRatioSum: 0,
        likes: 0,
        follows: 0,
        watchSec: 0,
        satisfactionSum: 0,
        daysSinceLast: this.lastDay[user]! < 0 ? 0 : day - this.lastDay[user]!,
        authorSeen: new IdCounter(128),
        tagSeen: new IdCounter(128),
        startCounts: this.sessionStartCounts ? new Map() : null,
      });
    }
    let active = live;
    while (active.length > 0) active = this.step(active, policy);
    return traces;
  }

  /**
   * Walks the calendar for `days` days from {@link day}: each day, every user
   * of `users` (default: all) whose next session falls on or before that day
   * has a session (all of them in parallel); `onSession` receives each trace.
   */
  runDays(days: number, policy: SlatePolicy, onSession?: (trace: SessionTrace) => void, users?: ArrayLike<number>): DaysSummary {
    if (!Number.isInteger(days) || days < 0) throw new RangeError(`runDays: days must be a non-negative integer, got ${days}`);
    const population = users ?? Int32Array.from({ length: this.catalog.numUsers }, (_, i) => i);
    const fromDay = this.calendarDay;
    const activeUsersPerDay: number[] = [];
    let sessions = 0;
    for (let d = fromDay; d < fromDay + days; d++) {
      const due: number[] = [];
      for (let j = 0; j < population.length; j++) {
        const u = population[j]!;
        if (this.nextDay[u]! <= d) {
          this.nextDay[u] = d;
          due.push(u);
        }
      }
      activeUsersPerDay.push(due.length);
      if (due.length > 0) {
        const traces = this.runSessions(due, policy);
        sessions += traces.length;
        if (onSession) for (const t of traces) onSession(t);
      }
    }
    this.calendarDay = fromDay + days;
    return { fromDay, toDay: this.calendarDay, sessions, activeUsersPerDay };
  }

  /** One request for every active session; returns the sessions still active. */
  private step(active: LiveSession[], policy: SlatePolicy): LiveSession[] {
    const c = this.catalog;
    const o = this.options;
    const n = o.numCandidates;
    const k = o.slateSize;
    // Each request is created as its final trace record (slate and responses
    // are filled in after the policy and the responder ran): one object per
    // request instead of two.
    const requests: RequestRecord[] = new Array(active.length);
    // One buffer per kind for the whole step; each request gets views (cheaper than many small buffers).
    const candidateBuf = new Int32Array(active.length * n);
    const pairBuf = new Float32Array(active.length * n * PAIR_COUNT_DIM);
    const summaryBuf = new Float32Array(active.length * SESSION_SUMMARY_DIM);
    const store = this.pairStore;
    const itemAuthor = c.itemAuthor;
    for (let j = 0; j < active.length; j++) {
      const s = active[j]!;
      const candidates = candidateBuf.subarray(j * n, (j + 1) * n);
      this.candidateGenerator.generate(s.user, this.candidateRng, candidates);
      const pcBase = j * n * PAIR_COUNT_DIM;
      store.readItems(s.user, candidates, itemAuthor, pairBuf, pcBase);
      const summary = summaryBuf.subarray(j * SESSION_SUMMARY_DIM, (j + 1) * SESSION_SUMMARY_DIM);
      this.summarize(s, summary);
      requests[j] = {
        user: s.user,
        timeMs: s.timeMs,
        summary,
        candidates,
        candidatePairCounts: pairBuf.subarray(pcBase, pcBase + n * PAIR_COUNT_DIM),
        slate: NO_SLATE,
        responses: NO_RESPONSES,
      };
    }
    const slates = policy.chooseSlates(requests, k);
    if (!Array.isArray(slates) || slates.length !== requests.length) {
      throw new TypeError(`policy.chooseSlates returned ${Array.isArray(slates) ? slates.length : typeof slates} slates for ${requests.length} requests`);
    }
    for (let j = 0; j < slates.length; j++) validateSlate(slates[j]!, n, k, j);
    const randomFlags = policy.lastRandomFlags?.();

    const count = active.length * k;
    if (this.batch.user.length < count) this.batch = allocExposureBatch(Math.max(count, this.batch.user.length * 2));
    const b = this.batch;
    b.count = count;
    const wroteTheLog = policy.wroteTheStandardLog === true;
    for (let j = 0; j < active.length; j++) {
      const s = active[j]!;
      const slate = slates[j]!;
      const req = requests[j]!;
      // As in the fit (interaction-log.ts): every exposure of a non-random request of the log's policy is a standard-log one.
      b.standardLog!.fill(wroteTheLog && !isRandomRequest(randomFlags?.[j]) ? 1 : 0, j * k, j * k + k);
      for (let p = 0; p < k; p++) {
        const e = j * k + p;
        const idx = slate[p]!;
        const item = req.candidates[idx]!;
        const author = c.itemAuthor[item]!;
        const tag = c.itemTag[item]!;
        b.user[e] = s.user;
        b.item[e] = item;
        b.position[e] = p;
        const src = req.candidatePairCounts;
        const dst = e * PAIR_COUNT_DIM;
        for (let q = 0; q < PAIR_COUNT_DIM; q++) b.pairCounts[dst + q] = src[idx * PAIR_COUNT_DIM + q]!;
        if (s.startCounts) {
          // An author this session has not exposed yet still has its session-start counts; later
          // exposures read that snapshot, so the session's own responses never reach the responder.
          const start = s.startCounts.get(author);
          if (start) b.pairCounts.set(start, dst);
          else s.startCounts.set(author, b.pairCounts.slice(dst, dst + PAIR_COUNT_DIM));
        }
        b.repeatAuthor[e] = s.authorSeen.increment(author);
        b.repeatTag[e] = s.tagSeen.increment(tag);
      }
    }
    const responses = allocResponseBatch(count);
    // Slates are copied (a policy may reuse its buffers) into one step buffer: views of it cost far less than an ArrayBuffer each.
    const slateBuf = new Int32Array(count);
    this.responder.respond(b, this.responseRng, responses);
    this.totalResponses += count;

    const still: LiveSession[] = [];
    for (let j = 0; j < active.length; j++) {
      const s = active[j]!;
      const start = j * k;
      let elapsed = 0;
      for (let e = start; e < start + k; e++) {
        const item = b.item[e]!;
        const author = c.itemAuthor[item]!;
        // Only first follows count.
        if (!recordResponse(this.pairStore, this.candidateGenerator, s.user, author, responses, e, s.day)) responses.follow[e] = 0;
        const dur = c.itemDurationMs[item]!;
        const play = responses.playTimeMs[e]!;
        s.exposures++;
        s.clicks += responses.click[e]!;
        s.likes += responses.like[e]!;
        s.follows += responses.follow[e]!;
        s.watchSec += play / 1000;
        s.watchRatioSum += dur > 0 ? Math.min(1, play / dur) : 0;
        elapsed += play + o.browseMsPerItem;
      }
      const satisfaction = this.quitModel.slateSatisfaction(b, responses, start, k, c.itemDurationMs);
      s.satisfactionSum += satisfaction;
      s.temper = this.quitModel.spend(s.temper, satisfaction);
      const record = requests[j]!;
      record.slate = copyInto(slateBuf, start, slates[j]!);
      record.responses = sliceResponses(responses, start, start + k);
      const flags = randomFlags?.[j];
      if (flags) record.isRand = new Uint8Array(flags.subarray(0, k));
      s.trace.requests.push(record);
      s.timeMs += Math.round(elapsed);
      if (this.quitModel.quits(s.temper, s.trace.requests.length)) this.finish(s);
      else still.push(s);
    }
    return still;
  }

  private finish(s: LiveSession): void {
    const c = this.catalog;
    const requests = s.trace.requests.length;
    const satisfaction = requests > 0 ? s.satisfactionSum / requests : 0;
    const gap = this.returnModel.sampleGapDays(
      satisfaction,
      this.pairStore.deepPairs(s.user),
      this.pairStore.follows(s.user),
      c.userActivity[s.user]!,
      this.returnRng,
    );
    s.trace.returnGapDays = gap;
    s.trace.endTimeMs = s.timeMs;
    s.trace.satisfaction = satisfaction;
    this.lastDay[s.user] = s.day;
    this.nextDay[s.user] = s.day + gap;
    this.sessionCount[s.user]!++;
  }

  /** The SESSION_SUMMARY_DIM vector documented in trace.ts. */
  private summarize(s: LiveSession, v: Float32Array): void {
    v[0] = s.trace.requests.length / 10;
    v[1] = s.exposures > 0 ? s.clicks / s.exposures : 0;
    v[2] = s.exposures > 0 ? s.watchRatioSum / s.exposures : 0;
    v[3] = s.likes / 10;
    v[4] = s.follows;
    v[5] = 0;
    v[6] = Math.log1p(s.watchSec) / 5;
    v[7] = s.daysSinceLast / 7;
  }
}

function validateSlate(slate: Int32Array, n: number, k: number, j: number): void {
  if (!(slate instanceof Int32Array) || slate.length !== k) {
    throw new TypeError(
      `policy slate ${j} must be an Int32Array of length K=${k}, got ${slate instanceof Int32Array ? `length ${slate.length}` : typeof slate}`,
    );
  }
  for (let p = 0; p < k; p++) {
    const idx = slate[p]!;
    if (idx < 0 || idx >= n) throw new RangeError(`policy slate ${j} position ${p}: candidate index ${idx} outside [0, ${n})`);
    for (let q = 0; q < p; q++) if (slate[q] === idx) throw new RangeError(`policy slate ${j} repeats candidate index ${idx}`);
  }
}

/** An exposure batch with room for `capacity` exposures. */
export function allocExposureBatch(capacity: number): ExposureBatch {
  return {
    count: 0,
    user: new Int32Array(capacity),
    item: new Int32Array(capacity),
    pairCounts: new Float32Array(capacity * PAIR_COUNT_DIM),
    repeatAuthor: new Float32Array(capacity),
    repeatTag: new Float32Array(capacity),
    position: new Int32Array(capacity),
    standardLog: new Uint8Array(capacity),
  };
}

/** Copies `src` into buf[offset ..] and returns that view. */
function copyInto(buf: Int32Array, offset: number, src: Int32Array): Int32Array {
  buf.set(src, offset);
  return buf.subarray(offset, offset + src.length);
}

/** Views of entries [from, to) of a response batch (no copy). */
export function sliceResponses(r: ResponseBatch, from: number, to: number): ResponseBatch {
  return {
    click: r.click.subarray(from, to),
    longView: r.longView.subarray(from, to),
    like: r.like.subarray(from, to),
    follow: r.follow.subarray(from, to),
    comment: r.comment.subarray(from, to),
    forward: r.forward.subarray(from, to),
    hate: r.hate.subarray(from, to),
    playTimeMs: r.playTimeMs.subarray(from, to),
    giftAmount: r.giftAmount.subarray(from, to),
  };
}
