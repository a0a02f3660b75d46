/**
 * What `rliv tune` may change, per model (issue 15 item 2; docs/design.md
 * §8.5): the knobs the authors of each method would tune — learning rates,
 * the discount or the target rule, exploration while collecting, and the
 * Huber delta of the Huber-loss critics — each with a few values, the
 * model's default among them.
 *
 * | model                 | knobs (their values are in TUNING_GRIDS below)                     |
 * |-----------------------|--------------------------------------------------------------------|
 * | RankingModel          | lr; embedding init scale; deep part's hidden sizes (supervised, offline: no discount, no exploration) |
 * | DQN                   | critic lr; gamma; Huber delta; exploration epsilon                  |
 * | CQL                   | critic lr; gamma; Huber delta; conservative weight alpha (offline: no exploration) |
 * | TD3                   | critic lr; actor lr; gamma; exploration epsilon (MSE critics: no delta) |
 * | RLUR                  | critic lr; actor lr; gamma; exploration epsilon (MSE critics: no delta) |
 * | RLIV-UA and ablations | learning rate (towers and embedding table together); gamma; target rule (min or mean of the two target critics); Huber delta; exploration epsilon |
 *
 * Every model gets the SAME budget of configurations: config 0 is its
 * default (no overrides), the other `budget - 1` are distinct points of its
 * grid drawn uniformly without replacement (random search, Bergstra &
 * Bengio 2012) from a stream seeded by the tuning seed and the model's
 * name. Every grid has at least 27 points, so any budget up to 27 is the
 * same for every model.
 */
import { PAPER_MODEL_ORDER } from '../agents/registry.js';
import { Rng } from '../numeric/rng.js';

/** One knob: its name (for reports) and the overrides each of its values stands for (the model's default is one of them). */
export interface Knob {
  name: string;
  /** Partial per-model entries of an --agent-config file (agent fields, and `exploration` fields). */
  values: Array<Record<string, unknown>>;
}

const lr = (field: string, values: number[]): Knob => ({ name: field, values: values.map((v) => ({ [field]: v })) });
const EPSILON: Knob = { name: 'exploration.epsilon', values: [0.1, 0.2, 0.4].map((epsilon) => ({ exploration: { epsilon } })) };
const GAMMA: Knob = lr('gamma', [0.8, 0.9, 0.95]);
const HUBER: Knob = lr('huberDelta', [1, 10]);
const RLIV_UA_KNOBS: Knob[] = [
  { name: 'lr = embeddingLr', values: [3e-4, 1e-3, 3e-3].map((v) => ({ lr: v, embeddingLr: v })) },
  GAMMA,
  { name: 'targetCritics', values: [{ targetCritics: 'min' }, { targetCritics: 'mean' }] },
  HUBER,
  EPSILON,
];

/** The grid of every model of the experiment. */
export const TUNING_GRIDS: Record<string, Knob[]> = {
  RankingModel: [
    lr('lr', [3e-4, 1e-3, 3e-3]),
    lr('initScale', [0.01, 0.05, 0.1]),
    { name: 'hidden', values: [[64, 64], [128, 128], [64]].map((hidden) => ({ hidden })) },
  ],
  CQL: [lr('criticLr', [3e-4, 1e-3, 3e-3]), GAMMA, HUBER, lr('cqlAlpha', [0.1, 1, 5])],
  DQN: [lr('criticLr', [3e-4, 1e-3, 3e-3]), GAMMA, HUBER, EPSILON],
  TD3: [lr('criticLr', [3e-4, 1e-3, 3e-3]), lr('actorLr', [3e-5, 1e-4, 3e-4]), GAMMA, EPSILON],
  RLUR: [lr('criticLr', [3e-4, 1e-3, 3e-3]), lr('actorLr', [3e-5, 1e-4, 3e-4]), GAMMA, EPSILON],
  'RLIV-UA': RLIV_UA_KNOBS,
  'RLIV-UA(w/o MT & SL)': RLIV_UA_KNOBS,
  'RLIV-UA(w/o MT)': RLIV_UA_KNOBS,
  'RLIV-UA(w/o SL)': RLIV_UA_KNOBS,
  'RLIV-UA(w/o AL & SL)': RLIV_UA_KNOBS,
};

/** Largest budget every grid can fill. */
export const MAX_TUNING_BUDGET = Math.min(...Object.values(TUNING_GRIDS).map(gridSize));

/** Points of a grid. */
export function gridSize(knobs: readonly Knob[]): number {
  return knobs.reduce((n, k) => n * k.values.length, 1);
}

/** The overrides of grid point `index` (mixed radix over the knobs, first knob fastest). */
export function gridPoint(knobs: readonly Knob[], index: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let rest = index;
  for (const k of knobs) {
    const v = k.values[rest % k.values.length]!;
    rest = Math.floor(rest / k.values.length);
    mergeEntry(out, v);
  }
  return out;
}

/** Adds `part` into the per-model entry `into` (exploration fields merged, not replaced). */
export function mergeEntry(into: Record<string, unknown>, part: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(part)) {
    if (k === 'exploration') into.exploration = { ...((into.exploration as Record<string, unknown> | undefined) ?? {}), ...(v as Record<string, unknown>) };
    else into[k] = v;
  }
  return into;
}

/**
 * `budget` candidate configs of `model`: config 0 is the default (`{}`, no
 * override), the others distinct grid points, seeded by `seed` and the
 * model's name. A grid point equal to the default (every knob at the
 * default's value) is never drawn twice: it IS config 0.
 *
 * @param defaults the model's resolved default config and exploration, to recognise the default point.
 */
export function candidateConfigs(
  model: string,
  budget: number,
  seed: number,
  isDefault: (entry: Record<string, unknown>) => boolean,
): Array<Record<string, unknown>> {
  const knobs = TUNING_GRIDS[model];
  if (!knobs) throw new RangeError(`no tuning grid for model "${model}"; models: ${Object.keys(TUNING_GRIDS).join(', ')}`);
  if (!(Number.isInteger(budget) && budget >= 1 && budget <= MAX_TUNING_BUDGET)) {
    throw new RangeError(`tuning budget must be an integer in [1, ${MAX_TUNING_BUDGET}] (the smallest grid has ${MAX_TUNING_BUDGET} points), got ${budget}`);
  }
  const points = Array.from({ length: gridSize(knobs) }, (_, i) => i).filter((i) => !isDefault(gridPoint(knobs, i)));
  new Rng(seed).fork(`tune/${model}`).shuffle(points);
  return [{}, ...points.slice(0, budget - 1).map((i) => gridPoint(knobs, i))];
}

/** Models with a grid, in the paper's order. */
export const TUNABLE_MODELS: readonly string[] = PAPER_MODEL_ORDER.filter((m) => TUNING_GRIDS[m]);
