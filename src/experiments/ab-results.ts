/**
 * The results of a simulated A/B test (ab-test.ts) as ab-results.json holds
 * them: the metrics of the paper's Tables 4 and 5, each arm's figures and
 * relative deltas over the control, and Fig. 6's gift value per grade. The
 * test writes this shape and the report (ab-report.ts) reads it, so neither
 * imports the other.
 */
import type { Tower } from '../data/interaction-kinds.js';
import type { FusionWeightRetention } from '../agents/score-fusion.js';
import type { ReportMetric } from './results.js';
import type { RelativeDelta, Summary } from './statistics.js';

/** Table 4 (revenue test) and Table 5 (watch-time test) metrics, per user over the test. */
export const AB_METRICS = ['uaCount', 'weeklyGiftedUsers', 'totalRevenue', 'newFans', 'watchTime', 'appUsageTime', 'weeklyRetention'] as const;
export type AbMetric = (typeof AB_METRICS)[number];

export const AB_METRIC_INFO: Record<AbMetric, { label: string; table: 4 | 5; perUser: string }> = {
  uaCount: { label: 'UA Count', table: 4, perUser: 'deep user-author pairs formed during the test (follow + gifts on >= 2 days)' },
  weeklyGiftedUsers: {
    label: 'Weekly Gifted Users',
    table: 4,
    perUser: "share of the test's weeks in which the user gave a gift (bucket mean = weekly gifted users / bucket size)",
  },
  totalRevenue: { label: 'Total Revenue', table: 4, perUser: 'gift coins given during the test' },
  newFans: { label: 'New Fans', table: 4, perUser: 'first follows during the test' },
  watchTime: { label: 'Watch Time', table: 5, perUser: 'seconds played during the test' },
  appUsageTime: { label: 'App Usage Time', table: 5, perUser: 'seconds in the app (session start to end) during the test' },
  weeklyRetention: {
    label: 'Weekly Retention',
    table: 5,
    perUser: "share of the user's sessions followed by a return within 7 days (users with >= 1 session)",
  },
};

/** The paper's two online tests: revenue (Kwai live-stream feed, Table 4) and watch time (Kuaishou short-video feed, Table 5). */
export const AB_TEST_KINDS = ['revenue', 'watchTime'] as const;
export type AbTestKind = (typeof AB_TEST_KINDS)[number];

/** How a treatment arm ranks: its LIV fused into the control's ranking score (the paper's deployment), or by its LIV alone. */
export const AB_RANKINGS = ['fused', 'liv-only'] as const;
export type AbRanking = (typeof AB_RANKINGS)[number];

/** What defines each test: the towers its treatments rank by, its treatments, the metrics of its table. */
export const AB_TEST_SPECS: Record<
  AbTestKind,
  { title: string; towers: Partial<Record<Tower, number>>; treatments: readonly string[]; metrics: readonly AbMetric[] }
> = {
  // The paper: "we use the follow LIV and gift LIV in Kwai and use the watch time LIV in Kuaishou".
  revenue: {
    title: 'Revenue test (Table 4: Kwai live-stream feed)',
    towers: { follow: 1, gift: 1 },
    treatments: ['RLIV-UA(w/o AL & SL)', 'RLIV-UA(w/o SL)', 'RLIV-UA'],
    metrics: ['uaCount', 'weeklyGiftedUsers', 'totalRevenue', 'newFans'],
  },
  watchTime: {
    title: 'Watch-time test (Table 5: Kuaishou short-video feed)',
    towers: { watchTime: 1 },
    treatments: ['RLIV-UA'],
    metrics: ['watchTime', 'appUsageTime', 'weeklyRetention'],
  },
};

/** The paper's Tables 4 and 5 (Kwai / Kuaishou production), quoted for reference: relative deltas over the RankingModel. */
export const PAPER_AB: Record<AbTestKind, Record<string, Partial<Record<AbMetric, number>>>> = {
  revenue: {
    'RLIV-UA(w/o AL & SL)': { uaCount: 0.02002, weeklyGiftedUsers: 0.02245, totalRevenue: 0.11903, newFans: 0.02743 },
    'RLIV-UA(w/o SL)': { uaCount: 0.03579, weeklyGiftedUsers: 0.03417, totalRevenue: 0.238065, newFans: 0.06104 },
    'RLIV-UA': { uaCount: 0.05849, weeklyGiftedUsers: 0.0537, totalRevenue: 0.386445, newFans: 0.08282 },
  },
  watchTime: {
    'RLIV-UA': { watchTime: 0.00131, appUsageTime: 0.00083, weeklyRetention: 0.00021 },
  },
};

