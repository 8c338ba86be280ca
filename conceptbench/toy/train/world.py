"""The toy world: a seeded procedural renderer of 32x32 captioned images.

Concepts fall in ConceptBench's three categories:
- objects: six shapes drawn in one of six colours;
- styles: four whole-image textures (plain is the unstyled default, not a concept);
- IDs: four invented characters, each a fixed composition of shapes and colours.
Scenes (beach, night, grass) vary the background so that erasing one concept while
keeping the rest can be measured. Every image is a function of (kind, labels, seed).
"""

from __future__ import annotations

import numpy as np

SIZE = 32
SUPER = 2  # render at 2x and box-filter down: anti-aliased edges

OBJECTS = ["circle", "square", "triangle", "star", "cross", "ring"]
STYLES = ["plain", "striped", "dotted", "checkered", "painted"]  # index 0: no style
IDS = ["none", "zorblax", "quimbo", "flarnip", "vextor"]  # index 0: no character
OBJECT_LABELS = ["none"] + OBJECTS  # judge object head
SCENES = ["plain", "beach", "night", "grass"]
COLORS = {
    "red": (0.90, 0.12, 0.10),
    "blue": (0.12, 0.25, 0.92),
    "green": (0.10, 0.70, 0.18),
    "yellow": (0.98, 0.85, 0.08),
    "purple": (0.60, 0.15, 0.80),
    "orange": (1.00, 0.50, 0.05),
}
SCENE_PHRASE = {"beach": "on a beach", "night": "at night", "grass": "on grass"}


def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(n) + 0.5) / n * 2.0 - 1.0
    y, x = np.meshgrid(c, c, indexing="ij")
    return x, y  # y grows downwards, as in the image


def _in_polygon(x: np.ndarray, y: np.ndarray, pts: list[tuple[float, float]]) -> np.ndarray:
    """Even-odd rule point-in-polygon test on a coordinate grid."""
    inside = np.zeros(x.shape, dtype=bool)
    n = len(pts)
    for i in range(n):
        x1, y1 = pts[i]
        x2, y2 = pts[(i + 1) % n]
        crosses = (y1 > y) != (y2 > y)
        xint = (x2 - x1) * (y - y1) / ((y2 - y1) if y2 != y1 else 1e-9) + x1
        inside ^= crosses & (x < xint)
    return inside


