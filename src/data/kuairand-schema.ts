/**
 * The KuaiRand table layouts (Gao et al., CIKM 2022), identical in the Pure,
 * 1K and 27K releases, and the in-memory shapes rliv loads them into.
 *
 * Missing values. KuaiRand marks a missing value in two ways:
 *   - an empty field (e.g. `video_duration`, `music_type`, `tag`, `onehot_feat4`);
 *   - a negative sentinel in user features (e.g. `is_live_streamer = -124`).
 * Loaders map both to "missing": categorical code 0, numeric NaN. No row is
 * dropped for a missing value; a value of the wrong type is an error.
 */

/** The 19 columns of `log_standard_*` and `log_random_*`, in file order. */
export const LOG_COLUMNS = [
  'user_id',
  'video_id',
  'date',
  'hourmin',
  'time_ms',
  'is_click',
  'is_like',
  'is_follow',
  'is_comment',
  'is_forward',
  'is_hate',
  'long_view',
  'play_time_ms',
  'duration_ms',
  'profile_stay_time',
  'comment_stay_time',
  'is_profile_enter',
  'is_rand',
  'tab',
] as const;
export type LogColumn = (typeof LOG_COLUMNS)[number];

/** The 31 columns of `user_features_*`, in file order. */
export const USER_FEATURE_COLUMNS = [
  'user_id',
  'user_active_degree',
  'is_lowactive_period',
  'is_live_streamer',
  'is_video_author',
  'follow_user_num',
  'follow_user_num_range',
  'fans_user_num',
  'fans_user_num_range',
  'friend_user_num',
  'friend_user_num_range',
  'register_days',
  'register_days_range',
  ...Array.from({ length: 18 }, (_, i) => `onehot_feat${i}`),
] as readonly string[];

/** User feature columns kept as raw counts (numeric, NaN when missing or negative). */
export const USER_NUMERIC_COLUMNS = ['follow_user_num', 'fans_user_num', 'friend_user_num', 'register_days'] as const;

/** User feature columns treated as categorical (every column but user_id and the numeric counts). */
export const USER_CATEGORICAL_COLUMNS: readonly string[] = USER_FEATURE_COLUMNS.filter(
  (c) => c !== 'user_id' && !(USER_NUMERIC_COLUMNS as readonly string[]).includes(c),
);

/** The 12 columns of `video_features_basic_*`, in file order. */
export const VIDEO_BASIC_COLUMNS = [
  'video_id',
  'author_id',
  'video_type',
  'upload_dt',
  'upload_type',
  'visible_status',
  'video_duration',
  'server_width',
  'server_height',
  'music_id',
  'music_type',
  'tag',
] as const;

/** Video columns treated as categorical. `tag` is a comma list; its first entry is the primary tag. */
export const VIDEO_CATEGORICAL_COLUMNS = ['video_type', 'upload_dt', 'upload_type', 'music_type', 'tag'] as const;

/**
 * `user_active_degree` values and the activity level in [0, 1] rliv assigns
 * them (sets session budget and return rate). Unknown or missing values get
 * {@link DEFAULT_ACTIVITY}.
 */
export const ACTIVITY_OF_DEGREE: Readonly<Record<string, number>> = {
  full_active: 1.0,
  high_active: 0.75,
  middle_active: 0.5,
  low_active: 0.25,
  single_low_active: 0.15,
  '2_14_day_new': 0.4,
  '30day_retention': 0.3,
  day_new: 0.35,
  UNKNOWN: 0.5,
};
export const DEFAULT_ACTIVITY = 0.5;

/** A categorical column: `codes[row]` is 0 when missing, else 1 + index into `vocabulary`. */
export interface CategoricalColumn {
  name: string;
  /** Distinct raw values, sorted (code c means vocabulary[c - 1]). */
  vocabulary: string[];
  codes: Int32Array;
}

/** `user_features_*` loaded as struct-of-arrays. */
export interface UserFeatureTable {
  /** File it was read from. */
  path: string;
  count: number;
  userId: Int32Array;
  /** Raw counts (NaN when missing or a negative sentinel), keyed by column name. */
  numeric: Record<(typeof USER_NUMERIC_COLUMNS)[number], Float64Array>;
  /** Categorical columns in file order (USER_CATEGORICAL_COLUMNS). */
  categorical: CategoricalColumn[];
}

/** `video_features_basic_*` loaded as struct-of-arrays. */
export interface VideoFeatureTable {
  path: string;
  count: number;
  videoId: Int32Array;
  authorId: Int32Array;
  /** `video_duration` in ms; NaN when missing. */
  durationMs: Float64Array;
  /** Primary (first) tag id of each video; -1 when missing. */
  primaryTag: Int32Array;
  /** Numeric columns (NaN when missing): visible_status, server_width, server_height, music_id. */
  numeric: Record<'visible_status' | 'server_width' | 'server_height' | 'music_id', Float64Array>;
  /** Categorical columns in VIDEO_CATEGORICAL_COLUMNS order (tag = the full comma list as one value). */
  categorical: CategoricalColumn[];
}

/** `video_features_statistic_*`: video_id plus every other column as a number (NaN when missing). */
export interface VideoStatisticTable {
  path: string;
  count: number;
  videoId: Int32Array;
  /** Column names after video_id, in file order. */
  columns: string[];
  /** count x columns.length, row-major. */
  values: Float64Array;
}
