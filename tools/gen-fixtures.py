#!/usr/bin/python3
"""Generate the parity fixtures: two families, one JSON file per case plus a manifest.json each.

Usage: /usr/bin/python3 tools/gen-fixtures.py
    Regenerates both families deterministically (a fixed seed per case; OpenBLAS pinned to one
    kernel set, see below). It runs the variant oracle's self-checks and builds every case
    (each with its own assertions) before writing anything, so a failed assertion leaves the
    committed files as they were.

Tensors are stored as {"dtype": "f32" | "f64" | "u8", "shape": [...], "b64": <little-endian
bytes, base64>}: inputs, weights and masks as f32/u8 (float32-representable values, exactly what
the tests feed), expected outputs and attention weights as f64 (the float64 evaluation the tests
compare against with relative L2 <= 2e-5).

Family 1, test/fixtures/torch/ (test/parity-torch.test.ts): torch.nn.MultiheadAttention
(batch_first=True) in float64. Semantics bridged there:
- isCausal: torch 1.13's MultiheadAttention has no is_causal, so torch gets an explicit
  tril bool mask (True = blocked above the diagonal); the fixture stores isCausal=true and
  no attnMask. Only L == S, where torch's top-left tril equals our bottom-right causal mask.
- No case has a fully blocked query row (torch yields NaN there, ours yields zeros).

Family 2, test/fixtures/variants/ (test/parity-variants.test.ts): the attention variants of the
API contract (grouped-query heads, scale, softcap, ALiBi, sliding window, rotary), packed
variable-length batches and per-sequence KV caches. torch 1.13 has none of these, so the
expectation comes from `oracle` below: the layer written out in float64 numpy, following the
contract's order (projections + bias; rotary on q and k; s = scale * q.k; softcap; ALiBi;
additive masks; blocks; softmax with a fully blocked row giving zero weights; P.V; output
projection). `self_checks` ties it to torch.nn.MultiheadAttention where torch has the feature
and to second derivations where it has not. Every case also asserts that dropping any option it
sets moves the expected output far beyond the tolerance, so no case passes an implementation
that ignores the option.

A variants case file:
  name, kind ('forward' | 'packed' | 'cache'), covers (what the case is for),
  options   the layer options as the public API takes them: embedDim, numHeads, bias, and when
            set numKvHeads, kDim, vDim, scale, softcap, alibi (true or a list of numHeads slopes),
            window {left?, right?}, rotary {dim?, base?, interleaved?}
  names     'llama' (q_proj.weight, k_proj.weight, v_proj.weight, o_proj.weight, *.bias),
            'torch' (q_proj_weight, k_proj_weight, v_proj_weight, out_proj.weight, in_proj_bias
            = q, k, v biases back to back, out_proj.bias) or 'torch_packed' (in_proj_weight [3E, E]
            instead of the three); the state dict in `state` uses them. k/v projections have
            numKvHeads * headDim rows.
  call      selfAttention (key and value are the query tensor itself), isCausal, needWeights,
            averageAttnWeights, and for kind 'packed' sequenceLengths [N] (query tokens per
            sequence, 0 allowed) plus kvSequenceLengths [N] when selfAttention is false.
  kind 'forward': query [B, L, E], key [B, S, kDim] and value [B, S, vDim] unless
            selfAttention, keyPaddingMask [B, S] and attnMask ([L, S], [B*H, L, S] or
            [B, H, L, S]) when used; output [B, L, E]; attnWeights [B, L, S] (averaged) or
            [B, H, L, S] when needWeights.
  kind 'packed': query [T, E], key [Tk, kDim], value [Tk, vDim] (T, Tk the sums of the
            lengths); output [T, E] = the forwards of each (query, key) sequence pair on its
            own (positions from 0, bottom-right causal), concatenated; a query sequence with no
            keys has rows equal to the output bias.
  kind 'cache': cache {batchSize, capacity} and steps, fed in order to one cache created with
            createKVCache({ batchSize, capacity }) as forward(x, x, x, { kvCache, isCausal: true,
            sequenceLengths }). Each step is
              x                the new tokens: [B, t, E] when every sequence appends t tokens
                               (no sequenceLengths), else packed [T, E] with
              sequenceLengths  [batchSize] tokens appended per sequence (0: sits the step out),
              lengths          every sequence's cache length after the step,
              output           the new tokens' outputs, shaped like x: for each sequence, the
                               rows of its new tokens in one causal forward over all of its
                               tokens so far (so rotary, ALiBi and window positions count from
                               the start of that sequence's cache).
            capacity is the longest sequence's final length (the last steps fill it exactly).
"""
import base64
import json
import math
import os
import platform

# float64 matmul results differ in the last bit between OpenBLAS's per-CPU kernels; pinning the
# baseline x86-64 kernel (the one the committed torch fixtures were written with) makes the
# files identical on every x86-64 machine, so it overrides any OPENBLAS_CORETYPE already set.
# OpenBLAS reads it when it loads, so this comes before numpy and torch.
if platform.machine().lower() in ('x86_64', 'amd64'):
    os.environ['OPENBLAS_CORETYPE'] = 'Prescott'

import numpy as np
import torch

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
TORCH_DIR = os.path.join(FIXTURES, 'torch')
VARIANTS_DIR = os.path.join(FIXTURES, 'variants')


# ------------------------------------------------------------------------------------------
# Family 1: torch.nn.MultiheadAttention.

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


def torch_cases():
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


# ------------------------------------------------------------------------------------------
# Family 2: attention variants against a float64 oracle with explicit math.

VARIANT_KEYS = ('scale', 'softcap', 'alibi', 'window', 'rotary')
ROTARY_DEFAULTS = {'base': 10000.0, 'interleaved': False}  # dim defaults to headDim
# Dropping an option a case sets must change its expected output by at least this relative L2
# (far above the 2e-5 parity tolerance), or the case could not catch an ignored option.
SENSITIVE = 1e-3
# The oracle against torch and against its own second derivations: float64 rounding only.
ORACLE_TOL = 1e-12


def rel_l2(a, b):
    a, b = np.ravel(a), np.ravel(b)
    den = np.linalg.norm(b)
    return np.linalg.norm(a - b) / (den if den > 0 else 1.0)


def assert_close(got, want, what, tol=ORACLE_TOL):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, f'{what}: shape {got.shape} != {want.shape}'
    assert not np.isnan(got).any() and not np.isnan(want).any(), f'{what}: NaN'
    err = np.max(np.abs(got - want), initial=0.0) / max(1.0, np.max(np.abs(want), initial=0.0))
    assert err <= tol, f'{what}: max error {err} relative to the largest magnitude'


