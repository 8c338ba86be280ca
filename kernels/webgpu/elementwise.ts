/**
 * WebGPU elementwise operations, reductions, batched matrix–vector products and the device-resident
 * AdamW optimizer. Arrays longer than the storage-binding limit are processed in segments.
 *
 * @module
 */

import {
  type AdamWOptimizer,
  type AdamWOptions,
  adamWStepConstants,
  checkGradientLength,
} from "../cpu/adamw.ts";
import { checkBatchedMatVec, type MatrixBatch } from "../cpu/batched_matvec.ts";
import { checkSameLength, type ReductionKind } from "../cpu/elementwise.ts";
import { type Matrix, matrix } from "../matrix.ts";
import { GpuContext } from "./context.ts";
import {
  ADAMW_WGSL,
  BATCHED_MATVEC_WGSL,
  ELEMENTWISE_WGSL,
  REDUCE_WGSL,
  REDUCTION_GROUPS,
} from "./elementwise_wgsl.ts";
import { gpuMatmul } from "./gemm.ts";

/** `[start, end)` segments of `length` that each fit one binding. */
function segments(ctx: GpuContext, length: number): [number, number][] {
  const limit = Math.floor(ctx.maxBindingBytes / 4);
  const out: [number, number][] = [];
  for (let s = 0; s < length; s += limit) out.push([s, Math.min(length, s + limit)]);
  return out;
}

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
  for (const [s, e] of segments(ctx, a.length)) {
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
  for (const [s, e] of segments(ctx, a.length)) {
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

/**
 * `Y[b] = A[b or 0]·X[b]` on the GPU. A single shared matrix goes through the (splitting) matrix
 * product; a stack is processed in groups of matrices that fit one binding.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { gpuBatchedMatVec } from "./elementwise.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   const a = { batch: 2, rows: 1, cols: 2, data: new Float32Array([1, 1, 2, 0]) };
 *   const y = await gpuBatchedMatVec(ctx, a, matrix(2, 2, new Float32Array([3, 4, 5, 6])));
 *   console.log(Array.from(y.data)); // [7, 10]
 *   ctx.device.destroy();
 * }
 * ```
 */
export async function gpuBatchedMatVec(ctx: GpuContext, a: MatrixBatch, x: Matrix): Promise<Matrix> {
  const count = checkBatchedMatVec(a, x);
  if (a.batch === 1) return await gpuMatmul(ctx, x, matrix(a.rows, a.cols, a.data), { transB: true });
  const per = a.rows * a.cols;
  const limit = Math.floor(ctx.maxBindingBytes / 4);
  if (per > limit) {
    // One matrix alone exceeds a binding: each product goes through the splitting matrix product.
    const out = matrix(count, a.rows);
    for (let b = 0; b < count; b++) {
      const ab = matrix(a.rows, a.cols, a.data.subarray(b * per, (b + 1) * per));
      const xb = matrix(a.cols, 1, x.data.subarray(b * a.cols, (b + 1) * a.cols));
      out.data.set((await gpuMatmul(ctx, ab, xb)).data, b * a.rows);
    }
    return out;
  }
  const group = Math.max(1, Math.min(count, Math.floor(limit / Math.max(per, a.rows, a.cols))));
  const out = matrix(count, a.rows);
  const pipeline = ctx.pipeline("batched-matvec", BATCHED_MATVEC_WGSL);
  for (let b0 = 0; b0 < count; b0 += group) {
    const b1 = Math.min(count, b0 + group);
    const n = b1 - b0;
    const bufA = ctx.upload(a.data.subarray(b0 * per, b1 * per));
    const bufX = ctx.upload(x.data.subarray(b0 * a.cols, b1 * a.cols));
    const bufY = ctx.storage(n * a.rows * 4);
    const [gx, gy] = GpuContext.grid(n * a.rows, 64);
    const params = ctx.uniform([{ u: n }, { u: a.rows }, { u: a.cols }, { u: 0 }, { u: gx }]);
    const encoder = ctx.device.createCommandEncoder();
    ctx.dispatch(encoder, pipeline, [params, bufA, bufX, bufY], [gx, gy]);
    out.data.set(await ctx.read(encoder, bufY, n * a.rows * 4), b0 * a.rows);
    for (const buf of [bufA, bufX, bufY]) buf.destroy();
  }
  return out;
}

interface Segment {
  start: number;
  end: number;
  param: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  grad: GPUBuffer;
}

/** AdamW whose parameters and moments stay on the device between steps. */
export class GpuAdamW implements AdamWOptimizer {
  readonly #ctx: GpuContext;
  readonly #options: AdamWOptions;
  readonly #segments: Segment[];
  readonly #length: number;
  #step = 0;

  /**
   * Uploads a copy of `params` with zero moments.
   *
   * @example
   * ```ts
   * import { GpuAdamW } from "./elementwise.ts";
   * import { gpuForTests } from "./test_support.ts";
   * const ctx = await gpuForTests();
   * if (ctx) {
   *   const opt = new GpuAdamW(ctx, new Float32Array([1, 2]), { lr: 1e-3 });
   *   await opt.update(new Float32Array([0.1, -0.1]));
   *   console.log((await opt.read()).length); // 2
   *   opt.dispose();
   *   ctx.device.destroy();
   * }
   * ```
   */
  constructor(ctx: GpuContext, params: Float32Array, options: AdamWOptions) {
    adamWStepConstants(options, 1);
    this.#ctx = ctx;
    this.#options = { ...options };
    this.#length = params.length;
    this.#segments = segments(ctx, params.length).map(([start, end]) => ({
      start,
      end,
      param: ctx.upload(params.subarray(start, end), "adamw-param"),
      m: ctx.storage((end - start) * 4, "adamw-m"),
      v: ctx.storage((end - start) * 4, "adamw-v"),
      grad: ctx.storage((end - start) * 4, "adamw-grad"),
    }));
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /** Uploads the gradient and applies one update on the device (no readback). */
  update(grad: Float32Array): Promise<void> {
    checkGradientLength(grad, this.#length);
    this.#step++;
    const c = adamWStepConstants(this.#options, this.#step);
    const ctx = this.#ctx;
    const pipeline = ctx.pipeline("adamw", ADAMW_WGSL);
    const encoder = ctx.device.createCommandEncoder();
    for (const s of this.#segments) {
      const n = s.end - s.start;
      ctx.device.queue.writeBuffer(s.grad, 0, grad.subarray(s.start, s.end) as Float32Array<ArrayBuffer>);
      const [gx, gy] = GpuContext.grid(n, 256);
      const params = ctx.uniform([
        { u: n },
        { u: gx },
        { u: 0 },
        { u: 0 },
        { f: c.beta1 },
        { f: c.beta2 },
        { f: c.eps },
        { f: 1 - c.lr * c.weightDecay },
        { f: c.stepSize },
        { f: c.biasCorrection2Sqrt },
      ]);
      ctx.dispatch(encoder, pipeline, [params, s.param, s.m, s.v, s.grad], [gx, gy]);
    }
    ctx.submit(encoder);
    return Promise.resolve();
  }

  /** Copies the parameters back. */
  async read(): Promise<Float32Array> {
    const out = new Float32Array(this.#length);
    for (const s of this.#segments) {
      const encoder = this.#ctx.device.createCommandEncoder();
      out.set(await this.#ctx.read(encoder, s.param, (s.end - s.start) * 4), s.start);
    }
    return out;
  }

  /** Frees the device buffers. */
  dispose(): void {
    for (const s of this.#segments) for (const b of [s.param, s.m, s.v, s.grad]) b.destroy();
  }
}
