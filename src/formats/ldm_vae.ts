/**
 * VAE weight names: diffusers ↔ original LDM (`first_stage_model.` keys), as data tables. The LDM
 * mid-block attention stores its projections as 1×1 convolutions where diffusers has linear layers.
 *
 * @module
 */
import type { VaeConfig } from "../models/config.ts";
import { vaeWeights } from "../models/vae_weights.ts";

/** Prefix of VAE keys in single-file checkpoints. */
export const LDM_VAE_PREFIX = "first_stage_model.";

/** Sub-modules renamed inside ResNet blocks: diffusers → LDM. */
const RESNET_PARTS: ReadonlyArray<readonly [string, string]> = [["conv_shortcut", "nin_shortcut"]];

/** Sub-modules of the mid-block attention: diffusers → LDM. */
const ATTENTION_PARTS: ReadonlyArray<readonly [string, string]> = [
  ["group_norm", "norm"],
  ["to_q", "q"],
  ["to_k", "k"],
  ["to_v", "v"],
  ["to_out.0", "proj_out"],
];

/** Modules renamed as a whole, per side (`encoder` / `decoder`): diffusers → LDM. */
const SIDE_MODULES: ReadonlyArray<readonly [string, string]> = [
  ["conv_norm_out", "norm_out"],
  ["mid_block.resnets.0", "mid.block_1"],
  ["mid_block.resnets.1", "mid.block_2"],
  ["mid_block.attentions.0", "mid.attn_1"],
];

/** One VAE weight in LDM naming, and whether its LDM tensor is a 1×1 convolution diffusers flattens. */
export interface LdmVaeKey {
  /** Full single-file key (`first_stage_model.…`). */
  key: string;
  /** The LDM tensor is `[C, C, 1, 1]` where diffusers has `[C, C]`. */
  conv1x1: boolean;
}

function mapPart(rest: string, parts: ReadonlyArray<readonly [string, string]>): string {
  const p = parts.find(([d]) => rest.startsWith(d + "."));
  return p ? p[1] + rest.slice(p[0].length) : rest;
}

function toLdm(name: string, levels: number): LdmVaeKey {
  const m = name.match(/^(encoder|decoder)\.(.*)$/);
  if (!m) return { key: name, conv1x1: false }; // quant_conv, post_quant_conv
  const [, side, rest] = m;
  for (const [d, l] of SIDE_MODULES) {
    if (!rest.startsWith(d + ".")) continue;
    const tail = rest.slice(d.length + 1);
    if (d === "mid_block.attentions.0") {
      const mapped = mapPart(tail, ATTENTION_PARTS);
      return {
        key: `${side}.${l}.${mapped}`,
        conv1x1: !mapped.startsWith("norm.") && mapped.endsWith(".weight"),
      };
    }
    return { key: `${side}.${l}.${mapPart(tail, RESNET_PARTS)}`, conv1x1: false };
  }
  let b = rest.match(/^down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$/);
  if (b) return { key: `${side}.down.${b[1]}.block.${b[2]}.${mapPart(b[3], RESNET_PARTS)}`, conv1x1: false };
  b = rest.match(/^down_blocks\.(\d+)\.downsamplers\.0\.(.*)$/);
  if (b) return { key: `${side}.down.${b[1]}.downsample.${b[2]}`, conv1x1: false };
  // Decoder levels run the other way in LDM: up_blocks.0 (lowest resolution) is up.{levels-1}.
  b = rest.match(/^up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$/);
  if (b) {
    return {
      key: `${side}.up.${levels - 1 - Number(b[1])}.block.${b[2]}.${mapPart(b[3], RESNET_PARTS)}`,
      conv1x1: false,
    };
  }
  b = rest.match(/^up_blocks\.(\d+)\.upsamplers\.0\.(.*)$/);
  if (b) return { key: `${side}.up.${levels - 1 - Number(b[1])}.upsample.${b[2]}`, conv1x1: false };
  return { key: name, conv1x1: false }; // conv_in, conv_out keep their names
}

/**
 * Every VAE weight of this config: diffusers name → LDM key (with `first_stage_model.`).
 *
 * @example
 * ```ts
 * import { presetConfig } from "../models/config.ts";
 * import { vaeDiffusersToLdm } from "./ldm_vae.ts";
 * vaeDiffusersToLdm(presetConfig("sd15").vae).get("decoder.up_blocks.0.resnets.0.conv1.weight")?.key;
 * // "first_stage_model.decoder.up.3.block.0.conv1.weight"
 * ```
 */
export function vaeDiffusersToLdm(cfg: VaeConfig): Map<string, LdmVaeKey> {
  const levels = cfg.block_out_channels.length;
  const map = new Map<string, LdmVaeKey>();
  for (const { name } of vaeWeights(cfg)) {
    const k = toLdm(name, levels);
    map.set(name, { key: LDM_VAE_PREFIX + k.key, conv1x1: k.conv1x1 });
  }
  return map;
}