class Gen:
    """Seeded float32-representable values (RandomState: its stream is fixed across numpy versions)."""

    def __init__(self, seed):
        self.rs = np.random.RandomState(seed)

    def f32(self, shape, scale=1.0):
        return (self.rs.standard_normal(shape).astype(np.float32) * np.float32(scale)).astype(np.float64)

    def uniform(self, shape):
        return self.rs.random_sample(shape)


def alibi_slopes(H):
    """The standard ALiBi slopes: 2^(-8(h+1)/H) for H a power of two; otherwise the first
    2^floor(log2 H) of those and every other slope of the 2^ceil(log2 H) sequence."""
    def geometric(n):
        return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]
    p = 1 << (H.bit_length() - 1)
    if p == H:
        return np.array(geometric(H))
    return np.array(geometric(p) + geometric(2 * p)[0::2][:H - p])


def hf_alibi_slopes(n):
    """Hugging Face's get_alibi_slopes (BLOOM's build_alibi_tensor), transcribed: a second
    derivation that alibi_slopes must agree with."""
    closest = 2 ** math.floor(math.log2(n))
    base = 2.0 ** (-(2.0 ** -(math.log2(closest) - 3)))
    slopes = [base ** p for p in range(1, 1 + closest)]
    if closest != n:
        extra_base = 2.0 ** (-(2.0 ** -(math.log2(2 * closest) - 3)))
        remaining = min(closest, n - closest)
        slopes += [extra_base ** p for p in range(1, 1 + 2 * remaining, 2)]
    return np.array(slopes)


def rotary_params(opts):
    """(dim, base, interleaved) of the layer's rotary option, defaults filled in; None without one."""
    rot = opts.get('rotary')
    if rot is None:
        return None
    D = opts['embedDim'] // opts['numHeads']
    return (rot.get('dim', D), float(rot.get('base', ROTARY_DEFAULTS['base'])),
            bool(rot.get('interleaved', ROTARY_DEFAULTS['interleaved'])))


def rope(x, pos, dim, base, interleaved):
    """RoPE on x [..., n, D] at positions pos [n]: the first dim features in pairs (x[i],
    x[i + dim/2]) or, interleaved, (x[2i], x[2i+1]), rotated by pos * base^(-2i/dim)."""
    half = dim // 2
    ang = np.asarray(pos, np.float64)[:, None] * base ** (-2.0 * np.arange(half) / dim)[None, :]
    cos, sin = np.cos(ang), np.sin(ang)
    first, second = (slice(0, dim, 2), slice(1, dim, 2)) if interleaved else (slice(0, half), slice(half, dim))
    a, b = x[..., first], x[..., second]
    out = x.copy()
    out[..., first] = a * cos - b * sin
    out[..., second] = a * sin + b * cos
    return out


def rope_complex(x, pos, dim, base, interleaved):
    """RoPE as complex multiplication, pair (re, im) times e^(i angle): checks `rope`."""
    half = dim // 2
    re, im = (x[..., 0:dim:2], x[..., 1:dim:2]) if interleaved else (x[..., :half], x[..., half:dim])
    theta = np.outer(np.asarray(pos, np.float64), 1.0 / base ** (np.arange(0, dim, 2) / dim))
    z = (re + 1j * im) * np.exp(1j * theta)
    out = x.copy()
    if interleaved:
        out[..., 0:dim:2], out[..., 1:dim:2] = z.real, z.imag
    else:
        out[..., :half], out[..., half:dim] = z.real, z.imag
    return out


def as_bhls(m, B, H, L, S):
    """An attention mask ([L, S], [B*H, L, S], [B, H, L, S] or [B, 1, L, S]) broadcast to [B, H, L, S]."""
    if m.ndim == 2:
        m = m[None, None]
    elif m.ndim == 3:
        m = m.reshape(B, H, L, S)
    return np.broadcast_to(m, (B, H, L, S))


def oracle(opts, W, query, key, value, kpm=None, attn_mask=None, causal=False):
    """The attention layer of the API contract in float64, batch-first rank-3 inputs.

    opts: layer options as the public API takes them. W: q [E, E], k [Hkv*D, kDim],
    v [Hkv*D, vDim], o [E, E] and biases qb, kb, vb, ob (zeros for bias: false).
    kpm: [B, S]; attn_mask as in as_bhls; bool = True blocks, float = added (-inf blocks).
    Returns (output [B, L, E], weights [B, H, L, S]).
    """
    E, H = opts['embedDim'], opts['numHeads']
    Hkv = opts.get('numKvHeads', H)
    D = E // H
    B, L, _ = query.shape
    S = key.shape[1]
    q = (query @ W['q'].T + W['qb']).reshape(B, L, H, D).transpose(0, 2, 1, 3)
    k = (key @ W['k'].T + W['kb']).reshape(B, S, Hkv, D).transpose(0, 2, 1, 3)
    v = (value @ W['v'].T + W['vb']).reshape(B, S, Hkv, D).transpose(0, 2, 1, 3)
    pq = np.arange(L) + (S - L)   # bottom-right aligned, as isCausal
    pk = np.arange(S)
    rot = rotary_params(opts)
    if rot is not None:
        q, k = rope(q, pq, *rot), rope(k, pk, *rot)
    kv_head = np.arange(H) // (H // Hkv)
    k, v = k[:, kv_head], v[:, kv_head]
    s = opts.get('scale', 1.0 / math.sqrt(D)) * (q @ k.transpose(0, 1, 3, 2))
    cap = opts.get('softcap')
    if cap is not None:
        s = cap * np.tanh(s / cap)
    alibi = opts.get('alibi')
    if alibi is not None:
        slopes = alibi_slopes(H) if alibi is True else np.asarray(alibi, np.float64)
        s = s - slopes[None, :, None, None] * np.abs(pq[:, None] - pk[None, :])[None, None]
    blocked = np.zeros((B, H, L, S), bool)
    for m in (None if kpm is None else kpm[:, None, None, :],
              None if attn_mask is None else as_bhls(attn_mask, B, H, L, S)):
        if m is None:
            continue
        m = np.broadcast_to(m, (B, H, L, S))
        if m.dtype == bool:
            blocked |= m
        else:
            blocked |= np.isneginf(m)
            s = s + np.where(np.isneginf(m), 0.0, m)
    if causal:
        blocked |= (pk[None, :] > pq[:, None])[None, None]
    win = opts.get('window')
    if win is not None:
        if 'left' in win:
            blocked |= (pk[None, :] < pq[:, None] - win['left'])[None, None]
        if 'right' in win:
            blocked |= (pk[None, :] > pq[:, None] + win['right'])[None, None]
    s = np.where(blocked, -np.inf, s)
    top = s.max(axis=-1, keepdims=True, initial=-np.inf)
    e = np.exp(s - np.where(np.isfinite(top), top, 0.0))   # blocked: exp(-inf) = 0
    total = e.sum(axis=-1, keepdims=True)
    p = np.divide(e, total, out=np.zeros_like(e), where=total > 0)   # fully blocked row: zeros
    ctx = (p @ v).transpose(0, 2, 1, 3).reshape(B, L, E)
    return ctx @ W['o'].T + W['ob'], p


