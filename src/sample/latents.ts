/**
 * Initial latents from the project's seeded generator.
 *
 * The same seed gives the same latents on every machine and backend (the generator is pure integer
 * arithmetic; see {@linkcode Random}); they are not the numbers torch.randn would draw for that seed.
 *
 * @module
 */

import { Random } from "./random.ts";

/**
 * Unit normals scaled by `initNoiseSigma`, for a latent tensor of `shape` (e.g. [1, 4, 64, 64]), from the
 * stream of `seed` labelled "latents". A batch is one stream cut into consecutive images; to be able to
 * regenerate a single image alone, give each image its own seed and a batch of one.
 *
 * @example
 * ```ts
 * import { initialLatents } from "./latents.ts";
 * const x = initialLatents([1, 4, 64, 64], 42, 14.6);
 * ```
 */
export function initialLatents(shape: readonly number[], seed: number, initNoiseSigma = 1): Float32Array {
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`initialLatents: shape must be positive integers, got [${shape.join(", ")}]`);
  }
  if (!Number.isFinite(seed)) throw new Error(`initialLatents: seed must be a finite number, got ${seed}`);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  return new Random(seed, "latents").fillNormal(out, initNoiseSigma);
}
