"""Writes the standard CLIP tokenizer folder (vocab.json + merges.txt + configs).

The vocabulary is rebuilt from open_clip's `bpe_simple_vocab_16e6.txt.gz`: 256 byte
characters, the same with the end-of-word marker, one token per merge, then the two
special tokens, 49,408 ids in all (the vocabulary every Stable Diffusion 1.x ships).
"""

import gzip
import json
import os

VOCAB_SIZE = 49408
BOS = "<|startoftext|>"
EOS = "<|endoftext|>"


def printable_bytes() -> list[str]:
    """GPT-2 byte-to-character table: printable bytes map to themselves, the rest above 255."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table = {}
    shift = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + shift)
            shift += 1
    return [table[b] for b in range(256)]


def read_merges(bpe_gz: str) -> list[tuple[str, str]]:
    with gzip.open(bpe_gz, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    # Line 0 is a version header; CLIP uses the first 49152 - 256 - 2 merges.
    pairs = [tuple(line.split()) for line in lines[1 : 1 + VOCAB_SIZE - 512 - 2]]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"{bpe_gz}: malformed merge line")
    return pairs


def write_tokenizer_folder(bpe_gz: str, out_dir: str) -> None:
    merges = read_merges(bpe_gz)
    chars = printable_bytes()
    tokens = chars + [c + "</w>" for c in chars] + ["".join(p) for p in merges] + [BOS, EOS]
    if len(tokens) != VOCAB_SIZE:
        raise ValueError(f"vocabulary has {len(tokens)} tokens, expected {VOCAB_SIZE}")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(p) for p in merges) + "\n")
    special = {"content": None, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "bos_token": dict(special, content=BOS),
                "eos_token": dict(special, content=EOS),
                "pad_token": EOS,
                "unk_token": dict(special, content=EOS),
            },
            f,
            indent=2,
        )
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "tokenizer_class": "CLIPTokenizer",
                "bos_token": BOS,
                "eos_token": EOS,
                "pad_token": EOS,
                "unk_token": EOS,
                "model_max_length": 77,
                "do_lower_case": True,
                "clean_up_tokenization_spaces": True,
                "errors": "replace",
                "add_prefix_space": False,
            },
            f,
            indent=2,
        )
