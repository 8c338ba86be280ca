/**
 * The layers the UNet and the VAE share, as ONNX nodes bound to checkpoint weights (diffusers names):
 * convolutions, GroupNorm, LayerNorm, linear layers, SiLU, and multi-head attention.
 *
 * Activations of convolutional parts are NCHW with a symbolic batch and static height/width; token
 * streams (transformer blocks, VAE attention) are kept 2-D `[batch·tokens, channels]` so every linear
 * layer is one `Gemm` on the checkpoint's `[out, in]` weight (`transB`).
 *
 * GroupNorm is written as Reshape → InstanceNormalization → Reshape → affine, which every ONNX Runtime
 * build implements (the GroupNormalization operator is not in opset 17).
 *
 * @module
 */

import type { TensorSource } from "../formats/tensor_source.ts";
import { float, type GraphBuilder } from "../runtime/graph.ts";

/** How weights are bound: float32 initializers, or float16 kept as stored and cast at run time. */
export type WeightStorage = "float32" | "stored";

/** Softmax probabilities of one attention, as the caller wants them exposed. */
export interface AttentionProbs {
  /** The probabilities tensor `[batch, heads, queries, keys]`. */
  probs: string;
}

/**
 * Binds checkpoint weights to a graph and emits the layers built from them.
 *
 * @example
 * ```ts ignore
 * import { GraphBuilder } from "../runtime/graph.ts";
 * import { LayerBuilder } from "./graph_layers.ts";
 * const g = new GraphBuilder("vae");
 * const layers = new LayerBuilder(g, source, "VAE", "float32");
 * const x = g.input("latents", "float32", ["batch", 4, 8, 8]);
 * const y = await layers.conv(x, "decoder.conv_in", 4, 512, 3);
 * ```
 */
export class LayerBuilder {
  /** The graph being built. */
  readonly g: GraphBuilder;
  /** Where weights come from. */
  readonly source: TensorSource;
  /** What the weights belong to, for error messages (e.g. "UNet"). */
  readonly what: string;
  /** How weights are bound. */
  readonly storage: WeightStorage;
  #bound = new Map<string, string>();
  #ones = new Map<number, string>();

  /** Creates a builder over `g` reading weights from `source`. */
  constructor(g: GraphBuilder, source: TensorSource, what: string, storage: WeightStorage = "float32") {
    this.g = g;
    this.source = source;
    this.what = what;
    this.storage = storage;
  }

  /**
   * The float32 tensor of weight `key`, checked to have `shape`; `dims` re-shapes it (same element
   * count) for broadcasting, e.g. a GroupNorm scale `[C]` bound as `[C, 1, 1]`.
   */
  async weight(key: string, shape: number[], dims: number[] = shape): Promise<string> {
    const cacheKey = `${key}|${dims.join(",")}`;
    const found = this.#bound.get(cacheKey);
    if (found !== undefined) return found;
    if (!this.source.has(key)) throw new Error(`${this.what} checkpoint has no weight "${key}"`);
    const info = this.source.info(key);
    if (info.shape.join(",") !== shape.join(",")) {
      throw new Error(
        `${this.what} weight "${key}" has shape [${info.shape}], the configuration needs [${shape}]`,
      );
    }
    const raw = await this.source.readRaw(key);
    const name = this.g.float32Weight(key, { ...raw, shape: dims }, this.storage);
    this.#bound.set(cacheKey, name);
    return name;
  }

