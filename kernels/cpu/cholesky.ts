/**
 * CPU twin of the symmetric positive-definite solve, entirely in float64: Cholesky factorization
 * `A = L·Lᵀ`, forward and backward substitution for many right-hand sides, and the residual.
 *
 * @module
 */

import { type Matrix, type Matrix64, matrix64, transpose } from "../matrix.ts";
import { accumulateDotProducts } from "./matmul.ts";
import { packedDotBlock } from "./dot_block.ts";

/** Block edge of the factorization and of the triangular solves. */
const BLOCK = 64;
/** Right-hand-side columns processed together by the solves (keeps a block of rows in cache). */
const COLUMN_CHUNK = 256;

/**
 * Factors an SPD matrix: returns the lower-triangular `L` (upper part zero) with `A = L·Lᵀ`.
 * Only the lower triangle of `a` is read. Throws when a pivot is not positive.
 *
 * Right-looking blocked algorithm: factor a 64-wide diagonal block, solve the panel below it, subtract
 * the panel's outer product from the trailing lower triangle with the packed dot-product kernel.
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
  const w = Float64Array.from(a.data);
  const panel = new Float64Array(n * BLOCK);
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const k1 = Math.min(n, k0 + BLOCK);
    const kb = k1 - k0;
    factorDiagonalBlock(w, n, k0, k1);
    // Panel: row i below the block solves x·L11ᵀ = w[i, k0..k1).
    const rows = n - k1;
    for (let r = 0; r < rows; r++) {
      const ri = (k1 + r) * n;
      const pr = r * kb;
      for (let j = 0; j < kb; j++) {
        const rj = (k0 + j) * n + k0;
        let s = w[ri + k0 + j];
        for (let p = 0; p < j; p++) s -= panel[pr + p] * w[rj + p];
        const v = s / w[rj + j];
        panel[pr + j] = v;
        w[ri + k0 + j] = v;
      }
    }
    // Trailing lower triangle: w[k1.., k1..] −= panel·panelᵀ, by column blocks of the panel.
    const target = { out: w, base: k1 * n + k1, stride: n, sign: -1 as const };
    for (let j0 = 0; j0 < rows; j0 += BLOCK) {
      const j1 = Math.min(rows, j0 + BLOCK);
      packedDotBlock(panel, panel.subarray(j0 * kb, j1 * kb), kb, j0, rows, j0, j1, target);
    }
  }
  for (let i = 0; i < n; i++) w.fill(0, i * n + i + 1, (i + 1) * n);
  return matrix64(n, n, w);
}

/** Unblocked Cholesky of the diagonal block `[k0, k1)` of `w` (earlier blocks already subtracted). */
function factorDiagonalBlock(w: Float64Array, n: number, k0: number, k1: number): void {
  for (let j = k0; j < k1; j++) {
    const rj = j * n;
    let d = w[rj + j];
    for (let p = k0; p < j; p++) d -= w[rj + p] * w[rj + p];
    if (!(d > 0)) {
      throw new RangeError(
        `cholesky: matrix is not positive definite (pivot ${j} of ${n} is ${d}); add a ridge λI or check the input`,
      );
    }
    const pivot = Math.sqrt(d);
    w[rj + j] = pivot;
    for (let i = j + 1; i < k1; i++) {
      const ri = i * n;
      let s = w[ri + j];
      for (let p = k0; p < j; p++) s -= w[ri + p] * w[rj + p];
      w[ri + j] = s / pivot;
    }
  }
}

/** `x[i, c0..c1) −= coef · x[p, c0..c1)`. */
function axpyRow(
  x: Float64Array,
  m: number,
  i: number,
  p: number,
  coef: number,
  c0: number,
  c1: number,
): void {
  const ri = i * m;
  const rp = p * m;
  for (let j = c0; j < c1; j++) x[ri + j] -= coef * x[rp + j];
}

/** Depth of the packed slices in the solves' block updates. */
const SLICE = 256;

/**
 * `X[i0..i1, c0..c1) −= T · X[p0..p1, c0..c1)` where `T[i, p] = L[i, p]` (forward) or `L[p, i]`
 * (backward, `transposed`), through packed float64 panels and {@linkcode packedDotBlock}.
 */
function subtractBlockProduct(
  f: Float64Array,
  n: number,
  transposed: boolean,
  x: Float64Array,
  m: number,
  rows: [number, number],
  inner: [number, number],
  cols: [number, number],
): void {
  const [i0, i1] = rows;
  const [c0, c1] = cols;
  const height = i1 - i0;
  const target = { out: x, base: i0 * m + c0, stride: m, sign: -1 as const };
  const aPack = new Float64Array(height * SLICE);
  const bPack = new Float64Array(BLOCK * SLICE);
  for (let p0 = inner[0]; p0 < inner[1]; p0 += SLICE) {
    const p1 = Math.min(inner[1], p0 + SLICE);
    const depth = p1 - p0;
    for (let i = i0; i < i1; i++) {
      const row = (i - i0) * depth;
      if (transposed) { for (let p = p0; p < p1; p++) aPack[row + p - p0] = f[p * n + i]; }
      else aPack.set(f.subarray(i * n + p0, i * n + p1), row);
    }
    for (let j0 = 0; j0 < c1 - c0; j0 += BLOCK) {
      const j1 = Math.min(c1 - c0, j0 + BLOCK);
      for (let j = j0; j < j1; j++) {
        const col = (j - j0) * depth;
        for (let p = p0; p < p1; p++) bPack[col + p - p0] = x[p * m + c0 + j];
      }
      packedDotBlock(aPack, bPack, depth, 0, height, j0, j1, target);
    }
  }
}

/**
 * Solves `L·Y = B` (forward) then `Lᵀ·X = Y` (backward) for all columns of `b`; returns `X`. Blocked:
 * 64-row blocks; what earlier blocks contribute is one packed product per block, the rest is
 * substitution inside the block; 256-column chunks keep the rows in cache.
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
  for (let c0 = 0; c0 < m; c0 += COLUMN_CHUNK) {
    const c1 = Math.min(m, c0 + COLUMN_CHUNK);
    for (let i0 = 0; i0 < n; i0 += BLOCK) {
      const i1 = Math.min(n, i0 + BLOCK);
      if (i0 > 0) subtractBlockProduct(f, n, false, x, m, [i0, i1], [0, i0], [c0, c1]);
      for (let i = i0; i < i1; i++) {
        for (let p = i0; p < i; p++) axpyRow(x, m, i, p, f[i * n + p], c0, c1);
        const inv = 1 / f[i * n + i];
        for (let j = c0; j < c1; j++) x[i * m + j] *= inv;
      }
    }
    for (let i1 = n; i1 > 0; i1 -= BLOCK) {
      const i0 = Math.max(0, i1 - BLOCK);
      if (i1 < n) subtractBlockProduct(f, n, true, x, m, [i0, i1], [i1, n], [c0, c1]);
      for (let i = i1 - 1; i >= i0; i--) {
        for (let p = i + 1; p < i1; p++) axpyRow(x, m, i, p, f[p * n + i], c0, c1);
        const inv = 1 / f[i * n + i];
        for (let j = c0; j < c1; j++) x[i * m + j] *= inv;
      }
    }
  }
  return matrix64(n, m, x);
}

/**
 * `B − A·X` in float64 (packed dot-product kernel).
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
  const r = Float64Array.from(b.data);
  accumulateDotProducts(a.data, transpose(x).data, a.rows, x.cols, a.cols, r, false, -1);
  return matrix64(a.rows, x.cols, r);
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
