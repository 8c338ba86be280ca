/**
 * Configurations of the CLIP text transformers Stable Diffusion uses, as presets per family
 * (tiny test configurations derive from them by spreading and overriding).
 *
 * @module
 */

/** Activation of the MLP blocks. */
export type ClipActivation = "quick_gelu" | "gelu";

/** Shape and conventions of one CLIP text transformer. */
export interface ClipTextConfig {
  /** Preset name, for messages and cache keys. */
  name: string;
  /** Token vocabulary size. */
  vocabSize: number;
  /** Width of the residual stream. */
  hiddenSize: number;
  /** Width of the MLP. */
  intermediateSize: number;
  /** Number of transformer layers of the full model. */
  numLayers: number;
  /** Attention heads per layer. */
  numHeads: number;
  /** Sequence length (positions). */
  maxPositions: number;
  /** MLP activation: OpenAI CLIP uses quick-GELU, OpenCLIP exact (erf) GELU. */
  activation: ClipActivation;
  /** Epsilon of every layer norm. */
  layerNormEps: number;
  /** Width of the pooled projection (`text_projection`), when the model has one. */
  projectionDim: number;
  /** End-of-text id; the pooled output is taken at its first occurrence. */
  eosTokenId: number;
}

/**
 * OpenAI CLIP ViT-L/14 text transformer (SD 1.x, SDXL's first encoder).
 *
 * @example
 * ```ts
 * import { clipL14 } from "./clip_config.ts";
 * const tiny = { ...clipL14(), hiddenSize: 32, numHeads: 4, numLayers: 2, intermediateSize: 64 };
 * ```
 */
export function clipL14(): ClipTextConfig {
  return {
    name: "clip-vit-l-14",
    vocabSize: 49408,
    hiddenSize: 768,
    intermediateSize: 3072,
    numLayers: 12,
    numHeads: 12,
    maxPositions: 77,
    activation: "quick_gelu",
    layerNormEps: 1e-5,
    projectionDim: 768,
    eosTokenId: 49407,
  };
}

/**
 * OpenCLIP ViT-H/14 text transformer (SD 2.x). The full model has 24 layers; SD 2.x conditions on
 * the output of the 23rd followed by the final layer norm.
 *
 * @example
 * ```ts
 * import { openClipH14 } from "./clip_config.ts";
 * openClipH14().hiddenSize; // 1024
 * ```
 */
export function openClipH14(): ClipTextConfig {
  return {
    name: "openclip-vit-h-14",
    vocabSize: 49408,
    hiddenSize: 1024,
    intermediateSize: 4096,
    numLayers: 24,
    numHeads: 16,
    maxPositions: 77,
    activation: "gelu",
    layerNormEps: 1e-5,
    projectionDim: 1024,
    eosTokenId: 49407,
  };
}

/**
 * OpenCLIP ViT-bigG/14 text transformer (SDXL's second encoder, with its 1280-wide projection).
 *
 * @example
 * ```ts
 * import { openClipBigG14 } from "./clip_config.ts";
 * openClipBigG14().numLayers; // 32
 * ```
 */
export function openClipBigG14(): ClipTextConfig {
  return {
    name: "openclip-vit-bigg-14",
    vocabSize: 49408,
    hiddenSize: 1280,
    intermediateSize: 5120,
    numLayers: 32,
    numHeads: 20,
    maxPositions: 77,
    activation: "gelu",
    layerNormEps: 1e-5,
    projectionDim: 1280,
    eosTokenId: 49407,
  };
}

/** Multiply-adds ×2 of one forward pass over `tokens` positions through `layers` layers. */
export function clipTextFlops(config: ClipTextConfig, layers: number, batch: number): number {
  const d = config.hiddenSize;
  const s = config.maxPositions;
  const t = batch * s;
  const linear = 2 * t * (4 * d * d + 2 * d * config.intermediateSize);
  const attention = 2 * 2 * batch * s * s * d;
  return layers * (linear + attention);
}
