/**
 * Every parameter of the ground-truth world (docs/design.md §5.3) in one
 * documented, zod-validated config.
 *
 * Shape of the model (all logits are natural-log odds):
 *   affinity  a_ui = <z_u, v_i> / sqrt(d),   v_i = w_a(i) + e_tag(i) + itemNoise * n_i
 *   phi_ua    = b_n log1p(n_ua) + b_f f_ua + b_g log1p(g_ua)      (familiarity)
 *   fatigue   = fatigue.author log1p(repeatAuthor) + fatigue.tag log1p(repeatTag) + fatigue.position * position
 *               (saturating: long sessions that keep returning to followed authors stay clickable)
 *   click     ~ sigmoid(c0 + s a_ui + b_a + phi_ua - fatigue)
 *   watch ratio | click = maxRatio * sigmoid(w0 + wAff s a_ui + wPhi phi_ua + wDur log(dur/60 s) + wNoise N(0,1))
 *   follow | click, not following ~ sigmoid(f0 + fAff s a_ua + fQ b_a + fN log1p(n_ua))
 *   gift | click, live author      ~ sigmoid(g0 + gAff s a_ua + gF f_ua + gG log1p(g_ua)), amount log-normal
 *   like / comment / forward | click ~ sigmoid(h0 + hAff s a_ui + hPhi phi_ua)
 *   hate (any exposure)            ~ sigmoid(x0 + xAff s a_ui + xPhi phi_ua)   (xAff, xPhi < 0)
 * where a_ua = <z_u, w_a>/sqrt(d) is the user-author (style) affinity.
 *
 * The intercepts (`*.intercept`) are meant to be FITTED by the environment's
 * calibration bisection under a logging policy; the defaults here are close
 * to the fitted values: uncalibrated, under `rliv generate`'s logging
 * policy (`worldLoggingPolicy`, 3,000 users x 20,000 items, the first 600
 * users for 7 days) they give click 0.468, long_view 0.326, like 0.0173,
 * comment 0.0025, follow 0.0011, forward 0.0010, hate 0.0005, play 15.0 s,
 * P(click | follow) 0.893 and next-day return 0.599 (KuaiRand-Pure: 0.460,
 * 0.332, 0.0185, 0.0026, 0.0011, 0.0010, 0.0005, 15.7 s, 0.89, 0.617), with
 * 15.1 requests per session (a uniformly random policy: 8.8, click 0.105,
 * hate 0.0017; KuaiRand's random log has click 0.176, hate 0.0011). Those
 * figures were measured before the refund ceiling (`session.refundCeiling`),
 * which shortens the sessions of engaging policies (docs/design.md §6.2);
 * the calibration refits the intercepts with it.
 *
 * `--world FILE.json` overrides any subset of fields: {@link mergeWorldConfig}
 * deep-merges a partial object over the defaults and rejects unknown keys,
 * naming the offending path.
 */
import { z } from 'zod';

/** A binary head: logit = intercept + affinity * (s a) + familiarity * phi. */
const headSchema = z
  .object({
    /** Base logit of the head; fitted by calibration bisection. */
    intercept: z.number(),
    /** Weight of the scaled affinity s*a_ui in the head's logit. */
    affinity: z.number(),
    /** Weight of the familiarity phi_ua in the head's logit. */
    familiarity: z.number(),
  })
  .strict();

