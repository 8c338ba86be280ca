/**
 * Where noise comes from: the interface that the project's portable {@linkcode Random} and the
 * torch-compatible {@linkcode TorchGenerator} share, and the names of the two streams.
 *
 * @module
 */

/**
 * A seeded stream of normal numbers, drawn in order.
 *
 * @example
 * ```ts
 * import type { NoiseSource } from "./noise.ts";
 * import { TorchGenerator } from "./torch_generator.ts";
 * const source: NoiseSource = new TorchGenerator(42);
 * source.fillNormal(new Float32Array(16)); // torch.randn(16, generator=torch.Generator().manual_seed(42))
 * ```
 */
export interface NoiseSource {
  /** Fills `out` with normals of mean `mean` (default 0) and standard deviation `std` (default 1). */
  fillNormal(out: Float32Array, std?: number, mean?: number): Float32Array;
}

/**
 * The noise streams of image generation: `torch` draws what `torch.Generator().manual_seed(seed)` draws
 * on the CPU (the images of diffusers and ComfyUI for that seed); `portable` is the project's own
 * generator ({@linkcode Random}), platform-independent by construction.
 */
export type NoiseKind = "torch" | "portable";

/**
 * The accepted {@linkcode NoiseKind} names.
 *
 * @example
 * ```ts
 * import { NOISE_KINDS } from "./noise.ts";
 * NOISE_KINDS.includes("torch"); // true
 * ```
 */
export const NOISE_KINDS: readonly NoiseKind[] = ["torch", "portable"];
