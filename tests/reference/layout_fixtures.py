"""Golden fixtures for checkpoint layouts: what diffusers and transformers make of our synthetic checkpoints.

Run by hand (never in CI), from the repository root:

    pip install -r tests/reference/requirements.txt
    python tests/reference/layout_fixtures.py

For each family (sd15, sd21, sdxl) it has our CLI write a tiny single-file checkpoint and a tiny diffusers
folder (same seed), then, with the reference libraries only:
  1. instantiates UNet2DConditionModel / AutoencoderKL / CLIPTextModel(WithProjection) from the folder's
     config.json files and checks that the folder's safetensors hold exactly the modules' state-dict keys and
     shapes (so our key lists are the reference models' own);
  2. converts the single file with diffusers' single-file converters (convert_ldm_unet_checkpoint,
     convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint, convert_open_clip_checkpoint), checks the
     result against the same state dicts, and records, by matching tensor values, which single-file key
     (and which rows / transpose) each diffusers tensor came from.
It writes tests/fixtures/layout/<family>_tiny.json.gz: {component: {diffusers_key: [ldm_key, op]}} plus the
diffusers key/shape lists, which src/formats/layout_reference_test.ts compares with our tables.
"""
import gzip, hashlib, json, os, subprocess, sys, tempfile

import torch
from safetensors.torch import load_file
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.loaders import single_file_utils as sfu
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "layout")


def synth(family, out, layout):
    subprocess.run(["deno", "task", "-q", "forget", "synth", "--family", family, "--size", "tiny", "--layout", layout,
                    "--dtype", "f32", "--seed", "7", "--out", out], cwd=ROOT, check=True)


def digest(t):
    return hashlib.sha256(t.contiguous().float().numpy().tobytes()).hexdigest()


def canonical(k):
    # transformers 5 dropped the "text_model." level from CLIPTextModel's own state dict (it still loads
    # files that have it); SD checkpoints and diffusers folders have always stored it: keep that naming.
    if k.startswith(("embeddings.", "encoder.", "final_layer_norm.")):
        return "text_model." + k
    return k


def check_same_keys(name, model_sd, file_sd, canon=lambda k: k):
    a = {canon(k): list(v.shape) for k, v in model_sd.items()}
    b = {canon(k): list(v.shape) for k, v in file_sd.items()}
    missing, extra = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    bad = [k for k in set(a) & set(b) if a[k] != b[k]]
    if missing or extra or bad:
        sys.exit(f"{name}: missing {missing[:5]} extra {extra[:5]} shape mismatches {bad[:5]}")
    return sorted(a.items())


def provenance(converted, single):
    """For each converted tensor, the single-file key (and op) whose values it carries."""
    index = {}
    for k, v in single.items():
        if not v.is_floating_point():
            continue
        index.setdefault(digest(v), (k, "same"))
        if v.dim() == 2:
            index.setdefault(digest(v.t()), (k, "transpose"))
        if v.dim() in (1, 2) and v.shape[0] % 3 == 0 and "in_proj" in k:
            d = v.shape[0] // 3
            for i in range(3):
                index.setdefault(digest(v[i * d:(i + 1) * d]), (k, f"rows:{i * d}:{d}"))
    out = {}
    for k, v in converted.items():
        hit = index.get(digest(v))
        if hit is None:
            sys.exit(f"converted tensor {k} matches no single-file tensor")
        out[k] = list(hit)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for family in ["sd15", "sd21", "sdxl"]:
        with tempfile.TemporaryDirectory() as tmp:
            single_path, folder = os.path.join(tmp, "m.safetensors"), os.path.join(tmp, "m")
            synth(family, single_path, "single")
            synth(family, folder, "diffusers")
            single = load_file(single_path)
            fixture = {"family": family, "components": {}}

            def component(name, model, converted):
                folder_sd = load_file(os.path.join(folder, name, "model.safetensors" if "text" in name
                                                   else "diffusion_pytorch_model.safetensors"))
                canon = canonical if name.startswith("text_encoder") else (lambda k: k)
                keys = check_same_keys(f"{family}/{name} folder", model.state_dict(), folder_sd, canon)
                # transformers keeps position_ids as a non-persistent buffer: the converter may emit it.
                wanted = {canon(k) for k in model.state_dict()}
                converted = {canon(k): v for k, v in converted.items() if canon(k) in wanted}
                check_same_keys(f"{family}/{name} converted single file", model.state_dict(), converted, canon)
                fixture["components"][name] = {"shapes": keys, "from_single_file": provenance(converted, single)}

            unet_cfg = json.load(open(os.path.join(folder, "unet", "config.json")))
            unet = UNet2DConditionModel.from_config(unet_cfg)
            component("unet", unet, sfu.convert_ldm_unet_checkpoint(single, unet.config))
            vae_cfg = json.load(open(os.path.join(folder, "vae", "config.json")))
            vae = AutoencoderKL.from_config(vae_cfg)
            component("vae", vae, sfu.convert_ldm_vae_checkpoint(single, vae.config))
            encoders = ["text_encoder"] + (["text_encoder_2"] if family == "sdxl" else [])
            for name in encoders:
                cfg = CLIPTextConfig.from_pretrained(os.path.join(folder, name))
                cls = CLIPTextModelWithProjection if name == "text_encoder_2" else CLIPTextModel
                model = cls(cfg)
                if family == "sd15":
                    conv = sfu.convert_ldm_clip_checkpoint(single)
                elif family == "sdxl" and name == "text_encoder":
                    conv = sfu.convert_ldm_clip_checkpoint(single, remove_prefix="conditioner.embedders.0.transformer.")
                else:
                    prefix = "cond_stage_model.model." if family == "sd21" else "conditioner.embedders.1.model."
                    conv = sfu.convert_open_clip_checkpoint(model, single, prefix=prefix)
                component(name, model, conv)
            fixture["detected_by_diffusers"] = sfu.infer_diffusers_model_type(single)
        path = os.path.join(OUT, f"{family}_tiny.json.gz")
        with gzip.open(path, "wt") as f:
            json.dump(fixture, f, separators=(",", ":"), sort_keys=True)
        print(family, "ok", {k: len(v["shapes"]) for k, v in fixture["components"].items()},
              "diffusers detects", fixture["detected_by_diffusers"])


if __name__ == "__main__":
    main()
