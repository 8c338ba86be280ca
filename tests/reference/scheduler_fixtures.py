"""Golden fixtures for the schedulers in src/sample/ (run by hand; pinned stack in requirements.txt).

Runs the diffusers 0.42.1 schedulers on fixed latents with a fake, deterministic "model" and records the
timesteps, sigmas and every step's output, so src/sample/scheduler_parity_test.ts can check our
schedulers step by step.

The fake model is a simple function of the scaled model input and the timestep, written the same way in
the TypeScript test:  out[i] = 0.5 * x[i] + 0.4 * sin(0.37 * i + 0.0031 * t)   (computed in float64,
stored as float32). Stochastic steps (Euler ancestral, DDIM with eta > 0) get seeded numpy noise, fed
to diffusers (by replacing the module's randn_tensor, or as variance_noise) and recorded in the fixture.

Usage:  python3 tests/reference/scheduler_fixtures.py   (writes tests/fixtures/schedulers/*.json)
"""

import base64
import json
import math
import os

import numpy as np
import torch

import diffusers
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    LMSDiscreteScheduler,
    PNDMScheduler,
)
import diffusers.schedulers.scheduling_euler_ancestral_discrete as euler_a_module

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "schedulers")
SHAPE = (1, 4, 8, 8)
N = int(np.prod(SHAPE))

SD = {  # the SD 1.x / 2.x scheduler_config.json values
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "set_alpha_to_one": False,
    "prediction_type": "epsilon",
}


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def fake_model(x: torch.Tensor, t: float) -> torch.Tensor:
    i = np.arange(N, dtype=np.float64)
    out = 0.5 * x.numpy().astype(np.float64).reshape(-1) + 0.4 * np.sin(0.37 * i + 0.0031 * float(t))
    return torch.from_numpy(out.astype(np.float32).reshape(SHAPE))


def init_latents() -> np.ndarray:
    return np.random.default_rng(1234).standard_normal(N).astype(np.float32)


