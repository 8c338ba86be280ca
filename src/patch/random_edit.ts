/**
 * A seeded random low-rank Edit of a checkpoint's cross-attention to_k/to_v: test data for the patch,
 * merge and loader paths, independent of any erasure method.
 *
 * @module
 */
import type { Checkpoint } from "../formats/checkpoint.ts";
import { crossAttentionHash } from "../formats/hash.ts";
import { Random } from "../sample/random.ts";
import { type Edit, lowRankDelta, TOOL_VERSION } from "./edit.ts";

/**
 * An Edit adding a random rank-`rank` delta (about 10% of each weight's scale) to every to_k and to_v.
 *
 * @example
 * ```ts ignore
 * import { randomEdit } from "./random_edit.ts";
 * const edit = await randomEdit(ckpt, 4, 1);
 * ```
 */
export async function randomEdit(ckpt: Checkpoint, rank: number, seed = 0): Promise<Edit> {
  const deltas = [];
  for (const layer of ckpt.crossAttention) {
    for (const name of [layer.toK, layer.toV]) {
      const [out, inDim] = ckpt.unet.info(name).shape;
      const rng = new Random(seed, name);
      const scale = 0.1 / Math.sqrt(rank * inDim);
      const p = Float64Array.from({ length: out * rank }, () => rng.normal() * scale);
      const r = Float64Array.from({ length: rank * inDim }, () => rng.normal());
      deltas.push(lowRankDelta(name.slice(0, -".weight".length), p, r, out, rank, inDim));
    }
  }
  return {
    deltas,
    provenance: {
      baseModelHash: await crossAttentionHash(ckpt),
      family: ckpt.family,
      method: "random",
      concepts: ["(random test edit)"],
      parameters: { rank, seed },
      toolVersion: TOOL_VERSION,
      createdAt: new Date(0).toISOString(),
    },
  };
}
