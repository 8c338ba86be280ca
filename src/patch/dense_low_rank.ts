/**
 * A dense weight change (from gradient-based methods such as Forget-Me-Not) as a LoRA pair of the smallest
 * rank that keeps it within a stated relative error: a randomised range finder (with power iterations)
 * whose rank doubles until ‖ΔW − up·down‖_F ≤ tol·‖ΔW‖_F, then an exact SVD of the small projected matrix.
 * The heavy products run on the compute backend.
 *
 * @module
 */
import type { Backend } from "../../kernels/backend.ts";
import { matrix } from "../../kernels/matrix.ts";
import { thinQr } from "./linalg.ts";
import { type LowRankDelta, lowRankDeltaOrthonormal } from "./edit.ts";
import { Random } from "../sample/random.ts";

/** Options of {@linkcode denseToLowRank}. */
export interface DenseToLowRankOptions {
  /** Largest relative Frobenius error allowed (default 1e-2). */
  tolerance?: number;
  /** Never exceed this rank (default min(outDim, inDim)). */
  maxRank?: number;
  /** Seed of the random test matrix (default 0: deterministic). */
  seed?: number;
}

/**
 * Factors a dense ΔW (outDim × inDim, row-major) into a low-rank delta within `tolerance`.
 *
 * @example
 * ```ts ignore
 * import { denseToLowRank } from "./dense_low_rank.ts";
 * const d = await denseToLowRank(backend, "…attn2.to_q", delta, 320, 320, { tolerance: 1e-2 });
 * d.rank; d.relativeError;
 * ```
 */
export async function denseToLowRank(
  backend: Backend,
  module: string,
  delta: Float32Array,
  outDim: number,
  inDim: number,
  options: DenseToLowRankOptions = {},
): Promise<LowRankDelta> {
  const tol = options.tolerance ?? 1e-2;
  const full = Math.min(outDim, inDim);
  const cap = Math.min(options.maxRank ?? full, full);
  let total = 0;
  for (const v of delta) total += v * v;
  if (total === 0) {
    return {
      module,
      outDim,
      inDim,
      rank: 0,
      up: new Float32Array(0),
      down: new Float32Array(0),
      relativeError: 0,
    };
  }
  const w = matrix(outDim, inDim, delta);
  const rng = new Random(options.seed ?? 0, module);
  for (let l = Math.min(16, cap);; l = Math.min(cap, l * 2)) {
    // Past half of the full rank a LoRA is no smaller than ΔW itself, and the search costs O(n³) per try:
    // store it exactly instead (identity on the shorter side, rank min(out, in)).
    if (l > full / 2 && options.maxRank === undefined) return exactFullRank(module, delta, outDim, inDim);
    const sample = Math.min(full, l + 8); // oversampling
    const omega = matrix(inDim, sample, Float32Array.from({ length: inDim * sample }, () => rng.normal()));
    let y = await backend.matmul(w, omega); // out × sample
    for (let it = 0; it < 2; it++) {
      y = await backend.matmul(w, await backend.matmul(w, orthonormal(y), { transA: true }));
    }
    const q = orthonormal(y); // out × sample
    const b = await backend.matmul(q, w, { transA: true }); // sample × in: ΔW ≈ Q·B
    // ΔW ≈ Q·B = (Q·L)·Vᵀ with B = L·Vᵀ, Vᵀ orthonormal rows (QR of Bᵀ): then the per-layer SVD is cheap.
    const { q: v, r: lt } = thinQr(Float64Array.from(transposeData(b.data, sample, inDim)), inDim, sample); // Bᵀ = V·Lᵀ
    const p = new Float64Array(outDim * sample); // Q·L with L = ltᵀ
    for (let i = 0; i < outDim; i++) {
      for (let c = 0; c < sample; c++) {
        let acc = 0;
        for (let t = c; t < sample; t++) acc += q.data[i * sample + t] * lt[c * sample + t];
        p[i * sample + c] = acc;
      }
    }
    const vt = transposeData(v, inDim, sample);
    let keep = 1;
    let candidate = lowRankDeltaOrthonormal(module, p, vt, outDim, sample, inDim, keep);
    // Smallest rank within tolerance (errors against the true ΔW norm, not the projection's).
    let projected = 0;
    for (const x of b.data) projected += x * x;
    const missed = Math.max(0, total - projected);
    const errorAt = (d: LowRankDelta) =>
      Math.sqrt(missed / total + (d.relativeError ** 2) * projected / total);
    while (errorAt(candidate) > tol && keep < Math.min(l, sample)) {
      keep = Math.min(Math.min(l, sample), keep * 2);
      candidate = lowRankDeltaOrthonormal(module, p, vt, outDim, sample, inDim, keep);
    }
    if (errorAt(candidate) <= tol || l >= cap) {
      // Refine: the smallest rank below `keep` that still meets the tolerance.
      let lo = Math.max(1, Math.floor(keep / 2)), hi = keep;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (errorAt(lowRankDeltaOrthonormal(module, p, vt, outDim, sample, inDim, mid)) <= tol) hi = mid;
        else lo = mid + 1;
      }
      const best = lowRankDeltaOrthonormal(module, p, vt, outDim, sample, inDim, hi);
      return { ...best, relativeError: errorAt(best) };
    }
  }
}

function orthonormal(
  y: { rows: number; cols: number; data: Float32Array },
): { rows: number; cols: number; data: Float32Array } {
  const { q } = thinQr(Float64Array.from(y.data), y.rows, y.cols);
  return matrix(y.rows, y.cols, Float32Array.from(q));
}

function transposeData(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return out;
}

/** ΔW exactly as a LoRA of rank min(out, in): identity on the shorter side, ΔW on the other. */
function exactFullRank(module: string, delta: Float32Array, outDim: number, inDim: number): LowRankDelta {
  if (outDim <= inDim) {
    const up = new Float32Array(outDim * outDim);
    for (let i = 0; i < outDim; i++) up[i * outDim + i] = 1;
    return { module, outDim, inDim, rank: outDim, up, down: delta.slice(), relativeError: 0 };
  }
  const down = new Float32Array(inDim * inDim);
  for (let i = 0; i < inDim; i++) down[i * inDim + i] = 1;
  return { module, outDim, inDim, rank: inDim, up: delta.slice(), down, relativeError: 0 };
}
