#!/usr/bin/python3
"""PyTorch CPU peer of the benchmark (float32, inference, no numpy needed).

Server mode (default): reads one JSON command per stdin line, answers one JSON line on stdout.
  {"cmd": "setup", "dir": D, "workload": {...}, "threads": N}
      loads D/inputs.json (raw files written by bench/workloads.mjs), builds the call, runs it once
      and writes the output to D/torch-out.f32 -> {"ok": true, "torch": version, "output": path,
      "seconds": that first call's time}
      or {"ok": false, "missing": reason} when torch cannot be imported.
  {"cmd": "measure", "maxTime": s, "minSamples": n, "minTime": s}
      -> {"samples": [seconds per call, ...]}: batches of calls lasting >= minTime, until maxTime
      seconds passed and minSamples were taken (the rule bench/timing.mjs uses for async calls).
Memory mode: torch_peer.py --memory D WORKLOAD_JSON THREADS -> {"growthBytes": n}: peak RSS
growth (VmHWM reset through /proc/self/clear_refs) during the first call in this fresh process.
Float64 mode: torch_peer.py --float64 D WORKLOAD_JSON THREADS -> {"ok": true, "torch": version,
"outputs": {name: path}}: the workload's function evaluated in float64 (the same calls, on the
inputs and weights converted to float64), each output written raw to D/float64-<name>.f64:
"output" (the workload's output) and, for the decode step, "layerStep" (the layer with biases:
the new token attending to the memory's projected keys and values, what a cache step computes).
{"ok": false, "missing": reason} when torch cannot be imported (bench/float64.mjs then falls back).

Calls: layer workloads use nn.MultiheadAttention(batch_first=True) in eval mode under
torch.no_grad() (PyTorch picks its fused fast path where its conditions hold; a window is a band
in the boolean attn_mask); W6 pads its requests to the longest with a key_padding_mask (its
output's padded rows are dropped before it is written); W7 a grouped-query step on torch ops
(gqa_decode_step); the decode step
softmax(q k^T * scale) v with torch.matmul; SGEMM torch.mm (batched: torch.bmm) into a
preallocated output.
bench/peers/torch.mjs sets OPENBLAS_CORETYPE for this process (Debian's torch calls OpenBLAS,
whose core auto-detection falls back to SSE3 kernels on CPUs newer than it knows).
"""
import ctypes
import json
import math
import os
import sys
import time


def load_inputs(torch, d):
    index = json.load(open(os.path.join(d, 'inputs.json')))
    out = {}
    for name, meta in index.items():
        raw = bytearray(open(os.path.join(d, meta['file']), 'rb').read())
        dtype = torch.uint8 if meta['dtype'] == 'uint8' else torch.float32
        out[name] = torch.frombuffer(raw, dtype=dtype).reshape(meta['shape'])
    return out


def build_call(torch, w, x, dtype=None):
    dtype = dtype or torch.float32
    if w['kind'] == 'gemm':
        if w.get('batch'):
            c = torch.empty(w['batch'], w['M'], w['N'])
            return lambda: torch.bmm(x['a'], x['b'], out=c)
        c = torch.empty(w['M'], w['N'])
        return lambda: torch.mm(x['a'], x['b'], out=c)
    if w['kind'] == 'decode':
        scale = 1.0 / math.sqrt(w['E'] // w['H'])
        q, k, v = x['q'], x['k'], x['v']
        return lambda: torch.matmul(torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * scale, dim=-1), v)
    if w['kind'] == 'gqa-decode':
        return gqa_decode_step(torch, w, x, dtype)
    m = layer_module(torch, w, x, dtype)
    if w['kind'] == 'ragged':  # padded to the longest request, the padding blocked
        n, pad = len(w['lengths']), max(w['lengths'])
        padded = torch.zeros(n, pad, w['E'])
        kpm = torch.ones(n, pad, dtype=torch.bool)
        at = 0
        for i, length in enumerate(w['lengths']):
            padded[i, :length] = x['tokens'][at:at + length]
            kpm[i, :length] = False
            at += length
        return lambda: m(padded, padded, padded, key_padding_mask=kpm, need_weights=False)[0]
    s, l = w['S'], w['L']
    query = x['query']
    kv = query if w['self'] else x['memory']
    kpm = x['keyPaddingMask'].bool() if w['mask'] == 'keypad' else None
    causal = None
    if w['mask'] == 'causal':
        # blocked where key j > i + (S - L): bottom-right aligned causal, as the package defines it;
        # with a window also where j < i + (S - L) - left
        causal = torch.ones(l, s, dtype=torch.bool).triu(1 + s - l)
        if w.get('window'):
            causal |= torch.ones(l, s, dtype=torch.bool).tril(s - l - w['window']['left'] - 1)
    return lambda: m(query, kv, kv, key_padding_mask=kpm, attn_mask=causal, need_weights=False)[0]


