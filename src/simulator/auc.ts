/**
 * Ranking and calibration figures of a binary predictor, used to report
 * the learned simulator's held-out quality.
 */

/**
 * ROC AUC of `scores` against 0/1 `labels` over the first n entries: the
 * probability that a random positive outscores a random negative (ties
 * count one half), by the rank-sum (Mann-Whitney) formula with average
 * ranks for ties. NaN when there are no positives or no negatives.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, n = scores.length): number {
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]!]) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean binary cross-entropy (natural log) of probabilities against 0/1 labels, probabilities clipped to [1e-7, 1 - 1e-7]. */
export function logLoss(probs: ArrayLike<number>, labels: ArrayLike<number>, n = probs.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, probs[i]!));
    s -= labels[i] ? Math.log(p) : Math.log(1 - p);
  }
  return n > 0 ? s / n : NaN;
}
