// The float64 expectation of the reduced-precision workloads (shared/WORKLOADS.md, last
// section): every row of such a workload reports its relative L2 error against a float64
// evaluation of the same function, computed once per workload before its cases are built.
// Routes, in order, for each output a row may be compared with ('output': the workload's own
// output; 'layerStep': W3's decode step through the layer, its cache rows' function):
//   1. the float64 JavaScript evaluation below, where its time, predicted from its speed on a
//      small product, fits the profile's limit for the reference backend (no dependency: it
//      runs wherever the bench runs, CI included);
//   2. PyTorch in float64 (bench/torch_peer.py --float64) where python and torch are installed;
//   3. otherwise mha-native's float32 output (named as such in the report): its own error is far
//      below the reduced-precision rows' (API.md: 2e-5 against 1e-3 and up), but it is not a
//      float64 expectation, and its own row is not compared with itself.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { widestOpenblasCore } from './peers/openblas.mjs';
import { kvDim } from './workloads.mjs';

const TORCH_SCRIPT = fileURLToPath(new URL('./torch_peer.py', import.meta.url));

/** y = x · wᵀ + b in float64: x [rows, inDim] (any array-like), w [outDim, inDim] (torch.nn.Linear
 * layout), b [outDim] or none. Two rows of x against four rows of w per pass over inDim, so each
 * value loaded serves several products. */
export function project(x, rows, inDim, w, outDim, b) {
  const wd = Float64Array.from(w);
  const out = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r += 2) {
    const r1 = Math.min(r + 1, rows - 1), xa = r * inDim, xb = r1 * inDim;
    for (let o = 0; o < outDim; o += 4) {
      const o1 = Math.min(o + 1, outDim - 1), o2 = Math.min(o + 2, outDim - 1), o3 = Math.min(o + 3, outDim - 1);
      const w0 = o * inDim, w1 = o1 * inDim, w2 = o2 * inDim, w3 = o3 * inDim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let i = 0; i < inDim; i++) {
        const p = x[xa + i], q = x[xb + i];
        const v0 = wd[w0 + i], v1 = wd[w1 + i], v2 = wd[w2 + i], v3 = wd[w3 + i];
        a0 += p * v0; a1 += p * v1; a2 += p * v2; a3 += p * v3;
        b0 += q * v0; b1 += q * v1; b2 += q * v2; b3 += q * v3;
      }
      const n = Math.min(4, outDim - o), ra = r * outDim + o, rb = r1 * outDim + o;
      const c0 = b ? b[o] : 0, c1 = b && n > 1 ? b[o1] : 0, c2 = b && n > 2 ? b[o2] : 0, c3 = b && n > 3 ? b[o3] : 0;
      out[ra] = a0 + c0;
      if (n > 1) out[ra + 1] = a1 + c1;
      if (n > 2) out[ra + 2] = a2 + c2;
      if (n > 3) out[ra + 3] = a3 + c3;
      if (r1 !== r) {
        out[rb] = b0 + c0;
        if (n > 1) out[rb + 1] = b1 + c1;
        if (n > 2) out[rb + 2] = b2 + c2;
        if (n > 3) out[rb + 3] = b3 + c3;
      }
    }
  }
  return out;
}

/** RoPE in place on rows [rows, heads · D], row r at position pos(r): pairs (x[i], x[i + D/2]),
 * angle pos · base^(-2i/D) (API.md "Attention variants"). */
export function rope(t, rows, heads, D, pos, base) {
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < D / 2; i++) {
        const a = pos(r) * base ** (-2 * i / D), at = r * heads * D + h * D + i;
        const x1 = t[at], x2 = t[at + D / 2];
        t[at] = x1 * Math.cos(a) - x2 * Math.sin(a);
        t[at + D / 2] = x2 * Math.cos(a) + x1 * Math.sin(a);
      }
    }
  }
}

/** Softmax attention of q [Lq, H·D] over k/v [Lk, Hkv·D] (token-major, one sequence): query head h
 * uses key/value head floor(h / (H / Hkv)); key j is seen by query i where visible(i, j). A query
 * that sees no key gets a zero context (API.md). Returns [Lq, H·D]. */