  /** `Conv2d` with bias: `k`×`k` kernel, given stride and padding (`pads` as ONNX begin/end). */
  async conv(
    x: string,
    path: string,
    inC: number,
    outC: number,
    k: number,
    options: { stride?: number; pads?: number[] } = {},
  ): Promise<string> {
    const w = await this.weight(`${path}.weight`, [outC, inC, k, k]);
    const b = await this.weight(`${path}.bias`, [outC]);
    const p = (k - 1) / 2;
    const stride = options.stride ?? 1;
    return this.g.op("Conv", [x, w, b], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: options.pads ?? [p, p, p, p],
    }, path);
  }

  /** `GroupNorm(groups, c, eps)` with affine weights on an NCHW tensor of spatial size `h`×`w`. */
  async groupNorm(
    x: string,
    path: string,
    c: number,
    groups: number,
    eps: number,
    h: number,
    w: number,
  ): Promise<string> {
    if (c % groups !== 0) {
      throw new Error(`${this.what} ${path}: ${c} channels do not split into ${groups} groups`);
    }
    const g = this.g;
    let ones = this.#ones.get(groups);
    if (ones === undefined) {
      ones = g.weight(`group_norm.ones.${groups}`, new Float32Array(groups).fill(1), [groups]);
      g.weight(`group_norm.zeros.${groups}`, new Float32Array(groups), [groups]);
      this.#ones.set(groups, ones);
    }
    const grouped = g.op("Reshape", [x, g.int64s([0, groups, -1])], {}, `${path}.grouped`);
    const normed = g.op("InstanceNormalization", [grouped, ones, `group_norm.zeros.${groups}`], {
      epsilon: float(eps),
    }, `${path}.normalized`);
    const back = g.op("Reshape", [normed, g.int64s([-1, c, h, w])], {}, `${path}.ungrouped`);
    const scale = await this.weight(`${path}.weight`, [c], [c, 1, 1]);
    const bias = await this.weight(`${path}.bias`, [c], [c, 1, 1]);
    return g.op("Add", [g.op("Mul", [back, scale], {}, `${path}.scaled`), bias], {}, path);
  }

  /** `x · sigmoid(x)`. */
  silu(x: string, name: string): string {
    return this.g.op("Mul", [x, this.g.op("Sigmoid", [x], {}, `${name}.sigmoid`)], {}, name);
  }

  /**
   * A linear layer on a 2-D tensor: `Gemm(x, W, b)` with `transB`; `scale` multiplies the result
   * (used to fold the attention scale into `to_q`). `weightName` replaces the bound weight by another
   * tensor of the same shape (a graph input, for swappable weights).
   */
  async linear(
    x: string,
    path: string,
    inF: number,
    outF: number,
    options: { bias?: boolean; scale?: number; weightName?: string } = {},
  ): Promise<string> {
    const w = options.weightName ?? await this.weight(`${path}.weight`, [outF, inF]);
    const inputs = [x, w];
    const scale = options.scale ?? 1;
    if (options.bias ?? true) inputs.push(await this.weight(`${path}.bias`, [outF]));
    return this.g.op("Gemm", inputs, { transB: 1, alpha: float(scale), beta: float(scale) }, path);
  }

  /** `LayerNorm(c, eps)` over the last axis. */
  async layerNorm(x: string, path: string, c: number, eps: number): Promise<string> {
    return this.g.op(
      "LayerNormalization",
      [
        x,
        await this.weight(`${path}.weight`, [c]),
        await this.weight(`${path}.bias`, [c]),
      ],
      { axis: -1, epsilon: float(eps) },
      path,
    );
  }

  /** NCHW `[b, c, h, w]` → 2-D tokens `[b·h·w, c]`. */
  toTokens(x: string, c: number, name: string): string {
    const t = this.g.op("Transpose", [x], { perm: [0, 2, 3, 1] }, `${name}.nhwc`);
    return this.g.op("Reshape", [t, this.g.int64s([-1, c])], {}, `${name}.tokens`);
  }

  /** 2-D tokens `[b·h·w, c]` → NCHW `[b, c, h, w]`. */
  fromTokens(x: string, c: number, h: number, w: number, name: string): string {
    const t = this.g.op("Reshape", [x, this.g.int64s([-1, h, w, c])], {}, `${name}.nhwc`);
    return this.g.op("Transpose", [t], { perm: [0, 3, 1, 2] }, `${name}.nchw`);
  }

  /**
   * Scaled dot-product attention on 2-D projections: `q` `[b·n, c]` (already scaled by 1/√d),
   * `k`, `v` `[b·m, c]`, `heads` heads; returns the merged context `[b·n, c]` and the probabilities
   * `[b, heads, n, m]`. With `slices` > 1 the heads are processed in that many groups one after the
   * other, so only one group's `[b, heads/slices, n, m]` scores are alive at a time (large self-attention);
   * the probabilities are then not available (`probs` is "").
   */
  attention(
    q: string,
    k: string,
    v: string,
    queries: number,
    keys: number,
    c: number,
    heads: number,
    path: string,
    slices = 1,
  ): { context: string; probs: string } {
    const g = this.g;
    const hd = c / heads;
    if (!Number.isInteger(hd)) {
      throw new Error(`${this.what} ${path}: ${c} channels do not split into ${heads} heads`);
    }
    if (heads % slices !== 0) {
      throw new Error(`${this.what} ${path}: ${heads} heads do not split into ${slices} slices`);
    }
    const split = (t: string, n: number, name: string, perm: number[]) =>
      g.op(
        "Transpose",
        [g.op("Reshape", [t, g.int64s([-1, n, heads, hd])], {}, `${name}.heads`)],
        { perm },
        `${name}.t`,
      );
    const qh = split(q, queries, `${path}.q`, [0, 2, 1, 3]); // [b, h, n, d]
    const kh = split(k, keys, `${path}.k`, [0, 2, 3, 1]); // [b, h, d, m]
    const vh = split(v, keys, `${path}.v`, [0, 2, 1, 3]); // [b, h, m, d]
    let ctx: string, probs = "";
    if (slices === 1) {
      const scores = g.op("MatMul", [qh, kh], {}, `${path}.scores`);
      probs = g.op("Softmax", [scores], { axis: -1 }, `${path}.probs`);
      ctx = g.op("MatMul", [probs, vh], {}, `${path}.context`);
    } else {
      const sizes = g.int64s(Array(slices).fill(heads / slices));
      const qs = g.opN("Split", [qh, sizes], slices, { axis: 1 }, `${path}.q.slices`);
      const ks = g.opN("Split", [kh, sizes], slices, { axis: 1 }, `${path}.k.slices`);
      const vs = g.opN("Split", [vh, sizes], slices, { axis: 1 }, `${path}.v.slices`);
      const parts = qs.map((qi, i) => {
        const p = g.op(
          "Softmax",
          [g.op("MatMul", [qi, ks[i]], {}, `${path}.scores.${i}`)],
          { axis: -1 },
          `${path}.probs.${i}`,
        );
        return g.op("MatMul", [p, vs[i]], {}, `${path}.context.${i}`);
      });
      ctx = g.op("Concat", parts, { axis: 1 }, `${path}.context`);
    }
    const merged = g.op(
      "Reshape",
      [
        g.op("Transpose", [ctx], { perm: [0, 2, 1, 3] }, `${path}.context.t`),
        g.int64s([-1, c]),
      ],
      {},
      `${path}.context.flat`,
    );
    return { context: merged, probs };
  }
}
