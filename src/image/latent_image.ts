/**
 * Conversion between the VAE's decoded image tensor ([3, H, W] planes, values in [−1, 1]) and 8-bit RGB,
 * with diffusers' rounding: clamp(x/2 + 0.5, 0, 1)·255 rounded half to even.
 *
 * @module
 */

import { checkImage, type RgbImage } from "./image.ts";

/**
 * Image `index` of a decoded batch [B, 3, height, width] (planar float, [−1, 1]) as 8-bit RGB.
 *
 * @example
 * ```ts
 * import { decodedToRgb } from "./latent_image.ts";
 * const pixels = new Float32Array(3 * 2 * 2).fill(1); // white
 * decodedToRgb(pixels, 2, 2).data[0]; // 255
 * ```
 */
export function decodedToRgb(tensor: Float32Array, height: number, width: number, index = 0): RgbImage {
  const plane = height * width;
  if (!Number.isInteger(index) || index < 0 || tensor.length < (index + 1) * 3 * plane) {
    throw new Error(
      `decodedToRgb: image ${index} of ${height}×${width} needs ${
        (index + 1) * 3 * plane
      } values, got ${tensor.length}`,
    );
  }
  const base = index * 3 * plane;
  const data = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      // float32 steps as diffusers takes them, so the rounding of every pixel agrees.
      const v = Math.fround(Math.fround(tensor[base + c * plane + p] / 2) + 0.5);
      const scaled = Math.fround((v > 0 ? (v < 1 ? v : 1) : 0) * 255); // NaN → 0
      const r = Math.round(scaled);
      data[p * 3 + c] = scaled - Math.floor(scaled) === 0.5 && r % 2 ? r - 1 : r;
    }
  }
  return { width, height, channels: 3, data };
}

/**
 * An RGB(A) image as the VAE encoder's input [3, H, W] in [−1, 1] (alpha is ignored).
 *
 * @example
 * ```ts
 * import { rgbToDecoded } from "./latent_image.ts";
 * import { filledImage } from "./image.ts";
 * rgbToDecoded(filledImage(1, 1, [0, 255, 0])); // [-1, 1, -1]
 * ```
 */
export function rgbToDecoded(image: RgbImage): Float32Array {
  checkImage(image, "rgbToDecoded");
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = image.data[p * image.channels + c] / 127.5 - 1;
  }
  return out;
}
