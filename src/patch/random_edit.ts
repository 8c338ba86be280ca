/**
 * A seeded random low-rank Edit of a checkpoint's cross-attention projections: test data for the patch,
 * merge and loader paths, independent of any erasure method.
 *
 * @module
 */
import type { Checkpoint } from "../formats/checkpoint.ts";
import { crossAttentionHash } from "../formats/hash.ts";
import { Random } from "../sample/random.ts";
import { type Edit, lowRankDelta, TOOL_VERSION } from "./edit.ts";

/** Cross-attention projections an Edit can change: closed-form methods `to_k`/`to_v`, Forget-Me-Not `to_q`/`to_k`. */
export type Projection = "to_q" | "to_k" | "to_v";

/**
 * An Edit adding a random rank-`rank` delta (about 10% of each weight's scale) to every cross-attention
 * weight of the given projections (default `to_k` and `to_v`).
 *
 * @example
 * ```ts ignore
 * import { randomEdit } from "./random_edit.ts";
 * const edit = await randomEdit(ckpt, 4, 1);
 * const fmnLike = await randomEdit(ckpt, 4, 1, ["to_q", "to_k"]);
 * ```
 */
export async function randomEdit(
  ckpt: Checkpoint,
  rank: number,
  seed = 0,
  projections: Projection[] = ["to_k", "to_v"],
): Promise<Edit> {
  const deltas = [];
  for (const layer of ckpt.crossAttention) {
    const names = { to_q: layer.toQ, to_k: layer.toK, to_v: layer.toV };
    for (const name of projections.map((p) => names[p])) {
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
      parameters: { rank, seed, projections },
      toolVersion: TOOL_VERSION,
      createdAt: new Date(0).toISOString(),
    },
  };
}
