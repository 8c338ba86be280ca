/**
 * diffusers' `UNet2DConditionModel` as an ONNX graph, built straight from a checkpoint's weights in
 * diffusers naming for every family: sinusoidal time embedding, ResNet blocks, transformer blocks with
 * self- and cross-attention and GEGLU feed-forward, stride-2 downsampling, nearest upsampling, and
 * SDXL's added conditioning (pooled text embedding and six size/crop time ids).
 *
 * Node names mirror the module paths (`down_blocks.1.attentions.0.transformer_blocks.0.attn2.probs`).
 * Options make the cross-attention `to_k`/`to_v` weights graph inputs (one session runs the base and
 * any patched model) and expose cross-attention probabilities of chosen layers and tokens.
 *
 * The latent height and width are fixed when the graph is built (static shapes let ONNX Runtime plan
 * memory); the batch is symbolic.
 *
 * @module
 */

import type { TensorSource } from "../formats/tensor_source.ts";
import { crossAttentionLayers } from "../formats/cross_attention.ts";
import { GraphBuilder } from "../runtime/graph.ts";
import type { OnnxModel } from "../runtime/onnx_model.ts";
import { perLevel, type UNetConfig } from "./config.ts";
import { LayerBuilder, type WeightStorage } from "./graph_layers.ts";

/** Names of the UNet graph's inputs and outputs. */
export const UNET_IO = {
  /** float32 `[batch, in_channels, h, w]`: the (scaled) noisy latents. */
  sample: "sample",
  /** float32 `[batch]`: the timestep of each batch entry. */
  timestep: "timestep",
  /** float32 `[batch, 77, cross_attention_dim]`: the text conditioning. */
  encoderHiddenStates: "encoder_hidden_states",
  /** SDXL, float32 `[batch, projection]`: the pooled text embedding of the second encoder. */
  textEmbeds: "text_embeds",
  /** SDXL, float32 `[batch, 6]`: original size, crop top-left, target size (height before width). */
  timeIds: "time_ids",
  /** int64 `[tokens]`: token positions whose attention maps are returned (with `attentionMaps`). */
  attentionTokens: "attention_tokens",
  /** float32 `[batch, out_channels, h, w]`: the model output (ε or v). */
  output: "out_sample",
} as const;

/** Which cross-attention probabilities the graph returns. */
export interface AttentionMapOptions {
  /**
   * `attn2` module paths (e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn2`); default all.
   */
  layers?: string[];
  /**
   * `"tokens"` (default): for the token positions fed as `attention_tokens`, the probabilities averaged
   * over heads, output `<module>.maps` `[batch, tokens, h·w]` at that layer's resolution.
   * `"full"`: the whole softmax `<module>.probs` `[batch, heads, h·w, 77]`.
   */
  mode?: "tokens" | "full";
}

/** What the UNet graph computes and how it binds weights. */
export interface UNetGraphOptions {
  /** Latent height (image height / 8). */
  height: number;
  /** Latent width (image width / 8). */
  width: number;
  /** `"float32"` (default) or `"stored"` (float16 weights stay float16, cast at run time). */
  weights?: WeightStorage;
  /**
   * Make every cross-attention `to_q.weight` / `to_k.weight` / `to_v.weight` a graph input of the same name
   * (diffusers weight name) instead of an initializer, so patched weights can be fed without a new session
   * (closed-form patches change `to_k`/`to_v`, Forget-Me-Not's `to_q`/`to_k`).
   */
  crossAttentionInputs?: boolean;
  /** Return cross-attention probabilities. */
  attentionMaps?: AttentionMapOptions;
  /** Extra intermediate tensors to return, by node name. */
  expose?: string[];
  /**
   * Linear weights (diffusers names, e.g. `…attn2.to_q.weight`) to make graph inputs of the same name, so
   * they can change between runs without a new session (Forget-Me-Not trains attn2 `to_q`/`to_k`).
   */
  weightInputs?: string[];
  /** Context length of the text conditioning (default 77). */
  contextLength?: number;
  /**
   * Largest self-attention score tensor (bytes, at batch 2) computed at once; larger ones are computed in
   * slices of heads, to lower peak memory (default `Infinity`: never; slicing looked much slower on the
   * WASM build in a first, contended measurement, so it is opt-in until measured properly).
   */
  attentionSliceBytes?: number;
  /** Graph name (default `unet`). */
  name?: string;
}

