/**
 * WebGPU symmetric positive-definite solve: float32 blocked Cholesky on the GPU, made accurate by
 * float64 work on the CPU.
 *
 * WGSL has no float64, so the scheme is mixed precision:
 * 1. equilibrate `Â = D·A·D` with `D = diag(A)^-½` (unit diagonal; removes bad row/column scaling),
 * 2. factor `Â ≈ L·Lᵀ` in float32 on the GPU (blocked; kept on the device),
 * 3. iterative refinement: solve for the correction on the GPU (float32), update `x` in float64,
 *    recompute the residual `r = b̂ − Â·x` in float64 on the CPU, until the correction is below the
 *    tolerance relative to `x`,
 * 4. undo the scaling: `x = D·x̂`.
 * Each refinement step shrinks the error by about `κ(Â)·2⁻²⁴`, so up to κ ≈ 1e6 a few steps reach
 * float64-level agreement with the CPU twin. If refinement stalls (κ too large for float32), the solve
 * falls back to the float64 CPU Cholesky and says so in `method`.
 *
 * @module
 */

import type { SolveOptions } from "../backend.ts";
import {
  checkSolveOperands,
  cpuSolveSPD,
  frobeniusNorm,
  residual64,
  type SolveResult,
} from "../cpu/cholesky.ts";
import { type Matrix, type Matrix64, matrix64 } from "../matrix.ts";
import { GpuContext } from "./context.ts";
import { BLOCK_SOLVE_WGSL, CHOLESKY_BLOCK, DIAGONAL_FACTOR_WGSL, PANEL_SOLVE_WGSL } from "./cholesky_wgsl.ts";
import { encodeGemm } from "./gemm.ts";

/** Pivots at or below this (after equilibration, diagonal 1) are clamped during the float32 factorization. */
const MIN_PIVOT = 1e-12;

/** A float32 Cholesky factor living on the device. */
export interface DeviceFactor {
  /** `n × n` buffer; lower triangle holds `L`, upper triangle zero. */
  buffer: GPUBuffer;
  /** Order. */
  n: number;
  /** Pivots that were not positive in float32 and had to be clamped. */
  clampedPivots: number;
}

/**
 * Uploads `a` (only its lower triangle is used) and factors it on the device.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { gpuCholeskyFactor } from "./cholesky.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   const f = await gpuCholeskyFactor(ctx, matrix(2, 2, new Float32Array([4, 2, 2, 5])));
 *   console.log(f.clampedPivots); // 0
 *   ctx.device.destroy();
 * }
 * ```
 */
export async function gpuCholeskyFactor(ctx: GpuContext, a: Matrix): Promise<DeviceFactor> {
  const n = a.rows;
  if (n * n * 4 > ctx.maxBindingBytes) {
    throw new RangeError(`solveSPD: a ${n}×${n} float32 matrix exceeds the device's storage-binding limit`);
  }
  const buffer = ctx.upload(a.data, "factor");
  const panel = ctx.storage(n * CHOLESKY_BLOCK * 4, "panel");
  const status = ctx.upload(new Uint32Array(4), "status");
  const diag = ctx.pipeline("cholesky-diagonal", DIAGONAL_FACTOR_WGSL);
  const panelPipeline = ctx.pipeline("cholesky-panel", PANEL_SOLVE_WGSL);
  const encoder = ctx.device.createCommandEncoder();
  for (let k0 = 0; k0 < n; k0 += CHOLESKY_BLOCK) {
    const bs = Math.min(CHOLESKY_BLOCK, n - k0);
    const params = ctx.uniform([{ u: n }, { u: k0 }, { u: bs }, { u: 0 }, { f: MIN_PIVOT }]);
    ctx.dispatch(encoder, diag, [params, buffer, status], [1]);
    const rows = n - k0 - bs;
    if (rows === 0) continue;
    const [gx, gy] = GpuContext.grid(rows, 64);
    const panelParams = ctx.uniform([{ u: n }, { u: k0 }, { u: bs }, { u: rows }, { u: gx }]);
    ctx.dispatch(encoder, panelPipeline, [panelParams, buffer, panel], [gx, gy]);
    const start = (k0 + bs) * n + k0 + bs;
    encodeGemm(ctx, encoder, {
      a: panel,
      b: panel,
      c: buffer,
      m: rows,
      n: rows,
      k: bs,
      lda: bs,
      ldb: bs,
      ldc: n,
      offC: start,
      transB: true,
      alpha: -1,
      beta: 1,
      lowerOnly: true,
    });
  }
  const flags = await ctx.read(encoder, status, 4);
  panel.destroy();
  status.destroy();
  return { buffer, n, clampedPivots: new Uint32Array(flags.buffer)[0] };
}

