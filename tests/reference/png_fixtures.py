"""Reference PNGs for src/image/png_read_test.ts (run by hand; pinned stack in requirements.txt).

Two independent encoders write tiny (7x5, odd sizes) images:
  * Pillow (PIL) for the colour types it writes: gray 1/8/16-bit, gray+alpha, RGB, RGBA, palette+tRNS;
  * a minimal encoder below (zlib + hand-assembled chunks) for what Pillow cannot be told to write: each of
    the five row filter types, 16-bit RGB/RGBA/gray+alpha, 2/4-bit gray and palette, RGB with a tRNS colour
    key, and Adam7 interlacing.
expected.json holds, per file, the pixels a decoder must return: palette expanded, tRNS as an alpha
channel, 1/2/4-bit gray scaled to 0-255, samples row-major and interleaved.

Usage:  python3 tests/reference/png_fixtures.py   (writes tests/fixtures/png/)
"""

import json
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "png")
W, H = 7, 5
rng = np.random.default_rng(2024)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows: list[bytes], bpp: int, ftype) -> bytes:
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for y, row in enumerate(rows):
        f = ftype(y) if callable(ftype) else ftype
        out.append(f)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            out.append((x - pred) & 0xFF)
        prev = row
    return bytes(out)


def pack_row(samples: np.ndarray, depth: int) -> bytes:
    """One row of samples (already in file order) at the bit depth, MSB first, padded to a byte."""
    if depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in samples)
    if depth == 8:
        return bytes(int(v) for v in samples)
    bits = "".join(format(int(v), f"0{depth}b") for v in samples)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def raw_png(samples: np.ndarray, color_type: int, depth: int, ftype=0, interlace=False,
            plte: bytes | None = None, trns: bytes | None = None, text: dict | None = None) -> bytes:
    """samples: [H, W, samples_per_pixel] in file order (palette indices for colour type 3)."""
    h, w, spp = samples.shape
    bpp = max(1, spp * depth // 8)
    passes = ([(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
              if interlace else [(0, 0, 1, 1)])
    data = b""
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = [pack_row(sub[y].reshape(-1), depth) for y in range(sub.shape[0])]
        data += filter_rows(rows, bpp, ftype)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    for k, v in (text or {}).items():
        png += chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("latin-1"))
    if plte is not None:
        png += chunk(b"PLTE", plte)
    if trns is not None:
        png += chunk(b"tRNS", trns)
    # Split the data over two IDAT chunks, as encoders may.
    z = zlib.compress(data, 9)
    png += chunk(b"IDAT", z[: len(z) // 2]) + chunk(b"IDAT", z[len(z) // 2:]) + chunk(b"IEND", b"")
    return png


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    expected = {}

    def save(name: str, png: bytes, channels: int, bit_depth: int, pixels: np.ndarray, text: dict | None = None):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(png)
        expected[name] = {"width": W, "height": H, "channels": channels, "bitDepth": bit_depth,
                          "data": [int(v) for v in pixels.reshape(-1)], "text": text or {}}

    def pil(name: str, img: Image.Image, channels: int, bit_depth: int, pixels: np.ndarray, **kw):
        path = os.path.join(OUT, name)
        img.save(path, **kw)
        expected[name] = {"width": W, "height": H, "channels": channels, "bitDepth": bit_depth,
                          "data": [int(v) for v in pixels.reshape(-1)], "text": {}}

    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    gray = rng.integers(0, 256, (H, W), dtype=np.uint8)
    ga = rng.integers(0, 256, (H, W, 2), dtype=np.uint8)
    gray16 = rng.integers(0, 65536, (H, W), dtype=np.uint16)
    bits = rng.integers(0, 2, (H, W), dtype=np.uint8)

    # Pillow: one file per colour type it writes.
    pil("pil_gray8.png", Image.fromarray(gray, "L"), 1, 8, gray)
    pil("pil_gray_alpha8.png", Image.fromarray(ga, "LA"), 2, 8, ga)
    pil("pil_rgb8.png", Image.fromarray(rgb, "RGB"), 3, 8, rgb)
    pil("pil_rgba8.png", Image.fromarray(rgba, "RGBA"), 4, 8, rgba)
    pil("pil_gray16.png", Image.fromarray(gray16.astype(np.int32), "I").convert("I;16"), 1, 16, gray16)
    pil("pil_gray1.png", Image.fromarray(bits * 255, "L").convert("1"), 1, 8, bits * 255)
    palette = rng.integers(0, 256, (6, 3), dtype=np.uint8)
    alphas = [255, 0, 128, 255, 64, 200]
    idx = rng.integers(0, 6, (H, W), dtype=np.uint8)
    p = Image.fromarray(idx, "P")
    p.putpalette(palette.reshape(-1).tolist())
    p.info["transparency"] = bytes(alphas)
    expected_p = np.concatenate([palette[idx], np.array(alphas, dtype=np.uint8)[idx][..., None]], axis=-1)
    pil("pil_palette_trns.png", p, 4, 8, expected_p, transparency=bytes(alphas))

    # Own encoder: every filter type on RGB and RGBA rows, and a per-row mix.
    for f in range(5):
        save(f"filter{f}_rgb8.png", raw_png(rgb, 2, 8, f), 3, 8, rgb)
    save("filter_mixed_rgba8.png", raw_png(rgba, 6, 8, lambda y: (y * 3 + 1) % 5), 4, 8, rgba)
    # 16-bit colour, gray+alpha; Paeth and Average on 2-byte samples.
    rgb16 = rng.integers(0, 65536, (H, W, 3), dtype=np.uint16)
    rgba16 = rng.integers(0, 65536, (H, W, 4), dtype=np.uint16)
    ga16 = rng.integers(0, 65536, (H, W, 2), dtype=np.uint16)
    save("rgb16_paeth.png", raw_png(rgb16, 2, 16, 4), 3, 16, rgb16)
    save("rgba16_average.png", raw_png(rgba16, 6, 16, 3), 4, 16, rgba16)
    save("gray_alpha16_sub.png", raw_png(ga16, 4, 16, 1), 2, 16, ga16)
    # Sub-byte gray and palette (rows padded to a byte), with text metadata.
    g2 = rng.integers(0, 4, (H, W), dtype=np.uint8)
    save("gray2_up.png", raw_png(g2[..., None], 0, 2, 2), 1, 8, (g2 * 85).astype(np.uint8))
    g4 = rng.integers(0, 16, (H, W), dtype=np.uint8)
    save("gray4_paeth.png", raw_png(g4[..., None], 0, 4, 4, text={"prompt": "a cat", "seed": "42"}), 1, 8,
         (g4 * 17).astype(np.uint8), text={"prompt": "a cat", "seed": "42"})
    pal16 = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    i4 = rng.integers(0, 16, (H, W), dtype=np.uint8)
    save("palette4.png", raw_png(i4[..., None], 3, 4, 1, plte=pal16.tobytes()), 3, 8, pal16[i4])
    # RGB with a tRNS colour key: pixels of that colour become transparent.
    keyed = rgb.copy()
    keyed[1, 2] = keyed[3, 5] = (10, 20, 30)
    alpha = np.full((H, W, 1), 255, dtype=np.uint8)
    alpha[1, 2] = alpha[3, 5] = 0
    save("rgb8_trns.png", raw_png(keyed, 2, 8, 0, trns=struct.pack(">HHH", 10, 20, 30)), 4, 8,
         np.concatenate([keyed, alpha], axis=-1))
    # Adam7 interlacing, 8-bit RGBA and 1-bit gray.
    save("adam7_rgba8.png", raw_png(rgba, 6, 8, 4, interlace=True), 4, 8, rgba)
    save("adam7_gray1.png", raw_png(bits[..., None], 0, 1, 1, interlace=True), 1, 8, bits * 255)

    # The hand-written files must read back through Pillow's independent decoder (8-bit ones: Pillow
    # reduces 16-bit colour).
    for name, e in expected.items():
        if e["bitDepth"] != 8:
            continue
        im = Image.open(os.path.join(OUT, name))
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[e["channels"]]
        got = np.asarray(im.convert(mode)).reshape(-1)
        assert got.tolist() == e["data"], name

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"generator": f"tests/reference/png_fixtures.py, Pillow {PIL.__version__}", "images": expected}, f)
        f.write("\n")
    print(len(expected), "images")


if __name__ == "__main__":
    main()