/** One arm's figures, over every bucket seed. */
export interface AbArmResult {
  /** The model the arm serves (the LIV model of a treatment). */
  model: string;
  /** 'control' for the control arm. */
  ranking: 'control' | AbRanking;
  /** Label used in reports, e.g. "RLIV-UA (fused)". */
  label: string;
  /** Users of the arm's bucket, summed over the bucket seeds. */
  users: number;
  /** Per-user mean of each metric over the reported weeks, users of every bucket seed pooled (retention over users with sessions). */
  means: Record<AbMetric, number>;
  /** Bucket totals (sum over users and seeds) — e.g. total revenue, total new fans. */
  totals: Record<AbMetric, number>;
  /** Relative delta over control with its delta-method 95 % interval over users (every seed's users pooled); absent for the control. */
  delta?: Record<AbMetric, RelativeDelta>;
  /** The same delta per bucket seed (seed order); absent for the control. */
  seedDeltas?: Record<AbMetric, RelativeDelta>[];
  /** Mean of the per-seed deltas with its Student-t 95 % interval over the bucket seeds; absent for the control. */
  acrossSeeds?: Record<AbMetric, Summary>;
  /** Fused arms: the fusion weight the rule chose on each seed's pre-period. */
  fusionWeights?: number[];
  /** Fused arms: per seed, the predicted click rate each grid weight keeps (what the rule looked at). */
  weightRetention?: FusionWeightRetention[][];
}

/** One of the two tests: its arms and what ranks them. */
export interface AbTestRun {
  test: AbTestKind;
  /** Tower weights of the treatments' LIV (revenue: follow + gift; watch time: watch time). */
  towers: Partial<Record<string, number>>;
  arms: AbArmResult[];
  /**
   * The weight selection's window, per bucket seed: the latest request time
   * (ms) the weight rule saw and the first request of the reported weeks,
   * the first moment of the reported weeks' first day, and the requests per
   * arm the rule scored (first seed). Every request the rule saw precedes
   * every request of the reported weeks (lastRequestMs <
   * firstReportedRequestMs, and reportStartMs <= firstReportedRequestMs);
   * a session of the pre-period's last day may run past midnight, so
   * lastRequestMs can be later than reportStartMs. The reported weeks are
   * simulated only after the weights are set.
   */
  selection: { lastRequestMs: number[]; firstReportedRequestMs: number[]; reportStartMs: number; requestsPerArm: number[] };
  /** Per arm (label), per bucket seed: the session metrics of each reported day (day 1..days); written as curves.csv. */
  daily?: Record<string, ({ day: number[] } & Record<ReportMetric, number[]>)[]>;
}

export interface GiftGrade {
  /** 0 = clicked, no gift; 1..5 = quintiles of the gift amount. */
  grade: number;
  /** Gift-amount range of the grade [min, max]. */
  amountRange: [number, number];
  pairs: number;
  meanLiv: number;
  stdLiv: number;
}

export interface AbTestResults {
  /** Reported weeks (after the pre-period). */
  weeks: number;
  /** Reported days (weeks x 7). */
  days: number;
  /** Days of the pre-period before the reported weeks (every bucket served by the control's ranking; fusion weights chosen on it). */
  preDays: number;
  seed: number;
  /** Seeds of the bucket splits and of the test environment, one simulation of each test per bucket seed. */
  bucketSeeds: number[];
  preset: string;
  control: string;
  tests: AbTestRun[];
  /** Fig. 6 per arm of the revenue test with LIV towers (label as key): LIV of the gift tower per gift-amount grade, and the Spearman correlation over gifted pairs, every bucket seed pooled. */
  giftValue: Record<string, { grades: GiftGrade[]; spearman: number; giftedPairs: number }>;
  settings: Record<string, unknown>;
  wallSeconds: number;
  notes: string[];
}
