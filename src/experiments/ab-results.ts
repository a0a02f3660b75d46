/**
 * The results of a simulated A/B test (ab-test.ts) as ab-results.json holds
 * them: the metrics of the paper's Tables 4 and 5, each arm's figures and
 * relative deltas over the control, and Fig. 6's gift value per grade. The
 * test writes this shape and the report (ab-report.ts) reads it, so neither
 * imports the other.
 */
import type { ReportMetric } from './results.js';
import type { RelativeDelta } from './statistics.js';

/** Table 4 (revenue test) and Table 5 (watch-time test) metrics, per user over the test. */
export const AB_METRICS = ['uaCount', 'weeklyGiftedUsers', 'totalRevenue', 'newFans', 'watchTime', 'appUsageTime', 'weeklyRetention'] as const;
export type AbMetric = (typeof AB_METRICS)[number];

export const AB_METRIC_INFO: Record<AbMetric, { label: string; table: 4 | 5; perUser: string }> = {
  uaCount: { label: 'UA Count', table: 4, perUser: 'deep user-author pairs formed during the test (follow + gifts on >= 2 days)' },
  weeklyGiftedUsers: { label: 'Weekly Gifted Users', table: 4, perUser: 'share of the test\'s weeks in which the user gave a gift (bucket mean = weekly gifted users / bucket size)' },
  totalRevenue: { label: 'Total Revenue', table: 4, perUser: 'gift coins given during the test' },
  newFans: { label: 'New Fans', table: 4, perUser: 'first follows during the test' },
  watchTime: { label: 'Watch Time', table: 5, perUser: 'seconds played during the test' },
  appUsageTime: { label: 'App Usage Time', table: 5, perUser: 'seconds in the app (session start to end) during the test' },
  weeklyRetention: { label: 'Weekly Retention', table: 5, perUser: 'share of the user\'s sessions followed by a return within 7 days (users with >= 1 session)' },
};

/** One arm's figures. */
export interface AbArmResult {
  model: string;
  users: number;
  /** Per-user mean of each metric (retention over users with sessions). */
  means: Record<AbMetric, number>;
  /** Bucket totals (sum over users) — e.g. total revenue, total new fans. */
  totals: Record<AbMetric, number>;
  /** Relative delta over control; absent for the control arm. */
  delta?: Record<AbMetric, RelativeDelta>;
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
  weeks: number;
  days: number;
  seed: number;
  preset: string;
  control: string;
  arms: AbArmResult[];
  /** Fig. 6 per RLIV-UA arm: LIV of the gift tower per gift-amount grade, and the Spearman correlation over gifted pairs. */
  giftValue: Record<string, { grades: GiftGrade[]; spearman: number; giftedPairs: number }>;
  /** Per arm, the session metrics of each simulated day of the test (day 1..days); written as curves.csv. */
  daily?: Record<string, { day: number[] } & Record<ReportMetric, number[]>>;
  settings: Record<string, unknown>;
  wallSeconds: number;
  notes: string[];
}
