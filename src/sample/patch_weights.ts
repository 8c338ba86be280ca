/**
 * A LoRA patch file turned into the replacement cross-attention weights generation uses, after checking
 * that it was made for this base model.
 *
 * @module
 */

import type { Checkpoint } from "../formats/checkpoint.ts";
import { crossAttentionHash } from "../formats/hash.ts";
import { readLoraPatch } from "../patch/lora_file.ts";
import { applyEdit } from "../patch/merge.ts";
import type { PatchWeights } from "../models/unet_runner.ts";

/** Options of {@linkcode loadPatchWeights}. */
export interface LoadPatchOptions {
  /** Strength multiplier of the patch (default 1). */
  scale?: number;
  /** Use a patch made for another base model anyway (default false). */
  force?: boolean;
  /** Notes (default `console.error`). */
  note?: (message: string) => void;
}

/**
 * Reads a patch and computes the patched weights; refuses a patch whose recorded base-model hash differs
 * from the checkpoint's (unless `force`).
 *
 * @example
 * ```ts ignore
 * import { loadPatchWeights } from "./patch_weights.ts";
 * const patch = await loadPatchWeights(ckpt, "no-van-gogh.safetensors");
 * ```
 */
export async function loadPatchWeights(
  ckpt: Checkpoint,
  path: string,
  options: LoadPatchOptions = {},
): Promise<PatchWeights> {
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale)) throw new Error(`patch scale must be a finite number, got ${scale}`);
  const edit = await readLoraPatch(path, ckpt);
  const recorded = edit.provenance.baseModelHash;
  if (recorded !== "unknown") {
    const actual = await crossAttentionHash(ckpt);
    if (actual !== recorded && !options.force) {
      throw new Error(
        `${path} was made for another base model (patch records ${recorded}, ${ckpt.path} is ${actual}); ` +
          "pass --force to use it anyway",
      );
    }
  } else {
    (options.note ?? console.error)(
      `note: ${path} records no base-model hash (not made by forget); using it unchecked`,
    );
  }
  return { key: `${path}@${scale}`, weights: await applyEdit(ckpt.unet, edit, scale) };
}
