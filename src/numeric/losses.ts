/**
 * Losses of the numeric core. Each returns the MEAN loss over n predictions
 * and, when `grad` is given, writes d(mean loss)/d(pred) into grad[0..n).
 * Computed in double precision per element, accumulated in a JS number.
 * - Huber(delta) (PyTorch's HuberLoss): 0.5 r^2 if |r| <= delta, else delta (|r| - delta/2), r = pred - target;
 *   the critics' TD regression loss.
 * - BCE with logits: softplus(z) - y z, computed stably; the click/follow heads.
 * - MSE: r^2.
 * `sumOfColumnMeans` turns a loss over a [batch, G] matrix of head outputs
 * into the SUM of the G per-head mean losses (the RLIV-UA objective).
 */

function check(what: string, a: Float32Array, b: Float32Array, n: number, grad?: Float32Array): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what}: n must be a positive integer, got ${n}`);
  if (a.length < n || b.length < n || (grad && grad.length < n)) {
    throw new RangeError(`${what}: n = ${n} but got arrays of ${a.length}, ${b.length}${grad ? `, ${grad.length}` : ''} values`);
  }
}

export function huberLoss(pred: Float32Array, target: Float32Array, n: number, delta: number, grad?: Float32Array): number {
  check('huberLoss', pred, target, n, grad);
  if (!(delta > 0)) throw new RangeError(`huberLoss: delta must be > 0, got ${delta}`);
  let sum = 0;
  const inv = 1 / n;
  for (let i = 0; i < n; i++) {
    const r = pred[i]! - target[i]!;
    const a = Math.abs(r);
    if (a <= delta) {
      sum += 0.5 * r * r;
      if (grad) grad[i] = r * inv;
    } else {
      sum += delta * (a - 0.5 * delta);
      if (grad) grad[i] = (r > 0 ? delta : -delta) * inv;
    }
  }
  return sum * inv;
}

export function bceWithLogitsLoss(logits: Float32Array, labels: Float32Array, n: number, grad?: Float32Array): number {
  check('bceWithLogitsLoss', logits, labels, n, grad);
  let sum = 0;
  const inv = 1 / n;
  for (let i = 0; i < n; i++) {
    const z = logits[i]!;
    const y = labels[i]!;
    // softplus(z) = max(z, 0) + log(1 + exp(-|z|)): no overflow for large |z|.
    sum += Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z)));
    if (grad) {
      const s = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
      grad[i] = (s - y) * inv;
    }
  }
  return sum * inv;
}

export function mseLoss(pred: Float32Array, target: Float32Array, n: number, grad?: Float32Array): number {
  check('mseLoss', pred, target, n, grad);
  let sum = 0;
  const inv = 1 / n;
  for (let i = 0; i < n; i++) {
    const r = pred[i]! - target[i]!;
    sum += r * r;
    if (grad) grad[i] = 2 * r * inv;
  }
  return sum * inv;
}

/**
 * For a loss computed as a mean over a row-major [batch, cols] matrix (n =
 * batch*cols), converts it into the sum over columns of each column's mean:
 * multiplies the loss and the gradient by `cols`. Returns the converted loss.
 */
export function sumOfColumnMeans(meanLoss: number, cols: number, grad?: Float32Array, n = 0): number {
  if (grad) for (let i = 0; i < n; i++) grad[i]! *= cols;
  return meanLoss * cols;
}
