#!/usr/bin/python3
"""Writes the safetensors fixtures in test/fixtures/safetensors/ (run with Debian's
/usr/bin/python3 and python3-torch; the files are committed so tests need no Python).

The format is written by hand (8-byte little-endian header length, JSON header, data), as the
safetensors package is not available here. Each file also holds `test.*` tensors: an input and
torch.nn.MultiheadAttention's float64 output for the weights exactly as stored (after rounding
to F16/BF16), which the tests reproduce.
"""
import json
import struct
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "safetensors"
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def write(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        st_dtype = "F32" if name.startswith("test.") else dtype
        raw = t.detach().to(DTYPES[st_dtype]).contiguous()
        data = raw.view(torch.int16).numpy().tobytes() if st_dtype != "F32" else raw.numpy().tobytes()
        header[name] = {"dtype": st_dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"generator": "tools/gen-safetensors.py"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def stored(t, dtype):
    return t.detach().to(DTYPES[dtype]).to(torch.float64)


def expected(mha_weights, x, num_heads):
    e = x.shape[-1]
    mha = torch.nn.MultiheadAttention(e, num_heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat(mha_weights["qkv_w"]))
        mha.in_proj_bias.copy_(torch.cat(mha_weights["qkv_b"]))
        mha.out_proj.weight.copy_(mha_weights["out_w"])
        mha.out_proj.bias.copy_(mha_weights["out_b"])
        out, _ = mha(x, x, x, need_weights=False)
    return out


def main():
    torch.manual_seed(7)
    OUT.mkdir(parents=True, exist_ok=True)
    e, h, b, l = 16, 4, 2, 5
    x = torch.randn(b, l, e, dtype=torch.float64)
    w = [torch.randn(e, e) / e ** 0.5 for _ in range(4)]
    bias = [torch.randn(e) * 0.1 for _ in range(4)]
    for dtype in DTYPES:
        ws = {"qkv_w": [stored(t, dtype) for t in w[:3]], "qkv_b": [stored(t, dtype) for t in bias[:3]],
              "out_w": stored(w[3], dtype), "out_b": stored(bias[3], dtype)}
        out = expected(ws, x, h)
        # PyTorch nn.MultiheadAttention names, under a prefix.
        write(OUT / f"torch-mha-{dtype.lower()}.safetensors", {
            "decoder.self_attn.in_proj_weight": torch.cat(w[:3]),
            "decoder.self_attn.in_proj_bias": torch.cat(bias[:3]),
            "decoder.self_attn.out_proj.weight": w[3],
            "decoder.self_attn.out_proj.bias": bias[3],
            "test.input": x.float(), "test.output": out.float(),
        }, dtype)
        # Hugging Face BERT names: two layers, so the prefix must be given.
        blocks = {}
        for layer in range(2):
            p = f"encoder.layer.{layer}.attention."
            scale = 1.0 if layer == 0 else 0.5
            blocks.update({
                p + "self.query.weight": w[0] * scale, p + "self.query.bias": bias[0],
                p + "self.key.weight": w[1], p + "self.key.bias": bias[1],
                p + "self.value.weight": w[2], p + "self.value.bias": bias[2],
                p + "output.dense.weight": w[3], p + "output.dense.bias": bias[3],
                p + "output.LayerNorm.weight": torch.ones(e), p + "output.LayerNorm.bias": torch.zeros(e),
            })
        ws1 = dict(ws, qkv_w=[stored(w[0] * 0.5, dtype)] + ws["qkv_w"][1:])
        write(OUT / f"hf-bert-{dtype.lower()}.safetensors", {
            **blocks, "test.input": x.float(),
            "test.output.layer0": out.float(), "test.output.layer1": expected(ws1, x, h).float(),
        }, dtype)
    print("wrote", sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
