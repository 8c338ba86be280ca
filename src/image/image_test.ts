import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { colormap, colormapTable } from "./colormap.ts";
import { notebookImage } from "./display.ts";
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows } from "./font.ts";
import { imageGrid } from "./grid.ts";
import { heatmapImage, overlayHeatmap, resizeBilinear } from "./heatmap.ts";
import { filledImage, pasteImage, type RgbImage, toRgb } from "./image.ts";
import { decodedToRgb, rgbToDecoded } from "./latent_image.ts";
import { decodePng } from "./png_read.ts";
import { resizeImage } from "./resize.ts";
import { drawText, lineHeight, textWidth, wrapText } from "./text.ts";

const OPS = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../tests/fixtures/image/ops.json", import.meta.url)), "utf8"),
);

function pixel(image: RgbImage, x: number, y: number): number[] {
  const o = (y * image.width + x) * image.channels;
  return [...image.data.subarray(o, o + image.channels)];
}

function inkCount(image: RgbImage, x0: number, y0: number, x1: number, y1: number, background = 255): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (pixel(image, x, y)[0] !== background) n++;
  return n;
}

Deno.test("decoded VAE tensor ↔ 8-bit RGB matches diffusers' VaeImageProcessor", () => {
  const { height, width, tensor, rgb, preprocessed } = OPS.decoded;
  const image = decodedToRgb(Float32Array.from(tensor), height, width);
  assert.deepEqual([...image.data], rgb);
  const back = rgbToDecoded(image);
  let err = 0;
  back.forEach((v, i) => (err = Math.max(err, Math.abs(v - preprocessed[i]))));
  assert.ok(err < 1e-6, `preprocess error ${err}`);
  // Batch indexing and size errors.
  const two = new Float32Array(2 * 3 * 4).fill(-1).fill(1, 12);
  assert.deepEqual(pixel(decodedToRgb(two, 2, 2, 1), 0, 0), [255, 255, 255]);
  assert.throws(() => decodedToRgb(two, 2, 2, 2), /needs 36 values, got 24/);
});

Deno.test("bilinear resize matches torch interpolate (align_corners=False)", () => {
  for (const r of OPS.resizes) {
    const out = resizeBilinear(
      { values: r.values, height: r.height, width: r.width },
      r.outHeight,
      r.outWidth,
    );
    let err = 0;
    for (let i = 0; i < r.expected.length; i++) err = Math.max(err, Math.abs(out.values[i] - r.expected[i]));
    assert.ok(err < 1e-5, `${r.height}×${r.width} → ${r.outHeight}×${r.outWidth}: ${err}`);
  }
  assert.throws(
    () => resizeBilinear({ values: [1, 2, 3], height: 2, width: 2 }, 4, 4),
    /needs 4 values, got 3/,
  );
  assert.throws(() => resizeBilinear({ values: [1, NaN], height: 1, width: 2 }, 4, 4), /value 1 is NaN/);
});

Deno.test("colormap: ends, monotone lightness, heat map and overlay", () => {
  assert.deepEqual(colormap(0), [68, 1, 84]);
  assert.deepEqual(colormap(1), [253, 231, 37]);
  assert.deepEqual(colormap(-5), colormap(0));
  const lut = colormapTable();
  let previous = -1;
  for (let i = 0; i < 256; i++) {
    const luma = 0.2126 * lut[i * 3] + 0.7152 * lut[i * 3 + 1] + 0.0722 * lut[i * 3 + 2];
    assert.ok(luma >= previous - 0.5, `lightness drops at ${i}`);
    previous = luma;
  }
  const map = { values: [0, 1, 2, 3], height: 2, width: 2 };
  const picture = heatmapImage(map, 8, 8);
  assert.deepEqual(pixel(picture, 0, 0), [...colormap(0)]);
  assert.deepEqual(pixel(picture, 7, 7), [...colormap(1)]);
  assert.deepEqual(pixel(heatmapImage(map, 2, 2, { min: 0, max: 6 }), 1, 1), [...colormap(0.5)]);
  const gray = filledImage(8, 8, [100, 100, 100]);
  const blended = overlayHeatmap(gray, map, { alpha: 0.25 });
  const c = colormap(1);
  assert.deepEqual(pixel(blended, 7, 7), c.map((v) => Math.round(0.75 * 100 + 0.25 * v)));
  assert.deepEqual(pixel(gray, 7, 7), [100, 100, 100], "input untouched");
  assert.throws(() => overlayHeatmap(gray, map, { alpha: 2 }), /alpha must be in \[0, 1\]/);
});