export const worldConfigSchema = z
  .object({
    /** Latent dimension d of user interests, author styles and item vectors. Default 16. */
    latentDim: z.number().int().min(1).max(256),
    /** Affinity scale s multiplying <z_u, v_i>/sqrt(d) in the click logit. Default 0.9. */
    affinityScale: z.number().min(0),
    /** Standard deviation of the tag embedding e_tag relative to author style (w_a ~ N(0, I)). Default 0.6. */
    tagScale: z.number().min(0),
    /** Standard deviation of the per-item noise in v_i. Default 0.5. */
    itemNoise: z.number().min(0),
    /** Standard deviation of the author quality b_a (added to the click logit). Default 0.5. */
    authorQualityStd: z.number().min(0),
    /** Share of authors who are live streamers (gift recipients). Default 0.226, the share of `is_live_streamer = 1` among KuaiRand-Pure users. */
    liveStreamerShare: z.number().min(0).max(1),
    /**
     * Exponent of the synthetic catalog's power-law author popularity
     * (rank + 1)^-exponent: how skewed exposure is toward the top authors.
     * Default 1.0 (absent in older world files: 1.0). Ignored on the real
     * KuaiRand tables.
     */
    popularityExponent: z.number().min(0).optional(),

    familiarity: z
      .object({
        /** b_n: weight of log1p(n_ua), n_ua = the pair's click count. Default 0.15 (clicks also drive follows, see follow.clicks). */
        clicks: z.number(),
        /** b_f: weight of the follow flag f_ua; sized so P(click | follow) is about KuaiRand's 0.89 under the logging policy (measured 0.893 at click rate 0.468). Default 2.4. */
        follow: z.number(),
        /** b_g: weight of log1p(g_ua), g_ua = the pair's gift count. Default 0.3. */
        gifts: z.number(),
      })
      .strict(),

    fatigue: z
      .object({
        /** Logit penalty times log1p(earlier exposures of the item's author in the session). Default 0.3. */
        author: z.number().min(0),
        /** Logit penalty times log1p(earlier exposures of the item's tag in the session). Default 0.15. */
        tag: z.number().min(0),
        /** Logit penalty per slate position (0 = top). Default 0.02. */
        position: z.number().min(0),
      })
      .strict(),

    click: z
      .object({
        /** c0: base click logit; fitted to KuaiRand's 0.460 click rate. */
        intercept: z.number(),
      })
      .strict(),

    watch: z
      .object({
        /** w0: base logit of the watch ratio; fitted to KuaiRand's 15.7 s mean play time. */
        intercept: z.number(),
        /** Weight of the scaled affinity in the watch-ratio logit. Default 0.3. */
        affinity: z.number(),
        /** Weight of phi_ua in the watch-ratio logit. Default 0.1. */
        familiarity: z.number(),
        /** Weight of log(duration / 60 s): longer videos are watched to a smaller fraction. Default -0.7. */
        duration: z.number(),
        /** Standard deviation of the Gaussian noise in the watch-ratio logit. Default 0.3. */
        noise: z.number().min(0),
        /**
         * Largest watch ratio (replays let it exceed 1). Default 1.2: with
         * larger replays and a wider/more affinity-driven ratio, no watch
         * intercept gives KuaiRand's long_view share (0.332) at its mean play
         * time (15.7 s) — long replays hold up the mean while many clicked
         * plays end just past 7 s.
         */
        maxRatio: z.number().positive(),
        /** Mean play time (ms, exponential) of an exposure the user skims without a valid play; capped below the click threshold. 0 disables. Default 1500. */
        skimMeanMs: z.number().min(0),
      })
      .strict(),

    follow: z
      .object({
        /** f0: base follow logit (given a click, not yet following); fitted to KuaiRand's 0.0011 follow rate. */
        intercept: z.number(),
        /** Weight of the scaled user-author affinity s*a_ua. Default 1.0. */
        affinity: z.number(),
        /** Weight of the author quality b_a. Default 0.5. */
        quality: z.number(),
        /** Weight of log1p(n_ua): repeated clicks on an author lead to following. Default 0.8. */
        clicks: z.number(),
      })
      .strict(),

    gift: z
      .object({
        /** g0: base gift logit (given a click on a live streamer). Default -6.0. */
        intercept: z.number(),
        /** Weight of the scaled user-author affinity s*a_ua. Default 0.8. */
        affinity: z.number(),
        /** Weight of the follow flag f_ua (fans gift). Default 1.5. */
        follow: z.number(),
        /** Weight of log1p(g_ua) (gifting is habitual). Default 0.8. */
        gifts: z.number(),
        /** Mean of log(amount); amounts are coins, rounded, at least 1. Default 1.5. */
        amountLogMean: z.number(),
        /** Standard deviation of log(amount). Default 1.0. */
        amountLogStd: z.number().min(0),
      })
      .strict(),

    /** like | click; fitted to KuaiRand's 0.0185 like rate. */
    like: headSchema,
    /** comment | click; fitted to KuaiRand's 0.0026 comment rate. */
    comment: headSchema,
    /** forward | click; fitted to KuaiRand's 0.0010 forward rate. */
    forward: headSchema,
    /** hate on any exposure: logit = intercept + affinity * (s a_ui) (affinity is negative) + familiarity * phi. */
    hate: headSchema,

    session: z
      .object({
        /** Session budget (requests' worth of temper) of a user with activity 0. Default 2.0. */
        budgetBase: z.number().min(0),
        /** Extra budget per unit of activity (activity in [0, 1]). Default 6.0. */
        budgetPerActivity: z.number().min(0),
        /** Cost of one request, in budget units. Default 1.0. */
        requestCost: z.number().positive(),
        /** Budget refunded per click in the slate. Default 0.12. */
        refundClick: z.number().min(0),
        /** Budget refunded per unit of watch ratio (capped at 1 per item). Default 0.15. */
        refundWatchRatio: z.number().min(0),
        /** Budget refunded per like. Default 0.3. */
        refundLike: z.number().min(0),
        /** Budget refunded per new follow. Default 0.5. */
        refundFollow: z.number().min(0),
        /** Budget spent per repeated author within the session (boredom), times log1p(earlier exposures of the author). Default 0.01: the logging policy repeats recent and followed authors often, and a larger cost makes its sessions no longer than a random policy's. */
        repeatCost: z.number().min(0),
        /**
         * Largest refund of one request, as a share of its cost: a slate of
         * satisfaction s > 0 refunds c (1 - exp(-s / c)), c = refundCeiling *
         * requestCost (src/environment/quit-model.ts). Default 52/60 = 1 -
         * (budgetBase + budgetPerActivity) / 60: the most active user, shown
         * slates of unbounded satisfaction, reaches the 60-request cap and no
         * one passes it; without a ceiling a strong policy's sessions never end
         * (docs/design.md §6.2). Absent in world files written before it:
         * linear, as they ran.
         */
        refundCeiling: z.number().positive().optional(),
      })
      .strict(),

    returnGap: z
      .object({
        /** Daily return probability logit of a user with activity 0 and neutral satisfaction; fitted to KuaiRand's 61.7 % next-day return. Default -0.6. */
        intercept: z.number(),
        /** Weight of activity (0..1) in the daily return logit. Default 1.5. */
        activity: z.number(),
        /** Weight of the last session's satisfaction (mean refund per request, centred) in the logit. Default 2.0. */
        satisfaction: z.number(),
        /** Weight of log1p(number of deep pairs: followed authors) in the logit. Default 0.3. */
        deepPairs: z.number(),
      })
      .strict(),
  })
  .strict();

