/**
 * The identity of a base model as far as an erasure patch is concerned: a SHA-256 of the weights the
 * closed-form methods edit (every cross-attention `to_k` and `to_v`), rounded to float16 so that an fp32
 * checkpoint and its fp16 copy hash alike, in the same canonical order for either layout.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Checkpoint } from "./checkpoint.ts";
import { fromFloat32 } from "./dtype.ts";

/**
 * `sha256:<hex>` of the float16-rounded cross-attention to_k/to_v weights, with their names and shapes.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "./checkpoint.ts";
 * import { crossAttentionHash } from "./hash.ts";
 * await crossAttentionHash(await loadCheckpoint("v1-5.safetensors")); // "sha256:…"
 * ```
 */
export async function crossAttentionHash(ckpt: Checkpoint): Promise<string> {
  const h = createHash("sha256");
  for (const layer of ckpt.crossAttention) {
    for (const name of [layer.toK, layer.toV]) {
      const raw = await ckpt.unet.readRaw(name);
      h.update(`${name}:${raw.shape.join("x")}\n`);
      h.update(raw.dtype === "F16" ? raw.bytes : fromFloat32("F16", await ckpt.unet.readFloat32(name)));
    }
  }
  return `sha256:${h.digest("hex")}`;
}
