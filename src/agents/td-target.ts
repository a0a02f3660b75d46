/**
 * The TD target of one LIV tower (paper eq. 2 and 7, docs/design.md §4.2):
 *
 *   y = r + gamma * max_{j in I_a} min(Q'_1, Q'_2)(H^{t+1}_j)
 *
 * where I_a are the items of the interaction's author a (sampled down to
 * `maxNextItems`), H^{t+1}_j = (f_u, f_a, f_ua^{t+1} from ASA, item j's static
 * features) and Q'_k are the target critics. The min is clipped double
 * Q-learning (paper eq. 5); the max is the greedy next action of the same
 * pair — the next interaction of (u, a) may show any of a's items.
 *
 * Two pieces: `sampleNextItems` picks the items j per sample (seeded), and
 * `computeTdTargets` reduces the target critics' values to y.
 */
import type { Catalog } from '../world/catalog.js';
import type { Rng } from '../numeric/rng.js';

/**
 * For each of `count` samples, writes the candidate next items of its author
 * into `outItems`: sample b owns `outItems[outOffsets[b] .. outOffsets[b+1])`.
 * Authors with at most `maxNextItems` items contribute all of them (in CSR
 * order, no randomness); larger ones a uniform sample without replacement
 * (Floyd's algorithm, drawn from `rng`). Returns the total number of items
 * written. `outItems` needs room for count * maxNextItems, `outOffsets` for
 * count + 1.
 */
export function sampleNextItems(
  catalog: Catalog,
  authors: Int32Array,
  count: number,
  maxNextItems: number,
  rng: Rng,
  outItems: Int32Array,
  outOffsets: Int32Array,
): number {
  if (outItems.length < count * maxNextItems) throw new RangeError(`sampleNextItems: outItems holds ${outItems.length}, needs ${count * maxNextItems}`);
  if (outOffsets.length < count + 1) throw new RangeError(`sampleNextItems: outOffsets holds ${outOffsets.length}, needs ${count + 1}`);
  const offs = catalog.authorItemOffsets;
  const ids = catalog.authorItemIds;
  let total = 0;
  outOffsets[0] = 0;
  for (let b = 0; b < count; b++) {
    const a = authors[b]!;
    if (a < 0 || a >= catalog.numAuthors)
      throw new RangeError(`sampleNextItems: author ${a} of sample ${b} is not in the catalog (0..${catalog.numAuthors - 1})`);
    const start = offs[a]!;
    const n = offs[a + 1]! - start;
    if (n <= maxNextItems) {
      for (let i = 0; i < n; i++) outItems[total + i] = ids[start + i]!;
      total += n;
    } else {
      // Floyd: for j = n-m .. n-1 pick t in [0, j]; take j instead when t is already taken.
      const first = total;
      for (let j = n - maxNextItems; j < n; j++) {
        const t = rng.int(j + 1);
        let pick = t;
        for (let q = first; q < total; q++) {
          if (outItems[q] === ids[start + t]) {
            pick = j;
            break;
          }
        }
        outItems[total++] = ids[start + pick]!;
      }
    }
    outOffsets[b + 1] = total;
  }
  return total;
}

/**
 * y_b = reward_b + gamma * max over the rows j of sample b (rows
 * `nextOffsets[b] .. nextOffsets[b+1])`) of min(q1[j], q2[j]) — or of
 * (q1[j] + q2[j]) / 2 with `critics` = 'mean' (a diagnostic control, see
 * RlivUaConfig.targetCritics).
 * A sample with no next rows gets y = reward (cannot happen for catalog
 * authors: the interaction's own item is always one of its author's items).
 *
 * @param rewards the tower's reward of each sample: `rewards[b * rewardStride + rewardOffset]`.
 * @param q1 Q'_1 of each next row; @param q2 Q'_2 of each next row.
 * @param out y per sample (length >= count).
 */
export function computeTdTargets(
  count: number,
  rewards: Float32Array,
  rewardStride: number,
  rewardOffset: number,
  q1: Float32Array,
  q2: Float32Array,
  nextOffsets: Int32Array,
  gamma: number,
  out: Float32Array,
  critics: 'min' | 'mean' = 'min',
): void {
  const mean = critics === 'mean';
  for (let b = 0; b < count; b++) {
    const start = nextOffsets[b]!;
    const end = nextOffsets[b + 1]!;
    const r = rewards[b * rewardStride + rewardOffset]!;
    if (end <= start) {
      out[b] = r;
      continue;
    }
    let best = -Infinity;
    for (let j = start; j < end; j++) {
      const a = q1[j]!;
      const c = q2[j]!;
      const m = mean ? 0.5 * (a + c) : a < c ? a : c;
      if (m > best) best = m;
    }
    out[b] = r + gamma * best;
  }
}
