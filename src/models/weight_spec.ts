/**
 * The list of weights a network has: name (diffusers/transformers naming), shape, and what kind of
 * parameter it is, so synthetic checkpoints can fill it at a sensible scale.
 *
 * @module
 */

/** What a parameter is, which decides how a synthetic checkpoint initialises it. */
export type WeightKind = "linear" | "conv" | "bias" | "norm_weight" | "norm_bias" | "embedding" | "scalar";

/** One weight of a network. */
export interface WeightSpec {
  /** Name in diffusers / transformers naming. */
  name: string;
  /** Shape, row-major (`[out, in]` for linear layers, `[out, in, kh, kw]` for convolutions). */
  shape: number[];
  /** Kind of parameter. */
  kind: WeightKind;
}

/** Collects weight specs under a growing name prefix (candle's `VarBuilder.pp`, in miniature). */
export class WeightList {
  /** The weights collected so far. */
  readonly specs: WeightSpec[] = [];

  /** Adds one weight. */
  add(name: string, shape: number[], kind: WeightKind): void {
    this.specs.push({ name, shape, kind });
  }

  /** A `Linear(inF, outF)` at `prefix`: `weight` [out, in] and, unless `bias` is false, `bias` [out]. */
  linear(prefix: string, inF: number, outF: number, bias = true): void {
    this.add(`${prefix}.weight`, [outF, inF], "linear");
    if (bias) this.add(`${prefix}.bias`, [outF], "bias");
  }

  /** A `Conv2d(inC, outC, k)` at `prefix`, with bias. */
  conv(prefix: string, inC: number, outC: number, k: number): void {
    this.add(`${prefix}.weight`, [outC, inC, k, k], "conv");
    this.add(`${prefix}.bias`, [outC], "bias");
  }

  /** A GroupNorm / LayerNorm of width `c` at `prefix`. */
  norm(prefix: string, c: number): void {
    this.add(`${prefix}.weight`, [c], "norm_weight");
    this.add(`${prefix}.bias`, [c], "norm_bias");
  }
}
