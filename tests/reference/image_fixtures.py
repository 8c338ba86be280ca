"""Reference values for src/image/ (run by hand; pinned stack in requirements.txt).

* Bilinear resizes of small heat maps by torch.nn.functional.interpolate(mode="bilinear",
  align_corners=False), up and down, odd sizes.
* diffusers' VaeImageProcessor.postprocess(output_type="pil") of a decoded [1, 3, H, W] tensor in [-1, 1]
  (values beyond the range and exact .5 roundings included), and preprocess() of the resulting image.

Usage:  python3 tests/reference/image_fixtures.py   (writes tests/fixtures/image/ops.json)
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.image_processor import VaeImageProcessor

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "image")


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(77)
    resizes = []
    for (h, w), (oh, ow) in [((3, 5), (7, 11)), ((4, 4), (16, 16)), ((9, 6), (4, 5)), ((1, 3), (2, 8))]:
        m = rng.standard_normal((h, w)).astype(np.float32)
        r = F.interpolate(torch.from_numpy(m)[None, None], size=(oh, ow), mode="bilinear", align_corners=False)
        resizes.append({"height": h, "width": w, "values": m.reshape(-1).tolist(),
                        "outHeight": oh, "outWidth": ow, "expected": r.reshape(-1).tolist()})
    H, W = 8, 16  # preprocess() rounds sizes down to multiples of 8
    decoded = (rng.standard_normal((1, 3, H, W)) * 0.8).astype(np.float32)
    # Values whose x/2 + 0.5 times 255 lands exactly on .5 (round half to even) and outside [-1, 1].
    decoded[0, 0, 0, :4] = [(2 * 0.5 / 255) - 1, (2 * 1.5 / 255) - 1, 1.7, -3.0]
    processor = VaeImageProcessor(vae_scale_factor=8)
    image = processor.postprocess(torch.from_numpy(decoded), output_type="pil")[0]
    pixels = np.asarray(image)
    back = processor.preprocess(image).numpy()
    doc = {
        "generator": "tests/reference/image_fixtures.py",
        "resizes": resizes,
        "decoded": {"height": H, "width": W, "tensor": decoded.reshape(-1).tolist(),
                    "rgb": pixels.reshape(-1).tolist(), "preprocessed": back.reshape(-1).tolist()},
    }
    with open(os.path.join(OUT, "ops.json"), "w") as f:
        json.dump(doc, f)
        f.write("\n")
    print("ok", pixels[0, :4, 0])


if __name__ == "__main__":
    main()
