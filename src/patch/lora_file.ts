/**
 * Reading and writing Edits as kohya-style LoRA safetensors files: per module `lora_down.weight` [r, in],
 * `lora_up.weight` [out, r] and `alpha` = r, so that every loader's scale alpha/r is 1 and the file
 * reproduces ΔW exactly. Metadata carries kohya's `ss_*` keys, SAI ModelSpec keys and our provenance.
 *
 * @module
 */
import { fromFloat32 } from "../formats/dtype.ts";
import { SafetensorsFile, type TensorData, writeSafetensors } from "../formats/safetensors.ts";
import type { Checkpoint } from "../formats/checkpoint.ts";
import type { Family } from "../models/config.ts";
import { kohyaLookup, kohyaName } from "./kohya_names.ts";
import type { Edit, EditProvenance, LowRankDelta } from "./edit.ts";

/** Options of {@linkcode writeLoraPatch}. */
export interface WriteLoraOptions {
  /** Stored dtype of lora_up / lora_down (default F32, which reproduces ΔW to float32 precision). */
  dtype?: "F32" | "F16" | "BF16";
  /** `ss_output_name` / `modelspec.title` (default: the concepts). */
  title?: string;
}

const BASE_VERSION: Readonly<Record<Family, string>> = {
  sd15: "sd_v1",
  sd21: "sd_v2",
  sdxl: "sdxl_base_v1-0",
};
const ARCHITECTURE: Readonly<Record<Family, string>> = {
  sd15: "stable-diffusion-v1/lora",
  sd21: "stable-diffusion-v2-512/lora",
  sdxl: "stable-diffusion-xl-v1-base/lora",
};

/** Metadata key holding our provenance (JSON). */
export const PROVENANCE_KEY = "forget.provenance";

/**
 * Writes `edit` as a kohya-style LoRA file for `ckpt`'s architecture (atomically).
 *
 * @example
 * ```ts ignore
 * import { writeLoraPatch } from "./lora_file.ts";
 * await writeLoraPatch("no-zebra.safetensors", edit, ckpt);
 * ```
 */
export async function writeLoraPatch(
  path: string,
  edit: Edit,
  ckpt: Pick<Checkpoint, "family" | "config">,
  options: WriteLoraOptions = {},
): Promise<{ bytes: number; tensors: number }> {
  const dtype = options.dtype ?? "F32";
  const tensors: Record<string, TensorData> = {};
  let maxRank = 0;
  const errors: Record<string, number> = {};
  for (const d of edit.deltas) {
    if (d.rank === 0) continue;
    const name = kohyaName(ckpt.family, ckpt.config.unet, d.module);
    tensors[`${name}.lora_down.weight`] = {
      dtype,
      shape: [d.rank, d.inDim],
      data: fromFloat32(dtype, d.down),
    };
    tensors[`${name}.lora_up.weight`] = { dtype, shape: [d.outDim, d.rank], data: fromFloat32(dtype, d.up) };
    tensors[`${name}.alpha`] = { dtype: "F32", shape: [], data: new Float32Array([d.rank]) };
    maxRank = Math.max(maxRank, d.rank);
    if (d.relativeError > 0) errors[d.module] = d.relativeError;
  }
  const p = edit.provenance;
  const title = options.title ?? `forget ${p.method}: ${p.concepts.join(", ")}`;
  const metadata: Record<string, string> = {
    ss_network_module: "networks.lora",
    ss_network_dim: String(maxRank),
    ss_network_alpha: String(maxRank),
    ss_network_args: JSON.stringify({ note: "alpha equals each module's rank: scale 1, exact delta" }),
    ss_base_model_version: BASE_VERSION[ckpt.family],
    ss_v2: String(ckpt.family === "sd21" ? "True" : "False"),
    ss_output_name: title,
    ss_training_comment: `Concept erasure by forget ${p.toolVersion} (${p.method}); no training data`,
    "modelspec.sai_model_spec": "1.0.1",
    "modelspec.architecture": ARCHITECTURE[ckpt.family],
    "modelspec.implementation": ckpt.family === "sdxl"
      ? "https://github.com/Stability-AI/generative-models"
      : "diffusers",
    "modelspec.title": title,
    "modelspec.date": p.createdAt,
    "modelspec.description": `Erases ${p.concepts.join(", ")} (${p.method}).`,
    [PROVENANCE_KEY]: JSON.stringify(p),
    "forget.relative_errors": JSON.stringify(errors),
  };
  await writeSafetensors(path, tensors, metadata);
  const { size } = await Deno.stat(path);
  return { bytes: size, tensors: Object.keys(tensors).length };
}

