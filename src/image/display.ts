/**
 * Showing images in a Deno Jupyter notebook: an object whose `Symbol.for("Jupyter.display")` method
 * returns a PNG MIME bundle, so an image or grid as the last expression of a cell is drawn inline.
 *
 * @module
 */

import type { RgbImage } from "./image.ts";
import { encodePng } from "./png_write.ts";

/** Something a Deno Jupyter kernel displays as an image. */
export interface NotebookImage {
  /** The image shown. */
  readonly image: RgbImage;
  /** The MIME bundle: base64 PNG. */
  [key: symbol]: () => Record<string, string>;
}

/**
 * Wraps an image for notebook display.
 *
 * @example
 * ```ts
 * import { notebookImage } from "./display.ts";
 * import { filledImage } from "./image.ts";
 * notebookImage(filledImage(32, 32, [0, 128, 255])); // as the last line of a cell: drawn inline
 * ```
 */
export function notebookImage(image: RgbImage): NotebookImage {
  return {
    image,
    [Symbol.for("Jupyter.display")](): Record<string, string> {
      return { "image/png": base64(encodePng(image, { level: 1 })) };
    },
  };
}

/**
 * Standard base64 of bytes.
 *
 * @example
 * ```ts
 * import { base64 } from "./display.ts";
 * base64(new Uint8Array([1, 2, 3])); // "AQID"
 * ```
 */
export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