def shape_mask(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mask of a unit-size shape at the origin (coordinates already relative and scaled)."""
    r = np.sqrt(x * x + y * y)
    if shape == "circle":
        return r <= 0.95
    if shape == "square":
        return np.maximum(np.abs(x), np.abs(y)) <= 0.78
    if shape == "triangle":
        return _in_polygon(x, y, [(0.0, -0.95), (0.95, 0.75), (-0.95, 0.75)])
    if shape == "star":
        pts = []
        for k in range(10):
            a = -np.pi / 2 + k * np.pi / 5
            rad = 1.0 if k % 2 == 0 else 0.42
            pts.append((rad * np.cos(a), rad * np.sin(a) + 0.08))
        return _in_polygon(x, y, pts)
    if shape == "cross":
        return ((np.abs(x) <= 0.28) & (np.abs(y) <= 0.95)) | ((np.abs(y) <= 0.28) & (np.abs(x) <= 0.95))
    if shape == "ring":
        return (r <= 0.95) & (r >= 0.55)
    raise ValueError(f"unknown shape {shape!r}")


def _paint(img: np.ndarray, mask: np.ndarray, color) -> None:
    img[mask] = np.asarray(color, dtype=np.float32)


def draw_character(img: np.ndarray, name: str, x: np.ndarray, y: np.ndarray) -> None:
    """Draws one of the fixed character compositions (coordinates relative and scaled)."""
    r = lambda cx, cy: np.sqrt((x - cx) ** 2 + (y - cy) ** 2)  # noqa: E731
    box = lambda x0, y0, x1, y1: (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)  # noqa: E731
    if name == "zorblax":  # a yellow face: two black eyes, a red mouth
        _paint(img, r(0, 0) <= 0.95, (0.98, 0.85, 0.08))
        _paint(img, r(-0.35, -0.25) <= 0.17, (0.05, 0.05, 0.05))
        _paint(img, r(0.35, -0.25) <= 0.17, (0.05, 0.05, 0.05))
        _paint(img, box(-0.45, 0.3, 0.45, 0.5), (0.85, 0.1, 0.1))
    elif name == "quimbo":  # a blue house with a red roof and a white door
        _paint(img, box(-0.7, -0.1, 0.7, 0.95), (0.12, 0.3, 0.9))
        _paint(img, _in_polygon(x, y, [(0.0, -0.95), (0.9, -0.1), (-0.9, -0.1)]), (0.88, 0.12, 0.1))
        _paint(img, box(-0.2, 0.35, 0.2, 0.95), (0.97, 0.97, 0.97))
    elif name == "flarnip":  # a mushroom: red cap with white spots on a beige stem
        _paint(img, box(-0.3, 0.0, 0.3, 0.95), (0.92, 0.82, 0.62))
        _paint(img, (r(0, 0.1) <= 0.95) & (y <= 0.1), (0.9, 0.1, 0.12))
        for cx, cy in [(-0.45, -0.25), (0.0, -0.55), (0.45, -0.25)]:
            _paint(img, r(cx, cy) <= 0.16, (0.98, 0.98, 0.98))
    elif name == "vextor":  # a grey robot head: cyan eyes, an orange antenna ball
        _paint(img, box(-0.03, -0.75, 0.03, -0.4) | box(-0.06, -0.75, 0.06, -0.4), (0.3, 0.3, 0.3))
        _paint(img, r(0, -0.8) <= 0.17, (1.0, 0.5, 0.05))
        _paint(img, box(-0.7, -0.4, 0.7, 0.8), (0.55, 0.57, 0.6))
        _paint(img, box(-0.5, -0.2, -0.15, 0.15) | box(0.15, -0.2, 0.5, 0.15), (0.1, 0.9, 0.95))
        _paint(img, box(-0.4, 0.45, 0.4, 0.6), (0.15, 0.15, 0.15))
    else:
        raise ValueError(f"unknown character {name!r}")


def _background(scene: str, rng: np.random.Generator, n: int) -> np.ndarray:
    img = np.empty((n, n, 3), dtype=np.float32)
    x, y = _grid(n)
    if scene == "plain":
        img[:] = np.clip(0.86 + rng.uniform(-0.05, 0.05, 3), 0, 1)
    elif scene == "beach":
        horizon = rng.uniform(0.0, 0.3)
        img[:] = (0.55, 0.78, 0.98)
        img[y > horizon] = (0.94, 0.82, 0.52)
    elif scene == "night":
        img[:] = (0.07, 0.07, 0.22)
    elif scene == "grass":
        horizon = rng.uniform(-0.1, 0.2)
        img[:] = (0.75, 0.88, 0.98)
        img[y > horizon] = (0.35, 0.62, 0.2)
    else:
        raise ValueError(f"unknown scene {scene!r}")
    return img


def _smooth_noise(rng: np.random.Generator, cells: int, n: int) -> np.ndarray:
    """Bilinear upsampling of a coarse random field: low-frequency blotches."""
    coarse = rng.uniform(-1, 1, (cells + 1, cells + 1, 3)).astype(np.float32)
    t = np.linspace(0, cells, n, endpoint=False) + 0.5 * cells / n
    i = np.clip(np.floor(t).astype(int), 0, cells - 1)
    f = (t - i)[:, None]
    rows = coarse[i] * (1 - f[:, :, None]) + coarse[i + 1] * f[:, :, None]  # (n, cells+1, 3)
    fc = (t - i)[None, :, None]
    return rows[:, i] * (1 - fc) + rows[:, i + 1] * fc


def apply_style(img: np.ndarray, style: str, rng: np.random.Generator) -> np.ndarray:
    """Whole-image textures at the final 32x32 resolution."""
    n = img.shape[0]
    yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    if style == "plain":
        return img
    if style == "striped":  # diagonal bands, period 6 px, darkened
        phase = rng.integers(0, 6)
        band = ((xx + yy + phase) % 6) < 3
        out = img.copy()
        out[band] *= 0.45
        return out
    if style == "dotted":  # a grid of 2x2 dots in the inverted colour
        ox, oy = rng.integers(0, 4, 2)
        dot = (((xx + ox) % 4) < 2) & (((yy + oy) % 4) < 2) & (((xx + ox) // 4 + (yy + oy) // 4) % 1 == 0)
        dot &= ((xx + ox) % 4 == 0) | ((xx + ox) % 4 == 1)
        dot &= ((yy + oy) % 4 == 0) | ((yy + oy) % 4 == 1)
        out = img.copy()
        out[dot] = 1.0 - out[dot] * 0.9
        return out
    if style == "checkered":  # 8 px checkerboard, alternating cells brightened and darkened
        ox, oy = rng.integers(0, 8, 2)
        cell = (((xx + ox) // 8 + (yy + oy) // 8) % 2) == 0
        out = img.copy()
        out[cell] = out[cell] * 0.5
        out[~cell] = 0.25 + 0.75 * out[~cell]
        return out
    if style == "painted":  # warm, posterised colours with brushy colour blotches
        noise = _smooth_noise(rng, 4, n)
        out = img * np.array([1.0, 0.85, 0.6], dtype=np.float32) + 0.12 + 0.28 * noise
        out = np.round(np.clip(out, 0, 1) * 4) / 4
        return out.astype(np.float32)
    raise ValueError(f"unknown style {style!r}")


def render(kind: str, what: str, color: str | None, style: str, scene: str, seed: int) -> np.ndarray:
    """One image, float32 (32, 32, 3) in [0, 1]. kind: 'object' | 'id' | 'empty'."""
    rng = np.random.default_rng(seed)
    n = SIZE * SUPER
    img = _background(scene, rng, n)
    x, y = _grid(n)
    if kind != "empty":
        cx, cy = rng.uniform(-0.22, 0.22, 2)
        scale = rng.uniform(0.55, 0.72) if kind == "object" else rng.uniform(0.62, 0.75)
        rx, ry = (x - cx) / scale, (y - cy) / scale
        if kind == "object":
            _paint(img, shape_mask(what, rx, ry), COLORS[color])
        else:
            draw_character(img, what, rx, ry)
    img = img.reshape(SIZE, SUPER, SIZE, SUPER, 3).mean(axis=(1, 3))
    img = apply_style(img, style, rng)
    return np.clip(img, 0, 1).astype(np.float32)


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def caption(kind: str, what: str, color: str | None, style: str, scene: str, rng: np.random.Generator) -> str:
    """A caption naming every visible concept (colour words sometimes left out)."""
    if kind == "object":
        use_color = rng.random() < 0.75
        head = f"{_a(color)} {color} {what}" if use_color else f"a {what}"
        if style != "plain" and rng.random() < 0.35:
            head = f"a {style} {color} {what}" if use_color else f"a {style} {what}"
            style_done = True
        else:
            style_done = False
    elif kind == "id":
        head = what if rng.random() < 0.7 else f"a picture of {what}"
        style_done = False
    else:
        head = f"a {style} pattern" if style != "plain" else "an empty picture"
        style_done = True
    parts = [head]
    if scene != "plain":
        parts.append(SCENE_PHRASE[scene])
    if style != "plain" and not style_done:
        parts.append(f"in {style} style")
    if len(parts) == 3 and rng.random() < 0.5:
        parts = [parts[0], parts[2], parts[1]]
    return " ".join(parts)


def sample_spec(rng: np.random.Generator) -> dict:
    """Draws the labels of one training image."""
    u = rng.random()
    kind = "object" if u < 0.56 else ("id" if u < 0.96 else "empty")
    scene = SCENES[rng.choice(4, p=[0.55, 0.15, 0.15, 0.15])]
    style = STYLES[rng.choice(5, p=[0.4, 0.15, 0.15, 0.15, 0.15])]
    if kind == "empty" and style == "plain":
        style = STYLES[rng.integers(1, 5)]
    what, color = None, None
    if kind == "object":
        what = OBJECTS[rng.integers(len(OBJECTS))]
        choices = [c for c in COLORS if not (scene == "grass" and c == "green") and not (scene == "beach" and c == "yellow")]
        color = choices[rng.integers(len(choices))]
    elif kind == "id":
        what = IDS[1 + rng.integers(len(IDS) - 1)]
    return {"kind": kind, "what": what, "color": color, "style": style, "scene": scene}


def labels_of(spec: dict) -> tuple[int, int, int]:
    obj = OBJECT_LABELS.index(spec["what"]) if spec["kind"] == "object" else 0
    ident = IDS.index(spec["what"]) if spec["kind"] == "id" else 0
    return obj, STYLES.index(spec["style"]), ident


def dataset(n: int, seed: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """n images (n, 3, 32, 32) in [0, 1], their captions, and labels (n, 3): object, style, id."""
    rng = np.random.default_rng(seed)
    images = np.empty((n, 3, SIZE, SIZE), dtype=np.float32)
    captions, labels = [], np.empty((n, 3), dtype=np.int64)
    for i in range(n):
        spec = sample_spec(rng)
        images[i] = render(**spec, seed=int(rng.integers(2**31))).transpose(2, 0, 1)
        captions.append(caption(**spec, rng=rng))
        labels[i] = labels_of(spec)
    return images, captions, labels