def make_weights(g, E, H, Hkv, kd, vd, bias, wscale=1.0):
    D = E // H
    W = {'q': g.f32((E, E), wscale / math.sqrt(E)), 'k': g.f32((Hkv * D, kd), wscale / math.sqrt(kd)),
         'v': g.f32((Hkv * D, vd), 1.0 / math.sqrt(vd)), 'o': g.f32((E, E), 1.0 / math.sqrt(E))}
    for b, n in (('qb', E), ('kb', Hkv * D), ('vb', Hkv * D), ('ob', E)):
        W[b] = g.f32((n,), 0.1) if bias else np.zeros(n)
    return W


def state_dict(W, names, bias):
    if names == 'llama':
        state = {'q_proj.weight': W['q'], 'k_proj.weight': W['k'], 'v_proj.weight': W['v'], 'o_proj.weight': W['o']}
        if bias:
            state.update({'q_proj.bias': W['qb'], 'k_proj.bias': W['kb'], 'v_proj.bias': W['vb'], 'o_proj.bias': W['ob']})
    else:
        if names == 'torch_packed':
            assert W['q'].shape == W['k'].shape == W['v'].shape
            state = {'in_proj_weight': np.concatenate([W['q'], W['k'], W['v']])}
        else:
            assert names == 'torch'
            state = {'q_proj_weight': W['q'], 'k_proj_weight': W['k'], 'v_proj_weight': W['v']}
        state['out_proj.weight'] = W['o']
        if bias:
            state['in_proj_bias'] = np.concatenate([W['qb'], W['kb'], W['vb']])
            state['out_proj.bias'] = W['ob']
    return {k: enc(v, 'f32') for k, v in state.items()}


def layer_options(E, H, Hkv, kdim, vdim, bias, variants):
    opts = {'embedDim': E, 'numHeads': H}
    if Hkv is not None:
        opts['numKvHeads'] = Hkv
    if kdim is not None:
        opts['kDim'] = kdim
    if vdim is not None:
        opts['vDim'] = vdim
    opts['bias'] = bias
    for k, v in (variants or {}).items():
        assert k in VARIANT_KEYS, k
        opts[k] = v
    return opts


def without(d, key):
    return {k: v for k, v in d.items() if k != key}


def check_sensitive(name, opts, causal, run, causal_optional=True):
    """Assert that dropping any option the case sets (each variant option, each non-default
    rotary field, each window side, explicit ALiBi slopes for the default ones, isCausal)
    moves run(opts, causal) by more than SENSITIVE."""
    ref = run(opts, causal)
    alts = [(k, without(opts, k), causal) for k in VARIANT_KEYS if k in opts]
    rot = opts.get('rotary') or {}
    for field in rot:
        if field == 'dim' or rot[field] != ROTARY_DEFAULTS[field]:
            alts.append((f'rotary.{field}', {**opts, 'rotary': without(rot, field)}, causal))
    win = opts.get('window') or {}
    if len(win) > 1:
        alts += [(f'window.{side}', {**opts, 'window': without(win, side)}, causal) for side in win]
    if isinstance(opts.get('alibi'), list):
        alts.append(('explicit alibi slopes', {**opts, 'alibi': True}, causal))
    if causal and causal_optional:
        alts.append(('isCausal', opts, False))
    for label, o, c in alts:
        d = rel_l2(run(o, c), ref)
        assert d > SENSITIVE, f'{name}: dropping {label} moves the expected output by only {d}'


def bool_mask(g, shape, frac):
    return g.uniform(shape) < frac


def padding(B, S, valid, left=None):
    """[B, S] bool key padding, True = padding: sequence b keeps positions [left[b], left[b] + valid[b])."""
    kpm = np.ones((B, S), bool)
    for b, n in enumerate(valid):
        start = left[b] if left else 0
        kpm[b, start:start + n] = False
    return kpm


def additive_mask(g, shape, inf_frac, scale=1.0):
    m = g.f32(shape, scale)
    return np.where(g.uniform(shape) < inf_frac, -np.inf, m)


def encode_mask(m):
    return enc(m, 'u8') if m.dtype == bool else enc(m, 'f32')


def forward_case(name, covers, *, seed, B, L, S, E, H, Hkv=None, kdim=None, vdim=None, bias=True,
                 names='llama', variants=None, self_attn=False, kpm=None, attn_mask=None, causal=False,
                 need_weights=False, average=True, wscale=1.0):
    g = Gen(seed)
    opts = layer_options(E, H, Hkv, kdim, vdim, bias, variants)
    kd, vd = kdim or E, vdim or E
    W = make_weights(g, E, H, Hkv or H, kd, vd, bias, wscale)
    query = g.f32((B, L, E))
    if self_attn:
        assert L == S and kd == vd == E
        key = value = query
    else:
        key, value = g.f32((B, S, kd)), g.f32((B, S, vd))
    kpm_a = kpm(g, B, S) if kpm else None
    mask_a = attn_mask(g, B, H, L, S) if attn_mask else None

    def run(o, c):
        return oracle(o, W, query, key, value, kpm_a, mask_a, c)[0]

    out, p = oracle(opts, W, query, key, value, kpm_a, mask_a, causal)
    check_sensitive(name, opts, causal, run)
    case = {
        'name': name, 'kind': 'forward', 'covers': covers, 'options': opts, 'names': names,
        'state': state_dict(W, names, bias),
        'call': {'selfAttention': self_attn, 'isCausal': causal, 'needWeights': need_weights,
                 'averageAttnWeights': average},
        'query': enc(query, 'f32'),
    }
    if not self_attn:
        case['key'], case['value'] = enc(key, 'f32'), enc(value, 'f32')
    if kpm_a is not None:
        case['keyPaddingMask'] = encode_mask(kpm_a)
    if mask_a is not None:
        case['attnMask'] = encode_mask(mask_a)
    case['output'] = enc(out, 'f64')
    if need_weights:
        case['attnWeights'] = enc(p.mean(axis=1) if average else p, 'f64')
    return case


