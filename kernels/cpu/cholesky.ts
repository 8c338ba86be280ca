/**
 * CPU twin of the symmetric positive-definite solve, entirely in float64: Cholesky factorization
 * `A = L·Lᵀ`, forward and backward substitution for many right-hand sides, and the residual.
 *
 * @module
 */

import { type Matrix, type Matrix64, matrix64 } from "../matrix.ts";

/** Rows of the factor handled together (they share the loads of earlier rows). */
const ROW_PAIR = 2;

/**
 * Factors an SPD matrix: returns the lower-triangular `L` (upper part zero) with `A = L·Lᵀ`.
 * Only the lower triangle of `a` is read. Throws when a pivot is not positive.
 *
 * @example
 * ```ts
 * import { matrix64 } from "../matrix.ts";
 * import { choleskyFactor64 } from "./cholesky.ts";
 * const l = choleskyFactor64(matrix64(2, 2, new Float64Array([4, 2, 2, 5])));
 * console.log(Array.from(l.data)); // [2, 0, 1, 2]
 * ```
 */
export function choleskyFactor64(a: Matrix64): Matrix64 {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`cholesky: matrix must be square, got [${a.rows}, ${a.cols}]`);
  const l = new Float64Array(n * n);
  const src = a.data;
  // Row-oriented (Cholesky–Banachiewicz): row i of L needs only earlier rows, and every inner loop is a
  // dot product of two contiguous rows. Two rows at a time share the loads of row j.
  let i = 0;
  for (; i + ROW_PAIR - 1 < n; i += ROW_PAIR) {
    const r0 = i * n;
    const r1 = r0 + n;
    for (let j = 0; j < i; j++) {
      const rj = j * n;
      let s0 = src[r0 + j];
      let s1 = src[r1 + j];
      for (let p = 0; p < j; p++) {
        const v = l[rj + p];
        s0 -= l[r0 + p] * v;
        s1 -= l[r1 + p] * v;
      }
      const d = l[rj + j];
      l[r0 + j] = s0 / d;
      l[r1 + j] = s1 / d;
    }
    finishRow(l, src, n, i);
    // Row i+1 still needs its entry in column i, then its own diagonal.
    let s = src[r1 + i];
    for (let p = 0; p < i; p++) s -= l[r1 + p] * l[r0 + p];
    l[r1 + i] = s / l[r0 + i];
    finishRow(l, src, n, i + 1);
  }
  for (; i < n; i++) {
    const r0 = i * n;
    for (let j = 0; j < i; j++) {
      const rj = j * n;
      let s = src[r0 + j];
      for (let p = 0; p < j; p++) s -= l[r0 + p] * l[rj + p];
      l[r0 + j] = s / l[rj + j];
    }
    finishRow(l, src, n, i);
  }
  return matrix64(n, n, l);
}

function finishRow(l: Float64Array, src: Float64Array, n: number, i: number): void {
  const r = i * n;
  let s = src[r + i];
  for (let p = 0; p < i; p++) s -= l[r + p] * l[r + p];
  if (!(s > 0)) {
    throw new RangeError(
      `cholesky: matrix is not positive definite (pivot ${i} of ${n} is ${s}); add a ridge λI or check the input`,
    );
  }
  l[r + i] = Math.sqrt(s);
}

/**
 * Solves `L·Y = B` (forward) then `Lᵀ·X = Y` (backward) for all columns of `b`; returns `X`.
 *
 * @example
 * ```ts
 * import { matrix64 } from "../matrix.ts";
 * import { choleskySolve64 } from "./cholesky.ts";
 * const l = matrix64(2, 2, new Float64Array([2, 0, 1, 2]));
 * const x = choleskySolve64(l, matrix64(2, 1, new Float64Array([4, 5])));
 * console.log(Array.from(x.data)); // [0.75, 0.5]
 * ```
 */
