"""Golden fixtures for src/sample/torch_generator.ts: what torch's CPU generator draws for a seed.

Records, for `torch.Generator().manual_seed(seed)` (a fresh generator per case):
  - `torch.rand(8)` (float32 uniforms: the low 24 bits of a 32-bit mt19937 draw, times 2^-24);
  - `torch.randn(n)` for sizes below 16 (torch's scalar path: double Box-Muller with a cached second
    value), at 16 and above (the uniforms-then-blocks-of-16 path) and not multiples of 16 (the last 16
    values are redrawn);
  - `normal_(mean, std)` with a mean and std other than 0 and 1;
  - several calls in a row on one generator (the stream, and the cached normal, carry over between
    calls, as diffusers' per-step noise relies on).
Large draws are stored as their first and last 32 values plus the float64 sum and sum of squares
(summed in order), so the file stays small. Float32 values are stored as exact decimal numbers.

torch computes the n >= 16 path with a different kernel depending on the CPU: x86 builds with AVX2 (and
not AVX-512, not MSVC) use vectorised float32 log/sincos, the others a scalar loop over libm's logf,
cosf and sinf. The script records both (in child processes with ATEN_CPU_CAPABILITY=avx2 and =default)
under "avx2" and "scalar"; the n < 16 path is the same in both.

Usage:  python3 tests/reference/torch_noise_fixtures.py   (writes tests/fixtures/noise/torch_randn.json)
"""

import json
import os
import subprocess
import sys

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "noise", "torch_randn.json")
SEEDS = [0, 1, 42, 5, 2**32 + 5, 2**40]
SIZES = [1, 3, 15, 16, 17, 31, 256, 1000, 4 * 64 * 64]
EDGE = 32  # values kept at each end of a large draw
CALLS = [3, 16, 1, 17, 5, 256, 2, 256]  # consecutive randn sizes on one generator
STREAM_SEED = 7


def summary(x):
    """First and last EDGE values, and the in-order float64 sum and sum of squares."""
    v = x.detach().reshape(-1).numpy().astype(np.float32)
    d = v.astype(np.float64)
    out = {"n": int(v.size), "sum": float(np.cumsum(d)[-1]), "sumsq": float(np.cumsum(d * d)[-1])}
    if v.size <= 2 * EDGE:
        out["values"] = [float(a) for a in v]
    else:
        out["head"] = [float(a) for a in v[:EDGE]]
        out["tail"] = [float(a) for a in v[-EDGE:]]
    return out


def gen(seed):
    return torch.Generator().manual_seed(seed)


def draws():
    """Every case under the current ATEN_CPU_CAPABILITY."""
    cases = []
    for seed in SEEDS:
        for n in SIZES:
            cases.append({"seed": seed, "calls": [n], "out": [summary(torch.randn(n, generator=gen(seed)))]})
    for n in [5, 40]:
        x = torch.empty(n).normal_(0.5, 2.0, generator=gen(3))
        cases.append({"seed": 3, "calls": [n], "mean": 0.5, "std": 2.0, "out": [summary(x)]})
    g = gen(STREAM_SEED)
    outs = [summary(torch.randn(n, generator=g)) for n in CALLS]
    cases.append({"seed": STREAM_SEED, "calls": CALLS, "out": outs})
    # diffusers' randn_tensor for SD latents: shape [1, 4, h, w], then the same generator per step.
    g = gen(0)
    outs = [summary(torch.randn([1, 4, 8, 8], generator=g)) for _ in range(3)]
    cases.append({"seed": 0, "calls": [256, 256, 256], "out": outs})
    return {"capability": torch.backends.cpu.get_cpu_capability(), "cases": cases}


def child(capability):
    env = dict(os.environ, ATEN_CPU_CAPABILITY=capability)
    res = subprocess.run([sys.executable, __file__, "--child"], env=env, check=True, capture_output=True)
    return json.loads(res.stdout)


def main():
    if sys.argv[1:] == ["--child"]:
        print(json.dumps(draws()))
        return
    avx2, scalar = child("avx2"), child("default")
    if avx2["capability"] != "AVX2":
        sys.exit(f"this CPU gives capability {avx2['capability']}, not AVX2: run on an x86 CPU with AVX2")
    uniforms = [
        {"seed": s, "values": [float(a) for a in torch.rand(8, generator=gen(s)).numpy()]} for s in SEEDS
    ]
    fixture = {
        "torch": torch.__version__,
        "uniform": uniforms,
        "avx2": avx2["cases"],
        "scalar": scalar["cases"],
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
