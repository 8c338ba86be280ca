/**
 * The compute layer of `forget`: dense kernels for the editing methods — matrix products, Gram
 * matrices, batched matrix–vector products, symmetric positive-definite solves, cross-attention
 * probabilities and their gradients, AdamW, elementwise operations and reductions — as WGSL compute
 * shaders on Deno's WebGPU, each with a CPU twin in TypeScript.
 *
 * @example
 * ```ts
 * import { matrix64, selectBackend } from "./mod.ts";
 * const backend = await selectBackend("auto");
 * const { x } = await backend.solveSPD(matrix64(2, 2, new Float64Array([4, 2, 2, 5])), matrix64(2, 1, new Float64Array([4, 5])));
 * console.log(x.data[0].toFixed(3)); // "0.750"
 * backend.dispose();
 * ```
 *
 * @module
 */

export type {
  AdamWOptimizer,
  AdamWOptions,
  AttentionGradient,
  AttentionLossKind,
  AttentionProbabilities,
  Backend,
  BackendKind,
  CrossAttentionInput,
  MatMulCallOptions,
  MatMulOptions,
  MatrixBatch,
  ReductionKind,
  RowPenalty,
  SolveOptions,
  SolveResult,
} from "./backend.ts";
export {
  type Matrix,
  matrix,
  type Matrix64,
  matrix64,
  relativeMaxError,
  toFloat32,
  toFloat64,
  transpose,
} from "./matrix.ts";
export { randomMatrix, randomNormal, seededUniform, spdWithCondition, type UniformSource } from "./random.ts";
export {
  BACKEND_CHOICES,
  type BackendChoice,
  parseBackendChoice,
  selectBackend,
  type SelectBackendOptions,
} from "./select.ts";
export {
  CpuBackend,
  type CpuBackendOptions,
  GRAM_PROVIDER_ROWS,
  type MatMulProvider,
} from "./cpu/backend.ts";
export { WebGpuBackend, type WebGpuBackendOptions } from "./webgpu/backend.ts";
export {
  type AdapterProbe,
  type GpuDevice,
  probeAdapter,
  webGpuUnavailableMessage,
} from "./webgpu/device.ts";
export { GpuContext, type UniformField } from "./webgpu/context.ts";
