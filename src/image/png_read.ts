/**
 * PNG decoder for reference images: every standard colour type (gray, RGB, palette, gray+alpha, RGBA) and
 * bit depth (1, 2, 4, 8, 16), all five row filters, Adam7 interlacing, tRNS transparency and tEXt
 * metadata. Every chunk's CRC is checked; a corrupt or truncated file is an error naming the file.
 *
 * @module
 */

import { unzlibSync } from "fflate";
import { readFile } from "node:fs/promises";
import { crc32 } from "./crc32.ts";
import { concatBytes } from "../tokenizer/concat_bytes.ts";
import type { RgbImage } from "./image.ts";
import { paeth, PNG_SIGNATURE } from "./png_write.ts";

/** A decoded PNG: palette expanded, transparency as an alpha channel, 1/2/4-bit gray scaled to 8 bits. */
export interface PngImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** 8 (data is a Uint8Array) or 16 (data is a Uint16Array). */
  bitDepth: 8 | 16;
  /** width · height · channels samples, row-major, interleaved. */
  data: Uint8Array | Uint16Array;
  /** tEXt chunks (Latin-1 key → value). */
  text: Record<string, string>;
}

const ALLOWED_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
const SAMPLES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
// Adam7 passes: x start, y start, x step, y step.
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [
  0,
  1,
  1,
  2,
]];

/**
 * Reads and decodes a PNG file.
 *
 * @example
 * ```ts ignore
 * import { readPng, pngToRgb } from "./png_read.ts";
 * const reference = pngToRgb(await readPng("reference/van_gogh.png"));
 * ```
 */
export async function readPng(path: string): Promise<PngImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  return decodePng(bytes, path);
}

/**
 * Decodes PNG bytes; `source` names the file in error messages.
 *
 * @example
 * ```ts
 * import { decodePng } from "./png_read.ts";
 * import { encodePng } from "./png_write.ts";
 * import { filledImage } from "./image.ts";
 * const png = decodePng(encodePng(filledImage(2, 2, [1, 2, 3])), "memory");
 * png.channels; // 3
 * ```
 */
