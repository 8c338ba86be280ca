/**
 * The ONNX Runtime layer: describe a network as ONNX operators with weights bound from a checkpoint,
 * serialize it, and run it on `onnxruntime-web` (WASM, default) or `onnxruntime-node` (native,
 * `--allow-ffi`) through one interface, with cached sessions.
 *
 * @example
 * ```ts
 * import { createSession, GraphBuilder, serializeModel } from "./mod.ts";
 * const g = new GraphBuilder("double");
 * const x = g.input("x", "float32", ["n"]);
 * g.output(g.op("Add", [x, x], {}, "double"), "float32", ["n"]);
 * const session = await createSession(serializeModel(g.build()));
 * const { double } = await session.run({ x: { dtype: "float32", dims: [2], data: new Float32Array([1, 2]) } });
 * await session.release();
 * ```
 *
 * @module
 */

export { float, GraphBuilder, tensor, type TensorArray } from "./graph.ts";
export {
  type AttrValue,
  type OnnxDType,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  PROTOBUF_LIMIT_BYTES,
  type SerializedModel,
  serializeModel,
  type SerializeOptions,
} from "./onnx_model.ts";
export {
  type BackendName,
  createSession,
  DEFAULT_BACKEND,
  parseBackend,
  type RuntimeSession,
  type RuntimeTensor,
  type SessionOptions,
  WASM_MEMORY_BUDGET_BYTES,
  wasmThreadCount,
} from "./session.ts";
export { cachedSession, cachedSessionCount, releaseSessions, type SessionTiming } from "./session_cache.ts";
export {
  matmul,
  type Matrix,
  measureMatMulPeak,
  type OrtMatMulProvider,
  ortMatMulProvider,
  type RowMajorMatrix,
} from "./matmul.ts";
