/**
 * A learned-simulator file is self-contained: the params-io file's meta
 * embeds the world description (catalog source and seeds, world config) of
 * the data it was fitted on, so any command can rebuild the same catalog
 * (and the ground-truth world, for sim-to-real checks) from the one path.
 */
import { readFileSync } from 'node:fs';
import { ParamsFormatError, readParamsMeta } from '../numeric/index.js';
import type { Catalog } from '../world/catalog.js';
import type { GroundTruthWorld } from '../world/ground-truth-world.js';
import { loadSimulatorEnsemble, type SimulatorEnsemble } from './simulator-ensemble.js';
import { buildDescribedWorld, parseWorldDescription, type WorldDescription } from '../environment/world-description.js';

export const SIMULATOR_FILE = 'simulator.params';

export interface OpenedSimulator {
  /** The simulator: an ensemble (a single-model file loads as a one-member ensemble). */
  simulator: SimulatorEnsemble;
  catalog: Catalog;
  /** The ground-truth world the logs came from (for real KuaiRand logs: a world over the same catalog with the saved config). */
  world: GroundTruthWorld;
  description: WorldDescription;
}

/** Loads a simulator file written by `rliv fit-simulator` together with its catalog and world. */
export async function openSimulatorFile(path: string): Promise<OpenedSimulator> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ParamsFormatError(`cannot read simulator file ${path}: ${(err as Error).message}`);
  }
  const meta = readParamsMeta(bytes, path) as { world?: unknown } | null;
  if (!meta || meta.world === undefined)
    throw new ParamsFormatError(`${path}: the simulator file has no embedded world description; refit it with rliv fit-simulator`);
  const description = parseWorldDescription(meta.world, `${path} (embedded world)`);
  const { catalog, world } = await buildDescribedWorld(description);
  return { simulator: loadSimulatorEnsemble(path, catalog), catalog, world, description };
}
