/**
 * diffusers' `AutoencoderKL` as two ONNX graphs built from a checkpoint's VAE weights (diffusers names):
 * the decoder (latents → image in [-1, 1]) and the encoder (image → mean of the latent distribution).
 *
 * Latent scaling is part of the graphs: the decoder takes latents as the UNet sees them and divides by
 * the family's `scaling_factor` (0.18215 for SD 1/2, 0.13025 for SDXL); the encoder returns the mean
 * multiplied by it. Set `scaled: false` to get diffusers' raw `decode`/`encode` instead.
 *
 * @module
 */

import type { TensorSource } from "../formats/tensor_source.ts";
import { GraphBuilder } from "../runtime/graph.ts";
import type { OnnxModel } from "../runtime/onnx_model.ts";
import type { VaeConfig } from "./config.ts";
import { LayerBuilder, type WeightStorage } from "./graph_layers.ts";

/** Names of the VAE graphs' inputs and outputs. */
export const VAE_IO = {
  /** Decoder input, float32 `[batch, latent_channels, h, w]`. */
  latents: "latents",
  /** Decoder output / encoder input, float32 `[batch, 3, 8h, 8w]` in [-1, 1]. */
  image: "image",
  /** Encoder output: the latent distribution's mean, float32 `[batch, latent_channels, h, w]`. */
  latentMean: "latent_mean",
} as const;

/** Options of the VAE graph builders. */
export interface VaeGraphOptions {
  /** Latent height (image height / 8). */
  height: number;
  /** Latent width (image width / 8). */
  width: number;
  /** Apply the family's latent `scaling_factor` inside the graph (default true). */
  scaled?: boolean;
  /** `"float32"` (default) or `"stored"` (float16 weights stay float16, cast at run time). */
  weights?: WeightStorage;
  /** Graph name. */
  name?: string;
}

const EPS = 1e-6;

function checkSize(options: VaeGraphOptions): void {
  const { height, width } = options;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`VAE latent size must be positive integers, got ${height}×${width}`);
  }
}

async function resnet(
  L: LayerBuilder,
  x: string,
  p: string,
  inC: number,
  outC: number,
  groups: number,
  h: number,
  w: number,
): Promise<string> {
  let y = await L.groupNorm(x, `${p}.norm1`, inC, groups, EPS, h, w);
  y = await L.conv(L.silu(y, `${p}.act1`), `${p}.conv1`, inC, outC, 3);
  y = await L.groupNorm(y, `${p}.norm2`, outC, groups, EPS, h, w);
  y = await L.conv(L.silu(y, `${p}.act2`), `${p}.conv2`, outC, outC, 3);
  const shortcut = inC === outC ? x : await L.conv(x, `${p}.conv_shortcut`, inC, outC, 1);
  return L.g.op("Add", [shortcut, y], {}, p);
}

/** ResNet, single-head self-attention over all pixels, ResNet. */
async function midBlock(
  L: LayerBuilder,
  x: string,
  p: string,
  c: number,
  groups: number,
  h: number,
  w: number,
) {
  const g = L.g;
  x = await resnet(L, x, `${p}.resnets.0`, c, c, groups, h, w);
  const a = `${p}.attentions.0`;
  const normed = await L.groupNorm(x, `${a}.group_norm`, c, groups, EPS, h, w);
  const tok = L.toTokens(normed, c, a);
  const q = await L.linear(tok, `${a}.to_q`, c, c, { scale: 1 / Math.sqrt(c) });
  const k = await L.linear(tok, `${a}.to_k`, c, c);
  const v = await L.linear(tok, `${a}.to_v`, c, c);
  const { context } = L.attention(q, k, v, h * w, h * w, c, 1, a);
  const out = L.fromTokens(await L.linear(context, `${a}.to_out.0`, c, c), c, h, w, `${a}.out`);
  x = g.op("Add", [out, x], {}, a);
  return await resnet(L, x, `${p}.resnets.1`, c, c, groups, h, w);
}

/**
 * The decoder: `latents` `[batch, 4, h, w]` → `image` `[batch, 3, 8h, 8w]` (values about [-1, 1]).
 *
 * @example
 * ```ts ignore
 * import { buildVaeDecoderGraph } from "./vae_graph.ts";
 * const graph = await buildVaeDecoderGraph(ckpt.vae!, ckpt.config.vae, { height: 64, width: 64 });
 * ```
 */
