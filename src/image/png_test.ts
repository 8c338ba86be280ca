import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { decodePng, pngToRgb, readPng } from "./png_read.ts";
import { encodePng, writePng } from "./png_write.ts";
import { crc32 } from "./crc32.ts";
import { Random } from "../sample/random.ts";
import type { RgbImage } from "./image.ts";

const FIXTURES = fileURLToPath(new URL("../../tests/fixtures/png/", import.meta.url));

interface Expected {
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  data: number[];
  text: Record<string, string>;
}

function randomImage(width: number, height: number, channels: 3 | 4, seed: number): RgbImage {
  const rng = new Random(seed, "png");
  const data = new Uint8Array(width * height * channels);
  // Smooth gradients plus noise, so every filter type gets chosen somewhere.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const smooth = (x * 3 + y * 5 + c * 40) & 255;
        data[(y * width + x) * channels + c] = y % 3 === 0 ? rng.nextUint32() & 255 : smooth;
      }
    }
  }
  return { width, height, channels, data };
}

Deno.test("PNG: reads files written by Pillow and by an independent encoder (every type, depth, filter)", async () => {
  const expected: Record<string, Expected> =
    JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8")).images;
  const names = readdirSync(FIXTURES).filter((n) => n.endsWith(".png"));
  assert.equal(names.length, Object.keys(expected).length);
  for (const name of names) {
    const png = await readPng(join(FIXTURES, name));
    const e = expected[name];
    assert.deepEqual(
      { w: png.width, h: png.height, c: png.channels, d: png.bitDepth },
      { w: e.width, h: e.height, c: e.channels, d: e.bitDepth },
      name,
    );
    assert.ok(png.data instanceof (e.bitDepth === 16 ? Uint16Array : Uint8Array), name);
    assert.deepEqual([...png.data], e.data, name);
    assert.deepEqual(png.text, e.text, name);
  }
});

Deno.test("PNG: round trip for RGB and RGBA, every filter choice, with text", () => {
  for (const channels of [3, 4] as const) {
    const image = randomImage(13, 9, channels, channels);
    for (const filter of [0, 1, 2, 3, 4, "adaptive"] as const) {
      const bytes = encodePng(image, { filter, text: { prompt: "a photo of a cat", seed: "7" } });
      const back = decodePng(bytes, "round trip");
      assert.equal(back.channels, channels);
      assert.equal(back.bitDepth, 8);
      assert.deepEqual(back.data, image.data, `filter ${filter}`);
      assert.deepEqual(back.text, { prompt: "a photo of a cat", seed: "7" });
      assert.deepEqual(pngToRgb(back), image);
    }
  }
});

Deno.test("PNG: 16-bit and gray decode to 8-bit RGB(A)", () => {
  const png = decodePng(readFileSync(join(FIXTURES, "rgba16_average.png")), "x");
  const rgb = pngToRgb(png);
  assert.equal(rgb.channels, 4);
  assert.equal(rgb.data[0], Math.round(png.data[0] / 257));
  const gray = pngToRgb(decodePng(readFileSync(join(FIXTURES, "pil_gray8.png"))));
  assert.equal(gray.channels, 3);
  assert.equal(gray.data[0], gray.data[1]);
});

Deno.test("PNG: corrupt and truncated files are errors naming the file", () => {
  const good = encodePng(randomImage(5, 4, 3, 1));
  const bad = (bytes: Uint8Array, re: RegExp): void => {
    assert.throws(
      () => decodePng(bytes, "pics/x.png"),
      (e: Error) => e.message.startsWith("pics/x.png: ") && re.test(e.message),
    );
  };
  bad(good.subarray(0, 5), /not a PNG file/);
  bad(Uint8Array.from([...good.subarray(0, 7), 0, ...good.subarray(8)]), /bad signature/);
  for (const cut of [20, 40, good.length - 8, good.length - 1]) bad(good.subarray(0, cut), /truncated/);
  const flipped = good.slice();
  flipped[50] ^= 0x10; // inside IDAT
  bad(flipped, /chunk IDAT at byte \d+ has a bad CRC/);
  // A valid CRC over corrupt zlib data.
  const idat = findChunk(good, "IDAT");
  const broken = good.slice();
  broken.fill(0xff, idat.data, idat.data + idat.length);
  new DataView(broken.buffer).setUint32(
    idat.data + idat.length,
    crc32(broken, idat.data - 4, idat.data + idat.length),
  );
  bad(broken, /does not inflate/);
  bad(withIhdrByte(good, 9, 5), /colour type 5/);
  bad(withIhdrByte(good, 8, 4), /bit depth 4 is invalid for colour type 2/);
  assert.throws(
    () => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }),
    /needs 12 bytes/,
  );
});

Deno.test("PNG: writePng is atomic and readPng names missing files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "png-"));
  const path = join(dir, "a.png");
  const image = randomImage(4, 4, 3, 9);
  await writePng(path, image);
  assert.deepEqual(pngToRgb(await readPng(path)), image);
  assert.deepEqual(readdirSync(dir), ["a.png"]);
  await assert.rejects(writePng(join(dir, "no", "b.png"), image), /no\/b\.png: cannot write PNG/);
  assert.deepEqual(readdirSync(dir), ["a.png"]);
  await assert.rejects(readPng(join(dir, "missing.png")), /missing\.png: cannot read/);
});

function findChunk(png: Uint8Array, type: string): { data: number; length: number } {
  const view = new DataView(png.buffer, png.byteOffset);
  for (let o = 8; o < png.length;) {
    const length = view.getUint32(o);
    if (String.fromCharCode(...png.subarray(o + 4, o + 8)) === type) return { data: o + 8, length };
    o += 12 + length;
  }
  throw new Error(`no ${type}`);
}

/** The PNG with IHDR byte `index` changed and the CRC fixed, so only the header's meaning is wrong. */
function withIhdrByte(png: Uint8Array, index: number, value: number): Uint8Array {
  const out = png.slice();
  out[16 + index] = value;
  new DataView(out.buffer).setUint32(29, crc32(out, 12, 29));
  return out;
}
