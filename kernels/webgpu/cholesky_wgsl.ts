/**
 * WGSL of the blocked Cholesky factorization and the blocked triangular solves (float32).
 *
 * The factorization walks the diagonal in blocks of {@linkcode CHOLESKY_BLOCK}: `diagonalFactor` factors
 * one diagonal block in workgroup memory, `panelSolve` computes the panel below it
 * (`L21 = A21·L11⁻ᵀ`, written to the matrix and to a contiguous panel buffer), and the GEMM kernel
 * applies the trailing update `A22 −= L21·L21ᵀ` (lower triangle only). The solves walk the same blocks:
 * `blockSolve` solves one diagonal block for every right-hand side, GEMM updates the rest.
 *
 * @module
 */

/** Block edge of the factorization and the solves (fits any adapter's workgroup memory). */
export const CHOLESKY_BLOCK = 32;

/** Factors the diagonal block at `k0` in place; counts pivots that had to be clamped in `status[0]`. */
export const DIAGONAL_FACTOR_WGSL: string = `
struct Params { n: u32, k0: u32, bs: u32, pad: u32, minPivot: f32, pad1: u32, pad2: u32, pad3: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> M: array<f32>;
@group(0) @binding(2) var<storage, read_write> status: array<u32>;
var<workgroup> T: array<f32, 1024>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  let bs = P.bs;
  for (var e = t; e < bs * bs; e += 256u) {
    T[(e / bs) * 32u + e % bs] = M[(P.k0 + e / bs) * P.n + P.k0 + e % bs];
  }
  workgroupBarrier();
  for (var j = 0u; j < bs; j++) {
    if (t == 0u) {
      var d = T[j * 33u];
      // A non-positive pivot in float32 means the matrix is too ill-conditioned for this precision here;
      // clamp it, count it, and let float64 refinement (or the CPU fallback) repair the answer.
      if (!(d > P.minPivot)) {
        d = P.minPivot;
        status[0] = status[0] + 1u;
      }
      T[j * 33u] = sqrt(d);
    }
    workgroupBarrier();
    let pivot = T[j * 33u];
    for (var i = j + 1u + t; i < bs; i += 256u) { T[i * 32u + j] = T[i * 32u + j] / pivot; }
    workgroupBarrier();
    let rest = bs - j - 1u;
    for (var e = t; e < rest * rest; e += 256u) {
      let i = j + 1u + e / rest;
      let c = j + 1u + e % rest;
      if (c <= i) { T[i * 32u + c] -= T[i * 32u + j] * T[c * 32u + j]; }
    }
    workgroupBarrier();
  }
  for (var e = t; e < bs * bs; e += 256u) {
    let i = e / bs;
    let c = e % bs;
    var v = 0.0;
    if (c <= i) { v = T[i * 32u + c]; }
    M[(P.k0 + i) * P.n + P.k0 + c] = v;
  }
}
`;

/** `L21 = A21·L11⁻ᵀ` for the rows below the diagonal block, one invocation per row. */
export const PANEL_SOLVE_WGSL: string = `
struct Params { n: u32, k0: u32, bs: u32, rows: u32, perRow: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> M: array<f32>;
@group(0) @binding(2) var<storage, read_write> panel: array<f32>;
var<workgroup> L: array<f32, 1024>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let bs = P.bs;
  for (var e = t; e < bs * bs; e += 64u) {
    L[(e / bs) * 32u + e % bs] = M[(P.k0 + e / bs) * P.n + P.k0 + e % bs];
  }
  workgroupBarrier();
  let r = (wg.y * P.perRow + wg.x) * 64u + t;
  if (r >= P.rows) { return; }
  let i = P.k0 + bs + r;
  var x: array<f32, 32>;
  for (var j = 0u; j < bs; j++) {
    var s = M[i * P.n + P.k0 + j];
    for (var p = 0u; p < j; p++) { s -= x[p] * L[j * 32u + p]; }
    x[j] = s / L[j * 33u];
  }
  for (var j = 0u; j < bs; j++) {
    M[i * P.n + P.k0 + j] = x[j];
    panel[r * bs + j] = x[j];
  }
}
`;

/**
 * Solves one diagonal block for every right-hand-side column: forward (`L·y = b`) when `backward` is 0,
 * backward (`Lᵀ·x = y`) when 1. Writes the block's answer to `X` and to the contiguous `block` buffer.
 */
export const BLOCK_SOLVE_WGSL: string = `
struct Params { n: u32, m: u32, k0: u32, bs: u32, backward: u32, perRow: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> F: array<f32>;
@group(0) @binding(2) var<storage, read_write> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> block: array<f32>;
var<workgroup> L: array<f32, 1024>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let bs = P.bs;
  for (var e = t; e < bs * bs; e += 64u) {
    L[(e / bs) * 32u + e % bs] = F[(P.k0 + e / bs) * P.n + P.k0 + e % bs];
  }
  workgroupBarrier();
  let j = (wg.y * P.perRow + wg.x) * 64u + t;
  if (j >= P.m) { return; }
  var x: array<f32, 32>;
  if (P.backward == 0u) {
    for (var r = 0u; r < bs; r++) {
      var s = X[(P.k0 + r) * P.m + j];
      for (var p = 0u; p < r; p++) { s -= L[r * 32u + p] * x[p]; }
      x[r] = s / L[r * 33u];
    }
  } else {
    for (var rr = 0u; rr < bs; rr++) {
      let r = bs - 1u - rr;
      var s = X[(P.k0 + r) * P.m + j];
      for (var p = r + 1u; p < bs; p++) { s -= L[p * 32u + r] * x[p]; }
      x[r] = s / L[r * 33u];
    }
  }
  for (var r = 0u; r < bs; r++) {
    X[(P.k0 + r) * P.m + j] = x[r];
    block[r * P.m + j] = x[r];
  }
}
`;
