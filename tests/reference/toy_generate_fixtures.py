"""Golden images for tests/toy_generate_parity_test.ts: diffusers' StableDiffusionPipeline on the toy model.

Renders a few of conceptbench/toy/concepts.json's prompts with the manifest's sampling settings (DDIM,
20 steps, guidance 5, 32x32, negative prompt "") and `generator=torch.Generator().manual_seed(seed)` per
image, output_type "np". Records each image as 16-bit fixed point (round(v * 65535)) and as the uint8
image diffusers would save ((v * 255).round()), plus the sha256 of the model's weight files, so the
test can tell when the committed toy model has been replaced and the fixture needs regenerating.

Usage (after replacing the toy model, too):
    python3 tests/reference/toy_generate_fixtures.py   (writes tests/fixtures/noise/toy_ddim.json)
"""

import base64
import hashlib
import json
import os

import numpy as np
import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TOY = os.path.join(ROOT, "conceptbench", "toy")
MODEL = os.path.join(TOY, "model")
OUT = os.path.join(ROOT, "tests", "fixtures", "noise", "toy_ddim.json")
WEIGHTS = [
    "unet/diffusion_pytorch_model.safetensors",
    "vae/diffusion_pytorch_model.safetensors",
    "text_encoder/model.safetensors",
]
PROMPTS = ["a red circle", "a blue square on a beach"]
SEEDS = [0, 1]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    manifest = json.load(open(os.path.join(TOY, "concepts.json")))
    sampling = manifest["sampling"]
    all_prompts = [p for c in manifest["concepts"] for p in c["prompts"]]
    for p in PROMPTS:
        assert p in all_prompts, f"{p!r} is not a prompt of the manifest"
    torch.set_num_threads(1)  # deterministic reductions; the model is tiny
    pipe = StableDiffusionPipeline.from_pretrained(MODEL, safety_checker=None)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    images = []
    for prompt in PROMPTS:
        for seed in SEEDS:
            out = pipe(
                prompt,
                negative_prompt=sampling["negative_prompt"],
                num_inference_steps=sampling["steps"],
                guidance_scale=sampling["guidance_scale"],
                height=sampling["height"],
                width=sampling["width"],
                eta=0.0,
                generator=torch.Generator().manual_seed(seed),
                output_type="np",
            ).images[0]  # [H, W, 3] float32 in [0, 1]
            fixed = np.round(out.astype(np.float64) * 65535).astype("<u2")
            u8 = (out * 255).round().astype(np.uint8)
            images.append({
                "prompt": prompt,
                "seed": seed,
                "height": int(out.shape[0]),
                "width": int(out.shape[1]),
                "u16": base64.b64encode(fixed.tobytes()).decode(),
                "u8": base64.b64encode(u8.tobytes()).decode(),
            })
    fixture = {
        "diffusers": __import__("diffusers").__version__,
        "torch": torch.__version__,
        "model": "conceptbench/toy/model",
        "sha256": {w: sha256(os.path.join(MODEL, w)) for w in WEIGHTS},
        "sampling": {
            "scheduler": "ddim",
            "steps": sampling["steps"],
            "guidance": sampling["guidance_scale"],
            "negative": sampling["negative_prompt"],
        },
        "images": images,
    }
    tmp = OUT + ".tmp"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(tmp, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