def packed_case(name, covers, *, seed, lengths, kv_lengths=None, E, H, Hkv=None, kdim=None, vdim=None,
                bias=True, names='llama', variants=None, causal=False, wscale=1.0):
    g = Gen(seed)
    self_attn = kv_lengths is None
    kv = lengths if self_attn else kv_lengths
    assert len(kv) == len(lengths)
    opts = layer_options(E, H, Hkv, kdim, vdim, bias, variants)
    kd, vd = kdim or E, vdim or E
    W = make_weights(g, E, H, Hkv or H, kd, vd, bias, wscale)
    query = g.f32((sum(lengths), E))
    if self_attn:
        assert kd == vd == E
        key = value = query
    else:
        key, value = g.f32((sum(kv), kd)), g.f32((sum(kv), vd))

    def run(o, c):
        rows, qa, ka = [np.zeros((0, E))], 0, 0
        for Ln, Sn in zip(lengths, kv):
            if Ln:
                rows.append(oracle(o, W, query[None, qa:qa + Ln], key[None, ka:ka + Sn],
                                   value[None, ka:ka + Sn], causal=c)[0][0])
            qa, ka = qa + Ln, ka + Sn
        return np.concatenate(rows)

    out = run(opts, causal)
    check_sensitive(name, opts, causal, run)
    qa, ka = 0, 0
    for Ln, Sn in zip(lengths, kv):
        if Sn == 0:   # the contract: a query sequence with no keys gets the output bias
            assert_close(out[qa:qa + Ln], np.broadcast_to(W['ob'], (Ln, E)), f'{name}: rows without keys', 0.0)
        qa, ka = qa + Ln, ka + Sn
    if not causal and not any(k in opts for k in ('alibi', 'window', 'rotary')):
        # Without position-dependent options, packing equals padding to the longest with a
        # key padding mask and dropping the padded rows.
        N, Lmax, Smax = len(lengths), max(lengths), max(kv)
        qp, kp, vp = np.zeros((N, Lmax, E)), np.zeros((N, Smax, kd)), np.zeros((N, Smax, vd))
        qa, ka = 0, 0
        for n, (Ln, Sn) in enumerate(zip(lengths, kv)):
            qp[n, :Ln], kp[n, :Sn], vp[n, :Sn] = query[qa:qa + Ln], key[ka:ka + Sn], value[ka:ka + Sn]
            qa, ka = qa + Ln, ka + Sn
        padded = oracle(opts, W, qp, kp, vp, kpm=padding(N, Smax, kv))[0]
        assert_close(out, np.concatenate([padded[n, :Ln] for n, Ln in enumerate(lengths)]),
                     f'{name}: packed vs padded')
    call = {'selfAttention': self_attn, 'isCausal': causal, 'needWeights': False, 'averageAttnWeights': True,
            'sequenceLengths': list(lengths)}
    if not self_attn:
        call['kvSequenceLengths'] = list(kv)
    case = {'name': name, 'kind': 'packed', 'covers': covers, 'options': opts, 'names': names,
            'state': state_dict(W, names, bias), 'call': call, 'query': enc(query, 'f32')}
    if not self_attn:
        case['key'], case['value'] = enc(key, 'f32'), enc(value, 'f32')
    case['output'] = enc(out, 'f64')
    return case


def cache_case(name, covers, *, seed, steps, E, H, Hkv=None, bias=True, names='llama', variants=None,
               wscale=1.0):
    """steps: tokens appended per sequence at each step; a step with every count equal is fed
    as [B, t, E], any other as packed [T, E] with sequenceLengths."""
    g = Gen(seed)
    B = len(steps[0])
    assert all(len(s) == B for s in steps)
    opts = layer_options(E, H, Hkv, None, None, bias, variants)
    W = make_weights(g, E, H, Hkv or H, E, E, bias, wscale)
    totals = [sum(s[b] for s in steps) for b in range(B)]
    tokens = [g.f32((n, E)) for n in totals]

    def step_rows(o, check=False):
        """Per step, per sequence: the new tokens' rows of one causal forward over all its tokens so far."""
        result, lengths = [], [0] * B
        for counts in steps:
            rows = []
            for b, t in enumerate(counts):
                before, after = lengths[b], lengths[b] + t
                X = tokens[b][None, :after]
                full = oracle(o, W, X, X, X, causal=True)[0][0, before:after]
                if check and t:
                    # The same rows from the step's queries alone against the whole cache
                    # (L = t, S = after): the bottom-right alignment a cache step relies on.
                    new = tokens[b][None, before:after]
                    assert_close(oracle(o, W, new, X, X, causal=True)[0][0], full, f'{name}: step vs full forward')
                rows.append(full)
                lengths[b] = after
            result.append(rows)
        return result

    def run(o, c):
        return np.concatenate([r for rows in step_rows(o) for r in rows])

    expected = step_rows(opts, check=True)
    check_sensitive(name, opts, True, run, causal_optional=False)
    out_steps, lengths = [], [0] * B
    for counts, rows in zip(steps, expected):
        lengths = [n + t for n, t in zip(lengths, counts)]
        before = [n - t for n, t in zip(lengths, counts)]
        x = [tokens[b][before[b]:lengths[b]] for b in range(B)]
        step = {}
        if len(set(counts)) == 1:
            step['x'], step['output'] = enc(np.stack(x), 'f32'), enc(np.stack(rows), 'f64')
        else:
            step['sequenceLengths'] = list(counts)
            step['x'], step['output'] = enc(np.concatenate(x), 'f32'), enc(np.concatenate(rows), 'f64')
        step['lengths'] = list(lengths)
        out_steps.append(step)
    return {'name': name, 'kind': 'cache', 'covers': covers, 'options': opts, 'names': names,
            'state': state_dict(W, names, bias),
            'call': {'selfAttention': True, 'isCausal': True, 'needWeights': False, 'averageAttnWeights': True},
            'cache': {'batchSize': B, 'capacity': max(totals)}, 'steps': out_steps}