/**
 * Solves `L·Lᵀ·X = B` on the device for `B` `[n, m]` (float32), returning `X`.
 *
 * @example
 * ```ts
 * import { matrix } from "../matrix.ts";
 * import { gpuCholeskyFactor, gpuCholeskySolve } from "./cholesky.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   const f = await gpuCholeskyFactor(ctx, matrix(2, 2, new Float32Array([4, 2, 2, 5])));
 *   const x = await gpuCholeskySolve(ctx, f, new Float32Array([4, 5]), 1);
 *   console.log(Array.from(x)); // [0.75, 0.5]
 *   ctx.device.destroy();
 * }
 * ```
 */
export async function gpuCholeskySolve(
  ctx: GpuContext,
  factor: DeviceFactor,
  b: Float32Array,
  m: number,
): Promise<Float32Array> {
  const n = factor.n;
  const x = ctx.upload(b, "rhs");
  const block = ctx.storage(CHOLESKY_BLOCK * m * 4, "block");
  const pipeline = ctx.pipeline("cholesky-block-solve", BLOCK_SOLVE_WGSL);
  const [gx, gy] = GpuContext.grid(m, 64);
  const encoder = ctx.device.createCommandEncoder();
  const blocks: number[] = [];
  for (let k0 = 0; k0 < n; k0 += CHOLESKY_BLOCK) blocks.push(k0);
  for (const k0 of blocks) {
    const bs = Math.min(CHOLESKY_BLOCK, n - k0);
    const params = ctx.uniform([{ u: n }, { u: m }, { u: k0 }, { u: bs }, { u: 0 }, { u: gx }]);
    ctx.dispatch(encoder, pipeline, [params, factor.buffer, x, block], [gx, gy]);
    const rows = n - k0 - bs;
    // Rows below: X[k0+bs.., :] −= L[k0+bs.., k0..k0+bs] · X[k0..k0+bs, :]
    encodeGemm(ctx, encoder, {
      a: factor.buffer,
      b: block,
      c: x,
      m: rows,
      n: m,
      k: bs,
      lda: n,
      ldb: m,
      ldc: m,
      offA: (k0 + bs) * n + k0,
      offC: (k0 + bs) * m,
      alpha: -1,
      beta: 1,
    });
  }
  for (const k0 of blocks.reverse()) {
    const bs = Math.min(CHOLESKY_BLOCK, n - k0);
    const params = ctx.uniform([{ u: n }, { u: m }, { u: k0 }, { u: bs }, { u: 1 }, { u: gx }]);
    ctx.dispatch(encoder, pipeline, [params, factor.buffer, x, block], [gx, gy]);
    // Rows above: X[0..k0, :] −= L[k0..k0+bs, 0..k0]ᵀ · X[k0..k0+bs, :]
    encodeGemm(ctx, encoder, {
      a: factor.buffer,
      b: block,
      c: x,
      m: k0,
      n: m,
      k: bs,
      lda: n,
      ldb: m,
      ldc: m,
      offA: k0 * n,
      transA: true,
      alpha: -1,
      beta: 1,
    });
  }
  const out = await ctx.read(encoder, x, n * m * 4);
  x.destroy();
  block.destroy();
  return out;
}

/** Solves for all columns of `rhs` (float64 `[n, m]`), in column chunks that fit the binding limit. */
async function solveColumns(
  ctx: GpuContext,
  factor: DeviceFactor,
  rhs: Float64Array,
  m: number,
): Promise<Float64Array> {
  const n = factor.n;
  const perChunk = Math.max(
    1,
    Math.min(m, Math.floor(ctx.maxBindingBytes / 4 / Math.max(n, CHOLESKY_BLOCK))),
  );
  const out = new Float64Array(n * m);
  for (let c0 = 0; c0 < m; c0 += perChunk) {
    const c1 = Math.min(m, c0 + perChunk);
    const w = c1 - c0;
    const chunk = new Float32Array(n * w);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < w; j++) chunk[i * w + j] = rhs[i * m + c0 + j];
    }
    const solved = await gpuCholeskySolve(ctx, factor, chunk, w);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < w; j++) out[i * m + c0 + j] = solved[i * w + j];
    }
  }
  return out;
}

