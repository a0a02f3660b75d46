/**
 * `Linear`: a fully connected layer y = x W^T + b on a batch of row vectors.
 *
 * The weight is stored [out, in] (PyTorch's layout) so that forward is one
 * gemm with B transposed, and the backward products (dW = dY^T X,
 * dX = dY W) read the same buffers in place: no transposed copies. Output
 * and input-gradient buffers are owned by the layer, grown only when a larger
 * batch arrives, and valid until the layer's next forward/backward.
 */
import { gemm } from './gemm.js';
import { fillUniform, linearInitBound } from './init.js';
import { colSumAdd, fillRows } from './kernels.js';
import { Param, ShapeError } from './param.js';
import type { Rng } from './rng.js';

export class Linear {
  readonly inDim: number;
  readonly outDim: number;
  /** Weight, shape [outDim, inDim]. */
  readonly weight: Param;
  /** Bias, shape [outDim]. */
  readonly bias: Param;
  /** When false, backward skips computing dX (first layer on raw features) and returns an empty array. */
  computeInputGrad = true;
  private out = new Float32Array(0);
  private dx = new Float32Array(0);
  private input: Float32Array | null = null;
  private batch = 0;

  constructor(inDim: number, outDim: number, rng: Rng, name: string) {
    if (!(Number.isInteger(inDim) && inDim > 0 && Number.isInteger(outDim) && outDim > 0)) {
      throw new ShapeError(`Linear ${name}: dimensions must be positive integers, got in=${inDim}, out=${outDim}`);
    }
    this.inDim = inDim;
    this.outDim = outDim;
    this.weight = new Param({ name: `${name}.weight`, shape: [outDim, inDim] });
    this.bias = new Param({ name: `${name}.bias`, shape: [outDim] });
    const bound = linearInitBound(inDim);
    fillUniform(this.weight.value, bound, rng);
    fillUniform(this.bias.value, bound, rng);
  }

  /**
   * y = x W^T + b for `batch` rows of x (batch x inDim, row-major). Keeps a
   * reference to x for backward: do not modify x before calling backward.
   */
  forward(x: Float32Array, batch: number): Float32Array {
    if (x.length < batch * this.inDim) throw new ShapeError(`Linear ${this.weight.name}: input has ${x.length} floats, batch ${batch} x ${this.inDim} needed`);
    if (this.out.length < batch * this.outDim) this.out = new Float32Array(batch * this.outDim);
    const out = this.out;
    const o = this.outDim;
    fillRows(out, batch, o, this.bias.value);
    gemm(false, true, batch, o, this.inDim, 1, x, this.inDim, this.weight.value, this.inDim, 1, out, o);
    this.input = x;
    this.batch = batch;
    return out;
  }

  /** Accumulates dW += dY^T x and db += colsum(dY); returns dX = dY W (batch x inDim). */
  backward(dOut: Float32Array, batch: number): Float32Array {
    if (!this.input || batch !== this.batch) throw new ShapeError(`Linear ${this.weight.name}: backward(batch=${batch}) without a matching forward`);
    const o = this.outDim;
    const i = this.inDim;
    gemm(true, false, o, i, batch, 1, dOut, o, this.input, i, 1, this.weight.grad, i);
    colSumAdd(dOut, batch, o, this.bias.grad);
    if (!this.computeInputGrad) return this.dx.subarray(0, 0);
    if (this.dx.length < batch * i) this.dx = new Float32Array(batch * i);
    gemm(false, false, batch, i, o, 1, dOut, o, this.weight.value, i, 0, this.dx, i);
    return this.dx;
  }

  params(): Param[] {
    return [this.weight, this.bias];
  }
}
