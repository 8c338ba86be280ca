/**
 * The bridge from a loaded checkpoint (`src/formats/checkpoint.ts`) to the text encoders: encoder
 * configurations in this layer's terms, tokenizers (the checkpoint's own folders when it has them,
 * else the bundled vocabulary configured for the family), and a cache key for its embeddings.
 *
 * @module
 */

import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Checkpoint } from "../formats/checkpoint.ts";
import { checkpointTokenizers } from "../formats/tokenizers.ts";
import type { Family, TextEncoderConfig } from "./config.ts";
import { clipL14, type ClipTextConfig, openClipBigG14, openClipH14 } from "./clip_config.ts";
import type { PromptEncoderModel, PromptTokenizer } from "./encode_prompts.ts";

/**
 * This layer's configuration of encoder `index` from a diffusers-style config. A `ClipTextConfig`
 * describes the whole transformer, so SD 2.x's, which diffusers stores with the 23 layers SD 2.x
 * uses, gets back its 24th (the family convention then runs 23).
 *
 * @example
 * ```ts
 * import { presetConfig } from "./config.ts";
 * import { clipConfigFromDiffusers } from "./checkpoint_encoders.ts";
 * clipConfigFromDiffusers(presetConfig("sd21").textEncoders[0], "sd21", 0).numLayers; // 24
 * ```
 */
export function clipConfigFromDiffusers(
  cfg: TextEncoderConfig,
  family: Family,
  index: number,
): ClipTextConfig {
  const preset = family === "sd21"
    ? openClipH14()
    : family === "sdxl" && index === 1
    ? openClipBigG14()
    : clipL14();
  const same = cfg.hidden_size === preset.hiddenSize && cfg.num_attention_heads === preset.numHeads;
  return {
    ...preset,
    name: same ? preset.name : `${preset.name}-${cfg.hidden_size}w`,
    vocabSize: cfg.vocab_size,
    hiddenSize: cfg.hidden_size,
    intermediateSize: cfg.intermediate_size,
    numLayers: cfg.num_hidden_layers + (family === "sd21" ? 1 : 0),
    numHeads: cfg.num_attention_heads,
    maxPositions: cfg.max_position_embeddings,
    activation: cfg.hidden_act,
    layerNormEps: cfg.layer_norm_eps,
    projectionDim: cfg.projection_dim ?? cfg.hidden_size,
  };
}

/**
 * Path, size and modification time of the files the text encoders come from: the single file, or every
 * file of a diffusers folder's `text_encoder*` subfolders (the folder's own time misses a replaced file).
 */
async function weightsStamp(ckpt: Checkpoint): Promise<string> {
  const st = await stat(ckpt.path);
  const parts = [`${ckpt.path}:${st.size}:${st.mtimeMs}`];
  if (ckpt.storage.kind === "diffusers") {
    for (const sub of ["text_encoder", "text_encoder_2"]) {
      const dir = join(ckpt.path, sub);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const n of names.sort()) {
        const f = await stat(join(dir, n));
        if (f.isFile()) parts.push(`${sub}/${n}:${f.size}:${f.mtimeMs}`);
      }
    }
  }
  return parts.join("|");
}

/** Options of {@link promptEncoderModel}. */
export interface PromptEncoderModelOptions {
  /** Tokenizers to use instead of the checkpoint's folders or the bundled vocabulary. */
  tokenizers?: PromptTokenizer[];
  /**
   * Cache key of the text encoder weights (default: path, size and modification time of the
   * checkpoint — cheap, and it changes whenever the file does).
   */
  hash?: string;
}

/**
 * Text encoders, configurations and tokenizers of a loaded checkpoint, ready for `encodePrompts`.
 * Throws a clear error when the checkpoint lacks an encoder its family needs.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "../formats/checkpoint.ts";
 * import { promptEncoderModel } from "./checkpoint_encoders.ts";
 * import { encodePrompts } from "./encode_prompts.ts";
 * const ckpt = await loadCheckpoint("v1-5-pruned-emaonly.safetensors");
 * const out = await encodePrompts(await promptEncoderModel(ckpt), ["a cat"]);
 * ```
 */
export async function promptEncoderModel(
  ckpt: Checkpoint,
  options: PromptEncoderModelOptions = {},
): Promise<PromptEncoderModel> {
  const needed = ckpt.config.textEncoders.length;
  if (ckpt.textEncoders.length < needed) {
    throw new Error(
      `${ckpt.path}: ${ckpt.family} needs ${needed} text encoder${needed > 1 ? "s" : ""}, ` +
        `the checkpoint holds ${ckpt.textEncoders.length}`,
    );
  }
  const configs = ckpt.config.textEncoders.map((c, i) => clipConfigFromDiffusers(c, ckpt.family, i));
  const tokenizers = options.tokenizers ?? await checkpointTokenizers(ckpt);
  const hash = options.hash ?? await weightsStamp(ckpt);
  return { family: ckpt.family, encoders: ckpt.textEncoders, configs, tokenizers, hash };
}
