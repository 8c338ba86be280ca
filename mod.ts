/**
 * forget: make Stable Diffusion models forget concepts, prove they are gone, and ship the result as a
 * LoRA patch that AUTOMATIC1111, ComfyUI and diffusers load.
 *
 * This entry point re-exports the public surface: the fluent API (`loadModel`, `model.forget(…)`), the
 * erasure methods, patches, checkpoint loading (single-file `.safetensors` and diffusers folders, SD 1.x /
 * 2.x / XL), the CLIP tokenizer and text encoders, schedulers, images, and (as `kernels`) the compute layer.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "@forget/forget";
 *
 * const model = await loadModel("v1-5-pruned-emaonly.safetensors");
 * await model.forget("zebra").forget("Van Gogh", { kind: "style" }).savePatch("patch.safetensors");
 * model.close();
 * ```
 *
 * @module
 */
export { loadModel, type LoadModelOptions, Model } from "./src/api/model.ts";
export {
  ErasurePlan,
  type ErasureResult,
  type ForgetOptions,
  resolveSettings,
  type SavePatchOptions,
} from "./src/api/plan.ts";
export { type BackendChoices, parseBackends } from "./src/api/backends.ts";
export {
  type AdversarialRecord,
  closedFormErase,
  type ClosedFormModel,
  type ClosedFormOptions,
  type ClosedFormReport,
  type ClosedFormResult,
  type LayerResidual,
} from "./src/methods/closed_form/erase.ts";
export {
  type ClosedFormSettings,
  type ConceptKind,
  defaultSettings,
} from "./src/methods/closed_form/defaults.ts";
export { closedFormModel } from "./src/methods/closed_form/checkpoint_model.ts";
export { GramCache } from "./src/methods/closed_form/gram_cache.ts";
export {
  composeEdits,
  denseDelta,
  type Edit,
  type EditProvenance,
  type LowRankDelta,
} from "./src/patch/edit.ts";
export { readLoraPatch, type WriteLoraOptions, writeLoraPatch } from "./src/patch/lora_file.ts";
export { applyEdit, writeMergedCheckpoint } from "./src/patch/merge.ts";
export { crossAttentionHash } from "./src/formats/hash.ts";
export { checkpointTokenizers } from "./src/formats/tokenizers.ts";
export { encodePromptPrefixes, encodePrompts } from "./src/models/encode_prompts.ts";
export type { PromptPrefix, PromptPrefixes } from "./src/models/encode_prompts.ts";
export { promptEncoderModel } from "./src/models/checkpoint_encoders.ts";
export type { TextEmbeddings } from "./src/models/text_encoders.ts";
export {
  type AttentionEvidence,
  type AttentionRequest,
  generatedGrid,
  type GeneratedImage,
  generateImages,
  type GenerateOptions,
} from "./src/sample/generate.ts";
export { createUNetRunner, type PatchWeights, UNetRunner } from "./src/models/unet_runner.ts";
export { decodeLatents, encodeImages } from "./src/models/vae_runner.ts";
export { buildUNetGraph } from "./src/models/unet_graph.ts";
export { buildVaeDecoderGraph, buildVaeEncoderGraph } from "./src/models/vae_graph.ts";
export { loadPatchWeights } from "./src/sample/patch_weights.ts";
export { FMN_DEFAULTS, fmnErase, type FmnReport, type FmnSettings } from "./src/methods/fmn/fmn.ts";
export { Judge, type JudgeVerdict } from "./src/eval/judge.ts";
export { type BenchManifest, readManifest } from "./src/eval/manifest.ts";
export { detectionRates } from "./src/eval/detection.ts";
export { compareVariants, comparisonGrid } from "./src/eval/compare.ts";
export { formatComparison, writeHtmlReport } from "./src/eval/report.ts";
export * from "./src/tokenizer/mod.ts";
export * from "./src/sample/mod.ts";
export * from "./src/image/mod.ts";
export * as kernels from "./kernels/mod.ts";
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