export async function buildVaeDecoderGraph(
  source: TensorSource,
  cfg: VaeConfig,
  options: VaeGraphOptions,
): Promise<OnnxModel> {
  checkSize(options);
  const g = new GraphBuilder(options.name ?? "vae_decoder");
  const L = new LayerBuilder(g, source, "VAE", options.weights ?? "float32");
  const ch = cfg.block_out_channels;
  const levels = ch.length;
  const groups = cfg.norm_num_groups;
  const lc = cfg.latent_channels;
  let h = options.height, w = options.width;
  let x = g.input(VAE_IO.latents, "float32", ["batch", lc, h, w]);
  if (options.scaled ?? true) x = g.op("Div", [x, g.scalar(cfg.scaling_factor)], {}, "unscale");
  x = await L.conv(x, "post_quant_conv", lc, lc, 1);
  let c = ch[levels - 1];
  x = await L.conv(x, "decoder.conv_in", lc, c, 3);
  x = await midBlock(L, x, "decoder.mid_block", c, groups, h, w);
  for (let i = 0; i < levels; i++) {
    const out = ch[levels - 1 - i];
    for (let j = 0; j < cfg.layers_per_block + 1; j++) {
      x = await resnet(L, x, `decoder.up_blocks.${i}.resnets.${j}`, c, out, groups, h, w);
      c = out;
    }
    if (i < levels - 1) {
      const p = `decoder.up_blocks.${i}.upsamplers.0`;
      x = g.op(
        "Resize",
        [x, "", g.constant(new Float32Array([1, 1, 2, 2]))],
        { mode: "nearest" },
        `${p}.interpolate`,
      );
      h *= 2;
      w *= 2;
      x = await L.conv(x, `${p}.conv`, c, c, 3);
    }
  }
  x = await L.groupNorm(x, "decoder.conv_norm_out", c, groups, EPS, h, w);
  x = await L.conv(L.silu(x, "decoder.conv_act"), "decoder.conv_out", c, cfg.out_channels, 3);
  g.output(x, "float32", ["batch", cfg.out_channels, h, w], VAE_IO.image);
  return g.build(17);
}

/**
 * The encoder: `image` `[batch, 3, 8h, 8w]` in [-1, 1] → `latent_mean` `[batch, 4, h, w]` (the
 * distribution's mean, times `scaling_factor` unless `scaled` is false). `height`/`width` are the
 * latent size.
 *
 * @example
 * ```ts ignore
 * import { buildVaeEncoderGraph } from "./vae_graph.ts";
 * const graph = await buildVaeEncoderGraph(ckpt.vae!, ckpt.config.vae, { height: 64, width: 64 });
 * ```
 */
export async function buildVaeEncoderGraph(
  source: TensorSource,
  cfg: VaeConfig,
  options: VaeGraphOptions,
): Promise<OnnxModel> {
  checkSize(options);
  const g = new GraphBuilder(options.name ?? "vae_encoder");
  const L = new LayerBuilder(g, source, "VAE", options.weights ?? "float32");
  const ch = cfg.block_out_channels;
  const levels = ch.length;
  const groups = cfg.norm_num_groups;
  const lc = cfg.latent_channels;
  const scale = 2 ** (levels - 1);
  let h = options.height * scale, w = options.width * scale;
  let x = g.input(VAE_IO.image, "float32", ["batch", cfg.in_channels, h, w]);
  x = await L.conv(x, "encoder.conv_in", cfg.in_channels, ch[0], 3);
  let c = ch[0];
  for (let i = 0; i < levels; i++) {
    for (let j = 0; j < cfg.layers_per_block; j++) {
      x = await resnet(L, x, `encoder.down_blocks.${i}.resnets.${j}`, c, ch[i], groups, h, w);
      c = ch[i];
    }
    if (i < levels - 1) {
      // diffusers pads one zero row and column at the bottom/right, then convolves with stride 2.
      x = await L.conv(x, `encoder.down_blocks.${i}.downsamplers.0.conv`, c, c, 3, {
        stride: 2,
        pads: [0, 0, 1, 1],
      });
      h = Math.floor((h - 2) / 2) + 1;
      w = Math.floor((w - 2) / 2) + 1;
    }
  }
  x = await midBlock(L, x, "encoder.mid_block", c, groups, h, w);
  x = await L.groupNorm(x, "encoder.conv_norm_out", c, groups, EPS, h, w);
  x = await L.conv(L.silu(x, "encoder.conv_act"), "encoder.conv_out", c, 2 * lc, 3);
  x = await L.conv(x, "quant_conv", 2 * lc, 2 * lc, 1);
  let mean = g.op("Slice", [x, g.int64s([0]), g.int64s([lc]), g.int64s([1])], {}, "latent_dist.mean");
  if (options.scaled ?? true) mean = g.op("Mul", [mean, g.scalar(cfg.scaling_factor)], {}, "scaled_mean");
  g.output(mean, "float32", ["batch", lc, h, w], VAE_IO.latentMean);
  return g.build(17);
}
