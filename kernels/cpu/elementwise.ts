/**
 * CPU twins of the elementwise operations and reductions the methods need. Reductions accumulate in
 * float64.
 *
 * @module
 */

/** Reductions over a vector. */
export type ReductionKind = "sum" | "sumOfSquares" | "maxAbs";

/** Throws unless both arrays have the same length, naming the operation. */
export function checkSameLength(a: Float32Array, b: Float32Array, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/**
 * `α·a + β·b`, elementwise.
 *
 * @example
 * ```ts
 * import { cpuCombine } from "./elementwise.ts";
 * console.log(Array.from(cpuCombine(new Float32Array([1, 2]), new Float32Array([3, 4]), 2, -1))); // [-1, 0]
 * ```
 */
export function cpuCombine(a: Float32Array, b: Float32Array, alpha: number, beta: number): Float32Array {
  checkSameLength(a, b, "combine");
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = alpha * a[i] + beta * b[i];
  return out;
}

/**
 * `a ⊙ b`, elementwise.
 *
 * @example
 * ```ts
 * import { cpuMultiply } from "./elementwise.ts";
 * console.log(Array.from(cpuMultiply(new Float32Array([1, 2]), new Float32Array([3, 4])))); // [3, 8]
 * ```
 */
export function cpuMultiply(a: Float32Array, b: Float32Array): Float32Array {
  checkSameLength(a, b, "multiply");
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * b[i];
  return out;
}

/**
 * A reduction of `a`, accumulated in float64.
 *
 * @example
 * ```ts
 * import { cpuReduce } from "./elementwise.ts";
 * console.log(cpuReduce(new Float32Array([3, -4]), "sumOfSquares")); // 25
 * ```
 */
export function cpuReduce(a: Float32Array, kind: ReductionKind): number {
  let s = 0;
  if (kind === "sum") { for (let i = 0; i < a.length; i++) s += a[i]; }
  else if (kind === "sumOfSquares") { for (let i = 0; i < a.length; i++) s += a[i] * a[i]; }
  else if (kind === "maxAbs") { for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i])); }
  else throw new RangeError(`reduce: unknown reduction "${kind}" (sum, sumOfSquares, maxAbs)`);
  return s;
}

/**
 * `Σ a[i]·b[i]`, accumulated in float64.
 *
 * @example
 * ```ts
 * import { cpuDot } from "./elementwise.ts";
 * console.log(cpuDot(new Float32Array([1, 2]), new Float32Array([3, 4]))); // 11
 * ```
 */
export function cpuDot(a: Float32Array, b: Float32Array): number {
  checkSameLength(a, b, "dot");
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