/** float32 constants of the sinusoidal embedding, computed the way diffusers does in float32. */
function timestepFrequencies(dim: number): Float32Array {
  const half = Math.floor(dim / 2);
  const f = Math.fround;
  const lnMax = f(-Math.log(10000));
  return Float32Array.from({ length: half }, (_, i) => f(Math.exp(f(f(lnMax * i) / half))));
}

/**
 * `[n]` timesteps → `[n, dim]` embedding `[cos(t·f), sin(t·f)]` (diffusers `Timesteps` with
 * `flip_sin_to_cos=True`, shift 0).
 */
function sinusoid(g: GraphBuilder, t: string, dim: number, name: string): string {
  const freqs = g.weight(`${name}.frequencies`, timestepFrequencies(dim), [1, Math.floor(dim / 2)]);
  const args = g.op(
    "Mul",
    [g.op("Unsqueeze", [t, g.int64s([1])], {}, `${name}.column`), freqs],
    {},
    `${name}.args`,
  );
  return g.op("Concat", [g.op("Cos", [args], {}, `${name}.cos`), g.op("Sin", [args], {}, `${name}.sin`)], {
    axis: 1,
  }, name);
}

interface Skip {
  tensor: string;
  channels: number;
}

/**
 * Checks that `config` describes a UNet this builder supports.
 *
 * @example
 * ```ts
 * import { presetConfig } from "./config.ts";
 * import { checkUNetConfig } from "./unet_graph.ts";
 * checkUNetConfig(presetConfig("sdxl").unet);
 * ```
 */
