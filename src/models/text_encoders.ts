/**
 * The text encoders of each Stable Diffusion family, run on ONNX Runtime from a checkpoint's
 * weights, with the family's conditioning convention:
 *
 * - `sd15`: CLIP ViT-L/14, last layer + final layer norm → `[n, 77, 768]`.
 * - `sd21`: OpenCLIP ViT-H/14, penultimate layer + final layer norm → `[n, 77, 1024]` (a diffusers
 *   folder already drops the last layer; a single-file checkpoint holds all 24 — both work).
 * - `sdxl`: CLIP ViT-L/14 and OpenCLIP ViT-bigG/14, penultimate layers without the final norm,
 *   concatenated → `[n, 77, 2048]`, plus the second encoder's pooled projection `[n, 1280]`.
 *
 * @module
 */

import type { TensorSource } from "../formats/tensor_source.ts";
import {
  loadDeferredInitializers,
  type SerializedModel,
  serializeModel,
  tensorByteLength,
} from "../runtime/onnx_model.ts";
import { type BackendName, DEFAULT_BACKEND, WASM_MEMORY_BUDGET_BYTES } from "../runtime/session.ts";
import type { ModelDiskCache } from "../runtime/model_disk_cache.ts";
import { type BuildTarget, cachedSession, type SessionTiming } from "../runtime/session_cache.ts";
import { clipL14, type ClipTextConfig, openClipBigG14, openClipH14 } from "./clip_config.ts";
import type { Family } from "./config.ts";
import {
  buildClipTextGraph,
  CLIP_GRAPH_VERSION,
  CLIP_TEXT_IO,
  type ClipTextGraphOptions,
} from "./clip_text_graph.ts";
import { smallTensorFingerprint } from "./weights_fingerprint.ts";

/** One encoder's configuration and how its output is taken. */
export interface EncoderPlan {
  /** Transformer configuration. */
  config: ClipTextConfig;
  /** Graph options: layers to run, which layer's output, final norm, pooled. */
  graph: ClipTextGraphOptions;
}

/**
 * The encoders a family uses and their output conventions. `configs` overrides the presets (tiny
 * test models); each family's convention is kept relative to the configuration's layer count.
 *
 * @example
 * ```ts
 * import { familyEncoderPlans } from "./text_encoders.ts";
 * familyEncoderPlans("sdxl").length; // 2
 * ```
 */
export function familyEncoderPlans(family: Family, configs?: ClipTextConfig[]): EncoderPlan[] {
  const pick = (i: number, preset: () => ClipTextConfig) => configs?.[i] ?? preset();
  switch (family) {
    case "sd15": {
      const c = pick(0, clipL14);
      return [{ config: c, graph: { layers: c.numLayers, finalNorm: true } }];
    }
    case "sd21": {
      const c = pick(0, openClipH14);
      return [{ config: c, graph: { layers: c.numLayers - 1, finalNorm: true } }];
    }
    case "sdxl": {
      const c1 = pick(0, clipL14);
      const c2 = pick(1, openClipBigG14);
      return [
        { config: c1, graph: { layers: c1.numLayers - 1, finalNorm: false } },
        {
          config: c2,
          graph: { layers: c2.numLayers, hiddenLayer: c2.numLayers - 1, finalNorm: false, pooled: true },
        },
      ];
    }
    default:
      throw new Error(`unknown model family "${family}"; expected sd15, sd21 or sdxl`);
  }
}

/** What the text encoders need from a loaded model. */
export interface TextEncoderModel {
  /** The model's family. */
  family: Family;
  /** Text encoder weights in Hugging Face naming: one for sd15/sd21, two for sdxl. */
  encoders: TensorSource[];
  /** A hash identifying the weights (caches key on it); without it, sessions are keyed by object. */
  hash?: string;
  /** Configurations replacing the family presets (tests with tiny encoders). */
  configs?: ClipTextConfig[];
}

/** Encoder outputs for a batch of prompts, row-major float32. */
export interface TextEmbeddings {
  /** Number of prompts. */
  count: number;
  /** Tokens per prompt that were encoded: 77, or fewer for a run on prompt prefixes (`sequenceLength`). */
  sequence: number;
  /** Feature width of `hiddenStates`. */
  width: number;
  /** `[count, sequence, width]`. */
  hiddenStates: Float32Array;
  /** Width of `pooled` (SDXL only, full-length runs only). */
  pooledWidth?: number;
  /** `[count, pooledWidth]` (SDXL only, full-length runs only: it is read at the end-of-text token). */
  pooled?: Float32Array;
}