export function choleskySolve64(l: Matrix64, b: Matrix64): Matrix64 {
  const n = l.rows;
  const m = b.cols;
  if (b.rows !== n) {
    throw new RangeError(`cholesky solve: right-hand side has ${b.rows} rows, factor is ${n}×${n}`);
  }
  const x = Float64Array.from(b.data);
  const f = l.data;
  for (let i = 0; i < n; i++) {
    const ri = i * m;
    for (let p = 0; p < i; p++) {
      const c = f[i * n + p];
      if (c === 0) continue;
      const rp = p * m;
      for (let j = 0; j < m; j++) x[ri + j] -= c * x[rp + j];
    }
    const inv = 1 / f[i * n + i];
    for (let j = 0; j < m; j++) x[ri + j] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * m;
    for (let p = i + 1; p < n; p++) {
      const c = f[p * n + i];
      if (c === 0) continue;
      const rp = p * m;
      for (let j = 0; j < m; j++) x[ri + j] -= c * x[rp + j];
    }
    const inv = 1 / f[i * n + i];
    for (let j = 0; j < m; j++) x[ri + j] *= inv;
  }
  return matrix64(n, m, x);
}

/**
 * `B − A·X` in float64.
 *
 * @example
 * ```ts
 * import { matrix64 } from "../matrix.ts";
 * import { residual64 } from "./cholesky.ts";
 * const r = residual64(matrix64(1, 1, new Float64Array([2])), matrix64(1, 1, new Float64Array([3])), matrix64(1, 1, new Float64Array([7])));
 * console.log(r.data[0]); // 1
 * ```
 */
export function residual64(a: Matrix64, x: Matrix64, b: Matrix64): Matrix64 {
  const n = a.rows;
  const m = x.cols;
  const r = Float64Array.from(b.data);
  for (let i = 0; i < n; i++) {
    const ri = i * m;
    for (let p = 0; p < a.cols; p++) {
      const c = a.data[i * a.cols + p];
      const rp = p * m;
      for (let j = 0; j < m; j++) r[ri + j] -= c * x.data[rp + j];
    }
  }
  return matrix64(n, m, r);
}

/** Frobenius norm. */
export function frobeniusNorm(m: Matrix | Matrix64): number {
  let s = 0;
  for (let i = 0; i < m.data.length; i++) s += m.data[i] * m.data[i];
  return Math.sqrt(s);
}

/** What an SPD solve returns. */
export interface SolveResult {
  /** The solution `X` of `A·X = B`, float64. */
  x: Matrix64;
  /** `‖B − A·X‖_F / ‖B‖_F`, computed in float64 (0 when `B` is zero). */
  relativeResidual: number;
  /** Iterative-refinement steps taken after the first solve (0 for the float64 CPU path). */
  refinementSteps: number;
  /** How the answer was obtained, e.g. `"cpu-f64"` or `"webgpu-f32+f64-refinement"`. */
  method: string;
}

/** Checks `A` square and `B` conformable; converts both to float64. */
export function checkSolveOperands(a: Matrix | Matrix64, b: Matrix | Matrix64): [Matrix64, Matrix64] {
  if (a.rows !== a.cols) throw new RangeError(`solveSPD: A must be square, got [${a.rows}, ${a.cols}]`);
  if (b.rows !== a.rows) {
    throw new RangeError(`solveSPD: B has ${b.rows} rows, A is ${a.rows}×${a.cols}: need ${a.rows} rows`);
  }
  const a64 = a.data instanceof Float64Array
    ? a as Matrix64
    : matrix64(a.rows, a.cols, Float64Array.from(a.data));
  const b64 = b.data instanceof Float64Array
    ? b as Matrix64
    : matrix64(b.rows, b.cols, Float64Array.from(b.data));
  return [a64, b64];
}

/**
 * CPU twin of the SPD solve: `X = A⁻¹·B` by float64 Cholesky, with the relative residual.
 *
 * @example
 * ```ts
 * import { matrix64 } from "../matrix.ts";
 * import { cpuSolveSPD } from "./cholesky.ts";
 * const { x } = cpuSolveSPD(matrix64(2, 2, new Float64Array([4, 2, 2, 5])), matrix64(2, 1, new Float64Array([4, 5])));
 * console.log(Array.from(x.data)); // [0.75, 0.5]
 * ```
 */
export function cpuSolveSPD(a: Matrix | Matrix64, b: Matrix | Matrix64): SolveResult {
  const [a64, b64] = checkSolveOperands(a, b);
  const x = choleskySolve64(choleskyFactor64(a64), b64);
  const bNorm = frobeniusNorm(b64);
  const relativeResidual = bNorm === 0 ? 0 : frobeniusNorm(residual64(a64, x, b64)) / bNorm;
  return { x, relativeResidual, refinementSteps: 0, method: "cpu-f64" };
}
