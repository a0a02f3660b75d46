/**
 * `MlpGroup`: G MLPs of identical sizes applied to the SAME input, computed
 * together. RLIV-UA has 12 such heads on one 96-d input (4 towers x (2
 * critics + reward head)); running them as 12 separate MLPs costs 12 narrow
 * gemms per layer. Here:
 * - the first layers of all heads are fused into ONE wide gemm
 *   (x [batch, in] times W0^T with W0 [G*h1, in]);
 * - every later layer is a block-diagonal product: one gemm per head on a
 *   column block of the previous activation, addressed by offset and leading
 *   dimension (gemmAt), so no activation is ever copied or transposed.
 * Activations of layer l are stored [batch, G*h_l] with head g in columns
 * [g*h_l, (g+1)*h_l); with outDim 1 the output is exactly batch x G, column
 * g = head g.
 *
 * Parameters are a few fused tensors (`params()`, what the optimiser sees);
 * `headParams(g)` returns Params that VIEW head g's slices (same memory, same
 * order and shapes as `Mlp.params()` of an Mlp with the same sizes), for
 * per-head copies, soft updates or export. Optimise one set or the other,
 * never both.
 */
import { gemm, gemmAt } from './gemm.js';
import { fillUniform, linearInitBound } from './init.js';
import { validateSizes } from './mlp.js';
import { Param, ShapeError } from './param.js';
import { colSumAdd, fillRows, reluMask, reluRange, segDot, segDotBackward } from './kernels.js';
import type { Rng } from './rng.js';

export interface MlpGroupOptions {
  /** Number of heads G (>= 1). */
  heads: number;
  /** Layer widths [in, ...hidden, out] shared by every head. */
  sizes: number[];
  /** Name prefix of the fused parameters (`<name>.0.weight`, ...). */
  name: string;
  /** Whether backward computes dX (default true; the embedding below needs it). */
  inputGrad?: boolean;
}

export class MlpGroup {
  readonly heads: number;
  readonly sizes: readonly number[];
  readonly inDim: number;
  readonly outDim: number;
  readonly name: string;
  readonly inputGrad: boolean;
  /** Fused weights: layer 0 is [G*h1, in]; layer l > 0 is [G, h_{l+1}, h_l]. */
  readonly weights: Param[] = [];
  /** Fused biases: [G * h_{l+1}] for every layer, head-major. */
  readonly biases: Param[] = [];
  /** acts[l]: output of layer l, [batch, G*h_{l+1}] (post-ReLU except the last). */
  private acts: Float32Array[] = [];
  /** dActs[l]: gradient w.r.t. acts[l] for hidden layers (the last layer uses the caller's dOut). */
  private dActs: Float32Array[] = [];
  private dx = new Float32Array(0);
  private capacity = 0;
  private input: Float32Array | null = null;
  private batch = 0;