export function attend(q, k, v, Lq, Lk, H, Hkv, D, visible) {
  const out = new Float64Array(Lq * H * D), scale = 1 / Math.sqrt(D);
  const qh = new Float64Array(D), scores = new Float64Array(Lk), seen = new Int32Array(Lk);
  const kh = new Float64Array(Lk * D), vh = new Float64Array(Lk * D);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / Hkv));
    for (let j = 0; j < Lk; j++) { // this head's keys and values, contiguous
      for (let d = 0; d < D; d++) {
        kh[j * D + d] = k[j * Hkv * D + g * D + d];
        vh[j * D + d] = v[j * Hkv * D + g * D + d];
      }
    }
    for (let i = 0; i < Lq; i++) {
      for (let d = 0; d < D; d++) qh[d] = q[i * H * D + h * D + d];
      let n = 0, max = -Infinity;
      for (let j = 0; j < Lk; j++) {
        if (!visible(i, j)) continue;
        let s = 0;
        for (let d = 0; d < D; d++) s += qh[d] * kh[j * D + d];
        s *= scale;
        scores[n] = s;
        seen[n++] = j;
        if (s > max) max = s;
      }
      if (n === 0) continue;
      let z = 0;
      for (let m = 0; m < n; m++) z += (scores[m] = Math.exp(scores[m] - max));
      const at = i * H * D + h * D;
      for (let m = 0; m < n; m++) {
        const p = scores[m] / z, j = seen[m];
        for (let d = 0; d < D; d++) out[at + d] += p * vh[j * D + d];
      }
    }
  }
  return out;
}

/** Key j visible to query i of a layer workload (bottom-right causal, window, key padding of
 * batch entry b). */
function visibility(w, inputs, b) {
  const { L, S } = w;
  const blocked = inputs.keyPaddingMask?.data;
  const left = w.window?.left ?? Infinity;
  return (i, j) => {
    if (blocked && blocked[b * S + j]) return false;
    if (w.mask !== 'causal') return true;
    const p = i + (S - L);
    return j <= p && j >= p - left;
  };
}

/** A layer with biases over batch entry after entry: query [B, L, E] against key/value rows
 * kv [B, S, E] (the query itself for self-attention). */
function layerOutput(w, inputs, query, kv, L, S, visibleFor) {
  const { B, E, H } = w, D = E / H;
  const out = new Float64Array(B * L * E);
  const lin = (x, rows, name, bias) => project(x, rows, E, inputs[name].data, E, inputs[bias].data);
  for (let b = 0; b < B; b++) {
    const xq = query.subarray(b * L * E, (b + 1) * L * E), xkv = kv.subarray(b * S * E, (b + 1) * S * E);
    const ctx = attend(lin(xq, L, 'qWeight', 'qBias'), lin(xkv, S, 'kWeight', 'kBias'), lin(xkv, S, 'vWeight', 'vBias'),
      L, S, H, H, D, visibleFor(b));
    out.set(project(ctx, L, E, inputs.outWeight.data, E, inputs.outBias.data), b * L * E);
  }
  return out;
}

/** W3's output: softmax(q kᵀ / √D) v on the given heads q [B,H,1,D], k/v [B,H,S,D]. */
function decodeAttention(w, { q, k, v }) {
  const { B, H, S, E } = w, D = E / H;
  const out = new Float64Array(B * H * D);
  for (let bh = 0; bh < B * H; bh++) {
    const ctx = attend(q.data.subarray(bh * D, (bh + 1) * D), k.data.subarray(bh * S * D, (bh + 1) * S * D),
      v.data.subarray(bh * S * D, (bh + 1) * S * D), 1, S, 1, 1, D, () => true);
    out.set(ctx, bh * D);
  }
  return out;
}

