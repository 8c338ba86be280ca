/**
 * Dense row-major matrices: the one data type the kernels exchange.
 *
 * A {@linkcode Matrix} holds float32 values (what the GPU computes with and what model weights are);
 * a {@linkcode Matrix64} holds float64 values (what the CPU accumulates Gram matrices and solves in).
 * Element `(i, j)` lives at `data[i * cols + j]`.
 *
 * @module
 */

/** A dense row-major float32 matrix: element `(i, j)` is `data[i * cols + j]`. */
export interface Matrix {
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns. */
  readonly cols: number;
  /** `rows * cols` values, row-major. */
  readonly data: Float32Array;
}

/** A dense row-major float64 matrix: element `(i, j)` is `data[i * cols + j]`. */
export interface Matrix64 {
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns. */
  readonly cols: number;
  /** `rows * cols` values, row-major. */
  readonly data: Float64Array;
}

function checkDims(rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`${what}: shape must be two non-negative integers, got [${rows}, ${cols}]`);
  }
}

/**
 * Makes a float32 matrix, zero-filled or wrapping `data` (not copied).
 *
 * @example
 * ```ts
 * import { matrix } from "./matrix.ts";
 * const m = matrix(2, 3, new Float32Array([1, 2, 3, 4, 5, 6]));
 * console.log(m.data[1 * 3 + 2]); // 6
 * ```
 */
export function matrix(rows: number, cols: number, data?: Float32Array): Matrix {
  checkDims(rows, cols, "matrix");
  if (data === undefined) return { rows, cols, data: new Float32Array(rows * cols) };
  if (data.length !== rows * cols) {
    throw new RangeError(
      `matrix: data has ${data.length} values, shape [${rows}, ${cols}] needs ${rows * cols}`,
    );
  }
  return { rows, cols, data };
}

/**
 * Makes a float64 matrix, zero-filled or wrapping `data` (not copied).
 *
 * @example
 * ```ts
 * import { matrix64 } from "./matrix.ts";
 * const m = matrix64(2, 2, new Float64Array([4, 1, 1, 3]));
 * console.log(m.rows, m.cols); // 2 2
 * ```
 */
export function matrix64(rows: number, cols: number, data?: Float64Array): Matrix64 {
  checkDims(rows, cols, "matrix64");
  if (data === undefined) return { rows, cols, data: new Float64Array(rows * cols) };
  if (data.length !== rows * cols) {
    throw new RangeError(
      `matrix64: data has ${data.length} values, shape [${rows}, ${cols}] needs ${rows * cols}`,
    );
  }
  return { rows, cols, data };
}

/**
 * Converts to float64 (copies).
 *
 * @example
 * ```ts
 * import { matrix, toFloat64 } from "./matrix.ts";
 * const m64 = toFloat64(matrix(1, 2, new Float32Array([0.5, 2])));
 * console.log(m64.data); // Float64Array [0.5, 2]
 * ```
 */
export function toFloat64(m: Matrix | Matrix64): Matrix64 {
  return { rows: m.rows, cols: m.cols, data: Float64Array.from(m.data) };
}

/**
 * Converts to float32 (copies, rounding to nearest).
 *
 * @example
 * ```ts
 * import { matrix64, toFloat32 } from "./matrix.ts";
 * const m32 = toFloat32(matrix64(1, 1, new Float64Array([1 / 3])));
 * console.log(m32.data[0]); // 0.3333333432674408
 * ```
 */
export function toFloat32(m: Matrix | Matrix64): Matrix {
  return { rows: m.rows, cols: m.cols, data: Float32Array.from(m.data) };
}

/**
 * Transposes a matrix (copies); the result has the same element type as the input.
 *
 * @example
 * ```ts
 * import { matrix, transpose } from "./matrix.ts";
 * const t = transpose(matrix(2, 1, new Float32Array([1, 2])));
 * console.log(t.rows, t.cols); // 1 2
 * ```
 */
export function transpose<M extends Matrix | Matrix64>(m: M): M {
  const out = new (m.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(m.rows * m.cols);
  const { rows, cols, data } = m;
  const block = 32;
  for (let i0 = 0; i0 < rows; i0 += block) {
    const i1 = Math.min(rows, i0 + block);
    for (let j0 = 0; j0 < cols; j0 += block) {
      const j1 = Math.min(cols, j0 + block);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) out[j * rows + i] = data[i * cols + j];
      }
    }
  }
  return { rows: cols, cols: rows, data: out } as M;
}

/**
 * Largest absolute difference between two equally shaped matrices, relative to the largest absolute
 * value of `reference` (0 when both are zero). Used by the twin tests and the solve reports.
 *
 * @example
 * ```ts
 * import { matrix, relativeMaxError } from "./matrix.ts";
 * const e = relativeMaxError(matrix(1, 2, new Float32Array([1, 2])), matrix(1, 2, new Float32Array([1, 2.002])));
 * console.log(e < 1e-3); // true
 * ```
 */
export function relativeMaxError(actual: Matrix | Matrix64, reference: Matrix | Matrix64): number {
  if (actual.rows !== reference.rows || actual.cols !== reference.cols) {
    throw new RangeError(
      `relativeMaxError: shapes differ, [${actual.rows}, ${actual.cols}] vs [${reference.rows}, ${reference.cols}]`,
    );
  }
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.data.length; i++) {
    diff = Math.max(diff, Math.abs(actual.data[i] - reference.data[i]));
    scale = Math.max(scale, Math.abs(reference.data[i]));
  }
  return scale === 0 ? diff : diff / scale;
}
