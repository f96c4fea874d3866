// The TypeScript reference as a backend (backend.ts): every record executed by the reference's
// float64 loops, a layer holding its own copy of the weights, its KV store in JS arrays.
import type { ComputeBackend, KVStore, LayerBackend, LayerDesc } from './backend.js';
import { rounding } from './reduced-precision.js';
import { ReferenceKVStore, referenceAppendKV, referenceForwardCached } from './reference-kv-cache.js';
import { referenceForward } from './reference-layer.js';
import { referenceRotary } from './reference-rotary.js';
import { referenceAttention, referenceMaskedSoftmax, referenceMatmul } from './reference.js';

/** The layer's own copy of desc; a bfloat16 layer keeps its weight matrices rounded to bfloat16. */
function ownCopy(desc: LayerDesc): LayerDesc {
  const copy = (a: Float32Array | undefined) => a?.slice();
  const round = rounding(desc.dtype);
  const weight = (a: Float32Array) => (round ? Float32Array.from(a, round) : a.slice());
  return {
    ...desc,
    qWeight: weight(desc.qWeight), kWeight: weight(desc.kWeight), vWeight: weight(desc.vWeight),
    outWeight: weight(desc.outWeight),
    qBias: copy(desc.qBias), kBias: copy(desc.kBias), vBias: copy(desc.vBias), outBias: copy(desc.outBias),
    alibiSlopes: copy(desc.alibiSlopes),
    rotary: desc.rotary && { ...desc.rotary },
  };
}

function referenceLayer(desc: LayerDesc): LayerBackend {
  const w = ownCopy(desc);
  const store = (s: KVStore) => s as unknown as ReferenceKVStore;
  return {
    forward: (args) => referenceForward(w, args),
    forwardAsync: async (args) => referenceForward(w, args),
    createKVStore: (batch, capacity, dtype) =>
      new ReferenceKVStore(batch, w.numKvHeads, capacity, w.embedDim / w.numHeads, dtype) as unknown as KVStore,
    appendKV: (s, args) => referenceAppendKV(w, store(s), args),
    forwardCached: (s, args) => referenceForwardCached(w, store(s), args),
    forwardCachedAsync: async (s, args) => referenceForwardCached(w, store(s), args),
  };
}

export const referenceBackend: ComputeBackend = {
  name: 'reference',
  matmul: referenceMatmul,
  maskedSoftmax: referenceMaskedSoftmax,
  attention: referenceAttention,
  rotary: referenceRotary,
  createLayer: referenceLayer,
};