Deno.test("font covers printable ASCII with distinct glyphs; text measures, wraps and draws", () => {
  const seen = new Set<string>();
  for (let code = 33; code <= 126; code++) {
    const rows = glyphRows(String.fromCharCode(code));
    assert.equal(rows.length, GLYPH_HEIGHT);
    assert.ok(rows.some((r) => r !== 0), `glyph ${code} is blank`);
    assert.ok(rows.every((r) => r < 1 << GLYPH_WIDTH));
    seen.add(rows.join(","));
  }
  assert.equal(seen.size, 94, "every glyph differs");
  assert.deepEqual(glyphRows("é"), glyphRows("e"));
  assert.deepEqual(glyphRows("☃"), glyphRows("?"));
  assert.equal(textWidth("after"), 29);
  assert.equal(textWidth("after", 2), 58);
  assert.deepEqual(wrapText("a photo of a cat", 50), ["a photo", "of a cat"]);
  assert.deepEqual(wrapText("abcdefghij", 23), ["abcd", "efgh", "ij"]);
  assert.deepEqual(wrapText("two\nlines", 500), ["two", "lines"]);
  const canvas = filledImage(40, 12, [255, 255, 255]);
  drawText(canvas, "T", 1, 1, [0, 0, 0]);
  assert.deepEqual(pixel(canvas, 1, 1), [0, 0, 0]); // T's top bar
  assert.deepEqual(pixel(canvas, 3, 7), [0, 0, 0]); // its stem
  assert.deepEqual(pixel(canvas, 1, 7), [255, 255, 255]);
  drawText(canvas, "clipped", 35, 8, [0, 0, 0], 2); // partly outside: no error
});

Deno.test("grid: layout, captions and centring", () => {
  const red = filledImage(40, 10, [255, 0, 0]), blue = filledImage(10, 10, [0, 0, 255]);
  const grid = imageGrid([[red, blue], [null, red]], {
    rowLabels: ["before", "after"],
    columnLabels: ["a painting by Van Gogh", "dog"],
    gap: 2,
    margin: 3,
  });
  const label = textWidth("before") + 4;
  const lines = wrapText("a painting by Van Gogh", 40);
  assert.deepEqual(lines, ["a", "painti", "ng by", "Van", "Gogh"]);
  const header = lines.length * lineHeight() + 2;
  assert.equal(grid.width, 3 * 2 + label + 40 + 2 + 40);
  assert.equal(grid.height, 3 * 2 + header + 10 + 2 + 10);
  const top = 3 + header, left = 3 + label;
  assert.deepEqual(pixel(grid, left, top), [255, 0, 0]);
  assert.deepEqual(pixel(grid, left + 42 + 15, top + 5), [0, 0, 255], "narrow image centred in its column");
  assert.deepEqual(pixel(grid, left + 42 + 14, top), [255, 255, 255]);
  assert.deepEqual(pixel(grid, left + 5, top + 12), [255, 255, 255], "empty cell");
  assert.ok(inkCount(grid, 3, top, left, top + 10) > 10, "row label drawn");
  assert.ok(inkCount(grid, left, 3, left + 40, top - 2) > 10, "column label drawn");
  assert.throws(() => imageGrid([[red]], { rowLabels: ["a", "b"] }), /2 row labels for 1 rows/);
  assert.throws(() => imageGrid([]), /no images/);
  const titled = imageGrid([[red]], { title: "UCE: erase Van Gogh" });
  assert.ok(titled.height > imageGrid([[red]]).height);
});

Deno.test("paste composites RGBA; toRgb flattens alpha", () => {
  const canvas = filledImage(4, 4, [0, 0, 0]);
  pasteImage(
    canvas,
    { width: 2, height: 2, channels: 4, data: new Uint8Array(16).fill(255).fill(0, 3, 4) },
    3,
    3,
  );
  assert.deepEqual(pixel(canvas, 3, 3), [0, 0, 0], "transparent pixel");
  pasteImage(canvas, filledImage(2, 2, [9, 9, 9]), -1, -1);
  assert.deepEqual(pixel(canvas, 0, 0), [9, 9, 9]);
  assert.deepEqual([...toRgb({ width: 1, height: 1, channels: 4, data: Uint8Array.of(0, 0, 0, 128) }).data], [
    127,
    127,
    127,
  ]);
});

Deno.test("notebook display returns a PNG MIME bundle", () => {
  const image = filledImage(3, 2, [1, 2, 3]);
  const shown = notebookImage(image);
  const bundle = shown[Symbol.for("Jupyter.display")]();
  const png = Uint8Array.from(atob(bundle["image/png"]), (c) => c.charCodeAt(0));
  assert.deepEqual(decodePng(png).data, image.data);
});

Deno.test("resize: area average when shrinking, bilinear when growing", () => {
  const image: RgbImage = { width: 4, height: 2, channels: 3, data: new Uint8Array(24) };
  for (let p = 0; p < 8; p++) image.data.fill(p * 30, p * 3, p * 3 + 3); // row 0: 0 30 60 90; row 1: 120 …
  const half = resizeImage(image, 2, 1);
  assert.deepEqual([...half.data], [75, 75, 75, 135, 135, 135]); // means of 2×2 blocks
  const third = resizeImage(
    { width: 3, height: 1, channels: 3, data: Uint8Array.of(0, 0, 0, 90, 90, 90, 30, 30, 30) },
    2,
    1,
  );
  assert.deepEqual([...third.data], [30, 30, 30, 50, 50, 50]); // coverage 1 + ½, ½ + 1
  const up = resizeImage(
    { width: 2, height: 1, channels: 3, data: Uint8Array.of(0, 0, 0, 100, 100, 100) },
    4,
    1,
  );
  assert.deepEqual([...up.data].filter((_, i) => i % 3 === 0), [0, 25, 75, 100]); // torch bilinear positions
  const grid = imageGrid([[filledImage(64, 32, [1, 2, 3])]], { cellWidth: 16, margin: 0 });
  assert.deepEqual([grid.width, grid.height], [16, 8]);
  assert.throws(() => resizeImage(image, 0, 1), /positive integers/);
});
