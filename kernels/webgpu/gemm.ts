/**
 * WebGPU matrix products: the recorded GEMM dispatch ({@linkcode encodeGemm}) the other kernels build
 * on, the matrix product with transposes ({@linkcode gpuMatmul}, split into pieces when an operand
 * exceeds the storage-binding limit) and the chunked Gram matrix ({@linkcode gpuGram}, float64 sum of
 * float32 chunk products).
 *
 * @module
 */

import { type Matrix, matrix, type Matrix64, matrix64 } from "../matrix.ts";
import { type MatMulOptions, productShape } from "../cpu/matmul.ts";
import { roundToHalf } from "../cpu/backend.ts";
import type { GpuContext } from "./context.ts";
import { GEMM_TILE, gemmShader } from "./gemm_wgsl.ts";

/** One GEMM on buffers: `C[offC + i·ldc + j] = α·op(A)·op(B) + β·C`. */
export interface GemmCall {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  m: number;
  n: number;
  k: number;
  lda: number;
  ldb: number;
  ldc: number;
  offA?: number;
  offB?: number;
  offC?: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  /** Only write `j ≤ i` (and skip tiles above the diagonal). */
  lowerOnly?: boolean;
  /** Operands stored as f16 (needs `shader-f16`). */
  f16?: boolean;
}

/** Records one GEMM dispatch into `encoder`. */
export function encodeGemm(ctx: GpuContext, encoder: GPUCommandEncoder, g: GemmCall): void {
  if (g.m === 0 || g.n === 0) return;
  const element = g.f16 ? "f16" : "f32";
  const pipeline = ctx.pipeline(`gemm-${element}`, gemmShader(element));
  const params = ctx.uniform([
    { u: g.m },
    { u: g.n },
    { u: g.k },
    { u: g.lda },
    { u: g.ldb },
    { u: g.ldc },
    { u: g.offA ?? 0 },
    { u: g.offB ?? 0 },
    { u: g.offC ?? 0 },
    { u: g.transA ? 1 : 0 },
    { u: g.transB ? 1 : 0 },
    { u: g.lowerOnly ? 1 : 0 },
    { f: g.alpha ?? 1 },
    { f: g.beta ?? 0 },
  ]);
  ctx.dispatch(encoder, pipeline, [params, g.a, g.b, g.c], [
    Math.ceil(g.n / GEMM_TILE),
    Math.ceil(g.m / GEMM_TILE),
  ]);
}

/** Rows `[r0, r1)` of `op(M)` as a plain row-major matrix (copies). */
function rowsOfOp(mat: Matrix, trans: boolean, r0: number, r1: number): Matrix {
  if (!trans) return matrix(r1 - r0, mat.cols, mat.data.subarray(r0 * mat.cols, r1 * mat.cols));
  const out = matrix(r1 - r0, mat.rows);
  for (let i = r0; i < r1; i++) {
    for (let k = 0; k < mat.rows; k++) out.data[(i - r0) * mat.rows + k] = mat.data[k * mat.cols + i];
  }
  return out;
}

/** Columns `[c0, c1)` of `op(M)`, returned transposed (row `j` = column `c0 + j`), copied. */
function colsOfOpTransposed(mat: Matrix, trans: boolean, c0: number, c1: number): Matrix {
  return rowsOfOp(mat, !trans, c0, c1);
}

function toHalf(data: Float32Array): Float16Array {
  return Float16Array.from(data);
}

/** One product that fits the binding limit. */
async function matmulPiece(
  ctx: GpuContext,
  a: Matrix,
  b: Matrix,
  options: MatMulOptions,
  f16: boolean,
): Promise<Matrix> {
  const [m, k, n] = productShape(a, b, options);
  const out = matrix(m, n);
  if (m === 0 || n === 0) return out;
  const useF16 = f16 && ctx.hasF16;
  // Without shader-f16 the operands are rounded to half here, so the numbers match the f16 kernel's.
  const operand = (x: Matrix) => useF16 ? toHalf(x.data) : f16 ? roundToHalf(x).data : x.data;
  const bufA = ctx.upload(operand(a), "A");
  const bufB = ctx.upload(operand(b), "B");
  const bufC = ctx.storage(m * n * 4, "C");
  const encoder = ctx.device.createCommandEncoder();
  encodeGemm(ctx, encoder, {
    a: bufA,
    b: bufB,
    c: bufC,
    m,
    n,
    k,
    lda: a.cols,
    ldb: b.cols,
    ldc: n,
    transA: options.transA,
    transB: options.transB,
    f16: useF16,
  });
  const data = await ctx.read(encoder, bufC, m * n * 4);
  bufA.destroy();
  bufB.destroy();
  bufC.destroy();
  out.data.set(data);
  return out;
}

