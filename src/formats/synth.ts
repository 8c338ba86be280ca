/**
 * Synthetic Stable Diffusion checkpoints: every key with its real name, real shapes (`full`) or small
 * widths (`tiny`), filled with seeded random values of a sensible scale, in either layout.
 * Used by tests (tiny, built on the fly) and benchmarks (full size, never committed).
 *
 * @module
 */
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fromFloat32 } from "./dtype.ts";
import { type TensorData, writeSafetensors } from "./safetensors.ts";
import { unetDiffusersToLdm } from "./ldm_unet.ts";
import { vaeDiffusersToLdm } from "./ldm_vae.ts";
import { openClipWeights, SINGLE_FILE_ENCODERS } from "./ldm_clip.ts";
import { type Family, type ModelConfig, presetConfig, type PresetSize } from "../models/config.ts";
import { unetWeights } from "../models/unet_weights.ts";
import { vaeWeights } from "../models/vae_weights.ts";
import { clipTextWeights } from "../models/clip_weights.ts";
import type { WeightSpec } from "../models/weight_spec.ts";
import { fillUniformStd, Random } from "../sample/random.ts";
import { loadBundledVocabulary } from "../tokenizer/bundled_vocabulary.ts";
import { exportVocabulary } from "../tokenizer/export_vocabulary.ts";

/** Options of {@linkcode writeSyntheticCheckpoint}. */
export interface SynthOptions {
  /** Model family. */
  family: Family;
  /** `full` (real shapes) or `tiny` (every key, small widths). Default `tiny`. */
  size?: PresetSize;
  /** `single` (one `.safetensors` in LDM/SGM naming) or `diffusers` (a folder). Default `single`. */
  layout?: "single" | "diffusers";
  /** Stored float type. Default `F16`. */
  dtype?: "F16" | "F32" | "BF16";
  /** Seed of the random values. Default 0. */
  seed?: number;
  /** Single-file only: also store EMA copies of the UNet (`model_ema.*`), as training checkpoints do. */
  ema?: boolean;
  /** Called with a fraction done (0..1) while writing. */
  onProgress?: (fraction: number) => void;
}

/** Metadata key under which synthetic single-file checkpoints record their architecture. */
export const CONFIG_METADATA_KEY = "forget.config";

function fillSpec(spec: WeightSpec, seed: number, label: string): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const rng = new Random(seed, label);
  const fanIn = spec.shape.slice(1).reduce((a, b) => a * b, 1);
  switch (spec.kind) {
    case "linear":
    case "conv":
      return fillUniformStd(rng, out, 1 / Math.sqrt(Math.max(fanIn, 1)));
    case "bias":
    case "norm_bias":
      return fillUniformStd(rng, out, 0.02);
    case "norm_weight":
      return fillUniformStd(rng, out, 0.05, 1);
    case "embedding":
      return fillUniformStd(rng, out, 0.02);
    case "scalar":
      return out.fill(Math.log(100)); // OpenCLIP's logit_scale
  }
}

/** Tensor data produced on demand, so a full-size checkpoint never sits in memory whole. */
function lazyTensor(
  spec: WeightSpec,
  dtype: "F16" | "F32" | "BF16",
  seed: number,
  label: string,
  shape = spec.shape,
): TensorData {
  return { dtype, shape, data: () => Promise.resolve(fromFloat32(dtype, fillSpec(spec, seed, label))) };
}

/** A map of specs under names produced by `rename`, random values seeded by `label(spec)`. */
function tensorsOf(
  specs: WeightSpec[],
  dtype: "F16" | "F32" | "BF16",
  seed: number,
  label: string,
): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const s of specs) out[s.name] = lazyTensor(s, dtype, seed, `${label}/${s.name}`);
  return out;
}

/** The DDPM schedule buffers the original single-file checkpoints carry (scaled-linear betas). */
function scheduleBuffers(): Record<string, TensorData> {
  const betas = new Float32Array(1000), cum = new Float32Array(1000), prev = new Float32Array(1000);
  let c = 1;
  for (let t = 0; t < 1000; t++) {
    const s = Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) * t / 999;
    betas[t] = s * s;
    prev[t] = c;
    c *= 1 - betas[t];
    cum[t] = c;
  }
  return {
    betas: { dtype: "F32", shape: [1000], data: betas },
    alphas_cumprod: { dtype: "F32", shape: [1000], data: cum },
    alphas_cumprod_prev: { dtype: "F32", shape: [1000], data: prev },
  };
}

function positionIds(n: number): TensorData {
  return { dtype: "I64", shape: [1, n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) };
}

