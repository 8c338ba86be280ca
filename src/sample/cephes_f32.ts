/**
 * Single-precision natural log and sine/cosine computed the way torch's AVX2 normal kernel computes them,
 * so that emulated draws match torch bit for bit.
 *
 * The algorithms are Cephes' `logf` and `sinf`/`cosf` as vectorised for SSE/AVX (range reduction to
 * a mantissa in [√½, √2) or an angle in [−π/4, π/4], then short polynomials), evaluated in float32. The
 * compiler fuses some multiply-adds into single-rounding FMAs; which ones was found by comparing against
 * torch's output (tests/fixtures/noise/torch_randn.json): every polynomial step, the `−z/2` terms, the
 * exponent terms and the three-part range reduction. Float32 FMAs are emulated exactly in float64.
 *
 * @module
 */

const f = Math.fround;

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
// Byte order: which 32-bit word of a float64 holds the low mantissa bits.
const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/**
 * The float32 fused multiply-add `a·b + c` with a single rounding (a, b, c float32 values).
 *
 * The product of two float32 values is exact in float64; the float64 sum is then rounded to float32,
 * which rounds twice only when that sum lands exactly halfway between two float32 values: then the sum's
 * own rounding error (TwoSum) says which way the exact value lies.
 *
 * @example
 * ```ts
 * import { fmaf } from "./cephes_f32.ts";
 * fmaf(Math.fround(0.1), 10, -1); // 1.4901161193847656e-8, where (0.1·10 in float32) − 1 is 0
 * ```
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f(s);
  if (r === s) return r;
  scratch[0] = s;
  // A float32 midpoint inside the normal range has exactly bit 28 set among the low 29 mantissa bits.
  if ((scratchWords[LOW] & 0x1fffffff) !== 0x10000000) return r;
  const pv = s - c;
  const err = (p - pv) + (c - (s - pv));
  if (err === 0) return r;
  const other = s + (s - r);
  return err > 0 ? Math.max(r, other) : Math.min(r, other);
}

const SQRT_HALF = f(0.707106781186547524);
const LOG_P = [
  7.0376836292e-2,
  -1.1514610310e-1,
  1.1676998740e-1,
  -1.2420140846e-1,
  1.4249322787e-1,
  -1.6668057665e-1,
  2.0000714765e-1,
  -2.4999993993e-1,
  3.3333331174e-1,
].map(f);
const LOG_Q1 = f(-2.12194440e-4);
const LOG_Q2 = f(0.693359375);

const logBits = new Float32Array(1);
const logWords = new Uint32Array(logBits.buffer);

/**
 * Natural log of a positive, normal float32 `x`, in float32, as torch's AVX2 kernel computes it.
 *
 * @example
 * ```ts
 * import { cephesLogf } from "./cephes_f32.ts";
 * cephesLogf(0.5); // -0.6931471824645996 (= Math.fround(Math.log(0.5)))
 * ```
 */
export function cephesLogf(x: number): number {
  logBits[0] = x;
  const bits = logWords[0];
  let e = ((bits >>> 23) & 0xff) - 126;
  logWords[0] = (bits & 0x807fffff) | 0x3f000000;
  let m = logBits[0]; // x = m · 2^e with m in [0.5, 1)
  if (m < SQRT_HALF) {
    e -= 1;
    m = f(f(m - 1) + m); // 2m − 1: keeps the reduced argument in [√½ − 1, √2 − 1)
  } else {
    m = f(m - 1);
  }
  const z = f(m * m);
  let y = LOG_P[0];
  for (let k = 1; k < LOG_P.length; k++) y = fmaf(y, m, LOG_P[k]);
  y = f(y * m);
  y = fmaf(y, z, f(e * LOG_Q1));
  y = fmaf(z, -0.5, y);
  return fmaf(e, LOG_Q2, f(m + y));
}

const FOUR_OVER_PI = f(1.27323954473516);
const DP1 = f(-0.78515625);
const DP2 = f(-2.4187564849853515625e-4);
const DP3 = f(-3.77489497744594108e-8);
const COS_P0 = f(2.443315711809948e-5);
const COS_P1 = f(-1.388731625493765e-3);
const COS_P2 = f(4.166664568298827e-2);
const SIN_P0 = f(-1.9515295891e-4);
const SIN_P1 = f(8.3321608736e-3);
const SIN_P2 = f(-1.6666654611e-1);

/**
 * Sine and cosine of a float32 angle `x` (|x| < 2^24), in float32, as torch's AVX2 kernel computes them;
 * written to `out[0]` (sine) and `out[1]` (cosine).
 *
 * @example
 * ```ts
 * import { cephesSinCosf } from "./cephes_f32.ts";
 * const sc = new Float64Array(2);
 * cephesSinCosf(Math.fround(Math.PI / 6), sc); // sc ≈ [0.5, 0.8660254]
 * ```
 */
export function cephesSinCosf(x: number, out: Float64Array | number[]): void {
  let sinNegative = x < 0;
  x = Math.abs(x);
  // The octant: j is the nearest even integer at or above x·4/π (after truncation).
  const j = ((f(x * FOUR_OVER_PI) | 0) + 1) & ~1;
  const y = j;
  if (j & 4) sinNegative = !sinNegative;
  const cosNegative = (~(j - 2) & 4) !== 0;
  const sinPoly = (j & 2) === 0;
  // x − j·π/4, with π/4 split in three parts so the reduction stays exact.
  x = fmaf(y, DP1, x);
  x = fmaf(y, DP2, x);
  x = fmaf(y, DP3, x);
  const z = f(x * x);
  let c = fmaf(COS_P0, z, COS_P1);
  c = fmaf(c, z, COS_P2);
  c = fmaf(f(c * z), z, -f(z * 0.5));
  c = f(c + 1);
  let s = fmaf(SIN_P0, z, SIN_P1);
  s = fmaf(s, z, SIN_P2);
  s = fmaf(f(s * z), x, x);
  const sine = sinPoly ? s : c, cosine = sinPoly ? c : s;
  out[0] = sinNegative ? -sine : sine;
  out[1] = cosNegative ? -cosine : cosine;
}
