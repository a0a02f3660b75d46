/**
 * The logging policy's selection, learned from which items it exposed
 * (docs/design.md §10.2): a factorization model of the log-odds that the
 * logging policy shows item i to user u rather than a candidate drawn at
 * random,
 *
 *   r(u, i) = <s_u, s_a(i) + s_t(i)> + b_u + b_a(i) + b_t(i)
 *
 * with a factor and a bias per user, author and tag (one table row each:
 * D factors, then the bias). It is fitted by binary cross-entropy: a
 * standard-log exposure is a positive; a random-log exposure, and items
 * drawn from the random log's items (the candidates' distribution, since
 * random-log items are uniform draws from the candidates) paired with the
 * positive's user, are negatives. So r is the logging policy's relevance
 * estimate as its choices reveal it, up to a constant.
 *
 * Why a model of its own: the logging policy ranks by a relevance estimate
 * the logs do not contain, and the click alone teaches the simulator
 * almost nothing of it (the fitted click logit correlated 0.03 with the
 * world's user-item affinity, quick preset). Every standard-log row says
 * which of about a hundred candidates the policy chose; that is far more
 * about a user's interests than whether one exposure was clicked.
 */
import { Adam, Param, Rng } from '../numeric/index.js';
import { rocAuc } from './auc.js';
import type { Catalog } from '../world/catalog.js';

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export class SelectionModel {
  /** Rows: users, then authors, then tags; each D factors and a bias. Sparse (lazy Adam). */
  readonly table: Param;
  readonly dim: number;
  private readonly authorBase: number;
  private readonly tagBase: number;

  constructor(
    readonly catalog: Catalog,
    dim: number,
    rng: Rng,
    name = 'simulator.selection',
  ) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`the selection model's dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.authorBase = catalog.numUsers;
    this.tagBase = catalog.numUsers + catalog.numAuthors;
    const rows = this.tagBase + Math.max(1, catalog.numTags);
    this.table = new Param({ name, shape: [rows, dim + 1], sparse: true });
    const v = this.table.value;
    // Small factors, zero biases: r starts near 0 for every pair.
    for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) v[r * (dim + 1) + j] = 0.1 * rng.normal();
  }

  /** r(u, i) of the file comment. */
  logit(user: number, item: number): number {
    const c = this.catalog;
    const W = this.dim + 1;
    const t = this.table.value;
    const pu = user * W,
      pa = (this.authorBase + c.itemAuthor[item]!) * W,
      pt = (this.tagBase + c.itemTag[item]!) * W;
    const d = this.dim;
    let r = t[pu + d]! + t[pa + d]! + t[pt + d]!;
    for (let j = 0; j < d; j++) r += t[pu + j]! * (t[pa + j]! + t[pt + j]!);
    return r;
  }

  /**
   * Mean binary cross-entropy of sigmoid(r) against `label` over pairs
   * [0, count); accumulates its gradient into the table (touched rows
   * marked) and returns the loss.
   */
  backward(count: number, user: Int32Array, item: Int32Array, label: Uint8Array): number {
    if (count === 0) return 0;
    const c = this.catalog;
    const p = this.table;
    const t = p.value,
      g = p.grad;
    const W = this.dim + 1,
      d = this.dim;
    const inv = 1 / count;
    let loss = 0;
    for (let e = 0; e < count; e++) {
      const u = user[e]!,
        i = item[e]!;
      const ra = this.authorBase + c.itemAuthor[i]!,
        rt = this.tagBase + c.itemTag[i]!;
      const z = this.logit(u, i);
      const y = label[e] === 1 ? 1 : 0;
      loss += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
      const dz = (sigmoid(z) - y) * inv;
      const pu = u * W,
        pa = ra * W,
        pt = rt * W;
      for (let j = 0; j < d; j++) {
        const su = t[pu + j]!;
        g[pu + j]! += dz * (t[pa + j]! + t[pt + j]!);
        g[pa + j]! += dz * su;
        g[pt + j]! += dz * su;
      }
      g[pu + d]! += dz;
      g[pa + d]! += dz;
      g[pt + d]! += dz;
      p.markTouched(u);
      p.markTouched(ra);
      p.markTouched(rt);
    }
    return loss * inv;
  }
}

/**
 * The pairs one training step fits the selection model on, from the step's
 * log rows: every standard-log row (label 1) with `negatives` items drawn
 * from `negativePool` for its user (label 0), and every random-log row
 * (label 0). Writes into the given arrays (capacity count * (1 + negatives))
 * and returns the number of pairs.
 */
export function selectionPairs(
  count: number,
  user: Int32Array,
  item: Int32Array,
  standardLog: Uint8Array,
  negatives: number,
  negativePool: Int32Array,
  rng: Rng,
  outUser: Int32Array,
  outItem: Int32Array,
  outLabel: Uint8Array,
): number {
  let n = 0;
  for (let e = 0; e < count; e++) {
    const u = user[e]!;
    outUser[n] = u;
    outItem[n] = item[e]!;
    const positive = standardLog[e] === 1;
    outLabel[n++] = positive ? 1 : 0;
    if (!positive) continue;
    for (let k = 0; k < negatives; k++) {
      outUser[n] = u;
      outItem[n] = negativePool[rng.int(negativePool.length)]!;
      outLabel[n++] = 0;
    }
  }
  return n;
}

/** How {@link fitSelectionModel} fits the selection model. */
export interface SelectionFitOptions {
  /** Factors per user, author and tag. */
  dim: number;
  /** Adam learning rate. Default 1e-2 (the model is a shallow factorization; 2e-3 had not converged after 6 passes). */
  lr: number;
  /** Negatives per standard-log row. Default 4. */
  negatives: number;
  /** Rows per step. Default 512. */
  batchSize: number;
  /** Most passes over the rows; training stops earlier when the validation loss stops falling. Default 20. */
  maxEpochs: number;
  /** Seed of initialization, shuffling and negatives. */
  seed: number;
}

export interface SelectionFit {
  model: SelectionModel;
  /** Passes run, and the pass whose parameters were kept (lowest validation loss). */
  epochs: number;
  bestEpoch: number;
  /** Validation loss per pass. */
  validationLoss: number[];
  /** AUC of r on the validation rows: standard-log exposures against random-log ones. */
  validationAuc: number;
}

/** What the selection model reads of a log: who saw which item, and whether it came from the random log. */
export interface SelectionRows {
  user: Int32Array;
  item: Int32Array;
  fromRandomLog: Uint8Array;
}

/**
 * Fits the selection model on rows `train` of the log and stops when the
 * loss on rows `validation` (held-out requests: positives, their sampled
 * negatives drawn once, random-log rows) stops falling; keeps the best
 * pass's parameters. Negatives are drawn from the training rows' random-log
 * items (the whole catalog when there are none). Chosen on the logs alone.
 */
export function fitSelectionModel(
  log: SelectionRows,
  catalog: Catalog,
  train: Int32Array,
  validation: Int32Array,
  options: Partial<SelectionFitOptions> & { dim: number; seed: number },
): SelectionFit {
  const o: SelectionFitOptions = { lr: 1e-2, negatives: 4, batchSize: 512, maxEpochs: 20, ...options };
  if (!(Number.isInteger(o.maxEpochs) && o.maxEpochs >= 1)) throw new RangeError(`maxEpochs must be a positive integer, got ${o.maxEpochs}`);
  if (!(Number.isInteger(o.negatives) && o.negatives >= 0)) throw new RangeError(`negatives must be an integer >= 0, got ${o.negatives}`);
  if (train.length === 0) throw new RangeError('the selection model needs at least one training row');
  const rng = new Rng(o.seed);
  const model = new SelectionModel(catalog, o.dim, rng.fork('init'));
  const adam = new Adam([model.table], { lr: o.lr });
  const pool: number[] = [];
  for (const r of train) if (log.fromRandomLog[r] === 1) pool.push(log.item[r]!);
  const negativePool = pool.length > 0 ? Int32Array.from(pool) : Int32Array.from({ length: catalog.numItems }, (_, i) => i);

  const pairsOf = (
    rows: Int32Array,
    from: number,
    n: number,
    draw: Rng,
    u: Int32Array,
    i: Int32Array,
    l: Uint8Array,
    su: Int32Array,
    si: Int32Array,
    ss: Uint8Array,
  ): number => {
    for (let b = 0; b < n; b++) {
      const r = rows[from + b]!;
      su[b] = log.user[r]!;
      si[b] = log.item[r]!;
      ss[b] = log.fromRandomLog[r] === 1 ? 0 : 1;
    }
    return selectionPairs(n, su, si, ss, o.negatives, negativePool, draw, u, i, l);
  };
  // The validation pairs are drawn once, so every pass is judged on the same negatives.
  const V = validation.length;
  const vu = new Int32Array(V * (1 + o.negatives)),
    vi = new Int32Array(vu.length),
    vl = new Uint8Array(vu.length);
  const vCount = V > 0 ? pairsOf(validation, 0, V, rng.fork('validation'), vu, vi, vl, new Int32Array(V), new Int32Array(V), new Uint8Array(V)) : 0;
  const validationLossNow = (): number => {
    let s = 0;
    for (let e = 0; e < vCount; e++) {
      const z = model.logit(vu[e]!, vi[e]!);
      s += Math.max(z, 0) - z * vl[e]! + Math.log1p(Math.exp(-Math.abs(z)));
    }
    return vCount > 0 ? s / vCount : NaN;
  };

  const B = o.batchSize;
  const cap = B * (1 + o.negatives);
  const pu = new Int32Array(cap),
    pi = new Int32Array(cap),
    pl = new Uint8Array(cap);
  const su = new Int32Array(B),
    si = new Int32Array(B),
    ss = new Uint8Array(B);
  const rows = Int32Array.from(train);
  const shuffle = rng.fork('shuffle'),
    draw = rng.fork('negatives');
  const losses: number[] = [];
  let best = Infinity,
    bestEpoch = 0;
  let bestValue = Float32Array.from(model.table.value);
  for (let epoch = 1; epoch <= o.maxEpochs; epoch++) {
    shuffle.shuffle(rows);
    for (let from = 0; from < rows.length; from += B) {
      const n = Math.min(B, rows.length - from);
      const pairs = pairsOf(rows, from, n, draw, pu, pi, pl, su, si, ss);
      model.backward(pairs, pu, pi, pl);
      adam.step();
      adam.zeroGrad();
    }
    const loss = validationLossNow();
    losses.push(loss);
    if (!Number.isFinite(loss)) {
      // No validation rows: run every pass.
      bestEpoch = epoch;
      bestValue = Float32Array.from(model.table.value);
      continue;
    }
    if (loss < best) {
      best = loss;
      bestEpoch = epoch;
      bestValue.set(model.table.value);
    } else break;
  }
  model.table.value.set(bestValue);
  // AUC of r on the validation rows (standard against random), by ranks.
  let validationAuc = NaN;
  if (V > 0) {
    const scores = new Float64Array(V),
      labels = new Uint8Array(V);
    for (let k = 0; k < V; k++) {
      const r = validation[k]!;
      scores[k] = model.logit(log.user[r]!, log.item[r]!);
      labels[k] = log.fromRandomLog[r] === 1 ? 0 : 1;
    }
    validationAuc = rocAuc(scores, labels);
  }
  return { model, epochs: losses.length, bestEpoch, validationLoss: losses, validationAuc };
}
