/**
 * Everything needed to rebuild a generated world exactly — the catalog's
 * source (synthetic options or the paths of the real KuaiRand tables) and
 * seed, the fitted world config and the world's seed — written as
 * `world.json` beside generated logs and embedded in saved simulators, so
 * `rliv fit-simulator`, `train` and `evaluate` see the same users, items and
 * ground truth that `rliv generate` did.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { Rng } from '../numeric/rng.js';
import { buildCatalog } from '../world/catalog-builder.js';
import type { Catalog } from '../world/catalog.js';
import { createWorld, type GroundTruthWorld } from '../world/ground-truth-world.js';
import { loadCatalogFromKuaiRand } from '../world/load-catalog.js';
import { validateWorldConfig, type WorldConfig } from '../world/world-config.js';

export const WORLD_DESCRIPTION_FILE = 'world.json';

const descriptionSchema = z.object({
  kind: z.literal('rliv-world'),
  version: z.literal(1),
  /** Seed of the catalog builder's Rng. */
  catalogSeed: z.number().int(),
  /** Seed of the ground-truth world (latent vectors). */
  worldSeed: z.number().int(),
  /** Absolute paths of the real tables, when built on them. */
  usersPath: z.string().optional(),
  videosPath: z.string().optional(),
  /** Synthetic sizes (absent = the tables' rows or the builder's defaults). */
  numUsers: z.number().int().positive().optional(),
  numItems: z.number().int().positive().optional(),
  /** The full (fitted) world config. */
  worldConfig: z.unknown(),
});

export type WorldDescription = Omit<z.infer<typeof descriptionSchema>, 'worldConfig'> & { worldConfig: WorldConfig };

/** Thrown for an unreadable or invalid world description; names the source. */
export class WorldDescriptionError extends Error {
  override name = 'WorldDescriptionError';
}

/** Validates a parsed description (from world.json or a simulator file's meta). */
export function parseWorldDescription(x: unknown, source: string): WorldDescription {
  const parsed = descriptionSchema.safeParse(x);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WorldDescriptionError(
      `${source}: not an rliv world description (field '${issue.path.join('.') || '(root)'}': ${issue.message}); it is written by rliv generate`,
    );
  }
  let worldConfig: WorldConfig;
  try {
    worldConfig = validateWorldConfig(parsed.data.worldConfig);
  } catch (err) {
    throw new WorldDescriptionError(`${source}: ${(err as Error).message}`);
  }
  return { ...parsed.data, worldConfig };
}

export function readWorldDescription(path: string): WorldDescription {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WorldDescriptionError(`cannot read world description ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new WorldDescriptionError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseWorldDescription(json, path);
}

/**
 * Builds the catalog a description names (reading the real tables when it
 * has paths). A synthetic catalog's author popularity follows
 * `popularityExponent`, by default the description's own
 * `worldConfig.popularityExponent`, so a world's description rebuilds the
 * catalog its world and logs were made with.
 */
export async function buildDescribedCatalog(
  d: Omit<WorldDescription, 'worldConfig'> & { worldConfig?: Pick<WorldConfig, 'popularityExponent'> },
  popularityExponent: number | undefined = d.worldConfig?.popularityExponent,
): Promise<Catalog> {
  const rng = new Rng(d.catalogSeed);
  const sizes = { ...(d.numUsers !== undefined ? { numUsers: d.numUsers } : {}), ...(d.numItems !== undefined ? { numItems: d.numItems } : {}) };
  if (d.usersPath || d.videosPath) return loadCatalogFromKuaiRand(d.usersPath && resolve(d.usersPath), d.videosPath && resolve(d.videosPath), sizes, rng);
  return buildCatalog({ ...sizes, ...(popularityExponent !== undefined ? { popularityExponent } : {}) }, rng);
}

/** Catalog and ground-truth world of a description. */
export async function buildDescribedWorld(d: WorldDescription): Promise<{ catalog: Catalog; world: GroundTruthWorld }> {
  const catalog = await buildDescribedCatalog(d, d.worldConfig.popularityExponent);
  return { catalog, world: createWorld(catalog, d.worldConfig, d.worldSeed) };
}
