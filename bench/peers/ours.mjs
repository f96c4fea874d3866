// Cases for this package: the native backend (the baseline every peer is checked against) and
// the TypeScript reference backend, both through the public API of the compiled entry.
// The members a case may have, and who calls them, are the case protocol in bench/README.md.
import { timeAsync, timeSync } from '../timing.mjs';
import {
  attentionWorkCount, cachedStepWorkCount, decodeLengths, gqaStepBytes, paddedLength, raggedDecodeWorkCount, workCount,
} from '../workloads.mjs';

/**
 * API.md features the new workloads need, each with a probe: a small call whose result shows
 * whether the loaded build has the feature. A build without one may ignore the option (the
 * layer's constructor drops options it does not know), so running the case anyway would time
 * a different computation; the case is reported missing with the reason instead.
 */
const PROBE_E = 16, PROBE_H = 2;
const probeTensor = (shape) => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i + 1)), shape });
/** Outputs of two layers (default weights, same seed) on one causal sequence of 3 tokens differ. */
function optionChangesOutput(mod, backend, options) {
  const x = probeTensor([1, 3, PROBE_E]);
  const run = (extra) => new mod.MultiHeadAttention({ embedDim: PROBE_E, numHeads: PROBE_H, backend, ...extra })
    .forward(x, x, x, { isCausal: true }).output.data;
  const plain = run({}), changed = run(options);
  return changed.some((v, i) => Math.abs(v - plain[i]) > 1e-6);
}
/** nativeInfo().bf16 of a build with bfloat16 kernels (API.md "Reduced precision"). */
const BF16_KERNELS = ['amx', 'avx512bf16', 'emulated'];
/** A cache created with `dtype` says it holds that dtype (KVCache.dtype). */
function cacheKeepsDtype(mod, backend, dtype) {
  const cache = new mod.MultiHeadAttention({ embedDim: PROBE_E, numHeads: PROBE_H, backend })
    .createKVCache({ batchSize: 1, capacity: 2, dtype });
  return cache.dtype === dtype;
}
/** API.md's bounds on the relative L2 error against float64 ("Reduced precision"), the check
 * tolerance of the rows in those precisions (their check reference, mha-native's float32
 * output, is within 2e-5 of float64). */
const API_BOUND = { bfloat16: 1e-2, float16Cache: 1e-3, bfloat16Cache: 1e-2 };
export const FEATURES = {
  sequenceLengths: { doc: 'packed inputs with sequenceLengths (API.md "Packed variable-length batches")',
    has(mod, backend) {
      const x = probeTensor([3, PROBE_E]);
      const out = new mod.MultiHeadAttention({ embedDim: PROBE_E, numHeads: PROBE_H, backend })
        .forward(x, x, x, { sequenceLengths: [1, 2] }).output;
      return out.shape.length === 2 && out.data.length === x.data.length;
    } },
  perSequenceCache: { doc: 'per-sequence KV cache lengths (API.md "KV cache: one length per sequence")',
    has(mod, backend) {
      const cache = new mod.MultiHeadAttention({ embedDim: PROBE_E, numHeads: PROBE_H, backend })
        .createKVCache({ batchSize: 2, capacity: 4 });
      return Array.isArray(cache.lengths) && cache.lengths.length === 2;
    } },
  numKvHeads: { doc: 'grouped-query attention, numKvHeads (API.md "Attention variants")',
    has(mod, backend) { // without the feature, the smaller k/v weights are rejected
      const D = PROBE_E / PROBE_H, f = (n) => new Float32Array(n).fill(0.01);
      const layer = new mod.MultiHeadAttention({ embedDim: PROBE_E, numHeads: PROBE_H, numKvHeads: 1, bias: false, backend,
        weights: { qWeight: f(PROBE_E * PROBE_E), kWeight: f(D * PROBE_E), vWeight: f(D * PROBE_E), outWeight: f(PROBE_E * PROBE_E) } });
      const x = probeTensor([1, 2, PROBE_E]);
      return layer.forward(x, x, x).output.data.length === x.data.length;
    } },
  rotary: { doc: 'rotary positions (API.md "Attention variants")',
    has: (mod, backend) => optionChangesOutput(mod, backend, { rotary: { base: 10000 } }) },
  window: { doc: 'sliding windows (API.md "Attention variants")',
    has: (mod, backend) => optionChangesOutput(mod, backend, { window: { left: 0 } }) },
  // a layer with dtype 'bfloat16' rounds its weights: its output differs from float32's
  bfloat16: { doc: 'bfloat16 layers, dtype \'bfloat16\' (API.md "Reduced precision")',
    has: (mod, backend) => BF16_KERNELS.includes(mod.nativeInfo().bf16) && optionChangesOutput(mod, backend, { dtype: 'bfloat16' }) },
  float16Cache: { doc: 'float16 KV caches, createKVCache dtype \'float16\' (API.md "Reduced precision")',
    has: (mod, backend) => cacheKeepsDtype(mod, backend, 'float16') },
  bfloat16Cache: { doc: 'bfloat16 KV caches, createKVCache dtype \'bfloat16\' (API.md "Reduced precision")',
    has: (mod, backend) => cacheKeepsDtype(mod, backend, 'bfloat16') },
};
const CACHE_FEATURE = { float16: 'float16Cache', bfloat16: 'bfloat16Cache' };

