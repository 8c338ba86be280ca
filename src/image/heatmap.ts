/**
 * Attention-map pictures: a heat map [h, w] of any resolution, upsampled bilinearly, coloured with the
 * project colormap, on its own or alpha-blended over an image.
 *
 * @module
 */

import { colormapIndex, colormapTable } from "./colormap.ts";
import { checkImage, type RgbImage } from "./image.ts";

/** A 2-D map of values, row-major. */
export interface HeatMap {
  /** height · width values. */
  values: ArrayLike<number>;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
}

/** Value range settings: by default the map's own minimum and maximum. */
export interface HeatRange {
  /** Value drawn with the lowest colour. */
  min?: number;
  /** Value drawn with the highest colour. */
  max?: number;
}

/**
 * Bilinear resize with pixel centres aligned as `torch.nn.functional.interpolate(mode="bilinear",
 * align_corners=False)` does (edges clamped).
 *
 * @example
 * ```ts
 * import { resizeBilinear } from "./heatmap.ts";
 * resizeBilinear({ values: [0, 1], height: 1, width: 2 }, 1, 4).values; // [0, 0.25, 0.75, 1]
 * ```
 */
export function resizeBilinear(map: HeatMap, height: number, width: number): HeatMap {
  checkMap(map);
  const out = new Float32Array(height * width);
  const { values, height: h, width: w } = map;
  const xs = bilinearTaps(w, width), ys = bilinearTaps(h, height);
  for (let y = 0; y < height; y++) {
    const [y0, y1, fy] = ys[y];
    for (let x = 0; x < width; x++) {
      const [x0, x1, fx] = xs[x];
      const top = values[y0 * w + x0] * (1 - fx) + values[y0 * w + x1] * fx;
      const bottom = values[y1 * w + x0] * (1 - fx) + values[y1 * w + x1] * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return { values: out, height, width };
}

/**
 * For each output coordinate of a bilinear resize from `from` to `to` samples (half-pixel centres, edges
 * clamped): the two source indices and the weight of the second.
 *
 * @example
 * ```ts
 * import { bilinearTaps } from "./heatmap.ts";
 * bilinearTaps(2, 4); // [[0, 0, 0], [0, 1, 0.25], [0, 1, 0.75], [1, 1, 0]]
 * ```
 */
export function bilinearTaps(from: number, to: number): [number, number, number][] {
  const scale = from / to;
  return Array.from({ length: to }, (_, i) => {
    const src = Math.max(0, (i + 0.5) * scale - 0.5);
    const i0 = Math.min(from - 1, Math.floor(src));
    const i1 = Math.min(from - 1, i0 + 1);
    return [i0, i1, src - i0];
  });
}

/**
 * The heat map as a colour image of `width`×`height` pixels (default: the map's own size).
 *
 * @example
 * ```ts
 * import { heatmapImage } from "./heatmap.ts";
 * const picture = heatmapImage({ values: [0, 1, 2, 3], height: 2, width: 2 }, 64, 64);
 * ```
 */
export function heatmapImage(
  map: HeatMap,
  width = map.width,
  height = map.height,
  range: HeatRange = {},
): RgbImage {
  const resized = width === map.width && height === map.height
    ? (checkMap(map), map)
    : resizeBilinear(map, height, width);
  const [lo, span] = normalization(map, range);
  const lut = colormapTable();
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const i = colormapIndex((resized.values[p] - lo) / span);
    data[p * 3] = lut[i * 3], data[p * 3 + 1] = lut[i * 3 + 1], data[p * 3 + 2] = lut[i * 3 + 2];
  }
  return { width, height, channels: 3, data };
}

/**
 * `image` with the heat map upsampled to its size, coloured and blended on top:
 * out = (1 − alpha)·image + alpha·colour (alpha default 0.5). An RGBA image keeps its alpha.
 *
 * @example
 * ```ts
 * import { overlayHeatmap } from "./heatmap.ts";
 * import { filledImage } from "./image.ts";
 * const attention = { values: Float32Array.from({ length: 16 * 16 }, (_, i) => i), height: 16, width: 16 };
 * const shown = overlayHeatmap(filledImage(512, 512, [128, 128, 128]), attention, { alpha: 0.6 });
 * ```
 */
export function overlayHeatmap(
  image: RgbImage,
  map: HeatMap,
  options: HeatRange & { alpha?: number } = {},
): RgbImage {
  checkImage(image, "overlayHeatmap");
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`overlayHeatmap: alpha must be in [0, 1], got ${alpha}`);
  const colours = heatmapImage(map, image.width, image.height, options).data;
  const ch = image.channels;
  const data = image.data.slice();
  for (let p = 0; p < image.width * image.height; p++) {
    for (let c = 0; c < 3; c++) {
      data[p * ch + c] = Math.round((1 - alpha) * image.data[p * ch + c] + alpha * colours[p * 3 + c]);
    }
  }
  return { width: image.width, height: image.height, channels: ch, data };
}

/** [low, span] mapping values to [0, 1]; a constant map gets span 1 (all lowest colour). */
function normalization(map: HeatMap, range: HeatRange): [number, number] {
  let lo = range.min, hi = range.max;
  if (lo === undefined || hi === undefined) {
    let mn = Infinity, mx = -Infinity;
    for (let i = 0; i < map.values.length; i++) {
      mn = Math.min(mn, map.values[i]), (mx = Math.max(mx, map.values[i]));
    }
    lo ??= mn;
    hi ??= mx;
  }
  return [lo, hi > lo ? hi - lo : 1];
}

function checkMap(map: HeatMap): void {
  const { values, height, width } = map;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`heat map: height and width must be positive integers, got ${height}×${width}`);
  }
  if (values.length !== height * width) {
    throw new Error(`heat map: ${height}×${width} needs ${height * width} values, got ${values.length}`);
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new Error(`heat map: value ${i} is ${values[i]} (not finite)`);
  }
}
