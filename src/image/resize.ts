/**
 * Resizing 8-bit images: area averaging on axes that shrink (every source pixel counts, no aliasing in
 * thumbnails) and bilinear interpolation with half-pixel centres on axes that grow.
 *
 * @module
 */

import { checkImage, type RgbImage } from "./image.ts";
import { bilinearTaps } from "./heatmap.ts";

/** For each output index: source indices and their weights (summing to 1). */
type AxisWeights = { index: Int32Array; weight: Float64Array; start: Int32Array };

/**
 * The image resized to `width`×`height`.
 *
 * @example
 * ```ts
 * import { resizeImage } from "./resize.ts";
 * import { filledImage } from "./image.ts";
 * const thumbnail = resizeImage(filledImage(512, 512, [10, 20, 30]), 128, 128);
 * ```
 */
export function resizeImage(image: RgbImage, width: number, height: number): RgbImage {
  checkImage(image, "resizeImage");
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resizeImage: target size must be positive integers, got ${width}×${height}`);
  }
  if (width === image.width && height === image.height) return { ...image, data: image.data.slice() };
  const ch = image.channels;
  const xs = axisWeights(image.width, width), ys = axisWeights(image.height, height);
  // Horizontal pass into float rows, then vertical pass into bytes.
  const rows = new Float32Array(image.height * width * ch);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < width; x++) {
      for (let k = xs.start[x]; k < xs.start[x + 1]; k++) {
        const src = (y * image.width + xs.index[k]) * ch, dst = (y * width + x) * ch, w = xs.weight[k];
        for (let c = 0; c < ch; c++) rows[dst + c] += image.data[src + c] * w;
      }
    }
  }
  const out = new Uint8Array(width * height * ch);
  const acc = new Float64Array(ch);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      acc.fill(0);
      for (let k = ys.start[y]; k < ys.start[y + 1]; k++) {
        const src = (ys.index[k] * width + x) * ch, w = ys.weight[k];
        for (let c = 0; c < ch; c++) acc[c] += rows[src + c] * w;
      }
      for (let c = 0; c < ch; c++) {
        out[(y * width + x) * ch + c] = Math.min(255, Math.max(0, Math.round(acc[c])));
      }
    }
  }
  return { width, height, channels: ch, data: out };
}

/**
 * The image scaled to `width` pixels wide, keeping its aspect ratio.
 *
 * @example
 * ```ts
 * import { resizeToWidth } from "./resize.ts";
 * import { filledImage } from "./image.ts";
 * resizeToWidth(filledImage(512, 256, [0, 0, 0]), 128).height; // 64
 * ```
 */
export function resizeToWidth(image: RgbImage, width: number): RgbImage {
  return resizeImage(image, width, Math.max(1, Math.round(image.height * width / image.width)));
}

function axisWeights(from: number, to: number): AxisWeights {
  const index: number[] = [], weight: number[] = [], start = [0];
  const scale = from / to;
  const taps = to < from ? [] : bilinearTaps(from, to);
  for (let i = 0; i < to; i++) {
    if (to < from) {
      // Area: the source interval [i·scale, (i+1)·scale) with fractional coverage at its ends.
      const lo = i * scale, hi = (i + 1) * scale;
      for (let s = Math.floor(lo); s < Math.min(from, Math.ceil(hi)); s++) {
        const cover = Math.min(hi, s + 1) - Math.max(lo, s);
        if (cover > 1e-12) index.push(s), weight.push(cover / scale);
      }
    } else {
      const [s0, s1, f] = taps[i];
      index.push(s0, s1);
      weight.push(1 - f, f);
    }
    start.push(index.length);
  }
  return { index: Int32Array.from(index), weight: Float64Array.from(weight), start: Int32Array.from(start) };
}
