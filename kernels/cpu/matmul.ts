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
 * With `upperOnly`, only entries with `j ≥ i` are guaranteed (a symmetric product's upper triangle).
 */
export function accumulateDotProducts(
  a: Float32Array,
  bt: Float32Array,
  m: number,
  n: number,
  k: number,
  out: Float64Array,
  upperOnly = false,
): void {
  for (let k0 = 0; k0 < k; k0 += K_BLOCK) {
    const k1 = Math.min(k, k0 + K_BLOCK);
    for (let j0 = 0; j0 < n; j0 += N_BLOCK) {
      const j1 = Math.min(n, j0 + N_BLOCK);
      const iEnd = upperOnly ? Math.min(m, j1) : m;
      let i = 0;
      for (; i + 1 < iEnd; i += 2) {
        const a0 = i * k;
        const a1 = a0 + k;
        const o0 = i * n;
        const o1 = o0 + n;
        let j = j0;
        for (; j + 3 < j1; j += 4) {
          const b0 = j * k;
          const b1 = b0 + k;
          const b2 = b1 + k;
          const b3 = b2 + k;
          let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
          for (let p = k0; p < k1; p++) {
            const x0 = a[a0 + p];
            const x1 = a[a1 + p];
            const y0 = bt[b0 + p];
            const y1 = bt[b1 + p];
            const y2 = bt[b2 + p];
            const y3 = bt[b3 + p];
            s00 += x0 * y0;
            s01 += x0 * y1;
            s02 += x0 * y2;
            s03 += x0 * y3;
            s10 += x1 * y0;
            s11 += x1 * y1;
            s12 += x1 * y2;
            s13 += x1 * y3;
          }
          out[o0 + j] += s00;
          out[o0 + j + 1] += s01;
          out[o0 + j + 2] += s02;
          out[o0 + j + 3] += s03;
          out[o1 + j] += s10;
          out[o1 + j + 1] += s11;
          out[o1 + j + 2] += s12;
          out[o1 + j + 3] += s13;
        }
        for (; j < j1; j++) {
          const b0 = j * k;
          let s0 = 0, s1 = 0;
          for (let p = k0; p < k1; p++) {
            const y = bt[b0 + p];
            s0 += a[a0 + p] * y;
            s1 += a[a1 + p] * y;
          }
          out[o0 + j] += s0;
          out[o1 + j] += s1;
        }
      }
      for (; i < iEnd; i++) {
        const a0 = i * k;
        for (let j = j0; j < j1; j++) {
          const b0 = j * k;
          let s = 0;
          for (let p = k0; p < k1; p++) s += a[a0 + p] * bt[b0 + p];
          out[i * n + j] += s;
        }
      }
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