def gqa_decode_step(torch, w, x, dtype):
    """W7 as a decoder written on torch ops does it (torch 1.13 has no GQA or RoPE op): the
    prompt's keys (rotated) and values projected once; each step projects the new token, rotates
    q and k at position S (pairs (x[i], x[i + D/2])), concatenates past and new K/V, and runs each
    group of H / Hkv query heads against its key/value head with matmul and softmax."""
    b, s, e, h, hkv = w['B'], w['S'], w['E'], w['H'], w['kvHeads']
    d = e // h
    inv = w['ropeBase'] ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = torch.arange(s + 1, dtype=torch.float64)[:, None] * inv[None, :]  # [S+1, D/2]
    cos = torch.cat([angles.cos(), angles.cos()], -1).to(dtype)
    sin = torch.cat([angles.sin(), angles.sin()], -1).to(dtype)

    def rope(t, positions):  # t [..., P, D]
        half = torch.cat([-t[..., d // 2:], t[..., :d // 2]], -1)
        return t * cos[positions] + half * sin[positions]

    def heads(t, n):  # [B, P, n*D] -> [B, n, P, D]
        return t.view(b, t.shape[1], n, d).transpose(1, 2)

    wq_t, wk_t, wv_t, wo_t = (x[n].t() for n in ('qWeight', 'kWeight', 'vWeight', 'outWeight'))
    past_k = rope(heads(x['prompt'] @ wk_t, hkv), slice(0, s)).contiguous()
    past_v = heads(x['prompt'] @ wv_t, hkv).contiguous()
    token, scale = x['token'], 1.0 / math.sqrt(d)

    def step():
        q = rope(heads(token @ wq_t, h), slice(s, s + 1))
        keys = torch.cat([past_k, rope(heads(token @ wk_t, hkv), slice(s, s + 1))], 2)
        values = torch.cat([past_v, heads(token @ wv_t, hkv)], 2)
        probs = torch.softmax(q.reshape(b, hkv, h // hkv, d) @ keys.transpose(-1, -2) * scale, -1)
        return (probs @ values).reshape(b, 1, e) @ wo_t
    return step


def layer_module(torch, w, x, dtype):
    e, h = w['E'], w['H']
    m = torch.nn.MultiheadAttention(e, h, bias=True, batch_first=True, dtype=dtype)
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.cat([x['qWeight'], x['kWeight'], x['vWeight']]))
        m.in_proj_bias.copy_(torch.cat([x['qBias'], x['kBias'], x['vBias']]))
        m.out_proj.weight.copy_(x['outWeight'])
        m.out_proj.bias.copy_(x['outBias'])
    m.eval()
    return m


def checked_output(torch, w, result):
    """The output to check: W6's real tokens only (its padded rows dropped), back to back."""
    if w['kind'] != 'ragged':
        return result
    pad = max(w['lengths'])
    return torch.cat([result[i, :length] for i, length in enumerate(w['lengths'])])


def write_tensor(t, path):
    t = t.contiguous()
    with open(path, 'wb') as f:
        f.write(ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()))


def measure(call, max_time, min_samples, min_time):
    batch = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(batch):
            call()
        if time.perf_counter() - t0 >= min_time or batch >= 1 << 20:
            break
        batch *= 2
    samples = []
    start = time.perf_counter()
    while len(samples) < min_samples or time.perf_counter() - start < max_time:
        t0 = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - t0) / batch)
    return samples


def float64_mode(d, w, threads):
    try:
        import torch
    except Exception as e:  # ImportError or a broken install
        print(json.dumps({'ok': False, 'missing': f'not installed: {e}'}), flush=True)
        return
    try:
        torch.set_num_threads(threads)
        torch.set_grad_enabled(False)
        x = {name: t.double() if t.dtype == torch.float32 else t for name, t in load_inputs(torch, d).items()}
        results = {'output': build_call(torch, w, x, torch.float64)()}
        if w['kind'] == 'decode':
            m = layer_module(torch, w, x, torch.float64)
            results['layerStep'] = m(x['token'], x['memory'], x['memory'], need_weights=False)[0]
        outputs = {}
        for name, t in results.items():
            outputs[name] = os.path.join(d, f'float64-{name}.f64')
            write_tensor(t.to(torch.float64), outputs[name])
    except Exception as e:
        print(json.dumps({'ok': False, 'error': f'{type(e).__name__}: {e}'}), flush=True)
        return
    print(json.dumps({'ok': True, 'torch': torch.__version__, 'outputs': outputs}), flush=True)


def status_kib(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'):
            return int(line.split()[1])
    return 0


def memory_mode(d, w, threads):
    import torch
    torch.set_num_threads(threads)
    with torch.no_grad():
        call = build_call(torch, w, load_inputs(torch, d))
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # reset VmHWM to the current RSS
        except OSError:
            pass
        before = status_kib('VmRSS')
        call()
        print(json.dumps({'growthBytes': (status_kib('VmHWM') - before) * 1024}), flush=True)


def serve():
    torch = None
    call = None
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd['cmd'] == 'setup':
            try:
                import torch as t
                torch = t
            except Exception as e:  # ImportError or a broken install
                print(json.dumps({'ok': False, 'missing': f'not installed: {e}'}), flush=True)
                continue
            try:
                torch.set_num_threads(cmd['threads'])
                torch.set_grad_enabled(False)
                call = build_call(torch, cmd['workload'], load_inputs(torch, cmd['dir']))
                out = os.path.join(cmd['dir'], 'torch-out.f32')
                t0 = time.perf_counter()
                result = call()
                seconds = time.perf_counter() - t0
                write_tensor(checked_output(torch, cmd['workload'], result), out)
            except Exception as e:
                print(json.dumps({'ok': False, 'error': f'{type(e).__name__}: {e}'}), flush=True)
                continue
            print(json.dumps({'ok': True, 'torch': torch.__version__, 'output': out, 'seconds': seconds}), flush=True)
        elif cmd['cmd'] == 'measure':
            samples = measure(call, cmd['maxTime'], cmd['minSamples'], cmd.get('minTime', 0.05))
            print(json.dumps({'samples': samples}), flush=True)


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--memory':
        memory_mode(sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == '--float64':
        float64_mode(sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]))
    else:
        serve()