/** All tensors of a single-file checkpoint of this architecture. */
function singleFileTensors(
  cfg: ModelConfig,
  o: Required<Omit<SynthOptions, "onProgress">>,
): Record<string, TensorData> {
  const { dtype, seed } = o;
  const t: Record<string, TensorData> = {};
  const unetMap = unetDiffusersToLdm(cfg.unet);
  for (const s of unetWeights(cfg.unet)) {
    t[unetMap.get(s.name)!] = lazyTensor(s, dtype, seed, `unet/${s.name}`);
  }
  if (o.ema) {
    t["model_ema.decay"] = { dtype: "F32", shape: [], data: new Float32Array([0.9999]) };
    t["model_ema.num_updates"] = { dtype: "I32", shape: [], data: new Int32Array([1000]) };
    for (const s of unetWeights(cfg.unet)) {
      // The original EMA naming drops the leading "model." and every remaining dot.
      const key = "model_ema." + unetMap.get(s.name)!.split(".").slice(1).join("");
      t[key] = lazyTensor(s, dtype, seed, `unet_ema/${s.name}`);
    }
  }
  const vaeMap = vaeDiffusersToLdm(cfg.vae);
  for (const s of vaeWeights(cfg.vae)) {
    const k = vaeMap.get(s.name)!;
    t[k.key] = lazyTensor(s, dtype, seed, `vae/${s.name}`, k.conv1x1 ? [...s.shape, 1, 1] : s.shape);
  }
  SINGLE_FILE_ENCODERS[cfg.family].forEach((where, i) => {
    const enc = cfg.textEncoders[i];
    if (where.naming === "hf") {
      for (const s of clipTextWeights(enc)) {
        t[where.prefix + s.name] = lazyTensor(s, dtype, seed, `te${i}/${s.name}`);
      }
      t[`${where.prefix}text_model.embeddings.position_ids`] = positionIds(enc.max_position_embeddings);
    } else {
      // SD 2.x stores all 24 OpenCLIP blocks but conditions on 23; SDXL's bigG stores and uses 32.
      const layers = cfg.family === "sd21" ? enc.num_hidden_layers + 1 : enc.num_hidden_layers;
      for (const s of openClipWeights(enc, layers)) {
        t[where.prefix + s.name] = lazyTensor(s, dtype, seed, `te${i}_open_clip/${s.name}`);
      }
    }
  });
  if (cfg.family !== "sdxl") Object.assign(t, scheduleBuffers());
  return t;
}

const PIPELINES: Readonly<Record<Family, string>> = {
  sd15: "StableDiffusionPipeline",
  sd21: "StableDiffusionPipeline",
  sdxl: "StableDiffusionXLPipeline",
};

function schedulerConfig(family: Family): Record<string, unknown> {
  return {
    _class_name: family === "sdxl" ? "EulerDiscreteScheduler" : "PNDMScheduler",
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: "scaled_linear",
    num_train_timesteps: 1000,
    prediction_type: "epsilon",
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    timestep_spacing: "leading",
    clip_sample: false,
  };
}

/** Writes a diffusers folder; `tokenizerWriter` fills `tokenizer/` folders when given. */
async function writeDiffusersFolder(
  dir: string,
  cfg: ModelConfig,
  o: Required<Omit<SynthOptions, "onProgress">>,
  progress: (f: number) => void,
): Promise<void> {
  const json = (p: string, v: unknown) => writeFile(join(dir, p), JSON.stringify(v, null, 2) + "\n");
  await mkdir(dir, { recursive: true });
  const index: Record<string, unknown> = {
    _class_name: PIPELINES[cfg.family],
    _diffusers_version: "0.42.1",
    scheduler: ["diffusers", schedulerConfig(cfg.family)._class_name],
    unet: ["diffusers", "UNet2DConditionModel"],
    vae: ["diffusers", "AutoencoderKL"],
  };
  const parts: Array<[string, WeightSpec[], string, Record<string, unknown>]> = [
    ["unet", unetWeights(cfg.unet), "diffusion_pytorch_model.safetensors", {
      _class_name: "UNet2DConditionModel",
      ...cfg.unet,
    }],
    ["vae", vaeWeights(cfg.vae), "diffusion_pytorch_model.safetensors", {
      _class_name: "AutoencoderKL",
      ...cfg.vae,
    }],
  ];
  cfg.textEncoders.forEach((enc, i) => {
    const suffix = i === 0 ? "" : `_${i + 1}`;
    const cls = enc.projection_dim ? "CLIPTextModelWithProjection" : "CLIPTextModel";
    index[`text_encoder${suffix}`] = ["transformers", cls];
    index[`tokenizer${suffix}`] = ["transformers", "CLIPTokenizer"];
    parts.push([`text_encoder${suffix}`, clipTextWeights(enc), "model.safetensors", {
      architectures: [cls],
      model_type: "clip_text_model",
      ...enc,
      bos_token_id: 49406,
      eos_token_id: 49407,
      pad_token_id: 1,
    }]);
  });
  await json("model_index.json", index);
  await mkdir(join(dir, "scheduler"), { recursive: true });
  await json("scheduler/scheduler_config.json", schedulerConfig(cfg.family));
  for (let i = 0; i < cfg.textEncoders.length; i++) {
    await writeTokenizerFolder(
      join(dir, i === 0 ? "tokenizer" : "tokenizer_2"),
      cfg.family !== "sd21" && i === 0,
    );
  }
  let done = 0;
  for (const [sub, specs, file, config] of parts) {
    await mkdir(join(dir, sub), { recursive: true });
    await json(`${sub}/config.json`, config);
    await writeSafetensors(join(dir, sub, file), tensorsOf(specs, o.dtype, o.seed, labelFor(sub)), {
      format: "pt",
    });
    progress(++done / parts.length);
  }
}

