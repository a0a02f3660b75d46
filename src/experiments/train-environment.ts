/**
 * Builds the environment a training run talks to, from a small JSON spec
 * that is kept in checkpoints, so `--resume` and `evaluate` rebuild exactly
 * the same environment without redoing any fitting:
 *
 * - `world` with no description: the DEFAULT world — the same calibrated
 *   ground-truth world `rliv generate --preset P --seed S` builds (synthetic
 *   catalog of the preset's size, the generation world defaults, head
 *   intercepts fitted by bisection so the logging policy reproduces
 *   KuaiRand-Pure's rates). The fitted description is then stored in the
 *   spec, so the calibration runs once per run, not on resume. The `smoke`
 *   scale skips the calibration (it would dominate a run meant to take
 *   seconds): its intercepts are the config's documented starting values;
 * - `world` with a description (`--world FILE`, the world.json written by
 *   `rliv generate`): that world;
 * - `simulator` (`--simulator FILE` from `rliv fit-simulator`): the learned
 *   user-response model, over the catalog of the world it was fitted on.
 *
 * Either way the responses are wrapped by the simulator's `Environment`
 * (candidate generator, the world's quit and return parameters, lifelong
 * pair counts), made checkpointable by {@link ReplayableEnvironment}; offline
 * agents learn from the world's logging policy (the behaviour policy of the
 * generated logs).
 */
import { Rng } from '../numeric/rng.js';
import { calibrateWorld } from '../environment/calibration.js';
import { Environment, type EnvironmentOptions } from '../environment/environment.js';
import { GENERATION_PRESETS, GENERATION_WORLD_DEFAULTS, calibrationUsersFor, worldLoggingPolicy } from '../environment/log-generation.js';
import type { SlatePolicy } from '../environment/slate-policy.js';
import {
  buildDescribedCatalog,
  buildDescribedWorld,
  parseWorldDescription,
  readWorldDescription,
  type WorldDescription,
} from '../environment/world-description.js';
import { sessionOptionsFromWorld } from '../environment/world-session-options.js';
import { openSimulatorFile } from '../simulator/simulator-file.js';
import type { Catalog } from '../world/catalog.js';
import { createWorld, type GroundTruthWorld } from '../world/ground-truth-world.js';
import type { ResponseModel } from '../world/response.js';
import { mergeWorldConfig } from '../world/world-config.js';
import { ReplayableEnvironment } from './replayable-environment.js';

/** Scales of the default world (the generation presets of `rliv generate`). */
export type DefaultWorldScale = keyof typeof GENERATION_PRESETS;

/** What to build; JSON, stored in checkpoints. */
export interface TrainEnvironmentSpec {
  /** `world` (ground truth) or `simulator` (learned model from `simulatorPath`). */
  kind: 'world' | 'simulator';
  /** File written by `rliv fit-simulator` (kind `simulator` only). */
  simulatorPath?: string;
  /** The world (catalog source, seeds, fitted config); absent = build and calibrate the default world. */
  world?: WorldDescription;
  /** Scale of the default world (users, items, candidates per request, calibration budget). */
  scale: DefaultWorldScale;
  /** Seed of the default world and of the environment's streams. */
  seed: number;
}

export interface BuiltEnvironment {
  catalog: Catalog;
  env: ReplayableEnvironment;
  /** The spec with the world description filled in (store this one: it rebuilds without calibrating). */
  spec: TrainEnvironmentSpec;
  /** One line for logs: what was built. */
  description: string;
}

/** Reads `--world FILE` (world.json of `rliv generate`). */
export function readWorldFile(path: string): WorldDescription {
  return readWorldDescription(path);
}

