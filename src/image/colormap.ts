/**
 * A perceptually ordered colormap for heat maps: dark violet through blue and green to yellow, in the
 * manner of matplotlib's viridis, from this project's own table of 16 stops interpolated linearly in RGB.
 * Lightness rises monotonically, so the maps stay readable in grayscale and for common colour blindness.
 *
 * @module
 */

import type { Rgb } from "./image.ts";

// deno-fmt-ignore
const STOPS: readonly Rgb[] = [
  [68, 1, 84], [72, 21, 104], [72, 38, 119], [69, 55, 129],
  [63, 71, 136], [57, 86, 140], [50, 100, 142], [45, 113, 142],
  [39, 127, 142], [33, 141, 140], [31, 154, 138], [42, 168, 128],
  [74, 182, 110], [120, 195, 84], [176, 209, 51], [253, 231, 37],
];

const LUT: Uint8Array = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const u = i / 255 * (STOPS.length - 1);
    const k = Math.min(STOPS.length - 2, Math.floor(u)), f = u - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(STOPS[k][c] * (1 - f) + STOPS[k + 1][c] * f);
  }
  return lut;
})();

/**
 * The colour of `t` in [0, 1] (values outside are clamped; NaN maps to 0).
 *
 * @example
 * ```ts
 * import { colormap } from "./colormap.ts";
 * colormap(0); // [68, 1, 84]
 * colormap(1); // [253, 231, 37]
 * ```
 */
export function colormap(t: number): Rgb {
  const i = colormapIndex(t);
  return [LUT[i * 3], LUT[i * 3 + 1], LUT[i * 3 + 2]];
}

/**
 * The 256-entry RGB lookup table behind {@linkcode colormap} (entry i is colormap(i / 255)).
 *
 * @example
 * ```ts
 * import { colormapTable } from "./colormap.ts";
 * colormapTable().length; // 768
 * ```
 */
export function colormapTable(): Uint8Array {
  return LUT.slice();
}

/**
 * The lookup-table index 0–255 of `t` in [0, 1].
 *
 * @example
 * ```ts
 * import { colormapIndex } from "./colormap.ts";
 * colormapIndex(0.5); // 128
 * ```
 */
export function colormapIndex(t: number): number {
  return t > 0 ? Math.min(255, Math.round(t * 255)) : 0;
}
