"""Trains the toy world's Stable-Diffusion-format model and its judge, on the CPU.

    python conceptbench/toy/train/train.py            # the full run (<= 60 min on 2 cores)
    python conceptbench/toy/train/train.py --quick    # a smoke run (a few minutes), to /tmp

Steps: render captioned images (world.py) -> train the judge, export judge.onnx ->
train the VAE -> encode latents -> train UNet + text encoder jointly (from scratch,
epsilon prediction, SD 1.x noise schedule, 10% caption dropout for classifier-free
guidance) -> save a diffusers folder (safetensors) -> evaluate with diffusers at 20
steps (evaluate.py) -> metrics.json. Everything is seeded.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shutil
import sys
import time

# OpenMP's waiting threads spin by default: on an idle 2-core machine that makes 2 threads 1.5x faster than
# 1 (0.49 vs 0.72 s per UNet step), but with anything else running they fight over the cores and a step can
# take 4-8x longer. On a shared machine run with OMP_WAIT_POLICY=PASSIVE (or --threads 1); the numbers
# are identical either way (same threads, same static schedule).

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import concepts  # noqa: E402
import models  # noqa: E402
import vocab  # noqa: E402
import world  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOY = os.path.dirname(HERE)

FULL = dict(n_train=24000, n_test=3000, judge_steps=1000, vae_steps=1500, vae_full_steps=200, unet_steps=5000, decoder_steps=1200, batch=64)
QUICK = dict(n_train=2000, n_test=500, judge_steps=60, vae_steps=40, vae_full_steps=10, unet_steps=60, decoder_steps=20, batch=32)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Judge augmentation: random blur, noise and a little colour jitter (generated images are softer)."""
    n = x.shape[0]
    blur = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    a = torch.rand(n, 1, 1, 1, generator=g) * 0.6
    x = x * (1 - a) + blur * a
    x = x * (1 + 0.1 * (torch.rand(n, 3, 1, 1, generator=g) - 0.5)) + 0.06 * (torch.rand(n, 1, 1, 1, generator=g) - 0.5)
    x = x + torch.randn(x.shape, generator=g) * torch.rand(n, 1, 1, 1, generator=g) * 0.05
    return x.clamp(0, 1)