class NoiseFeed:
    """Seeded noise handed to diffusers in place of randn_tensor; every draw is recorded."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.drawn = []

    def next(self) -> torch.Tensor:
        a = self.rng.standard_normal(N).astype(np.float32)
        self.drawn.append(a)
        return torch.from_numpy(a.reshape(SHAPE))


def run(cls, config: dict, steps: int, noise_seed: int | None = None, eta: float = 0.0) -> dict:
    scheduler = cls.from_config(config)
    scheduler.set_timesteps(steps)
    feed = NoiseFeed(noise_seed) if noise_seed is not None else None
    original_randn = euler_a_module.randn_tensor
    if feed is not None and cls is EulerAncestralDiscreteScheduler:
        euler_a_module.randn_tensor = lambda *a, **k: feed.next()
    try:
        sigma0 = scheduler.init_noise_sigma
        sigma0 = float(sigma0.item() if isinstance(sigma0, torch.Tensor) else sigma0)
        latents = torch.from_numpy(init_latents().reshape(SHAPE)) * sigma0
        outputs = []
        for t in scheduler.timesteps:
            x = scheduler.scale_model_input(latents, t)
            out = fake_model(x, float(t))
            if cls is DDIMScheduler and eta > 0:
                latents = scheduler.step(out, t, latents, eta=eta, variance_noise=feed.next()).prev_sample
            else:
                latents = scheduler.step(out, t, latents).prev_sample
            outputs.append(latents.numpy().reshape(-1).copy())
    finally:
        euler_a_module.randn_tensor = original_randn
    sigmas = getattr(scheduler, "sigmas", None)
    has_sigmas = cls not in (DDIMScheduler, PNDMScheduler)
    return {
        "steps": steps,
        "timesteps": [float(t) for t in scheduler.timesteps],
        "sigmas": [float(s) for s in sigmas] if has_sigmas else None,
        "init_noise_sigma": sigma0,
        "eta": eta,
        "noise": b64(np.concatenate(feed.drawn)) if feed is not None else None,
        "outputs": b64(np.concatenate(outputs)),
    }


def case(name: str, cls, overrides: dict, steps: int = 10, **kw) -> dict:
    config = {"_class_name": cls.__name__, "_diffusers_version": diffusers.__version__, **SD, **overrides}
    return {"name": name, "config": config, **run(cls, config, steps, **kw)}


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    groups = {
        "ddim": [
            case("ddim eps leading", DDIMScheduler, {"clip_sample": False}),
            case("ddim v trailing", DDIMScheduler, {"clip_sample": False, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}),
            case("ddim eps linspace linear-betas", DDIMScheduler, {"clip_sample": False, "timestep_spacing": "linspace", "beta_schedule": "linear"}, steps=7),
            case("ddim eps leading eta=1", DDIMScheduler, {"clip_sample": False}, noise_seed=7, eta=1.0),
        ],
        "euler": [
            case("euler eps leading", EulerDiscreteScheduler, {}),
            case("euler v leading", EulerDiscreteScheduler, {"prediction_type": "v_prediction"}),
            case("euler eps trailing", EulerDiscreteScheduler, {"timestep_spacing": "trailing"}),
            case("euler eps linspace 7 steps", EulerDiscreteScheduler, {"timestep_spacing": "linspace"}, steps=7),
            case("euler eps karras", EulerDiscreteScheduler, {"use_karras_sigmas": True}),
        ],
        "euler_ancestral": [
            case("euler-a eps leading", EulerAncestralDiscreteScheduler, {}, noise_seed=11),
            case("euler-a v trailing", EulerAncestralDiscreteScheduler, {"prediction_type": "v_prediction", "timestep_spacing": "trailing"}, noise_seed=12),
        ],
        "lms": [
            case("lms eps leading", LMSDiscreteScheduler, {}),
            case("lms v leading", LMSDiscreteScheduler, {"prediction_type": "v_prediction"}),
            case("lms eps linspace karras", LMSDiscreteScheduler, {"timestep_spacing": "linspace", "use_karras_sigmas": True}),
        ],
        "dpm_solver": [
            case("dpm++2m eps leading", DPMSolverMultistepScheduler, {}),
            case("dpm++2m v leading", DPMSolverMultistepScheduler, {"prediction_type": "v_prediction"}),
            case("dpm++2m eps trailing", DPMSolverMultistepScheduler, {"timestep_spacing": "trailing"}),
            case("dpm++2m karras eps", DPMSolverMultistepScheduler, {"use_karras_sigmas": True}),
            case("dpm++2m karras v linear-betas", DPMSolverMultistepScheduler, {"use_karras_sigmas": True, "prediction_type": "v_prediction", "beta_schedule": "linear"}),
            case("dpm++2m eps linspace 20 steps", DPMSolverMultistepScheduler, {"timestep_spacing": "linspace"}, steps=20),
        ],
        "pndm": [
            case("pndm eps leading", PNDMScheduler, {"skip_prk_steps": True}),
            case("pndm v leading", PNDMScheduler, {"skip_prk_steps": True, "prediction_type": "v_prediction"}),
            case("pndm prk eps leading", PNDMScheduler, {"skip_prk_steps": False}),
            case("pndm prk v linspace", PNDMScheduler, {"skip_prk_steps": False, "prediction_type": "v_prediction", "timestep_spacing": "linspace"}, steps=8),
        ],
    }
    for group, cases in groups.items():
        doc = {
            "generator": f"tests/reference/scheduler_fixtures.py with diffusers {diffusers.__version__}, torch {torch.__version__}",
            "shape": list(SHAPE),
            "model": "out[i] = 0.5 * x[i] + 0.4 * sin(0.37 * i + 0.0031 * t), x = scale_model_input(latents)",
            "init_latents": b64(init_latents()),
            "cases": cases,
        }
        with open(os.path.join(OUT, f"{group}.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(group, len(cases), "cases")


if __name__ == "__main__":
    main()
