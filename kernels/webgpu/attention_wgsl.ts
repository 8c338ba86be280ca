/**
 * WGSL of the cross-attention probability kernel. One invocation owns one (head, query) row: it forms
 * the scores against all `tokens` keys, the softmax, and then either writes the probabilities of the
 * chosen keys (mode 0) or the backward pass of the row's share of `S` — `Σ_{chosen} P²` (mode 1),
 * `(Σ_{chosen} P)²` (mode 2) or `Σ_{chosen} (P − P⁰)²` (mode 3, `P⁰` from the reference projections stored
 * after the current ones in the same `Q` and `K` buffers, at `refQ` and `refK`): `∂S/∂Z` for the row (for
 * the `∂K` GEMM), the row's `∂Q` slice, and the row's share of `S`.
 *
 * @module
 */

/**
 * The attention row kernel for a context of `tokens` keys (the private arrays are sized by it).
 *
 * @example
 * ```ts
 * import { attentionRowShader } from "./attention_wgsl.ts";
 * console.log(attentionRowShader(77).includes("array<f32, 77>")); // true
 * ```
 */
export function attentionRowShader(tokens: number): string {
  return `
struct Params {
  queries: u32, tokens: u32, inner: u32, heads: u32,
  headDim: u32, nkeys: u32, mode: u32, perRow: u32,
  scale: f32, refQ: u32, refK: u32, pad0: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> keys: array<u32>;
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;
@group(0) @binding(5) var<storage, read_write> dZ: array<f32>;
@group(0) @binding(6) var<storage, read_write> dQ: array<f32>;
@group(0) @binding(7) var<storage, read_write> partial: array<f32>;

// Softmax over all keys of the row whose query starts at Q[qo] (head h), keys read from K[base + …].
fn softmaxRow(qo: u32, h: u32, base: u32, p: ptr<function, array<f32, ${tokens}>>) {
  var top = -3.4e38;
  for (var k = 0u; k < ${tokens}u; k++) {
    let ko = base + k * P.inner + h * P.headDim;
    var z = 0.0;
    for (var c = 0u; c < P.headDim; c++) { z += Q[qo + c] * K[ko + c]; }
    z *= P.scale;
    (*p)[k] = z;
    top = max(top, z);
  }
  var total = 0.0;
  for (var k = 0u; k < ${tokens}u; k++) {
    (*p)[k] = exp((*p)[k] - top);
    total += (*p)[k];
  }
  for (var k = 0u; k < ${tokens}u; k++) { (*p)[k] = (*p)[k] / total; }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let row = (wg.y * P.perRow + wg.x) * 64u + t;
  if (row >= P.heads * P.queries) { return; }
  let h = row / P.queries;
  let q = row % P.queries;
  let qo = q * P.inner + h * P.headDim;
  var p: array<f32, ${tokens}>;
  softmaxRow(qo, h, 0u, &p);
  if (P.mode == 0u) {
    for (var c = 0u; c < P.nkeys; c++) { probs[row * P.nkeys + c] = p[keys[c]]; }
    return;
  }
  // g = ∂(row's share)/∂P on the chosen keys (zero elsewhere), gp = Σ g·P.
  var g: array<f32, ${tokens}>;
  var squares = 0.0;
  var gp = 0.0;
  if (P.mode == 2u) {
    var m = 0.0;
    for (var c = 0u; c < P.nkeys; c++) { m += p[keys[c]]; }
    for (var c = 0u; c < P.nkeys; c++) { g[keys[c]] = 2.0 * m; }
    squares = m * m;
    gp = 2.0 * m * m;
  } else if (P.mode == 3u) {
    var p0: array<f32, ${tokens}>;
    softmaxRow(P.refQ + qo, h, P.refK, &p0);
    for (var c = 0u; c < P.nkeys; c++) {
      let v = p[keys[c]];
      let d = v - p0[keys[c]];
      g[keys[c]] = 2.0 * d;
      squares += d * d;
      gp += 2.0 * d * v;
    }
  } else {
    for (var c = 0u; c < P.nkeys; c++) {
      let v = p[keys[c]];
      g[keys[c]] = 2.0 * v;
      squares += v * v;
      gp += 2.0 * v * v;
    }
  }
  partial[row] = squares;
  for (var k = 0u; k < ${tokens}u; k++) {
    let d = p[k] * (g[k] - gp) * P.scale;
    p[k] = d;
    dZ[row * ${tokens}u + k] = d;
  }
  for (var c = 0u; c < P.headDim; c++) {
    var s = 0.0;
    for (var k = 0u; k < ${tokens}u; k++) { s += p[k] * K[k * P.inner + h * P.headDim + c]; }
    dQ[qo + c] = s;
  }
}
`;
}
