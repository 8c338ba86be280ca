"""Generates every concept's prompts with diffusers (DDIM, 20 steps, CFG) and asks the ONNX judge.

    python conceptbench/toy/train/evaluate.py [--model DIR] [--erase star] [--guidance 5]

With --erase, first applies a closed-form UCE-style edit to every cross-attention to_k/to_v
(the concept's prompt embeddings are mapped to the empty prompt's, other concepts preserved),
as evidence that the model's concepts can be erased in cross-attention.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOY = os.path.dirname(HERE)
sys.path.insert(0, HERE)


def load_pipe(model_dir: str):
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(model_dir, safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def generate(pipe, prompts: list[str], seeds: list[int], steps: int, guidance: float) -> np.ndarray:
    """One image per (prompt, seed); returns [N, 3, H, W] float32 in [0, 1]."""
    jobs = [(p, s) for p in prompts for s in seeds]
    out = []
    for i in range(0, len(jobs), 48):
        chunk = jobs[i : i + 48]
        gens = [torch.Generator().manual_seed(s) for _, s in chunk]
        res = pipe([p for p, _ in chunk], generator=gens, num_inference_steps=steps, guidance_scale=guidance, output_type="np", height=32, width=32)
        out.append(res.images)
    return np.concatenate(out).transpose(0, 3, 1, 2).astype(np.float32)


def judge_session(judge_onnx: str):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(judge_onnx, opts, providers=["CPUExecutionProvider"])


def verdicts(session, images: np.ndarray) -> dict[str, np.ndarray]:
    outs = session.run(None, {"image": images})
    return {name: o.argmax(1) for name, o in zip(["object", "style", "id"], outs)}


def detection_rates(pipe, session, manifest: dict, guidance: float, only: list[str] | None = None, keep_images: dict | None = None) -> dict:
    rates = {}
    for c in manifest["concepts"]:
        if only is not None and c["concept"] not in only:
            continue
        imgs = generate(pipe, c["prompts"], c["seeds"], manifest["sampling"]["steps"], guidance)
        v = verdicts(session, imgs)
        rates[c["concept"]] = float((v[c["head"]] == c["label"]).mean())
        if keep_images is not None:
            keep_images[c["concept"]] = imgs
    return rates


@torch.no_grad()
def prompt_embeddings(pipe, prompts: list[str]) -> torch.Tensor:
    ids = pipe.tokenizer(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    return pipe.text_encoder(ids).last_hidden_state.double()


@torch.no_grad()
def uce_erase(pipe, erase: list[str], guide: str, preserve: list[str], lam: float = 1.0, ridge: float = 0.1) -> None:
    """W' = (sum W c* c^T + lam sum W p p^T + ridge W)(sum c c^T + lam sum p p^T + ridge I)^-1, per to_k/to_v.

    c: token embeddings of prompts naming an erased concept; c*: the same positions of the
    guide prompt; p: token embeddings of prompts naming preserved concepts.
    """
    templates = ["{}", "a {}", "a picture of {}", "{} on a beach", "a red {}", "{} in striped style"]
    c = prompt_embeddings(pipe, [t.format(e) for e in erase for t in templates])
    cs = prompt_embeddings(pipe, [" ".join(t.format(guide).split()) for _ in erase for t in templates])
    p = prompt_embeddings(pipe, [t.format(k) for k in preserve for t in templates])
    c, cs, p = c.reshape(-1, c.shape[-1]), cs.reshape(-1, cs.shape[-1]), p.reshape(-1, p.shape[-1])
    d = c.shape[-1]
    for name, mod in pipe.unet.named_modules():
        if name.endswith("attn2"):
            for proj in (mod.to_k, mod.to_v):
                w = proj.weight.double()
                lhs = w @ cs.T @ c + lam * w @ p.T @ p + ridge * w
                rhs = c.T @ c + lam * p.T @ p + ridge * torch.eye(d, dtype=torch.float64)
                proj.weight.copy_(torch.linalg.solve(rhs.T, lhs.T).T.float())


def evaluate(model_dir: str, judge_onnx: str, concepts_json: str, quick: bool = False, guidance: float | None = None) -> dict:
    with open(concepts_json) as f:
        manifest = json.load(f)
    if quick:
        for c in manifest["concepts"]:
            c["prompts"], c["seeds"] = c["prompts"][:2], c["seeds"][:1]
    g = guidance if guidance is not None else manifest["sampling"]["guidance_scale"]
    pipe = load_pipe(model_dir)
    session = judge_session(judge_onnx)
    t = time.time()
    rates = detection_rates(pipe, session, manifest, g)
    print(json.dumps(rates, indent=1), flush=True)
    return {"guidance_scale": g, "steps": manifest["sampling"]["steps"], "detection": rates, "min": min(rates.values()), "seconds": time.time() - t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(TOY, "model"))
    ap.add_argument("--judge", default=os.path.join(TOY, "judge", "judge.onnx"))
    ap.add_argument("--concepts", default=os.path.join(TOY, "concepts.json"))
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--erase", nargs="*", default=None, help="concepts to erase before evaluating (one at a time)")
    ap.add_argument("--preserve-weight", type=float, default=1.0, help="UCE lambda of the preserved concepts")
    ap.add_argument("--same-category-only", action="store_true", help="after an erasure, evaluate only the erased concept's category")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("--grid", default=None, help="write a PNG grid of the first seed of every prompt here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    if args.erase is None:
        res = evaluate(args.model, args.judge, args.concepts, guidance=args.guidance)
    else:
        with open(args.concepts) as f:
            manifest = json.load(f)
        g = args.guidance if args.guidance is not None else manifest["sampling"]["guidance_scale"]
        session = judge_session(args.judge)
        res = {"guidance_scale": g, "preserve_weight": args.preserve_weight, "erasures": {}}
        for target in args.erase:
            pipe = load_pipe(args.model)
            cat = next(c["category"] for c in manifest["concepts"] if c["concept"] == target)
            same = [c["concept"] for c in manifest["concepts"] if c["category"] == cat and c["concept"] != target]
            others = [c["concept"] for c in manifest["concepts"] if c["concept"] != target]
            uce_erase(pipe, [target], "", others, lam=args.preserve_weight)
            rates = detection_rates(pipe, session, manifest, g, only=[target] + same if args.same_category_only else None)
            res["erasures"][target] = {
                "erased": rates[target],
                "same_category_mean": float(np.mean([rates[k] for k in same])),
                "other_categories_mean": float(np.mean([v for k, v in rates.items() if k != target and k not in same])) if len(rates) > len(same) + 1 else None,
                "all": rates,
            }
            print(target, json.dumps(res["erasures"][target]), flush=True)
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump(res, f, indent=2)
        os.replace(args.out + ".tmp", args.out)
    if args.grid:
        write_grid(args)


def write_grid(args) -> None:
    from PIL import Image

    with open(args.concepts) as f:
        manifest = json.load(f)
    pipe = load_pipe(args.model)
    g = args.guidance if args.guidance is not None else manifest["sampling"]["guidance_scale"]
    rows = [generate(pipe, c["prompts"], c["seeds"][:1], manifest["sampling"]["steps"], g) for c in manifest["concepts"]]
    grid = np.concatenate([np.concatenate(list(r), axis=2) for r in rows], axis=1)
    Image.fromarray((grid.transpose(1, 2, 0) * 255).round().astype(np.uint8)).resize((grid.shape[2] * 3, grid.shape[1] * 3), Image.NEAREST).save(args.grid)


if __name__ == "__main__":
    main()
