/**
 * The compute interface the editing methods program against. Two implementations: `cpu` (plain
 * TypeScript, float64 where it accumulates, optional native matrix-product provider) and `webgpu`
 * (WGSL kernels on Deno's WebGPU). {@linkcode selectBackend} in `select.ts` picks one.
 *
 * All methods are async because the WebGPU implementation reads results back from the device.
 *
 * @module
 */

import type { AdamWOptimizer, AdamWOptions } from "./cpu/adamw.ts";
import type {
  AttentionGradient,
  AttentionLossKind,
  AttentionProbabilities,
  CrossAttentionInput,
} from "./cpu/attention.ts";
import type { MatrixBatch } from "./cpu/batched_matvec.ts";
import type { SolveResult } from "./cpu/cholesky.ts";
import type { ReductionKind } from "./cpu/elementwise.ts";
import type { MatMulOptions } from "./cpu/matmul.ts";
import type { Matrix, Matrix64 } from "./matrix.ts";

export type { AdamWOptimizer, AdamWOptions } from "./cpu/adamw.ts";
export type {
  AttentionGradient,
  AttentionLossKind,
  AttentionProbabilities,
  CrossAttentionInput,
  RowPenalty,
} from "./cpu/attention.ts";
export type { MatrixBatch } from "./cpu/batched_matvec.ts";
export type { SolveResult } from "./cpu/cholesky.ts";
export type { ReductionKind } from "./cpu/elementwise.ts";
export type { MatMulOptions } from "./cpu/matmul.ts";

/** A concrete backend. */
export type BackendKind = "webgpu" | "cpu";

/** Options of a matrix product. */
export interface MatMulCallOptions extends MatMulOptions {
  /**
   * `"f16"` rounds both operands to half precision and accumulates in float32 (WebGPU uses
   * `shader-f16` storage when the adapter has it, the f32 kernel on rounded values otherwise; the CPU
   * rounds and multiplies). Default `"f32"`.
   */
  precision?: "f32" | "f16";
}

/** Options of an SPD solve. */
export interface SolveOptions {
  /**
   * Stop refining when the correction is below `tolerance` relative to the solution (WebGPU path);
   * default 1e-10.
   */
  tolerance?: number;
  /** Most refinement steps after the first solve (WebGPU path); default 10. */
  maxRefinementSteps?: number;
  /** Compute the final relative residual (costs one float64 product); default true. */
  reportResidual?: boolean;
}

/** The kernels, on one device. */
export interface Backend {
  /** Which implementation this is. */
  readonly kind: BackendKind;
  /** Human-readable device, e.g. `"cpu (plain TypeScript)"` or the adapter's description. */
  readonly description: string;
  /** `op(A)·op(B)` (`[m, n]` float32). */
  matmul(a: Matrix, b: Matrix, options?: MatMulCallOptions): Promise<Matrix>;
  /** `XᵀX` (`[cols, cols]`), accumulated in float64 across chunks; with `into`, added to it. */
  gram(x: Matrix, into?: Matrix64): Promise<Matrix64>;
  /** `Y[b] = A[b or 0]·X[b]` for each row `b` of `x`; returns `[x.rows, a.rows]`. */
  batchedMatVec(a: MatrixBatch, x: Matrix): Promise<Matrix>;
  /**
   * `X = A⁻¹·B` for symmetric positive-definite `A`, many right-hand sides; float64 answer. For the
   * closed-form edits' right solve `W = M·K⁻¹`, pass `B = Mᵀ` and transpose the answer (`K` is symmetric).
   * CPU: float64 Cholesky. WebGPU: float32 blocked Cholesky + float64 iterative refinement, agreeing with
   * the CPU twin to ≤ 1e-8 relative (measured ≤ 2e-12 up to κ = 1e6; see `webgpu/cholesky.ts`).
   */
  solveSPD(a: Matrix | Matrix64, b: Matrix | Matrix64, options?: SolveOptions): Promise<SolveResult>;
  /** `softmax(Q·Kᵀ/√d_head)` per head, restricted to `input.keys`. */
  attentionProbabilities(input: CrossAttentionInput): Promise<AttentionProbabilities>;
  /**
   * Loss on the restricted probabilities and exact `∂L/∂W_q`, `∂L/∂W_k` (and `∂L/∂Q`, `∂L/∂K`). For FMN's one global norm over
   * several layers, `L = √(Σ_l S_l)`: call each layer with `"sumOfSquares"` and scale its gradients by
   * `1 / (2·√(Σ_l S_l))`.
   */
  attentionGradient(input: CrossAttentionInput, loss: AttentionLossKind): Promise<AttentionGradient>;
  /** An AdamW optimizer over a copy of `params` (device-resident on WebGPU). */
  createAdamW(params: Float32Array, options: AdamWOptions): AdamWOptimizer;
  /** `α·a + β·b`. */
  combine(a: Float32Array, b: Float32Array, alpha: number, beta: number): Promise<Float32Array>;
  /** `a ⊙ b`. */
  multiply(a: Float32Array, b: Float32Array): Promise<Float32Array>;
  /** A reduction (sum, sum of squares, largest magnitude). */
  reduce(a: Float32Array, kind: ReductionKind): Promise<number>;
  /** `Σ a·b`. */
  dot(a: Float32Array, b: Float32Array): Promise<number>;
  /** Releases device resources; the backend must not be used afterwards. */
  dispose(): void;
}