export type WorldConfig = z.infer<typeof worldConfigSchema>;

/** Recursive partial of the config, the shape of a `--world FILE.json` override. */
export type WorldConfigOverride = { [K in keyof WorldConfig]?: WorldConfig[K] extends object ? Partial<WorldConfig[K]> : WorldConfig[K] };

/** The documented defaults (see each field's JSDoc above). */
export const DEFAULT_WORLD_CONFIG: WorldConfig = Object.freeze({
  latentDim: 16,
  affinityScale: 0.9,
  tagScale: 0.6,
  itemNoise: 0.5,
  authorQualityStd: 0.5,
  liveStreamerShare: 0.226,
  popularityExponent: 1.0,
  familiarity: { clicks: 0.15, follow: 2.4, gifts: 0.3 },
  fatigue: { author: 0.3, tag: 0.15, position: 0.02 },
  click: { intercept: -2.7 },
  watch: { intercept: -1.7, affinity: 0.3, familiarity: 0.1, duration: -0.7, noise: 0.3, maxRatio: 1.2, skimMeanMs: 1500 },
  follow: { intercept: -10.4, affinity: 1.0, quality: 0.5, clicks: 0.8 },
  gift: { intercept: -6.0, affinity: 0.8, follow: 1.5, gifts: 0.8, amountLogMean: 1.5, amountLogStd: 1.0 },
  like: { intercept: -5.65, affinity: 0.6, familiarity: 0.2 },
  comment: { intercept: -7.3, affinity: 0.5, familiarity: 0.2 },
  forward: { intercept: -8.3, affinity: 0.5, familiarity: 0.2 },
  hate: { intercept: -6.45, affinity: -0.5, familiarity: -0.5 },
  session: {
    budgetBase: 2.0,
    budgetPerActivity: 6.0,
    requestCost: 1.0,
    refundClick: 0.12,
    refundWatchRatio: 0.15,
    refundLike: 0.3,
    refundFollow: 0.5,
    repeatCost: 0.01,
    refundCeiling: 52 / 60,
  },
  returnGap: { intercept: -0.6, activity: 1.5, satisfaction: 2.0, deepPairs: 0.3 },
} satisfies WorldConfig) as WorldConfig;

/** Thrown when a world config (or override) is invalid; names the field. */
export class WorldConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorldConfigError';
  }
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function deepMerge(base: unknown, override: unknown, path: string): unknown {
  if (!isPlainObject(override)) return override;
  if (!isPlainObject(base)) {
    throw new WorldConfigError(`world config: field '${path}' takes a ${typeof base}, not an object`);
  }
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const childPath = path ? `${path}.${key}` : key;
    if (!(key in base)) {
      throw new WorldConfigError(`world config: unknown field '${childPath}'; valid fields here: ${Object.keys(base).join(', ')}`);
    }
    out[key] = deepMerge(base[key], value, childPath);
  }
  return out;
}

/**
 * Validates a full config; throws {@link WorldConfigError} naming the first
 * bad field (dotted path) and what was expected.
 */
export function validateWorldConfig(config: unknown): WorldConfig {
  const parsed = worldConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys?: string[] }).keys ?? [];
      const named = keys.map((k) => (issue.path.length ? `${path}.${k}` : k)).join(', ');
      throw new WorldConfigError(`world config: unknown field '${named}'`);
    }
    throw new WorldConfigError(`world config: field '${path}': ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Deep-merges a partial override (e.g. the parsed `--world FILE.json`) over
 * `base` (default: the documented defaults) and validates the result.
 * Unknown keys are rejected with their dotted path; `base` is not modified.
 */
export function mergeWorldConfig(override: unknown = {}, base: WorldConfig = DEFAULT_WORLD_CONFIG): WorldConfig {
  if (override === undefined || override === null) return validateWorldConfig(structuredClone(base));
  if (!isPlainObject(override)) throw new WorldConfigError('world config: the override must be a JSON object');
  return validateWorldConfig(deepMerge(structuredClone(base), override, ''));
}
