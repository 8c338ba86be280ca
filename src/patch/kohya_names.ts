/**
 * LoRA module names as kohya's sd-scripts writes them, which AUTOMATIC1111, ComfyUI and diffusers all load:
 * SD 1.x/2.x modules by diffusers path (`lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k`),
 * SDXL modules by LDM/SGM path (`lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k`).
 *
 * @module
 */
import type { Family, UNetConfig } from "../models/config.ts";
import { unetWeights } from "../models/unet_weights.ts";
import { unetModuleToLdm } from "../formats/ldm_unet.ts";

/** Prefix of UNet modules in kohya LoRA files. */
export const KOHYA_UNET_PREFIX = "lora_unet_";

/**
 * The kohya LoRA name of a UNet module (diffusers path, no `.weight`).
 *
 * @example
 * ```ts
 * import { presetConfig } from "../models/config.ts";
 * import { kohyaName } from "./kohya_names.ts";
 * kohyaName("sd15", presetConfig("sd15").unet, "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k");
 * // "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
 * ```
 */
export function kohyaName(family: Family, cfg: UNetConfig, module: string): string {
  const path = family === "sdxl" ? unetModuleToLdm(cfg, module) : module;
  return KOHYA_UNET_PREFIX + path.replaceAll(".", "_");
}

/**
 * Every UNet linear or convolution module under both kohya spellings (diffusers path and LDM path), mapped
 * to its diffusers path, so patches written by other tools in either style can be read.
 *
 * @example
 * ```ts
 * import { presetConfig } from "../models/config.ts";
 * import { kohyaLookup } from "./kohya_names.ts";
 * kohyaLookup(presetConfig("sd15").unet).get("lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k");
 * // "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"
 * ```
 */
export function kohyaLookup(cfg: UNetConfig): Map<string, string> {
  const map = new Map<string, string>();
  for (const s of unetWeights(cfg)) {
    if ((s.kind !== "linear" && s.kind !== "conv") || !s.name.endsWith(".weight")) continue;
    const module = s.name.slice(0, -".weight".length);
    map.set(KOHYA_UNET_PREFIX + module.replaceAll(".", "_"), module);
    map.set(KOHYA_UNET_PREFIX + unetModuleToLdm(cfg, module).replaceAll(".", "_"), module);
  }
  return map;
}