export function checkUNetConfig(cfg: UNetConfig): void {
  const kinds = new Set(["CrossAttnDownBlock2D", "DownBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]);
  for (const t of [...cfg.down_block_types, ...cfg.up_block_types]) {
    if (!kinds.has(t)) {
      throw new Error(`UNet block type ${t} is not supported (only ${[...kinds].join(", ")})`);
    }
  }
  if (cfg.addition_embed_type && cfg.addition_embed_type !== "text_time") {
    throw new Error(
      `UNet addition_embed_type "${cfg.addition_embed_type}" is not supported (only text_time)`,
    );
  }
}

/**
 * Builds the UNet graph. Inputs: `sample`, `timestep`, `encoder_hidden_states` (and for SDXL
 * `text_embeds`, `time_ids`; with `crossAttentionInputs` every cross-attention `to_q`/`to_k`/`to_v` weight; with token
 * attention maps `attention_tokens`). Output: `out_sample` (and the requested maps and tensors).
 *
 * @example
 * ```ts ignore
 * import { buildUNetGraph } from "./unet_graph.ts";
 * import { serializeModel } from "../runtime/onnx_model.ts";
 * const ckpt = await loadCheckpoint("model.safetensors");
 * const model = serializeModel(await buildUNetGraph(ckpt.unet, ckpt.config.unet, { height: 64, width: 64 }));
 * ```
 */
export async function buildUNetGraph(
  source: TensorSource,
  cfg: UNetConfig,
  options: UNetGraphOptions,
): Promise<OnnxModel> {
  checkUNetConfig(cfg);
  const { height, width } = options;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`UNet latent size must be positive integers, got ${height}×${width}`);
  }
  const g = new GraphBuilder(options.name ?? "unet");
  const L = new LayerBuilder(g, source, "UNet", options.weights ?? "float32");
  const ch = cfg.block_out_channels;
  const levels = ch.length;
  const groups = cfg.norm_num_groups;
  const tembDim = ch[0] * 4;
  const ctxDim = cfg.cross_attention_dim;
  const ctxLen = options.contextLength ?? 77;
  const sdxl = cfg.addition_embed_type === "text_time";
  const sliceBytes = options.attentionSliceBytes ?? Infinity;

  const sample = g.input(UNET_IO.sample, "float32", ["batch", cfg.in_channels, height, width]);
  const timestep = g.input(UNET_IO.timestep, "float32", ["batch"]);
  const ehs = g.input(UNET_IO.encoderHiddenStates, "float32", ["batch", ctxLen, ctxDim]);
  const context = g.op("Reshape", [ehs, g.int64s([-1, ctxDim])], {}, "encoder_hidden_states.tokens");

  const attn2Layers = crossAttentionLayers(cfg);
  const dynamic = new Set(options.weightInputs ?? []);
  const mapped = new Set(
    options.attentionMaps ? options.attentionMaps.layers ?? attn2Layers.map((l) => l.module) : [],
  );
  for (const m of mapped) {
    if (!attn2Layers.some((l) => l.module === m)) {
      throw new Error(`UNet has no cross-attention layer "${m}" (e.g. ${attn2Layers[0].module})`);
    }
  }
  const mapMode = options.attentionMaps?.mode ?? "tokens";
  const tokens = mapped.size && mapMode === "tokens"
    ? g.input(UNET_IO.attentionTokens, "int64", ["tokens"])
    : "";
  const mapOutputs: string[] = [];

  // Time embedding (and SDXL's added embedding), then the SiLU every ResNet applies to it.
  let temb = sinusoid(g, timestep, ch[0], "time_proj");
  temb = await L.linear(temb, "time_embedding.linear_1", ch[0], tembDim);
  temb = await L.linear(L.silu(temb, "time_embedding.act"), "time_embedding.linear_2", tembDim, tembDim);
  if (sdxl) {
    const timeDim = cfg.addition_time_embed_dim!;
    const inDim = cfg.projection_class_embeddings_input_dim!;
    const textDim = inDim - 6 * timeDim;
    const text = g.input(UNET_IO.textEmbeds, "float32", ["batch", textDim]);
    const ids = g.input(UNET_IO.timeIds, "float32", ["batch", 6]);
    const flat = g.op("Reshape", [ids, g.int64s([-1])], {}, "add_time_proj.flat");
    const timeEmb = g.op(
      "Reshape",
      [sinusoid(g, flat, timeDim, "add_time_proj"), g.int64s([-1, 6 * timeDim])],
      {},
      "add_time_proj.rows",
    );
    let aug = g.op("Concat", [text, timeEmb], { axis: 1 }, "add_embeds");
    aug = await L.linear(aug, "add_embedding.linear_1", inDim, tembDim);
    aug = await L.linear(L.silu(aug, "add_embedding.act"), "add_embedding.linear_2", tembDim, tembDim);
    temb = g.op("Add", [temb, aug], {}, "emb");
  }
  const tembAct = L.silu(temb, "emb.act");

  const resnet = async (x: string, p: string, inC: number, outC: number, h: number, w: number) => {
    let y = await L.groupNorm(x, `${p}.norm1`, inC, groups, 1e-5, h, w);
    y = await L.conv(L.silu(y, `${p}.act1`), `${p}.conv1`, inC, outC, 3);
    const t = await L.linear(tembAct, `${p}.time_emb_proj`, tembDim, outC);
    y = g.op(
      "Add",
      [y, g.op("Reshape", [t, g.int64s([-1, outC, 1, 1])], {}, `${p}.time_emb`)],
      {},
      `${p}.with_time`,
    );
    y = await L.groupNorm(y, `${p}.norm2`, outC, groups, 1e-5, h, w);
    y = await L.conv(L.silu(y, `${p}.act2`), `${p}.conv2`, outC, outC, 3);
    const shortcut = inC === outC ? x : await L.conv(x, `${p}.conv_shortcut`, inC, outC, 1);
    return g.op("Add", [shortcut, y], {}, p);
  };

  const attention = async (
    x: string,
    ctx: string | null,
    p: string,
    c: number,
    heads: number,
    n: number,
    h: number,
    w: number,
  ) => {
    const kvIn = ctx ?? x;
    const kvDim = ctx ? ctxDim : c;
    const keys = ctx ? ctxLen : n;
    // A weight is a graph input when asked by name, or (cross-attention only) for swappable patches.
    const fed = (name: string, dims: number[]) =>
      dynamic.has(name) || (ctx && options.crossAttentionInputs) ? g.input(name, "float32", dims) : undefined;
    const q = await L.linear(x, `${p}.to_q`, c, c, {
      bias: false,
      scale: 1 / Math.sqrt(c / heads),
      weightName: fed(`${p}.to_q.weight`, [c, c]),
    });
    const kName = fed(`${p}.to_k.weight`, [c, kvDim]), vName = fed(`${p}.to_v.weight`, [c, kvDim]);
    const k = await L.linear(kvIn, `${p}.to_k`, kvDim, c, { bias: false, weightName: kName });
    const v = await L.linear(kvIn, `${p}.to_v`, kvDim, c, { bias: false, weightName: vName });
    // Self-attention scores of the largest levels take gigabytes ([2, 8, 4096, 4096] float32 at 512²):
    // optionally process the heads in slices of at most `attentionSliceBytes` each.
    const scoreBytes = 2 * 4 * heads * n * keys;
    let slices = 1;
    while (scoreBytes / slices > sliceBytes && slices < heads) {
      slices++;
      while (heads % slices) slices++;
    }
    const { context: merged, probs } = L.attention(q, k, v, n, keys, c, heads, p, ctx ? 1 : slices);
    if (ctx && mapped.has(p)) {
      if (mapMode === "full") {
        mapOutputs.push(g.output(probs, "float32", ["batch", heads, n, keys]));
      } else {
        const mean = g.op("ReduceMean", [probs], { axes: [1], keepdims: 0 }, `${p}.probs.mean`); // [b, n, 77]
        const picked = g.op("Gather", [mean, tokens], { axis: 2 }, `${p}.probs.tokens`); // [b, n, t]
        const maps = g.op("Transpose", [picked], { perm: [0, 2, 1] }, `${p}.maps`);
        mapOutputs.push(g.output(maps, "float32", ["batch", "tokens", h * w]));
      }
    }
    return await L.linear(merged, `${p}.to_out.0`, c, c);
  };

  const transformer = async (
    x: string,
    p: string,
    c: number,
    depth: number,
    heads: number,
    h: number,
    w: number,
  ) => {
    const n = h * w;
    let y = await L.groupNorm(x, `${p}.norm`, c, groups, 1e-6, h, w);
    let tok: string;
    if (cfg.use_linear_projection) tok = await L.linear(L.toTokens(y, c, `${p}.in`), `${p}.proj_in`, c, c);
    else tok = L.toTokens(await L.conv(y, `${p}.proj_in`, c, c, 1), c, `${p}.in`);
    for (let k = 0; k < depth; k++) {
      const b = `${p}.transformer_blocks.${k}`;
      let hN = await L.layerNorm(tok, `${b}.norm1`, c, 1e-5);
      tok = g.op(
        "Add",
        [tok, await attention(hN, null, `${b}.attn1`, c, heads, n, h, w)],
        {},
        `${b}.residual1`,
      );
      hN = await L.layerNorm(tok, `${b}.norm2`, c, 1e-5);
      tok = g.op(
        "Add",
        [tok, await attention(hN, context, `${b}.attn2`, c, heads, n, h, w)],
        {},
        `${b}.residual2`,
      );
      hN = await L.layerNorm(tok, `${b}.norm3`, c, 1e-5);
      const proj = await L.linear(hN, `${b}.ff.net.0.proj`, c, 8 * c);
      const [value, gate] = g.opN(
        "Split",
        [proj, g.int64s([4 * c, 4 * c])],
        2,
        { axis: 1 },
        `${b}.ff.net.0.split`,
      );
      // Exact GELU of the gate: 0.5·x·(1 + erf(x/√2)).
      const erf = g.op(
        "Erf",
        [g.op("Div", [gate, g.scalar(Math.SQRT2)], {}, `${b}.ff.gelu.div`)],
        {},
        `${b}.ff.gelu.erf`,
      );
      const gelu = g.op(
        "Mul",
        [
          g.op(
            "Mul",
            [gate, g.op("Add", [erf, g.scalar(1)], {}, `${b}.ff.gelu.add`)],
            {},
            `${b}.ff.gelu.mul`,
          ),
          g.scalar(0.5),
        ],
        {},
        `${b}.ff.gelu`,
      );
      const geglu = g.op("Mul", [value, gelu], {}, `${b}.ff.net.0`);
      tok = g.op("Add", [tok, await L.linear(geglu, `${b}.ff.net.2`, 4 * c, c)], {}, `${b}.residual3`);
    }
    if (cfg.use_linear_projection) {
      y = L.fromTokens(await L.linear(tok, `${p}.proj_out`, c, c), c, h, w, `${p}.out`);
    } else y = await L.conv(L.fromTokens(tok, c, h, w, `${p}.out`), `${p}.proj_out`, c, c, 1);
    return g.op("Add", [y, x], {}, p);
  };

  // Spatial size of each level: stride-2 convolutions with padding 1 give ceil(size / 2).
  const sizes: [number, number][] = [[height, width]];
  for (let i = 1; i < levels; i++) {
    const [h, w] = sizes[i - 1];
    sizes.push([Math.ceil(h / 2), Math.ceil(w / 2)]);
  }

  let x = await L.conv(sample, "conv_in", cfg.in_channels, ch[0], 3);
  const skips: Skip[] = [{ tensor: x, channels: ch[0] }];
  let c = ch[0];
  for (let i = 0; i < levels; i++) {
    const [h, w] = sizes[i];
    const hasAttn = cfg.down_block_types[i].startsWith("CrossAttn");
    const depth = perLevel(cfg.transformer_layers_per_block, i);
    const heads = perLevel(cfg.attention_head_dim, i);
    for (let j = 0; j < cfg.layers_per_block; j++) {
      x = await resnet(x, `down_blocks.${i}.resnets.${j}`, c, ch[i], h, w);
      c = ch[i];
      if (hasAttn) x = await transformer(x, `down_blocks.${i}.attentions.${j}`, c, depth, heads, h, w);
      skips.push({ tensor: x, channels: c });
    }
    if (i < levels - 1) {
      x = await L.conv(x, `down_blocks.${i}.downsamplers.0.conv`, c, c, 3, { stride: 2 });
      skips.push({ tensor: x, channels: c });
    }
  }

  const [mh, mw] = sizes[levels - 1];
  x = await resnet(x, "mid_block.resnets.0", c, c, mh, mw);
  x = await transformer(
    x,
    "mid_block.attentions.0",
    c,
    perLevel(cfg.transformer_layers_per_block, levels - 1),
    perLevel(cfg.attention_head_dim, levels - 1),
    mh,
    mw,
  );
  x = await resnet(x, "mid_block.resnets.1", c, c, mh, mw);

  for (let i = 0; i < levels; i++) {
    const level = levels - 1 - i;
    const [h, w] = sizes[level];
    const out = ch[level];
    const hasAttn = cfg.up_block_types[i].startsWith("CrossAttn");
    const depth = perLevel(cfg.transformer_layers_per_block, level);
    const heads = perLevel(cfg.attention_head_dim, level);
    for (let j = 0; j < cfg.layers_per_block + 1; j++) {
      const skip = skips.pop()!;
      const p = `up_blocks.${i}.resnets.${j}`;
      const joined = g.op("Concat", [x, skip.tensor], { axis: 1 }, `${p}.input`);
      x = await resnet(joined, p, c + skip.channels, out, h, w);
      c = out;
      if (hasAttn) x = await transformer(x, `up_blocks.${i}.attentions.${j}`, c, depth, heads, h, w);
    }
    if (i < levels - 1) {
      // Nearest upsampling to the next skip's size (twice this level's, or one less for odd sizes).
      const [th, tw] = sizes[level - 1];
      const p = `up_blocks.${i}.upsamplers.0`;
      const lead = g.op(
        "Slice",
        [g.op("Shape", [x], {}, `${p}.shape`), g.int64s([0]), g.int64s([2])],
        {},
        `${p}.lead`,
      );
      const target = g.op("Concat", [lead, g.int64s([th, tw])], { axis: 0 }, `${p}.size`);
      const up = g.op("Resize", [x, "", "", target], {
        mode: "nearest",
        coordinate_transformation_mode: "asymmetric",
        nearest_mode: "floor",
      }, `${p}.interpolate`);
      x = await L.conv(up, `${p}.conv`, c, c, 3);
    }
  }

  x = await L.groupNorm(x, "conv_norm_out", ch[0], groups, 1e-5, height, width);
  x = await L.conv(L.silu(x, "conv_act"), "conv_out", ch[0], cfg.out_channels, 3);
  g.output(x, "float32", ["batch", cfg.out_channels, height, width], UNET_IO.output);
  for (const name of options.expose ?? []) {
    if (!g.has(name)) throw new Error(`UNet: no tensor named "${name}" to expose`);
    g.output(name, "float32");
  }
  for (const name of dynamic) {
    if (!g.has(name)) throw new Error(`UNet: no linear weight "${name}" to make a graph input`);
  }
  return g.build(17);
}