/**
 * `op(A)·op(B)` on the GPU. When an operand or the result exceeds the storage-binding limit, the output
 * is computed in row and column blocks (each block's operands copied into bindings that fit).
 * With `f16` and a `shader-f16` adapter, operands travel and are read as half precision; without the
 * feature they are rounded to half first and the f32 kernel gives the same numbers.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { GpuContext } from "./context.ts";
 * import { openDevice, probeAdapter } from "./device.ts";
 * import { gpuMatmul } from "./gemm.ts";
 * const probe = await probeAdapter();
 * if (probe.status === "ok") {
 *   const ctx = new GpuContext(await openDevice(probe));
 *   const c = await gpuMatmul(ctx, matrix(1, 2, new Float32Array([1, 2])), matrix(2, 1, new Float32Array([3, 4])));
 *   console.log(c.data[0]); // 11
 *   ctx.device.destroy();
 * }
 * ```
 */
export async function gpuMatmul(
  ctx: GpuContext,
  a: Matrix,
  b: Matrix,
  options: MatMulOptions = {},
  f16 = false,
): Promise<Matrix> {
  const [m, k, n] = productShape(a, b, options);
  const limit = Math.floor(ctx.maxBindingBytes / 4);
  if (a.data.length <= limit && b.data.length <= limit && m * n <= limit) {
    return await matmulPiece(ctx, a, b, options, f16);
  }
  // Split the output into rowBlock × colBlock pieces whose operands and result each fit.
  if (k > limit) {
    throw new RangeError(`matmul: inner dimension ${k} alone exceeds the device's binding limit`);
  }
  const rowBlock = Math.max(
    1,
    Math.min(m, Math.floor(limit / Math.max(k, 1)), Math.floor(limit / Math.min(n, limit))),
  );
  const colBlock = Math.max(1, Math.min(n, Math.floor(limit / Math.max(k, 1)), Math.floor(limit / rowBlock)));
  const out = matrix(m, n);
  for (let r0 = 0; r0 < m; r0 += rowBlock) {
    const r1 = Math.min(m, r0 + rowBlock);
    const aPiece = rowsOfOp(a, options.transA ?? false, r0, r1);
    for (let c0 = 0; c0 < n; c0 += colBlock) {
      const c1 = Math.min(n, c0 + colBlock);
      const bPiece = colsOfOpTransposed(b, options.transB ?? false, c0, c1);
      const piece = await matmulPiece(ctx, aPiece, bPiece, { transB: true }, f16);
      for (let i = 0; i < r1 - r0; i++) {
        out.data.set(piece.data.subarray(i * (c1 - c0), (i + 1) * (c1 - c0)), (r0 + i) * n + c0);
      }
    }
  }
  return out;
}

/** Rows of `X` per GPU Gram chunk: float32 sums over at most this many terms, float64 across chunks. */
export const GRAM_ROW_CHUNK = 4096;

/**
 * `XᵀX` on the GPU in float32 per chunk of rows, summed across chunks (and into `into`) in float64.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { GpuContext } from "./context.ts";
 * import { openDevice, probeAdapter } from "./device.ts";
 * import { gpuGram } from "./gemm.ts";
 * const probe = await probeAdapter();
 * if (probe.status === "ok") {
 *   const ctx = new GpuContext(await openDevice(probe));
 *   const g = await gpuGram(ctx, matrix(2, 1, new Float32Array([3, 4])));
 *   console.log(g.data[0]); // 25
 *   ctx.device.destroy();
 * }
 * ```
 */
export async function gpuGram(ctx: GpuContext, x: Matrix, into?: Matrix64): Promise<Matrix64> {
  const d = x.cols;
  if (into && (into.rows !== d || into.cols !== d)) {
    throw new RangeError(
      `gram: accumulator is [${into.rows}, ${into.cols}], X has ${d} columns: need [${d}, ${d}]`,
    );
  }
  const limit = Math.floor(ctx.maxBindingBytes / 4);
  if (d * d > limit) throw new RangeError(`gram: a ${d}×${d} result exceeds the device's binding limit`);
  const rowsPerChunk = Math.max(1, Math.min(GRAM_ROW_CHUNK, Math.floor(limit / Math.max(d, 1))));
  const out = into ?? matrix64(d, d);
  const bufC = ctx.storage(d * d * 4, "gram");
  for (let r0 = 0; r0 < x.rows; r0 += rowsPerChunk) {
    const r1 = Math.min(x.rows, r0 + rowsPerChunk);
    const bufX = ctx.upload(x.data.subarray(r0 * d, r1 * d), "X");
    const encoder = ctx.device.createCommandEncoder();
    encodeGemm(ctx, encoder, {
      a: bufX,
      b: bufX,
      c: bufC,
      m: d,
      n: d,
      k: r1 - r0,
      lda: d,
      ldb: d,
      ldc: d,
      transA: true,
      lowerOnly: true,
    });
    const lower = await ctx.read(encoder, bufC, d * d * 4);
    bufX.destroy();
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) {
        const v = lower[i * d + j];
        out.data[i * d + j] += v;
        out.data[j * d + i] += v;
      }
      out.data[i * d + i] += lower[i * d + i];
    }
  }
  bufC.destroy();
  return out;
}
