/**
 * `Adam` (Kingma & Ba, 2015) with PyTorch's update rule:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
 * Dense params are updated entirely every step. Sparse params (embedding
 * tables) get LAZY updates: only the rows touched since the last zeroGrad
 * move, and only their moments decay, exactly like torch.optim.SparseAdam.
 * Rows nobody looked at cost nothing, which is what makes a 100k-row table
 * affordable at every step.
 */
import { adamRows, adamSpan } from './kernels.js';
import { Param, ShapeError } from './param.js';

export interface AdamOptions {
  /** Learning rate; default 1e-3. */
  lr: number;
  /** Decay of the first moment; default 0.9. */
  beta1: number;
  /** Decay of the second moment; default 0.999. */
  beta2: number;
  /** Added to the denominator for stability; default 1e-8. */
  eps: number;
}

export const DEFAULT_ADAM_OPTIONS: Readonly<AdamOptions> = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Checkpointable optimizer state (copies). */
export interface AdamState {
  /** Number of steps taken. */
  step: number;
  /** First moments, one per param in constructor order. */
  m: Float32Array[];
  /** Second moments, one per param in constructor order. */
  v: Float32Array[];
}

export class Adam {
  readonly params: readonly Param[];
  readonly options: AdamOptions;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  constructor(params: Param[], options: Partial<AdamOptions> = {}) {
    this.options = { ...DEFAULT_ADAM_OPTIONS, ...options };
    const { lr, beta1, beta2, eps } = this.options;
    if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0)) {
      throw new RangeError(`Adam: need lr >= 0, 0 <= beta1, beta2 < 1, eps >= 0; got ${JSON.stringify(this.options)}`);
    }
    // A param listed twice, or a head view (MlpGroup.headParams) next to its fused tensor, would be stepped twice.
    for (let i = 0; i < params.length; i++) {
      for (let j = 0; j < i; j++) {
        if (overlaps(params[i]!.value, params[j]!.value)) {
          throw new ShapeError(
            `Adam: params ${params[j]!.name} and ${params[i]!.name} share memory (listed twice, or a view of a fused tensor next to the tensor)`,
          );
        }
      }
    }
    this.params = params.slice();
    this.m = params.map((p) => new Float32Array(p.size));
    this.v = params.map((p) => new Float32Array(p.size));
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.t;
  }

  /** One update from the accumulated gradients (does not zero them). */
  step(): void {
    this.t++;
    const { lr, beta1, beta2, eps } = this.options;
    const stepSize = lr / (1 - Math.pow(beta1, this.t));
    const invBc2 = 1 / Math.sqrt(1 - Math.pow(beta2, this.t));
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      if (!p.sparse) adamSpan(p.value, p.grad, this.m[i]!, this.v[i]!, 0, p.size, beta1, beta2, stepSize, invBc2, eps);
      else adamRows(p.value, p.grad, this.m[i]!, this.v[i]!, p.touchedRows, p.touchedCount, p.rowSize, beta1, beta2, stepSize, invBc2, eps);
    }
  }

  /** Zeroes every gradient (touched rows only for sparse params). */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  getState(): AdamState {
    return { step: this.t, m: this.m.map((x) => x.slice()), v: this.v.map((x) => x.slice()) };
  }

  /** Restores a state from getState(); validates everything before changing anything. */
  setState(state: AdamState): void {
    if (
      !state ||
      !Number.isInteger(state.step) ||
      state.step < 0 ||
      !Array.isArray(state.m) ||
      !Array.isArray(state.v) ||
      state.m.length !== this.params.length ||
      state.v.length !== this.params.length
    ) {
      throw new ShapeError(`Adam.setState: expected step >= 0 and ${this.params.length} m and v arrays`);
    }
    for (let i = 0; i < this.params.length; i++) {
      const n = this.params[i]!.size;
      if (state.m[i]!.length !== n || state.v[i]!.length !== n) {
        throw new ShapeError(`Adam.setState: moments of param ${this.params[i]!.name} must have ${n} values`);
      }
    }
    this.t = state.step;
    for (let i = 0; i < this.params.length; i++) {
      this.m[i]!.set(state.m[i]!);
      this.v[i]!.set(state.v[i]!);
    }
  }
}

function overlaps(x: Float32Array, y: Float32Array): boolean {
  if (x.buffer !== y.buffer) return false;
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}
