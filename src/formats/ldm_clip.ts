/**
 * Text-encoder weight names in single-file checkpoints, mapped to transformers' CLIP naming.
 *
 * OpenAI CLIP encoders (SD 1.x, SDXL's first) are stored with transformers names under a prefix.
 * OpenCLIP encoders (SD 2.x, SDXL's second) use OpenCLIP names, a fused `in_proj_weight` (q, k, v
 * row blocks) and a `text_projection` applied as `x @ P` (transformers stores `Pᵀ`).
 *
 * @module
 */
import type { TextEncoderConfig } from "../models/config.ts";
import type { TensorView } from "./view_source.ts";
import { WeightList, type WeightSpec } from "../models/weight_spec.ts";

/** Where each family's text encoders live in a single-file checkpoint, and in which naming. */
export interface SingleFileEncoder {
  /** Key prefix. */
  prefix: string;
  /** `hf`: transformers names after the prefix; `open_clip`: OpenCLIP names. */
  naming: "hf" | "open_clip";
}

/** Single-file text encoder locations per family, in diffusers order. */
export const SINGLE_FILE_ENCODERS: Readonly<Record<"sd15" | "sd21" | "sdxl", SingleFileEncoder[]>> = {
  sd15: [{ prefix: "cond_stage_model.transformer.", naming: "hf" }],
  sd21: [{ prefix: "cond_stage_model.model.", naming: "open_clip" }],
  sdxl: [
    { prefix: "conditioner.embedders.0.transformer.", naming: "hf" },
    { prefix: "conditioner.embedders.1.model.", naming: "open_clip" },
  ],
};

/** Whole-tensor renames: transformers name → OpenCLIP name. */
const RENAMES: ReadonlyArray<readonly [string, string]> = [
  ["text_model.embeddings.token_embedding.weight", "token_embedding.weight"],
  ["text_model.embeddings.position_embedding.weight", "positional_embedding"],
  ["text_model.final_layer_norm.weight", "ln_final.weight"],
  ["text_model.final_layer_norm.bias", "ln_final.bias"],
];

/** Per-layer module renames: transformers → OpenCLIP (`transformer.resblocks.{i}.`). */
const LAYER_PARTS: ReadonlyArray<readonly [string, string]> = [
  ["self_attn.out_proj", "attn.out_proj"],
  ["layer_norm1", "ln_1"],
  ["layer_norm2", "ln_2"],
  ["mlp.fc1", "mlp.c_fc"],
  ["mlp.fc2", "mlp.c_proj"],
];

const QKV = ["q_proj", "k_proj", "v_proj"] as const;

/**
 * transformers-named views of an OpenCLIP text tower stored under `prefix`, for the first
 * `cfg.num_hidden_layers` layers (SD 2.x uses 23 of the 24 stored: it conditions on the penultimate layer).
 *
 * @example
 * ```ts
 * import { presetConfig } from "../models/config.ts";
 * import { openClipViews } from "./ldm_clip.ts";
 * const v = openClipViews(presetConfig("sd21").textEncoders[0], "cond_stage_model.model.");
 * v.get("text_model.encoder.layers.0.self_attn.k_proj.weight");
 * // { from: "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", op: { kind: "rows", start: 1024, count: 1024 } }
 * ```
 */
export function openClipViews(cfg: TextEncoderConfig, prefix: string): Map<string, TensorView> {
  const d = cfg.hidden_size;
  const views = new Map<string, TensorView>();
  for (const [hf, oc] of RENAMES) views.set(hf, { from: prefix + oc, op: { kind: "same" } });
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const hf = `text_model.encoder.layers.${i}.`;
    const oc = `${prefix}transformer.resblocks.${i}.`;
    QKV.forEach((m, k) => {
      for (const [suffix, fused] of [["weight", "in_proj_weight"], ["bias", "in_proj_bias"]]) {
        views.set(`${hf}self_attn.${m}.${suffix}`, {
          from: `${oc}attn.${fused}`,
          op: { kind: "rows", start: k * d, count: d },
        });
      }
    });
    for (const [h, o] of LAYER_PARTS) {
      for (const suffix of ["weight", "bias"]) {
        views.set(`${hf}${h}.${suffix}`, { from: `${oc}${o}.${suffix}`, op: { kind: "same" } });
      }
    }
  }
  if (cfg.projection_dim) {
    views.set("text_projection.weight", { from: `${prefix}text_projection`, op: { kind: "transpose" } });
  }
  return views;
}

/**
 * The tensors an OpenCLIP text tower stores in a single-file checkpoint (names without prefix), for
 * `layers` resblocks. Used to write synthetic single-file SD 2.x / SDXL checkpoints.
 *
 * @example
 * ```ts
 * import { presetConfig } from "../models/config.ts";
 * import { openClipWeights } from "./ldm_clip.ts";
 * openClipWeights(presetConfig("sd21").textEncoders[0], 24)[0]; // token_embedding.weight [49408, 1024]
 * ```
 */
export function openClipWeights(cfg: TextEncoderConfig, layers: number): WeightSpec[] {
  const w = new WeightList();
  const d = cfg.hidden_size;
  w.add("token_embedding.weight", [cfg.vocab_size, d], "embedding");
  w.add("positional_embedding", [cfg.max_position_embeddings, d], "embedding");
  for (let i = 0; i < layers; i++) {
    const p = `transformer.resblocks.${i}`;
    w.add(`${p}.attn.in_proj_weight`, [3 * d, d], "linear");
    w.add(`${p}.attn.in_proj_bias`, [3 * d], "bias");
    w.linear(`${p}.attn.out_proj`, d, d);
    w.norm(`${p}.ln_1`, d);
    w.norm(`${p}.ln_2`, d);
    w.linear(`${p}.mlp.c_fc`, d, cfg.intermediate_size);
    w.linear(`${p}.mlp.c_proj`, cfg.intermediate_size, d);
  }
  w.norm("ln_final", d);
  w.add("text_projection", [d, cfg.projection_dim ?? d], "linear");
  w.add("logit_scale", [], "scalar");
  return w.specs;
}