/** The default world of a scale and seed: described and calibrated exactly as `rliv generate` does. */
async function defaultWorld(
  scaleName: DefaultWorldScale,
  seed: number,
  log: (line: string) => void,
): Promise<{ description: WorldDescription; catalog: Catalog; world: GroundTruthWorld }> {
  const scale = GENERATION_PRESETS[scaleName];
  const root = new Rng(seed);
  const partial: Omit<WorldDescription, 'worldConfig'> = {
    kind: 'rliv-world',
    version: 1,
    catalogSeed: root.fork('catalog').seed,
    worldSeed: root.fork('world').seed,
    numUsers: scale.numUsers,
    numItems: scale.numItems,
  };
  const catalog = await buildDescribedCatalog(partial);
  const world = createWorld(catalog, mergeWorldConfig(GENERATION_WORLD_DEFAULTS), partial.worldSeed);
  const policySeed = root.fork('logging-policy').seed;
  if (scaleName === 'smoke') {
    log("smoke world: head intercepts left at the config's starting values (not calibrated; use --preset quick or --world FILE for a calibrated world)");
    return { description: { ...partial, worldConfig: world.config }, catalog, world };
  }
  log(`calibrating the default world (${scaleName}: ${catalog.numUsers} users, ${catalog.numItems} items) to KuaiRand-Pure's rates ...`);
  const result = calibrateWorld(catalog, world, {
    policy: () => worldLoggingPolicy(catalog, world, policySeed),
    environment: { seed: root.fork('logs').seed, numCandidates: Math.min(scale.numCandidates, catalog.numItems) },
    users: calibrationUsersFor(scale, catalog.numUsers),
    days: scale.days,
    warmUpDays: scale.warmUpDays,
    rounds: scale.calibrationRounds,
  });
  log(`calibration: ${result.evaluations} environment runs`);
  return { description: { ...partial, worldConfig: world.config }, catalog, world };
}

/**
 * Builds a fresh environment from `spec` (same spec -> same environment).
 * `log` receives progress lines (calibration).
 */
export async function buildTrainingEnvironment(spec: TrainEnvironmentSpec, log: (line: string) => void = () => {}): Promise<BuiltEnvironment> {
  const scale = GENERATION_PRESETS[spec.scale];
  if (!scale) throw new RangeError(`unknown world scale "${spec.scale}"; choose one of ${Object.keys(GENERATION_PRESETS).join(', ')}`);
  let description: WorldDescription;
  let catalog: Catalog;
  let world: GroundTruthWorld;
  let simulator: ResponseModel | undefined;
  if (spec.kind === 'simulator') {
    if (!spec.simulatorPath) throw new Error('--env simulator needs --simulator FILE (written by "rliv fit-simulator")');
    // The file embeds the world it was fitted on: its catalog, and the ground truth behind the logs.
    const opened = await openSimulatorFile(spec.simulatorPath);
    ({ description, catalog, world } = opened);
    simulator = opened.simulator;
  } else if (spec.world) {
    description = parseWorldDescription(spec.world, "the run's world description");
    ({ catalog, world } = await buildDescribedWorld(description));
  } else {
    ({ description, catalog, world } = await defaultWorld(spec.scale, spec.seed, log));
  }
  const responder: ResponseModel = simulator ?? world;
  const root = new Rng(spec.seed);
  const options: Partial<EnvironmentOptions> = {
    seed: root.fork('environment').seed,
    numCandidates: Math.min(scale.numCandidates, catalog.numItems),
    ...sessionOptionsFromWorld(description.worldConfig),
  };
  const env = new Environment(catalog, responder, options);
  const policySeed = root.fork('logging-policy').seed;
  // A fresh logging policy per call, seeded from the trainer's per-epoch stream, so resumes replay it exactly.
  const logging = (rng: Rng): SlatePolicy => worldLoggingPolicy(catalog, world, (policySeed ^ rng.nextUint32()) >>> 0);
  return {
    catalog,
    env: new ReplayableEnvironment(env, logging),
    spec: { ...spec, world: description },
    description: `${spec.kind === 'simulator' ? `learned simulator ${spec.simulatorPath} over` : 'ground-truth world:'} ${catalog.numUsers} users, ${catalog.numAuthors} authors, ${catalog.numItems} items, ${options.numCandidates} candidates per request (seed ${spec.seed})`,
  };
}