export function decodePng(bytes: Uint8Array, source = "PNG data"): PngImage {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    fail("not a PNG file (bad signature)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, depth = 0, colorType = -1, interlace = 0;
  let palette: Uint8Array | null = null;
  let transparency: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  const text: Record<string, string> = {};
  let offset = 8;
  let ended = false;
  while (!ended) {
    if (offset + 12 > bytes.length) {
      fail(`truncated: chunk header expected at byte ${offset} (no IEND chunk)`);
    }
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const end = offset + 8 + length;
    if (length > 0x7fffffff || end + 4 > bytes.length) {
      fail(`truncated: chunk ${type} at byte ${offset} runs past the end`);
    }
    if (crc32(bytes, offset + 4, end) !== view.getUint32(end)) {
      fail(`chunk ${type} at byte ${offset} has a bad CRC (the file is corrupt)`);
    }
    const data = bytes.subarray(offset + 8, end);
    if (colorType < 0 && type !== "IHDR") fail(`the first chunk is ${type}, not IHDR`);
    switch (type) {
      case "IHDR": {
        if (length !== 13) fail(`IHDR has length ${length}, not 13`);
        width = view.getUint32(offset + 8);
        height = view.getUint32(offset + 12);
        [depth, colorType] = [data[8], data[9]];
        interlace = data[12];
        if (width < 1 || height < 1) fail(`image size ${width}×${height} is empty`);
        if (!(colorType in ALLOWED_DEPTHS)) fail(`colour type ${colorType} is not a PNG colour type`);
        if (!ALLOWED_DEPTHS[colorType].includes(depth)) {
          fail(`bit depth ${depth} is invalid for colour type ${colorType}`);
        }
        if (data[10] !== 0 || data[11] !== 0) fail("unknown compression or filter method");
        if (interlace > 1) fail(`unknown interlace method ${interlace}`);
        break;
      }
      case "PLTE":
        if (length % 3 !== 0 || length === 0 || length > 768) fail(`PLTE has a bad length ${length}`);
        palette = data;
        break;
      case "tRNS":
        transparency = data;
        break;
      case "IDAT":
        idat.push(data);
        break;
      case "tEXt": {
        const nul = data.indexOf(0);
        if (nul > 0) text[latin1(data.subarray(0, nul))] = latin1(data.subarray(nul + 1));
        break;
      }
      case "IEND":
        ended = true;
        break;
      default:
        // Bit 5 of the first type byte clear = critical: a chunk we must understand to show the image.
        if ((bytes[offset + 4] & 0x20) === 0) fail(`unknown critical chunk ${type}`);
    }
    offset = end + 4;
  }
  if (idat.length === 0) fail("no IDAT chunk (no image data)");
  if (colorType === 3 && palette === null) fail("palette image without a PLTE chunk");

  let inflated: Uint8Array;
  try {
    inflated = unzlibSync(idat.length === 1 ? idat[0] : concatBytes(idat));
  } catch (e) {
    return fail(`image data does not inflate (corrupt zlib stream: ${(e as Error).message})`);
  }
  const samples = SAMPLES_PER_PIXEL[colorType];
  const bitsPerPixel = samples * depth;
  // One sample array in the file's own layout (palette indices, gray, …) at 8 or 16 bits.
  const plain = depth === 16
    ? new Uint16Array(width * height * samples)
    : new Uint8Array(width * height * samples);
  let position = 0;
  const passes = interlace === 1 ? ADAM7 : [[0, 0, 1, 1]];
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx), ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const rowBytes = Math.ceil(pw * bitsPerPixel / 8);
    const need = ph * (rowBytes + 1);
    if (position + need > inflated.length) {
      fail(`image data is short: ${inflated.length} bytes inflated, more than ${position + need - 1} needed`);
    }
    const rows = unfilter(
      inflated.subarray(position, position + need),
      ph,
      rowBytes,
      Math.max(1, bitsPerPixel >> 3),
      fail,
    );
    position += need;
    if (interlace === 0 && depth === 8) {
      plain.set(rows); // rows are already the samples, back to back
      continue;
    }
    for (let py = 0; py < ph; py++) {
      const row = rows.subarray(py * rowBytes, (py + 1) * rowBytes);
      const y = y0 + py * dy;
      for (let px = 0; px < pw; px++) {
        const base = ((y * width) + x0 + px * dx) * samples;
        for (let s = 0; s < samples; s++) plain[base + s] = sampleAt(row, px * samples + s, depth);
      }
    }
  }
  return expand(width, height, colorType, depth, plain, palette, transparency, text, fail);
}

/** Reverses the row filters; returns the unfiltered rows without their filter bytes. */
function unfilter(
  data: Uint8Array,
  rowsCount: number,
  rowBytes: number,
  bpp: number,
  fail: (why: string) => never,
): Uint8Array {
  const out = new Uint8Array(rowsCount * rowBytes);
  const zero = new Uint8Array(rowBytes);
  for (let y = 0; y < rowsCount; y++) {
    const type = data[y * (rowBytes + 1)];
    const src = data.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    const row = out.subarray(y * rowBytes, (y + 1) * rowBytes);
    const up = y > 0 ? out.subarray((y - 1) * rowBytes, y * rowBytes) : zero;
    if (type === 0) {
      row.set(src);
    } else if (type === 1) {
      for (let i = 0; i < bpp; i++) row[i] = src[i];
      for (let i = bpp; i < rowBytes; i++) row[i] = src[i] + row[i - bpp];
    } else if (type === 2) {
      for (let i = 0; i < rowBytes; i++) row[i] = src[i] + up[i];
    } else if (type === 3) {
      for (let i = 0; i < bpp; i++) row[i] = src[i] + (up[i] >> 1);
      for (let i = bpp; i < rowBytes; i++) row[i] = src[i] + ((row[i - bpp] + up[i]) >> 1);
    } else if (type === 4) {
      for (let i = 0; i < bpp; i++) row[i] = src[i] + up[i];
      for (let i = bpp; i < rowBytes; i++) row[i] = src[i] + paeth(row[i - bpp], up[i], up[i - bpp]);
    } else {
      fail(`row ${y} has unknown filter type ${type}`);
    }
  }
  return out;
}