/**
 * A diffusers `tokenizer/` folder with the standard CLIP vocabulary. SD 1.x and SDXL's first tokenizer pad
 * with `<|endoftext|>`; SD 2.x and SDXL's `tokenizer_2` pad with `!`.
 */
async function writeTokenizerFolder(dir: string, padWithEos: boolean): Promise<void> {
  await exportVocabulary(await loadBundledVocabulary(), dir);
  const pad = padWithEos ? "<|endoftext|>" : "!";
  const special = {
    bos_token: "<|startoftext|>",
    eos_token: "<|endoftext|>",
    pad_token: pad,
    unk_token: "<|endoftext|>",
  };
  await writeFile(join(dir, "special_tokens_map.json"), JSON.stringify(special, null, 2) + "\n");
  await writeFile(
    join(dir, "tokenizer_config.json"),
    JSON.stringify(
      { tokenizer_class: "CLIPTokenizer", model_max_length: 77, do_lower_case: true, ...special },
      null,
      2,
    ) + "\n",
  );
}

/** Seed labels shared by both layouts, so the same seed gives the same weights in either layout. */
function labelFor(sub: string): string {
  return sub === "text_encoder" ? "te0" : sub === "text_encoder_2" ? "te1" : sub;
}

/**
 * Writes a synthetic checkpoint to `out` (a `.safetensors` file, or a folder for the diffusers layout).
 * The same seed gives the same weights in both layouts (OpenCLIP encoders aside, which single files
 * store fused). Refuses to overwrite an existing path.
 *
 * @example
 * ```ts ignore
 * import { writeSyntheticCheckpoint } from "./synth.ts";
 * await writeSyntheticCheckpoint("/tmp/sd15-tiny.safetensors", { family: "sd15", size: "tiny", seed: 1 });
 * ```
 */
export async function writeSyntheticCheckpoint(out: string, options: SynthOptions): Promise<ModelConfig> {
  const o = {
    size: "tiny" as PresetSize,
    layout: "single" as const,
    dtype: "F16" as const,
    seed: 0,
    ema: false,
    ...options,
  };
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) {
    throw new Error(`--seed must be a non-negative integer, got ${o.seed}`);
  }
  if (o.ema && o.layout !== "single") throw new Error("--ema applies to single-file checkpoints only");
  const exists = await stat(out).then(() => true, () => false);
  if (exists) throw new Error(`${out}: already exists; choose a new output path`);
  const cfg = presetConfig(o.family, o.size);
  const progress = o.onProgress ?? (() => {});
  if (o.layout === "diffusers") {
    try {
      await writeDiffusersFolder(out, cfg, o, progress);
    } catch (e) {
      await rm(out, { recursive: true, force: true });
      throw e;
    }
    return cfg;
  }
  const tensors = singleFileTensors(cfg, o);
  const names = Object.keys(tensors);
  let done = 0;
  for (const n of names) {
    const d = tensors[n].data;
    if (typeof d === "function") {
      tensors[n] = {
        ...tensors[n],
        data: () => d().finally(() => progress(++done / names.length)),
      };
    }
  }
  await writeSafetensors(out, tensors, {
    format: "pt",
    "forget.synthetic": `${o.family} ${o.size} seed=${o.seed}`,
    [CONFIG_METADATA_KEY]: JSON.stringify(cfg),
  });
  return cfg;
}