/** The first of `names` that the build lacks for `backend`, or undefined. */
export function lackedFeature(mod, backend, names) {
  for (const name of names) {
    let has = false;
    try {
      has = FEATURES[name].has(mod, backend);
    } catch { /* a build without the feature rejects the probe's call */ }
    if (!has) return name;
  }
  return undefined;
}

/** In setup(): marks the case missing (and throws) when the build lacks a feature it needs. */
function requireFeatures(c, mod, backend, names) {
  const lacked = names?.length ? lackedFeature(mod, backend, names) : undefined;
  if (!lacked) return;
  c.unavailable = `this build of mha-native has no ${FEATURES[lacked].doc}${backend === 'reference' ? ' in the reference backend' : ''}`;
  const e = new Error(c.unavailable);
  e.unavailable = c.unavailable;
  throw e;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

function layerWeights(inputs) {
  const weights = {};
  for (const name of ['qWeight', 'kWeight', 'vWeight', 'outWeight', 'qBias', 'kBias', 'vBias', 'outBias']) {
    weights[name] = inputs[name].data;
  }
  return weights;
}

function layerCalls(mod, w, inputs, backend, extra = {}) {
  const mha = new mod.MultiHeadAttention({ embedDim: w.E, numHeads: w.H, weights: layerWeights(inputs), backend,
    ...(w.window && { window: w.window }), ...extra });
  const q = inputs.query;
  const kv = w.self ? q : inputs.memory;
  const options = { keyPaddingMask: inputs.keyPaddingMask, isCausal: w.mask === 'causal' };
  const unfused = { ...options, needWeights: true };
  const into = { ...options, out: new Float32Array(q.data.length) };
  return {
    forward: () => mha.forward(q, kv, kv, options).output.data,
    forwardOut: () => mha.forward(q, kv, kv, into).output.data,
    unfused: () => mha.forward(q, kv, kv, unfused).output.data,
    forwardAsync: async () => (await mha.forwardAsync(q, kv, kv, options)).output.data,
  };
}

/** The decode step through the layer: memory [B,S,E] projected into a KV cache once (appendKV),
 * then each timed call projects the new token's query, attends to the cache and projects the
 * output. Checked against the same layer without a cache (forward(token, memory, memory)); its
 * float64 expectation is that function's ('layerStep'). With `dtype` ('float16', 'bfloat16') the
 * cache holds 16-bit keys and values (half the bytes read per step), paired with the float32
 * cache's step. */
function cachedStepCase(loadModule, w, inputs, dtype) {
  let mha, cache;
  const step = () => mha.forward(inputs.token, null, null, { kvCache: cache }).output.data;
  const feature = dtype && CACHE_FEATURE[dtype];
  return {
    id: dtype ? `native-layer-kvcache-${dtype}` : 'native-layer-kvcache', peer: 'mha-native',
    variant: `layer forward with ${dtype ? `a ${dtype} ` : ''}kvCache (q/out projections + attention)`,
    work: cachedStepWorkCount(w, dtype ? 2 : 4), float64: 'layerStep',
    ...(dtype && { precision: `${dtype} KV cache`, tolerance: API_BOUND[feature], pairWith: 'native-layer-kvcache' }),
    async setup() {
      const mod = await loadModule();
      if (feature) requireFeatures(this, mod, 'native', [feature]);
      mha = new mod.MultiHeadAttention({ embedDim: w.E, numHeads: w.H, weights: layerWeights(inputs) });
      cache = mha.createKVCache({ batchSize: w.B, capacity: w.S, ...(dtype && { dtype }) });
      mha.appendKV(cache, inputs.memory, inputs.memory);
    },
    async check() { return step(); },
    async expected() {
      return { label: 'mha-native forward without cache', output: mha.forward(inputs.token, inputs.memory, inputs.memory).output.data };
    },
    runOnce: step,
    measure(budget) { return timeSync(step, budget); },
  };
}

/** The attention alone on the projected heads of a workload with `unfused` (headQ/K/V
 * [B, H, L|S, D], the workload's mask): scaledDotProductAttention (fused, no L x S matrix)
 * against three passes through L x S matrices (matmul Q·Kᵀ, maskedSoftmax, matmul P·V), each
 * checked against the other. Neither allocates: results go into arrays reused from call to
 * call (options.out) and the softmax runs in place. The key padding mask reaches
 * scaledDotProductAttention as a boolean attnMask [B, 1, L, S]. */
function attentionAloneCases(loadModule, w, inputs) {
  const { headQ: q, headK: k, headV: v, keyPaddingMask } = inputs;
  const scale = 1 / Math.sqrt(w.E / w.H);
  const isCausal = w.mask === 'causal';
  let attnMask;
  if (keyPaddingMask) {
    const data = new Uint8Array(w.B * w.L * w.S);
    for (let b = 0; b < w.B; b++) {
      const row = keyPaddingMask.data.subarray(b * w.S, (b + 1) * w.S);
      for (let l = 0; l < w.L; l++) data.set(row, (b * w.L + l) * w.S);
    }
    attnMask = { data, shape: [w.B, 1, w.L, w.S] };
  }
  let calls;
  const make = (mod) => {
    if (calls) return calls;
    const scoresOut = new Float32Array(w.B * w.H * w.L * w.S), contextOut = new Float32Array(q.data.length);
    const fusedOut = new Float32Array(q.data.length);
    calls = {
      fused: () => mod.scaledDotProductAttention(q, k, v, { isCausal, ...(attnMask && { attnMask }), out: fusedOut }).data,
      threePasses: () => {
        const scores = mod.matmul(q, k, { transposeB: true, alpha: scale, out: scoresOut });
        const p = mod.maskedSoftmax(scores, { isCausal, ...(keyPaddingMask && { keyPaddingMask }), out: scores.data });
        return mod.matmul(p, v, { out: contextOut }).data;
      },
    };
    return calls;
  };
  const peer = 'mha-native', work = attentionWorkCount(w);
  return [
    apiCase(loadModule, { id: 'native-attn-fused', peer, work,
      variant: 'attention alone: scaledDotProductAttention (fused)',
      async expected() { return { label: 'mha-native attention alone, three passes', output: calls.threePasses() }; } },
    (mod) => make(mod).fused),
    apiCase(loadModule, { id: 'native-attn-3pass', peer, work, pairWith: 'native-attn-fused',
      variant: 'attention alone: matmul, maskedSoftmax, matmul (three passes)',
      async expected() { return { label: 'mha-native attention alone, fused', output: calls.fused() }; } },
    (mod) => make(mod).threePasses),
  ];
}

/** One case around a call factory; `make(mod)` builds the closure after the module loaded, or
 * `{ call, check }` when the output to check is taken from the call's result (W6's padded rows
 * dropped) outside the timed call. `needs`: API.md features the case cannot run without. */
function apiCase(loadModule, fields, make, isAsync = false, needs = []) {
  let call, check;
  return {
    ...fields,
    async setup() {
      const mod = await loadModule();
      requireFeatures(this, mod, fields.peer === 'reference' ? 'reference' : 'native', needs);
      const built = make(mod);
      call = typeof built === 'function' ? built : built.call;
      check = typeof built === 'function' ? built : built.check;
    },
    async check() { return check(); },
    runOnce() { return call(); },
    measure(budget) { return isAsync ? timeAsync(call, budget) : timeSync(call, budget); },
  };
}

/** Rows of a padded [n, pad, E] output that hold real tokens, back to back [T, E]. */
export function realRows(padded, lengths, pad, E) {
  const out = new Float32Array(sum(lengths) * E);
  let at = 0;
  lengths.forEach((len, i) => {
    out.set(padded.subarray(i * pad * E, (i * pad + len) * E), at);
    at += len * E;
  });
  return out;
}

/** Packed [T, E] tokens padded to [n, pad, E] (zeros after each request), with the key padding
 * mask [n, pad] that blocks the padding (nonzero = blocked). */
export function padRequests(tokens, lengths, pad, E) {
  const n = lengths.length;
  const data = new Float32Array(n * pad * E), blocked = new Uint8Array(n * pad);
  let at = 0;
  lengths.forEach((len, i) => {
    data.set(tokens.subarray(at * E, (at + len) * E), i * pad * E);
    blocked.fill(1, i * pad + len, (i + 1) * pad);
    at += len;
  });
  return { x: { data, shape: [n, pad, E] }, keyPaddingMask: { data: blocked, shape: [n, pad] } };
}

/** One request of a packed batch as a rank-3 [1, len, E] view. */
function requests(tokens, lengths, E) {
  let at = 0;
  return lengths.map((len) => {
    const view = { data: tokens.subarray(at * E, (at + len) * E), shape: [1, len, E] };
    at += len;
    return view;
  });
}

/**
 * W6 (kind 'ragged'). The batch's layer forward: packed (sequenceLengths; the baseline) and
 * padded to the longest request with a key padding mask, whose padded rows are dropped before the
 * check (every row of W6 is checked over its real tokens). The continuous-batching decode step:
 * one new token per sequence through a cache holding each sequence's own length (packed, per-
 * sequence lengths), against the same step padded to the longest (a cache of the longest length
 * for every sequence, key padding blocking the positions past each one's own): both are followed
 * by truncate() to the lengths before the step, so every call sees the same caches, and both are
 * checked against the same layer without a cache (each sequence's cached tokens plus its new one
 * as keys and values, the new token as the query).
 */
function raggedCases(loadModule, w, inputs) {
  const { E, H, lengths } = w;
  const pad = paddedLength(w);
  const peer = 'mha-native';
  const layer = (mod) => new mod.MultiHeadAttention({ embedDim: E, numHeads: H, weights: layerWeights(inputs) });
  const x = inputs.tokens;
  const cases = [
    apiCase(loadModule, { id: 'native-packed', peer, baseline: true, variant: 'forward, packed (sequenceLengths)' },
      (mod) => {
        const mha = layer(mod), options = { sequenceLengths: lengths };
        return () => mha.forward(x, x, x, options).output.data;
      }, false, ['sequenceLengths']),
    apiCase(loadModule, { id: 'native-padded', peer, pairWith: 'native-packed',
      variant: `forward, padded to ${pad} with a key padding mask` },
    (mod) => {
      const mha = layer(mod);
      const { x: padded, keyPaddingMask } = padRequests(x.data, lengths, pad, E);
      const call = () => mha.forward(padded, padded, padded, { keyPaddingMask }).output.data;
      return { call, check: () => realRows(call(), lengths, pad, E) };
    }),
  ];
  if (!w.decode) return cases;
  const cached = decodeLengths(w), n = cached.length, longest = Math.max(...cached);
  const work = raggedDecodeWorkCount(w);
  const token = inputs.decodeToken;
  let expectedOutput;
  const expected = async () => {
    if (!expectedOutput) {
      const mha = layer(await loadModule());
      expectedOutput = new Float32Array(n * E);
      let at = 0;
      cached.forEach((len, i) => {
        const kv = new Float32Array((len + 1) * E);
        kv.set(inputs.decodePrompt.data.subarray(at * E, (at + len) * E));
        kv.set(token.data.subarray(i * E, (i + 1) * E), len * E);
        at += len;
        const keys = { data: kv, shape: [1, len + 1, E] };
        const q = { data: token.data.subarray(i * E, (i + 1) * E), shape: [1, 1, E] };
        expectedOutput.set(mha.forward(q, keys, keys).output.data, i * E);
      });
    }
    return { label: 'mha-native forward without a cache, per sequence', output: expectedOutput };
  };
  cases.push(apiCase(loadModule, { id: 'native-decode-packed', peer, work, expected,
    variant: `decode step: ${n} sequences of ${cached[0]}–${longest} positions, packed, per-sequence cache` },
  (mod) => {
    const mha = layer(mod);
    const cache = mha.createKVCache({ batchSize: n, capacity: longest + 1 });
    mha.forward(inputs.decodePrompt, inputs.decodePrompt, inputs.decodePrompt,
      { kvCache: cache, isCausal: true, sequenceLengths: cached });
    const options = { kvCache: cache, isCausal: true, sequenceLengths: new Array(n).fill(1) };
    return () => {
      const out = mha.forward(token, token, token, options).output.data;
      cache.truncate(cached);
      return out;
    };
  }, false, ['sequenceLengths', 'perSequenceCache']));
  cases.push(apiCase(loadModule, { id: 'native-decode-padded', peer, work, expected, pairWith: 'native-decode-packed',
    variant: `decode step padded to the longest: every cache ${longest} positions, key padding blocking the extra ones` },
  (mod) => {
    const mha = layer(mod);
    const cache = mha.createKVCache({ batchSize: n, capacity: longest + 1 });
    const { x: prompts, keyPaddingMask } = padRequests(inputs.decodePrompt.data, cached, longest, E);
    mha.forward(prompts, prompts, prompts, { kvCache: cache, isCausal: true, keyPaddingMask });
    const tok = { data: token.data, shape: [n, 1, E] };
    const options = { kvCache: cache, isCausal: true };
    return () => {
      const out = mha.forward(tok, tok, tok, options).output.data;
      cache.truncate(longest);
      return out;
    };
  }));
  return cases;
}

/** The rows [from, to) of every sequence of a [B, S, E] tensor, as a new [B, to - from, E] tensor. */
function sequenceSlice(t, from, to) {
  const [B, S, E] = t.shape, n = to - from;
  const data = new Float32Array(B * n * E);
  for (let b = 0; b < B; b++) data.set(t.data.subarray((b * S + from) * E, (b * S + to) * E), b * n * E);
  return { data, shape: [B, n, E] };
}

/** W7 (kind 'gqa-decode'): the grouped-query layer with RoPE and no biases; its cache (capacity
 * S + 1) is filled once in setup with the prompt's S positions, appended causally in chunks of
 * `prefillChunk`; each call is one decode step followed by truncate(S). `dtype`: the layer's
 * ('bfloat16'); `cacheDtype`: the cache's ('float16'). */
function gqaDecodeCase(loadModule, w, inputs, fields, { dtype, cacheDtype } = {}) {
  const backend = fields.peer === 'reference' ? 'reference' : 'native';
  const needs = ['numKvHeads', 'rotary', ...(dtype ? [dtype] : []), ...(cacheDtype ? [CACHE_FEATURE[cacheDtype]] : [])];
  return apiCase(loadModule, fields, (mod) => {
    const mha = new mod.MultiHeadAttention({ embedDim: w.E, numHeads: w.H, numKvHeads: w.kvHeads,
      rotary: { base: w.ropeBase }, bias: false, backend, ...(dtype && { dtype }),
      weights: { qWeight: inputs.qWeight.data, kWeight: inputs.kWeight.data, vWeight: inputs.vWeight.data,
        outWeight: inputs.outWeight.data } });
    const cache = mha.createKVCache({ batchSize: w.B, capacity: w.S + 1, ...(cacheDtype && { dtype: cacheDtype }) });
    for (let at = 0; at < w.S; at += w.prefillChunk) {
      const chunk = sequenceSlice(inputs.prompt, at, Math.min(w.S, at + w.prefillChunk));
      mha.forward(chunk, chunk, chunk, { kvCache: cache, isCausal: true });
    }
    const options = { kvCache: cache, isCausal: true };
    return () => {
      const out = mha.forward(inputs.token, inputs.token, inputs.token, options).output.data;
      cache.truncate(w.S);
      return out;
    };
  }, false, needs);
}

/** W2w (a layer with `window`): the windowed forward (the baseline) and the same layer's full
 * causal forward (W2's work), timed paired against it and checked against the unfused path. */
function windowCases(loadModule, w, inputs) {
  const peer = 'mha-native';
  const full = { ...w, window: undefined };
  return [
    apiCase(loadModule, { id: 'native-window', peer, baseline: true, variant: `forward, window ${w.window.left} keys back (causal)` },
      (mod) => layerCalls(mod, w, inputs, 'native').forward, false, ['window']),
    apiCase(loadModule, { id: 'native-full', peer, pairWith: 'native-window', work: workCount(full),
      variant: 'forward, full causal (no window)',
      async expected() { // not the workload's output: checked against the layer's unfused path instead
        const mod = await loadModule();
        return { label: 'mha-native forward needWeights (unfused), full causal', output: layerCalls(mod, full, inputs, 'native').unfused() };
      } },
    (mod) => layerCalls(mod, full, inputs, 'native').forward),
  ];
}

/** The native cases of workload w: for a layer, forward (fused), forwardAsync and, with
 * `unfused`, forward needWeights and the attention alone (fused and in three passes);
 * scaledDotProductAttention for the decode step; matmul (into a reused array, and not) for SGEMM. */
export function nativeCases(w, inputs, { loadModule }) {
  const peer = 'mha-native';
  if (w.kind === 'gemm') {
    // Like every peer here (OpenBLAS's C, torch's out=), the baseline writes into a result
    // array it reuses; the plain call also allocates (and page-faults) a new one each time.
    return [apiCase(loadModule, { id: 'native-matmul-out', peer, variant: 'matmul into options.out', baseline: true },
      (mod) => {
        const out = new Float32Array(inputs.a.data.length / w.K * w.N);
        return () => mod.matmul(inputs.a, inputs.b, { out }).data;
      }),
    apiCase(loadModule, { id: 'native-matmul', peer, variant: 'matmul (new result array)' },
      (mod) => () => mod.matmul(inputs.a, inputs.b).data)];
  }
  if (w.kind === 'decode') {
    return [apiCase(loadModule, { id: 'native-sdpa', peer, variant: 'scaledDotProductAttention', baseline: true },
      (mod) => () => mod.scaledDotProductAttention(inputs.q, inputs.k, inputs.v).data),
    cachedStepCase(loadModule, w, inputs),
    ...(w.reduced?.cacheDtypes ?? []).map((dtype) => cachedStepCase(loadModule, w, inputs, dtype))];
  }
  if (w.kind === 'ragged') return raggedCases(loadModule, w, inputs);
  if (w.kind === 'gqa-decode') {
    const variant = `layer decode step through the KV cache (numKvHeads ${w.kvHeads}, RoPE, no biases)`;
    const cases = [gqaDecodeCase(loadModule, w, inputs, { id: 'native-gqa-step', peer, baseline: true, variant })];
    // the reduced-precision steps: 16-bit caches (half the K/V bytes read), and with `bf16` also a
    // bfloat16 layer (half the weight bytes) over a float16 cache; each paired with the float32
    // step, GB/s counting the bytes it reads
    const reduced = (w.reduced?.cacheDtypes ?? []).map((cacheDtype) => ({ cacheDtype }));
    if (w.reduced?.bf16) reduced.push({ dtype: 'bfloat16', cacheDtype: 'float16' });
    for (const r of reduced) {
      const feature = r.dtype ?? CACHE_FEATURE[r.cacheDtype];
      const precision = [r.dtype, r.cacheDtype && `${r.cacheDtype} KV cache`].filter(Boolean).join(', ');
      cases.push(gqaDecodeCase(loadModule, w, inputs, { id: `native-gqa-step-${r.dtype ?? r.cacheDtype}`, peer,
        variant: `${variant}, ${precision}`, precision, tolerance: API_BOUND[feature], pairWith: 'native-gqa-step',
        bytes: gqaStepBytes(w, r.dtype ? 2 : 4, 2) }, r));
    }
    return cases;
  }
  if (w.window) return windowCases(loadModule, w, inputs);
  // The baseline writes into a result array it reuses (options.out), as a service that keeps its
  // buffers does; the plain call also allocates (and first-touches) a new one each time.
  const cases = [
    apiCase(loadModule, { id: 'native-forward-out', peer, variant: 'forward (fused) into options.out', baseline: true },
      (mod) => layerCalls(mod, w, inputs, 'native').forwardOut),
    apiCase(loadModule, { id: 'native-forward', peer, variant: 'forward (fused), new result array', pairWith: 'native-forward-out' },
      (mod) => layerCalls(mod, w, inputs, 'native').forward),
  ];
  if (w.unfused) {
    cases.push(apiCase(loadModule, { id: 'native-unfused', peer, variant: 'forward needWeights (unfused)', pairWith: 'native-forward' },
      (mod) => layerCalls(mod, w, inputs, 'native').unfused));
  }
  cases.push(apiCase(loadModule, { id: 'native-async', peer, variant: 'forwardAsync' },
    (mod) => layerCalls(mod, w, inputs, 'native').forwardAsync, true));
  if (w.unfused) cases.push(...attentionAloneCases(loadModule, w, inputs));
  if (w.reduced?.bf16) {
    // the bfloat16 layer (API.md "Reduced precision") into a reused options.out like the float32
    // baseline; paired with it and with ONNX Runtime's best float32 and int8 variants
    cases.push(apiCase(loadModule, { id: 'native-forward-out-bf16', peer, variant: 'forward (fused) into options.out, dtype bfloat16',
      precision: 'bfloat16', tolerance: API_BOUND.bfloat16, pairWith: 'native-forward-out', pairWithOrt: true },
    (mod) => layerCalls(mod, w, inputs, 'native', { dtype: 'bfloat16' }).forwardOut, false, ['bfloat16']));
  }
  return cases;
}

/** The TypeScript reference backend: MultiHeadAttention({backend:'reference'}) or `reference.*`. */
export function referenceCases(w, inputs, { loadModule }) {
  // slow: the worker predicts its run time from a small problem first and skips it past the limit
  const fields = { id: 'reference', peer: 'reference', variant: 'TypeScript reference', slow: true };
  if (w.kind === 'gemm') {
    return [apiCase(loadModule, { ...fields, variant: 'reference.matmul' },
      (mod) => () => mod.reference.matmul(inputs.a, inputs.b).data)];
  }
  if (w.kind === 'decode') {
    return [apiCase(loadModule, { ...fields, variant: 'reference.scaledDotProductAttention' },
      (mod) => () => mod.reference.scaledDotProductAttention(inputs.q, inputs.k, inputs.v).data)];
  }
  if (w.kind === 'ragged') { // rank-3 forwards, one request at a time: independent of the packed path
    return [apiCase(loadModule, { ...fields, variant: "forward (backend 'reference'), one request at a time" },
      (mod) => {
        const mha = new mod.MultiHeadAttention({ embedDim: w.E, numHeads: w.H, weights: layerWeights(inputs), backend: 'reference' });
        const each = requests(inputs.tokens.data, w.lengths, w.E);
        const out = new Float32Array(inputs.tokens.data.length);
        return () => {
          let at = 0;
          for (const x of each) {
            const y = mha.forward(x, x, x).output.data;
            out.set(y, at);
            at += y.length;
          }
          return out;
        };
      })];
  }
  if (w.kind === 'gqa-decode') {
    return [gqaDecodeCase(loadModule, w, inputs, { ...fields, variant: "layer decode step through the KV cache (backend 'reference')" })];
  }
  const cases = [apiCase(loadModule, { ...fields, variant: "forward (backend 'reference')" },
    (mod) => layerCalls(mod, w, inputs, 'reference').forward, false, w.window ? ['window'] : [])];
  if (w.reduced?.bf16) {
    // the error floor of the bfloat16 rows: the reference twin in bfloat16 is a float64
    // evaluation of the operands the contract rounds, so any bfloat16 layer keeping to it errs
    // about this much; one call, for its output only (not timed)
    cases.push(apiCase(loadModule, { id: 'reference-bf16', peer: 'reference', untimed: true, precision: 'bfloat16',
      tolerance: API_BOUND.bfloat16,
      variant: "forward (backend 'reference'), dtype bfloat16: float64 arithmetic on the bfloat16-rounded operands" },
    (mod) => layerCalls(mod, w, inputs, 'reference', { dtype: 'bfloat16' }).forward, false, ['bfloat16']));
  }
  return cases;
}
