/**
 * Builds the environment a training run talks to, from a small serializable
 * spec (kept in checkpoints, so `--resume` and `evaluate` rebuild the same
 * environment):
 * - `world`: the ground-truth synthetic world (catalog + latent users,
 *   authors, items), built from the seed — what `rliv train` uses when it is
 *   given no simulator, so it works on a fresh clone in seconds;
 * - `simulator`: the learned user-response model fitted by
 *   `rliv fit-simulator` (`--simulator FILE`).
 * Either way the responses are wrapped by the simulator's `Environment`
 * (candidates, quit model, return model, pair counts) and made checkpointable
 * by {@link ReplayableEnvironment}.
 */
import { Rng } from '../numeric/rng.js';
import { Environment } from '../simulator/environment.js';
import type { SlatePolicy } from '../simulator/slate-policy.js';
import { RandomPolicy } from '../simulator/slate-policy.js';
import { buildCatalog } from '../world/catalog-builder.js';
import type { Catalog } from '../world/catalog.js';
import { createWorld } from '../world/ground-truth-world.js';
import type { ResponseModel } from '../world/response.js';
import { ReplayableEnvironment } from './replayable-environment.js';

/** What to build; JSON, stored in checkpoints. */
export interface TrainEnvironmentSpec {
  /** `world` (ground truth) or `simulator` (learned model from `simulatorPath`). */
  kind: 'world' | 'simulator';
  /** File written by `rliv fit-simulator` (kind `simulator` only). */
  simulatorPath?: string;
  /** Users of the synthetic default world. */
  users: number;
  /** Items of the synthetic default world. */
  items: number;
  /** Seed of the world and of the environment's streams. */
  seed: number;
}

export interface BuiltEnvironment {
  catalog: Catalog;
  env: ReplayableEnvironment;
  /** One line for logs: what was built. */
  description: string;
}

/** Builds a fresh environment from `spec` (same spec -> same environment). */
export async function buildTrainingEnvironment(spec: TrainEnvironmentSpec): Promise<BuiltEnvironment> {
  if (spec.kind === 'simulator') {
    throw new Error('--env simulator needs the learned simulator, which this build cannot load yet; use --env world');
  }
  if (!(Number.isInteger(spec.users) && spec.users >= 2)) throw new RangeError(`the default world needs an integer number of users >= 2; got ${spec.users}`);
  if (!(Number.isInteger(spec.items) && spec.items >= 1)) throw new RangeError(`the default world needs an integer number of items >= 1; got ${spec.items}`);
  const root = new Rng(spec.seed);
  const catalog = buildCatalog({ numUsers: spec.users, numItems: spec.items }, root.fork('catalog'));
  const responder: ResponseModel = createWorld(catalog, undefined, root.fork('world').seed);
  const env = new Environment(catalog, responder, { seed: root.fork('environment').seed });
  const logging = (rng: Rng): SlatePolicy => new RandomPolicy(rng);
  return {
    catalog,
    env: new ReplayableEnvironment(env, logging),
    description: `ground-truth world: ${catalog.numUsers} users, ${catalog.numAuthors} authors, ${catalog.numItems} items (seed ${spec.seed})`,
  };
}
