/**
 * UCE (Unified Concept Editing): the closed-form edit of every cross-attention to_k / to_v.
 *
 * For one matrix W, with edit keys cᵢ and targets vᵢ* = W·gᵢ (gᵢ a guide embedding row), preserve keys pⱼ
 * with target W·pⱼ, and ridge λ, the minimiser of
 *   Σ s_e‖W′cᵢ − vᵢ*‖² + Σ s_p‖W′pⱼ − W pⱼ‖² + λ‖W′ − W‖²
 * is W′ = W·M with one M shared by every matrix:
 *   M = (λI + s_e GᵀC + s_p PᵀP)(λI + s_e CᵀC + s_p PᵀP)⁻¹ = I + s_e(G − C)ᵀ·C·K⁻¹,  K = λI + s_e CᵀC + s_p PᵀP.
 * So ΔW = W·(G − C)ᵀ·(C K⁻¹)·s_e has rank ≤ the number of edit rows, and one d×d solve serves all layers.
 *
 * @module
 */
import type { Backend } from "../../../kernels/backend.ts";
import { type Matrix64, matrix64, transpose } from "../../../kernels/matrix.ts";
import { add64, addDiagonal, mul64 } from "./dense64.ts";
import type { FactoredUpdate } from "./factored.ts";

/** Inputs of one UCE solve. */
export interface UceSolveInput {
  /** Edit keys C (k×d): embedding rows of the concepts. */
  keys: Matrix64;
  /** Guide rows G (k×d), paired row by row with `keys`: targets are W·gᵢ. */
  guides: Matrix64;
  /** Σ pⱼpⱼᵀ over the preserve rows (d×d), or null for none. */
  preserveGram: Matrix64 | null;
  /** s_e (default 1). */
  eraseScale: number;
  /** s_p. */
  preserveScale: number;
  /** Ridge λ > 0. */
  lambda: number;
  /** Share of the way from the concept to the guide: 1 erases, below 1 moderates (default 1). */
  strength?: number;
  /** XᵀX of the keys (default: a float64 loop; callers pass a faster blocked product for many rows). */
  gram?: (x: Matrix64) => Promise<Matrix64>;
}

/** The solved update and the quality of the solve. */
export interface UceSolveResult {
  /** M = I + U·R. */
  update: FactoredUpdate;
  /** ‖K·X − Cᵀ‖/‖Cᵀ‖ of the solve. */
  relativeResidual: number;
  /** How the backend solved it. */
  solveMethod: string;
}

/**
 * Solves one UCE edit on `backend` (the d×d solve runs in float64 on the CPU backend, or float32 with
 * float64 refinement on WebGPU).
 *
 * @example
 * ```ts ignore
 * import { uceSolve } from "./uce.ts";
 * const { update } = await uceSolve(backend, { keys, guides, preserveGram, eraseScale: 1, preserveScale: 1, lambda: 0.5 });
 * ```
 */
export async function uceSolve(backend: Backend, input: UceSolveInput): Promise<UceSolveResult> {
  const { keys, guides, preserveGram, eraseScale, preserveScale, lambda } = input;
  const strength = input.strength ?? 1;
  const d = keys.cols;
  if (guides.rows !== keys.rows || guides.cols !== d) {
    throw new RangeError("uceSolve: keys and guides differ in shape");
  }
  if (!(lambda > 0)) throw new RangeError(`uceSolve: λ must be positive, got ${lambda}`);
  if (keys.rows === 0) {
    return { update: { u: matrix64(d, 0), r: matrix64(0, d) }, relativeResidual: 0, solveMethod: "none" };
  }
  let k = await (input.gram ?? ((x: Matrix64) => Promise.resolve(mul64(x, x, true, false))))(keys); // CᵀC
  k = add64(k, k, eraseScale, 0);
  if (preserveGram && preserveScale > 0) k = add64(k, preserveGram, 1, preserveScale);
  addDiagonal(k, lambda);
  const solved = await backend.solveSPD(k, transpose(keys)); // X = K⁻¹Cᵀ (d×k)
  const r = transpose(solved.x); // C·K⁻¹ (K symmetric)
  const u = transpose(add64(guides, keys, eraseScale * strength, -eraseScale * strength)); // s_e·α·(G − C)ᵀ
  return { update: { u, r }, relativeResidual: solved.relativeResidual, solveMethod: solved.method };
}
