/**
 * The weights of diffusers' `UNet2DConditionModel`, enumerated from its config in module order.
 * The structure mirrors the checkpoint's key paths (`down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k`).
 *
 * @module
 */
import { perLevel, type UNetConfig } from "./config.ts";
import { WeightList, type WeightSpec } from "./weight_spec.ts";

function resnet(w: WeightList, p: string, inC: number, outC: number, temb: number): void {
  w.norm(`${p}.norm1`, inC);
  w.conv(`${p}.conv1`, inC, outC, 3);
  w.linear(`${p}.time_emb_proj`, temb, outC);
  w.norm(`${p}.norm2`, outC);
  w.conv(`${p}.conv2`, outC, outC, 3);
  if (inC !== outC) w.conv(`${p}.conv_shortcut`, inC, outC, 1);
}

function transformer(w: WeightList, p: string, c: number, depth: number, cfg: UNetConfig): void {
  w.norm(`${p}.norm`, c);
  const proj = (name: string) =>
    cfg.use_linear_projection ? w.linear(`${p}.${name}`, c, c) : w.conv(`${p}.${name}`, c, c, 1);
  proj("proj_in");
  for (let k = 0; k < depth; k++) {
    const b = `${p}.transformer_blocks.${k}`;
    w.norm(`${b}.norm1`, c);
    for (const attn of ["attn1", "attn2"]) {
      const ctx = attn === "attn1" ? c : cfg.cross_attention_dim;
      w.linear(`${b}.${attn}.to_q`, c, c, false);
      w.linear(`${b}.${attn}.to_k`, ctx, c, false);
      w.linear(`${b}.${attn}.to_v`, ctx, c, false);
      w.linear(`${b}.${attn}.to_out.0`, c, c);
      if (attn === "attn1") w.norm(`${b}.norm2`, c);
    }
    w.norm(`${b}.norm3`, c);
    w.linear(`${b}.ff.net.0.proj`, c, 8 * c); // GEGLU: value and gate, 4c each
    w.linear(`${b}.ff.net.2`, 4 * c, c);
  }
  proj("proj_out");
}

/**
 * Every weight of a UNet with this config, with diffusers names and shapes.
 *
 * @example
 * ```ts
 * import { presetConfig } from "./config.ts";
 * import { unetWeights } from "./unet_weights.ts";
 * const specs = unetWeights(presetConfig("sd15").unet);
 * specs.find((s) => s.name === "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight")?.shape;
 * // [320, 768]
 * ```
 */
export function unetWeights(cfg: UNetConfig): WeightSpec[] {
  const w = new WeightList();
  const ch = cfg.block_out_channels;
  const temb = ch[0] * 4;
  const levels = ch.length;
  w.conv("conv_in", cfg.in_channels, ch[0], 3);
  w.linear("time_embedding.linear_1", ch[0], temb);
  w.linear("time_embedding.linear_2", temb, temb);
  if (cfg.addition_embed_type === "text_time") {
    w.linear("add_embedding.linear_1", cfg.projection_class_embeddings_input_dim!, temb);
    w.linear("add_embedding.linear_2", temb, temb);
  }
  let out = ch[0];
  for (let i = 0; i < levels; i++) {
    const inC = out;
    out = ch[i];
    const attn = cfg.down_block_types[i].startsWith("CrossAttn");
    const depth = perLevel(cfg.transformer_layers_per_block, i);
    for (let j = 0; j < cfg.layers_per_block; j++) {
      resnet(w, `down_blocks.${i}.resnets.${j}`, j === 0 ? inC : out, out, temb);
      if (attn) transformer(w, `down_blocks.${i}.attentions.${j}`, out, depth, cfg);
    }
    if (i < levels - 1) w.conv(`down_blocks.${i}.downsamplers.0.conv`, out, out, 3);
  }
  const mid = ch[levels - 1];
  resnet(w, "mid_block.resnets.0", mid, mid, temb);
  transformer(w, "mid_block.attentions.0", mid, perLevel(cfg.transformer_layers_per_block, levels - 1), cfg);
  resnet(w, "mid_block.resnets.1", mid, mid, temb);
  const rev = [...ch].reverse();
  out = rev[0];
  for (let i = 0; i < levels; i++) {
    const prev = out;
    out = rev[i];
    const skipIn = rev[Math.min(i + 1, levels - 1)];
    const attn = cfg.up_block_types[i].startsWith("CrossAttn");
    const depth = perLevel(cfg.transformer_layers_per_block, levels - 1 - i);
    const n = cfg.layers_per_block + 1;
    for (let j = 0; j < n; j++) {
      const skip = j === n - 1 ? skipIn : out;
      const resIn = j === 0 ? prev : out;
      resnet(w, `up_blocks.${i}.resnets.${j}`, resIn + skip, out, temb);
      if (attn) transformer(w, `up_blocks.${i}.attentions.${j}`, out, depth, cfg);
    }
    if (i < levels - 1) w.conv(`up_blocks.${i}.upsamplers.0.conv`, out, out, 3);
  }
  w.norm("conv_norm_out", ch[0]);
  w.conv("conv_out", ch[0], cfg.out_channels, 3);
  return w.specs;
}
