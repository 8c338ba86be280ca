/**
 * The `webgpu` backend: the WGSL kernels behind the {@linkcode Backend} interface.
 *
 * @module
 */

import type { Backend, MatMulCallOptions, SolveOptions } from "../backend.ts";
import type { AdamWOptimizer, AdamWOptions } from "../cpu/adamw.ts";
import type {
  AttentionGradient,
  AttentionLossKind,
  AttentionProbabilities,
  CrossAttentionInput,
} from "../cpu/attention.ts";
import type { MatrixBatch } from "../cpu/batched_matvec.ts";
import type { SolveResult } from "../cpu/cholesky.ts";
import type { ReductionKind } from "../cpu/elementwise.ts";
import type { Matrix, Matrix64 } from "../matrix.ts";
import { gpuAttentionGradient, gpuAttentionProbabilities } from "./attention.ts";
import { gpuSolveSPD } from "./cholesky.ts";
import { GpuContext } from "./context.ts";
import { type AdapterProbe, openDevice } from "./device.ts";
import { GpuAdamW } from "./adamw.ts";
import { gpuBatchedMatVec } from "./batched_matvec.ts";
import { gpuCombine, gpuDot, gpuMultiply, gpuReduce } from "./elementwise.ts";
import { gpuGram, gpuMatmul } from "./gemm.ts";

/** Options of the WebGPU backend. */
export interface WebGpuBackendOptions {
  /** Lower the storage-binding limit the kernels assume (tests use this to exercise splitting). */
  maxBindingBytes?: number;
}

/** The `webgpu` backend. */
export class WebGpuBackend implements Backend {
  /** Always `"webgpu"`. */
  readonly kind: "webgpu" = "webgpu";
  /** Adapter description (software adapters are marked). */
  readonly description: string;
  /** The device context (for code that records its own dispatches). */
  readonly context: GpuContext;

  private constructor(context: GpuContext, description: string) {
    this.context = context;
    this.description = description;
  }

  /**
   * Opens a device on a probed adapter.
   *
   * @example
   * ```ts
   * import { probeAdapter } from "./device.ts";
   * import { WebGpuBackend } from "./backend.ts";
   * const probe = await probeAdapter();
   * if (probe.status === "ok") {
   *   const gpu = await WebGpuBackend.open(probe);
   *   console.log(gpu.kind); // "webgpu"
   *   gpu.dispose();
   * }
   * ```
   */
  static async open(probe: AdapterProbe, options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    const device = await openDevice(probe);
    const context = new GpuContext(device, options.maxBindingBytes);
    const kind = probe.isFallback ? "software adapter, for tests" : "hardware adapter";
    return new WebGpuBackend(
      context,
      `webgpu (${probe.description}; ${kind}${device.hasF16 ? "; shader-f16" : ""})`,
    );
  }

  /** `op(A)·op(B)`; `precision: "f16"` uses half-precision operands. */
  matmul(a: Matrix, b: Matrix, options: MatMulCallOptions = {}): Promise<Matrix> {
    return gpuMatmul(this.context, a, b, options, options.precision === "f16");
  }

  /** `XᵀX`, float32 chunks summed in float64. */
  gram(x: Matrix, into?: Matrix64): Promise<Matrix64> {
    return gpuGram(this.context, x, into);
  }

  /** Batched matrix–vector products. */
  batchedMatVec(a: MatrixBatch, x: Matrix): Promise<Matrix> {
    return gpuBatchedMatVec(this.context, a, x);
  }

  /** Float32 GPU Cholesky with float64 refinement. */
  solveSPD(a: Matrix | Matrix64, b: Matrix | Matrix64, options?: SolveOptions): Promise<SolveResult> {
    return gpuSolveSPD(this.context, a, b, options);
  }

  /** Restricted attention probabilities. */
  attentionProbabilities(input: CrossAttentionInput): Promise<AttentionProbabilities> {
    return gpuAttentionProbabilities(this.context, input);
  }

  /** Attention loss and gradients. */
  attentionGradient(input: CrossAttentionInput, loss: AttentionLossKind): Promise<AttentionGradient> {
    return gpuAttentionGradient(this.context, input, loss);
  }

  /** A device-resident AdamW optimizer. */
  createAdamW(params: Float32Array, options: AdamWOptions): AdamWOptimizer {
    return new GpuAdamW(this.context, params, options);
  }

  /** `α·a + β·b`. */
  combine(a: Float32Array, b: Float32Array, alpha: number, beta: number): Promise<Float32Array> {
    return gpuCombine(this.context, a, b, alpha, beta);
  }

  /** `a ⊙ b`. */
  multiply(a: Float32Array, b: Float32Array): Promise<Float32Array> {
    return gpuMultiply(this.context, a, b);
  }

  /** A reduction. */
  reduce(a: Float32Array, kind: ReductionKind): Promise<number> {
    return gpuReduce(this.context, a, kind);
  }

  /** `Σ a·b`. */
  dot(a: Float32Array, b: Float32Array): Promise<number> {
    return gpuDot(this.context, a, b);
  }

  /** Destroys the device. */
  dispose(): void {
    this.context.device.destroy();
  }
}
