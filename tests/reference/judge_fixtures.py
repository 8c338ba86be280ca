"""Held-out ground-truth renders of the toy world, for the judge test.

Run by hand from the repository root:  python tests/reference/judge_fixtures.py

Renders 200 images with the toy world's own renderer (conceptbench/toy/train/world.py) from a seed the
training never used, quantised to 8-bit RGB as images on disk are, with their true (object, style, id)
labels. tests/toy_world_test.ts checks that the judge, run by our ONNX Runtime code, labels at least 95%
of them right on every head.
"""
import gzip, json, os, sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "conceptbench", "toy", "train"))
import world  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "judge")
N, SEED = 200, 424242  # training and its held-out split use other seeds (see train.py)


def main():
    os.makedirs(OUT, exist_ok=True)
    images, captions, labels = world.dataset(N, SEED)
    rgb = np.clip(np.round(images.transpose(0, 2, 3, 1) * 255), 0, 255).astype(np.uint8)  # N, H, W, 3
    with gzip.open(os.path.join(OUT, "renders.rgb.gz"), "wb") as f:
        f.write(rgb.tobytes())
    json.dump({"count": N, "size": world.SIZE, "seed": SEED, "captions": captions, "labels": labels.tolist(),
               "heads": ["object", "style", "id"]}, open(os.path.join(OUT, "renders.json"), "w"))
    print("wrote", N, "renders")


if __name__ == "__main__":
    main()
