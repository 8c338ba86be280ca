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

fn store(row: u32, col: u32, acc: f32) {
  if (row < P.m && col < P.n && (P.lowerOnly == 0u || col <= row)) {
    let at = P.offC + row * P.ldc + col;
    var v = P.alpha * acc;
    if (P.beta != 0.0) { v += P.beta * C[at]; }
    C[at] = v;
  }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let rowBase = wg.y * TILE;
  let colBase = wg.x * TILE;
  if (P.lowerOnly == 1u && colBase > rowBase + TILE - 1u) { return; }
  let tid = lid.y * 16u + lid.x;
  var c00 = 0.0; var c01 = 0.0; var c02 = 0.0; var c03 = 0.0;
  var c10 = 0.0; var c11 = 0.0; var c12 = 0.0; var c13 = 0.0;
  var c20 = 0.0; var c21 = 0.0; var c22 = 0.0; var c23 = 0.0;
  var c30 = 0.0; var c31 = 0.0; var c32 = 0.0; var c33 = 0.0;
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
      c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
      c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
      c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
      c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    }
    workgroupBarrier();
  }
  let r0 = rowBase + lid.y;
  let q0 = colBase + lid.x;
  store(r0, q0, c00); store(r0, q0 + 16u, c01); store(r0, q0 + 32u, c02); store(r0, q0 + 48u, c03);
  store(r0 + 16u, q0, c10); store(r0 + 16u, q0 + 16u, c11); store(r0 + 16u, q0 + 32u, c12); store(r0 + 16u, q0 + 48u, c13);
  store(r0 + 32u, q0, c20); store(r0 + 32u, q0 + 16u, c21); store(r0 + 32u, q0 + 32u, c22); store(r0 + 32u, q0 + 48u, c23);
  store(r0 + 48u, q0, c30); store(r0 + 48u, q0 + 16u, c31); store(r0 + 48u, q0 + 32u, c32); store(r0 + 48u, q0 + 48u, c33);
}
`;
}
