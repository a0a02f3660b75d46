/**
 * The fatigue prior of the learned simulator (docs/design.md §10.2): a
 * repeat of an author (or tag) within a session never makes an exposure
 * nobody selected more likely to be clicked.
 *
 * The random log's repeat offsets (the ones simulation uses) are fitted on
 * repeats that came by chance (`LearnedSimulatorShape.fatigueFrom`), and
 * such repeats are rare past a few: 3 days of quick-preset logs hold about
 * 5,000 of them at one repeat, 1,700 at 2-3, 330 at 4-7 and 17 at 8 or
 * more. So, per repeat kind:
 *   1. the identified buckets are the longest prefix of log2 buckets
 *      (0, 1, 2-3, 4-7, ...) each fitted on at least `minRows` rows;
 *   2. on them the offsets are projected onto non-increasing sequences,
 *      weighted by rows (pool adjacent violators: the weighted least-squares
 *      projection);
 *   3. every bucket past them takes the last identified value: the logs say
 *      nothing there, and flat is the assumption that credits no one.
 * Nothing is chosen by a model's result or the world: the rule reads the
 * fitted offsets and the training rows' counts only.
 */

/** Rows a bucket needs to count as identified. About 0.2 logits of standard error at a click rate of 0.15. */
export const FATIGUE_MIN_ROWS = 200;

/**
 * `offsets[b]` (bucket b's click-logit offset) projected as above, given
 * `rows[b]` training rows per bucket; returns a new array. Without an
 * identified first bucket the offsets are returned unchanged.
 */
export function nonIncreasingFatigue(offsets: ArrayLike<number>, rows: ArrayLike<number>, minRows = FATIGUE_MIN_ROWS): Float32Array {
  const n = offsets.length;
  if (rows.length !== n) throw new RangeError(`nonIncreasingFatigue: ${n} offsets but ${rows.length} row counts`);
  const out = Float32Array.from(offsets);
  let identified = 0;
  while (identified < n && rows[identified]! >= minRows) identified++;
  if (identified === 0) return out;
  // Pool adjacent violators for a non-increasing fit: blocks of (mean, weight, length).
  const mean: number[] = [];
  const weight: number[] = [];
  const length: number[] = [];
  for (let b = 0; b < identified; b++) {
    mean.push(offsets[b]!);
    weight.push(rows[b]!);
    length.push(1);
    // A block above the one before it breaks the order: merge the two into their weighted mean.
    for (let top = mean.length - 1; top > 0 && mean[top]! > mean[top - 1]!; top--) {
      const w = weight[top - 1]! + weight[top]!;
      mean[top - 1] = (mean[top - 1]! * weight[top - 1]! + mean[top]! * weight[top]!) / w;
      weight[top - 1] = w;
      length[top - 1]! += length[top]!;
      mean.pop();
      weight.pop();
      length.pop();
    }
  }
  let b = 0;
  for (let k = 0; k < mean.length; k++) for (let j = 0; j < length[k]!; j++) out[b++] = mean[k]!;
  for (; b < n; b++) out[b] = out[identified - 1]!;
  return out;
}
