/**
 * Architecture configurations of the Stable Diffusion families, as presets (candle style).
 *
 * Field names follow the diffusers `config.json` files, so a diffusers folder's configs read straight
 * into these types. `tiny` presets keep every module (and so every checkpoint key) of the full model
 * but shrink widths, for tests that build a checkpoint in milliseconds.
 *
 * @module
 */

/** A Stable Diffusion family: SD 1.x, SD 2.x, or SDXL base. */
export type Family = "sd15" | "sd21" | "sdxl";

/** Every family, in release order. */
export const FAMILIES: readonly Family[] = ["sd15", "sd21", "sdxl"];

/** Human-readable family names. */
export const FAMILY_NAMES: Readonly<Record<Family, string>> = {
  sd15: "Stable Diffusion 1.x",
  sd21: "Stable Diffusion 2.x",
  sdxl: "Stable Diffusion XL",
};

/** The subset of diffusers' `UNet2DConditionModel` config that fixes the weights' names and shapes. */
export interface UNetConfig {
  /** Latent channels in (9 for inpainting models). */
  in_channels: number;
  /** Latent channels out. */
  out_channels: number;
  /** Channels of each resolution level. */
  block_out_channels: number[];
  /** ResNets per down block (up blocks have one more). */
  layers_per_block: number;
  /** Block kinds, e.g. `CrossAttnDownBlock2D`, `DownBlock2D`. */
  down_block_types: string[];
  /** Block kinds, e.g. `UpBlock2D`, `CrossAttnUpBlock2D`. */
  up_block_types: string[];
  /** Width of the text conditioning (768, 1024, 2048). */
  cross_attention_dim: number;
  /** diffusers' name for the number of attention heads per level (a historical misnomer). */
  attention_head_dim: number | number[];
  /** Transformer blocks per attention module, per down level (SDXL: [1, 2, 10]). */
  transformer_layers_per_block: number | number[];
  /** Linear (true) or 1×1-convolution (false) `proj_in` / `proj_out`. */
  use_linear_projection: boolean;
  /** GroupNorm groups. */
  norm_num_groups: number;
  /** SDXL: `"text_time"` adds `add_embedding` for pooled text and size conditioning. */
  addition_embed_type?: string | null;
  /** SDXL: width of the time-id embedding. */
  addition_time_embed_dim?: number | null;
  /** SDXL: input width of `add_embedding` (pooled text + 6 time ids × 256 = 2816). */
  projection_class_embeddings_input_dim?: number | null;
  /** Sample size in latent pixels (64 for 512-pixel models, 96 for 768, 128 for SDXL). */
  sample_size: number;
}

/** The subset of diffusers' `AutoencoderKL` config that fixes the weights. */
export interface VaeConfig {
  /** Image channels. */
  in_channels: number;
  /** Image channels out. */
  out_channels: number;
  /** Latent channels. */
  latent_channels: number;
  /** Channels per level. */
  block_out_channels: number[];
  /** Encoder block kinds (`DownEncoderBlock2D`), one per level. */
  down_block_types: string[];
  /** Decoder block kinds (`UpDecoderBlock2D`), one per level. */
  up_block_types: string[];
  /** ResNets per encoder level (decoder levels have one more). */
  layers_per_block: number;
  /** GroupNorm groups. */
  norm_num_groups: number;
  /** Latent scale: 0.18215 for SD 1/2, 0.13025 for SDXL. */
  scaling_factor: number;
  /** Image size in pixels. */
  sample_size: number;
}

/** The subset of transformers' `CLIPTextConfig` that fixes the weights, plus the projection width. */
export interface TextEncoderConfig {
  /** Vocabulary size (49408). */
  vocab_size: number;
  /** Width. */
  hidden_size: number;
  /** MLP width. */
  intermediate_size: number;
  /** Transformer layers as stored in diffusers (SD2: 23, one fewer than the single-file 24). */
  num_hidden_layers: number;
  /** Attention heads. */
  num_attention_heads: number;
  /** Context length (77). */
  max_position_embeddings: number;
  /** `quick_gelu` (OpenAI CLIP) or `gelu` (OpenCLIP). */
  hidden_act: "quick_gelu" | "gelu";
  /** Present for `CLIPTextModelWithProjection` (SDXL's second encoder): output width. */
  projection_dim?: number;
  /** LayerNorm epsilon. */
  layer_norm_eps: number;
}

/** The whole architecture of one family at one size. */
export interface ModelConfig {
  /** Family. */
  family: Family;
  /** UNet. */
  unet: UNetConfig;
  /** VAE. */
  vae: VaeConfig;
  /** Text encoders in diffusers order (`text_encoder`, then `text_encoder_2`). */
  textEncoders: TextEncoderConfig[];
}

/** Preset sizes: `full` has the real shapes; `tiny` keeps every key with small widths. */
export type PresetSize = "full" | "tiny";

const clipL: TextEncoderConfig = {
  vocab_size: 49408,
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  max_position_embeddings: 77,
  hidden_act: "quick_gelu",
  layer_norm_eps: 1e-5,
};
const openClipH: TextEncoderConfig = {
  ...clipL,
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 23,
  num_attention_heads: 16,
  hidden_act: "gelu",
};
const openClipBigG: TextEncoderConfig = {
  ...clipL,
  hidden_size: 1280,
  intermediate_size: 5120,
  num_hidden_layers: 32,
  num_attention_heads: 20,
  hidden_act: "gelu",
  projection_dim: 1280,
};

