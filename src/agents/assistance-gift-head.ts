/**
 * The assistance gift network (paper §3.2, "AL"): gifts are the sparsest
 * label, so besides the gift LIV tower a small classifier predicts "will u
 * gift a at this interaction" from the user and author static embeddings
 * (h_u, h_a) alone. Its BCE loss is added to the total loss (eq. 10,
 * L = sum_towers L_Q + L_A); its gradient reaches the shared embedding and
 * so shapes the h_u, h_a every tower reads — that is its whole purpose.
 *
 * Two fully connected layers: (h_u, h_a) -> hidden (ReLU) -> 1 logit.
 */
import { Mlp } from '../numeric/mlp.js';
import { bceWithLogitsLoss } from '../numeric/losses.js';
import type { Param } from '../numeric/param.js';
import type { Rng } from '../numeric/rng.js';

export interface AssistanceGiftHeadOptions {
  /** Width of (h_u, h_a): the first `inDim` floats of each H row. */
  inDim: number;
  /** Width of H (row stride of the input). */
  hDim: number;
  /** Width of the hidden layer. */
  hidden: number;
  /** Largest batch. */
  capacity: number;
}

export class AssistanceGiftHead {
  readonly mlp: Mlp;
  private readonly o: AssistanceGiftHeadOptions;
  private readonly x: Float32Array;
  private readonly labels: Float32Array;
  private readonly logits: Float32Array;
  private readonly grad: Float32Array;

  constructor(options: AssistanceGiftHeadOptions, rng: Rng) {
    this.o = { ...options };
    this.mlp = new Mlp({ sizes: [options.inDim, options.hidden, 1], name: 'rliv.assistanceGift' }, rng);
    this.x = new Float32Array(options.capacity * options.inDim);
    this.labels = new Float32Array(options.capacity);
    this.logits = new Float32Array(options.capacity);
    this.grad = new Float32Array(options.capacity);
  }

  params(): Param[] {
    return this.mlp.params();
  }

  /**
   * BCE of the gift logits for `n` rows of H against `giftLabel` (0/1);
   * accumulates the MLP's gradients and ADDS d(loss)/d(h_u, h_a) into the
   * prefix columns of `dH` (n x hDim). Returns the mean loss.
   */
  lossAndBackward(H: Float32Array, n: number, giftLabel: Uint8Array, dH: Float32Array): number {
    const { inDim, hDim } = this.o;
    const x = this.x;
    for (let b = 0; b < n; b++) {
      const src = b * hDim;
      const dst = b * inDim;
      for (let i = 0; i < inDim; i++) x[dst + i] = H[src + i]!;
      this.labels[b] = giftLabel[b]! > 0 ? 1 : 0;
    }
    const out = this.mlp.forward(x, n);
    for (let b = 0; b < n; b++) this.logits[b] = out[b]!;
    const loss = bceWithLogitsLoss(this.logits, this.labels, n, this.grad);
    const dX = this.mlp.backward(this.grad, n);
    for (let b = 0; b < n; b++) {
      const src = b * inDim;
      const dst = b * hDim;
      for (let i = 0; i < inDim; i++) dH[dst + i]! += dX[src + i]!;
    }
    return loss;
  }

  /** Gift probability for `n` rows of H, into out[0..n). */
  predict(H: Float32Array, n: number, out: Float32Array): void {
    const { inDim, hDim } = this.o;
    if (n > this.o.capacity) throw new RangeError(`AssistanceGiftHead.predict: ${n} rows exceed capacity ${this.o.capacity}`);
    for (let b = 0; b < n; b++) for (let i = 0; i < inDim; i++) this.x[b * inDim + i] = H[b * hDim + i]!;
    const y = this.mlp.forward(this.x, n);
    for (let b = 0; b < n; b++) out[b] = 1 / (1 + Math.exp(-y[b]!));
  }
}
