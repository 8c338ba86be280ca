/**
 * CPU twin of batched matrix–vector products: `y[b] = A[b]·x[b]` for a stack of matrices, or one shared
 * matrix applied to every vector.
 *
 * @module
 */

import { type Matrix, matrix } from "../matrix.ts";

/** A stack of `batch` matrices of shape `[rows, cols]`, stored contiguously row-major. */
export interface MatrixBatch {
  /** Number of matrices (1 means one matrix shared by every vector). */
  readonly batch: number;
  /** Rows of each matrix. */
  readonly rows: number;
  /** Columns of each matrix. */
  readonly cols: number;
  /** `batch · rows · cols` values. */
  readonly data: Float32Array;
}

/** Checks a batch against the vectors (`[batch, cols]`); returns the vector count. */
export function checkBatchedMatVec(a: MatrixBatch, x: Matrix): number {
  if (a.data.length !== a.batch * a.rows * a.cols) {
    throw new RangeError(
      `batchedMatVec: batch data has ${a.data.length} values, shape needs ${a.batch * a.rows * a.cols}`,
    );
  }
  if (x.cols !== a.cols) {
    throw new RangeError(`batchedMatVec: vectors have ${x.cols} values, matrices ${a.cols} columns`);
  }
  if (a.batch !== 1 && a.batch !== x.rows) {
    throw new RangeError(
      `batchedMatVec: ${a.batch} matrices for ${x.rows} vectors (need equal counts, or 1 matrix)`,
    );
  }
  return x.rows;
}

/**
 * `Y[b, :] = A[b or 0]·X[b, :]`, accumulated in float64; returns `[vectors, rows]`.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { cpuBatchedMatVec } from "./batched_matvec.ts";
 * const a = { batch: 2, rows: 1, cols: 2, data: new Float32Array([1, 1, 2, 0]) };
 * const y = cpuBatchedMatVec(a, matrix(2, 2, new Float32Array([3, 4, 5, 6])));
 * console.log(Array.from(y.data)); // [7, 10]
 * ```
 */
export function cpuBatchedMatVec(a: MatrixBatch, x: Matrix): Matrix {
  const count = checkBatchedMatVec(a, x);
  const out = matrix(count, a.rows);
  for (let b = 0; b < count; b++) {
    const base = (a.batch === 1 ? 0 : b) * a.rows * a.cols;
    const xo = b * a.cols;
    for (let r = 0; r < a.rows; r++) {
      const ro = base + r * a.cols;
      let s = 0;
      for (let c = 0; c < a.cols; c++) s += a.data[ro + c] * x.data[xo + c];
      out.data[b * a.rows + r] = s;
    }
  }
  return out;
}
