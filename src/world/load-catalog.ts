/**
 * `--users PATH --videos PATH`: builds a {@link Catalog} from the real
 * KuaiRand feature tables (either or both; a missing side is synthetic).
 * See buildCatalog for what is taken from each table.
 */
import { existsSync } from 'node:fs';
import type { Rng } from '../numeric/rng.js';
import type { Catalog } from './catalog.js';
import { buildCatalog, CatalogOptionsError, type CatalogOptions } from './catalog-builder.js';
import { loadUserFeatures, loadVideoFeatures } from '../data/kuairand-reader.js';

export async function loadCatalogFromKuaiRand(
  usersPath: string | undefined,
  videosPath: string | undefined,
  options: Omit<CatalogOptions, 'userTable' | 'videoTable'>,
  rng: Rng,
): Promise<Catalog> {
  if (usersPath !== undefined && !existsSync(usersPath))
    throw new CatalogOptionsError(`user features table not found: ${usersPath} (give the path of a KuaiRand user_features_*.csv)`);
  if (videosPath !== undefined && !existsSync(videosPath))
    throw new CatalogOptionsError(`video features table not found: ${videosPath} (give the path of a KuaiRand video_features_basic_*.csv)`);
  const [userTable, videoTable] = await Promise.all([
    usersPath ? loadUserFeatures(usersPath) : Promise.resolve(undefined),
    videosPath ? loadVideoFeatures(videosPath) : Promise.resolve(undefined),
  ]);
  return buildCatalog({ ...options, userTable, videoTable }, rng);
}
