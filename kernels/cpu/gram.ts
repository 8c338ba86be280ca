/**
 * CPU twin of the Gram matrix `XᵀX`, accumulated in float64.
 *
 * The closed-form methods sum `eᵀe` over tens of thousands of embedding rows; summing in float32 would
 * lose several digits, so the CPU accumulates every product in float64 and can add into an existing
 * float64 Gram matrix, chunk after chunk.
 *
 * @module
 */

import { type Matrix, type Matrix64, matrix64, transpose } from "../matrix.ts";
import { accumulateDotProducts } from "./matmul.ts";

/** Rows of `X` transposed at a time (bounds the temporary copy). */
const ROW_CHUNK = 4096;

/**
 * `XᵀX` (`cols × cols`) in float64; with `into`, adds to it and returns it.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { cpuGram } from "./gram.ts";
 * const g = cpuGram(matrix(2, 2, new Float32Array([1, 2, 3, 4])));
 * console.log(Array.from(g.data)); // [10, 14, 14, 20]
 * ```
 */
export function cpuGram(x: Matrix, into?: Matrix64): Matrix64 {
  const d = x.cols;
  if (into && (into.rows !== d || into.cols !== d)) {
    throw new RangeError(
      `gram: accumulator is [${into.rows}, ${into.cols}], X has ${d} columns: need [${d}, ${d}]`,
    );
  }
  const upper = new Float64Array(d * d);
  for (let r0 = 0; r0 < x.rows; r0 += ROW_CHUNK) {
    const r1 = Math.min(x.rows, r0 + ROW_CHUNK);
    const chunk = { rows: r1 - r0, cols: d, data: x.data.subarray(r0 * d, r1 * d) };
    const columns = transpose(chunk).data; // d × chunkRows: each column of X contiguous
    accumulateDotProducts(columns, columns, d, d, r1 - r0, upper, true);
  }
  const out = into ?? matrix64(d, d);
  for (let i = 0; i < d; i++) {
    out.data[i * d + i] += upper[i * d + i];
    for (let j = i + 1; j < d; j++) {
      const v = upper[i * d + j];
      out.data[i * d + j] += v;
      out.data[j * d + i] += v;
    }
  }
  return out;
}
