/**
 * The weights of transformers' `CLIPTextModel` / `CLIPTextModelWithProjection`, from the config.
 *
 * @module
 */
import type { TextEncoderConfig } from "./config.ts";
import { WeightList, type WeightSpec } from "./weight_spec.ts";

/**
 * Every weight of a CLIP text encoder with this config, with transformers names and shapes.
 * A config with `projection_dim` adds `text_projection.weight` (CLIPTextModelWithProjection).
 *
 * @example
 * ```ts
 * import { presetConfig } from "./config.ts";
 * import { clipTextWeights } from "./clip_weights.ts";
 * clipTextWeights(presetConfig("sd15").textEncoders[0]).length; // 196
 * ```
 */
export function clipTextWeights(cfg: TextEncoderConfig): WeightSpec[] {
  const w = new WeightList();
  const d = cfg.hidden_size;
  w.add("text_model.embeddings.token_embedding.weight", [cfg.vocab_size, d], "embedding");
  w.add("text_model.embeddings.position_embedding.weight", [cfg.max_position_embeddings, d], "embedding");
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `text_model.encoder.layers.${i}`;
    for (const m of ["k_proj", "v_proj", "q_proj", "out_proj"]) w.linear(`${p}.self_attn.${m}`, d, d);
    w.norm(`${p}.layer_norm1`, d);
    w.linear(`${p}.mlp.fc1`, d, cfg.intermediate_size);
    w.linear(`${p}.mlp.fc2`, cfg.intermediate_size, d);
    w.norm(`${p}.layer_norm2`, d);
  }
  w.norm("text_model.final_layer_norm", d);
  if (cfg.projection_dim) w.linear("text_projection", d, cfg.projection_dim, false);
  return w.specs;
}
