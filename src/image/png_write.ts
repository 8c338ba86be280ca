/**
 * PNG encoder for 8-bit RGB/RGBA images (zlib from fflate), with optional tEXt metadata such as the prompt,
 * seed and sampler an image was generated with.
 *
 * @module
 */

import { zlibSync } from "fflate";
import { rename, rm, writeFile } from "node:fs/promises";
import { crc32 } from "./crc32.ts";
import { concatBytes } from "../tokenizer/concat_bytes.ts";
import { checkImage, type RgbImage } from "./image.ts";

/** PNG's 8-byte signature. */
export const PNG_SIGNATURE: Uint8Array = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

/** Encoder settings. */
export interface PngWriteOptions {
  /** Row filter: 0–4 for one fixed filter type, or "adaptive" (per row, least sum of |bytes|; default). */
  filter?: 0 | 1 | 2 | 3 | 4 | "adaptive";
  /** zlib level 0–9 (default 6). */
  level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  /** Latin-1 key/value pairs stored as tEXt chunks (keys 1–79 characters). */
  text?: Record<string, string>;
}

/**
 * Encodes an 8-bit RGB or RGBA image as PNG bytes.
 *
 * @example
 * ```ts
 * import { encodePng } from "./png_write.ts";
 * import { filledImage } from "./image.ts";
 * const bytes = encodePng(filledImage(8, 8, [255, 0, 0]), { text: { prompt: "a red square" } });
 * ```
 */
export function encodePng(image: RgbImage, options: PngWriteOptions = {}): Uint8Array {
  checkImage(image, "encodePng");
  const { width, height, channels, data } = image;
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  const filter = options.filter ?? "adaptive";
  const candidates = Array.from({ length: 5 }, () => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    const above = y > 0 ? data.subarray((y - 1) * stride, y * stride) : null;
    let type: number;
    if (filter === "adaptive") {
      let best = Infinity;
      type = 0;
      for (let f = 0; f < 5; f++) {
        filterRow(f, row, above, channels, candidates[f]);
        const cost = rowCost(candidates[f]);
        if (cost < best) (best = cost), (type = f);
      }
    } else {
      if (![0, 1, 2, 3, 4].includes(filter)) throw new Error(`encodePng: filter must be 0–4 or "adaptive"`);
      type = filter;
      filterRow(type, row, above, channels, candidates[type]);
    }
    raw[y * (stride + 1)] = type;
    raw.set(candidates[type], y * (stride + 1) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, channels === 4 ? 6 : 2, 0, 0, 0], 8);
  const chunks: Uint8Array[] = [PNG_SIGNATURE, chunk("IHDR", header)];
  for (const [key, value] of Object.entries(options.text ?? {})) {
    chunks.push(chunk("tEXt", textData(key, value)));
  }
  chunks.push(chunk("IDAT", zlibSync(raw, { level: options.level ?? 6 })), chunk("IEND", new Uint8Array(0)));
  return concatBytes(chunks);
}

/**
 * Writes an image as a PNG file atomically (a temporary file beside `path`, then renamed over it).
 *
 * @example
 * ```ts ignore
 * import { writePng } from "./png_write.ts";
 * import { filledImage } from "./image.ts";
 * await writePng("out/red.png", filledImage(8, 8, [255, 0, 0]));
 * ```
 */
export async function writePng(path: string, image: RgbImage, options: PngWriteOptions = {}): Promise<void> {
  const bytes = encodePng(image, options);
  const temp = `${path}.tmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw new Error(`${path}: cannot write PNG (${(e as Error).message})`);
  }
}

/** Applies PNG filter `type` to one row (bytes per pixel `bpp`) into `out`; one loop per type for speed. */
function filterRow(
  type: number,
  row: Uint8Array,
  above: Uint8Array | null,
  bpp: number,
  out: Uint8Array,
): void {
  const n = row.length;
  if (type === 0 || (type === 2 && !above)) {
    out.set(row);
  } else if (type === 1 || (type === 4 && !above)) {
    // Paeth without a row above predicts from the left, like Sub.
    for (let i = 0; i < bpp; i++) out[i] = row[i];
    for (let i = bpp; i < n; i++) out[i] = row[i] - row[i - bpp];
  } else if (type === 2) {
    for (let i = 0; i < n; i++) out[i] = row[i] - above![i];
  } else if (type === 3) {
    if (!above) {
      for (let i = 0; i < bpp; i++) out[i] = row[i];
      for (let i = bpp; i < n; i++) out[i] = row[i] - (row[i - bpp] >> 1);
    } else {
      for (let i = 0; i < bpp; i++) out[i] = row[i] - (above[i] >> 1);
      for (let i = bpp; i < n; i++) out[i] = row[i] - ((row[i - bpp] + above[i]) >> 1);
    }
  } else {
    const b = above!;
    for (let i = 0; i < bpp; i++) out[i] = row[i] - b[i];
    for (let i = bpp; i < n; i++) out[i] = row[i] - paeth(row[i - bpp], b[i], b[i - bpp]);
  }
}

/**
 * The Paeth predictor of PNG filter type 4: whichever of left, above, upper-left is closest to
 * left + above − upper-left (ties: left, then above).
 *
 * @example
 * ```ts
 * import { paeth } from "./png_write.ts";
 * paeth(10, 20, 10); // 20
 * ```
 */
export function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The usual heuristic: the sum of the filtered bytes read as signed values. */
function rowCost(filtered: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < filtered.length; i++) s += filtered[i] < 128 ? filtered[i] : 256 - filtered[i];
  return s;
}

function textData(key: string, value: string): Uint8Array {
  if (key.length < 1 || key.length > 79 || !/^[\x20-\x7e\xa1-\xff]+$/.test(key)) {
    throw new Error(`encodePng: text key ${JSON.stringify(key)} must be 1–79 printable Latin-1 characters`);
  }
  const all = `${key}\0${value}`;
  const out = new Uint8Array(all.length);
  for (let i = 0; i < all.length; i++) {
    const c = all.charCodeAt(i);
    if (c > 255 || (i > key.length && c === 0)) {
      throw new Error(
        `encodePng: text value of ${JSON.stringify(key)} must be Latin-1 without NUL characters`,
      );
    }
    out[i] = c;
  }
  return out;
}

/** One chunk: length, type, data, CRC of type + data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}
