/**
 * Loading a Stable Diffusion checkpoint from either layout, with lazy access to every tensor under the
 * canonical (diffusers) names: a single-file `.safetensors` in LDM/SGM naming (as community hubs share
 * them) or a diffusers folder (`model_index.json`, `unet/`, `vae/`, `text_encoder/`, …).
 *
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { DType } from "./dtype.ts";
import { SafetensorsFile } from "./safetensors.ts";
import { openSafetensors, type ShardedSafetensors } from "./sharded.ts";
import type { TensorSource } from "./tensor_source.ts";
import { type TensorView, viewSource } from "./view_source.ts";
import { unetDiffusersToLdm } from "./ldm_unet.ts";
import { vaeDiffusersToLdm } from "./ldm_vae.ts";
import { openClipViews, SINGLE_FILE_ENCODERS } from "./ldm_clip.ts";
import { CONFIG_METADATA_KEY } from "./synth.ts";
import { type CrossAttentionLayer, crossAttentionLayers } from "./cross_attention.ts";
import {
  type Family,
  FAMILY_NAMES,
  type ModelConfig,
  presetConfig,
  type TextEncoderConfig,
  type UNetConfig,
  type VaeConfig,
} from "../models/config.ts";
import { unetWeights } from "../models/unet_weights.ts";
import { vaeWeights } from "../models/vae_weights.ts";
import { clipTextWeights } from "../models/clip_weights.ts";
import type { WeightSpec } from "../models/weight_spec.ts";

/** A checkpoint that does not have the structure of a Stable Diffusion model. */
export class CheckpointError extends Error {
  /** Creates the error for `path`. */
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = "CheckpointError";
  }
}

/** Where a checkpoint's tensors live on disk. */
export type CheckpointStorage =
  | {
    /** One safetensors file. */
    kind: "single";
    /** The open file. */
    file: SafetensorsFile;
    /** diffusers UNet weight name → key in the file. */
    unetKeys: Map<string, string>;
  }
  | {
    /** A diffusers folder. */
    kind: "diffusers";
    /** The folder. */
    dir: string;
    /** The UNet weights file (or shard index) inside it. */
    unetPath: string;
  };

/** A loaded checkpoint: family, architecture, and every component as a lazy `TensorSource`. */
export interface Checkpoint {
  /** The path it was loaded from. */
  path: string;
  /** `single` (one safetensors file, LDM/SGM names) or `diffusers` (a folder). */
  layout: "single" | "diffusers";
  /** Model family. */
  family: Family;
  /** Architecture (from the folder's configs, or the family preset checked against the tensors). */
  config: ModelConfig;
  /** Storage dtype of the UNet's cross-attention weights. */
  dtype: DType;
  /** UNet weights, diffusers names. */
  unet: TensorSource;
  /** VAE weights, diffusers names; null when the checkpoint has no VAE. */
  vae: TensorSource | null;
  /** Text encoders in diffusers order, transformers names; empty when the checkpoint has none. */
  textEncoders: TensorSource[];
  /** Tokenizer folders of a diffusers checkpoint, per encoder (null when absent; single files hold none). */
  tokenizerDirs: (string | null)[];
  /** Every cross-attention layer (16 for SD 1.x/2.x, 70 for SDXL). */
  crossAttention: CrossAttentionLayer[];
  /** Whether a single file also carries EMA copies of the UNet (`model_ema.*`; the non-EMA weights are used). */
  hasEma: boolean;
  /** Things worth telling the user (EMA copies ignored, inpainting model, …). */
  warnings: string[];
  /** Where the tensors are stored, for writing a merged copy in the same layout. */
  storage: CheckpointStorage;
  /** Releases open files. */
  close(): void;
}

function compareToSpecs(path: string, what: string, src: TensorSource, specs: WeightSpec[]): void {
  const problems: string[] = [];
  for (const s of specs) {
    if (!src.has(s.name)) problems.push(`missing ${s.name}`);
    else {
      const shape = src.info(s.name).shape;
      if (shape.join(",") !== s.shape.join(",")) {
        problems.push(`${s.name} has shape [${shape}], expected [${s.shape}]`);
      }
    }
    if (problems.length >= 5) break;
  }
  if (problems.length) {
    throw new CheckpointError(
      path,
      `${what} does not match the expected architecture: ${problems.join("; ")}`,
    );
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new CheckpointError(path, `cannot read JSON config: ${(e as Error).message}`);
  }
}

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false);
}

