/**
 * Text-to-image generation with a loaded checkpoint: encode the prompt and the negative prompt, draw the
 * initial latents from the seeded generator, denoise with classifier-free guidance (the UNet evaluated
 * on the unconditional and conditional inputs as one batch of two), decode with the VAE.
 *
 * How seeds map to noise: by default (`noise: "torch"`) every image gets its own torch CPU generator,
 * `torch.Generator().manual_seed(seed)`, reimplemented bit for bit ({@linkcode TorchGenerator}): the
 * initial latents are its `torch.randn([1, 4, h, w])` (latent size) and ancestral samplers draw their
 * per-step noise from the same generator, as diffusers does when given `generator=`. So an image here
 * matches diffusers' for that seed, up to the networks' float rounding; ComfyUI draws its initial noise
 * the same way (its ancestral samplers' per-step noise comes from elsewhere). `noise: "portable"` uses the
 * project's own generator instead ({@linkcode Random}: streams "latents" and "ancestral" of the seed),
 * the images of earlier releases.
 *
 * The same seed gives the same image on every backend and machine (up to float rounding of the
 * networks); images of a base model and of a patched one with the same seed differ only by the patch.
 *
 * @module
 */

import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Checkpoint } from "../formats/checkpoint.ts";
import { vaeScaleFactor } from "../models/config.ts";
import type { RgbImage } from "../image/image.ts";
import type { HeatMap } from "../image/heatmap.ts";
import { accumulateTokenMaps, tokenPositions } from "../models/attention_maps.ts";
import { imageGrid } from "../image/grid.ts";
import { promptEncoderModel } from "../models/checkpoint_encoders.ts";
import { encodePrompts } from "../models/encode_prompts.ts";
import { createUNetRunner, type PatchWeights, type UNetRunner } from "../models/unet_runner.ts";
import { decodeLatents } from "../models/vae_runner.ts";
import type { BackendName } from "../runtime/session.ts";
import { createScheduler } from "./create_scheduler.ts";
import { denoise } from "./denoise.ts";
import { classifierFreeGuidance } from "./guidance.ts";
import { initialLatents } from "./latents.ts";
import { NOISE_KINDS, type NoiseKind } from "./noise.ts";
import { Random } from "./random.ts";
import { type PredictionType, SCHEDULER_KINDS, type SchedulerKind } from "./scheduler.ts";
import { readSchedulerConfig } from "./scheduler_config.ts";
import { TorchGenerator } from "./torch_generator.ts";

/** Largest accepted guidance scale (higher values only saturate images). */
export const MAX_GUIDANCE = 50;
/** Largest accepted number of steps (the training schedule has 1000 timesteps). */
export const MAX_STEPS = 1000;

/** Settings of {@linkcode generateImages}. */
export interface GenerateOptions {
  /** Prompts; every prompt is rendered with every seed. */
  prompts: string[];
  /** Negative prompt (default ""; SDXL uses zero conditioning for an empty negative, as diffusers does). */
  negative?: string;
  /** Seeds (default [0]). */
  seeds?: number[];
  /** Denoising steps (default 30). */
  steps?: number;
  /** Classifier-free guidance scale, 0..50 (default 7.5; ≤ 1 runs the prompt alone). */
  guidance?: number;
  /** Image width in pixels, a multiple of 8 (default: the model's native size). */
  width?: number;
  /** Image height in pixels, a multiple of 8 (default: the model's native size). */
  height?: number;
  /** Sampler (default `ddim`). */
  scheduler?: SchedulerKind;
  /**
   * Noise stream (default `torch`: each image's seed seeds a torch CPU generator, so images match
   * diffusers with `generator=torch.Generator().manual_seed(seed)`, and the initial noise is ComfyUI's;
   * `portable`: the project's own generator, as before).
   */
  noise?: NoiseKind;
  /**
   * What the UNet predicts (default: the diffusers folder's scheduler config, else `epsilon`; SD 2.x
   * 768 models need `v_prediction`).
   */
  prediction?: PredictionType;
  /** Replacement cross-attention weights (a patch), or null/absent for the base model. */
  patch?: PatchWeights | null;
  /** Backend (default ort-web). */
  backend?: BackendName;
  /** Keep `to_k`/`to_v` as graph inputs so patches swap without a new session (default false). */
  swappable?: boolean;
  /**
   * Also return cross-attention maps of the conditional pass, averaged over heads, layers and steps:
   * one per word (its tokens averaged) or per token position.
   */
  attention?: AttentionRequest;
  /** Called after every UNet step of every image. */
  onProgress?: (progress: GenerateProgress) => void;
  /** Warnings (default `console.warn`). */
  warn?: (message: string) => void;
}

