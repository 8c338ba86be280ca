/**
 * WGSL of the elementwise operations (`α·a + β·b`, `a ⊙ b`) and the reductions (sum, sum of squares,
 * largest magnitude, dot product). Reductions write one float32 partial per workgroup; the host sums the
 * partials in float64.
 *
 * @module
 */

/** Workgroups a reduction launches at most (each loops over its share). */
export const REDUCTION_GROUPS = 256;

/** `out = α·a + β·b` (op 0) or `out = a ⊙ b` (op 1). */
export const ELEMENTWISE_WGSL: string = `
struct Params { n: u32, op: u32, perRow: u32, pad: u32, alpha: f32, beta: f32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let i = (wg.y * P.perRow + wg.x) * 256u + t;
  if (i >= P.n) { return; }
  if (P.op == 0u) { out[i] = P.alpha * a[i] + P.beta * b[i]; } else { out[i] = a[i] * b[i]; }
}
`;

/** Per-workgroup partials of: 0 sum, 1 sum of squares, 2 max |a|, 3 Σ a·b. */
export const REDUCE_WGSL: string = `
struct Params { n: u32, op: u32, threads: u32, pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
var<workgroup> shared_: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  var acc = 0.0;
  for (var i = wg.x * 256u + t; i < P.n; i += P.threads) {
    let v = a[i];
    if (P.op == 0u) { acc += v; }
    else if (P.op == 1u) { acc += v * v; }
    else if (P.op == 2u) { acc = max(acc, abs(v)); }
    else { acc += v * b[i]; }
  }
  shared_[t] = acc;
  workgroupBarrier();
  for (var width = 128u; width > 0u; width = width / 2u) {
    if (t < width) {
      if (P.op == 2u) { shared_[t] = max(shared_[t], shared_[t + width]); }
      else { shared_[t] = shared_[t] + shared_[t + width]; }
    }
    workgroupBarrier();
  }
  if (t == 0u) { partials[wg.x] = shared_[0]; }
}
`;

/** One AdamW step per element (PyTorch's formula; see `cpu/adamw.ts`). */
export const ADAMW_WGSL: string = `
struct Params {
  n: u32, perRow: u32, pad0: u32, pad1: u32,
  beta1: f32, beta2: f32, eps: f32, decay: f32,
  stepSize: f32, biasCorrection2Sqrt: f32, pad2: u32, pad3: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let i = (wg.y * P.perRow + wg.x) * 256u + t;
  if (i >= P.n) { return; }
  let g = grad[i];
  let mi = P.beta1 * m[i] + (1.0 - P.beta1) * g;
  let vi = P.beta2 * v[i] + (1.0 - P.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) / P.biasCorrection2Sqrt + P.eps;
  param[i] = param[i] * P.decay - P.stepSize * mi / denom;
}
`;

/** `y[b, r] = Σ_c A[b or 0, r, c]·x[b, c]`, one invocation per output. */
export const BATCHED_MATVEC_WGSL: string = `
struct Params { count: u32, rows: u32, cols: u32, shared_: u32, perRow: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let o = (wg.y * P.perRow + wg.x) * 64u + t;
  if (o >= P.count * P.rows) { return; }
  let b = o / P.rows;
  let r = o % P.rows;
  var base = b * P.rows * P.cols;
  if (P.shared_ == 1u) { base = 0u; }
  var s = 0.0;
  for (var c = 0u; c < P.cols; c++) { s += A[base + r * P.cols + c] * x[b * P.cols + c]; }
  y[o] = s;
}
`;
