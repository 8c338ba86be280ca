/**
 * CPU twin of the matrix product: `C = op(A) · op(B)` with optional transposes, in plain TypeScript.
 *
 * Both operands are brought into "dot" form (rows of `op(A)` and columns of `op(B)` contiguous), then a
 * cache-blocked kernel computes 2×4 blocks of dot products in local variables. JavaScript arithmetic on
 * locals is float64, so every product accumulates in float64 at no extra cost; the result is rounded to
 * float32 once.
 *
 * @module
 */

import { type Matrix, matrix, type Matrix64, matrix64, transpose } from "../matrix.ts";
import { packedDotBlock } from "./dot_block.ts";

/** Transpose flags of a matrix product. */
export interface MatMulOptions {
  /** Use `Aᵀ` instead of `A`. */
  transA?: boolean;
  /** Use `Bᵀ` instead of `B`. */
  transB?: boolean;
}

/** Shape `[m, k, n]` of `op(A) · op(B)`, checked. */
export function productShape(a: Matrix, b: Matrix, options: MatMulOptions = {}): [number, number, number] {
  const [m, ka] = options.transA ? [a.cols, a.rows] : [a.rows, a.cols];
  const [kb, n] = options.transB ? [b.cols, b.rows] : [b.rows, b.cols];
  if (ka !== kb) {
    throw new RangeError(
      `matmul: inner dimensions differ: op(A) is [${m}, ${ka}] and op(B) is [${kb}, ${n}] ` +
        `(A [${a.rows}, ${a.cols}]${options.transA ? "ᵀ" : ""}, B [${b.rows}, ${b.cols}]${
          options.transB ? "ᵀ" : ""
        })`,
    );
  }
  return [m, ka, n];
}

const K_BLOCK = 256;
const N_BLOCK = 64;

/**
 * Adds `A · Btᵀ` into `out` (float64, `m × n`), where `A` is `m × k` and `Bt` is `n × k`, both row-major.
 * With `upperOnly`, only entries with `j ≥ i` are guaranteed (a symmetric product's upper triangle);
 * with `sign` −1 the products are subtracted. Operands (float32 or float64) are packed slice by slice into float64 panels for {@linkcode packedDotBlock}.
 */
export function accumulateDotProducts(
  a: Float32Array | Float64Array,
  bt: Float32Array | Float64Array,
  m: number,
  n: number,
  k: number,
  out: Float64Array,
  upperOnly = false,
  sign: 1 | -1 = 1,
): void {
  const aPack = new Float64Array(m * Math.min(k, K_BLOCK));
  const bPack = new Float64Array(N_BLOCK * Math.min(k, K_BLOCK));
  const target = { out, base: 0, stride: n, sign };
  for (let k0 = 0; k0 < k; k0 += K_BLOCK) {
    const k1 = Math.min(k, k0 + K_BLOCK);
    const kb = k1 - k0;
    for (let i = 0; i < m; i++) aPack.set(a.subarray(i * k + k0, i * k + k1), i * kb);
    for (let j0 = 0; j0 < n; j0 += N_BLOCK) {
      const j1 = Math.min(n, j0 + N_BLOCK);
      for (let j = j0; j < j1; j++) bPack.set(bt.subarray(j * k + k0, j * k + k1), (j - j0) * kb);
      packedDotBlock(aPack, bPack, kb, 0, upperOnly ? Math.min(m, j1) : m, j0, j1, target);
    }
  }
}

/**
 * `op(A) · op(B)` with float64 accumulation, as a float64 matrix.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { matmul64 } from "./matmul.ts";
 * const c = matmul64(matrix(1, 2, new Float32Array([1, 2])), matrix(1, 2, new Float32Array([3, 4])), { transB: true });
 * console.log(c.data[0]); // 11
 * ```
 */
export function matmul64(a: Matrix, b: Matrix, options: MatMulOptions = {}): Matrix64 {
  const [m, k, n] = productShape(a, b, options);
  const rowsA = options.transA ? transpose(a).data : a.data;
  const colsB = options.transB ? b.data : transpose(b).data;
  const out = matrix64(m, n);
  accumulateDotProducts(rowsA, colsB, m, n, k, out.data);
  return out;
}

/**
 * CPU twin of the matrix product: `op(A) · op(B)` as float32, accumulated in float64.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { cpuMatmul } from "./matmul.ts";
 * const a = matrix(2, 2, new Float32Array([1, 2, 3, 4]));
 * const c = cpuMatmul(a, a, { transA: true });
 * console.log(Array.from(c.data)); // [10, 14, 14, 20]
 * ```
 */
export function cpuMatmul(a: Matrix, b: Matrix, options: MatMulOptions = {}): Matrix {
  const c = matmul64(a, b, options);
  return matrix(c.rows, c.cols, Float32Array.from(c.data));
}
