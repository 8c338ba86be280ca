"""Writes tests/fixtures/kernels/torch_reference.json: independent PyTorch answers for the kernels' CPU twins.

- Cross-attention (diffusers layout: Q = X·Wqᵀ, K = E·Wkᵀ, heads split as reshape(n, heads, d_head)),
  P = softmax(QKᵀ/√d_head); loss on P[:, :, keys] as sum of squares and as the global L2 norm (FMN);
  gradients w.r.t. Wq, Wk, Q and K by autograd in float64.
- torch.optim.AdamW over 5 steps in float32.

Run: python tests/reference/kernels_fixtures.py  (pinned versions in tests/reference/requirements.txt)
"""
import json
import pathlib

import torch

out = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "kernels" / "torch_reference.json"
g = torch.Generator().manual_seed(1234)


def randn(*shape, scale=1.0):
    return (torch.randn(*shape, generator=g) * scale).to(torch.float32)


def attention_case(n_q, c, n_k, d_ctx, inner, heads, keys):
    x, e = randn(n_q, c), randn(n_k, d_ctx)
    wq, wk = randn(inner, c, scale=0.3), randn(inner, d_ctx, scale=0.3)
    result = {
        "heads": heads, "keys": keys,
        "x": {"rows": n_q, "cols": c, "data": x.flatten().tolist()},
        "context": {"rows": n_k, "cols": d_ctx, "data": e.flatten().tolist()},
        "wq": {"rows": inner, "cols": c, "data": wq.flatten().tolist()},
        "wk": {"rows": inner, "cols": d_ctx, "data": wk.flatten().tolist()},
    }
    d = inner // heads
    for kind in ["sumOfSquares", "norm"]:
        wq64 = wq.double().requires_grad_(True)
        wk64 = wk.double().requires_grad_(True)
        q_flat = x.double() @ wq64.T
        k_flat = e.double() @ wk64.T
        q_flat.retain_grad()
        k_flat.retain_grad()
        q = q_flat.reshape(n_q, heads, d).permute(1, 0, 2)
        k = k_flat.reshape(n_k, heads, d).permute(1, 0, 2)
        p = torch.softmax(q @ k.transpose(1, 2) / d ** 0.5, dim=-1)
        chosen = p[:, :, keys]
        loss = (chosen ** 2).sum() if kind == "sumOfSquares" else torch.linalg.vector_norm(chosen)
        loss.backward()
        result[kind] = {
            "loss": loss.item(),
            "gradWq": wq64.grad.flatten().tolist(),
            "gradWk": wk64.grad.flatten().tolist(),
            "gradQ": q_flat.grad.flatten().tolist(),
            "gradK": k_flat.grad.flatten().tolist(),
        }
        result["probabilities"] = chosen.detach().flatten().tolist()
    return result


def adamw_case():
    params = randn(20)
    grads = [randn(20) for _ in range(5)]
    p = torch.nn.Parameter(params.clone())
    opt = torch.optim.AdamW([p], lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    for grad in grads:
        p.grad = grad.clone()
        opt.step()
    return {
        "options": {"lr": 1e-2, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weightDecay": 0.1},
        "params": params.tolist(),
        "grads": [grad.tolist() for grad in grads],
        "final": p.detach().tolist(),
    }


fixture = {
    "torch": torch.__version__,
    "attention": [
        attention_case(6, 10, 9, 7, 12, 3, [2, 4, 8]),
        attention_case(33, 16, 77, 24, 40, 5, [4, 5, 6, 76]),
    ],
    "adamw": adamw_case(),
}
out.parent.mkdir(parents=True, exist_ok=True)


def compact(value):
    """9 significant digits: exact for float32 inputs, far below the tests' tolerances for float64 results."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, list):
        return [compact(v) for v in value]
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items()}
    return value


out.write_text(json.dumps(compact(fixture), separators=(",", ":")))
print(f"wrote {out} ({out.stat().st_size} bytes)")
