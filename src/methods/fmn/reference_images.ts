/**
 * Forget-Me-Not's reference images: a folder the user gives (PNG files), or images the model itself makes
 * from the concept's prompt (the default). Either way they end as UNet latents (VAE mean × scaling factor).
 *
 * @module
 */
import { readdir } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Checkpoint } from "../../formats/checkpoint.ts";
import { type RgbImage, toRgb } from "../../image/image.ts";
import { pngToRgb, readPng } from "../../image/png_read.ts";
import { resizeImage } from "../../image/resize.ts";
import { encodeImages } from "../../models/vae_runner.ts";
import { generateImages } from "../../sample/generate.ts";
import type { BackendName } from "../../runtime/session.ts";

/**
 * Every PNG in `dir`, resized to `width`×`height` (a center crop of the shorter side first, as the reference's
 * resize-then-crop does). An empty folder, or a file that is not a readable PNG, is an error naming it.
 *
 * @example
 * ```ts ignore
 * import { readReferenceImages } from "./reference_images.ts";
 * const images = await readReferenceImages("./zebra", 512, 512);
 * ```
 */
export async function readReferenceImages(dir: string, width: number, height: number): Promise<RgbImage[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => !n.startsWith(".")).sort();
  } catch (e) {
    throw new Error(`${dir}: cannot read the image folder: ${(e as Error).message}`);
  }
  if (!names.length) throw new Error(`${dir}: the image folder is empty`);
  const out: RgbImage[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (extname(name).toLowerCase() !== ".png") {
      throw new Error(`${path}: not a PNG file (reference images must be PNG)`);
    }
    const img = toRgb(pngToRgb(await readPng(path)));
    out.push(resizeImage(centerCrop(img, width / height), width, height));
  }
  return out;
}

function centerCrop(img: RgbImage, aspect: number): RgbImage {
  let w = img.width, h = img.height;
  if (w / h > aspect) w = Math.round(h * aspect);
  else h = Math.round(w / aspect);
  const x0 = Math.floor((img.width - w) / 2), y0 = Math.floor((img.height - h) / 2);
  const data = new Uint8Array(w * h * img.channels);
  for (let y = 0; y < h; y++) {
    const src = ((y0 + y) * img.width + x0) * img.channels;
    data.set(img.data.subarray(src, src + w * img.channels), y * w * img.channels);
  }
  return { width: w, height: h, channels: img.channels, data };
}

/** Options of {@linkcode referenceLatents}. */
export interface ReferenceLatentOptions {
  /** A folder of PNGs; absent: generate `count` images from `prompt`. */
  folder?: string;
  /** Prompt for generated references. */
  prompt: string;
  /** How many to generate (default 4). */
  count?: number;
  /** Image size (default the model's). */
  width: number;
  /** Image height. */
  height: number;
  /** Sampling steps for generated references (default 20). */
  steps?: number;
  /** Guidance for generated references (default 7.5). */
  guidance?: number;
  /** ONNX Runtime build. */
  backend?: BackendName;
  /** Seed of the first generated image. */
  seed?: number;
}

/**
 * Reference latents for one concept: encoded from the folder, or from images the model generates.
 *
 * @example
 * ```ts ignore
 * import { referenceLatents } from "./reference_images.ts";
 * const latents = await referenceLatents(ckpt, { prompt: "a photo of zebra", width: 512, height: 512 });
 * ```
 */
export async function referenceLatents(
  ckpt: Checkpoint,
  options: ReferenceLatentOptions,
): Promise<Float32Array[]> {
  const { width, height, backend } = options;
  let images: RgbImage[];
  if (options.folder) images = await readReferenceImages(options.folder, width, height);
  else {
    const seeds = Array.from({ length: options.count ?? 4 }, (_, i) => (options.seed ?? 0) + i);
    const made = await generateImages(ckpt, {
      prompts: [options.prompt],
      seeds,
      steps: options.steps ?? 20,
      guidance: options.guidance ?? 7.5,
      width,
      height,
      backend,
    });
    images = made.map((m) => m.image);
  }
  const latents = await encodeImages(ckpt, images, { backend });
  const per = latents.length / images.length;
  return images.map((_, i) => latents.slice(i * per, (i + 1) * per));
}
