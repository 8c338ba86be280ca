/**
 * WGSL of the general matrix product used by every dense kernel:
 * `C[offC + i·ldc + j] = α·Σ_k op(A)[i, k]·op(B)[k, j] + β·C[…]`, with offsets and leading dimensions so
 * that sub-blocks of larger matrices (Cholesky panels, trailing updates) can be addressed in place.
 *
 * Each 16×16 workgroup computes a 64×64 tile of `C` (4×4 per invocation) from 16-deep slices of `A` and
 * `B` staged in workgroup memory; edges are guarded, so any size works. With `lowerOnly`, tiles and
 * elements above the diagonal are skipped (symmetric updates). The f16 variant reads half-precision
 * operands and accumulates in float32.
 *
 * @module
 */

/** Output tile edge of one workgroup. */
export const GEMM_TILE = 64;

/**
 * The GEMM shader for operands stored as `element` (`"f16"` needs the `shader-f16` feature).
 *
 * @example
 * ```ts
 * import { gemmShader } from "./gemm_wgsl.ts";
 * console.log(gemmShader("f32").includes("@compute")); // true
 * ```
 */
export function gemmShader(element: "f32" | "f16"): string {
  return `${element === "f16" ? "enable f16;\n" : ""}
struct Params {
  m: u32, n: u32, k: u32, lda: u32,
  ldb: u32, ldc: u32, offA: u32, offB: u32,
  offC: u32, transA: u32, transB: u32, lowerOnly: u32,
  alpha: f32, beta: f32, pad0: u32, pad1: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<${element}>;
@group(0) @binding(2) var<storage, read> B: array<${element}>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

const TILE: u32 = 64u;
const DEPTH: u32 = 16u;
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;

fn loadA(row: u32, kk: u32) -> f32 {
  if (row >= P.m || kk >= P.k) { return 0.0; }
  if (P.transA == 1u) { return f32(A[P.offA + kk * P.lda + row]); }
  return f32(A[P.offA + row * P.lda + kk]);
}

fn loadB(kk: u32, col: u32) -> f32 {
  if (kk >= P.k || col >= P.n) { return 0.0; }
  if (P.transB == 1u) { return f32(B[P.offB + col * P.ldb + kk]); }
  return f32(B[P.offB + kk * P.ldb + col]);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let rowBase = wg.y * TILE;
  let colBase = wg.x * TILE;
  if (P.lowerOnly == 1u && colBase > rowBase + TILE - 1u) { return; }
  let tid = lid.y * 16u + lid.x;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < P.k; k0 += DEPTH) {
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      // A slice: consecutive invocations walk k when A is row-major, rows when it is transposed.
      var i = idx / DEPTH;
      var ka = idx % DEPTH;
      if (P.transA == 1u) { i = idx % TILE; ka = idx / TILE; }
      As[ka * TILE + i] = loadA(rowBase + i, k0 + ka);
      var j = idx % TILE;
      var kb = idx / TILE;
      if (P.transB == 1u) { j = idx / DEPTH; kb = idx % DEPTH; }
      Bs[kb * TILE + j] = loadB(k0 + kb, colBase + j);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < DEPTH; kk++) {
      let a0 = As[kk * TILE + lid.y];
      let a1 = As[kk * TILE + lid.y + 16u];
      let a2 = As[kk * TILE + lid.y + 32u];
      let a3 = As[kk * TILE + lid.y + 48u];
      let b0 = Bs[kk * TILE + lid.x];
      let b1 = Bs[kk * TILE + lid.x + 16u];
      let b2 = Bs[kk * TILE + lid.x + 32u];
      let b3 = Bs[kk * TILE + lid.x + 48u];
      acc[0] += a0 * b0; acc[1] += a0 * b1; acc[2] += a0 * b2; acc[3] += a0 * b3;
      acc[4] += a1 * b0; acc[5] += a1 * b1; acc[6] += a1 * b2; acc[7] += a1 * b3;
      acc[8] += a2 * b0; acc[9] += a2 * b1; acc[10] += a2 * b2; acc[11] += a2 * b3;
      acc[12] += a3 * b0; acc[13] += a3 * b1; acc[14] += a3 * b2; acc[15] += a3 * b3;
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let row = rowBase + lid.y + 16u * r;
    for (var c = 0u; c < 4u; c++) {
      let col = colBase + lid.x + 16u * c;
      if (row < P.m && col < P.n && (P.lowerOnly == 0u || col <= row)) {
        let at = P.offC + row * P.ldc + col;
        var v = P.alpha * acc[r * 4u + c];
        if (P.beta != 0.0) { v += P.beta * C[at]; }
        C[at] = v;
      }
    }
  }
}
`;
}