/** Which cross-attention maps {@linkcode generateImages} returns. */
export interface AttentionRequest {
  /** Words of the prompt (located with the first tokenizer). */
  words?: string[];
  /** Token positions 0..76 (used when `words` is absent). */
  tokens?: number[];
  /** `attn2` module paths to average (default all). */
  layers?: string[];
}

/** One attention map of a generated image. */
export interface AttentionEvidence {
  /** The word, or `token <i>`. */
  label: string;
  /** The map at latent resolution (values are attention probabilities, averaged). */
  map: HeatMap;
}

/** Progress of {@linkcode generateImages}. */
export interface GenerateProgress {
  /** Image being made (0-based) and the number of images. */
  image: number;
  /** Number of images. */
  images: number;
  /** Step just taken (0-based). */
  step: number;
  /** Steps per image. */
  steps: number;
}

/** One generated image with what made it. */
export interface GeneratedImage {
  /** The RGB image. */
  image: RgbImage;
  /** Its prompt. */
  prompt: string;
  /** Its negative prompt. */
  negative: string;
  /** Its seed. */
  seed: number;
  /** Attention maps, when requested. */
  attention?: AttentionEvidence[];
}

/** The generation settings with defaults filled in and checked. */
export interface GenerateSettings {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Steps. */
  steps: number;
  /** Guidance. */
  guidance: number;
  /** Seeds. */
  seeds: number[];
  /** Sampler. */
  scheduler: SchedulerKind;
  /** Noise stream. */
  noise: NoiseKind;
}

/**
 * Fills in defaults and checks the settings; throws an error naming the bad setting.
 *
 * @example
 * ```ts
 * import { presetConfig } from "../models/config.ts";
 * import { generateSettings } from "./generate.ts";
 * generateSettings(presetConfig("sd15"), { prompts: ["a cat"] }).width; // 512
 * ```
 */
export function generateSettings(
  config: Checkpoint["config"],
  options: GenerateOptions,
): GenerateSettings {
  if (!Array.isArray(options.prompts) || options.prompts.length === 0) {
    throw new Error("generate: give at least one prompt");
  }
  const factor = vaeScaleFactor(config.vae);
  const native = config.unet.sample_size * factor;
  const width = options.width ?? native, height = options.height ?? native;
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v <= 0 || v % factor !== 0) {
      throw new Error(`generate: ${name} must be a positive multiple of ${factor} pixels, got ${v}`);
    }
    if (v > 4096) throw new Error(`generate: ${name} ${v} is over the 4096-pixel limit`);
  }
  const steps = options.steps ?? 30;
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
    throw new Error(`generate: steps must be an integer from 1 to ${MAX_STEPS}, got ${steps}`);
  }
  const guidance = options.guidance ?? 7.5;
  if (!Number.isFinite(guidance) || guidance < 0 || guidance > MAX_GUIDANCE) {
    throw new Error(`generate: guidance must be a number from 0 to ${MAX_GUIDANCE}, got ${guidance}`);
  }
  const seeds = options.seeds ?? [0];
  if (!seeds.length || seeds.some((s) => !Number.isSafeInteger(s) || s < 0)) {
    throw new Error(`generate: seeds must be non-negative integers, got [${seeds.join(", ")}]`);
  }
  const scheduler = options.scheduler ?? "ddim";
  if (!SCHEDULER_KINDS.includes(scheduler)) {
    throw new Error(`generate: unknown scheduler "${scheduler}" (use one of ${SCHEDULER_KINDS.join(", ")})`);
  }
  const noise = options.noise ?? "torch";
  if (!NOISE_KINDS.includes(noise)) {
    throw new Error(`generate: unknown noise "${noise}" (use one of ${NOISE_KINDS.join(", ")})`);
  }
  return { width, height, steps, guidance, seeds, scheduler, noise };
}

