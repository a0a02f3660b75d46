/**
 * The logged history an environment starts after (docs/design.md §10.6, the
 * warm start): KuaiRand's users are not new (99.5 % registered more than 30
 * days before its logs, 99.3 % follow someone), and its logs are a window
 * on relationships already formed. So every environment of an experiment,
 * in the learned simulator and in the world alike, starts where the logs
 * end: the pairs' counts f_ua (clicks, follows, gifts ...), the users'
 * recent authors and their last session days are those the logs record,
 * and the calendar continues after them. A world whose users had traffic
 * before its logs (its warm-up, not logged) starts its own environments
 * after that traffic and the logs ({@link EnvironmentHistory.fromLogs});
 * the simulator, which never saw the warm-up, after the logs alone. Built
 * once; each environment copies it (a copy of typed arrays, not a replay).
 */
import type { Catalog } from '../world/catalog.js';
import type { ResponseBatch } from '../world/response.js';
import { CandidateGenerator } from './candidate-generator.js';
import type { InteractionLog, PairsAtStart } from './interaction-log.js';
import { PairCountStore } from './pair-count-store.js';

const DAY_MS = 86_400_000;

/**
 * What one exposure's response leaves in the environment's state: the
 * pair's counts (returns true on a first follow) and, on a click, the
 * author among the user's recent ones. The environment's step and the
 * history's replay both record through it.
 */
export function recordResponse(
  store: PairCountStore,
  candidates: CandidateGenerator,
  user: number,
  author: number,
  responses: ResponseBatch,
  i: number,
  day: number,
): boolean {
  const firstFollow = store.add(user, author, responses, i, day);
  if (responses.click[i] === 1) candidates.noteInteraction(user, author);
  return firstFollow;
}

export interface EnvironmentHistoryOptions {
  /** Simulated time (ms) of day 0, 00:00: the environments' `startTimeMs` (resolvedEnvironmentOptions). */
  startTimeMs: number;
  /** Recent authors remembered per user: the environments' `recentAuthorsPerUser`. */
  recentAuthorsPerUser: number;
}

export class EnvironmentHistory implements PairsAtStart {
  private constructor(
    /** Calendar days the history spans: an environment's first session after it is on day `days` or later. */
    readonly days: number,
    /** Logged exposures it was built from. */
    readonly rows: number,
    /** Recent authors remembered per user (an environment must use the same). */
    readonly recentAuthorsPerUser: number,
    /** Users of the catalog it was built for. */
    readonly numUsers: number,
    private readonly store: PairCountStore,
    private readonly candidates: CandidateGenerator,
    private readonly lastDays: Int32Array,
  ) {}

  /**
   * Replays every row of `log` in time order (rows of one request in slate
   * order) through {@link recordResponse}. Throws, naming the row, on a user
   * or item outside the catalog or a time before `startTimeMs`.
   */
  static fromLog(catalog: Catalog, log: InteractionLog, options: EnvironmentHistoryOptions): EnvironmentHistory {
    return EnvironmentHistory.fromLogs(catalog, [log], options);
  }

  /**
   * {@link fromLog} over several logs, one after the other (each in its own
   * time order): a world's unlogged traffic, then its logs. Errors name the
   * log (0-based) and the row.
   */
  static fromLogs(catalog: Catalog, logs: readonly InteractionLog[], options: EnvironmentHistoryOptions): EnvironmentHistory {
    const { startTimeMs, recentAuthorsPerUser } = options;
    const store = new PairCountStore(catalog.numUsers);
    const candidates = new CandidateGenerator(catalog, { numCandidates: 1, recentAuthorsPerUser });
    const lastDays = new Int32Array(catalog.numUsers).fill(-1);
    let days = 0;
    let rows = 0;
    logs.forEach((log, k) => {
      const where = logs.length > 1 ? `log ${k} ` : '';
      const order = Array.from({ length: log.count }, (_, r) => r).sort((a, b) => log.timeMs[a]! - log.timeMs[b]! || a - b);
      for (const r of order) {
        const user = log.user[r]!;
        const item = log.item[r]!;
        if (!(user >= 0 && user < catalog.numUsers))
          throw new RangeError(`history: ${where}row ${r} has user ${user}, outside the catalog's [0, ${catalog.numUsers})`);
        if (!(item >= 0 && item < catalog.numItems))
          throw new RangeError(`history: ${where}row ${r} has item ${item}, outside the catalog's [0, ${catalog.numItems})`);
        const day = Math.floor((log.timeMs[r]! - startTimeMs) / DAY_MS);
        if (!(day >= 0)) throw new RangeError(`history: ${where}row ${r} is at time_ms ${log.timeMs[r]}, before the environments' first day (${startTimeMs})`);
        recordResponse(store, candidates, user, catalog.itemAuthor[item]!, log, r, day);
        if (day > lastDays[user]!) lastDays[user] = day;
        if (day + 1 > days) days = day + 1;
      }
      rows += log.count;
    });
    return new EnvironmentHistory(days, rows, recentAuthorsPerUser, catalog.numUsers, store, candidates, lastDays);
  }

  /** Pairs with a count (touched at least once). */
  get pairs(): number {
    return this.store.size;
  }

  /** A fresh copy of the pair's counts, or undefined for a pair the history never touched (the {@link PairsAtStart} of a log that follows it). */
  pairCounts(user: number, author: number): Float32Array | undefined {
    return this.store.rowOf(user, author) < 0 ? undefined : this.store.get(user, author);
  }

  /** A copy of the pairs' counts (only `users`' when given), for an environment to own. */
  copyStore(users?: ArrayLike<number>): PairCountStore {
    return users === undefined ? this.store.clone() : this.store.cloneUsers(users);
  }

  /** Copies the users' recent-author rings into an environment's candidate generator. */
  copyRecentInto(candidates: CandidateGenerator): void {
    candidates.copyRecentFrom(this.candidates);
  }

  /** Each user's last logged day (-1 = not in the logs). */
  lastDay(user: number): number {
    return this.lastDays[user]!;
  }

  /** What a run's config.json records of it. */
  summary(): { days: number; rows: number; pairs: number } {
    return { days: this.days, rows: this.rows, pairs: this.pairs };
  }
}
