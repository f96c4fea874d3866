#!/usr/bin/python3
"""Generate PyTorch parity fixtures for test/parity-torch.test.ts.

Runs torch.nn.MultiheadAttention(batch_first=True) in float64 on float32-representable
inputs, weights and masks, and writes one JSON file per case into test/fixtures/torch/
plus test/fixtures/torch/manifest.json listing them. Tensors are stored as
{"dtype": "f32" | "f64" | "u8", "shape": [...], "b64": <little-endian bytes, base64>}:
inputs, state dict and masks as f32/u8 (exactly what the test feeds), outputs and
attention weights as f64 (the float64 evaluation the test compares against).

Semantics bridged here:
- isCausal: torch 1.13's MultiheadAttention has no is_causal, so torch gets an explicit
  tril bool mask (True = blocked above the diagonal); the fixture stores isCausal=true and
  no attnMask. Only L == S, where torch's top-left tril equals our bottom-right causal mask.
- No case has a fully blocked query row (torch yields NaN there, ours yields zeros).

Usage: /usr/bin/python3 tools/gen-fixtures.py   (deterministic: torch.manual_seed per case)
"""
import base64
import json
import os

import numpy as np
import torch

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch')


def enc(t, dtype):
    arr = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    np_dtype = {'f32': '<f4', 'f64': '<f8', 'u8': 'u1'}[dtype]
    arr = np.ascontiguousarray(arr.astype(np_dtype))
    return {'dtype': dtype, 'shape': list(arr.shape), 'b64': base64.b64encode(arr.tobytes()).decode('ascii')}


def f32(shape, scale=1.0):
    """A float64 tensor whose values are exactly representable in float32."""
    return (torch.randn(*shape, dtype=torch.float32) * scale).double()


def allowed_rows_bool(blocked):
    """Unblock one random key in every row that is fully blocked (keeps torch NaN-free)."""
    flat = blocked.reshape(-1, blocked.shape[-1])
    for r in range(flat.shape[0]):
        if bool(flat[r].all()):
            flat[r, torch.randint(flat.shape[1], (1,)).item()] = False
    return flat.reshape(blocked.shape)


def key_padding(B, S, lengths):
    """[B, S] bool, True = padding, from per-sequence valid lengths (each >= 1)."""
    kpm = torch.zeros(B, S, dtype=torch.bool)
    for b, n in enumerate(lengths):
        kpm[b, n:] = True
    return kpm


def additive(shape, blocked_frac):
    """Finite random additive mask (float32 values) with some -inf entries, no fully blocked row."""
    m = f32(shape, 0.5)
    blocked = allowed_rows_bool(torch.rand(*shape) < blocked_frac)
    return m.masked_fill(blocked, float('-inf'))


def run_case(name, *, B, L, S, E, H, kdim=None, vdim=None, bias=True, self_attn=False,
             kpm=None, attn_mask=None, causal=False, need_weights=False, average=True, seed=0):
    torch.manual_seed(seed)
    mha = torch.nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=vdim, batch_first=True).double()
    # Round every parameter to float32 (the test feeds float32) and make biases nonzero.
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(f32(p.shape, 0.3 if p.dim() == 2 else 0.1))
    mha.eval()  # dropout off; parameters still require grad, which keeps torch off its fast path
    kd, vd = kdim or E, vdim or E
    query = f32((B, L, E))
    if self_attn:
        key = value = query
    else:
        key, value = f32((B, S, kd)), f32((B, S, vd))
    kpm_t = kpm(B, S) if callable(kpm) else kpm
    mask_t = attn_mask(B, H, L, S) if callable(attn_mask) else attn_mask
    torch_mask = mask_t
    if causal:
        assert L == S and mask_t is None
        torch_mask = torch.ones(L, S, dtype=torch.bool).triu(1)
    torch_kpm = kpm_t.double() if kpm_t is not None and kpm_t.is_floating_point() else kpm_t
    if torch_mask is not None and torch_mask.is_floating_point():
        torch_mask = torch_mask.double()
    out, weights = mha(query, key, value, key_padding_mask=torch_kpm, need_weights=need_weights,
                       attn_mask=torch_mask, average_attn_weights=average)
    assert not torch.isnan(out).any(), name
    state = {k: enc(v, 'f32') for k, v in mha.state_dict().items()}
    case = {
        'name': name, 'numHeads': H, 'embedDim': E, 'kDim': kd, 'vDim': vd, 'bias': bias,
        'selfAttention': self_attn, 'isCausal': causal, 'needWeights': need_weights,
        'averageAttnWeights': average,
        'query': enc(query, 'f32'),
        'state': state,
        'output': enc(out, 'f64'),
    }
    if not self_attn:
        case['key'] = enc(key, 'f32')
        case['value'] = enc(value, 'f32')
    for field, m in (('keyPaddingMask', kpm_t), ('attnMask', mask_t)):
        if m is not None:
            case[field] = enc(m, 'f32' if m.is_floating_point() else 'u8')
    if need_weights:
        assert not torch.isnan(weights).any(), name
        case['attnWeights'] = enc(weights, 'f64')
    return case


