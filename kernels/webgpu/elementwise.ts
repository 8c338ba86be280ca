/**
 * WebGPU elementwise operations and reductions. Arrays longer than the storage-binding limit are
 * processed in segments.
 *
 * @module
 */

import { checkSameLength, type ReductionKind } from "../cpu/elementwise.ts";
import { GpuContext } from "./context.ts";
import { ELEMENTWISE_WGSL, REDUCE_WGSL, REDUCTION_GROUPS } from "./elementwise_wgsl.ts";

async function elementwise(
  ctx: GpuContext,
  a: Float32Array,
  b: Float32Array,
  op: 0 | 1,
  alpha: number,
  beta: number,
): Promise<Float32Array> {
  const out = new Float32Array(a.length);
  const pipeline = ctx.pipeline("elementwise", ELEMENTWISE_WGSL);
  for (const [s, e] of ctx.segments(a.length)) {
    const n = e - s;
    const bufA = ctx.upload(a.subarray(s, e));
    const bufB = ctx.upload(b.subarray(s, e));
    const bufOut = ctx.storage(n * 4);
    const [gx, gy] = GpuContext.grid(n, 256);
    const params = ctx.uniform([{ u: n }, { u: op }, { u: gx }, { u: 0 }, { f: alpha }, { f: beta }]);
    const encoder = ctx.device.createCommandEncoder();
    ctx.dispatch(encoder, pipeline, [params, bufA, bufB, bufOut], [gx, gy]);
    out.set(await ctx.read(encoder, bufOut, n * 4), s);
    for (const buf of [bufA, bufB, bufOut]) buf.destroy();
  }
  return out;
}

/**
 * `α·a + β·b` on the GPU.
 *
 * @example
 * ```ts
 * import { gpuCombine } from "./elementwise.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   console.log(Array.from(await gpuCombine(ctx, new Float32Array([1, 2]), new Float32Array([3, 4]), 2, -1))); // [-1, 0]
 *   ctx.device.destroy();
 * }
 * ```
 */
export function gpuCombine(
  ctx: GpuContext,
  a: Float32Array,
  b: Float32Array,
  alpha: number,
  beta: number,
): Promise<Float32Array> {
  checkSameLength(a, b, "combine");
  return elementwise(ctx, a, b, 0, alpha, beta);
}

/**
 * `a ⊙ b` on the GPU.
 *
 * @example
 * ```ts
 * import { gpuMultiply } from "./elementwise.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   console.log(Array.from(await gpuMultiply(ctx, new Float32Array([1, 2]), new Float32Array([3, 4])))); // [3, 8]
 *   ctx.device.destroy();
 * }
 * ```
 */
export function gpuMultiply(ctx: GpuContext, a: Float32Array, b: Float32Array): Promise<Float32Array> {
  checkSameLength(a, b, "multiply");
  return elementwise(ctx, a, b, 1, 1, 1);
}

const REDUCTION_OPS: Record<ReductionKind | "dot", number> = { sum: 0, sumOfSquares: 1, maxAbs: 2, dot: 3 };

async function reduction(
  ctx: GpuContext,
  a: Float32Array,
  b: Float32Array,
  kind: ReductionKind | "dot",
): Promise<number> {
  const op = REDUCTION_OPS[kind];
  if (op === undefined) {
    throw new RangeError(`reduce: unknown reduction "${kind}" (sum, sumOfSquares, maxAbs)`);
  }
  const pipeline = ctx.pipeline("reduce", REDUCE_WGSL);
  let total = 0;
  for (const [s, e] of ctx.segments(a.length)) {
    const n = e - s;
    const groups = Math.max(1, Math.min(REDUCTION_GROUPS, Math.ceil(n / 256)));
    const bufA = ctx.upload(a.subarray(s, e));
    const bufB = kind === "dot" ? ctx.upload(b.subarray(s, e)) : bufA;
    const partials = ctx.storage(groups * 4);
    const params = ctx.uniform([{ u: n }, { u: op }, { u: groups * 256 }]);
    const encoder = ctx.device.createCommandEncoder();
    ctx.dispatch(encoder, pipeline, [params, bufA, bufB, partials], [groups]);
    const values = await ctx.read(encoder, partials, groups * 4);
    for (const v of values) total = op === 2 ? Math.max(total, v) : total + v;
    for (const buf of new Set([bufA, bufB, partials])) buf.destroy();
  }
  return total;
}

/**
 * A reduction on the GPU (float32 per workgroup, float64 across workgroups).
 *
 * @example
 * ```ts
 * import { gpuReduce } from "./elementwise.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   console.log(await gpuReduce(ctx, new Float32Array([3, -4]), "sumOfSquares")); // 25
 *   ctx.device.destroy();
 * }
 * ```
 */
export function gpuReduce(ctx: GpuContext, a: Float32Array, kind: ReductionKind): Promise<number> {
  return reduction(ctx, a, a, kind);
}

/**
 * `Σ a·b` on the GPU.
 *
 * @example
 * ```ts
 * import { gpuDot } from "./elementwise.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   console.log(await gpuDot(ctx, new Float32Array([1, 2]), new Float32Array([3, 4]))); // 11
 *   ctx.device.destroy();
 * }
 * ```
 */
export function gpuDot(ctx: GpuContext, a: Float32Array, b: Float32Array): Promise<number> {
  checkSameLength(a, b, "dot");
  return reduction(ctx, a, b, "dot");
}
