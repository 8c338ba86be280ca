/**
 * CPU twin of the cross-attention kernels FMN re-steering needs: the probabilities
 * `P = softmax(Q·Kᵀ/√d_head)` per head, restricted to chosen key columns, and the exact gradients of a
 * loss on those restricted probabilities with respect to the projection weights `W_q` and `W_k`.
 *
 * Shapes: hidden states `X` `[n_q, C]`, text context `E` `[n_k, d_ctx]`, `W_q` `[inner, C]`,
 * `W_k` `[inner, d_ctx]`; `Q = X·W_qᵀ`, `K = E·W_kᵀ`, split into `heads` heads of `inner / heads` columns
 * (the diffusers layout: head `h` owns columns `h·d_head … (h+1)·d_head − 1`).
 *
 * Loss `S = Σ_{h, q, k ∈ keys} P[h, q, k]²` ("sumOfSquares") or `‖P[:, :, keys]‖ = √S` ("norm"); with
 * `rows: "mass"`, each (head, query) row contributes the square of its total probability on the keys,
 * `S = Σ_{h, q} (Σ_{k ∈ keys} P[h, q, k])²`, so mass spread thinly over many keys still counts; with
 * `rows: "drift"`, each row contributes its squared distance from the probabilities `P⁰` that reference
 * weights `W_q⁰`, `W_k⁰` give for the same `X` and `E`, `S = Σ_{h, q, k ∈ keys} (P − P⁰)²` (how far an edit
 * moved attention that should stay put).
 * Backward: `G = ∂L/∂P` (zero off the chosen keys; `2P`, `2m` or `2(P − P⁰)`), `∂L/∂Z = P ⊙ (G − Σ_k G·P)`
 * (softmax), then
 * `∂Q_h = ∂Z_h·K_h/√d`, `∂K_h = ∂Z_hᵀ·Q_h/√d`, `∂W_q = ∂Qᵀ·X`, `∂W_k = ∂Kᵀ·E`.
 *
 * @module
 */

import { type Matrix, matrix } from "../matrix.ts";
import { cpuMatmul } from "./matmul.ts";

/** One cross-attention layer's inputs. */
export interface CrossAttentionInput {
  /** Hidden states `X`, `[n_q, C]` (queries come from these). */
  x: Matrix;
  /** Text context `E`, `[n_k, d_ctx]` (keys come from these; 77 tokens for Stable Diffusion). */
  context: Matrix;
  /** Query projection `W_q`, `[inner, C]` (diffusers `to_q.weight`). */
  wq: Matrix;
  /** Key projection `W_k`, `[inner, d_ctx]` (diffusers `to_k.weight`). */
  wk: Matrix;
  /** Number of heads; must divide `inner`. */
  heads: number;
  /** Key (token) indices whose probabilities are kept, each in `[0, n_k)`, no repeats. */
  keys: readonly number[];
  /**
   * What each (head, query) row adds to `S` (gradients only): `squares` (default), `Σ_{k∈keys} P²`, the
   * reference's; `mass`, `(Σ_{k∈keys} P)²`; or `drift`, `Σ_{k∈keys} (P − P⁰)²` against `reference`.
   */
  rows?: RowPenalty;
  /** With `rows: "drift"`: the weights whose probabilities `P⁰` the rows are compared with. */
  reference?: { wq: Matrix; wk: Matrix };
}

/** What one (head, query) row of probabilities adds to the loss `S`. */
export type RowPenalty = "squares" | "mass" | "drift";

/** Restricted probabilities `P[h, q, keys[c]]`, stored `[heads, n_q, keys.length]` row-major. */
export interface AttentionProbabilities {
  /** Number of heads. */
  heads: number;
  /** Number of queries. */
  queries: number;
  /** The chosen key columns, in the order stored. */
  keys: readonly number[];
  /** `heads · queries · keys.length` values. */
  data: Float32Array;
}

/** Which loss on the restricted probabilities. */
export type AttentionLossKind = "sumOfSquares" | "norm";

/** Loss value and exact gradients of one layer. */
export interface AttentionGradient {
  /** The loss: `S` or `√S`. */
  loss: number;
  /** `S = Σ P[:, :, keys]²` (what a global norm over several layers sums). */
  sumOfSquares: number;
  /** `∂loss/∂W_q`, `[inner, C]`. */
  gradWq: Matrix;
  /** `∂loss/∂W_k`, `[inner, d_ctx]`. */
  gradWk: Matrix;
  /** `∂loss/∂Q`, `[n_q, inner]` (heads side by side; `∂loss/∂X = ∂Q·W_q` for earlier layers). */
  gradQ: Matrix;
  /** `∂loss/∂K`, `[n_k, inner]`. */
  gradK: Matrix;
}

