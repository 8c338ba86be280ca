"""Reference fixtures for src/formats (safetensors reader/writer, float16/bfloat16 rounding).

Run by hand with the pinned stack (tests/reference/requirements.txt):

    python tests/reference/safetensors_fixtures.py

Writes into tests/fixtures/safetensors/:
- all_dtypes.safetensors + all_dtypes.json: every dtype we read (F32, F16, BF16, F64, I64, I32, I16, I8,
  U8, BOOL) with known values, a scalar, zero-size tensors and `__metadata__`, written by
  `safetensors.torch.save_file`; the JSON lists each tensor's dtype, shape and exact values.
- unaligned.safetensors + unaligned.json: a file built by hand as a non-reference writer would (header
  not padded to 8 bytes, tensors at unaligned offsets); the script checks that safetensors still loads it.
- writer_reference*.safetensors + writer_reference.json: files written by the reference writer
  (`safetensors.torch.save_file` and `safetensors.numpy.save_file`, which must agree) whose tensors mix
  every dtype and awkward names, so that the Deno writer can be compared byte for byte; sha256 recorded.
- rounding.json: float32 bit patterns (edge cases + seeded random) and their float16 bit patterns from
  numpy and torch and bfloat16 bit patterns from torch.
"""

import hashlib
import json
import os
import struct

import numpy as np
import safetensors
import safetensors.numpy
import safetensors.torch
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "safetensors")


def json_float(v: float):
    """A float as JSON allows it: non-finite values become the strings "Infinity", "-Infinity", "NaN"."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def values_of(t: torch.Tensor) -> list:
    """Exact values as JSON numbers (float16/bfloat16/float32 widen exactly to float64)."""
    if t.is_floating_point():
        return [json_float(float(v)) for v in t.to(torch.float64).flatten().tolist()]
    return [int(v) for v in t.flatten().tolist()]


DT_NAME = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def describe(tensors: dict) -> dict:
    return {
        name: {"dtype": DT_NAME[t.dtype], "shape": list(t.shape), "values": values_of(t)}
        for name, t in tensors.items()
    }


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def all_dtypes() -> None:
    g = torch.Generator().manual_seed(1)
    base = torch.randn(2, 3, 4, generator=g) * 3
    tensors = {
        "f32": base.clone(),
        "f16": base.to(torch.float16),
        "bf16": base.to(torch.bfloat16),
        "f64": base.to(torch.float64) / 7,
        "f16_edges": torch.tensor([0.0, -0.0, 65504.0, -65504.0, 6.103515625e-05, 5.960464477539063e-08,
                                   float("inf"), float("-inf")], dtype=torch.float16),
        "bf16_edges": torch.tensor([0.0, -0.0, 3.3895313892515355e38, 1.1754943508222875e-38,
                                    9.183549615799121e-41, float("inf"), float("-inf")], dtype=torch.bfloat16),
        "position_ids": torch.arange(77, dtype=torch.int64).unsqueeze(0),
        "i64_big": torch.tensor([-(2**40) - 3, 2**40 + 5, -1, 0], dtype=torch.int64),
        "i32": torch.tensor([[-2147483648, 2147483647, 0], [-1, 1, 12345]], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767, -2, 3], dtype=torch.int16),
        "i8": torch.tensor([-128, 127, -1, 0, 5], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True], [True, True]]),
        "scalar_f32": torch.tensor(3.25, dtype=torch.float32),
        "scalar_i64": torch.tensor(-7, dtype=torch.int64),
        "empty_f32": torch.zeros(0, 3, dtype=torch.float32),
        "empty_f16": torch.zeros(4, 0, dtype=torch.float16),
    }
    path = os.path.join(OUT, "all_dtypes.safetensors")
    metadata = {"format": "pt"}
    safetensors.torch.save_file(tensors, path, metadata=metadata)
    back = safetensors.torch.load_file(path)
    for k, v in tensors.items():
        assert torch.equal(back[k], v), k
    with open(os.path.join(OUT, "all_dtypes.json"), "w") as f:
        json.dump({"metadata": metadata, "sha256": sha256(path), "tensors": describe(tensors)}, f, indent=1)
        f.write("\n")


def unaligned() -> None:
    """A header not padded to 8 bytes and tensors at odd offsets, as some other writers produce."""
    parts = [
        ("flags", "U8", [3], np.array([1, 2, 3], np.uint8)),
        ("w", "F32", [2, 2], np.array([1.5, -2.25, 1e-3, 3e38], np.float32)),
        ("h", "F16", [3], np.array([0.5, -1.0, 0.333], np.float16)),
        ("d", "F64", [1], np.array([np.pi], np.float64)),
        ("b", "BF16", [2], (np.array([1.0, -3.0], np.float32).view(np.uint32) >> 16).astype(np.uint16)),
        ("n", "I64", [2], np.array([-5, 2**33], np.int64)),
    ]
    header = {"__metadata__": {"writer": "hand-built", "note": "unaligned"}}
    data = b""
    for name, dtype, shape, arr in parts:
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    hjson = json.dumps(header, separators=(",", ":")).encode()
    if (8 + len(hjson)) % 8 == 0:
        hjson += b" "  # make sure the data buffer really starts unaligned
    blob = struct.pack("<Q", len(hjson)) + hjson + data
    assert (8 + len(hjson)) % 4 != 0
    path = os.path.join(OUT, "unaligned.safetensors")
    with open(path, "wb") as f:
        f.write(blob)
    loaded = safetensors.torch.load_file(path)  # the reference must accept it
    expected = {}
    for name, dtype, shape, arr in parts:
        t = loaded[name]
        assert list(t.shape) == shape, name
        expected[name] = {"dtype": dtype, "shape": shape, "values": values_of(t)}
    with safetensors.safe_open(path, "pt") as f:
        assert f.metadata() == header["__metadata__"]
    with open(os.path.join(OUT, "unaligned.json"), "w") as f:
        json.dump({"metadata": header["__metadata__"], "tensors": expected}, f, indent=1)
        f.write("\n")


def writer_reference() -> None:
    """Tensors whose order in the file exercises the reference writer's sort (dtype rank, then UTF-8 name)."""
    g = torch.Generator().manual_seed(2)
    tensors = {
        "b.weight": torch.randn(3, 5, generator=g),
        "z.ids": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "a.double": torch.randn(2, generator=g, dtype=torch.float64),
        "c.int": torch.tensor([1, -2, 3], dtype=torch.int32),
        "x.half": torch.randn(7, generator=g).to(torch.float16),
        "y.bhalf": torch.randn(7, generator=g).to(torch.bfloat16),
        "d.short": torch.tensor([-3, 4], dtype=torch.int16),
        "e.byte": torch.tensor([-3, 4, 5], dtype=torch.int8),
        "f.ubyte": torch.tensor([250, 4], dtype=torch.uint8),
        "g.mask": torch.tensor([True, False, True]),
        "scalar": torch.tensor(1.5),
        "empty": torch.zeros(0, 2),
        "é": torch.tensor([1.0]),
        "\uff01": torch.tensor([2.0]),
        "\U0001F600": torch.tensor([3.0]),
        'q"\\\x01\n': torch.tensor([4.0]),
        "Z.upper": torch.tensor([5.0]),
        "10": torch.tensor([6.0]),  # integer-like names: a JS object would move these first
        "9": torch.tensor([7.0]),
        "__proto__": torch.tensor([8.0]),
    }
    cases = []
    for label, metadata in [("writer_reference", {"format": "pt"}), ("writer_reference_nometa", None)]:
        path = os.path.join(OUT, f"{label}.safetensors")
        safetensors.torch.save_file(tensors, path, metadata=metadata)
        cases.append({"file": f"{label}.safetensors", "metadata": metadata, "sha256": sha256(path),
                      "size": os.path.getsize(path)})
    # numpy's writer and torch's agree byte for byte (the sort happens in the shared Rust core).
    no_bf16 = {k: v for k, v in tensors.items() if v.dtype != torch.bfloat16}
    a = safetensors.torch.save(no_bf16, metadata={"format": "pt"})
    b = safetensors.numpy.save({k: v.numpy() for k, v in no_bf16.items()}, metadata={"format": "pt"})
    assert a == b
    with open(os.path.join(OUT, "writer_reference.json"), "w") as f:
        json.dump({"cases": cases, "tensors": describe(tensors)}, f, indent=1)
        f.write("\n")


