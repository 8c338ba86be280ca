/**
 * Seeded random text encoder weights in Hugging Face naming, for benchmarks and tests of full-size
 * graphs without downloading a checkpoint.
 *
 * @module
 */

import { fromFloat32 } from "../formats/dtype.ts";
import { memorySource, type MemoryTensor, type TensorSource } from "../formats/tensor_source.ts";
import type { ClipTextConfig } from "./clip_config.ts";

function filler(seed: number): (out: Float32Array, scale: number, base: number) => void {
  let s = seed >>> 0 || 1;
  return (out, scale, base) => {
    for (let i = 0; i < out.length; i++) {
      // xorshift32; uniform in [-1, 1) scaled — shape of the distribution does not matter here.
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      out[i] = base + scale * ((s >>> 0) / 2 ** 31 - 1);
    }
  };
}

/**
 * A text encoder of `config`'s shape with seeded random weights (layer norms near 1, small
 * projections), including `text_projection.weight`, stored as `dtype`.
 *
 * @example
 * ```ts
 * import { syntheticClipText } from "./clip_synthetic.ts";
 * import { clipL14 } from "./clip_config.ts";
 * const tiny = { ...clipL14(), vocabSize: 100, hiddenSize: 16, intermediateSize: 32, numLayers: 1, numHeads: 2 };
 * syntheticClipText(tiny, 1).names().length; // 21
 * ```
 */
export function syntheticClipText(
  config: ClipTextConfig,
  seed = 1,
  dtype: "F32" | "F16" = "F32",
): TensorSource {
  const fill = filler(seed);
  const d = config.hiddenSize;
  const tensors: Record<string, MemoryTensor> = {};
  const add = (name: string, shape: number[], scale: number, base = 0) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(data, scale, base);
    tensors[name] = dtype === "F32"
      ? { dtype, shape, data }
      : { dtype, shape, data: fromFloat32(dtype, data) };
  };
  add("text_model.embeddings.token_embedding.weight", [config.vocabSize, d], 0.02);
  add("text_model.embeddings.position_embedding.weight", [config.maxPositions, d], 0.01);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `text_model.encoder.layers.${l}`;
    for (const proj of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
      add(`${p}.self_attn.${proj}.weight`, [d, d], 1 / Math.sqrt(d));
      add(`${p}.self_attn.${proj}.bias`, [d], 0.01);
    }
    add(`${p}.layer_norm1.weight`, [d], 0.1, 1);
    add(`${p}.layer_norm1.bias`, [d], 0.1);
    add(`${p}.mlp.fc1.weight`, [config.intermediateSize, d], 1 / Math.sqrt(d));
    add(`${p}.mlp.fc1.bias`, [config.intermediateSize], 0.01);
    add(`${p}.mlp.fc2.weight`, [d, config.intermediateSize], 1 / Math.sqrt(config.intermediateSize));
    add(`${p}.mlp.fc2.bias`, [d], 0.01);
    add(`${p}.layer_norm2.weight`, [d], 0.1, 1);
    add(`${p}.layer_norm2.bias`, [d], 0.1);
  }
  add("text_model.final_layer_norm.weight", [d], 0.1, 1);
  add("text_model.final_layer_norm.bias", [d], 0.1);
  add("text_projection.weight", [config.projectionDim, d], 1 / Math.sqrt(d));
  return memorySource(tensors);
}
