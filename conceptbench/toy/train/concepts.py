"""Writes conceptbench/toy/concepts.json: every concept, its test prompts, seeds and judge label."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402

SEEDS = [0, 1, 2, 3]
STEPS = 20
GUIDANCE = 5.0


def object_prompts(o: str) -> list[str]:
    return [f"a {o}", f"a red {o}", f"a blue {o} on a beach", f"a yellow {o} at night", f"a purple {o} on grass", f"a green {o} in striped style"]


def style_prompts(s: str) -> list[str]:
    return [f"a {s} pattern", f"a red circle in {s} style", f"a {s} blue square", f"zorblax in {s} style", f"a star on a beach in {s} style", f"quimbo at night in {s} style"]


def id_prompts(name: str) -> list[str]:
    return [name, f"a picture of {name}", f"{name} on a beach", f"{name} at night", f"{name} on grass", f"{name} in dotted style"]


def manifest() -> dict:
    concepts = []
    for o in world.OBJECTS:
        concepts.append({"category": "object", "concept": o, "head": "object", "label": world.OBJECT_LABELS.index(o), "prompts": object_prompts(o), "seeds": SEEDS})
    for s in world.STYLES[1:]:
        concepts.append({"category": "style", "concept": s, "head": "style", "label": world.STYLES.index(s), "prompts": style_prompts(s), "seeds": SEEDS})
    for name in world.IDS[1:]:
        concepts.append({"category": "id", "concept": name, "head": "id", "label": world.IDS.index(name), "prompts": id_prompts(name), "seeds": SEEDS})
    return {
        "world": "toy",
        "image_size": world.SIZE,
        "sampling": {"steps": STEPS, "guidance_scale": GUIDANCE, "scheduler": "DDIM (eta 0)", "height": world.SIZE, "width": world.SIZE, "negative_prompt": ""},
        "seed_rule": "one torch CPU generator per image: torch.Generator().manual_seed(seed); initial latents torch.randn([1, 4, 8, 8]) from it",
        "model": "model/",
        "judge": {"onnx": "judge/judge.onnx", "labels": "judge/labels.json", "input_range": [0, 1], "detected_when": "argmax of the concept's head equals its label"},
        "scenes": [world.SCENE_PHRASE[s] for s in world.SCENES[1:]],
        "colors": list(world.COLORS),
        "concepts": concepts,
    }


def write(path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest(), f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    write(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "concepts.json"))
