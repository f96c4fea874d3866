// Cases for this package: the native backend (the baseline every peer is checked against) and
// the TypeScript reference backend, both through the public API of the compiled entry.
// The members a case may have, and who calls them, are the case protocol in bench/README.md.
import { timeAsync, timeSync } from '../timing.mjs';
import { attentionWorkCount, cachedStepWorkCount } from '../workloads.mjs';

function layerWeights(inputs) {
  const weights = {};
  for (const name of ['qWeight', 'kWeight', 'vWeight', 'outWeight', 'qBias', 'kBias', 'vBias', 'outBias']) {
    weights[name] = inputs[name].data;
  }
  return weights;
}

function layerCalls(mod, w, inputs, backend) {
  const mha = new mod.MultiHeadAttention({ embedDim: w.E, numHeads: w.H, weights: layerWeights(inputs), backend });
  const q = inputs.query;
  const kv = w.self ? q : inputs.memory;
  const options = { keyPaddingMask: inputs.keyPaddingMask, isCausal: w.mask === 'causal' };
  const unfused = { ...options, needWeights: true };
  return {
    forward: () => mha.forward(q, kv, kv, options).output.data,
    unfused: () => mha.forward(q, kv, kv, unfused).output.data,
    forwardAsync: async () => (await mha.forwardAsync(q, kv, kv, options)).output.data,
  };
}

/** The decode step through the layer: memory [B,S,E] projected into a KV cache once (appendKV),
 * then each timed call projects the new token's query, attends to the cache and projects the
 * output. Checked against the same layer without a cache (forward(token, memory, memory)). */
function cachedStepCase(loadModule, w, inputs) {
  let mha, cache;
  const step = () => mha.forward(inputs.token, null, null, { kvCache: cache }).output.data;
  return {
    id: 'native-layer-kvcache', peer: 'mha-native', variant: 'layer forward with kvCache (q/out projections + attention)',
    work: cachedStepWorkCount(w),
    async setup() {
      const mod = await loadModule();
      mha = new mod.MultiHeadAttention({ embedDim: w.E, numHeads: w.H, weights: layerWeights(inputs) });
      cache = mha.createKVCache({ batchSize: w.B, capacity: w.S });
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

/** One case around a call factory; `make(mod)` builds the closure after the module loaded. */
function apiCase(loadModule, fields, make, isAsync = false) {
  let call;
  return {
    ...fields,
    async setup() { call = make(await loadModule()); },
    async check() { return call(); },
    runOnce() { return call(); },
    measure(budget) { return isAsync ? timeAsync(call, budget) : timeSync(call, budget); },
  };
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
    cachedStepCase(loadModule, w, inputs)];
  }
  const cases = [apiCase(loadModule, { id: 'native-forward', peer, variant: 'forward (fused)', baseline: true },
    (mod) => layerCalls(mod, w, inputs, 'native').forward)];
  if (w.unfused) {
    cases.push(apiCase(loadModule, { id: 'native-unfused', peer, variant: 'forward needWeights (unfused)', pairWith: 'native-forward' },
      (mod) => layerCalls(mod, w, inputs, 'native').unfused));
  }
  cases.push(apiCase(loadModule, { id: 'native-async', peer, variant: 'forwardAsync' },
    (mod) => layerCalls(mod, w, inputs, 'native').forwardAsync, true));
  if (w.unfused) cases.push(...attentionAloneCases(loadModule, w, inputs));
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
  return [apiCase(loadModule, { ...fields, variant: "forward (backend 'reference')" },
    (mod) => layerCalls(mod, w, inputs, 'reference').forward)];
}
