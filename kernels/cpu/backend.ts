/**
 * The `cpu` backend: every kernel's CPU twin behind the {@linkcode Backend} interface, with an
 * injectable {@linkcode MatMulProvider} (e.g. ONNX Runtime's native MatMul) used for large products.
 *
 * @module
 */

import type { Backend, MatMulCallOptions, SolveOptions } from "../backend.ts";
import { type Matrix, matrix, type Matrix64, matrix64 } from "../matrix.ts";
import { type AdamWOptimizer, type AdamWOptions, CpuAdamW } from "./adamw.ts";
import {
  type AttentionGradient,
  type AttentionLossKind,
  type AttentionProbabilities,
  cpuAttentionGradient,
  cpuAttentionProbabilities,
  type CrossAttentionInput,
} from "./attention.ts";
import { cpuBatchedMatVec, type MatrixBatch } from "./batched_matvec.ts";
import {
  checkSolveOperands,
  choleskyFactor64,
  choleskySolve64,
  cpuSolveSPD,
  type SolveResult,
} from "./cholesky.ts";
import { cpuCombine, cpuDot, cpuMultiply, cpuReduce, type ReductionKind } from "./elementwise.ts";
import { cpuGram } from "./gram.ts";
import { cpuMatmul, productShape } from "./matmul.ts";

/** A faster matrix product to use for large products (e.g. ONNX Runtime's native MatMul). */
export interface MatMulProvider {
  /** Name shown in the backend description, e.g. `"onnxruntime-node"`. */
  readonly name: string;
  /** `op(A)·op(B)` as float32. */
  matmul(a: Matrix, b: Matrix, transA: boolean, transB: boolean): Promise<Matrix>;
}

/** Options of the CPU backend. */
export interface CpuBackendOptions {
  /** Used for products of at least `providerThreshold` multiply-adds; default none (plain TypeScript). */
  matmulProvider?: MatMulProvider;
  /** Multiply-adds (`m·k·n`) from which the provider is used; default 128³. */
  providerThreshold?: number;
  /**
   * Also compute large Gram matrices with the provider: float32 products over chunks of at most
   * {@linkcode GRAM_PROVIDER_ROWS} rows, summed in float64 (the WebGPU backend's scheme). Default false:
   * float64 throughout.
   */
  gramViaProvider?: boolean;
}

/** Rows per float32 chunk when a Gram matrix goes through the provider. */
export const GRAM_PROVIDER_ROWS = 4096;

/** Rounds every value to the nearest half-precision number (the f16 path's inputs). */
export function roundToHalf(m: Matrix): Matrix {
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.f16round(m.data[i]);
  return { rows: m.rows, cols: m.cols, data };
}

/** The `cpu` backend. */
export class CpuBackend implements Backend {
  /** Always `"cpu"`. */
  readonly kind: "cpu" = "cpu";
  /** `"cpu (plain TypeScript)"`, plus the provider's name when one is set. */
  readonly description: string;
  readonly #provider?: MatMulProvider;
  readonly #threshold: number;
  readonly #gramViaProvider: boolean;

  /**
   * Makes a CPU backend, optionally with a native product provider.
   *
   * @example
   * ```ts
   * import { CpuBackend } from "./backend.ts";
   * import { matrix } from "../matrix.ts";
   * const cpu = new CpuBackend();
   * const c = await cpu.matmul(matrix(1, 1, new Float32Array([2])), matrix(1, 1, new Float32Array([3])));
   * console.log(c.data[0]); // 6
   * ```
   */
  constructor(options: CpuBackendOptions = {}) {
    this.#provider = options.matmulProvider;
    this.#threshold = options.providerThreshold ?? 128 ** 3;
    this.#gramViaProvider = options.gramViaProvider ?? false;
    this.description = this.#provider
      ? `cpu (plain TypeScript; products ≥ ${this.#threshold} multiply-adds via ${this.#provider.name})`
      : "cpu (plain TypeScript)";
  }

