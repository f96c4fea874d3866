// Cases for this package: the native backend (the baseline every peer is checked against) and
// the TypeScript reference backend, both through the public API of the compiled entry.
// A case: { id, peer, variant, baseline?, slow?, work? (its own FLOPs/bytes when it does other
// work than the workload's), setup(), check() -> output, expected()? (its own reference output),
// runOnce(), measure(budget) -> seconds per call }, or { id, peer, variant, unavailable: reason }
// (a peer that is not installed) or { ..., inapplicable: reason } (a variant that does not apply).
import { timeAsync, timeSync } from '../timing.mjs';
import { cachedStepWorkCount } from '../workloads.mjs';

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

/** The native cases of workload w: forward (fused), forward needWeights (unfused), forwardAsync;
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
    cases.push(apiCase(loadModule, { id: 'native-unfused', peer, variant: 'forward needWeights (unfused)' },
      (mod) => layerCalls(mod, w, inputs, 'native').unfused));
  }
  cases.push(apiCase(loadModule, { id: 'native-async', peer, variant: 'forwardAsync' },
    (mod) => layerCalls(mod, w, inputs, 'native').forwardAsync, true));
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
