/**
 * Per-id views of a catalog's categorical feature rows, made once per id and
 * shared by every impression of that user or item. The label joiner keeps an
 * impression's features by reference for the whole join window (30 s in the
 * service, ~90k impressions at 500 requests/s), so a fresh subarray per
 * impression was that many long-lived objects for the garbage collector to
 * trace; these views are bounded by the catalog size and live as long as it.
 */
import type { Catalog } from '../world/catalog.js';

export class CatalogFeatureViews {
  private readonly users: (Int32Array | undefined)[];
  private readonly items: (Int32Array | undefined)[];
  private readonly userDim: number;
  private readonly itemDim: number;

  constructor(readonly catalog: Catalog) {
    this.users = new Array(catalog.numUsers);
    this.items = new Array(catalog.numItems);
    this.userDim = catalog.userFeatureFields.length;
    this.itemDim = catalog.itemFeatureFields.length;
  }

  /** The feature row of user `u` (0 <= u < numUsers). */
  user(u: number): Int32Array {
    return (this.users[u] ??= this.catalog.userFeatures.subarray(u * this.userDim, u * this.userDim + this.userDim));
  }

  /** The feature row of item `i` (0 <= i < numItems). */
  item(i: number): Int32Array {
    return (this.items[i] ??= this.catalog.itemFeatures.subarray(i * this.itemDim, i * this.itemDim + this.itemDim));
  }
}
