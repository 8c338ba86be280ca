/**
 * Images without the networks: PNG read/write, VAE tensor ↔ RGB conversion, captioned grids with a
 * built-in bitmap font, attention-map heat maps and overlays, and inline display in Deno Jupyter.
 *
 * @example
 * ```ts ignore
 * import { imageGrid, notebookImage, overlayHeatmap, readPng, pngToRgb, writePng } from "./mod.ts";
 * const before = pngToRgb(await readPng("before.png")), after = pngToRgb(await readPng("after.png"));
 * const sheet = imageGrid([[before], [after]], { rowLabels: ["before", "after"], columnLabels: ["Van Gogh"] });
 * await writePng("sheet.png", sheet);
 * notebookImage(sheet); // shown inline as a notebook cell's value
 * ```
 *
 * @module
 */

export { checkImage, filledImage, pasteImage, type Rgb, type RgbImage, toRgb } from "./image.ts";
export { encodePng, type PngWriteOptions, writePng } from "./png_write.ts";
export { decodePng, type PngImage, pngToRgb, readPng } from "./png_read.ts";
export { decodedToRgb, rgbToDecoded } from "./latent_image.ts";
export { type GridOptions, imageGrid } from "./grid.ts";
export { resizeImage, resizeToWidth } from "./resize.ts";
export { drawText, lineHeight, textWidth, wrapText } from "./text.ts";
export { colormap } from "./colormap.ts";
export { type HeatMap, heatmapImage, type HeatRange, overlayHeatmap, resizeBilinear } from "./heatmap.ts";
export { type NotebookImage, notebookImage } from "./display.ts";
