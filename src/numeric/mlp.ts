/**
 * `Mlp`: a multilayer perceptron [in, ...hidden, out] built from Linear
 * layers with ReLU between them and a linear output (the towers, critics
 * and reward heads of RLIV-UA and the baselines are all of this form).
 * Buffers belong to the layers; nothing is allocated per call once the
 * largest batch has been seen. The ReLU is applied IN PLACE on each hidden
 * Linear's output (and its mask in place on the next layer's input
 * gradient): a Linear never reads its own output again, so no copies.
 */
import { Linear } from './linear.js';
import { ShapeError, type Param } from './param.js';
import { reluMask, reluRange } from './kernels.js';
import type { Rng } from './rng.js';

export interface MlpOptions {
  /** Layer widths [in, ...hidden, out]; at least two entries, all positive integers. */
  sizes: number[];
  /** Name prefix of the parameters (`<name>.0.weight`, `<name>.0.bias`, ...). */
  name: string;
  /** Activation between layers; only 'relu' (the default) is supported. */
  activation?: 'relu';
  /** Whether backward computes the gradient w.r.t. the input (default true; false saves one gemm when the input is raw features). */
  inputGrad?: boolean;
}

export function validateSizes(sizes: readonly number[], what: string): void {
  if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new ShapeError(`${what}: sizes must be at least two positive integers [in, ...hidden, out], got ${JSON.stringify(sizes)}`);
  }
}

export class Mlp {
  readonly inDim: number;
  readonly outDim: number;
  readonly sizes: readonly number[];
  readonly layers: Linear[] = [];
  /** Output buffer of each layer from the last forward (post-ReLU for hidden layers). */
  private readonly outs: Float32Array[] = [];

  constructor(options: MlpOptions, rng: Rng) {
    validateSizes(options.sizes, `Mlp ${options.name}`);
    if (options.activation !== undefined && options.activation !== 'relu') {
      throw new ShapeError(`Mlp ${options.name}: unsupported activation "${options.activation}" (only "relu")`);
    }
    this.sizes = options.sizes.slice();
    this.inDim = this.sizes[0]!;
    this.outDim = this.sizes[this.sizes.length - 1]!;
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      this.layers.push(new Linear(this.sizes[l]!, this.sizes[l + 1]!, rng, `${options.name}.${l}`));
      this.outs.push(new Float32Array(0));
    }
    this.layers[0]!.computeInputGrad = options.inputGrad ?? true;
  }

  /** Output (batch x outDim) for `batch` input rows; the buffer is owned by the last layer. */
  forward(x: Float32Array, batch: number): Float32Array {
    let h = x;
    const last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      h = this.layers[l]!.forward(h, batch);
      if (l < last) reluRange(h, 0, batch * this.sizes[l + 1]!);
      this.outs[l] = h;
    }
    return h;
  }

  /** Accumulates parameter gradients from dOut (batch x outDim); returns dX (batch x inDim, empty when inputGrad is false). */
  backward(dOut: Float32Array, batch: number): Float32Array {
    let d = dOut;
    for (let l = this.layers.length - 1; l >= 0; l--) {
      d = this.layers[l]!.backward(d, batch);
      // d is now the gradient w.r.t. layer l-1's post-ReLU output (a buffer owned by layer l): mask it in place.
      if (l > 0) reluMask(d, this.outs[l - 1]!, batch * this.sizes[l]!);
    }
    return d;
  }

  /**
   * Forward from layer 0's pre-activation h0 (batch x sizes[1]) computed
   * elsewhere with layer 0's parameters (e.g. by a FieldLinear): ReLU in
   * place on h0 (when layer 0 is hidden), then layers 1..L. h0 is kept as
   * layer 1's input until backward. Returns the output (batch x outDim).
   */
  forwardFrom(h0: Float32Array, batch: number): Float32Array {
    const last = this.layers.length - 1;
    if (h0.length < batch * this.sizes[1]!)
      throw new ShapeError(`Mlp ${this.layers[0]!.weight.name}: h0 has ${h0.length} floats, batch ${batch} x ${this.sizes[1]} needed`);
    if (last === 0) return h0;
    reluRange(h0, 0, batch * this.sizes[1]!);
    this.outs[0] = h0;
    let h = h0;
    for (let l = 1; l <= last; l++) {
      h = this.layers[l]!.forward(h, batch);
      if (l < last) reluRange(h, 0, batch * this.sizes[l + 1]!);
      this.outs[l] = h;
    }
    return h;
  }

  /**
   * Backward of {@link forwardFrom}: accumulates the gradients of layers
   * L..1 and returns dH0, the gradient w.r.t. layer 0's pre-activation
   * (masked by its ReLU), for the caller to take through layer 0.
   */
  backwardTo(dOut: Float32Array, batch: number): Float32Array {
    let d = dOut;
    for (let l = this.layers.length - 1; l >= 1; l--) {
      d = this.layers[l]!.backward(d, batch);
      reluMask(d, this.outs[l - 1]!, batch * this.sizes[l]!);
    }
    return d;
  }

  params(): Param[] {
    return this.layers.flatMap((layer) => layer.params());
  }
}