def self_checks():
    """The oracle against torch.nn.MultiheadAttention where torch has the feature, and against
    second derivations where it has not. Any failure stops the generator."""
    # 1. No variant options: torch.nn.MultiheadAttention in float64 (masks, cross dims, bias,
    #    weights averaged and per head; no fully blocked row, where torch gives NaN; no float
    #    key padding together with an attention mask, which torch 1.13 does not add up).
    torch_runs = [
        dict(B=2, L=7, S=7, E=16, H=4, self_attn=True, kpm='bool', mask='bool_LS', average=True),
        dict(B=2, L=5, S=9, E=12, H=3, kdim=7, vdim=5, mask='float_per_head', average=False),
        dict(B=2, L=3, S=7, E=8, H=2, kdim=5, kpm='float', average=True),
        dict(B=1, L=3, S=3, E=5, H=1, bias=False, self_attn=True, average=True),
        dict(B=2, L=9, S=9, E=18, H=3, self_attn=True, causal=True, average=False),
    ]
    for i, r in enumerate(torch_runs):
        torch.manual_seed(100 + i)
        B, L, S, E, H = r['B'], r['L'], r['S'], r['E'], r['H']
        kd, vd, bias = r.get('kdim') or E, r.get('vdim') or E, r.get('bias', True)
        mha = torch.nn.MultiheadAttention(E, H, bias=bias, kdim=r.get('kdim'), vdim=r.get('vdim'),
                                          batch_first=True).double()
        with torch.no_grad():
            for prm in mha.parameters():
                prm.copy_(f32(prm.shape, 0.3 if prm.dim() == 2 else 0.1))
        mha.eval()
        query = f32((B, L, E))
        key, value = (query, query) if r.get('self_attn') else (f32((B, S, kd)), f32((B, S, vd)))
        kpm = {'float': lambda: additive((B, S), 0.3), 'bool': lambda: key_padding(B, S, [S, 5]),
               None: lambda: None}[r.get('kpm')]()
        # Key 0 stays visible in every row: torch gives NaN for a fully blocked row.
        mask = {'bool_LS': lambda: (torch.rand(L, S) < 0.4).index_fill(1, torch.tensor([0]), False),
                'float_per_head': lambda: additive((B * H, L, S), 0.3), None: lambda: None}[r.get('mask')]()
        torch_mask = torch.ones(L, S, dtype=torch.bool).triu(1) if r.get('causal') else mask
        want, want_w = mha(query, key, value, key_padding_mask=kpm, attn_mask=torch_mask, need_weights=True,
                           average_attn_weights=r['average'])
        sd = {k: v.detach().numpy().astype(np.float64) for k, v in mha.state_dict().items()}
        if 'in_proj_weight' in sd:
            Wq, Wk, Wv = np.split(sd['in_proj_weight'], 3)
        else:
            Wq, Wk, Wv = sd['q_proj_weight'], sd['k_proj_weight'], sd['v_proj_weight']
        qb, kb, vb = np.split(sd['in_proj_bias'], 3) if bias else (np.zeros(E),) * 3
        W = {'q': Wq, 'k': Wk, 'v': Wv, 'o': sd['out_proj.weight'], 'qb': qb, 'kb': kb, 'vb': vb,
             'ob': sd['out_proj.bias'] if bias else np.zeros(E)}
        npy = lambda t: None if t is None else t.numpy()
        got, p = oracle({'embedDim': E, 'numHeads': H}, W, query.numpy(), key.numpy(), value.numpy(),
                        npy(kpm), npy(mask), bool(r.get('causal')))
        assert_close(got, want.detach().numpy(), f'torch check {i}: output')
        assert_close(p.mean(axis=1) if r['average'] else p, want_w.detach().numpy(), f'torch check {i}: weights')

    # 2. GQA equals MHA with each kv head's K/V weight rows (and biases) repeated for its group.
    g = Gen(200)
    E, H, Hkv, kd, vd, B, L, S = 36, 6, 2, 7, 5, 2, 4, 9
    D = E // H
    base = {'embedDim': E, 'numHeads': H, 'kDim': kd, 'vDim': vd, 'bias': True, 'alibi': True,
            'window': {'left': 3, 'right': 1}, 'rotary': {'dim': 4, 'interleaved': True}}
    W = make_weights(g, E, H, Hkv, kd, vd, True)
    rows = np.concatenate([np.arange(D) + (h // (H // Hkv)) * D for h in range(H)])
    W_rep = {**W, 'k': W['k'][rows], 'v': W['v'][rows], 'kb': W['kb'][rows], 'vb': W['vb'][rows]}
    query, key, value = g.f32((B, L, E)), g.f32((B, S, kd)), g.f32((B, S, vd))
    for causal in (False, True):
        out_g, p_g = oracle({**base, 'numKvHeads': Hkv}, W, query, key, value, causal=causal)
        out_m, p_m = oracle(base, W_rep, query, key, value, causal=causal)
        assert_close(out_g, out_m, 'GQA vs repeated K/V rows: output')
        assert_close(p_g, p_m, 'GQA vs repeated K/V rows: weights')

    # 3. window equals the explicit boolean mask "visible iff pq - left <= pk <= pq + right";
    #    isCausal equals window {right: 0}.
    g = Gen(201)
    E, H = 16, 4
    opts = {'embedDim': E, 'numHeads': H, 'bias': True, 'alibi': True, 'rotary': {}}
    W = make_weights(g, E, H, H, E, E, True)
    for L, S in ((7, 7), (4, 9), (9, 4)):
        query, key, value = g.f32((2, L, E)), g.f32((2, S, E)), g.f32((2, S, E))
        pq, pk = np.arange(L)[:, None] + (S - L), np.arange(S)[None, :]
        for win in ({'left': 2}, {'right': 1}, {'left': 1, 'right': 2}, {'left': 0, 'right': 0}):
            visible = (pk >= pq - win.get('left', S + L)) & (pk <= pq + win.get('right', S + L))
            out_w, p_w = oracle({**opts, 'window': win}, W, query, key, value)
            out_m, p_m = oracle(opts, W, query, key, value, attn_mask=~visible)
            assert_close(out_w, out_m, f'window {win} vs explicit mask, L={L} S={S}')
            assert_close(p_w, p_m, f'window {win} vs explicit mask weights, L={L} S={S}')
        assert_close(oracle(opts, W, query, key, value, causal=True)[0],
                     oracle({**opts, 'window': {'right': 0}}, W, query, key, value)[0], f'causal vs window right 0, L={L}')

    # 4. ALiBi: default slopes equal Hugging Face's; ALiBi equals the additive mask
    #    -slope[h] * |pq - pk| given per head.
    for n in range(1, 65):
        assert_close(alibi_slopes(n), hf_alibi_slopes(n), f'alibi slopes H={n}', 1e-15)
    g = Gen(202)
    E, H, B, L, S = 24, 6, 2, 5, 8
    opts = {'embedDim': E, 'numHeads': H, 'bias': True}
    W = make_weights(g, E, H, H, E, E, True)
    query, key, value = g.f32((B, L, E)), g.f32((B, S, E)), g.f32((B, S, E))
    dist = np.abs(np.arange(L)[:, None] + (S - L) - np.arange(S)[None, :])
    for alibi in (True, [0.5, 0.25, 0.0, 1.5, 0.125, 0.75]):
        slopes = alibi_slopes(H) if alibi is True else np.array(alibi)
        bias_mask = np.broadcast_to(-slopes[None, :, None, None] * dist[None, None], (B, H, L, S))
        assert_close(oracle({**opts, 'alibi': alibi}, W, query, key, value)[0],
                     oracle(opts, W, query, key, value, attn_mask=bias_mask)[0], f'alibi {alibi} vs additive mask')

    # 5. Rotary: `rope` equals complex multiplication; q.k after rotation depends only on
    #    pq - pk; interleaved pairs equal half-split pairs after permuting each head's q/k rows.
    g = Gen(203)
    x, y = g.f32((3, 11, 10)), g.f32((3, 11, 10))
    pos = np.arange(11) * 3 - 7
    for dim, base_, il in ((10, 10000.0, False), (10, 10000.0, True), (6, 500000.0, False), (4, 100.0, True)):
        assert_close(rope(x, pos, dim, base_, il), rope_complex(x, pos, dim, base_, il), f'rope dim={dim} il={il}')
        dots = lambda shift: rope(x, pos + shift, dim, base_, il) @ rope(y, pos + shift, dim, base_, il).transpose(0, 2, 1)
        assert_close(dots(0), dots(29), f'rope relative positions dim={dim} il={il}')
    E, H, B, L, S = 24, 2, 2, 5, 9
    D, dim = E // H, 8
    W = make_weights(g, E, H, H, E, E, True)
    perm = np.concatenate([np.arange(0, dim, 2), np.arange(1, dim, 2), np.arange(dim, D)])
    rows = np.concatenate([h * D + perm for h in range(H)])
    W_perm = {**W, 'q': W['q'][rows], 'k': W['k'][rows], 'qb': W['qb'][rows], 'kb': W['kb'][rows]}
    query, key, value = g.f32((B, L, E)), g.f32((B, S, E)), g.f32((B, S, E))
    opts = {'embedDim': E, 'numHeads': H, 'bias': True}
    assert_close(oracle({**opts, 'rotary': {'dim': dim, 'interleaved': True}}, W, query, key, value)[0],
                 oracle({**opts, 'rotary': {'dim': dim}}, W_perm, query, key, value)[0], 'interleaved vs permuted half-split')

    # 6. scale: equals the default scale with q's weights and bias multiplied by
    #    scale * sqrt(headDim) (rotary is linear, so it commutes).
    c = 0.375 * math.sqrt(D)
    opts = {**opts, 'rotary': {'dim': dim}, 'softcap': 2.0}
    assert_close(oracle({**opts, 'scale': 0.375}, W, query, key, value)[0],
                 oracle(opts, {**W, 'q': W['q'] * c, 'qb': W['qb'] * c}, query, key, value)[0], 'scale vs scaled q')


def variant_cases():
    kpm_lengths = lambda valid, left=None: (lambda g, B, S: padding(B, S, valid, left))
    # numKvHeads alone (grouped-query and multi-query heads; odd head dims).
    yield forward_case('gqa_H6_Hkv2_D5_self', 'numKvHeads alone: 6 query heads on 2 kv heads, headDim 5, self-attention',
                       seed=1, B=2, L=7, S=7, E=30, H=6, Hkv=2, self_attn=True)
    yield forward_case('gqa_H6_Hkv2_cross_kdim7_vdim33_weights', 'numKvHeads alone: cross-attention L < S with kDim 7, vDim 33, '
                       'PyTorch separate names (in_proj_bias of E + 2*numKvHeads*headDim), averaged weights',
                       seed=2, B=2, L=3, S=7, E=30, H=6, Hkv=2, kdim=7, vdim=33, names='torch', need_weights=True)
    yield forward_case('mqa_H4_Hkv1_D7_bool_mask_per_head', 'numKvHeads 1 (multi-query), headDim 7, a boolean per-head mask '
                       '[B*H, L, S] (some rows fully blocked), per-head weights',
                       seed=3, B=3, L=7, S=7, E=28, H=4, Hkv=1, self_attn=True,
                       attn_mask=lambda g, B, H, L, S: bool_mask(g, (B * H, L, S), 0.5), need_weights=True, average=False)
    yield forward_case('gqa_H3_Hkv3_E33_packed_names', 'numKvHeads equal to numHeads (3), E 33, L = S = 33, in_proj_weight names',
                       seed=4, B=1, L=33, S=33, E=33, H=3, Hkv=3, names='torch_packed', self_attn=True)
    # rotary alone.
    yield forward_case('rotary_defaults_half_split', 'rotary {} alone: dim = headDim, base 10000, pairs (x[i], x[i + dim/2])',
                       seed=5, B=2, L=7, S=7, E=16, H=2, self_attn=True, variants={'rotary': {}})
    yield forward_case('rotary_interleaved', 'rotary interleaved alone: pairs (x[2i], x[2i+1]), PyTorch separate names',
                       seed=6, B=2, L=9, S=9, E=24, H=3, names='torch', self_attn=True,
                       variants={'rotary': {'interleaved': True}})
    yield forward_case('rotary_partial_dim4_cross_L_lt_S', 'rotary on the first 4 of 10 features, cross-attention L 3 < S 9 '
                       '(query positions 6..8), kDim 7, vDim 5',
                       seed=7, B=2, L=3, S=9, E=20, H=2, kdim=7, vdim=5, variants={'rotary': {'dim': 4}})
    yield forward_case('rotary_base500000_interleaved_dim6_L_gt_S', 'rotary base 500000, interleaved, dim 6 of 8, '
                       'cross-attention L 7 > S 3 (negative query positions), no bias',
                       seed=8, B=1, L=7, S=3, E=32, H=4, bias=False,
                       variants={'rotary': {'dim': 6, 'base': 500000, 'interleaved': True}})
    # alibi alone.
    yield forward_case('alibi_H8_power_of_two', 'alibi true alone with H 8: slopes 2^(-(h+1))', seed=9, B=2, L=9, S=9, E=32, H=8,
                       self_attn=True, variants={'alibi': True})
    yield forward_case('alibi_H6_every_other_cross', 'alibi true with H 6 (not a power of two: 4 slopes of the 4-head sequence '
                       'and every other of the 8-head one), cross-attention L < S',
                       seed=10, B=2, L=3, S=7, E=30, H=6, variants={'alibi': True})
    yield forward_case('alibi_H12_every_other_weights', 'alibi true with H 12, headDim 3, per-head weights',
                       seed=11, B=1, L=7, S=7, E=36, H=12, self_attn=True, variants={'alibi': True},
                       need_weights=True, average=False)
    yield forward_case('alibi_explicit_slopes', 'alibi given as 3 explicit slopes (one zero), headDim 7, cross L 5 < S 9',
                       seed=12, B=2, L=5, S=9, E=21, H=3, variants={'alibi': [0.75, 0.0, 0.125]})
    # window alone.
    yield forward_case('window_left_only', 'window {left: 2} alone, L = S', seed=13, B=2, L=9, S=9, E=16, H=4, self_attn=True,
                       variants={'window': {'left': 2}})
    yield forward_case('window_left_right_L33', 'window {left: 3, right: 1}, L = S = 33', seed=14, B=1, L=33, S=33, E=12, H=3,
                       self_attn=True, variants={'window': {'left': 3, 'right': 1}})
    yield forward_case('window_right_only_L_lt_S', 'window {right: 1} alone, cross-attention L 5 < S 9',
                       seed=15, B=2, L=5, S=9, E=16, H=2, variants={'window': {'right': 1}})
    yield forward_case('window_left_right_L_lt_S', 'window {left: 4, right: 2}, cross-attention L 7 < S 33 (right '
                       'blocks only where pq + 2 < S - 1, the first 4 rows)', seed=16, B=2, L=7, S=33, E=16, H=4, variants={'window': {'left': 4, 'right': 2}})
    yield forward_case('window_left2_right0_L_gt_S_blocked_rows', 'window {left: 2, right: 0} with L 9 > S 5: the first 4 '
                       'query rows (negative positions) see no key (zero weights, output = outBias), averaged weights',
                       seed=17, B=2, L=9, S=5, E=12, H=2, variants={'window': {'left': 2, 'right': 0}}, need_weights=True)
    # softcap and scale alone.
    yield forward_case('softcap_alone', 'softcap 1.5 alone (scores large enough to saturate)', seed=18, B=2, L=7, S=7, E=16, H=4,
                       self_attn=True, variants={'softcap': 1.5}, wscale=2.0)
    yield forward_case('softcap_then_additive_mask', 'softcap 1 then a finite additive [L, S] mask with some -inf: the mask '
                       'is added after capping', seed=19, B=2, L=5, S=9, E=16, H=2, variants={'softcap': 1.0}, wscale=2.0,
                       attn_mask=lambda g, B, H, L, S: additive_mask(g, (L, S), 0.2, 2.0))
    yield forward_case('scale_alone', 'scale 0.625 alone (default would be 1/sqrt(8))', seed=20, B=2, L=7, S=7, E=24, H=3,
                       self_attn=True, variants={'scale': 0.625})
    yield forward_case('scale_cross_weights', 'scale 1.25, cross-attention kDim 5, averaged weights',
                       seed=21, B=2, L=3, S=7, E=12, H=2, kdim=5, variants={'scale': 1.25}, need_weights=True)
    # Combinations models use.
    yield forward_case('llama_gqa_rope_causal', 'Llama: GQA 4/2 + rotary + isCausal, no bias',
                       seed=22, B=2, L=9, S=9, E=32, H=4, Hkv=2, bias=False, self_attn=True, causal=True,
                       variants={'rotary': {}})
    yield forward_case('llama_gqa_rope_causal_chunk_L_lt_S', 'Llama chunk: GQA + rotary + bottom-right isCausal with 3 queries '
                       'over 8 keys (query positions 5..7)', seed=23, B=2, L=3, S=8, E=32, H=4, Hkv=2, bias=False, causal=True,
                       variants={'rotary': {}})
    yield forward_case('window_alibi', 'window {left: 3, right: 2} + alibi (H 6)', seed=24, B=2, L=9, S=9, E=30, H=6,
                       self_attn=True, variants={'alibi': True, 'window': {'left': 3, 'right': 2}})
    yield forward_case('gemma2_softcap_padding', 'Gemma 2: softcap 2 + key padding (lengths 9, 4, 1) + GQA + rotary + isCausal',
                       seed=25, B=3, L=9, S=9, E=32, H=4, Hkv=2, bias=False, self_attn=True, causal=True,
                       kpm=kpm_lengths([9, 4, 1]), variants={'softcap': 2.0, 'rotary': {}}, wscale=2.0)
    yield forward_case('mistral_gqa_rope_window_causal', 'Mistral: GQA 8/2 + rotary + window {left: 4} + isCausal, L = S = 33',
                       seed=26, B=1, L=33, S=33, E=32, H=8, Hkv=2, bias=False, self_attn=True, causal=True,
                       variants={'rotary': {}, 'window': {'left': 4}})
    yield forward_case('bloom_alibi_causal_padding', 'BLOOM: alibi (H 12) + isCausal + key padding, sequence 1 left-padded by 2 '
                       '(its first rows see no key: output = outBias), in_proj_weight names',
                       seed=27, B=3, L=7, S=7, E=36, H=12, names='torch_packed', self_attn=True, causal=True,
                       kpm=kpm_lengths([7, 5, 4], left=[0, 2, 0]), variants={'alibi': True})
    yield forward_case('weights_gqa_rope_alibi_causal_averaged', 'needWeights averaged with GQA 6/3 + interleaved rotary + alibi '
                       '+ isCausal', seed=28, B=2, L=5, S=5, E=24, H=6, Hkv=3, self_attn=True, causal=True,
                       variants={'alibi': True, 'rotary': {'interleaved': True}}, need_weights=True)
    yield forward_case('weights_window_softcap_per_head', 'needWeights per head with GQA 4/2 + window {left: 3, right: 0} + '
                       'softcap, cross L 4 < S 9, kDim 7, vDim 3', seed=29, B=2, L=4, S=9, E=20, H=4, Hkv=2, kdim=7, vdim=3,
                       variants={'softcap': 1.5, 'window': {'left': 3, 'right': 0}}, wscale=2.0, need_weights=True,
                       average=False)
    yield forward_case('everything_cross', 'every option at once: GQA 6/3, kDim 7, vDim 5, scale, softcap, explicit alibi, '
                       'window, partial interleaved rotary with base 1000, additive [B, H, L, S] mask with -inf, key '
                       'padding, per-head weights, PyTorch separate names',
                       seed=30, B=2, L=7, S=9, E=36, H=6, Hkv=3, kdim=7, vdim=5, names='torch',
                       variants={'scale': 0.5, 'softcap': 2.5, 'alibi': [0.5, 0.25, 0.125, 0.0625, 1.0, 0.375],
                                 'window': {'left': 2, 'right': 3}, 'rotary': {'dim': 4, 'base': 1000, 'interleaved': True}},
                       attn_mask=lambda g, B, H, L, S: additive_mask(g, (B, H, L, S), 0.2),
                       kpm=kpm_lengths([9, 6]), wscale=1.5, need_weights=True, average=False)
    # Packed variable-length batches.
    yield packed_case('packed_self_causal_rotary_gqa', 'packed self-attention, lengths [3, 0, 7, 1, 33], GQA 4/2 + rotary + '
                      'isCausal (positions restart at 0 in every sequence)', seed=31, lengths=[3, 0, 7, 1, 33], E=16, H=4,
                      Hkv=2, causal=True, variants={'rotary': {}})
    yield packed_case('packed_cross_window_alibi_no_keys', 'packed cross-attention, q lengths [3, 0, 7, 1, 33], kv lengths '
                      '[5, 4, 0, 1, 40] (7 queries with no keys: rows = outBias), alibi (H 6) + window {left: 2, right: 1}, '
                      'kDim 7, vDim 11', seed=32, lengths=[3, 0, 7, 1, 33], kv_lengths=[5, 4, 0, 1, 40], E=30, H=6, kdim=7,
                      vdim=11, names='torch', variants={'alibi': True, 'window': {'left': 2, 'right': 1}})
    yield packed_case('packed_cross_causal_rotary_interleaved', 'packed cross-attention, q lengths [1, 7, 3], kv lengths [9, 3, 3] '
                      '(L < S, L > S with 4 rows seeing no key, L = S), MQA + interleaved rotary dim 6 + isCausal',
                      seed=33, lengths=[1, 7, 3], kv_lengths=[9, 3, 3], E=24, H=3, Hkv=1, causal=True,
                      variants={'rotary': {'interleaved': True, 'dim': 6}})
    yield packed_case('packed_self_softcap_scale', 'packed self-attention, lengths [3, 0, 7, 1, 33], softcap + scale (no '
                      'positions: also equals padding with a key padding mask)', seed=34, lengths=[3, 0, 7, 1, 33], E=12, H=3,
                      variants={'softcap': 1.5, 'scale': 0.375}, wscale=2.0)
    yield packed_case('packed_cross_gqa_no_keys', 'packed cross-attention without position options, q lengths [2, 5, 0, 4], '
                      'kv lengths [7, 0, 3, 1] (5 queries with no keys), GQA 6/2', seed=35, lengths=[2, 5, 0, 4],
                      kv_lengths=[7, 0, 3, 1], E=30, H=6, Hkv=2, kdim=7, vdim=7, names='torch')
    # Decoding through a KV cache.
    yield cache_case('cache_rank3_gqa_rope_bias', 'decode through a cache, batch 2: a 5-token prompt then 4 single tokens, '
                     'all as [B, t, E]; GQA 4/2 + rotary + isCausal, q/k/v biases (Qwen-style Llama names)',
                     seed=36, steps=[[5, 5], [1, 1], [1, 1], [1, 1], [1, 1]], E=32, H=4, Hkv=2, variants={'rotary': {}})
    yield cache_case('cache_uneven_llama3', 'per-sequence cache, batch 3, packed steps: prompts of 4, 7 and 0 tokens, then '
                     'uneven steps (sequences sitting out with 0 tokens, a late 3-token prompt, 2-token chunks); GQA 6/2 + '
                     'rotary base 500000 + isCausal, no bias',
                     seed=37, steps=[[4, 7, 0], [1, 1, 3], [1, 0, 1], [0, 1, 1], [1, 1, 1], [2, 0, 1], [1, 1, 2]],
                     E=24, H=6, Hkv=2, bias=False, variants={'rotary': {'base': 500000}})
    yield cache_case('cache_uneven_mistral_window', 'per-sequence cache, batch 3: GQA 8/2 + rotary + window {left: 3} + '
                     'isCausal, so the window slides over each sequence\'s own cache positions',
                     seed=38, steps=[[6, 2, 0], [1, 1, 5], [1, 1, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1], [2, 1, 1]],
                     E=32, H=8, Hkv=2, bias=False, variants={'rotary': {}, 'window': {'left': 3}})
    yield cache_case('cache_uneven_bloom_alibi', 'per-sequence cache, batch 3: alibi (H 6) + isCausal, in_proj_weight names',
                     seed=39, steps=[[3, 1, 5], [1, 1, 0], [1, 1, 1], [0, 2, 1], [1, 1, 1]], E=30, H=6,
                     names='torch_packed', variants={'alibi': True})


def write_family(directory, cases, manifest):
    os.makedirs(directory, exist_ok=True)
    for f in os.listdir(directory):
        if f.endswith('.json'):
            os.remove(os.path.join(directory, f))
    names = []
    for case in cases:
        with open(os.path.join(directory, case['name'] + '.json'), 'w') as fh:
            json.dump(case, fh, separators=(',', ':'))
        names.append(case['name'])
    assert len(set(names)) == len(names), 'duplicate case names'
    with open(os.path.join(directory, 'manifest.json'), 'w') as fh:
        json.dump({**manifest, 'cases': names}, fh, indent=1)
    total = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))
    print(f'{len(names)} cases, {total} bytes in {os.path.normpath(directory)}')


def main():
    self_checks()
    # Build every case (each asserts its own checks) before writing either family.
    torch_family, variants = list(torch_cases()), list(variant_cases())
    write_family(TORCH_DIR, torch_family, {'generator': 'tools/gen-fixtures.py', 'torch': torch.__version__})
    write_family(VARIANTS_DIR, variants, {'generator': 'tools/gen-fixtures.py',
                                          'oracle': 'float64 numpy, explicit math (tools/gen-fixtures.py: oracle)'})


if __name__ == '__main__':
    main()
