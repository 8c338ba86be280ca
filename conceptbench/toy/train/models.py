"""Configurations of the toy model (diffusers / transformers classes, SD 1.x layout) and the judge."""

from __future__ import annotations

import torch
from torch import nn

TEXT_CONFIG = dict(
    vocab_size=49408,
    hidden_size=64,
    intermediate_size=256,
    num_hidden_layers=2,
    num_attention_heads=2,
    max_position_embeddings=77,
    hidden_act="quick_gelu",
    projection_dim=64,
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407,
)

VAE_CONFIG = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=["DownEncoderBlock2D"] * 3,
    up_block_types=["UpDecoderBlock2D"] * 3,
    block_out_channels=[16, 32, 64],
    layers_per_block=1,
    latent_channels=4,
    norm_num_groups=8,
    sample_size=32,
)

UNET_CONFIG = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    block_out_channels=[32, 64, 64],
    layers_per_block=1,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    cross_attention_dim=64,
    attention_head_dim=4,
    norm_num_groups=16,
)

# Stable Diffusion 1.x noise schedule.
SCHEDULER_CONFIG = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    clip_sample=False,
    set_alpha_to_one=False,
    steps_offset=1,
    prediction_type="epsilon",
)


class Judge(nn.Module):
    """Small CNN: [N, 3, 32, 32] in [0, 1] -> logits for object (7), style (5) and id (5)."""

    def __init__(self, n_object: int, n_style: int, n_id: int) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )

        self.features = nn.Sequential(block(3, 24), block(24, 48), block(48, 96))
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(96 * 4 * 4, 192), nn.ReLU(), nn.Dropout(0.2))
        self.object = nn.Linear(192, n_object)
        self.style = nn.Linear(192, n_style)
        self.id = nn.Linear(192, n_id)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.hidden(self.features(x * 2.0 - 1.0))
        return self.object(h), self.style(h), self.id(h)
