/**
 * A checkpoint's VAE as ready sessions: `decode` turns UNet latents into RGB images, `encode` turns
 * reference images into UNet latents (the latent distribution's mean times the family's scaling factor,
 * as Forget-Me-Not needs). Sessions are cached per checkpoint, latent size and backend.
 *
 * @module
 */

import type { Checkpoint } from "../formats/checkpoint.ts";
import { vaeScaleFactor } from "./config.ts";
import { decodedToRgb, rgbToDecoded } from "../image/latent_image.ts";
import type { RgbImage } from "../image/image.ts";
import { serializeModel } from "../runtime/onnx_model.ts";
import { type BackendName, DEFAULT_BACKEND } from "../runtime/session.ts";
import { cachedSession } from "../runtime/session_cache.ts";
import { buildVaeDecoderGraph, buildVaeEncoderGraph, VAE_IO } from "./vae_graph.ts";

/** Options of the VAE runners. */
export interface VaeRunOptions {
  /** Backend (default ort-web). */
  backend?: BackendName;
  /** Intra-op threads (native backend). */
  threads?: number;
}

function vaeOf(ckpt: Checkpoint) {
  if (!ckpt.vae) {
    throw new Error(`${ckpt.path}: the checkpoint has no VAE (needed to decode and encode images)`);
  }
  return ckpt.vae;
}

/**
 * Decodes a batch of latents `[batch, 4, h, w]` (as the UNet produces them) to RGB images.
 *
 * @example
 * ```ts ignore
 * import { decodeLatents } from "./vae_runner.ts";
 * const [image] = await decodeLatents(ckpt, latents, 1, 64, 64);
 * ```
 */
export async function decodeLatents(
  ckpt: Checkpoint,
  latents: Float32Array,
  batch: number,
  height: number,
  width: number,
  options: VaeRunOptions = {},
): Promise<RgbImage[]> {
  const vae = vaeOf(ckpt);
  const cfg = ckpt.config.vae;
  const lc = cfg.latent_channels;
  const factor = vaeScaleFactor(cfg);
  if (latents.length !== batch * lc * height * width) {
    throw new Error(
      `decodeLatents: ${latents.length} values do not make ${batch}×${lc}×${height}×${width} latents`,
    );
  }
  const backend = options.backend ?? DEFAULT_BACKEND;
  const { session } = await cachedSession(
    `vae-decoder|${ckpt.path}|${height}x${width}`,
    backend,
    async () => serializeModel(await buildVaeDecoderGraph(vae, cfg, { height, width })),
    { threads: options.threads },
  );
  const images: RgbImage[] = [];
  const per = lc * height * width;
  // One image per run keeps the decoder's activations (largest at full resolution) small.
  for (let i = 0; i < batch; i++) {
    const out = await session.run({
      [VAE_IO.latents]: {
        dtype: "float32",
        dims: [1, lc, height, width],
        data: latents.slice(i * per, (i + 1) * per),
      },
    });
    images.push(decodedToRgb(out[VAE_IO.image].data as Float32Array, factor * height, factor * width));
  }
  return images;
}

/**
 * Encodes RGB images (all of the same size, a multiple of 8) to UNet latents `[n, 4, H/8, W/8]`.
 *
 * @example
 * ```ts ignore
 * import { encodeImages } from "./vae_runner.ts";
 * const latents = await encodeImages(ckpt, [await readPng("cat.png").then(pngToRgb)]);
 * ```
 */
export async function encodeImages(
  ckpt: Checkpoint,
  images: RgbImage[],
  options: VaeRunOptions = {},
): Promise<Float32Array> {
  const vae = vaeOf(ckpt);
  const cfg = ckpt.config.vae;
  if (!images.length) throw new Error("encodeImages: no images given");
  const { width, height } = images[0];
  const factor = vaeScaleFactor(cfg);
  for (const [i, im] of images.entries()) {
    if (im.width !== width || im.height !== height) {
      throw new Error(`encodeImages: image ${i} is ${im.width}×${im.height}, image 0 is ${width}×${height}`);
    }
  }
  if (width % factor || height % factor) {
    throw new Error(`encodeImages: image size ${width}×${height} is not a multiple of ${factor}`);
  }
  const h = height / factor, w = width / factor;
  const backend = options.backend ?? DEFAULT_BACKEND;
  const { session } = await cachedSession(
    `vae-encoder|${ckpt.path}|${h}x${w}`,
    backend,
    async () => serializeModel(await buildVaeEncoderGraph(vae, cfg, { height: h, width: w })),
    { threads: options.threads },
  );
  const per = cfg.latent_channels * h * w;
  const out = new Float32Array(images.length * per);
  for (const [i, im] of images.entries()) {
    const r = await session.run({
      [VAE_IO.image]: { dtype: "float32", dims: [1, 3, height, width], data: rgbToDecoded(im) },
    });
    out.set(r[VAE_IO.latentMean].data as Float32Array, i * per);
  }
  return out;
}