def cases():
    rand_bool = lambda shape, frac: (lambda *_: allowed_rows_bool(torch.rand(*shape) < frac))
    yield run_case('self_basic', B=2, L=7, S=7, E=16, H=4, self_attn=True, need_weights=True)
    yield run_case('self_tiny_E3_H1_L1', B=1, L=1, S=1, E=3, H=1, self_attn=True, need_weights=True)
    yield run_case('self_E33_H3_per_head_weights', B=3, L=33, S=33, E=33, H=3, self_attn=True,
                   need_weights=True, average=False, seed=1)
    yield run_case('cross_kdim7_vdim33', B=2, L=5, S=9, E=24, H=3, kdim=7, vdim=33,
                   need_weights=True, seed=2)
    yield run_case('cross_same_dims', B=2, L=3, S=7, E=12, H=2, need_weights=True, seed=3)
    yield run_case('self_bias_false', B=2, L=3, S=3, E=12, H=2, bias=False, self_attn=True,
                   need_weights=True, seed=4)
    yield run_case('cross_kdim_vdim_bias_false', B=1, L=7, S=3, E=8, H=2, kdim=5, vdim=3, bias=False,
                   need_weights=True, average=False, seed=5)
    yield run_case('key_padding_bool', B=3, L=7, S=33, E=16, H=2,
                   kpm=lambda B, S: key_padding(B, S, [33, 1, 20]), need_weights=True, seed=6)
    yield run_case('key_padding_float', B=2, L=5, S=9, E=16, H=4,
                   kpm=lambda B, S: additive((B, S), 0.3), need_weights=True, seed=7)
    yield run_case('attn_mask_bool_LS', B=2, L=7, S=7, E=16, H=4, self_attn=True,
                   attn_mask=lambda B, H, L, S: rand_bool((L, S), 0.5)(), need_weights=True, seed=8)
    yield run_case('attn_mask_float_LS', B=2, L=7, S=33, E=16, H=4,
                   attn_mask=lambda B, H, L, S: additive((L, S), 0.3), need_weights=True,
                   average=False, seed=9)
    yield run_case('attn_mask_bool_per_head', B=2, L=7, S=9, E=24, H=3,
                   attn_mask=lambda B, H, L, S: rand_bool((B * H, L, S), 0.5)(), need_weights=True,
                   average=False, seed=10)
    yield run_case('attn_mask_float_per_head', B=2, L=3, S=7, E=12, H=3,
                   attn_mask=lambda B, H, L, S: additive((B * H, L, S), 0.3), need_weights=True, seed=11)
    yield run_case('causal_self_L33', B=2, L=33, S=33, E=16, H=2, self_attn=True, causal=True,
                   need_weights=True, seed=12)
    yield run_case('causal_with_key_padding', B=3, L=7, S=7, E=16, H=4, self_attn=True, causal=True,
                   kpm=lambda B, S: key_padding(B, S, [7, 3, 1]), need_weights=True, average=False,
                   seed=13)
    yield run_case('key_padding_and_float_mask', B=2, L=9, S=9, E=20, H=4,
                   kpm=lambda B, S: key_padding(B, S, [9, 4]),
                   attn_mask=lambda B, H, L, S: additive((L, S), 0.0), need_weights=True, seed=14)
    yield run_case('key_padding_and_bool_per_head', B=2, L=5, S=7, E=16, H=2,
                   kpm=lambda B, S: key_padding(B, S, [7, 5]),
                   attn_mask=lambda B, H, L, S: (torch.rand(B * H, L, S) < 0.4).index_fill(2, torch.tensor([0]), False),
                   need_weights=True, average=False, seed=15)
    yield run_case('head_dim_64', B=1, L=17, S=17, E=128, H=2, self_attn=True, need_weights=True,
                   seed=16)
    yield run_case('head_dim_80_H1_no_weights', B=2, L=9, S=33, E=80, H=1, seed=17)
    yield run_case('head_dim_1', B=2, L=3, S=5, E=7, H=7, need_weights=True, seed=18)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):
        if f.endswith('.json'):
            os.remove(os.path.join(OUT_DIR, f))
    names = []
    for case in cases():
        with open(os.path.join(OUT_DIR, case['name'] + '.json'), 'w') as fh:
            json.dump(case, fh, separators=(',', ':'))
        names.append(case['name'])
    with open(os.path.join(OUT_DIR, 'manifest.json'), 'w') as fh:
        json.dump({'generator': 'tools/gen-fixtures.py', 'torch': torch.__version__, 'cases': names}, fh,
                  indent=1)
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    print(f'{len(names)} cases, {total} bytes in {OUT_DIR}')


if __name__ == '__main__':
    main()