def rounding() -> None:
    """float32 → float16 (numpy, torch) and → bfloat16 (torch) bit patterns."""
    edge_bits = [
        0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000,  # 0, 1, inf
        0x7F7FFFFF, 0xFF7FFFFF, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000,  # max, subnormals
        0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000,  # around f16 max 65504 / 65520
        0x33800000, 0x33000000, 0x33000001, 0x32FFFFFF, 0x33C00000, 0x34000000,  # f16 subnormal rounding
        0x387FC000, 0x387FE000, 0x387FF000, 0x38800000,  # f16 subnormal → normal carry
        0x3F801000, 0x3F803000, 0x3F801001, 0x3F800FFF,  # f16 ties to even at 1.0
        0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF,  # bf16 ties to even at 1.0
        0x7F7F8000, 0x7F7F7FFF, 0xFF7F8000,  # bf16 overflow to inf by rounding
        0x00008000, 0x00018000, 0x80008000,  # bf16 ties in the subnormal range
        0x3EAAAAAB, 0xC0490FDB, 0x42F6E979,  # 1/3, -pi, 123.456
    ]
    rng = np.random.default_rng(3)
    rand_bits = rng.integers(0, 2**32, size=2000, dtype=np.uint64).astype(np.uint32)
    # random values concentrated near the float16 range, including its subnormals
    near = (rng.standard_normal(1500) * np.exp2(rng.uniform(-30, 17, 1500))).astype(np.float32).view(np.uint32)
    bits = np.concatenate([np.array(edge_bits, np.uint32), rand_bits, near])
    x = bits.view(np.float32)
    nan = np.isnan(x)
    bits, x = bits[~nan], x[~nan]  # NaNs are tested separately (payload handling differs between libraries)
    f16_np = x.astype(np.float16).view(np.uint16)
    f16_torch = torch.from_numpy(x.copy()).to(torch.float16).view(torch.int16).numpy().view(np.uint16)
    bf16_torch = torch.from_numpy(x.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    assert np.array_equal(f16_np, f16_torch), "numpy and torch disagree on float16 rounding"
    with open(os.path.join(OUT, "rounding.json"), "w") as f:
        json.dump({
            "note": "float32 bits -> float16 bits (numpy == torch) and bfloat16 bits (torch), NaN excluded",
            "f32": [int(v) for v in bits],
            "f16": [int(v) for v in f16_np],
            "bf16": [int(v) for v in bf16_torch],
        }, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    assert safetensors.__version__ == "0.8.0", safetensors.__version__
    os.makedirs(OUT, exist_ok=True)
    all_dtypes()
    unaligned()
    writer_reference()
    rounding()
    print("wrote", sorted(os.listdir(OUT)))
