"""Golden fixture: what diffusers makes of our LoRA patches.

Run by hand from the repository root (needs the pinned stack incl. peft):
    python tests/reference/lora_fixtures.py

For SD 1.5 and SDXL it has our tool write a tiny diffusers checkpoint and a kohya-style patch
(tests/reference/make_lora_case.ts), loads the patch into the diffusers pipeline with
`load_lora_weights` + `fuse_lora` (diffusers' own kohya converter: SD 1.x names by diffusers path, SDXL by
LDM path), and saves every fused cross-attention to_k / to_v weight to tests/fixtures/patch/<family>_fused.safetensors.
`src/patch/lora_reference_test.ts` merges the same patch with our code and compares.
"""
import os, subprocess, sys, tempfile

import torch
from safetensors.torch import save_file
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "patch")


def main():
    os.makedirs(OUT, exist_ok=True)
    for family, cls in [("sd15", StableDiffusionPipeline), ("sdxl", StableDiffusionXLPipeline)]:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["deno", "run", "-A", "tests/reference/make_lora_case.ts", family, tmp], cwd=ROOT, check=True)
            pipe = cls.from_pretrained(os.path.join(tmp, "model"), safety_checker=None, requires_safety_checker=False) \
                if family == "sd15" else cls.from_pretrained(os.path.join(tmp, "model"))
            before = {k: v.clone() for k, v in pipe.unet.state_dict().items() if ".attn2.to_k." in k or ".attn2.to_v." in k}
            pipe.load_lora_weights(os.path.join(tmp, "patch.safetensors"))
            pipe.fuse_lora(lora_scale=1.0)
            pipe.unload_lora_weights()
            after = {k: v.contiguous() for k, v in pipe.unet.state_dict().items() if k in before}
            changed = sum(1 for k in before if not torch.equal(before[k], after[k]))
            if changed != len(before):
                sys.exit(f"{family}: diffusers changed only {changed} of {len(before)} cross-attention weights")
            save_file(after, os.path.join(OUT, f"{family}_fused.safetensors"), metadata={"format": "pt"})
            print(family, "ok: diffusers fused", changed, "weights")


if __name__ == "__main__":
    main()