/** The prediction type a diffusers folder's scheduler config declares (epsilon otherwise). */
async function folderPrediction(ckpt: Checkpoint): Promise<PredictionType> {
  if (ckpt.layout !== "diffusers") return "epsilon";
  const path = join(ckpt.path, "scheduler", "scheduler_config.json");
  if (!(await stat(path).then(() => true, () => false))) return "epsilon";
  const declared = (await readSchedulerConfig(path)).raw.prediction_type;
  return declared === "v_prediction" ? "v_prediction" : "epsilon";
}

/**
 * Generates one image per (prompt, seed), prompts outermost.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "../formats/checkpoint.ts";
 * import { generateImages } from "./generate.ts";
 * const ckpt = await loadCheckpoint("v1-5-pruned-emaonly.safetensors");
 * const [first] = await generateImages(ckpt, { prompts: ["a cat"], seeds: [42], steps: 25, backend: "ort-node" });
 * ```
 */
export async function generateImages(ckpt: Checkpoint, options: GenerateOptions): Promise<GeneratedImage[]> {
  const s = generateSettings(ckpt.config, options);
  const negative = options.negative ?? "";
  if (typeof negative !== "string") throw new Error("generate: the negative prompt must be text");
  const backend = options.backend;
  const prediction = options.prediction ?? await folderPrediction(ckpt);
  const sdxl = ckpt.config.unet.addition_embed_type === "text_time";
  const factor = vaeScaleFactor(ckpt.config.vae);
  const h = s.height / factor, w = s.width / factor;
  const useCfg = s.guidance > 1;

  const encoder = await promptEncoderModel(ckpt);
  const texts = [negative, ...options.prompts];
  const emb = await encodePrompts(encoder, texts, { backend, warn: options.warn });
  const rowSize = emb.sequence * emb.width;
  const pooledWidth = emb.pooledWidth ?? 0;
  const zeroNegative = sdxl && negative === "";
  const hiddenOf = (i: number) =>
    i === 0 && zeroNegative
      ? new Float32Array(rowSize)
      : emb.hiddenStates.subarray(i * rowSize, (i + 1) * rowSize);
  const pooledOf = (i: number) =>
    i === 0 && zeroNegative || !emb.pooled
      ? new Float32Array(pooledWidth)
      : emb.pooled.subarray(i * pooledWidth, (i + 1) * pooledWidth);

  const attention = options.attention;
  const unet: UNetRunner = createUNetRunner(ckpt, {
    height: h,
    width: w,
    backend,
    swappable: options.swappable,
    attentionMaps: attention ? { layers: attention.layers } : undefined,
  });
  unet.setPatch(options.patch ?? null);
  const batch = useCfg ? 2 : 1;
  const timeIds = new Float32Array(batch * 6);
  for (let b = 0; b < batch; b++) timeIds.set([s.height, s.width, 0, 0, s.height, s.width], b * 6);

  const results: GeneratedImage[] = [];
  const total = options.prompts.length * s.seeds.length;
  for (const [p, prompt] of options.prompts.entries()) {
    const rows = useCfg ? [0, p + 1] : [p + 1];
    const context = new Float32Array(batch * rowSize);
    rows.forEach((r, b) => context.set(hiddenOf(r), b * rowSize));
    let textEmbeds: Float32Array | undefined;
    if (sdxl) {
      textEmbeds = new Float32Array(batch * pooledWidth);
      rows.forEach((r, b) => textEmbeds!.set(pooledOf(r), b * pooledWidth));
    }
    // Token positions whose maps are returned, grouped by label (a word's tokens are averaged).
    const groups: { label: string; positions: number[] }[] = attention?.words
      ? attention.words.map((word) => ({
        label: word,
        positions: tokenPositions(encoder.tokenizers[0], prompt, word),
      }))
      : (attention?.tokens ?? []).map((t) => ({ label: `token ${t}`, positions: [t] }));
    if (attention && !groups.length) throw new Error("generate: attention needs words or token positions");
    const tokens = groups.flatMap((g) => g.positions);
    for (const seed of s.seeds) {
      const sums = new Float32Array(tokens.length * h * w);
      let added = 0;
      const scheduler = createScheduler(s.scheduler, { predictionType: prediction }, s.steps);
      // One generator per image: latents first, then the per-step noise continues its stream.
      const generator = s.noise === "torch" ? new TorchGenerator(seed) : null;
      const latents = await denoise({
        scheduler,
        latents: initialLatents([1, 4, h, w], generator ?? seed, scheduler.initNoiseSigma),
        noise: generator ?? new Random(seed, "ancestral"),
        predict: async (input, timestep) => {
          const sample = new Float32Array(batch * input.length);
          for (let b = 0; b < batch; b++) sample.set(input, b * input.length);
          const { output, maps } = await unet.run({
            batch,
            sample,
            timestep,
            context,
            textEmbeds,
            timeIds,
            tokens: attention ? tokens : undefined,
          });
          if (attention) added += accumulateTokenMaps(maps, batch - 1, h, w, sums);
          if (!useCfg) return output;
          const n = input.length;
          return classifierFreeGuidance(output.subarray(0, n), output.subarray(n), s.guidance);
        },
        onStep: (st) =>
          options.onProgress?.({ image: results.length, images: total, step: st.stepIndex, steps: st.total }),
      });
      const [image] = await decodeLatents(ckpt, latents, 1, h, w, { backend });
      const evidence = attention ? averageGroups(groups, sums, added, h, w) : undefined;
      results.push({ image, prompt, negative, seed, ...(evidence ? { attention: evidence } : {}) });
    }
  }
  return results;
}

