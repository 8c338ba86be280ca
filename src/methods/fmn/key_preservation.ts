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
import { matrix, type Matrix64, matrix64, toFloat32 } from "../../../kernels/matrix.ts";

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
  checkPreserved("key", ridge, rows, width);
  const n = rows.length / width;
  const gram = await backend.gram(matrix(n, width, rows));
  return await ridgeInverse(backend, gram, ridge, "preserved rows are all zero");
}

/**
 * The query-side twin of {@linkcode keyProjector} for one layer: with K the preserved rows' keys (Φ·W_kᵀ) and
 * G_h = K_hᵀK_h per head h (so the cross-head blocks are zero), M = λ(G + λI)⁻¹, block-diagonal by head.
 * Re-steering sets W_q = W_q⁰ + M·A: a query then moves only in directions the preserved keys of its own head
 * hardly meet, so the logits q·k of every preserved key — and with them the preserved prompts' attention —
 * stay where they were for every image, while the concept's keys (outside that span) still lose theirs.
 *
 * @example
 * ```ts
 * import { queryProjector } from "./key_preservation.ts";
 * import { CpuBackend } from "../../../kernels/cpu/backend.ts";
 * // One head, to_k = I (2×2), one preserved row e₀: queries keep e₁ and lose most of e₀.
 * const m = await queryProjector(new CpuBackend(), new Float32Array([1, 0]), new Float32Array([1, 0, 0, 1]), 2, 1);
 * console.log(m[0] < 0.2, m[3] === 1); // true true
 * ```
 */
export async function queryProjector(
  backend: Backend,
  rows: Float32Array,
  wk: Float32Array,
  channels: number,
  heads: number,
  ridge: number = KEY_PRESERVATION_RIDGE,
): Promise<Float32Array> {
  if (!(channels > 0) || wk.length % channels !== 0 || channels % heads !== 0) {
    throw new RangeError(`to_k of ${wk.length} values does not have ${channels} rows in ${heads} heads`);
  }
  const width = wk.length / channels;
  checkPreserved("query", ridge, rows, width);
  const keys = await backend.matmul(matrix(rows.length / width, width, rows), matrix(channels, width, wk), {
    transB: true,
  });
  const gram = await backend.gram(keys);
  const d = channels / heads;
  for (let i = 0; i < channels; i++) {
    for (let j = 0; j < channels; j++) {
      if (Math.floor(i / d) !== Math.floor(j / d)) gram.data[i * channels + j] = 0;
    }
  }
  return await ridgeInverse(backend, gram, ridge, "preserved keys are all zero");
}

function checkPreserved(side: string, ridge: number, rows: Float32Array, width: number): void {
  if (!(ridge > 0) || !Number.isFinite(ridge)) {
    throw new RangeError(`${side} preservation ridge must be a positive number, got ${ridge}`);
  }
  if (!rows.length || rows.length % width !== 0) {
    throw new RangeError(`preserved rows: ${rows.length} values are not whole rows of width ${width}`);
  }
}

/** λ(G + λI)⁻¹ with λ = ρ·tr(G)/d, symmetrized, float32. */
async function ridgeInverse(
  backend: Backend,
  gram: Matrix64,
  ridge: number,
  zero: string,
): Promise<Float32Array> {
  const width = gram.rows;
  let trace = 0;
  for (let i = 0; i < width; i++) trace += gram.data[i * width + i];
  if (!(trace > 0)) throw new RangeError(zero);
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
