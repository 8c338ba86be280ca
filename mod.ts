/**
 * forget: make Stable Diffusion models forget concepts, prove they are gone, and ship the result as a
 * LoRA patch that AUTOMATIC1111, ComfyUI and diffusers load.
 *
 * This entry point re-exports the public surface: checkpoint loading (single-file `.safetensors` and
 * diffusers folders, SD 1.x / 2.x / XL), safetensors reading and writing, family presets, and synthetic
 * checkpoints for tests and benchmarks.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "@forget/forget";
 *
 * const ckpt = await loadCheckpoint("v1-5-pruned-emaonly.safetensors");
 * console.log(ckpt.family, ckpt.crossAttention.length); // "sd15" 16
 * const toK = await ckpt.unet.readFloat32(ckpt.crossAttention[0].toK); // 320 × 768 floats
 * ckpt.close();
 * ```
 *
 * @module
 */
export { type Checkpoint, CheckpointError, loadCheckpoint } from "./src/formats/checkpoint.ts";
export { type CrossAttentionLayer, crossAttentionLayers } from "./src/formats/cross_attention.ts";
export { type CheckpointSummary, formatSummary, summarize } from "./src/formats/summary.ts";
export {
  readHeader,
  SafetensorsError,
  SafetensorsFile,
  type SafetensorsHeader,
  type TensorData,
  type TensorEntry,
  writeSafetensors,
} from "./src/formats/safetensors.ts";
export { openSafetensors, ShardedSafetensors } from "./src/formats/sharded.ts";
export {
  memorySource,
  type MemoryTensor,
  prefixedSource,
  type RawTensor,
  type TensorMeta,
  type TensorSource,
} from "./src/formats/tensor_source.ts";
export { type DType, fromFloat32, toFloat32 } from "./src/formats/dtype.ts";
export { type SynthOptions, writeSyntheticCheckpoint } from "./src/formats/synth.ts";
export {
  FAMILIES,
  type Family,
  type ModelConfig,
  presetConfig,
  type PresetSize,
  type TextEncoderConfig,
  type UNetConfig,
  type VaeConfig,
} from "./src/models/config.ts";
export { randn, Random } from "./src/sample/random.ts";
