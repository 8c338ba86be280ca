"""Golden fixtures for the UNet and VAE graphs (src/models/unet_graph.ts, vae_graph.ts), from diffusers.

For each family (sd15, sd21, sdxl) the project's own tiny synthetic checkpoint (diffusers layout,
float32, seed 1) is written by `deno task forget synth`, loaded with diffusers' UNet2DConditionModel
and AutoencoderKL, and run on fixed inputs:

- UNet, batch 2, 8x8 latents: two timesteps, random text conditioning (SDXL: pooled text embeds and
  time ids as well) -> sample. sd15 also: a 9x7 latent (odd sizes take the upsample_size path), and
  the cross-attention probabilities of one layer (averaged over heads, tokens 1 and 5).
- VAE: decode(z) of an 8x8 latent (no scaling), and encode(image).latent_dist.mean of a 64x64 image.

Run by hand (never in CI) with tests/reference/requirements.txt installed, from the repository root:
    python tests/reference/unet_vae_fixtures.py
"""

import pathlib
import subprocess
import tempfile

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "tests" / "fixtures" / "unet"
MAP_LAYER = "down_blocks.1.attentions.0.transformer_blocks.0.attn2"
MAP_TOKENS = [1, 5]


def synth(family, out):
    subprocess.run(
        ["deno", "task", "forget", "synth", "--family", family, "--size", "tiny", "--layout", "diffusers",
         "--dtype", "f32", "--seed", "1", "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True,
    )


def capture_probs(unet, layer):
    """Records the softmax probabilities of one attention module, as [batch, heads, queries, keys]."""
    mod = unet.get_submodule(layer)
    mod.set_processor(AttnProcessor())
    captured = []
    original = mod.get_attention_scores

    def scores(query, key, attention_mask=None):
        p = original(query, key, attention_mask)
        captured.append(p)
        return p

    mod.get_attention_scores = scores
    return captured, mod.heads


def unet_case(family, folder, g):
    unet = UNet2DConditionModel.from_pretrained(folder / "unet").eval()
    ctx = unet.config.cross_attention_dim
    t = {}
    t["sample"] = torch.randn(2, 4, 8, 8, generator=g)
    t["timestep"] = torch.tensor([981.0, 1.0])
    t["encoder_hidden_states"] = torch.randn(2, 77, ctx, generator=g)
    kwargs = {}
    if unet.config.addition_embed_type == "text_time":
        text_dim = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        t["text_embeds"] = torch.randn(2, text_dim, generator=g)
        t["time_ids"] = torch.tensor([[1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0], [768.0, 512.0, 16.0, 32.0, 1024.0, 1024.0]])
        kwargs["added_cond_kwargs"] = {"text_embeds": t["text_embeds"], "time_ids": t["time_ids"]}
    captured, heads = (None, 0)
    if family == "sd15":
        captured, heads = capture_probs(unet, MAP_LAYER)
    with torch.no_grad():
        t["out_sample"] = unet(t["sample"], t["timestep"], t["encoder_hidden_states"], **kwargs).sample
        if family == "sd15":
            probs = captured[0]
            b = t["sample"].shape[0]
            probs = probs.reshape(b, heads, probs.shape[1], probs.shape[2]).mean(dim=1)  # [b, n, 77]
            t["maps"] = probs[:, :, MAP_TOKENS].transpose(1, 2).contiguous()  # [b, tokens, n]
            t["odd_sample"] = torch.randn(1, 4, 9, 7, generator=g)
            t["odd_out_sample"] = unet(
                t["odd_sample"], torch.tensor([500.0]), t["encoder_hidden_states"][:1]
            ).sample
    return t


def vae_case(folder, g):
    vae = AutoencoderKL.from_pretrained(folder / "vae").eval()
    t = {}
    t["vae_latents"] = torch.randn(1, 4, 8, 8, generator=g)
    t["vae_image_in"] = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    with torch.no_grad():
        t["vae_decoded"] = vae.decode(t["vae_latents"]).sample
        t["vae_latent_mean"] = vae.encode(t["vae_image_in"]).latent_dist.mean
    return t


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i, family in enumerate(["sd15", "sd21", "sdxl"]):
            folder = pathlib.Path(tmp) / family
            synth(family, folder)
            g = torch.Generator().manual_seed(100 + i)
            tensors = {**unet_case(family, folder, g), **vae_case(folder, g)}
            tensors = {k: v.float().contiguous() for k, v in tensors.items()}
            save_file(tensors, OUT / f"{family}.safetensors", metadata={"seed": "1", "map_layer": MAP_LAYER})
            print(family, {k: list(v.shape) for k, v in tensors.items()})


if __name__ == "__main__":
    main()
