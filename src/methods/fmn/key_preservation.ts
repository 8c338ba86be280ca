/**
 * Key preservation for Forget-Me-Not: the reference recipe has no term that protects other concepts, and on
 * the toy world re-steering one character also moved the detection of unrelated objects. Here the change of
 * every `to_k` is confined to directions of the text-embedding space that the preserved prompts hardly use,
 * so the keys of those prompts (and with them their attention) stay where they were.
 *
 * With Φ the context rows (all 77 positions) of the preserved prompts, G = ΦᵀΦ / n and ρ a relative ridge,
 * the projector is M = λ(G + λI)⁻¹ with λ = ρ·tr(G)/d: a direction the preserved rows use with energy g is
 * scaled by λ/(g + λ) (≈ 0 for g ≫ λ, ≈ 1 for unused directions). Re-steering trains a raw delta A and sets
 * W_k = W_k⁰ + A·M, so ΔW_k·φ ≈ 0 for every preserved row φ exactly up to that shrinkage, whatever the
 * optimizer does (the gradient with respect to A is ∂L/∂W_k · M, M being symmetric).
 *
 * @module
 */
import type { Backend } from "../../../kernels/backend.ts";
import { matrix, matrix64, toFloat32 } from "../../../kernels/matrix.ts";

/** Default relative ridge ρ of {@linkcode keyProjector}. */
export const KEY_PRESERVATION_RIDGE = 0.05;

/**
 * M = λ(G + λI)⁻¹ for the preserved context rows (`rows` × `width`, row-major), float32 `width × width`.
 *
 * @example
 * ```ts
 * import { keyProjector } from "./key_preservation.ts";
 * import { CpuBackend } from "../../../kernels/cpu/backend.ts";
 * // One preserved direction (e₀) in a 3-wide space: M keeps e₁, e₂ and shrinks e₀.
 * const m = await keyProjector(new CpuBackend(), new Float32Array([1, 0, 0]), 3, 0.05);
 * console.log(m[0] < 0.2, m[4] === 1); // true true
 * ```
 */
export async function keyProjector(
  backend: Backend,
  rows: Float32Array,
  width: number,
  ridge: number = KEY_PRESERVATION_RIDGE,
): Promise<Float32Array> {
  if (!(ridge > 0) || !Number.isFinite(ridge)) {
    throw new RangeError(`key preservation ridge must be a positive number, got ${ridge}`);
  }
  if (!rows.length || rows.length % width !== 0) {
    throw new RangeError(`preserved rows: ${rows.length} values are not whole rows of width ${width}`);
  }
  const n = rows.length / width;
  const gram = await backend.gram(matrix(n, width, rows));
  let trace = 0;
  for (let i = 0; i < width; i++) trace += gram.data[i * width + i];
  if (!(trace > 0)) throw new RangeError("preserved rows are all zero");
  const lambda = ridge * trace / width;
  const a = matrix64(width, width);
  for (let i = 0; i < width * width; i++) a.data[i] = gram.data[i];
  for (let i = 0; i < width; i++) a.data[i * width + i] += lambda;
  const rhs = matrix64(width, width);
  for (let i = 0; i < width; i++) rhs.data[i * width + i] = lambda;
  const { x } = await backend.solveSPD(a, rhs, { reportResidual: false });
  // Symmetrize: the solve's rounding would otherwise make M·v and vᵀ·M differ in the last bits.
  for (let i = 0; i < width; i++) {
    for (let j = i + 1; j < width; j++) {
      const v = (x.data[i * width + j] + x.data[j * width + i]) / 2;
      x.data[i * width + j] = v;
      x.data[j * width + i] = v;
    }
  }
  return toFloat32(x).data;
}

/**
 * The relative change of the preserved rows' keys, ‖ΔW·Φᵀ‖_F / ‖W⁰·Φᵀ‖_F, for a report.
 *
 * @example
 * ```ts
 * import { keyDrift } from "./key_preservation.ts";
 * import { CpuBackend } from "../../../kernels/cpu/backend.ts";
 * const d = await keyDrift(new CpuBackend(), new Float32Array([1, 0]), new Float32Array([1, 0.5]), 1, new Float32Array([0, 1]));
 * console.log(d); // 0.5
 * ```
 */
export async function keyDrift(
  backend: Backend,
  w0: Float32Array,
  w1: Float32Array,
  out: number,
  rows: Float32Array,
): Promise<number> {
  const width = w0.length / out;
  const phi = matrix(rows.length / width, width, rows);
  const before = await backend.matmul(matrix(out, width, w0), phi, { transB: true });
  const delta = await backend.matmul(matrix(out, width, w1.map((v, i) => v - w0[i])), phi, { transB: true });
  const norm = (m: Float32Array) => Math.sqrt(m.reduce((s, v) => s + v * v, 0));
  const b = norm(before.data);
  return b > 0 ? norm(delta.data) / b : 0;
}
