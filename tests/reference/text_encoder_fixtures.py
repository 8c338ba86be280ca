"""Golden fixtures for the text encoders (src/models/clip_text.ts), from transformers.

Writes tiny random encoders in Hugging Face naming and their reference outputs for the three
Stable Diffusion conventions:

- sd15: CLIPTextModel (quick_gelu) -> last_hidden_state (final layer norm applied).
- sd21: CLIPTextModel (gelu) with N layers -> final_layer_norm(hidden_states[-2]), which is what
  diffusers' SD2 text encoder (one layer fewer) returns as last_hidden_state.
- sdxl: CLIPTextModel (quick_gelu) and CLIPTextModelWithProjection (gelu); hidden_states[-2] of
  each without the final norm, concatenated on features, plus text_embeds (pooled, projected).

Run by hand (never in CI) with tests/reference/requirements.txt installed:
    python tests/reference/text_encoder_fixtures.py
"""

import json
import pathlib

import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "text_encoders"
VOCAB = 1000
BOS, EOS = 998, 999
SEQ = 77
# Content-token counts per prompt: empty, short, medium, full (bos + 75 + eos = 77).
LENGTHS = [0, 3, 20, 75]


def tiny_config(hidden, heads, layers, act, projection):
    return CLIPTextConfig(
        vocab_size=VOCAB,
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=SEQ,
        hidden_act=act,
        layer_norm_eps=1e-5,
        projection_dim=projection,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=0,
        attn_implementation="eager",
    )


def token_ids(seed, pad):
    g = torch.Generator().manual_seed(seed)
    rows = []
    for n in LENGTHS:
        body = torch.randint(1, BOS, (n,), generator=g).tolist()
        row = [BOS] + body + [EOS]
        rows.append(row + [pad] * (SEQ - len(row)))
    return torch.tensor(rows, dtype=torch.int64)


def randomize(model, seed):
    # Default init leaves layer norms at 1/0 and biases at 0; random values test every weight's role.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 0.5 if "norm" in name else (0.02 if "embedding" in name else 0.15)
            base = 1.0 if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith(
                "final_layer_norm.weight") else 0.0
            p.copy_(base + scale * torch.randn(p.shape, generator=g))
    return model.eval()


def weights(model):
    # Checkpoints name the text tower `text_model.*` (transformers 5 drops that prefix in
    # CLIPTextModel's own state dict); the projection stays at the top level.
    out = {}
    for k, v in model.state_dict().items():
        if "position_ids" in k:
            continue
        if not k.startswith("text_model.") and k != "text_projection.weight":
            k = "text_model." + k
        out[k] = v.detach().contiguous().float()
    return out


def config_json(cfg):
    return {
        "vocabSize": cfg.vocab_size,
        "hiddenSize": cfg.hidden_size,
        "intermediateSize": cfg.intermediate_size,
        "numLayers": cfg.num_hidden_layers,
        "numHeads": cfg.num_attention_heads,
        "activation": cfg.hidden_act,
        "projectionDim": cfg.projection_dim,
        "eosTokenId": cfg.eos_token_id,
    }


def save(name, tensors, metadata=None):
    path = OUT / name
    save_file(tensors, str(path), metadata=metadata)
    print(f"{path.relative_to(OUT.parent.parent.parent)}: {path.stat().st_size} bytes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    # SD 1.x: OpenAI CLIP style.
    cfg = tiny_config(32, 4, 3, "quick_gelu", 32)
    te = randomize(CLIPTextModel(cfg), 1)
    ids = token_ids(11, pad=EOS)
    with torch.no_grad():
        hidden = te(ids).last_hidden_state
    save("sd15_text_encoder.safetensors", weights(te))
    save("sd15_reference.safetensors", {"input_ids": ids.int(), "hidden_states": hidden.contiguous()},
         {"config": json.dumps(config_json(cfg))})

    # SD 2.x: OpenCLIP ViT-H style, penultimate layer then final layer norm.
    cfg = tiny_config(32, 4, 3, "gelu", 32)
    te = randomize(CLIPTextModel(cfg), 2)
    ids = token_ids(12, pad=0)
    with torch.no_grad():
        out = te(ids, output_hidden_states=True)
        hidden = getattr(te, "text_model", te).final_layer_norm(out.hidden_states[-2])
    save("sd21_text_encoder.safetensors", weights(te))
    save("sd21_reference.safetensors", {"input_ids": ids.int(), "hidden_states": hidden.contiguous()},
         {"config": json.dumps(config_json(cfg))})

    # SDXL: both encoders' penultimate states (no final norm), concatenated, plus pooled text_embeds.
    cfg1 = tiny_config(32, 4, 3, "quick_gelu", 32)
    cfg2 = tiny_config(48, 4, 3, "gelu", 40)
    te1 = randomize(CLIPTextModel(cfg1), 3)
    te2 = randomize(CLIPTextModelWithProjection(cfg2), 4)
    ids = token_ids(13, pad=0)
    with torch.no_grad():
        h1 = te1(ids, output_hidden_states=True).hidden_states[-2]
        out2 = te2(ids, output_hidden_states=True)
        hidden = torch.cat([h1, out2.hidden_states[-2]], dim=-1)
        pooled = out2.text_embeds
    save("sdxl_text_encoder.safetensors", weights(te1))
    save("sdxl_text_encoder_2.safetensors", weights(te2))
    save("sdxl_reference.safetensors",
         {"input_ids": ids.int(), "hidden_states": hidden.contiguous(), "pooled": pooled.contiguous()},
         {"config": json.dumps(config_json(cfg1)), "config_2": json.dumps(config_json(cfg2))})


if __name__ == "__main__":
    main()
