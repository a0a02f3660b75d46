/**
 * The static side of a world: users, authors and items as struct-of-arrays
 * (dense ids 0..n-1), shared read-only by the world, the simulator, the
 * agents and the serving layer. Built by the world generator (synthetic or
 * from the real KuaiRand-Pure tables).
 */
export interface Catalog {
  numUsers: number;
  numAuthors: number;
  numItems: number;
  /** Number of distinct tags; tag ids are 0..numTags-1. */
  numTags: number;

  /** Names of the categorical user feature fields, in column order of `userFeatures`. */
  userFeatureFields: readonly string[];
  /** numUsers x userFeatureFields.length categorical codes (0 = missing). */
  userFeatures: Int32Array;
  /** Activity level in [0, 1] (from user_active_degree); sets session budget and return rate. */
  userActivity: Float32Array;
  /** Original KuaiRand user_id of each dense user id (identity for synthetic users). */
  userRawId: Int32Array;

  /** Author (dense id) of each item. */
  itemAuthor: Int32Array;
  /** Primary tag of each item. */
  itemTag: Int32Array;
  /** Duration of each item in milliseconds. */
  itemDurationMs: Float32Array;
  /** Names of the categorical item feature fields, in column order of `itemFeatures`. */
  itemFeatureFields: readonly string[];
  /** numItems x itemFeatureFields.length categorical codes (0 = missing). */
  itemFeatures: Int32Array;
  /** Original KuaiRand video_id of each dense item id. */
  itemRawId: Int32Array;

  /** 1 when the author is a live streamer (can receive gifts). */
  authorIsLive: Uint8Array;
  /** Exposure popularity weight of each author (power law; sums to 1). */
  authorPopularity: Float32Array;
  /** CSR index of each author's items: items of author a are authorItemIds[authorItemOffsets[a] .. authorItemOffsets[a+1]). */
  authorItemOffsets: Int32Array;
  authorItemIds: Int32Array;
  /** Original KuaiRand author_id of each dense author id. */
  authorRawId: Int32Array;
}