/** Options of {@link encodeTokenIds}. */
export interface EncodeOptions {
  /** Backend (default ort-web). */
  backend?: BackendName;
  /** Prompts per session run (default 16 at 77 tokens, proportionally more for shorter sequences). */
  batchSize?: number;
  /**
   * Tokens per prompt in the id arrays, 1 to 77 (default 77). A shorter run encodes each prompt's first
   * `sequenceLength` tokens; the transformer is causal, so its rows equal the first rows of the full run.
   * Such a run has no pooled output (SDXL's pooled vector is read at the end-of-text token).
   */
  sequenceLength?: number;
  /**
   * How weights are bound: `"float32"`, `"stored"` (float16 checkpoint weights stay float16, cast at
   * run time), or `"auto"` (default): `"stored"` where float32 weights would not fit the WASM build.
   */
  weights?: "float32" | "stored" | "auto";
  /** Called once per encoder whose session had to be built, with the timings. */
  onSession?: (encoder: number, timing: SessionTiming) => void;
  /**
   * Keep each encoder's ONNX model on disk here, so later processes skip building it (default: none).
   * The key combines the model's hash (file, size, time), the graph version and a fingerprint of the weights.
   */
  modelCache?: ModelDiskCache | null;
}

/** Above this many weight bytes the model's weights go to ONNX external data. */
const EXTERNAL_DATA_FROM_BYTES = 1.5 * 2 ** 30;

let anonymousModels = 0;
const anonymousIds = new WeakMap<object, number>();

function modelKey(model: TextEncoderModel): string {
  if (model.hash) return model.hash;
  let id = anonymousIds.get(model.encoders[0]);
  if (id === undefined) anonymousIds.set(model.encoders[0], id = ++anonymousModels);
  return `anonymous-${id}`;
}

function float32Bytes(source: TensorSource): number {
  return source.names().reduce((sum, n) => sum + 4 * source.info(n).shape.reduce((a, b) => a * b, 1), 0);
}

/** The weight binding `encodeTokenIds` uses for encoder `index` on `backend`. */
export function weightBinding(
  model: TextEncoderModel,
  index: number,
  backend: BackendName = DEFAULT_BACKEND,
  requested: "float32" | "stored" | "auto" = "auto",
): "float32" | "stored" {
  if (requested !== "auto") return requested;
  return backend === "ort-web" && 2 * float32Bytes(model.encoders[index]) > WASM_MEMORY_BUDGET_BYTES
    ? "stored"
    : "float32";
}

/** Cache key of one encoder's graph and its output convention within a model. */
export function encoderKey(model: TextEncoderModel, index: number): string {
  const plan = familyEncoderPlans(model.family, model.configs)[index];
  const g = plan.graph;
  return `text-encoder:${modelKey(model)}:${model.family}:${index}:${plan.config.name}:` +
    `${g.layers}/${g.hiddenLayer ?? g.layers}/${g.finalNorm ? "ln" : "raw"}${g.pooled ? "+pooled" : ""}`;
}

/** Checks the model has the encoders its family needs. */
export function checkEncoders(model: TextEncoderModel): EncoderPlan[] {
  const plans = familyEncoderPlans(model.family, model.configs);
  if (model.encoders.length < plans.length) {
    throw new Error(
      `${model.family} needs ${plans.length} text encoder${plans.length > 1 ? "s" : ""}, ` +
        `the checkpoint provides ${model.encoders.length}`,
    );
  }
  return plans;
}

async function buildEncoder(
  source: TensorSource,
  plan: EncoderPlan,
  target: BuildTarget,
): Promise<SerializedModel> {
  // Weights are read from the checkpoint one at a time as the model is written out, so a model going to disk
  // never holds all its float32 weights at once (SD 1.5's encoder: 0.49 GB; that and its serialized copy
  // made the first erasure of a model peak at 1.9 GB).
  const graph = await buildClipTextGraph(source, plan.config, { ...plan.graph, deferWeights: true });
  const bytes = graph.initializers.reduce((s, t) => s + tensorByteLength(t), 0);
  if (target === "disk" || bytes > EXTERNAL_DATA_FROM_BYTES) {
    return serializeModel(graph, { externalDataPath: "weights.bin" });
  }
  return serializeModel(await loadDeferredInitializers(graph));
}

