/**
 * WebGPU cross-attention kernels for FMN re-steering: restricted probabilities and the exact gradients
 * of `S = Σ P[:, :, keys]²` (or `√S`) with respect to `W_q` and `W_k`, all recorded in one submission
 * (projections, row kernel, per-head `∂K` GEMMs, weight-gradient GEMMs) with one readback.
 *
 * @module
 */

import {
  type AttentionGradient,
  type AttentionLossKind,
  type AttentionProbabilities,
  type AttentionShape,
  attentionShape,
  type CrossAttentionInput,
} from "../cpu/attention.ts";
import { matrix } from "../matrix.ts";
import { GpuContext } from "./context.ts";
import { attentionRowShader } from "./attention_wgsl.ts";
import { encodeGemm } from "./gemm.ts";

interface Projected {
  encoder: GPUCommandEncoder;
  x: GPUBuffer;
  context: GPUBuffer;
  q: GPUBuffer;
  k: GPUBuffer;
  keys: GPUBuffer;
  owned: GPUBuffer[];
}

function checkFits(ctx: GpuContext, s: AttentionShape, input: CrossAttentionInput): void {
  const copies = input.rows === "drift" ? 2 : 1;
  const largest = Math.max(
    input.x.data.length,
    copies * s.queries * s.inner,
    copies * s.tokens * s.inner,
    input.wq.data.length,
    input.wk.data.length,
    s.queries * s.inner,
    s.heads * s.queries * s.tokens,
  );
  if (largest * 4 > ctx.maxBindingBytes) {
    throw new RangeError(
      `attention: a tensor of ${largest} floats exceeds the device's storage-binding limit ` +
        `(${ctx.maxBindingBytes} bytes); split the queries into smaller batches`,
    );
  }
}

/**
 * Uploads inputs and records `Q = X·W_qᵀ`, `K = E·W_kᵀ`; for drift rows also the reference projections
 * `Q⁰`, `K⁰`, stored right after `Q` and `K` in the same buffers (the row kernel already binds eight
 * storage buffers, WebGPU's default limit per stage).
 */
function project(ctx: GpuContext, input: CrossAttentionInput, s: AttentionShape): Projected {
  const x = ctx.upload(input.x.data, "X");
  const context = ctx.upload(input.context.data, "E");
  const reference = input.rows === "drift" ? input.reference : undefined;
  const copies = reference ? 2 : 1;
  const q = ctx.storage(copies * s.queries * s.inner * 4, "Q");
  const k = ctx.storage(copies * s.tokens * s.inner * 4, "K");
  const keys = ctx.upload(Uint32Array.from(input.keys.length ? input.keys : [0]), "keys");
  const encoder = ctx.device.createCommandEncoder();
  const owned = [x, context, q, k, keys];
  const cx = input.x.cols;
  const cc = input.context.cols;
  const weights = [[input.wq, input.wk], ...(reference ? [[reference.wq, reference.wk]] : [])];
  for (const [copy, [wqm, wkm]] of weights.entries()) {
    const wq = ctx.upload(wqm.data, "Wq");
    const wk = ctx.upload(wkm.data, "Wk");
    owned.push(wq, wk);
    for (
      const [a, b, out, rows, cols] of [[x, wq, q, s.queries, cx], [context, wk, k, s.tokens, cc]] as const
    ) {
      encodeGemm(ctx, encoder, {
        a,
        b,
        c: out,
        m: rows,
        n: s.inner,
        k: cols,
        lda: cols,
        ldb: cols,
        ldc: s.inner,
        offC: copy * rows * s.inner,
        transB: true,
      });
    }
  }
  return { encoder, x, context, q, k, keys, owned };
}

function rowPass(
  ctx: GpuContext,
  p: Projected,
  s: AttentionShape,
  nkeys: number,
  mode: 0 | 1 | 2 | 3,
  outputs: [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer],
): void {
  const pipeline = ctx.pipeline(`attention-row-${s.tokens}`, attentionRowShader(s.tokens));
  const [gx, gy] = GpuContext.grid(s.heads * s.queries, 64);
  const params = ctx.uniform([
    { u: s.queries },
    { u: s.tokens },
    { u: s.inner },
    { u: s.heads },
    { u: s.headDim },
    { u: nkeys },
    { u: mode },
    { u: gx },
    { f: 1 / Math.sqrt(s.headDim) },
    { u: s.queries * s.inner },
    { u: s.tokens * s.inner },
    { u: 0 },
  ]);
  ctx.dispatch(p.encoder, pipeline, [params, p.q, p.k, p.keys, ...outputs], [gx, gy]);
}

/**
 * `softmax(Q·Kᵀ/√d_head)` restricted to the chosen keys, on the GPU.
 *
 * @example
 * ```ts
 * import { randomMatrix } from "../random.ts";
 * import { gpuAttentionProbabilities } from "./attention.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   const p = await gpuAttentionProbabilities(ctx, {
 *     x: randomMatrix(4, 8, 1), context: randomMatrix(5, 6, 2), wq: randomMatrix(8, 8, 3), wk: randomMatrix(8, 6, 4),
 *     heads: 2, keys: [1, 3],
 *   });
 *   console.log(p.data.length); // 16
 *   ctx.device.destroy();
 * }
 * ```
 */
