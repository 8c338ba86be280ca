/**
 * The one currency between layers: an **Edit** — for each changed weight a low-rank delta ΔW = up·down,
 * plus provenance. Methods return Edits; patches serialize them; merged checkpoints are base + Edit.
 *
 * @module
 */
import { svdOfProduct, symmetricEigen } from "./linalg.ts";
import type { Family } from "../models/config.ts";

/** A low-rank change of one weight matrix: ΔW = up · down. */
export interface LowRankDelta {
  /** diffusers module path, e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k`. */
  module: string;
  /** Rows of W (output features). */
  outDim: number;
  /** Columns of W (input features). */
  inDim: number;
  /** Inner dimension r. */
  rank: number;
  /** outDim × rank, row-major. */
  up: Float32Array;
  /** rank × inDim, row-major. */
  down: Float32Array;
  /** ‖ΔW − up·down‖_F / ‖ΔW‖_F of the factorisation (0 when exact up to rounding). */
  relativeError: number;
}

/** Where an edit comes from: enough to reproduce it and to refuse applying it to another model. */
export interface EditProvenance {
  /** Hash of the base model's edited weights (see `crossAttentionHash`). */
  baseModelHash: string;
  /** Family of the base model. */
  family: Family;
  /** Method(s), e.g. `"uce"`, `"rece"`, `"fmn"`, `"uce+fmn"`. */
  method: string;
  /** Concepts erased or changed. */
  concepts: string[];
  /** Every parameter of the method(s), for reproduction. */
  parameters: Record<string, unknown>;
  /** Version of this tool. */
  toolVersion: string;
  /** ISO time of creation. */
  createdAt: string;
}

/** A set of low-rank weight changes with provenance. */
export interface Edit {
  /** One entry per changed weight (at most one per module). */
  deltas: LowRankDelta[];
  /** Where it came from. */
  provenance: EditProvenance;
}

/** The version written into provenance. */
export const TOOL_VERSION = "0.1.0";

/**
 * Factors ΔW = P·R (P outDim×k, R k×inDim, float64) into a balanced LoRA pair: up = U·√S, down = √S·Vᵀ.
 * With no `maxRank` the factorisation keeps the numerical rank and is exact; with `maxRank` it keeps
 * the top singular values and reports the relative Frobenius error of the truncation.
 *
 * @example
 * ```ts
 * import { lowRankDelta } from "./edit.ts";
 * const d = lowRankDelta("m.to_k", new Float64Array([1, 2]), new Float64Array([3, 4]), 2, 1, 2);
 * d.rank; // 1
 * ```
 */
export function lowRankDelta(
  module: string,
  p: Float64Array,
  r: Float64Array,
  outDim: number,
  k: number,
  inDim: number,
  maxRank?: number,
): LowRankDelta {
  const svd = svdOfProduct(p, r, outDim, k, inDim);
  const { keep, relativeError } = truncation(Array.from(svd.s, (s) => s * s), maxRank);
  const up = new Float32Array(outDim * keep), down = new Float32Array(keep * inDim);
  for (let c = 0; c < keep; c++) {
    const root = Math.sqrt(svd.s[c]);
    for (let i = 0; i < outDim; i++) up[i * keep + c] = svd.u[i * svd.r + c] * root;
    for (let j = 0; j < inDim; j++) down[c * inDim + j] = svd.v[j * svd.r + c] * root;
  }
  return {
    module,
    outDim,
    inDim,
    rank: keep,
    up,
    down,
    relativeError,
  };
}

/**
 * Rank kept (all, or `maxRank`) and the relative Frobenius error of dropping the rest, from the squared
 * singular values in descending order: ‖ΔW − ΔW_keep‖/‖ΔW‖ = √(Σ_dropped σ²/Σ σ²).
 */
function truncation(squares: number[], maxRank?: number): { keep: number; relativeError: number } {
  const keep = Math.min(squares.length, maxRank ?? squares.length);
  let total = 0, dropped = 0;
  squares.forEach((q, i) => {
    total += q;
    if (i >= keep) dropped += q;
  });
  return { keep, relativeError: total > 0 ? Math.sqrt(Math.max(dropped, 0) / total) : 0 };
}

/**
 * Factors ΔW = P·Vᵀ where Vᵀ (k×inDim) has orthonormal rows — the form the closed-form methods produce
 * (P = W·U·S from the SVD of their shared update). The SVD of ΔW then only needs that of P, from the
 * k×k eigenproblem of PᵀP: O(outDim·k²), no QR. Balanced (up = U√S, down = √S·(V·Q)ᵀ), exact at the
 * numerical rank, or truncated to `maxRank` with the relative error reported.
 *
 * @example
 * ```ts
 * import { lowRankDeltaOrthonormal } from "./edit.ts";
 * // P = [[2], [0]], Vᵀ = [[1, 0]]: ΔW = [[2, 0], [0, 0]].
 * lowRankDeltaOrthonormal("m", new Float64Array([2, 0]), new Float64Array([1, 0]), 2, 1, 2).rank; // 1
 * ```
 */
