/**
 * Contact sheets: images laid out in rows and columns with text captions, e.g. rows "before"/"after" an
 * erasure and one column per prompt.
 *
 * @module
 */

import { filledImage, pasteImage, type Rgb, type RgbImage } from "./image.ts";
import { resizeToWidth } from "./resize.ts";
import { drawText, lineHeight, textWidth, wrapText } from "./text.ts";

/** Layout settings of {@linkcode imageGrid}. */
export interface GridOptions {
  /** One caption per row, drawn to the left (may contain "\n"). */
  rowLabels?: readonly string[];
  /** One caption per column, drawn above and word-wrapped to the column width. */
  columnLabels?: readonly string[];
  /** Scale every image to this width first (aspect kept), e.g. 256 for a sheet of 512 px images. */
  cellWidth?: number;
  /** A title above everything. */
  title?: string;
  /** Pixels between cells (default 4). */
  gap?: number;
  /** Pixels around the whole grid (default 8). */
  margin?: number;
  /** Text size multiplier of the 5×8 font (default 2 when cells are at least 256 px wide, else 1). */
  textScale?: number;
  /** Widest a row label may get before it wraps, in pixels (default 160 × textScale). */
  maxRowLabelWidth?: number;
  /** Background colour (default white). */
  background?: Rgb;
  /** Text colour (default near-black). */
  textColor?: Rgb;
}

/**
 * One image holding `cells` (rows of images; `null` leaves a cell empty). Each column is as wide as its
 * widest image and each row as tall as its tallest; images are centred in their cells.
 *
 * @example
 * ```ts
 * import { imageGrid } from "./grid.ts";
 * import { filledImage } from "./image.ts";
 * const a = filledImage(64, 64, [200, 40, 40]), b = filledImage(64, 64, [40, 40, 200]);
 * const sheet = imageGrid([[a, b], [b, a]], {
 *   rowLabels: ["before", "after"],
 *   columnLabels: ["a painting by Van Gogh", "a photo of a dog"],
 * });
 * ```
 */
export function imageGrid(
  cells: readonly (readonly (RgbImage | null)[])[],
  options: GridOptions = {},
): RgbImage {
  const cellWidth = options.cellWidth;
  if (cellWidth !== undefined) {
    cells = cells.map((row) =>
      row.map((im) => im && im.width !== cellWidth ? resizeToWidth(im, cellWidth) : im)
    );
  }
  const rows = cells.length;
  const cols = Math.max(0, ...cells.map((r) => r.length));
  if (rows === 0 || cols === 0) throw new Error("imageGrid: no images (cells is empty)");
  const { rowLabels, columnLabels } = options;
  if (rowLabels && rowLabels.length !== rows) {
    throw new Error(`imageGrid: ${rowLabels.length} row labels for ${rows} rows`);
  }
  if (columnLabels && columnLabels.length !== cols) {
    throw new Error(`imageGrid: ${columnLabels.length} column labels for ${cols} columns`);
  }
  const colWidths = Array.from(
    { length: cols },
    (_, c) => Math.max(1, ...cells.map((r) => r[c]?.width ?? 0)),
  );
  const rowHeights = cells.map((r) => Math.max(1, ...r.map((im) => im?.height ?? 0)));
  const gap = options.gap ?? 4, margin = options.margin ?? 8;
  const scale = options.textScale ?? (Math.min(...colWidths) >= 256 ? 2 : 1);
  const line = lineHeight(scale);
  const background = options.background ?? [255, 255, 255];
  const ink = options.textColor ?? [20, 20, 20];

  const rowText = (rowLabels ?? []).map((l) => wrapText(l, options.maxRowLabelWidth ?? 160 * scale, scale));
  const labelWidth = rowLabels ? Math.max(...rowText.flat().map((l) => textWidth(l, scale))) + gap * 2 : 0;
  const colText = (columnLabels ?? []).map((l, c) => wrapText(l, colWidths[c], scale));
  const headerHeight = columnLabels ? Math.max(...colText.map((t) => t.length)) * line + gap : 0;
  const gridWidth = colWidths.reduce((a, b) => a + b, 0) + gap * (cols - 1);
  const titleLines = options.title ? wrapText(options.title, labelWidth + gridWidth, scale) : [];
  const titleHeight = titleLines.length * line + (titleLines.length ? gap * 2 : 0);

  const width = margin * 2 + labelWidth + gridWidth;
  const height = margin * 2 + titleHeight + headerHeight + rowHeights.reduce((a, b) => a + b, 0) +
    gap * (rows - 1);
  const out = filledImage(width, height, background);
  titleLines.forEach((l, i) => drawText(out, l, margin, margin + i * line, ink, scale));

  const top = margin + titleHeight + headerHeight;
  const left = margin + labelWidth;
  const colX = colWidths.map((_, c) => left + colWidths.slice(0, c).reduce((a, b) => a + b, 0) + gap * c);
  colText.forEach((lines, c) => {
    const y0 = top - gap - lines.length * line;
    lines.forEach((l, i) => {
      drawText(
        out,
        l,
        colX[c] + Math.floor((colWidths[c] - textWidth(l, scale)) / 2),
        y0 + i * line,
        ink,
        scale,
      );
    });
  });
  let y = top;
  cells.forEach((row, r) => {
    row.forEach((image, c) => {
      if (!image) return;
      const x = colX[c] + Math.floor((colWidths[c] - image.width) / 2);
      pasteImage(out, image, x, y + Math.floor((rowHeights[r] - image.height) / 2));
    });
    const lines = rowText[r] ?? [];
    const y0 = y + Math.floor((rowHeights[r] - lines.length * line) / 2);
    lines.forEach((l, i) =>
      drawText(out, l, margin + labelWidth - gap - textWidth(l, scale), y0 + i * line, ink, scale)
    );
    y += rowHeights[r] + gap;
  });
  return out;
}