export async function gpuAttentionProbabilities(
  ctx: GpuContext,
  input: CrossAttentionInput,
): Promise<AttentionProbabilities> {
  const s = attentionShape(input);
  checkFits(ctx, s, input);
  const nk = input.keys.length;
  const p = project(ctx, input, s);
  const probs = ctx.storage(s.heads * s.queries * nk * 4, "P");
  const dummy = ctx.storage(16, "unused");
  rowPass(ctx, p, s, nk, 0, [probs, dummy, dummy, dummy]);
  const data = await ctx.read(p.encoder, probs, s.heads * s.queries * nk * 4);
  for (const b of [...p.owned, probs, dummy]) b.destroy();
  return { heads: s.heads, queries: s.queries, keys: [...input.keys], data };
}

/**
 * The loss on the restricted probabilities and exact `∂L/∂W_q`, `∂L/∂W_k`, on the GPU. The sum of squares
 * is summed in float64 from per-row float32 partials.
 *
 * @example
 * ```ts
 * import { randomMatrix } from "../random.ts";
 * import { gpuAttentionGradient } from "./attention.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   const g = await gpuAttentionGradient(ctx, {
 *     x: randomMatrix(4, 8, 1), context: randomMatrix(5, 6, 2), wq: randomMatrix(8, 8, 3), wk: randomMatrix(8, 6, 4),
 *     heads: 2, keys: [1, 3],
 *   }, "sumOfSquares");
 *   console.log(g.gradWk.rows, g.gradWk.cols); // 8 6
 *   ctx.device.destroy();
 * }
 * ```
 */
export async function gpuAttentionGradient(
  ctx: GpuContext,
  input: CrossAttentionInput,
  lossKind: AttentionLossKind,
): Promise<AttentionGradient> {
  const s = attentionShape(input);
  checkFits(ctx, s, input);
  const p = project(ctx, input, s);
  const rows = s.heads * s.queries;
  const dz = ctx.storage(rows * s.tokens * 4, "dZ");
  const dq = ctx.storage(s.queries * s.inner * 4, "dQ");
  const dk = ctx.storage(s.tokens * s.inner * 4, "dK");
  const partial = ctx.storage(rows * 4, "partial");
  const dummy = ctx.storage(16, "unused");
  const cx = input.x.cols;
  const cc = input.context.cols;
  const gradWq = ctx.storage(s.inner * cx * 4, "dWq");
  const gradWk = ctx.storage(s.inner * cc * 4, "dWk");
  const mode = input.rows === "mass" ? 2 : input.rows === "drift" ? 3 : 1;
  rowPass(ctx, p, s, input.keys.length, mode, [dummy, dz, dq, partial]);
  for (let h = 0; h < s.heads; h++) {
    // ∂K_h = ∂Z_hᵀ·Q_h (the 1/√d is already in ∂Z).
    encodeGemm(ctx, p.encoder, {
      a: dz,
      b: p.q,
      c: dk,
      m: s.tokens,
      n: s.headDim,
      k: s.queries,
      lda: s.tokens,
      ldb: s.inner,
      ldc: s.inner,
      offA: h * s.queries * s.tokens,
      offB: h * s.headDim,
      offC: h * s.headDim,
      transA: true,
    });
  }
  encodeGemm(ctx, p.encoder, {
    a: dq,
    b: p.x,
    c: gradWq,
    m: s.inner,
    n: cx,
    k: s.queries,
    lda: s.inner,
    ldb: cx,
    ldc: cx,
    transA: true,
  });
  encodeGemm(ctx, p.encoder, {
    a: dk,
    b: p.context,
    c: gradWk,
    m: s.inner,
    n: cc,
    k: s.tokens,
    lda: s.inner,
    ldb: cc,
    ldc: cc,
    transA: true,
  });
  const [partials, wq, wk, gq, gk] = await ctx.readMany(p.encoder, [
    [partial, rows * 4],
    [gradWq, s.inner * cx * 4],
    [gradWk, s.inner * cc * 4],
    [dq, s.queries * s.inner * 4],
    [dk, s.tokens * s.inner * 4],
  ]);
  for (const b of [...p.owned, dz, dq, dk, partial, dummy, gradWq, gradWk]) b.destroy();
  let sumOfSquares = 0;
  for (let i = 0; i < rows; i++) sumOfSquares += partials[i];
  const loss = lossKind === "norm" ? Math.sqrt(sumOfSquares) : sumOfSquares;
  if (lossKind === "norm") {
    const factor = sumOfSquares > 0 ? 1 / (2 * Math.sqrt(sumOfSquares)) : 0;
    for (const g of [wq, wk, gq, gk]) for (let i = 0; i < g.length; i++) g[i] *= factor;
  }
  return {
    loss,
    sumOfSquares,
    gradWq: matrix(s.inner, cx, wq),
    gradWk: matrix(s.inner, cc, wk),
    gradQ: matrix(s.queries, s.inner, gq),
    gradK: matrix(s.tokens, s.inner, gk),
  };
}