/** Validated sizes of a cross-attention input. */
export interface AttentionShape {
  queries: number;
  tokens: number;
  inner: number;
  heads: number;
  headDim: number;
}

/** Checks shapes, heads and key indices; returns the sizes. */
export function attentionShape(input: CrossAttentionInput): AttentionShape {
  const { x, context, wq, wk, heads, keys } = input;
  if (wq.cols !== x.cols) {
    throw new RangeError(`attention: W_q is [${wq.rows}, ${wq.cols}] but X has ${x.cols} columns`);
  }
  if (wk.cols !== context.cols) {
    throw new RangeError(
      `attention: W_k is [${wk.rows}, ${wk.cols}] but the context has ${context.cols} columns`,
    );
  }
  if (wq.rows !== wk.rows) throw new RangeError(`attention: W_q has ${wq.rows} rows, W_k has ${wk.rows}`);
  if (!Number.isInteger(heads) || heads < 1 || wq.rows % heads !== 0) {
    throw new RangeError(
      `attention: heads = ${heads} must be a positive integer dividing inner = ${wq.rows}`,
    );
  }
  if (input.rows === "drift") {
    const r = input.reference;
    if (!r) throw new RangeError(`attention: drift rows need reference weights`);
    if (r.wq.rows !== wq.rows || r.wq.cols !== wq.cols || r.wk.rows !== wk.rows || r.wk.cols !== wk.cols) {
      throw new RangeError(
        `attention: reference weights [${r.wq.rows}, ${r.wq.cols}] / [${r.wk.rows}, ${r.wk.cols}] do not match ` +
          `W_q [${wq.rows}, ${wq.cols}] / W_k [${wk.rows}, ${wk.cols}]`,
      );
    }
  }
  const seen = new Set<number>();
  for (const k of keys) {
    if (!Number.isInteger(k) || k < 0 || k >= context.rows || seen.has(k)) {
      throw new RangeError(`attention: key index ${k} is out of [0, ${context.rows}) or repeated`);
    }
    seen.add(k);
  }
  return { queries: x.rows, tokens: context.rows, inner: wq.rows, heads, headDim: wq.rows / heads };
}

/** Softmax of one query row of one head over all keys, written into `p` (length `tokens`). */
function softmaxRow(
  q: Float32Array,
  k: Float32Array,
  qi: number,
  h: number,
  s: AttentionShape,
  p: Float64Array,
): void {
  const scale = 1 / Math.sqrt(s.headDim);
  const qo = qi * s.inner + h * s.headDim;
  let max = -Infinity;
  for (let t = 0; t < s.tokens; t++) {
    const ko = t * s.inner + h * s.headDim;
    let z = 0;
    for (let c = 0; c < s.headDim; c++) z += q[qo + c] * k[ko + c];
    z *= scale;
    p[t] = z;
    if (z > max) max = z;
  }
  let sum = 0;
  for (let t = 0; t < s.tokens; t++) {
    p[t] = Math.exp(p[t] - max);
    sum += p[t];
  }
  for (let t = 0; t < s.tokens; t++) p[t] /= sum;
}

/**
 * CPU twin: `softmax(Q·Kᵀ/√d_head)` per head, keeping only the chosen key columns.
 *
 * @example
 * ```ts
 * import { randomMatrix } from "../random.ts";
 * import { cpuAttentionProbabilities } from "./attention.ts";
 * const p = cpuAttentionProbabilities({
 *   x: randomMatrix(4, 8, 1), context: randomMatrix(5, 6, 2), wq: randomMatrix(8, 8, 3), wk: randomMatrix(8, 6, 4),
 *   heads: 2, keys: [1, 3],
 * });
 * console.log(p.data.length); // 2 heads × 4 queries × 2 keys = 16
 * ```
 */
export function cpuAttentionProbabilities(input: CrossAttentionInput): AttentionProbabilities {
  const s = attentionShape(input);
  const q = cpuMatmul(input.x, input.wq, { transB: true }).data;
  const k = cpuMatmul(input.context, input.wk, { transB: true }).data;
  const nk = input.keys.length;
  const out = new Float32Array(s.heads * s.queries * nk);
  const p = new Float64Array(s.tokens);
  for (let h = 0; h < s.heads; h++) {
    for (let qi = 0; qi < s.queries; qi++) {
      softmaxRow(q, k, qi, h, s, p);
      const o = (h * s.queries + qi) * nk;
      for (let c = 0; c < nk; c++) out[o + c] = p[input.keys[c]];
    }
  }
  return { heads: s.heads, queries: s.queries, keys: [...input.keys], data: out };
}