/** W3's decode step through the layer, one new token per sequence attending (no mask) to its
 * memory's projected keys and values, evaluated without projecting the memory: with
 * q_h = Wq_h·x + bq_h, the scores are q_h·(Wk_h·m_j + bk_h) = (Wk_hᵀ·q_h)·m_j + q_h·bk_h, and the
 * context Σ_j p_j·(Wv_h·m_j + bv_h) = Wv_h·(Σ_j p_j·m_j) + bv_h (the p_j sum to 1). The same
 * function in float64, with E-long products per key in place of the projections of S keys. */
function decodeLayerStep(w, inputs) {
  const { B, S, E, H } = w, D = E / H, scale = 1 / Math.sqrt(D);
  const Wk = inputs.kWeight.data, Wv = inputs.vWeight.data, bk = inputs.kBias.data, bv = inputs.vBias.data;
  const out = new Float64Array(B * E), u = new Float64Array(E), z = new Float64Array(E), p = new Float64Array(S);
  const ctx = new Float64Array(E);
  for (let b = 0; b < B; b++) {
    const q = project(inputs.token.data.subarray(b * E, (b + 1) * E), 1, E, inputs.qWeight.data, E, inputs.qBias.data);
    const m = inputs.memory.data.subarray(b * S * E, (b + 1) * S * E);
    for (let h = 0; h < H; h++) {
      u.fill(0);
      let c = 0;
      for (let d = 0; d < D; d++) {
        const qd = q[h * D + d], row = (h * D + d) * E;
        c += qd * bk[h * D + d];
        for (let e = 0; e < E; e++) u[e] += qd * Wk[row + e];
      }
      let max = -Infinity;
      for (let j = 0; j < S; j++) {
        let s = c;
        for (let e = 0; e < E; e++) s += u[e] * m[j * E + e];
        p[j] = s * scale;
        if (p[j] > max) max = p[j];
      }
      let sum = 0;
      for (let j = 0; j < S; j++) sum += (p[j] = Math.exp(p[j] - max));
      z.fill(0);
      for (let j = 0; j < S; j++) {
        const pj = p[j] / sum;
        for (let e = 0; e < E; e++) z[e] += pj * m[j * E + e];
      }
      for (let d = 0; d < D; d++) {
        const row = (h * D + d) * E;
        let s = bv[h * D + d];
        for (let e = 0; e < E; e++) s += Wv[row + e] * z[e];
        ctx[h * D + d] = s;
      }
    }
    out.set(project(ctx, 1, E, inputs.outWeight.data, E, inputs.outBias.data), b * E);
  }
  return out;
}

/** W7's step: each sequence's S cached positions plus its new token, projected (no biases), keys
 * and the query rotated at their positions, the new token attending to all S + 1. */
function gqaStep(w, inputs) {
  const { B, S, E, H, kvHeads: Hkv, ropeBase } = w, D = E / H, kv = kvDim(w);
  const out = new Float64Array(B * E);
  for (let b = 0; b < B; b++) {
    const xs = new Float32Array((S + 1) * E);
    xs.set(inputs.prompt.data.subarray(b * S * E, (b + 1) * S * E));
    xs.set(inputs.token.data.subarray(b * E, (b + 1) * E), S * E);
    const k = project(xs, S + 1, E, inputs.kWeight.data, kv);
    const v = project(xs, S + 1, E, inputs.vWeight.data, kv);
    const q = project(xs.subarray(S * E), 1, E, inputs.qWeight.data, E);
    rope(k, S + 1, Hkv, D, (r) => r, ropeBase);
    rope(q, 1, H, D, () => S, ropeBase);
    out.set(project(attend(q, k, v, 1, S + 1, H, Hkv, D, () => true), 1, E, inputs.outWeight.data, E), b * E);
  }
  return out;
}