/** The weights file of a diffusers component folder: plain, fp16 variant, or sharded. */
async function componentWeights(dir: string, base: string): Promise<string | null> {
  for (const name of [`${base}.safetensors`, `${base}.fp16.safetensors`, `${base}.safetensors.index.json`]) {
    if (await exists(join(dir, name))) return join(dir, name);
  }
  if (await exists(join(dir, `${base}.bin`))) {
    throw new CheckpointError(
      join(dir, `${base}.bin`),
      "PyTorch pickle weights are not supported (they can run code when loaded); convert the folder to safetensors",
    );
  }
  return null;
}

/** The template's fields, taken from a diffusers/transformers config where it sets them. */
function pick<T extends object>(cfg: Record<string, unknown>, template: T): T {
  const out = { ...template } as Record<string, unknown>;
  const optional = [
    "addition_embed_type",
    "addition_time_embed_dim",
    "projection_class_embeddings_input_dim",
  ];
  for (const k of [...Object.keys(out), ...optional]) if (cfg[k] !== undefined) out[k] = cfg[k];
  return out as T;
}

async function loadDiffusersFolder(dir: string): Promise<Checkpoint> {
  const unetDir = join(dir, "unet");
  if (!await exists(join(unetDir, "config.json"))) {
    throw new CheckpointError(dir, "not a diffusers Stable Diffusion folder: looked for unet/config.json");
  }
  const unetRaw = await readJson(join(unetDir, "config.json"));
  const sdxl = unetRaw.addition_embed_type === "text_time";
  const encoderDirs = sdxl ? ["text_encoder", "text_encoder_2"] : ["text_encoder"];
  const encoderRaw: Record<string, unknown>[] = [];
  for (const e of encoderDirs) {
    if (await exists(join(dir, e, "config.json"))) {
      encoderRaw.push(await readJson(join(dir, e, "config.json")));
    }
  }
  const family: Family = sdxl
    ? "sdxl"
    : (encoderRaw[0]?.hidden_act === "gelu" || unetRaw.cross_attention_dim === 1024)
    ? "sd21"
    : "sd15";
  const preset = presetConfig(family);
  const unetCfg = pick<UNetConfig>(unetRaw, preset.unet);
  const open: (SafetensorsFile | ShardedSafetensors)[] = [];
  const close = () => open.forEach((f) => f.close());
  try {
    const unetPath = await componentWeights(unetDir, "diffusion_pytorch_model");
    if (!unetPath) throw new CheckpointError(unetDir, "no diffusion_pytorch_model.safetensors found");
    const unet = await openSafetensors(unetPath);
    open.push(unet);
    compareToSpecs(unetPath, "UNet", unet, unetWeights(unetCfg));
    let vae: TensorSource | null = null;
    let vaeCfg: VaeConfig = preset.vae;
    const vaePath = await componentWeights(join(dir, "vae"), "diffusion_pytorch_model");
    if (vaePath) {
      vaeCfg = pick<VaeConfig>(await readJson(join(dir, "vae", "config.json")), preset.vae);
      const f = await openSafetensors(vaePath);
      open.push(f);
      compareToSpecs(vaePath, "VAE", f, vaeWeights(vaeCfg));
      vae = f;
    }
    const textEncoders: TensorSource[] = [];
    const encoderCfgs: TextEncoderConfig[] = [];
    const tokenizerDirs: (string | null)[] = [];
    for (let i = 0; i < encoderRaw.length; i++) {
      const edir = join(dir, encoderDirs[i]);
      const cfg = pick<TextEncoderConfig>(encoderRaw[i], preset.textEncoders[i]);
      if (encoderRaw[i].projection_dim === undefined || !preset.textEncoders[i].projection_dim) {
        delete (cfg as Partial<TextEncoderConfig>).projection_dim;
      }
      const p = await componentWeights(edir, "model");
      if (!p) throw new CheckpointError(edir, "no model.safetensors found");
      const f = await openSafetensors(p);
      open.push(f);
      const src = hfEncoderSource(f, "", cfg, p);
      compareToSpecs(p, `text encoder ${i + 1}`, src, clipTextWeights(cfg));
      textEncoders.push(src);
      encoderCfgs.push(cfg);
      const tdir = join(dir, i === 0 ? "tokenizer" : "tokenizer_2");
      tokenizerDirs.push(await exists(join(tdir, "vocab.json")) ? tdir : null);
    }
    const config: ModelConfig = {
      family,
      unet: unetCfg,
      vae: vaeCfg,
      textEncoders: encoderCfgs.length ? encoderCfgs : preset.textEncoders,
    };
    const layers = crossAttentionLayers(unetCfg);
    return {
      path: dir,
      layout: "diffusers",
      family,
      config,
      dtype: unet.info(layers[0].toK).dtype,
      unet,
      vae,
      textEncoders,
      tokenizerDirs,
      crossAttention: layers,
      hasEma: false,
      storage: { kind: "diffusers", dir, unetPath },
      warnings: unetCfg.in_channels !== 4
        ? [`UNet takes ${unetCfg.in_channels} input channels (inpainting model)`]
        : [],
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}

/** Decides the family of a single file from which text encoders and UNet keys it holds. */
function singleFileFamily(file: SafetensorsFile): Family {
  const names = file.names();
  const any = (prefix: string) => names.some((n) => n.startsWith(prefix));
  if (any("conditioner.embedders.1.model.") || file.has("model.diffusion_model.label_emb.0.0.weight")) {
    return "sdxl";
  }
  if (any("cond_stage_model.model.")) return "sd21";
  if (any("cond_stage_model.transformer.")) return "sd15";
  const k = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight";
  const width = file.has(k) ? file.info(k).shape[1] : 0;
  if (width === 1024) return "sd21";
  if (width === 768) return "sd15";
  throw new CheckpointError(
    file.path,
    "cannot tell the Stable Diffusion family: no text encoder keys (cond_stage_model.*, conditioner.embedders.*) " +
      "and no cross-attention key with a 768 or 1024 context",
  );
}

/** Explains what a safetensors file that is not an SD checkpoint seems to be. */
function notACheckpoint(file: SafetensorsFile): CheckpointError {
  const names = file.names();
  let hint = "";
  if (names.some((n) => n.startsWith("lora_unet_") || n.startsWith("lora_te"))) {
    hint = " It looks like a LoRA patch: pass it with --patch, and the base model with --model.";
  } else if (names.some((n) => n.startsWith("down_blocks.") || n.startsWith("text_model."))) {
    hint =
      " It looks like one component of a diffusers folder: pass the folder (the one with model_index.json).";
  }
  const sample = names.slice(0, 3).map((n) => `"${n}"`).join(", ");
  return new CheckpointError(
    file.path,
    `not a Stable Diffusion checkpoint: looked for UNet keys "model.diffusion_model.*" (single-file LDM/SGM layout), ` +
      `found ${names.length} tensors${sample ? ` such as ${sample}` : ""}.${hint}`,
  );
}

function singleFileConfig(file: SafetensorsFile, family: Family): ModelConfig {
  const recorded = file.metadata[CONFIG_METADATA_KEY];
  if (recorded) {
    try {
      const cfg = JSON.parse(recorded) as ModelConfig;
      if (cfg.family === family) return cfg;
    } catch { /* fall back to the preset */ }
  }
  const cfg = presetConfig(family);
  const convIn = "model.diffusion_model.input_blocks.0.0.weight";
  if (file.has(convIn)) cfg.unet.in_channels = file.info(convIn).shape[1];
  return cfg;
}

function singleFileEncoders(file: SafetensorsFile, cfg: ModelConfig): TensorSource[] {
  const out: TensorSource[] = [];
  SINGLE_FILE_ENCODERS[cfg.family].forEach((where, i) => {
    const enc = cfg.textEncoders[i];
    const label = `${file.path} (text encoder ${i + 1})`;
    let src: TensorSource | null = null;
    if (where.naming === "open_clip") {
      const views = openClipViews(enc, where.prefix);
      if (file.has(views.values().next().value!.from)) src = viewSource(file, views, label);
    } else if (
      file.has(`${where.prefix}text_model.embeddings.token_embedding.weight`) ||
      file.has(`${where.prefix}embeddings.token_embedding.weight`)
    ) {
      src = hfEncoderSource(file, where.prefix, enc, label);
    }
    if (!src) return; // this file carries no such encoder
    compareToSpecs(file.path, `text encoder ${i + 1}`, src, clipTextWeights(enc));
    out.push(src);
  });
  return out;
}

/**
 * A transformers-named text encoder stored under `prefix`, canonical names `text_model.…`. Some files omit
 * the `text_model.` level: old SD 1.x single files, and CLIPTextModel saved by transformers 5.
 */
function hfEncoderSource(
  file: TensorSource,
  prefix: string,
  cfg: TextEncoderConfig,
  label: string,
): TensorSource {
  const short = !file.has(`${prefix}text_model.embeddings.token_embedding.weight`) &&
    file.has(`${prefix}embeddings.token_embedding.weight`);
  const views = new Map<string, TensorView>(
    clipTextWeights(cfg).map((s) => [s.name, {
      from: prefix + (short ? s.name.replace(/^text_model\./, "") : s.name),
      op: { kind: "same" },
    }]),
  );
  return viewSource(file, views, label);
}

async function loadSingleFile(path: string): Promise<Checkpoint> {
  const file = await SafetensorsFile.open(path);
  try {
    if (!file.names().some((n) => n.startsWith("model.diffusion_model."))) throw notACheckpoint(file);
    const family = singleFileFamily(file);
    const config = singleFileConfig(file, family);
    const unetMap = unetDiffusersToLdm(config.unet);
    const unet = viewSource(
      file,
      new Map([...unetMap].map(([d, l]) => [d, { from: l, op: { kind: "same" } as const }])),
      `${path} (UNet)`,
    );
    compareToSpecs(path, `${FAMILY_NAMES[family]} UNet`, unet, unetWeights(config.unet));
    let vae: TensorSource | null = null;
    const vaeMap = vaeDiffusersToLdm(config.vae);
    if (file.has(vaeMap.get("decoder.conv_in.weight")!.key)) {
      const specs = vaeWeights(config.vae);
      const shapes = new Map(specs.map((s) => [s.name, s.shape]));
      vae = viewSource(
        file,
        new Map([...vaeMap].map(([d, l]) => [d, {
          from: l.key,
          op: l.conv1x1 ? { kind: "reshape", shape: shapes.get(d)! } : { kind: "same" },
        } as TensorView])),
        `${path} (VAE)`,
      );
      compareToSpecs(path, "VAE", vae, specs);
    }
    const textEncoders = singleFileEncoders(file, config);
    const emaKeys = file.names().filter((n) => n.startsWith("model_ema.")).length;
    const warnings: string[] = [];
    if (emaKeys > 100) {
      warnings.push(
        `carries EMA copies of the UNet (${emaKeys} model_ema.* tensors); using the non-EMA weights`,
      );
    }
    if (config.unet.in_channels !== 4) {
      warnings.push(`UNet takes ${config.unet.in_channels} input channels (inpainting model)`);
    }
    if (!textEncoders.length) warnings.push("holds no text encoder");
    const layers = crossAttentionLayers(config.unet);
    return {
      path,
      layout: "single",
      family,
      config,
      dtype: unet.info(layers[0].toK).dtype,
      unet,
      vae,
      textEncoders,
      tokenizerDirs: config.textEncoders.map(() => null),
      crossAttention: layers,
      hasEma: emaKeys > 100,
      storage: { kind: "single", file, unetKeys: unetMap },
      warnings,
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Opens a Stable Diffusion checkpoint: a single `.safetensors` file or a diffusers folder. Only headers
 * and configs are read; tensors are read when asked for.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "./checkpoint.ts";
 * const ckpt = await loadCheckpoint("v1-5-pruned-emaonly.safetensors");
 * ckpt.family; // "sd15"
 * ckpt.crossAttention.length; // 16
 * const toK = await ckpt.unet.readFloat32(ckpt.crossAttention[0].toK); // Float32Array of 320 × 768
 * ckpt.close();
 * ```
 */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new CheckpointError(path, "no such file or folder");
  if (st.isDirectory()) return await loadDiffusersFolder(path);
  if (path.endsWith(".ckpt") || path.endsWith(".pt") || path.endsWith(".bin")) {
    throw new CheckpointError(
      path,
      "PyTorch pickle checkpoints are not supported (they can run code when loaded); convert to .safetensors first",
    );
  }
  return await loadSingleFile(path);
}