  constructor(options: MlpGroupOptions, rng: Rng) {
    validateSizes(options.sizes, `MlpGroup ${options.name}`);
    if (!Number.isInteger(options.heads) || options.heads < 1)
      throw new ShapeError(`MlpGroup ${options.name}: heads must be a positive integer, got ${options.heads}`);
    this.heads = options.heads;
    this.sizes = options.sizes.slice();
    this.name = options.name;
    this.inDim = this.sizes[0]!;
    this.outDim = this.sizes[this.sizes.length - 1]!;
    this.inputGrad = options.inputGrad ?? true;
    const G = this.heads;
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const fin = this.sizes[l]!;
      const fout = this.sizes[l + 1]!;
      const shape = l === 0 ? [G * fout, fin] : [G, fout, fin];
      this.weights.push(new Param({ name: `${this.name}.${l}.weight`, shape }));
      this.biases.push(new Param({ name: `${this.name}.${l}.bias`, shape: [G * fout] }));
    }
    // Head by head, layer by layer, weight then bias: the same draw order as G separate Mlps built one after another.
    for (let g = 0; g < G; g++) {
      for (let l = 0; l < this.weights.length; l++) {
        const fin = this.sizes[l]!;
        const fout = this.sizes[l + 1]!;
        const bound = linearInitBound(fin);
        fillUniform(this.weights[l]!.value, bound, rng, g * fout * fin, (g + 1) * fout * fin);
        fillUniform(this.biases[l]!.value, bound, rng, g * fout, (g + 1) * fout);
      }
    }
  }

  private ensure(batch: number): void {
    if (batch <= this.capacity) return;
    const G = this.heads;
    this.acts = [];
    this.dActs = [];
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      this.acts.push(new Float32Array(batch * G * this.sizes[l + 1]!));
      this.dActs.push(new Float32Array(l + 2 < this.sizes.length ? batch * G * this.sizes[l + 1]! : 0));
    }
    this.dx = new Float32Array(this.inputGrad ? batch * this.inDim : 0);
    this.capacity = batch;
  }

  /**
   * Outputs of all heads for `batch` rows of x (batch x inDim): a
   * [batch, G*outDim] buffer owned by the group. Keeps a reference to x for
   * backward: do not modify x in between.
   */
  forward(x: Float32Array, batch: number): Float32Array {
    if (x.length < batch * this.inDim) throw new ShapeError(`MlpGroup ${this.name}: input has ${x.length} floats, batch ${batch} x ${this.inDim} needed`);
    this.ensure(batch);
    const G = this.heads;
    const L = this.weights.length;
    let prev = x;
    for (let l = 0; l < L; l++) {
      const fin = this.sizes[l]!;
      const fout = this.sizes[l + 1]!;
      const width = G * fout;
      const out = this.acts[l]!;
      const w = this.weights[l]!.value;
      if (l > 0 && fout === 1) {
        // One output per head: a segmented dot product, not G one-column gemms.
        segDot(prev, batch, G, fin, w, this.biases[l]!.value, out);
      } else if (l === 0) {
        fillRows(out, batch, width, this.biases[l]!.value);
        gemm(false, true, batch, width, fin, 1, prev, fin, w, fin, 1, out, width);
      } else {
        fillRows(out, batch, width, this.biases[l]!.value);
        const prevWidth = G * fin;
        for (let g = 0; g < G; g++) {
          gemmAt(false, true, batch, fout, fin, 1, prev, g * fin, prevWidth, w, g * fout * fin, fin, 1, out, g * fout, width);
        }
      }
      if (l + 1 < L) reluRange(out, 0, batch * width);
      prev = out;
    }
    this.input = x;
    this.batch = batch;
    return prev;
  }

  /**
   * Accumulates the gradients of every head from dOut ([batch, G*outDim],
   * column block g = head g; not modified) and returns dX summed over the
   * heads (batch x inDim; empty when inputGrad is false).
   */
  backward(dOut: Float32Array, batch: number): Float32Array {
    if (!this.input || batch !== this.batch) throw new ShapeError(`MlpGroup ${this.name}: backward(batch=${batch}) without a matching forward`);
    if (dOut.length < batch * this.heads * this.outDim)
      throw new ShapeError(`MlpGroup ${this.name}: dOut has ${dOut.length} floats, ${batch} x ${this.heads * this.outDim} needed`);
    const G = this.heads;
    const L = this.weights.length;
    let d = dOut;
    for (let l = L - 1; l >= 0; l--) {
      const fin = this.sizes[l]!;
      const fout = this.sizes[l + 1]!;
      const width = G * fout;
      const w = this.weights[l]!;
      colSumAdd(d, batch, width, this.biases[l]!.grad);
      if (l === 0) {
        gemm(true, false, width, fin, batch, 1, d, width, this.input, fin, 1, w.grad, fin);
        if (!this.inputGrad) return this.dx;
        gemm(false, false, batch, fin, width, 1, d, width, w.value, fin, 0, this.dx, fin);
        return this.dx;
      }
      const prev = this.acts[l - 1]!;
      const dPrev = this.dActs[l - 1]!;
      const prevWidth = G * fin;
      if (fout === 1) {
        segDotBackward(d, prev, batch, G, fin, w.value, w.grad, dPrev);
        reluMask(dPrev, prev, batch * prevWidth);
        d = dPrev;
        continue;
      }
      for (let g = 0; g < G; g++) {
        gemmAt(true, false, fout, fin, batch, 1, d, g * fout, width, prev, g * fin, prevWidth, 1, w.grad, g * fout * fin, fin);
        gemmAt(false, false, batch, fin, fout, 1, d, g * fout, width, w.value, g * fout * fin, fin, 0, dPrev, g * fin, prevWidth);
      }
      reluMask(dPrev, prev, batch * prevWidth);
      d = dPrev;
    }
    return this.dx;
  }

  /** The fused parameters (what an optimiser should update). */
  params(): Param[] {
    const out: Param[] = [];
    for (let l = 0; l < this.weights.length; l++) out.push(this.weights[l]!, this.biases[l]!);
    return out;
  }

  /** Views of head g's parameters: same order and shapes as `new Mlp({sizes}).params()`. */
  headParams(g: number): Param[] {
    if (!Number.isInteger(g) || g < 0 || g >= this.heads) throw new RangeError(`MlpGroup ${this.name}: head ${g} out of range [0, ${this.heads})`);
    const out: Param[] = [];
    for (let l = 0; l < this.weights.length; l++) {
      const fin = this.sizes[l]!;
      const fout = this.sizes[l + 1]!;
      const w = this.weights[l]!;
      const b = this.biases[l]!;
      const ws = g * fout * fin;
      const bs = g * fout;
      out.push(
        new Param({
          name: `${this.name}.head${g}.${l}.weight`,
          shape: [fout, fin],
          value: w.value.subarray(ws, ws + fout * fin),
          grad: w.grad.subarray(ws, ws + fout * fin),
        }),
      );
      out.push(
        new Param({ name: `${this.name}.head${g}.${l}.bias`, shape: [fout], value: b.value.subarray(bs, bs + fout), grad: b.grad.subarray(bs, bs + fout) }),
      );
    }
    return out;
  }

  /** Alias of headParams(g), for code that thinks of the group as G MLPs. */
  mlp(g: number): Param[] {
    return this.headParams(g);
  }
}
