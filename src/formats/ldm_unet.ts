/**
 * UNet weight names: diffusers ↔ original LDM/SGM (`model.diffusion_model.` keys of single-file
 * checkpoints), as data tables. Both directions come from the same pairs, never from string replacement.
 *
 * @module
 */
import type { UNetConfig } from "../models/config.ts";
import { unetWeights } from "../models/unet_weights.ts";

/** Prefix of UNet keys in single-file checkpoints. */
export const LDM_UNET_PREFIX = "model.diffusion_model.";

/** Modules outside the blocks: diffusers path → LDM path. */
const TOP_MODULES: ReadonlyArray<readonly [string, string]> = [
  ["conv_in", "input_blocks.0.0"],
  ["time_embedding.linear_1", "time_embed.0"],
  ["time_embedding.linear_2", "time_embed.2"],
  ["add_embedding.linear_1", "label_emb.0.0"],
  ["add_embedding.linear_2", "label_emb.0.2"],
  ["conv_norm_out", "out.0"],
  ["conv_out", "out.2"],
];

/** Sub-modules of a ResNet block: diffusers name → LDM name. Attention blocks keep their sub-keys. */
const RESNET_PARTS: ReadonlyArray<readonly [string, string]> = [
  ["norm1", "in_layers.0"],
  ["conv1", "in_layers.2"],
  ["time_emb_proj", "emb_layers.1"],
  ["norm2", "out_layers.0"],
  ["conv2", "out_layers.3"],
  ["conv_shortcut", "skip_connection"],
];

/** A block of the UNet in both namings, and whether it is a ResNet (whose sub-keys differ). */
interface BlockPair {
  diffusers: string;
  ldm: string;
  resnet: boolean;
}

/**
 * The UNet's blocks in both namings, derived from the config by the index formulas of the original code:
 * down level i, layer j ↔ `input_blocks.{i·(n+1)+j+1}`; up level i, layer j ↔ `output_blocks.{i·(n+2)+j}`,
 * where n is `layers_per_block`.
 */
function blockPairs(cfg: UNetConfig): BlockPair[] {
  const n = cfg.layers_per_block;
  const levels = cfg.block_out_channels.length;
  const pairs: BlockPair[] = [];
  for (let i = 0; i < levels; i++) {
    for (let j = 0; j < n; j++) {
      const ldm = `input_blocks.${i * (n + 1) + j + 1}`;
      pairs.push({ diffusers: `down_blocks.${i}.resnets.${j}`, ldm: `${ldm}.0`, resnet: true });
      pairs.push({ diffusers: `down_blocks.${i}.attentions.${j}`, ldm: `${ldm}.1`, resnet: false });
    }
    pairs.push({
      diffusers: `down_blocks.${i}.downsamplers.0.conv`,
      ldm: `input_blocks.${(i + 1) * (n + 1)}.0.op`,
      resnet: false,
    });
  }
  pairs.push({ diffusers: "mid_block.resnets.0", ldm: "middle_block.0", resnet: true });
  pairs.push({ diffusers: "mid_block.attentions.0", ldm: "middle_block.1", resnet: false });
  pairs.push({ diffusers: "mid_block.resnets.1", ldm: "middle_block.2", resnet: true });
  for (let i = 0; i < levels; i++) {
    const hasAttention = cfg.up_block_types[i].startsWith("CrossAttn");
    for (let j = 0; j < n + 1; j++) {
      const ldm = `output_blocks.${i * (n + 1) + j}`;
      pairs.push({ diffusers: `up_blocks.${i}.resnets.${j}`, ldm: `${ldm}.0`, resnet: true });
      pairs.push({ diffusers: `up_blocks.${i}.attentions.${j}`, ldm: `${ldm}.1`, resnet: false });
    }
    pairs.push({
      diffusers: `up_blocks.${i}.upsamplers.0.conv`,
      ldm: `output_blocks.${i * (n + 1) + n}.${hasAttention ? 2 : 1}.conv`,
      resnet: false,
    });
  }
  return pairs;
}

/** Maps one diffusers UNet weight name to its LDM name (without `model.diffusion_model.`). */
function toLdm(name: string, blocks: BlockPair[]): string {
  for (const [d, l] of TOP_MODULES) if (name.startsWith(d + ".")) return l + name.slice(d.length);
  for (const b of blocks) {
    if (!name.startsWith(b.diffusers + ".")) continue;
    let rest = name.slice(b.diffusers.length + 1);
    if (b.resnet) {
      const part = RESNET_PARTS.find(([d]) => rest.startsWith(d + "."));
      if (!part) throw new Error(`no LDM name for UNet weight "${name}"`);
      rest = part[1] + rest.slice(part[0].length);
    }
    return `${b.ldm}.${rest}`;
  }
  throw new Error(`no LDM name for UNet weight "${name}"`);
}

/**
 * Every UNet weight of this config: diffusers name → full single-file key (`model.diffusion_model.…`).
 *
 * @example
 * ```ts
 * import { presetConfig } from "../models/config.ts";
 * import { unetDiffusersToLdm } from "./ldm_unet.ts";
 * unetDiffusersToLdm(presetConfig("sd15").unet).get("up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight");
 * // "model.diffusion_model.output_blocks.3.1.transformer_blocks.0.attn2.to_k.weight"
 * ```
 */
export function unetDiffusersToLdm(cfg: UNetConfig): Map<string, string> {
  const blocks = blockPairs(cfg);
  const map = new Map<string, string>();
  for (const { name } of unetWeights(cfg)) map.set(name, LDM_UNET_PREFIX + toLdm(name, blocks));
  return map;
}

/**
 * The LDM module path (no `model.diffusion_model.` prefix, no `.weight`) of a diffusers UNet module path,
 * e.g. for naming LoRA modules of SDXL the way kohya does.
 *
 * @example
 * ```ts
 * import { presetConfig } from "../models/config.ts";
 * import { unetModuleToLdm } from "./ldm_unet.ts";
 * unetModuleToLdm(presetConfig("sdxl").unet, "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k");
 * // "input_blocks.4.1.transformer_blocks.0.attn2.to_k"
 * ```
 */
export function unetModuleToLdm(cfg: UNetConfig, module: string): string {
  return toLdm(module + ".weight", blockPairs(cfg)).slice(0, -".weight".length);
}
