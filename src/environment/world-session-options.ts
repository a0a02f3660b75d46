/**
 * The ground-truth world's config carries its own session (temper) and
 * return-gap parameters; this maps them onto the environment's quit and
 * return models, so `--env world` runs sessions exactly as the world's
 * config says (and `--env simulator` reuses them for the learned model).
 */
import type { WorldConfig } from '../world/world-config.js';
import type { EnvironmentOptions } from './environment.js';

export function sessionOptionsFromWorld(config: WorldConfig): Pick<EnvironmentOptions, 'quit' | 'returnModel'> {
  const s = config.session;
  const r = config.returnGap;
  return {
    quit: {
      budgetBase: s.budgetBase,
      budgetPerActivity: s.budgetPerActivity,
      costPerRequest: s.requestCost,
      clickWeight: s.refundClick,
      watchRatioWeight: s.refundWatchRatio,
      likeWeight: s.refundLike,
      followWeight: s.refundFollow,
      repeatAuthorPenalty: s.repeatCost,
      // Worlds written before the ceiling existed refund linearly, as they ran.
      refundCeiling: s.refundCeiling ?? Infinity,
    },
    returnModel: {
      intercept: r.intercept,
      activityWeight: r.activity,
      satisfactionWeight: r.satisfaction,
      satisfactionRef: 0.5,
      // The world counts followed authors as its stickiness term.
      followWeight: r.deepPairs,
    },
  };
}
