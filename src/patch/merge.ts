/**
 * Merged checkpoints: the base model plus an Edit, written in the same layout and dtype as the input —
 * a single `.safetensors` file (every other tensor and the metadata copied byte for byte) or a diffusers
 * folder (every other file copied). Written atomically; the input is never overwritten.
 *
 * @module
 */
import { cp, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { Checkpoint } from "../formats/checkpoint.ts";
import { fromFloat32 } from "../formats/dtype.ts";
import { type TensorData, writeSafetensors } from "../formats/safetensors.ts";
import type { TensorSource } from "../formats/tensor_source.ts";
import { denseDelta, type Edit } from "./edit.ts";
import { PROVENANCE_KEY } from "./lora_file.ts";

/**
 * Refuses an output path equal to, or inside, the input checkpoint.
 *
 * @example
 * ```ts
 * import { assertDistinctOutput } from "./merge.ts";
 * assertDistinctOutput("model.safetensors", "merged.safetensors"); // fine
 * ```
 */
export function assertDistinctOutput(input: string, output: string): void {
  const a = resolve(input), b = resolve(output);
  const rel = relative(a, b);
  if (a === b || (rel && !rel.startsWith("..") && !rel.startsWith("/"))) {
    throw new Error(`${output}: the output path is the input checkpoint (or inside it); choose another path`);
  }
}

/** The edited weights: diffusers weight name → new float32 values (W + scale·ΔW). */
async function editedWeights(
  unet: TensorSource,
  edit: Edit,
  scale: number,
): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const d of edit.deltas) {
    const name = `${d.module}.weight`;
    if (!unet.has(name)) throw new Error(`the edit changes ${name}, which this model does not have`);
    const shape = unet.info(name).shape;
    if (shape[0] !== d.outDim || shape.slice(1).reduce((a, b) => a * b, 1) !== d.inDim) {
      throw new Error(`the edit's ${name} is ${d.outDim}×${d.inDim} but the model's is [${shape}]`);
    }
    const w = await unet.readFloat32(name);
    const delta = denseDelta(d, scale);
    for (let i = 0; i < w.length; i++) w[i] += delta[i];
    out.set(name, w);
  }
  return out;
}

function storedAs(dtype: string, values: Float32Array): Uint8Array {
  if (dtype === "F32" || dtype === "F16" || dtype === "BF16" || dtype === "F64") {
    return fromFloat32(dtype, values);
  }
  throw new Error(`cannot store an edited weight as ${dtype}`);
}

/** All tensors of a safetensors source, copied lazily, with some replaced. */
function copyWithReplacements(
  src: TensorSource,
  replace: Map<string, Float32Array>,
): Record<string, TensorData> {
  const tensors: Record<string, TensorData> = {};
  for (const key of src.names()) {
    const meta = src.info(key);
    const edited = replace.get(key);
    tensors[key] = {
      ...meta,
      data: edited
        ? () => Promise.resolve(storedAs(meta.dtype, edited))
        : async () => (await src.readRaw(key)).bytes,
    };
  }
  return tensors;
}

/** Options of {@linkcode writeMergedCheckpoint}. */
export interface MergeOptions {
  /** Multiplier of the edit (1 = as made). */
  scale?: number;
}

/**
 * Writes `ckpt` + `edit` to `out` in the input's layout and dtype.
 *
 * @example
 * ```ts ignore
 * import { writeMergedCheckpoint } from "./merge.ts";
 * await writeMergedCheckpoint(ckpt, edit, "v1-5-no-zebra.safetensors");
 * ```
 */
export async function writeMergedCheckpoint(
  ckpt: Checkpoint,
  edit: Edit,
  out: string,
  options: MergeOptions = {},
): Promise<void> {
  assertDistinctOutput(ckpt.path, out);
  if (await stat(out).then(() => true, () => false)) {
    throw new Error(`${out}: already exists; choose a new output path`);
  }
  const scale = options.scale ?? 1;
  const edited = await editedWeights(ckpt.unet, edit, scale);
  const provenance = JSON.stringify({ ...edit.provenance, mergedScale: scale });
  const storage = ckpt.storage;
  if (storage.kind === "single") {
    const byKey = new Map([...edited].map(([name, w]) => [storage.unetKeys.get(name)!, w]));
    await writeSafetensors(out, copyWithReplacements(storage.file, byKey), {
      ...storage.file.metadata,
      [PROVENANCE_KEY]: provenance,
    });
    return;
  }
  // diffusers folder: copy everything but the UNet weights into a temporary folder, write the UNet, rename.
  const tmp = join(dirname(resolve(out)), `.${basename(out)}.${crypto.randomUUID().slice(0, 8)}.partial`);
  try {
    const unetDir = dirname(storage.unetPath);
    await cp(storage.dir, tmp, {
      recursive: true,
      filter: (src) =>
        dirname(resolve(src)) !== resolve(unetDir) || !/\.safetensors(\.index\.json)?$/.test(src),
    });
    const unetFile = basename(storage.unetPath).replace(/\.index\.json$/, "");
    await writeSafetensors(join(tmp, "unet", unetFile), copyWithReplacements(ckpt.unet, edited), {
      format: "pt",
      [PROVENANCE_KEY]: provenance,
    });
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The edited weights as float32 in memory (diffusers names), for generation without writing a file.
 *
 * @example
 * ```ts ignore
 * import { applyEdit } from "./merge.ts";
 * const weights = await applyEdit(ckpt.unet, edit); // Map: "…attn2.to_k.weight" → Float32Array
 * ```
 */
export function applyEdit(unet: TensorSource, edit: Edit, scale = 1): Promise<Map<string, Float32Array>> {
  return editedWeights(unet, edit, scale);
}