const vaeSd: VaeConfig = {
  in_channels: 3,
  out_channels: 3,
  latent_channels: 4,
  block_out_channels: [128, 256, 512, 512],
  down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
  up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
  layers_per_block: 2,
  norm_num_groups: 32,
  scaling_factor: 0.18215,
  sample_size: 512,
};

const sd1Unet: UNetConfig = {
  in_channels: 4,
  out_channels: 4,
  block_out_channels: [320, 640, 1280, 1280],
  layers_per_block: 2,
  down_block_types: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
  up_block_types: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
  cross_attention_dim: 768,
  attention_head_dim: 8,
  transformer_layers_per_block: 1,
  use_linear_projection: false,
  norm_num_groups: 32,
  sample_size: 64,
};

const FULL: Readonly<Record<Family, ModelConfig>> = {
  sd15: { family: "sd15", unet: sd1Unet, vae: vaeSd, textEncoders: [clipL] },
  sd21: {
    family: "sd21",
    unet: {
      ...sd1Unet,
      cross_attention_dim: 1024,
      attention_head_dim: [5, 10, 20, 20],
      use_linear_projection: true,
      sample_size: 96,
    },
    vae: { ...vaeSd, sample_size: 768 },
    textEncoders: [openClipH],
  },
  sdxl: {
    family: "sdxl",
    unet: {
      in_channels: 4,
      out_channels: 4,
      block_out_channels: [320, 640, 1280],
      layers_per_block: 2,
      down_block_types: ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
      up_block_types: ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
      cross_attention_dim: 2048,
      attention_head_dim: [5, 10, 20],
      transformer_layers_per_block: [1, 2, 10],
      use_linear_projection: true,
      norm_num_groups: 32,
      addition_embed_type: "text_time",
      addition_time_embed_dim: 256,
      projection_class_embeddings_input_dim: 2816,
      sample_size: 128,
    },
    vae: { ...vaeSd, scaling_factor: 0.13025, sample_size: 1024 },
    textEncoders: [clipL, openClipBigG],
  },
};

/** Shrinks a text encoder to test size, keeping its layer count (and so its keys). */
function tinyText(c: TextEncoderConfig, hidden: number): TextEncoderConfig {
  return {
    ...c,
    vocab_size: 49408, // ids from the real tokenizer must stay valid
    hidden_size: hidden,
    intermediate_size: hidden * 4,
    num_attention_heads: 2,
    ...(c.projection_dim ? { projection_dim: hidden } : {}),
  };
}

function tiny(full: ModelConfig): ModelConfig {
  // Widths shrink by a constant factor, so every channel change (and its conv_shortcut) survives.
  const widths = full.unet.block_out_channels.map((c) => c / 40);
  const textWidths = full.family === "sdxl" ? [16, 24] : [full.family === "sd15" ? 16 : 24];
  const encoders = full.textEncoders.map((c, i) => tinyText(c, textWidths[i]));
  const context = encoders.reduce((s, c) => s + c.hidden_size, 0);
  return {
    family: full.family,
    unet: {
      ...full.unet,
      block_out_channels: widths,
      cross_attention_dim: context,
      attention_head_dim: 2,
      norm_num_groups: 4,
      ...(full.unet.projection_class_embeddings_input_dim
        ? {
          addition_time_embed_dim: 4,
          projection_class_embeddings_input_dim: encoders[encoders.length - 1].projection_dim! + 6 * 4,
        }
        : {}),
      sample_size: 8,
    },
    vae: {
      ...full.vae,
      block_out_channels: full.vae.block_out_channels.map((c) => c / 32),
      norm_num_groups: 4,
      sample_size: 64,
    },
    textEncoders: encoders,
  };
}

/**
 * The architecture of a family at a preset size.
 *
 * @example
 * ```ts
 * import { presetConfig } from "./config.ts";
 * presetConfig("sdxl").unet.cross_attention_dim; // 2048
 * presetConfig("sd15", "tiny").unet.block_out_channels; // [8, 16, 32, 32]
 * ```
 */
export function presetConfig(family: Family, size: PresetSize = "full"): ModelConfig {
  const full = FULL[family];
  if (!full) throw new Error(`unknown model family "${family}" (expected one of ${FAMILIES.join(", ")})`);
  return structuredClone(size === "tiny" ? tiny(full) : full);
}

/** Per-level value of a config field that diffusers allows as a number or a list. */
export function perLevel(v: number | number[], level: number): number {
  return Array.isArray(v) ? v[level] : v;
}

/**
 * How many image pixels one latent pixel covers per side: 2^(VAE levels − 1) (8 for Stable Diffusion; 4 for
 * the toy world's three-level VAE).
 *
 * @example
 * ```ts
 * import { presetConfig, vaeScaleFactor } from "./config.ts";
 * vaeScaleFactor(presetConfig("sd15").vae); // 8
 * ```
 */
export function vaeScaleFactor(vae: VaeConfig): number {
  return 2 ** (vae.block_out_channels.length - 1);
}
