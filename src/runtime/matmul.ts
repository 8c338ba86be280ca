/**
 * Single (optionally batched) matrix products on ONNX Runtime, with cached sessions, and the MatMul
 * peak every benchmark compares against.
 *
 * @module
 */

import { GraphBuilder } from "./graph.ts";
import { serializeModel } from "./onnx_model.ts";
import type { BackendName, RuntimeTensor } from "./session.ts";
import { cachedSession } from "./session_cache.ts";

/** A row-major float32 matrix or batch of matrices (`dims` of rank 2 or 3). */
export interface Matrix {
  /** Elements, row-major. */
  data: Float32Array;
  /** `[rows, cols]` or `[batch, rows, cols]`. */
  dims: number[];
}

function matmulKey(rankA: number, rankB: number, transA: boolean, transB: boolean): string {
  return `matmul:${rankA}:${rankB}:${transA ? "T" : "N"}${transB ? "T" : "N"}`;
}

function buildMatMul(rankA: number, rankB: number, transA: boolean, transB: boolean) {
  const g = new GraphBuilder("matmul");
  const dims = (p: string, rank: number) => Array.from({ length: rank }, (_, i) => `${p}${i}`);
  let a = g.input("a", "float32", dims("a", rankA));
  let b = g.input("b", "float32", dims("b", rankB));
  const swapLast = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  if (transA) a = g.op("Transpose", [a], { perm: swapLast(rankA) }, "a_t");
  if (transB) b = g.op("Transpose", [b], { perm: swapLast(rankB) }, "b_t");
  g.output(g.op("MatMul", [a, b], {}, "c"), "float32");
  return serializeModel(g.build());
}

/**
 * Computes `op(a) · op(b)` where `op` transposes the last two axes when asked; rank-3 operands
 * are batches (a rank-2 operand broadcasts over the batch).
 *
 * @example
 * ```ts
 * import { matmul } from "./matmul.ts";
 * const c = await matmul({ data: new Float32Array([1, 2, 3, 4]), dims: [2, 2] },
 *   { data: new Float32Array([1, 0, 0, 1]), dims: [2, 2] });
 * // c.data = [1, 2, 3, 4]
 * ```
 */
export async function matmul(
  a: Matrix,
  b: Matrix,
  transA = false,
  transB = false,
  backend: BackendName = "ort-web",
): Promise<Matrix> {
  for (const [name, m] of [["a", a], ["b", b]] as const) {
    if (m.dims.length < 2 || m.dims.length > 3) {
      throw new Error(`matmul: ${name} must be rank 2 or 3, got [${m.dims}]`);
    }
    if (m.data.length !== m.dims.reduce((x, y) => x * y, 1)) {
      throw new Error(`matmul: ${name} has ${m.data.length} elements for shape [${m.dims}]`);
    }
  }
  const inner = (m: Matrix, t: boolean, left: boolean) => m.dims[m.dims.length - (left !== t ? 1 : 2)];
  if (inner(a, transA, true) !== inner(b, transB, false)) {
    throw new Error(
      `matmul: inner dimensions differ: a [${a.dims}]${transA ? "ᵀ" : ""} · b [${b.dims}]${
        transB ? "ᵀ" : ""
      }`,
    );
  }
  const { session } = await cachedSession(
    matmulKey(a.dims.length, b.dims.length, transA, transB),
    backend,
    () => buildMatMul(a.dims.length, b.dims.length, transA, transB),
  );
  const { c } = await session.run({
    a: { dtype: "float32", dims: a.dims, data: a.data },
    b: { dtype: "float32", dims: b.dims, data: b.data },
  });
  return { data: c.data as Float32Array, dims: c.dims };
}

/**
 * Measures the MatMul throughput of a backend on `n × n` float32 operands, in GFLOP/s (2n³ flops
 * per product; best of repeated runs after a warm-up, about `seconds` of work).
 *
 * @example
 * ```ts
 * import { measureMatMulPeak } from "./matmul.ts";
 * const gflops = await measureMatMulPeak("ort-web", 256, 0.1);
 * ```
 */
export async function measureMatMulPeak(backend: BackendName, n = 1024, seconds = 1): Promise<number> {
  const a = new Float32Array(n * n);
  const b = new Float32Array(n * n);
  let s = 12345;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
    b[a.length - 1 - i] = a[i];
  }
  const { session } = await cachedSession(
    matmulKey(2, 2, false, false),
    backend,
    () => buildMatMul(2, 2, false, false),
  );
  const feeds: Record<string, RuntimeTensor> = {
    a: { dtype: "float32", dims: [n, n], data: a },
    b: { dtype: "float32", dims: [n, n], data: b },
  };
  await session.run(feeds);
  let best = Infinity;
  const start = performance.now();
  for (let i = 0; i < 3 || performance.now() - start < seconds * 1000; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    best = Math.min(best, performance.now() - t0);
    if (i > 200) break;
  }
  return (2 * n ** 3) / (best / 1000) / 1e9;
}

/** A row-major float32 matrix as the kernels layer shapes it (`kernels/matrix.ts`). */
export interface RowMajorMatrix {
  /** Rows. */
  rows: number;
  /** Columns. */
  cols: number;
  /** `rows × cols` elements, row-major. */
  data: Float32Array;
}

/** A matrix-product provider over ONNX Runtime (fits the kernels layer's `MatMulProvider`). */
export interface OrtMatMulProvider {
  /** `"onnxruntime-node"` or `"onnxruntime-web"`. */
  readonly name: string;
  /** `op(A)·op(B)` as float32. */
  matmul(a: RowMajorMatrix, b: RowMajorMatrix, transA: boolean, transB: boolean): Promise<RowMajorMatrix>;
}

/**
 * ONNX Runtime as the kernels layer's `MatMulProvider` (sessions cached per transpose combination).
 *
 * @example
 * ```ts
 * import { ortMatMulProvider } from "./matmul.ts";
 * const provider = ortMatMulProvider("ort-web");
 * const c = await provider.matmul({ rows: 1, cols: 2, data: new Float32Array([1, 2]) },
 *   { rows: 2, cols: 1, data: new Float32Array([3, 4]) }, false, false); // [[11]]
 * ```
 */
export function ortMatMulProvider(backend: BackendName = "ort-node"): OrtMatMulProvider {
  return {
    name: backend === "ort-node" ? "onnxruntime-node" : "onnxruntime-web",
    async matmul(a, b, transA, transB) {
      const c = await matmul(
        { data: a.data, dims: [a.rows, a.cols] },
        { data: b.data, dims: [b.rows, b.cols] },
        transA,
        transB,
        backend,
      );
      return { rows: c.dims[0], cols: c.dims[1], data: c.data };
    },
  };
}