  /** `op(A)·op(B)`. */
  matmul(a: Matrix, b: Matrix, options: MatMulCallOptions = {}): Promise<Matrix> {
    const [m, k, n] = productShape(a, b, options);
    const [a1, b1] = options.precision === "f16" ? [roundToHalf(a), roundToHalf(b)] : [a, b];
    if (this.#provider && m * k * n >= this.#threshold) {
      return this.#provider.matmul(a1, b1, options.transA ?? false, options.transB ?? false);
    }
    return Promise.resolve(cpuMatmul(a1, b1, options));
  }

  /** `XᵀX` in float64. */
  async gram(x: Matrix, into?: Matrix64): Promise<Matrix64> {
    const d = x.cols;
    if (!this.#provider || !this.#gramViaProvider || x.rows * d * d < this.#threshold) {
      return cpuGram(x, into);
    }
    if (into && (into.rows !== d || into.cols !== d)) {
      throw new RangeError(
        `gram: accumulator is [${into.rows}, ${into.cols}], X has ${d} columns: need [${d}, ${d}]`,
      );
    }
    const out = into ?? matrix64(d, d);
    for (let r0 = 0; r0 < x.rows; r0 += GRAM_PROVIDER_ROWS) {
      const r1 = Math.min(x.rows, r0 + GRAM_PROVIDER_ROWS);
      const chunk = matrix(r1 - r0, d, x.data.subarray(r0 * d, r1 * d));
      const part = await this.#provider.matmul(chunk, chunk, true, false);
      for (let i = 0; i < d * d; i++) out.data[i] += part.data[i];
    }
    return out;
  }

  /** Batched matrix–vector products. */
  batchedMatVec(a: MatrixBatch, x: Matrix): Promise<Matrix> {
    return Promise.resolve(cpuBatchedMatVec(a, x));
  }

  /** Float64 Cholesky solve. */
  solveSPD(a: Matrix | Matrix64, b: Matrix | Matrix64, options: SolveOptions = {}): Promise<SolveResult> {
    if (options.reportResidual === false) {
      const [a64, b64] = checkSolveOperands(a, b);
      const x = choleskySolve64(choleskyFactor64(a64), b64);
      return Promise.resolve({ x, relativeResidual: NaN, refinementSteps: 0, method: "cpu-f64" });
    }
    return Promise.resolve(cpuSolveSPD(a, b));
  }

  /** Restricted attention probabilities. */
  attentionProbabilities(input: CrossAttentionInput): Promise<AttentionProbabilities> {
    return Promise.resolve(cpuAttentionProbabilities(input));
  }

  /** Attention loss and gradients. */
  attentionGradient(input: CrossAttentionInput, loss: AttentionLossKind): Promise<AttentionGradient> {
    return Promise.resolve(cpuAttentionGradient(input, loss));
  }

  /** A CPU AdamW optimizer. */
  createAdamW(params: Float32Array, options: AdamWOptions): AdamWOptimizer {
    return new CpuAdamW(params, options);
  }

  /** `α·a + β·b`. */
  combine(a: Float32Array, b: Float32Array, alpha: number, beta: number): Promise<Float32Array> {
    return Promise.resolve(cpuCombine(a, b, alpha, beta));
  }

  /** `a ⊙ b`. */
  multiply(a: Float32Array, b: Float32Array): Promise<Float32Array> {
    return Promise.resolve(cpuMultiply(a, b));
  }

  /** A reduction in float64. */
  reduce(a: Float32Array, kind: ReductionKind): Promise<number> {
    return Promise.resolve(cpuReduce(a, kind));
  }

  /** `Σ a·b` in float64. */
  dot(a: Float32Array, b: Float32Array): Promise<number> {
    return Promise.resolve(cpuDot(a, b));
  }

  /** Nothing to release. */
  dispose(): void {}
}
