import assert from "node:assert/strict";
import { CpuBackend } from "../../kernels/cpu/backend.ts";
import { denseDelta } from "./edit.ts";
import { denseToLowRank } from "./dense_low_rank.ts";
import { Random } from "../sample/random.ts";

function lowRankPlusNoise(
  out: number,
  inDim: number,
  rank: number,
  noise: number,
  seed: number,
): Float32Array {
  const rng = new Random(seed, "dense");
  const a = Float32Array.from({ length: out * rank }, () => rng.normal());
  const b = Float32Array.from({ length: rank * inDim }, () => rng.normal());
  const w = new Float32Array(out * inDim);
  for (let i = 0; i < out; i++) {
    for (let c = 0; c < rank; c++) {
      for (let j = 0; j < inDim; j++) w[i * inDim + j] += a[i * rank + c] * b[c * inDim + j];
    }
  }
  for (let i = 0; i < w.length; i++) w[i] += noise * rng.normal();
  return w;
}

function relError(w: Float32Array, approx: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < w.length; i++) {
    num += (w[i] - approx[i]) ** 2;
    den += w[i] ** 2;
  }
  return Math.sqrt(num / den);
}

Deno.test("denseToLowRank: finds the rank of an exactly low-rank ΔW", async () => {
  const w = lowRankPlusNoise(70, 45, 5, 0, 1);
  const d = await denseToLowRank(new CpuBackend(), "m", w, 70, 45, { tolerance: 1e-4 });
  assert.equal(d.rank, 5);
  assert.ok(relError(w, denseDelta(d)) < 1e-4);
});

Deno.test("denseToLowRank: meets the tolerance it reports on a noisy ΔW, sizes not multiples of anything", async () => {
  const w = lowRankPlusNoise(97, 61, 8, 0.05, 2);
  for (const tol of [0.3, 0.05, 0.01]) {
    const d = await denseToLowRank(new CpuBackend(), "m", w, 97, 61, { tolerance: tol });
    const actual = relError(w, denseDelta(d));
    assert.ok(actual <= tol + 1e-4, `tol ${tol}: actual ${actual}`);
    assert.ok(Math.abs(actual - d.relativeError) < 1e-3, `reported ${d.relativeError} vs ${actual}`);
  }
});

Deno.test("denseToLowRank: a full-rank ΔW is stored exactly (identity on the shorter side), not searched", async () => {
  const rng = new Random(5, "full");
  const w = Float32Array.from({ length: 40 * 30 }, () => rng.normal());
  const d = await denseToLowRank(new CpuBackend(), "m", w, 40, 30, { tolerance: 1e-3 });
  assert.equal(d.rank, 30);
  assert.equal(d.relativeError, 0);
  assert.ok(relError(w, denseDelta(d)) < 1e-6);
});