/**
 * Runs the family's encoders on token ids: `ids[e]` holds encoder `e`'s ids, `count × 77` int32
 * (SDXL's two tokenizers may pad differently, so each encoder gets its own), or `count × sequenceLength`
 * for a run on prompt prefixes.
 *
 * @example
 * ```ts ignore
 * import { encodeTokenIds } from "./text_encoders.ts";
 * const out = await encodeTokenIds({ family: "sd15", encoders: [source] }, [ids], 2);
 * out.hiddenStates.length; // 2 * 77 * 768
 * ```
 */
export async function encodeTokenIds(
  model: TextEncoderModel,
  ids: Int32Array[],
  count: number,
  options: EncodeOptions = {},
): Promise<TextEmbeddings> {
  const plans = checkEncoders(model);
  const maxSeq = plans[0].config.maxPositions;
  const seq = options.sequenceLength ?? maxSeq;
  if (!Number.isInteger(seq) || seq < 1 || seq > maxSeq) {
    throw new RangeError(`sequence length must be an integer from 1 to ${maxSeq}, got ${seq}`);
  }
  const full = seq === maxSeq;
  if (ids.length !== plans.length) {
    throw new Error(`${model.family} needs ${plans.length} id arrays, got ${ids.length}`);
  }
  for (const [e, a] of ids.entries()) {
    if (a.length !== count * seq) {
      throw new Error(`token ids of encoder ${e + 1}: ${a.length} values, need ${count}×${seq}`);
    }
    const vocab = plans[e].config.vocabSize;
    const bad = a.findIndex((v) => v < 0 || v >= vocab);
    if (bad >= 0) {
      throw new Error(`token id ${a[bad]} at position ${bad} is outside the vocabulary (0..${vocab - 1})`);
    }
  }
  const width = plans.reduce((s, p) => s + p.config.hiddenSize, 0);
  const pooledPlan = full ? plans.find((p) => p.graph.pooled) : undefined;
  const hiddenStates = new Float32Array(count * seq * width);
  const pooled = pooledPlan ? new Float32Array(count * pooledPlan.config.projectionDim) : undefined;
  const batchSize = Math.max(1, options.batchSize ?? Math.floor((16 * maxSeq) / seq));
  let offset = 0;
  for (const [e, plan] of plans.entries()) {
    const source = model.encoders[e];
    const weights = weightBinding(model, e, options.backend, options.weights);
    const key = `${encoderKey(model, e)}:${weights}`;
    const persist = options.modelCache && model.hash
      ? {
        cache: options.modelCache,
        key: `${CLIP_GRAPH_VERSION}|${key}|${await smallTensorFingerprint(source)}`,
      }
      : undefined;
    const { session, timing } = await cachedSession(
      key,
      options.backend,
      (target) => buildEncoder(source, { ...plan, graph: { ...plan.graph, weights } }, target),
      // Erasures encode a handful of prompts per process: creation time matters more than run time.
      { persist, prepack: false },
    );
    if (!timing.cached) options.onSession?.(e, timing);
    const w = plan.config.hiddenSize;
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const out = await session.run({
        [CLIP_TEXT_IO.inputIds]: {
          dtype: "int32",
          dims: [n, seq],
          data: ids[e].subarray(start * seq, (start + n) * seq),
        },
      });
      const h = out[CLIP_TEXT_IO.hiddenStates].data as Float32Array;
      // Concatenate encoders on the feature axis.
      for (let r = 0; r < n * seq; r++) {
        hiddenStates.set(h.subarray(r * w, (r + 1) * w), (start * seq + r) * width + offset);
      }
      if (pooledPlan === plan) {
        pooled!.set(out[CLIP_TEXT_IO.pooled].data as Float32Array, start * plan.config.projectionDim);
      }
    }
    offset += w;
  }
  return {
    count,
    sequence: seq,
    width,
    hiddenStates,
    pooledWidth: pooledPlan?.config.projectionDim,
    pooled,
  };
}