/** Sample `index` of a row at bit depth 1, 2, 4, 8 or 16 (big-endian, most significant bits first). */
function sampleAt(row: Uint8Array, index: number, depth: number): number {
  if (depth === 8) return row[index];
  if (depth === 16) return (row[2 * index] << 8) | row[2 * index + 1];
  const bit = index * depth;
  return (row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
}

/** Palette expansion, tRNS as alpha, sub-byte gray scaled to 0–255. */
function expand(
  width: number,
  height: number,
  colorType: number,
  depth: number,
  plain: Uint8Array | Uint16Array,
  palette: Uint8Array | null,
  trns: Uint8Array | null,
  text: Record<string, string>,
  fail: (why: string) => never,
): PngImage {
  const n = width * height;
  const bitDepth: 8 | 16 = depth === 16 ? 16 : 8;
  if (colorType === 3) {
    const entries = palette!.length / 3;
    const ch = trns ? 4 : 3;
    const out = new Uint8Array(n * ch);
    for (let p = 0; p < n; p++) {
      const k = plain[p];
      if (k >= entries) {
        fail(`pixel ${p % width},${Math.floor(p / width)} uses palette entry ${k} of ${entries}`);
      }
      out.set(palette!.subarray(k * 3, k * 3 + 3), p * ch);
      if (trns) out[p * ch + 3] = k < trns.length ? trns[k] : 255;
    }
    return { width, height, channels: ch, bitDepth: 8, data: out, text };
  }
  if (colorType === 0 && depth < 8) {
    const scale = 255 / ((1 << depth) - 1);
    for (let p = 0; p < n; p++) plain[p] = plain[p] * scale;
  }
  const samples = SAMPLES_PER_PIXEL[colorType];
  if (trns && (colorType === 0 || colorType === 2)) {
    if (trns.length !== samples * 2) fail(`tRNS has length ${trns.length}, not ${samples * 2}`);
    const key = Array.from({ length: samples }, (_, s) => (trns[2 * s] << 8) | trns[2 * s + 1]);
    if (colorType === 0 && depth < 8) key[0] = key[0] * 255 / ((1 << depth) - 1);
    const max = depth === 16 ? 65535 : 255;
    const out = depth === 16 ? new Uint16Array(n * (samples + 1)) : new Uint8Array(n * (samples + 1));
    for (let p = 0; p < n; p++) {
      let match = true;
      for (let s = 0; s < samples; s++) {
        out[p * (samples + 1) + s] = plain[p * samples + s];
        if (plain[p * samples + s] !== key[s]) match = false;
      }
      out[p * (samples + 1) + samples] = match ? 0 : max;
    }
    return { width, height, channels: (samples + 1) as 2 | 4, bitDepth, data: out, text };
  }
  return { width, height, channels: samples as 1 | 2 | 3 | 4, bitDepth, data: plain, text };
}

/**
 * A decoded PNG as an 8-bit RGB or RGBA {@linkcode RgbImage} (gray replicated, 16-bit rounded to 8).
 *
 * @example
 * ```ts
 * import { decodePng, pngToRgb } from "./png_read.ts";
 * import { encodePng } from "./png_write.ts";
 * import { filledImage } from "./image.ts";
 * pngToRgb(decodePng(encodePng(filledImage(2, 2, [9, 9, 9])))).channels; // 3
 * ```
 */
export function pngToRgb(png: PngImage): RgbImage {
  const n = png.width * png.height;
  const alpha = png.channels === 2 || png.channels === 4;
  const colour = png.channels >= 3;
  const ch = alpha ? 4 : 3;
  const out = new Uint8Array(n * ch);
  const to8 = png.bitDepth === 16 ? (v: number) => Math.round(v / 257) : (v: number) => v;
  for (let p = 0; p < n; p++) {
    const src = p * png.channels;
    for (let c = 0; c < 3; c++) out[p * ch + c] = to8(png.data[src + (colour ? c : 0)]);
    if (alpha) out[p * ch + 3] = to8(png.data[src + png.channels - 1]);
  }
  return { width: png.width, height: png.height, channels: ch, data: out };
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