/** Error for a patch that does not fit a model. */
export class PatchError extends Error {
  /** Creates the error for `path`. */
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = "PatchError";
  }
}

/**
 * Reads a kohya-style LoRA file (ours or another tool's, UNet modules in diffusers or LDM spelling) as an
 * Edit for `ckpt`. `alpha/r` is folded into `up`. Modules the model does not have, and text-encoder modules,
 * are errors naming the first few.
 *
 * @example
 * ```ts ignore
 * import { readLoraPatch } from "./lora_file.ts";
 * const edit = await readLoraPatch("no-zebra.safetensors", ckpt);
 * ```
 */
export async function readLoraPatch(
  path: string,
  ckpt: Pick<Checkpoint, "family" | "config">,
): Promise<Edit> {
  const file = await SafetensorsFile.open(path);
  try {
    const lookup = kohyaLookup(ckpt.config.unet);
    const groups = new Map<string, Partial<Record<"up" | "down" | "alpha", string>>>();
    const unknown: string[] = [];
    for (const n of file.names()) {
      const m = n.match(/^(.*)\.(lora_up\.weight|lora_down\.weight|alpha)$/);
      if (!m) {
        unknown.push(n);
        continue;
      }
      const g = groups.get(m[1]) ?? {};
      g[m[2] === "alpha" ? "alpha" : m[2].startsWith("lora_up") ? "up" : "down"] = n;
      groups.set(m[1], g);
    }
    if (unknown.length) {
      throw new PatchError(
        path,
        `not a kohya LoRA file: unexpected tensors ${unknown.slice(0, 3).join(", ")}`,
      );
    }
    const missing = [...groups.keys()].filter((k) => !lookup.has(k));
    if (missing.length) {
      throw new PatchError(
        path,
        `${missing.length} LoRA modules do not exist in this ${ckpt.family} model (made for another model?): ${
          missing.slice(0, 3).join(", ")
        }`,
      );
    }
    const deltas: LowRankDelta[] = [];
    for (const [name, g] of groups) {
      if (!g.up || !g.down) throw new PatchError(path, `${name} lacks lora_up or lora_down`);
      const [outDim, rank] = file.info(g.up).shape;
      const [rank2, ...rest] = file.info(g.down).shape;
      const inDim = rest.reduce((a, b) => a * b, 1);
      if (rank !== rank2) {
        throw new PatchError(path, `${name}: lora_up rank ${rank} ≠ lora_down rank ${rank2}`);
      }
      const up = await file.readFloat32(g.up);
      const alpha = g.alpha ? (await file.readFloat32(g.alpha))[0] : rank;
      const scale = alpha && rank ? alpha / rank : 1;
      if (scale !== 1) { for (let i = 0; i < up.length; i++) up[i] *= scale; }
      deltas.push({
        module: lookup.get(name)!,
        outDim,
        inDim,
        rank,
        up,
        down: await file.readFloat32(g.down),
        relativeError: 0,
      });
    }
    return { deltas, provenance: provenanceOf(file.metadata, ckpt.family) };
  } finally {
    file.close();
  }
}

function provenanceOf(meta: Record<string, string>, family: Family): EditProvenance {
  try {
    if (meta[PROVENANCE_KEY]) return JSON.parse(meta[PROVENANCE_KEY]);
  } catch { /* a foreign or damaged value: fall through */ }
  return {
    baseModelHash: "unknown",
    family,
    method: meta.ss_network_module ?? "lora",
    concepts: [],
    parameters: {},
    toolVersion: "unknown",
    createdAt: meta["modelspec.date"] ?? "",
  };
}
