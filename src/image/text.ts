/**
 * Drawing text with the built-in bitmap font: measuring, word wrapping and painting onto an image.
 *
 * @module
 */

import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows } from "./font.ts";
import type { Rgb, RgbImage } from "./image.ts";

/** Horizontal advance per character in font pixels (glyph plus one pixel of spacing). */
const ADVANCE = GLYPH_WIDTH + 1;

/**
 * Height of one line of text at `scale` (glyph plus one pixel of leading), in image pixels.
 *
 * @example
 * ```ts
 * import { lineHeight } from "./text.ts";
 * lineHeight(2); // 18
 * ```
 */
export function lineHeight(scale = 1): number {
  return (GLYPH_HEIGHT + 1) * scale;
}

/**
 * Width in pixels of `text` drawn at `scale` (no trailing spacing).
 *
 * @example
 * ```ts
 * import { textWidth } from "./text.ts";
 * textWidth("abc"); // 17
 * ```
 */
export function textWidth(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * ADVANCE - 1) * scale;
}

/**
 * Splits `text` into lines no wider than `maxWidth` pixels at `scale`, breaking at spaces and, for words
 * longer than a line, inside words. Explicit "\n" always breaks.
 *
 * @example
 * ```ts
 * import { wrapText } from "./text.ts";
 * wrapText("a photo of a cat", 50); // ["a photo", "of a cat"]
 * ```
 */
export function wrapText(text: string, maxWidth: number, scale = 1): string[] {
  const perLine = Math.max(1, Math.floor((maxWidth / scale + 1) / ADVANCE));
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (let word of paragraph.split(/ +/)) {
      while ([...word].length > perLine) {
        if (line) lines.push(line), (line = "");
        lines.push([...word].slice(0, perLine).join(""));
        word = [...word].slice(perLine).join("");
      }
      const joined = line ? `${line} ${word}` : word;
      if ([...joined].length <= perLine) line = joined;
      else lines.push(line), (line = word);
    }
    lines.push(line);
  }
  return lines;
}

/**
 * Paints `text` onto `image` (in place) with its top-left corner at (x, y); pixels outside the image are
 * skipped, and RGBA images get opaque ink.
 *
 * @example
 * ```ts
 * import { drawText } from "./text.ts";
 * import { filledImage } from "./image.ts";
 * const image = filledImage(80, 12, [255, 255, 255]);
 * drawText(image, "after", 2, 2, [0, 0, 0]);
 * ```
 */
export function drawText(image: RgbImage, text: string, x: number, y: number, color: Rgb, scale = 1): void {
  const { width, height, channels, data } = image;
  let cx = Math.round(x);
  const top = Math.round(y);
  for (const char of text) {
    const rows = glyphRows(char);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!((rows[gy] >> (GLYPH_WIDTH - 1 - gx)) & 1)) continue;
        for (let sy = 0; sy < scale; sy++) {
          const py = top + gy * scale + sy;
          if (py < 0 || py >= height) continue;
          for (let sx = 0; sx < scale; sx++) {
            const px = cx + gx * scale + sx;
            if (px < 0 || px >= width) continue;
            const o = (py * width + px) * channels;
            data[o] = color[0], data[o + 1] = color[1], data[o + 2] = color[2];
            if (channels === 4) data[o + 3] = 255;
          }
        }
      }
    }
    cx += ADVANCE * scale;
  }
}
