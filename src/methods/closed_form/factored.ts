/**
 * The closed-form edits as one shared right-multiplication: every edited matrix becomes W·M with
 * M = I + D, and D is kept factored as D = U·R (U d×k, R k×d), so ΔW = (W·U)·R has rank ≤ k and a
 * sequence of edits (UCE, then RECE epochs) composes without ever forming a dense d×d product.
 *
 * @module
 */
import { type Matrix64, matrix64 } from "../../../kernels/matrix.ts";
import { hstack64, mul64, vstack64 } from "./dense64.ts";

/** M = I + U·R. */
export interface FactoredUpdate {
  /** d×k. */
  u: Matrix64;
  /** k×d. */
  r: Matrix64;
}

/**
 * The identity update (k = 0) for width `d`.
 *
 * @example
 * ```ts
 * import { identityUpdate } from "./factored.ts";
 * identityUpdate(768).u.cols; // 0
 * ```
 */
export function identityUpdate(d: number): FactoredUpdate {
  return { u: matrix64(d, 0), r: matrix64(0, d) };
}

/**
 * The update that applies `first`, then `second` (both right-multiplications):
 * (I + U₁R₁)(I + U₂R₂) = I + [U₁, (I + U₁R₁)U₂]·[R₁; R₂].
 *
 * @example
 * ```ts ignore
 * import { composeUpdates } from "./factored.ts";
 * const total = composeUpdates(uce, receEpoch1);
 * ```
 */
export function composeUpdates(first: FactoredUpdate, second: FactoredUpdate): FactoredUpdate {
  const mu2 = first.u.cols ? addInto(second.u, mul64(first.u, mul64(first.r, second.u))) : second.u;
  return { u: hstack64([first.u, mu2]), r: vstack64([first.r, second.r]) };
}

function addInto(a: Matrix64, b: Matrix64): Matrix64 {
  const out = Float64Array.from(a.data);
  for (let i = 0; i < out.length; i++) out[i] += b.data[i];
  return matrix64(a.rows, a.cols, out);
}

/**
 * Rows times Mᵀ: for row vectors x (n×d), returns x·Mᵀ = x + (x·Rᵀ)·Uᵀ, i.e. each row mapped by M.
 *
 * @example
 * ```ts ignore
 * import { mapRows } from "./factored.ts";
 * const mapped = mapRows(update, keys); // keys·Mᵀ
 * ```
 */
export function mapRows(update: FactoredUpdate, x: Matrix64): Matrix64 {
  if (!update.u.cols) return x;
  return addInto(x, mul64(mul64(x, update.r, false, true), update.u, false, true));
}
