/**
 * RECE (Reliable and Efficient Concept Erasure): after a UCE edit, derive in closed form the embedding
 * e′ that would still make the edited model produce what the original produced for the concept, and erase
 * that too — for a few epochs.
 *
 * With A = Σ_l W_lᵀW_l over the original edited matrices and the current weights W′_l = W_l·M,
 *   e′ = argmin Σ_l ‖W′_l e′ − W_l e‖² + λ‖e′‖² = (MᵀAM + λI)⁻¹ MᵀA e,
 * one d×d solve for every row of every concept. Each epoch then applies a UCE edit with keys e′, targets
 * from the current weights (W′·g), the current weights as the ridge anchor and the preserve set: again a
 * right-multiplication, so the whole erasure stays W·M with M = I + U·R.
 *
 * @module
 */
import type { Backend } from "../../../kernels/backend.ts";
import { type Matrix64, transpose } from "../../../kernels/matrix.ts";
import { add64, addDiagonal, mulOnBackend } from "./dense64.ts";
import type { FactoredUpdate } from "./factored.ts";

/** The adversarial embeddings of one derivation and the solve quality. */
export interface AdversarialEmbeddings {
  /** e′ rows (n×d), one per input row. */
  embeddings: Matrix64;
  /** Residual of the d×d solve. */
  relativeResidual: number;
}

/**
 * e′ = (MᵀAM + λI)⁻¹MᵀA·e for every row e of `rows`, where M = I + U·R is the current update and A the
 * Gram matrix of the original weights.
 *
 * @example
 * ```ts ignore
 * import { adversarialEmbeddings } from "./rece.ts";
 * const { embeddings } = await adversarialEmbeddings(backend, weightGram, update, conceptRows, 0.1);
 * ```
 */
export async function adversarialEmbeddings(
  backend: Backend,
  weightGram: Matrix64,
  update: FactoredUpdate,
  rows: Matrix64,
  lambda: number,
): Promise<AdversarialEmbeddings> {
  if (!(lambda > 0)) throw new RangeError(`adversarialEmbeddings: λ must be positive, got ${lambda}`);
  const a = weightGram;
  // AM = A + (A·U)·R; MᵀAM = AM + Rᵀ·(Uᵀ·AM).
  const mul = (x: Matrix64, y: Matrix64, tx = false, ty = false) => mulOnBackend(backend, x, y, tx, ty);
  const am = update.u.cols ? add64(a, await mul(await mul(a, update.u), update.r)) : a;
  const x = update.u.cols
    ? add64(am, await mul(update.r, await mul(update.u, am, true, false), true, false))
    : add64(am, am, 1, 0);
  symmetrize(x);
  addDiagonal(x, lambda);
  const rhs = await mul(rows, am); // rows·A·M = (MᵀA·eᵀ)ᵀ
  const solved = await backend.solveSPD(x, transpose(rhs));
  return { embeddings: transpose(solved.x), relativeResidual: solved.relativeResidual };
}

/** Averages X and Xᵀ in place: rounding makes MᵀAM slightly asymmetric, and the solver expects symmetry. */
function symmetrize(x: Matrix64): void {
  const n = x.rows, d = x.data;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (d[i * n + j] + d[j * n + i]);
      d[i * n + j] = d[j * n + i] = v;
    }
  }
}