/** The float64 outputs of workload w the JavaScript route can give: name -> { flops, run() }. */
export function jsOutputs(w, inputs) {
  const { B, E } = w;
  if (w.kind === 'layer') {
    const { L, S } = w, kvRows = 2 * B * S * E * E * 2;
    const attention = 4 * B * L * S * E * (w.mask === 'causal' ? 0.5 : 1);
    return { output: { flops: 2 * B * L * E * E * 2 + kvRows + attention,
      run: () => layerOutput(w, inputs, inputs.query.data, (w.self ? inputs.query : inputs.memory).data, L, S,
        (b) => visibility(w, inputs, b)) } };
  }
  if (w.kind === 'decode') {
    const { S } = w;
    return {
      output: { flops: 4 * B * S * E, run: () => decodeAttention(w, inputs) },
      layerStep: { flops: 2 * B * E * E * 4 + 4 * B * S * E * w.H, run: () => decodeLayerStep(w, inputs) },
    };
  }
  if (w.kind === 'gqa-decode') {
    const { S } = w, kv = kvDim(w);
    return { output: { flops: 2 * B * (S + 1) * E * kv * 2 + 2 * B * E * E * 2 + 4 * B * (S + 1) * E, run: () => gqaStep(w, inputs) } };
  }
  return {};
}

/** The JavaScript route's speed (FLOP/s) on a small projection, for its time estimates. */
function jsRate() {
  const n = 192, x = new Float32Array(n * n).fill(0.5), wt = new Float32Array(n * n).fill(0.25);
  project(x, n, n, wt, n); // compiled before it is timed
  const t0 = performance.now();
  project(x, n, n, wt, n);
  return (2 * n * n * n) / ((performance.now() - t0) / 1e3);
}

/** PyTorch's float64 outputs of w (torch_peer.py --float64), or the reason they are not there. */
export function torchOutputs(w, { python, dir, threads, isa }) {
  if (!python || !fs.existsSync(python)) return { reason: `no ${python}` };
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
  env.OPENBLAS_CORETYPE ??= widestOpenblasCore(isa);
  const r = spawnSync(python, [TORCH_SCRIPT, '--float64', dir, JSON.stringify(w), String(threads)],
    { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  let reply;
  try {
    reply = JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    return { reason: `python exited ${r.status}: ${r.stderr.trim().split('\n').slice(-1)[0]}` };
  }
  if (!reply.ok) return { reason: reply.missing ?? reply.error };
  const outputs = {};
  for (const [name, file] of Object.entries(reply.outputs)) {
    const bytes = fs.readFileSync(file);
    outputs[name] = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  }
  return { outputs, label: `PyTorch ${reply.torch} in float64` };
}

/**
 * The float64 expectation of workload w: { [name]: { data?: Float64Array, label, seconds? } } for
 * the outputs named in jsOutputs, each from the first route that gives it (see the top of this
 * file). An entry without data falls back to mha-native's float32 output, which the worker fills
 * in once its cases ran (label says so).
 * ctx: { python, dir, threads, isa, limitSeconds, log }.
 */
export function float64Expectation(w, inputs, ctx) {
  const wanted = jsOutputs(w, inputs);
  const result = {}, tooSlow = {};
  const rate = Object.keys(wanted).length ? jsRate() : 0;
  for (const [name, { flops, run }] of Object.entries(wanted)) {
    const estimate = flops / rate;
    if (estimate > ctx.limitSeconds) {
      tooSlow[name] = `the JavaScript evaluation: estimated ${estimate.toFixed(0)} s, limit ${ctx.limitSeconds} s`;
      continue;
    }
    const t = performance.now();
    result[name] = { data: run(), label: 'JavaScript float64 evaluation (bench/float64.mjs)', seconds: (performance.now() - t) / 1e3 };
  }
  if (Object.keys(tooSlow).length) {
    const t0 = performance.now();
    const torch = torchOutputs(w, ctx);
    for (const [name, why] of Object.entries(tooSlow)) {
      result[name] = torch.outputs?.[name]
        ? { data: torch.outputs[name], label: torch.label, seconds: (performance.now() - t0) / 1e3 }
        : { label: `mha-native float32 (no float64 route: ${why}; PyTorch: ${torch.reason ?? 'no such output'})` };
    }
  }
  for (const [name, e] of Object.entries(result)) {
    ctx.log?.(`float64 ${name}: ${e.label}${e.seconds === undefined ? '' : `, ${e.seconds.toFixed(1)} s`}`);
  }
  return result;
}