/** Per label: the mean over its tokens of the summed maps, divided by the number of maps added. */
function averageGroups(
  groups: { label: string; positions: number[] }[],
  sums: Float32Array,
  added: number,
  h: number,
  w: number,
): AttentionEvidence[] {
  const plane = h * w;
  let k = 0;
  return groups.map(({ label, positions }) => {
    const values = new Float32Array(plane);
    for (let j = 0; j < positions.length; j++, k++) {
      for (let i = 0; i < plane; i++) values[i] += sums[k * plane + i] / (added * positions.length);
    }
    return { label, map: { values, height: h, width: w } };
  });
}

/**
 * One grid of generated images: a row per prompt, a column per seed, captioned.
 *
 * @example
 * ```ts ignore
 * import { generatedGrid } from "./generate.ts";
 * await writePng("grid.png", generatedGrid(await generateImages(ckpt, { prompts: ["a", "b"], seeds: [1, 2] })));
 * ```
 */
export function generatedGrid(images: readonly GeneratedImage[]): RgbImage {
  const prompts = [...new Set(images.map((i) => i.prompt))];
  const seeds = [...new Set(images.map((i) => i.seed))];
  const cells = prompts.map((p) =>
    seeds.map((s) => images.find((i) => i.prompt === p && i.seed === s)?.image ?? null)
  );
  return imageGrid(cells, { rowLabels: prompts, columnLabels: seeds.map((s) => `seed ${s}`) });
}