export function lowRankDeltaOrthonormal(
  module: string,
  p: Float64Array,
  vt: Float64Array,
  outDim: number,
  k: number,
  inDim: number,
  maxRank?: number,
): LowRankDelta {
  const ptp = new Float64Array(k * k);
  for (let i = 0; i < outDim; i++) {
    const row = i * k;
    for (let a = 0; a < k; a++) {
      const f = p[row + a];
      if (f === 0) continue;
      for (let b = a; b < k; b++) ptp[a * k + b] += f * p[row + b];
    }
  }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) ptp[a * k + b] = ptp[b * k + a];
  const { values, vectors } = symmetricEigen(ptp, k);
  const top = Math.sqrt(Math.max(values[0] ?? 0, 0));
  let r = 0;
  while (r < k && top > 0 && Math.sqrt(Math.max(values[r], 0)) > 1e-9 * top) r++;
  const { keep, relativeError } = truncation(Array.from(values.subarray(0, r)), maxRank);
  const up = new Float32Array(outDim * keep), down = new Float32Array(keep * inDim);
  for (let c = 0; c < keep; c++) {
    const sigma = Math.sqrt(values[c]), root = Math.sqrt(sigma);
    // up[:, c] = P·w_c / √σ  (= u_c·√σ);  down[c, :] = √σ · w_cᵀ·Vᵀ
    for (let i = 0; i < outDim; i++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += p[i * k + t] * vectors[t * k + c];
      up[i * keep + c] = acc / root;
    }
    for (let t = 0; t < k; t++) {
      const f = vectors[t * k + c] * root;
      if (f === 0) continue;
      for (let j = 0; j < inDim; j++) down[c * inDim + j] += f * vt[t * inDim + j];
    }
  }
  return {
    module,
    outDim,
    inDim,
    rank: keep,
    up,
    down,
    relativeError,
  };
}

/**
 * The dense ΔW (outDim × inDim) of a delta, scaled by `scale`.
 *
 * @example
 * ```ts
 * import { denseDelta, lowRankDelta } from "./edit.ts";
 * denseDelta(lowRankDelta("m", new Float64Array([1, 2]), new Float64Array([3, 4]), 2, 1, 2)); // ≈ [3, 4, 6, 8]
 * ```
 */
export function denseDelta(d: LowRankDelta, scale = 1): Float32Array {
  const out = new Float32Array(d.outDim * d.inDim);
  for (let i = 0; i < d.outDim; i++) {
    for (let c = 0; c < d.rank; c++) {
      const f = d.up[i * d.rank + c] * scale;
      if (f === 0) continue;
      const row = i * d.inDim, base = c * d.inDim;
      for (let j = 0; j < d.inDim; j++) out[row + j] += f * d.down[base + j];
    }
  }
  return out;
}

/**
 * One edit that does what `first` then `second` do (deltas add; ranks of a shared module concatenate).
 * Provenance: `second`'s base must be `first`'s base; methods and concepts are joined.
 *
 * @example
 * ```ts ignore
 * import { composeEdits } from "./edit.ts";
 * const both = composeEdits(zebraEdit, vanGoghEdit);
 * ```
 */
export function composeEdits(first: Edit, second: Edit): Edit {
  if (first.provenance.baseModelHash !== second.provenance.baseModelHash) {
    throw new Error("composeEdits: the two edits were made for different base models");
  }
  const byModule = new Map(first.deltas.map((d) => [d.module, d]));
  for (const d of second.deltas) {
    const a = byModule.get(d.module);
    if (!a) {
      byModule.set(d.module, d);
      continue;
    }
    if (a.outDim !== d.outDim || a.inDim !== d.inDim) {
      throw new Error(`composeEdits: ${d.module} shapes differ`);
    }
    const rank = a.rank + d.rank;
    const up = new Float32Array(a.outDim * rank), down = new Float32Array(rank * a.inDim);
    for (let i = 0; i < a.outDim; i++) {
      up.set(a.up.subarray(i * a.rank, (i + 1) * a.rank), i * rank);
      up.set(d.up.subarray(i * d.rank, (i + 1) * d.rank), i * rank + a.rank);
    }
    down.set(a.down, 0);
    down.set(d.down, a.rank * a.inDim);
    byModule.set(d.module, {
      ...a,
      rank,
      up,
      down,
      relativeError: Math.hypot(a.relativeError, d.relativeError),
    });
  }
  const p1 = first.provenance, p2 = second.provenance;
  return {
    deltas: [...byModule.values()],
    provenance: {
      ...p2,
      method: p1.method === p2.method ? p1.method : `${p1.method}+${p2.method}`,
      concepts: [...new Set([...p1.concepts, ...p2.concepts])],
      parameters: { steps: [p1.parameters, p2.parameters] },
    },
  };
}