/**
 * CPU twin: the loss on the restricted probabilities and its exact gradients `∂L/∂W_q`, `∂L/∂W_k`.
 *
 * @example
 * ```ts
 * import { randomMatrix } from "../random.ts";
 * import { cpuAttentionGradient } from "./attention.ts";
 * const g = cpuAttentionGradient({
 *   x: randomMatrix(4, 8, 1), context: randomMatrix(5, 6, 2), wq: randomMatrix(8, 8, 3), wk: randomMatrix(8, 6, 4),
 *   heads: 2, keys: [1, 3],
 * }, "norm");
 * console.log(g.gradWq.rows, g.gradWq.cols); // 8 8
 * ```
 */
export function cpuAttentionGradient(
  input: CrossAttentionInput,
  lossKind: AttentionLossKind,
): AttentionGradient {
  const s = attentionShape(input);
  const q = cpuMatmul(input.x, input.wq, { transB: true }).data;
  const k = cpuMatmul(input.context, input.wk, { transB: true }).data;
  const scale = 1 / Math.sqrt(s.headDim);
  const mass = input.rows === "mass";
  const drift = input.rows === "drift";
  const q0 = drift ? cpuMatmul(input.x, input.reference!.wq, { transB: true }).data : q;
  const k0 = drift ? cpuMatmul(input.context, input.reference!.wk, { transB: true }).data : k;
  const dq = new Float32Array(s.queries * s.inner);
  const dk = new Float64Array(s.tokens * s.inner);
  const p = new Float64Array(s.tokens);
  const p0 = new Float64Array(s.tokens);
  const g = new Float64Array(s.tokens);
  const dz = new Float64Array(s.tokens);
  let sumOfSquares = 0;
  // Pass 1 computes S (needed to scale the norm's gradient); pass 2 the gradients of S, scaled after.
  for (let h = 0; h < s.heads; h++) {
    for (let qi = 0; qi < s.queries; qi++) {
      softmaxRow(q, k, qi, h, s, p);
      // G_t = ∂s_row/∂P_t on the keys: 2·P_t (squares), 2·m with m = Σ_keys P (mass) or 2·(P_t − P⁰_t)
      // (drift); gp = Σ_t G_t·P_t.
      g.fill(0);
      if (mass) {
        let m = 0;
        for (const t of input.keys) m += p[t];
        sumOfSquares += m * m;
        for (const t of input.keys) g[t] = 2 * m;
      } else if (drift) {
        softmaxRow(q0, k0, qi, h, s, p0);
        for (const t of input.keys) {
          const d = p[t] - p0[t];
          sumOfSquares += d * d;
          g[t] = 2 * d;
        }
      } else {
        for (const t of input.keys) {
          sumOfSquares += p[t] * p[t];
          g[t] = 2 * p[t];
        }
      }
      let gp = 0;
      for (const t of input.keys) gp += g[t] * p[t];
      const qo = qi * s.inner + h * s.headDim;
      for (let t = 0; t < s.tokens; t++) {
        dz[t] = p[t] * (g[t] - gp) * scale;
      }
      for (let t = 0; t < s.tokens; t++) {
        const g = dz[t];
        const ko = t * s.inner + h * s.headDim;
        for (let c = 0; c < s.headDim; c++) {
          dq[qo + c] += g * k[ko + c];
          dk[ko + c] += g * q[qo + c];
        }
      }
    }
  }
  const loss = lossKind === "norm" ? Math.sqrt(sumOfSquares) : sumOfSquares;
  const factor = lossKind === "norm" ? (sumOfSquares > 0 ? 1 / (2 * Math.sqrt(sumOfSquares)) : 0) : 1;
  const dQ = matrix(s.queries, s.inner, dq);
  const dK = matrix(s.tokens, s.inner, Float32Array.from(dk));
  const gradWq = cpuMatmul(dQ, input.x, { transA: true });
  const gradWk = cpuMatmul(dK, input.context, { transA: true });
  if (factor !== 1) {
    for (const g of [gradWq, gradWk, dQ, dK]) for (let i = 0; i < g.data.length; i++) g.data[i] *= factor;
  }
  return { loss, sumOfSquares, gradWq, gradWk, gradQ: dQ, gradK: dK };
}
