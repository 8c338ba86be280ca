/**
 * Float64 dense helpers for the closed-form methods' d×d algebra (d = 768…2048), where float64 matters:
 * normal equations with small ridge terms. Row-major `Matrix64`s from the kernels layer.
 *
 * @module
 */
import type { Backend } from "../../../kernels/backend.ts";
import { matrix, type Matrix64, matrix64, transpose } from "../../../kernels/matrix.ts";

/**
 * `op(A)·op(B)` in float64 (i-k-j loop order, so the inner loop streams rows).
 *
 * @example
 * ```ts
 * import { matrix64 } from "../../../kernels/matrix.ts";
 * import { mul64 } from "./dense64.ts";
 * mul64(matrix64(1, 2, new Float64Array([1, 2])), matrix64(2, 1, new Float64Array([3, 4]))).data; // [11]
 * ```
 */
export function mul64(a: Matrix64, b: Matrix64, transA = false, transB = false): Matrix64 {
  const m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols;
  const k2 = transB ? b.cols : b.rows, n = transB ? b.rows : b.cols;
  if (k !== k2) throw new RangeError(`mul64: inner dimensions ${k} and ${k2} differ`);
  const bt = transB ? transpose(b) : b; // k×n row-major
  const out = new Float64Array(m * n);
  const ad = a.data, bd = bt.data;
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let t = 0; t < k; t++) {
      const f = transA ? ad[t * a.cols + i] : ad[i * a.cols + t];
      if (f === 0) continue;
      const base = t * n;
      for (let j = 0; j < n; j++) out[row + j] += f * bd[base + j];
    }
  }
  return matrix64(m, n, out);
}

/**
 * `alpha·A + beta·B` (same shapes), as a new matrix.
 *
 * @example
 * ```ts
 * import { matrix64 } from "../../../kernels/matrix.ts";
 * import { add64 } from "./dense64.ts";
 * add64(matrix64(1, 1, new Float64Array([1])), matrix64(1, 1, new Float64Array([2])), 1, -1).data; // [-1]
 * ```
 */
export function add64(a: Matrix64, b: Matrix64, alpha = 1, beta = 1): Matrix64 {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError("add64: shapes differ");
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = alpha * a.data[i] + beta * b.data[i];
  return matrix64(a.rows, a.cols, out);
}

/**
 * Adds `lambda` to the diagonal of a square matrix, in place; returns it.
 *
 * @example
 * ```ts
 * import { matrix64 } from "../../../kernels/matrix.ts";
 * import { addDiagonal } from "./dense64.ts";
 * addDiagonal(matrix64(2, 2), 0.5).data; // [0.5, 0, 0, 0.5]
 * ```
 */
export function addDiagonal(a: Matrix64, lambda: number): Matrix64 {
  for (let i = 0; i < a.rows; i++) a.data[i * a.cols + i] += lambda;
  return a;
}

/**
 * Stacks matrices with the same number of columns on top of each other.
 *
 * @example
 * ```ts
 * import { matrix64 } from "../../../kernels/matrix.ts";
 * import { vstack64 } from "./dense64.ts";
 * vstack64([matrix64(1, 2), matrix64(2, 2)]).rows; // 3
 * ```
 */
export function vstack64(parts: Matrix64[]): Matrix64 {
  const cols = parts[0]?.cols ?? 0;
  const out = new Float64Array(parts.reduce((s, p) => s + p.rows, 0) * cols);
  let off = 0;
  for (const p of parts) {
    if (p.cols !== cols) throw new RangeError("vstack64: column counts differ");
    out.set(p.data, off);
    off += p.data.length;
  }
  return matrix64(out.length / Math.max(cols, 1), cols, out);
}

/**
 * Puts matrices with the same number of rows side by side.
 *
 * @example
 * ```ts
 * import { matrix64 } from "../../../kernels/matrix.ts";
 * import { hstack64 } from "./dense64.ts";
 * hstack64([matrix64(2, 1), matrix64(2, 3)]).cols; // 4
 * ```
 */
export function hstack64(parts: Matrix64[]): Matrix64 {
  const rows = parts[0]?.rows ?? 0;
  const cols = parts.reduce((s, p) => s + p.cols, 0);
  const out = new Float64Array(rows * cols);
  let c0 = 0;
  for (const p of parts) {
    if (p.rows !== rows) throw new RangeError("hstack64: row counts differ");
    for (let i = 0; i < rows; i++) out.set(p.data.subarray(i * p.cols, (i + 1) * p.cols), i * cols + c0);
    c0 += p.cols;
  }
  return matrix64(rows, cols, out);
}

/**
 * `op(A)·op(B)` for large operands: the product runs as float32 on the compute backend (ONNX Runtime's
 * MatMul behind the CPU backend, or the GPU), the result comes back as float64. For the d×d×k products of
 * the closed-form methods (k ≤ a few hundred) the float32 rounding (~1e-7 relative) is far below what the
 * ridge-regularised solves amplify; sums and solves stay in float64.
 *
 * @example
 * ```ts ignore
 * import { mulOnBackend } from "./dense64.ts";
 * const au = await mulOnBackend(backend, a, u);
 * ```
 */
export async function mulOnBackend(
  backend: Backend,
  a: Matrix64,
  b: Matrix64,
  transA = false,
  transB = false,
): Promise<Matrix64> {
  const m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols, n = transB ? b.rows : b.cols;
  if (m * k * n < 64 ** 3) return mul64(a, b, transA, transB);
  const f32 = (x: Matrix64) => matrix(x.rows, x.cols, Float32Array.from(x.data));
  const c = await backend.matmul(f32(a), f32(b), { transA, transB });
  return matrix64(c.rows, c.cols, Float64Array.from(c.data));
}
