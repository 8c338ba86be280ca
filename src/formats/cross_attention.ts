/**
 * The cross-attention (`attn2`) layers of a UNet: the weights every erasure method edits.
 *
 * @module
 */
import { perLevel, type UNetConfig } from "../models/config.ts";

/** One cross-attention layer of the UNet. */
export interface CrossAttentionLayer {
  /** diffusers module path, e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn2`. */
  module: string;
  /** Weight name of `to_k` in the UNet source (diffusers naming). */
  toK: string;
  /** Weight name of `to_v`. */
  toV: string;
  /** Weight name of `to_q`. */
  toQ: string;
  /** Output width (the UNet's channels at that level). */
  channels: number;
  /** Width of the text conditioning. */
  contextDim: number;
  /** Attention heads. */
  heads: number;
}

/**
 * Every cross-attention layer in diffusers module order (down blocks, mid block, up blocks).
 * SD 1.x and 2.x have 16; SDXL has 70.
 *
 * @example
 * ```ts
 * import { presetConfig } from "../models/config.ts";
 * import { crossAttentionLayers } from "./cross_attention.ts";
 * crossAttentionLayers(presetConfig("sdxl").unet).length; // 70
 * ```
 */
export function crossAttentionLayers(cfg: UNetConfig): CrossAttentionLayer[] {
  const layers: CrossAttentionLayer[] = [];
  const ch = cfg.block_out_channels;
  const levels = ch.length;
  const add = (block: string, level: number, channels: number) => {
    const depth = perLevel(cfg.transformer_layers_per_block, level);
    for (let k = 0; k < depth; k++) {
      const module = `${block}.transformer_blocks.${k}.attn2`;
      layers.push({
        module,
        toK: `${module}.to_k.weight`,
        toV: `${module}.to_v.weight`,
        toQ: `${module}.to_q.weight`,
        channels,
        contextDim: cfg.cross_attention_dim,
        heads: perLevel(cfg.attention_head_dim, level),
      });
    }
  };
  for (let i = 0; i < levels; i++) {
    if (!cfg.down_block_types[i].startsWith("CrossAttn")) continue;
    for (let j = 0; j < cfg.layers_per_block; j++) add(`down_blocks.${i}.attentions.${j}`, i, ch[i]);
  }
  add("mid_block.attentions.0", levels - 1, ch[levels - 1]);
  for (let i = 0; i < levels; i++) {
    if (!cfg.up_block_types[i].startsWith("CrossAttn")) continue;
    const level = levels - 1 - i;
    for (let j = 0; j < cfg.layers_per_block + 1; j++) {
      add(`up_blocks.${i}.attentions.${j}`, level, ch[level]);
    }
  }
  return layers;
}
