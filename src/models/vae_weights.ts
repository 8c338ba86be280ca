/**
 * The weights of diffusers' `AutoencoderKL`, enumerated from its config in module order.
 *
 * @module
 */
import type { VaeConfig } from "./config.ts";
import { WeightList, type WeightSpec } from "./weight_spec.ts";

function resnet(w: WeightList, p: string, inC: number, outC: number): void {
  w.norm(`${p}.norm1`, inC);
  w.conv(`${p}.conv1`, inC, outC, 3);
  w.norm(`${p}.norm2`, outC);
  w.conv(`${p}.conv2`, outC, outC, 3);
  if (inC !== outC) w.conv(`${p}.conv_shortcut`, inC, outC, 1);
}

function midBlock(w: WeightList, p: string, c: number): void {
  resnet(w, `${p}.resnets.0`, c, c);
  w.norm(`${p}.attentions.0.group_norm`, c);
  for (const m of ["to_q", "to_k", "to_v", "to_out.0"]) w.linear(`${p}.attentions.0.${m}`, c, c);
  resnet(w, `${p}.resnets.1`, c, c);
}

/**
 * Every weight of a VAE with this config, with diffusers names and shapes.
 *
 * @example
 * ```ts
 * import { presetConfig } from "./config.ts";
 * import { vaeWeights } from "./vae_weights.ts";
 * vaeWeights(presetConfig("sd15").vae).find((s) => s.name === "decoder.conv_in.weight")?.shape;
 * // [512, 4, 3, 3]
 * ```
 */
export function vaeWeights(cfg: VaeConfig): WeightSpec[] {
  const w = new WeightList();
  const ch = cfg.block_out_channels;
  const levels = ch.length;
  const top = ch[levels - 1];
  w.conv("encoder.conv_in", cfg.in_channels, ch[0], 3);
  let out = ch[0];
  for (let i = 0; i < levels; i++) {
    const inC = out;
    out = ch[i];
    for (let j = 0; j < cfg.layers_per_block; j++) {
      resnet(w, `encoder.down_blocks.${i}.resnets.${j}`, j === 0 ? inC : out, out);
    }
    if (i < levels - 1) w.conv(`encoder.down_blocks.${i}.downsamplers.0.conv`, out, out, 3);
  }
  midBlock(w, "encoder.mid_block", top);
  w.norm("encoder.conv_norm_out", top);
  w.conv("encoder.conv_out", top, 2 * cfg.latent_channels, 3);
  w.conv("decoder.conv_in", cfg.latent_channels, top, 3);
  midBlock(w, "decoder.mid_block", top);
  const rev = [...ch].reverse();
  out = rev[0];
  for (let i = 0; i < levels; i++) {
    const prev = out;
    out = rev[i];
    for (let j = 0; j < cfg.layers_per_block + 1; j++) {
      resnet(w, `decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? prev : out, out);
    }
    if (i < levels - 1) w.conv(`decoder.up_blocks.${i}.upsamplers.0.conv`, out, out, 3);
  }
  w.norm("decoder.conv_norm_out", ch[0]);
  w.conv("decoder.conv_out", ch[0], cfg.out_channels, 3);
  w.conv("quant_conv", 2 * cfg.latent_channels, 2 * cfg.latent_channels, 1);
  w.conv("post_quant_conv", cfg.latent_channels, cfg.latent_channels, 1);
  return w.specs;
}