/**
 * `X = A⁻¹·B` for SPD `A`: float32 GPU Cholesky + float64 iterative refinement (see the module doc).
 *
 * @example
 * ```ts
 * import { matrix64 } from "../matrix.ts";
 * import { gpuSolveSPD } from "./cholesky.ts";
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * if (ctx) {
 *   const r = await gpuSolveSPD(ctx, matrix64(2, 2, new Float64Array([4, 2, 2, 5])), matrix64(2, 1, new Float64Array([4, 5])));
 *   console.log(r.x.data[0].toFixed(6)); // 0.750000
 *   ctx.device.destroy();
 * }
 * ```
 */
export async function gpuSolveSPD(
  ctx: GpuContext,
  a: Matrix | Matrix64,
  b: Matrix | Matrix64,
  options: SolveOptions = {},
): Promise<SolveResult> {
  const [a64, b64] = checkSolveOperands(a, b);
  const n = a64.rows;
  const m = b64.cols;
  const tolerance = options.tolerance ?? 1e-10;
  const maxSteps = options.maxRefinementSteps ?? 10;
  if (n === 0 || m === 0) {
    return { x: matrix64(n, m), relativeResidual: 0, refinementSteps: 0, method: "webgpu" };
  }
  if (n * n * 4 > ctx.maxBindingBytes) {
    // The factor must live in one binding; beyond that (n ≳ 5800 at 128 MiB) the float64 CPU path runs.
    return { ...cpuSolveSPD(a64, b64), method: "cpu-f64 (matrix exceeds the WebGPU storage-binding limit)" };
  }
  const scale = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = a64.data[i * n + i];
    if (!(d > 0)) {
      throw new RangeError(`solveSPD: matrix is not positive definite (diagonal ${i} is ${d})`);
    }
    scale[i] = 1 / Math.sqrt(d);
  }
  const scaledA = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) scaledA[i * n + j] = scale[i] * a64.data[i * n + j] * scale[j];
  }
  const scaledB = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) scaledB[i * m + j] = scale[i] * b64.data[i * m + j];
  }
  const factor = await gpuCholeskyFactor(ctx, { rows: n, cols: n, data: Float32Array.from(scaledA) });
  try {
    const x = new Float64Array(n * m);
    const scaledA64 = matrix64(n, n, scaledA);
    const scaledB64 = matrix64(n, m, scaledB);
    let r: Float64Array = scaledB;
    let previous = Infinity;
    let last = Infinity;
    let steps = 0;
    let outcome: "converged" | "stalled" | "failed" = "stalled";
    for (let iteration = 0; iteration <= maxSteps; iteration++) {
      const d = await solveColumns(ctx, factor, r, m);
      let dNorm = 0;
      let xNorm = 0;
      for (let i = 0; i < x.length; i++) {
        x[i] += d[i];
        dNorm += d[i] * d[i];
        xNorm += x[i] * x[i];
      }
      steps = iteration;
      last = xNorm === 0 ? 0 : Math.sqrt(dNorm / xNorm);
      if (!Number.isFinite(last)) {
        outcome = "failed";
        break;
      }
      r = residual64(scaledA64, matrix64(n, m, x), scaledB64).data;
      if (last <= tolerance) {
        outcome = "converged";
        break;
      }
      if (iteration > 1 && last > previous) break;
      previous = last;
    }
    if (outcome === "failed" || (outcome === "stalled" && !(last < 1e-6))) {
      // Float32 could not resolve this system (κ far beyond 1e6, or not SPD in float32): use float64.
      const fallback = cpuSolveSPD(a64, b64);
      return { ...fallback, refinementSteps: steps, method: "cpu-f64 (webgpu refinement did not converge)" };
    }
    const out = matrix64(n, m);
    let residualNorm = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        out.data[i * m + j] = scale[i] * x[i * m + j];
        const ri = r[i * m + j] / scale[i];
        residualNorm += ri * ri;
      }
    }
    const bNorm = frobeniusNorm(b64);
    return {
      x: out,
      relativeResidual: bNorm === 0 ? 0 : Math.sqrt(residualNorm) / bNorm,
      refinementSteps: steps,
      method: factor.clampedPivots
        ? `webgpu-f32+f64-refinement (${factor.clampedPivots} float32 pivots clamped)`
        : "webgpu-f32+f64-refinement",
    };
  } finally {
    factor.buffer.destroy();
  }
}
