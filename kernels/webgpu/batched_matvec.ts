/**
 * WebGPU batched matrix–vector products.
 *
 * @module
 */

import { checkBatchedMatVec, type MatrixBatch } from "../cpu/batched_matvec.ts";
import { type Matrix, matrix } from "../matrix.ts";
import { GpuContext } from "./context.ts";
import { BATCHED_MATVEC_WGSL } from "./elementwise_wgsl.ts";
import { gpuMatmul } from "./gemm.ts";

/**
 * `Y[b] = A[b or 0]·X[b]` on the GPU. A single shared matrix goes through the (splitting) matrix
 * product; a stack is processed in groups of matrices that fit one binding.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { gpuBatchedMatVec } from "./batched_matvec.ts";
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
