/**
 * Initial latents: unit normals from a noise source, scaled by the scheduler's initial noise σ.
 *
 * From a `TorchGenerator` they are diffusers' latents for that generator (`randn_tensor(shape,
 * generator)` times `init_noise_sigma`, in float32). From a bare seed they come from the project's
 * portable generator (see {@linkcode Random}), the same on every machine and backend by construction.
 *
 * @module
 */

import type { NoiseSource } from "./noise.ts";
import { Random } from "./random.ts";

/**
 * Latents for a tensor of `shape` (e.g. [1, 4, 64, 64]) scaled by `initNoiseSigma`.
 *
 * `source` is either a noise source, drawn once for the whole tensor (a `TorchGenerator` draws what
 * `torch.randn(shape, generator=g)` draws; the σ scaling is then a float32 product, as in diffusers), or a
 * seed, for the portable stream of that seed labelled "latents". A batch is one draw cut into consecutive
 * images; to regenerate a single image alone, give each image its own seed and a batch of one.
 *
 * @example
 * ```ts
 * import { initialLatents } from "./latents.ts";
 * import { TorchGenerator } from "./torch_generator.ts";
 * const x = initialLatents([1, 4, 64, 64], new TorchGenerator(42), 14.6); // diffusers' latents for seed 42
 * const y = initialLatents([1, 4, 64, 64], 42, 14.6); // the portable stream's
 * ```
 */
export function initialLatents(
  shape: readonly number[],
  source: number | NoiseSource,
  initNoiseSigma = 1,
): Float32Array {
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`initialLatents: shape must be positive integers, got [${shape.join(", ")}]`);
  }
  if (!Number.isFinite(initNoiseSigma)) {
    throw new Error(`initialLatents: initNoiseSigma must be a finite number, got ${initNoiseSigma}`);
  }
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (typeof source === "number") {
    if (!Number.isFinite(source)) {
      throw new Error(`initialLatents: seed must be a finite number, got ${source}`);
    }
    return new Random(source, "latents").fillNormal(out, initNoiseSigma);
  }
  source.fillNormal(out);
  if (initNoiseSigma !== 1) {
    const sigma = Math.fround(initNoiseSigma);
    for (let i = 0; i < out.length; i++) out[i] *= sigma;
  }
  return out;
}
