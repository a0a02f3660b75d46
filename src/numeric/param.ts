/**
 * `Param`: one trainable tensor (value + gradient) of the numeric core.
 *
 * Values and gradients are flat row-major Float32Arrays so that gemm can read
 * them in place. A *sparse* Param (an embedding table) additionally records
 * which rows received gradient since the last `zeroGrad`, so that Adam can
 * update only those rows (lazy Adam) and zeroing costs O(touched rows), not
 * O(table size). Params may also be *views* into a larger fused tensor
 * (see MlpGroup.headParams): then `value`/`grad` are subarrays sharing memory.
 */
import { zeroRows } from './kernels.js';

export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** Number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export interface ParamInit {
  /** Unique, stable name; used by params-io to match saved tensors. */
  name: string;
  /** Dimensions, row-major (the last varies fastest). */
  shape: number[];
  /** True for embedding tables: gradients are tracked per touched row (first dimension). */
  sparse?: boolean;
  /** Existing storage to view instead of allocating (used for fused tensors). */
  value?: Float32Array;
  /** Existing gradient storage to view (must accompany `value`). */
  grad?: Float32Array;
}

export class Param {
  readonly name: string;
  readonly shape: number[];
  readonly value: Float32Array;
  readonly grad: Float32Array;
  readonly sparse: boolean;
  /** Elements per row of the first dimension (the embedding dim for tables). */
  readonly rowSize: number;
  /** For sparse params: rows that received gradient since the last `clearTouched`, first `touchedCount` entries valid. */
  readonly touchedRows: Int32Array;
  /** Number of valid entries in `touchedRows`. */
  touchedCount = 0;
  /** For sparse params: per-row flag (1 = in touchedRows) so that marking is O(1) and deduplicated. */
  readonly touchedFlag: Uint8Array;

  constructor(init: ParamInit) {
    this.name = init.name;
    this.shape = init.shape.slice();
    const size = shapeSize(this.shape);
    if (init.value && init.value.length !== size) {
      throw new ShapeError(`Param ${init.name}: value has ${init.value.length} elements, shape [${this.shape.join(', ')}] needs ${size}`);
    }
    if (init.grad && init.grad.length !== size) {
      throw new ShapeError(`Param ${init.name}: grad has ${init.grad.length} elements, shape needs ${size}`);
    }
    this.value = init.value ?? new Float32Array(size);
    this.grad = init.grad ?? new Float32Array(size);
    this.sparse = init.sparse ?? false;
    const rows = this.shape.length > 0 ? this.shape[0]! : 1;
    this.rowSize = rows > 0 ? size / rows : 0;
    this.touchedRows = new Int32Array(this.sparse ? rows : 0);
    this.touchedFlag = new Uint8Array(this.sparse ? rows : 0);
  }

  get size(): number {
    return this.value.length;
  }

  /** Records that `row` received gradient (sparse params only; idempotent). */
  markTouched(row: number): void {
    if (this.touchedFlag[row] === 0) {
      this.touchedFlag[row] = 1;
      this.touchedRows[this.touchedCount++] = row;
    }
  }

  /** Zeroes the gradient: the touched rows only for sparse params, everything for dense ones. */
  zeroGrad(): void {
    if (!this.sparse) {
      this.grad.fill(0);
      return;
    }
    zeroRows(this.grad, this.rowSize, this.touchedRows, this.touchedCount, this.touchedFlag);
    this.touchedCount = 0;
  }
}

/** Total number of scalars in a list of params. */
export function countParams(params: readonly Param[]): number {
  let n = 0;
  for (const p of params) n += p.size;
  return n;
}
