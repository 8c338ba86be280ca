/**
 * The 8-bit image type shared by the image tools: interleaved RGB or RGBA rows, top to bottom.
 *
 * @module
 */

/** An 8-bit RGB (3 channels) or RGBA (4 channels) image, pixels row-major and interleaved. */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 3 (RGB) or 4 (RGBA, straight alpha). */
  channels: 3 | 4;
  /** width · height · channels bytes. */
  data: Uint8Array;
}

/** An RGB colour, each 0–255. */
export type Rgb = readonly [number, number, number];

/**
 * A new image filled with one colour.
 *
 * @example
 * ```ts
 * import { filledImage } from "./image.ts";
 * const white = filledImage(64, 32, [255, 255, 255]);
 * ```
 */
export function filledImage(width: number, height: number, color: Rgb): RgbImage {
  checkSize(width, height, "filledImage");
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) {
    (data[i] = color[0]), (data[i + 1] = color[1]), (data[i + 2] = color[2]);
  }
  return { width, height, channels: 3, data };
}

/**
 * Throws unless the image's data length matches its size and channel count.
 *
 * @example
 * ```ts
 * import { checkImage, filledImage } from "./image.ts";
 * checkImage(filledImage(2, 2, [0, 0, 0]), "input");
 * ```
 */
export function checkImage(image: RgbImage, what: string): void {
  checkSize(image.width, image.height, what);
  if (image.channels !== 3 && image.channels !== 4) {
    throw new Error(`${what}: channels must be 3 or 4, got ${image.channels}`);
  }
  const want = image.width * image.height * image.channels;
  if (image.data.length !== want) {
    throw new Error(
      `${what}: ${image.width}×${image.height}×${image.channels} needs ${want} bytes, data has ${image.data.length}`,
    );
  }
}

function checkSize(width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${what}: width and height must be positive integers, got ${width}×${height}`);
  }
}

/**
 * The image as RGB, compositing any alpha over `background` (white by default).
 *
 * @example
 * ```ts
 * import { toRgb } from "./image.ts";
 * toRgb({ width: 1, height: 1, channels: 4, data: Uint8Array.of(0, 0, 0, 0) }).data; // [255, 255, 255]
 * ```
 */
export function toRgb(image: RgbImage, background: Rgb = [255, 255, 255]): RgbImage {
  if (image.channels === 3) return image;
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const a = image.data[p * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) {
      out[p * 3 + c] = Math.round(image.data[p * 4 + c] * a + background[c] * (1 - a));
    }
  }
  return { width: image.width, height: image.height, channels: 3, data: out };
}

/**
 * Copies `source` into `target` (in place) with its top-left corner at (x, y), clipping at the edges.
 * An RGBA source is composited over the target by its alpha.
 *
 * @example
 * ```ts
 * import { filledImage, pasteImage } from "./image.ts";
 * const canvas = filledImage(10, 10, [255, 255, 255]);
 * pasteImage(canvas, filledImage(4, 4, [255, 0, 0]), 3, 3);
 * ```
 */
export function pasteImage(target: RgbImage, source: RgbImage, x: number, y: number): void {
  const { width: tw, height: th, channels: tc, data: td } = target;
  const { width: sw, height: sh, channels: sc, data: sd } = source;
  for (let sy = Math.max(0, -y); sy < sh && y + sy < th; sy++) {
    for (let sx = Math.max(0, -x); sx < sw && x + sx < tw; sx++) {
      const s = (sy * sw + sx) * sc, t = ((y + sy) * tw + x + sx) * tc;
      const a = sc === 4 ? sd[s + 3] / 255 : 1;
      for (let c = 0; c < 3; c++) {
        td[t + c] = a === 1 ? sd[s + c] : Math.round(sd[s + c] * a + td[t + c] * (1 - a));
      }
      if (tc === 4) td[t + 3] = Math.max(td[t + 3], sc === 4 ? sd[s + 3] : 255);
    }
  }
}