def train_judge(images: np.ndarray, labels: np.ndarray, steps: int, batch: int, recon: np.ndarray | None = None) -> models.Judge:
    """recon: VAE reconstructions of the same images (same labels); half of each batch is drawn from them,
    because every generated image is a VAE decode and a judge that only saw crisp renders misreads them."""
    torch.manual_seed(10)
    g = torch.Generator().manual_seed(11)
    judge = models.Judge(len(world.OBJECT_LABELS), len(world.STYLES), len(world.IDS))
    opt = torch.optim.AdamW(judge.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    r_all = torch.from_numpy(recon) if recon is not None else None
    judge.train()
    for step in range(steps):
        idx = torch.randint(0, len(x_all), (batch,), generator=g)
        x, y = x_all[idx], y_all[idx]
        if r_all is not None:
            x = torch.cat([x[: batch // 2], r_all[idx[batch // 2 :]]])
        x = augment(x, g)
        outs = judge(x)
        loss = sum(F.cross_entropy(o, y[:, k]) for k, o in enumerate(outs))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == steps - 1:
            log(f"judge step {step} loss {loss.item():.4f}")
    return judge.eval()


@torch.no_grad()
def judge_accuracy(judge, images: np.ndarray, labels: np.ndarray) -> dict:
    """judge: the torch Judge, or an onnxruntime session of judge.onnx."""
    preds = [[], [], []]
    for i in range(0, len(images), 256):
        if isinstance(judge, torch.nn.Module):
            outs = [o.numpy() for o in judge(torch.from_numpy(images[i : i + 256]))]
        else:
            outs = judge.run(None, {"image": np.ascontiguousarray(images[i : i + 256])})
        for k in range(3):
            preds[k].append(outs[k].argmax(1))
    p = [np.concatenate(v) for v in preds]
    acc = {name: float((p[k] == labels[:, k]).mean()) for k, name in enumerate(["object", "style", "id"])}
    acc["all_three"] = float(np.all(np.stack(p, 1) == labels, axis=1).mean())
    return acc


def export_judge(judge: models.Judge, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, "judge.onnx.tmp")
    torch.onnx.export(
        judge,
        (torch.rand(1, 3, world.SIZE, world.SIZE),),
        tmp,
        input_names=["image"],
        output_names=["object", "style", "id"],
        dynamic_axes={"image": {0: "batch"}, "object": {0: "batch"}, "style": {0: "batch"}, "id": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    os.replace(tmp, os.path.join(out_dir, "judge.onnx"))
    labels = {
        "input": {"name": "image", "shape": ["N", 3, world.SIZE, world.SIZE], "dtype": "float32", "range": [0, 1], "layout": "NCHW RGB"},
        "outputs": {"object": world.OBJECT_LABELS, "style": world.STYLES, "id": world.IDS},
        "absent": {"object": "none", "style": "plain", "id": "none"},
    }
    with open(os.path.join(out_dir, "labels.json"), "w") as f:
        json.dump(labels, f, indent=2)


def train_vae(images: np.ndarray, steps: int, full_steps: int, batch: int):
    """AutoencoderKL: mostly on 16x16 crops (the conv stack is translation-equivariant; 4x cheaper), then full images."""
    from diffusers import AutoencoderKL

    torch.manual_seed(20)
    g = torch.Generator().manual_seed(21)
    vae = AutoencoderKL(**models.VAE_CONFIG)
    opt = torch.optim.AdamW(vae.parameters(), lr=2e-3, weight_decay=0.0)
    total = steps + full_steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=total, pct_start=0.05)
    x_all = torch.from_numpy(images) * 2 - 1
    vae.train()
    for step in range(total):
        if step < steps:
            idx = torch.randint(0, len(x_all), (batch,), generator=g)
            oy, ox = (torch.randint(0, 5, (2,), generator=g) * 4).tolist()
            x = x_all[idx, :, oy : oy + 16, ox : ox + 16]
        else:
            idx = torch.randint(0, len(x_all), (batch,), generator=g)
            x = x_all[idx]
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=g)
        rec = vae.decode(z).sample
        loss = F.mse_loss(rec, x) + 0.5 * F.l1_loss(rec, x) + 1e-6 * post.kl().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == total - 1:
            log(f"vae step {step} loss {loss.item():.4f}")
    return vae.eval()


def finetune_decoder(vae, images: np.ndarray, steps: int, batch: int):
    """Sharpens the decoder on full images with the encoder frozen: the latent space (and so the UNet) is unchanged."""
    torch.manual_seed(40)
    g = torch.Generator().manual_seed(41)
    params = list(vae.post_quant_conv.parameters()) + list(vae.decoder.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0)
    # max(): OneCycleLR needs a warm-up of at least two steps (only matters for --quick).
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps, pct_start=max(0.05, 2.5 / steps))
    x_all = torch.from_numpy(images) * 2 - 1
    vae.train()
    for step in range(steps):
        x = x_all[torch.randint(0, len(x_all), (batch,), generator=g)]
        with torch.no_grad():
            post = vae.encode(x).latent_dist
            z = post.mean + post.std * torch.randn(post.mean.shape, generator=g)
        rec = vae.decode(z).sample
        loss = F.mse_loss(rec, x) + 0.5 * F.l1_loss(rec, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"decoder step {step} loss {loss.item():.4f}")
    return vae.eval()


@torch.no_grad()
def reconstruction_metrics(vae, judge, test_images: np.ndarray, test_labels: np.ndarray) -> tuple[dict, float]:
    rec = vae.decode(encode_all(vae, test_images[:512])[0]).sample.clamp(-1, 1) * 0.5 + 0.5
    return judge_accuracy(judge, rec.numpy(), test_labels[:512]), float(((rec.numpy() - test_images[:512]) ** 2).mean())


@torch.no_grad()
def reconstruct_all(vae, means: torch.Tensor, stds: torch.Tensor, seed: int) -> np.ndarray:
    """Decodes one posterior sample of every image: what the judge will see after generation, minus the UNet."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(means), 256):
        z = means[i : i + 256] + stds[i : i + 256] * torch.randn(means[i : i + 256].shape, generator=g)
        out.append((vae.decode(z).sample.clamp(-1, 1) * 0.5 + 0.5).numpy())
    return np.concatenate(out)


@torch.no_grad()
def encode_all(vae, images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    means, stds = [], []
    for i in range(0, len(images), 256):
        post = vae.encode(torch.from_numpy(images[i : i + 256]) * 2 - 1).latent_dist
        means.append(post.mean)
        stds.append(post.std)
    return torch.cat(means), torch.cat(stds)


def train_unet(latents: torch.Tensor, stds: torch.Tensor, ids: torch.Tensor, empty_ids: torch.Tensor, steps: int, batch: int):
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(30)
    g = torch.Generator().manual_seed(31)
    unet = UNet2DConditionModel(**models.UNET_CONFIG)
    text = CLIPTextModel(CLIPTextConfig(**models.TEXT_CONFIG))
    noise_sched = DDPMScheduler(**{k: v for k, v in models.SCHEDULER_CONFIG.items() if k != "set_alpha_to_one"})
    alphas = noise_sched.alphas_cumprod
    params = list(unet.parameters()) + list(text.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)
    warm = max(1, steps // 25)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    )
    ema_unet, ema_text = copy.deepcopy(unet).eval(), copy.deepcopy(text).eval()
    ema_pairs = list(zip(list(ema_unet.parameters()) + list(ema_text.parameters()), params))
    unet.train()
    text.train()
    running = None
    for step in range(steps):
        idx = torch.randint(0, len(latents), (batch,), generator=g)
        z0 = latents[idx] + stds[idx] * torch.randn(latents[idx].shape, generator=g)
        tok = ids[idx].clone()
        drop = torch.rand(batch, generator=g) < 0.1
        tok[drop] = empty_ids
        t = torch.randint(0, 1000, (batch,), generator=g)
        eps = torch.randn(z0.shape, generator=g)
        a = alphas[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
        cond = text(tok).last_hidden_state
        pred = unet(zt, t, cond).sample
        loss = F.mse_loss(pred, eps)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in ema_pairs:
                pe.lerp_(p, 1 - decay)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 250 == 0 or step == steps - 1:
            log(f"unet step {step} loss {loss.item():.4f} (running {running:.4f})")
    return ema_unet, ema_text, running


def decoder_stage(out: str, cfg: dict) -> None:
    """The last training stage on its own: identical to the in-script call (the stage seeds itself)."""
    import onnxruntime as ort
    from diffusers import AutoencoderKL

    model_dir = os.path.join(out, "model")
    vae = AutoencoderKL.from_pretrained(os.path.join(model_dir, "vae"))
    images, _, _ = world.dataset(cfg["n_train"], seed=1)
    test_images, _, test_labels = world.dataset(cfg["n_test"], seed=2)
    judge = ort.InferenceSession(os.path.join(out, "judge", "judge.onnx"), providers=["CPUExecutionProvider"])
    t = time.time()
    vae = finetune_decoder(vae, images, cfg["decoder_steps"], cfg["batch"] // 2)
    dec_rec, dec_mse = reconstruction_metrics(vae, judge, test_images, test_labels)
    log(f"decoder fine-tuned: held-out mse {dec_mse:.5f} judge on reconstructions {dec_rec}")
    stage = os.path.join(model_dir, "vae.tmp")
    shutil.rmtree(stage, ignore_errors=True)
    vae.save_pretrained(stage, safe_serialization=True)
    for name in os.listdir(stage):
        os.chmod(os.path.join(stage, name), 0o644)
    shutil.rmtree(os.path.join(model_dir, "vae"))
    os.replace(stage, os.path.join(model_dir, "vae"))
    path = os.path.join(out, "metrics.json")
    metrics = json.load(open(path)) if os.path.exists(path) else {}
    metrics["judge_on_vae_reconstructions_after_decoder_finetune"] = dec_rec
    metrics["vae_heldout_mse_after_decoder_finetune"] = dec_mse
    metrics.setdefault("timings", {})["decoder_s"] = time.time() - t
    metrics.setdefault("config", {})["decoder_steps"] = cfg["decoder_steps"]
    with open(path + ".tmp", "w") as f:
        json.dump(metrics, f, indent=2)
    os.replace(path + ".tmp", path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny data and step counts")
    ap.add_argument("--out", default=None, help="output root (default: conceptbench/toy, or /tmp/toy-quick with --quick)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (2 on an idle 2-core machine is about 1.5x faster than 1 for the UNet; see OMP_WAIT_POLICY above)")
    ap.add_argument("--skip-eval", action="store_true")
    ap.add_argument(
        "--decoder-stage",
        action="store_true",
        help="only run the decoder fine-tune on an existing <out>/model (same seeds and data as the full run) and update metrics.json",
    )
    args = ap.parse_args()
    cfg = QUICK if args.quick else FULL
    out = args.out or ("/tmp/toy-quick" if args.quick else TOY)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    np.random.seed(0)
    t_start = time.time()
    timings = {}
    if args.decoder_stage:
        decoder_stage(out, cfg)
        return
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizer

    model_dir = os.path.join(out, "model")
    concepts.write(os.path.join(TOY, "concepts.json"))
    stage = model_dir + ".tmp"
    shutil.rmtree(stage, ignore_errors=True)
    bpe = os.path.join(TOY, "..", "..", "src", "tokenizer", "vocab", "bpe_simple_vocab_16e6.txt.gz")
    vocab.write_tokenizer_folder(bpe, os.path.join(stage, "tokenizer"))
    tokenizer = CLIPTokenizer.from_pretrained(os.path.join(stage, "tokenizer"))

    t = time.time()
    images, captions, labels = world.dataset(cfg["n_train"], seed=1)
    test_images, _, test_labels = world.dataset(cfg["n_test"], seed=2)
    timings["render_s"] = time.time() - t
    log(f"rendered {len(images)} train + {len(test_images)} held-out images")

    t = time.time()
    vae = train_vae(images, cfg["vae_steps"], cfg["vae_full_steps"], cfg["batch"] // 2)
    means, stds = encode_all(vae, images)
    scaling = float(1.0 / (means.std() + 1e-8))
    vae.register_to_config(scaling_factor=scaling)
    timings["vae_s"] = time.time() - t
    log(f"vae scaling {scaling:.4f}")

    t = time.time()
    recon = reconstruct_all(vae, means, stds, seed=12)
    judge = train_judge(images, labels, cfg["judge_steps"], cfg["batch"], recon=recon)
    del recon
    acc = judge_accuracy(judge, test_images, test_labels)
    export_judge(judge, os.path.join(out, "judge"))
    timings["judge_s"] = time.time() - t
    log(f"judge held-out accuracy {acc}")
    vae_rec, vae_mse = reconstruction_metrics(vae, judge, test_images, test_labels)
    log(f"vae held-out mse {vae_mse:.5f} judge on reconstructions {vae_rec}")

    t = time.time()
    ids = tokenizer(captions, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    empty = tokenizer([""], padding="max_length", max_length=77, return_tensors="pt").input_ids[0]
    unet, text, unet_loss = train_unet(means * scaling, stds * scaling, ids, empty, cfg["unet_steps"], cfg["batch"])
    timings["unet_s"] = time.time() - t
    t = time.time()
    vae = finetune_decoder(vae, images, cfg["decoder_steps"], cfg["batch"] // 2)
    dec_rec, dec_mse = reconstruction_metrics(vae, judge, test_images, test_labels)
    timings["decoder_s"] = time.time() - t
    log(f"decoder fine-tuned: held-out mse {dec_mse:.5f} judge on reconstructions {dec_rec}")

    scheduler = DDIMScheduler(**models.SCHEDULER_CONFIG)
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(stage, safe_serialization=True)
    # vocab.json + merges.txt are the tokenizer; the derived fast-tokenizer file only adds 3.6 MB.
    os.remove(os.path.join(stage, "tokenizer", "tokenizer.json"))
    for root, _, files in os.walk(stage):
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    shutil.rmtree(model_dir, ignore_errors=True)
    os.replace(stage, model_dir)
    timings["train_total_s"] = time.time() - t_start
    log(f"saved {model_dir}; training took {timings['train_total_s'] / 60:.1f} min")

    metrics = {
        "config": cfg,
        "timings": timings,
        "judge_heldout_accuracy": acc,
        "judge_on_vae_reconstructions": vae_rec,
        "vae_heldout_mse": vae_mse,
        "judge_on_vae_reconstructions_after_decoder_finetune": dec_rec,
        "vae_heldout_mse_after_decoder_finetune": dec_mse,
        "vae_scaling_factor": scaling,
        "unet_final_loss_ema": unet_loss,
        "torch_threads": args.threads,
    }
    if not args.skip_eval:
        import evaluate

        t = time.time()
        metrics["generation"] = evaluate.evaluate(model_dir, os.path.join(out, "judge", "judge.onnx"), os.path.join(TOY, "concepts.json"), quick=args.quick)
        timings["eval_s"] = time.time() - t
    tmp = os.path.join(out, "metrics.json.tmp")
    with open(tmp, "w") as f:
        json.dump(metrics, f, indent=2)
    os.replace(tmp, os.path.join(out, "metrics.json"))
    log("done")


if __name__ == "__main__":
    main()
