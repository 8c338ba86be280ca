/**
 * The inner kernel of every dense CPU product: a block of dot products between rows of two packed
 * float64 panels, accumulated in 2×4 register blocks and added (times ±1) into an output matrix.
 *
 * Callers pack `K`-deep slices of their operands into contiguous float64 buffers first: with
 * power-of-two widths (1024, 2048) the rows of the original arrays are a multiple of 4 KiB apart and
 * would compete for the same cache sets; packed rows are not.
 *
 * @module
 */

/** Where a block of dot products goes. */
export interface DotBlockTarget {
  /** Output array. */
  out: Float64Array;
  /** Index of output element `(0, 0)`. */
  base: number;
  /** Distance between output rows. */
  stride: number;
  /** `+1` to add the products, `−1` to subtract them. */
  sign: 1 | -1;
}

/**
 * For `iStart ≤ i < iEnd` and `j0 ≤ j < j1`: `out[base + i·stride + j] += sign · Σ_p a[i·kb + p]·b[(j − j0)·kb + p]`.
 *
 * @example
 * ```ts
 * import { packedDotBlock } from "./dot_block.ts";
 * const out = new Float64Array(1);
 * packedDotBlock(new Float64Array([1, 2]), new Float64Array([3, 4]), 2, 0, 1, 0, 1, { out, base: 0, stride: 1, sign: 1 });
 * console.log(out[0]); // 11
 * ```
 */
export function packedDotBlock(
  a: Float64Array,
  b: Float64Array,
  kb: number,
  iStart: number,
  iEnd: number,
  j0: number,
  j1: number,
  target: DotBlockTarget,
): void {
  const { out, base, stride, sign } = target;
  let i = iStart;
  for (; i + 1 < iEnd; i += 2) {
    const a0 = i * kb;
    const a1 = a0 + kb;
    const o0 = base + i * stride;
    const o1 = o0 + stride;
    let j = j0;
    for (; j + 3 < j1; j += 4) {
      const b0 = (j - j0) * kb;
      const b1 = b0 + kb;
      const b2 = b1 + kb;
      const b3 = b2 + kb;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let p = 0; p < kb; p++) {
        const x0 = a[a0 + p];
        const x1 = a[a1 + p];
        const y0 = b[b0 + p];
        const y1 = b[b1 + p];
        const y2 = b[b2 + p];
        const y3 = b[b3 + p];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      out[o0 + j] += sign * s00;
      out[o0 + j + 1] += sign * s01;
      out[o0 + j + 2] += sign * s02;
      out[o0 + j + 3] += sign * s03;
      out[o1 + j] += sign * s10;
      out[o1 + j + 1] += sign * s11;
      out[o1 + j + 2] += sign * s12;
      out[o1 + j + 3] += sign * s13;
    }
    for (; j < j1; j++) {
      const b0 = (j - j0) * kb;
      let s0 = 0, s1 = 0;
      for (let p = 0; p < kb; p++) {
        const y = b[b0 + p];
        s0 += a[a0 + p] * y;
        s1 += a[a1 + p] * y;
      }
      out[o0 + j] += sign * s0;
      out[o1 + j] += sign * s1;
    }
  }
  for (; i < iEnd; i++) {
    const a0 = i * kb;
    const o0 = base + i * stride;
    for (let j = j0; j < j1; j++) {
      const b0 = (j - j0) * kb;
      let s = 0;
      for (let p = 0; p < kb; p++) s += a[a0 + p] * b[b0 + p];
      out[o0 + j] += sign * s;
    }
  }
}
