/**
 * Seeded pseudo-random matrices for tests and benchmarks: the same seed gives the same numbers on
 * every machine, and values are never all zero.
 *
 * @module
 */

import { type Matrix, matrix, type Matrix64, matrix64 } from "./matrix.ts";

/** A seeded generator of uniform `[0, 1)` numbers (mulberry32). */
export type UniformSource = () => number;

/**
 * Makes a seeded uniform generator.
 *
 * @example
 * ```ts
 * import { seededUniform } from "./random.ts";
 * const next = seededUniform(42);
 * console.log(next() >= 0 && next() < 1); // true
 * ```
 */
export function seededUniform(seed: number): UniformSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills a new array with seeded standard-normal values (Box–Muller), scaled by `scale`.
 *
 * @example
 * ```ts
 * import { randomNormal } from "./random.ts";
 * const v = randomNormal(4, 7);
 * console.log(v.length); // 4
 * ```
 */
export function randomNormal(length: number, seed: number, scale = 1): Float64Array {
  const uniform = seededUniform(seed);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i += 2) {
    const u = 1 - uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u)) * scale;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/**
 * A float32 matrix of seeded standard-normal values times `scale`.
 *
 * @example
 * ```ts
 * import { randomMatrix } from "./random.ts";
 * const m = randomMatrix(3, 5, 1);
 * console.log(m.rows, m.cols); // 3 5
 * ```
 */
export function randomMatrix(rows: number, cols: number, seed: number, scale = 1): Matrix {
  return matrix(rows, cols, Float32Array.from(randomNormal(rows * cols, seed, scale)));
}

/**
 * A symmetric positive-definite float64 matrix with condition number exactly `condition`: eigenvalues
 * log-spaced from 1 down to `1/condition`, rotated by three seeded Householder reflections (dense, built
 * in O(n²) so benchmarks can make 2048-wide systems quickly).
 *
 * @example
 * ```ts
 * import { spdWithCondition } from "./random.ts";
 * const a = spdWithCondition(4, 100, 3);
 * console.log(a.data[1] === a.data[4]); // true (symmetric)
 * ```
 */
export function spdWithCondition(n: number, condition: number, seed: number): Matrix64 {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = n === 1 ? 1 : Math.pow(condition, -i / (n - 1));
  for (let r = 0; r < 3; r++) {
    const u = randomNormal(n, seed * 7 + r);
    let norm = 0;
    for (let i = 0; i < n; i++) norm += u[i] * u[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) u[i] /= norm;
    // H·A·H with H = I − 2uuᵀ: A − 2u(Aᵀu)ᵀ − 2(Au)uᵀ + 4(uᵀAu)uuᵀ, A symmetric so Aᵀu = Au.
    const au = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * u[j];
      au[i] = s;
    }
    let uau = 0;
    for (let i = 0; i < n; i++) uau += u[i] * au[i];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        a[i * n + j] += -2 * u[i] * au[j] - 2 * au[i] * u[j] + 4 * uau * u[i] * u[j];
      }
    }
  }
  // Symmetrize exactly (rounding above leaves 1-ulp asymmetries).
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = (a[i * n + j] + a[j * n + i]) / 2;
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return matrix64(n, n, a);
}
