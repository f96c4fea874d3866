// The TypeScript reference as a backend (backend.ts): every record executed by reference.ts's
// float64 loops, a layer holding its own copy of the weights, its KV store in JS arrays.
import type { ComputeBackend, KVStore, LayerBackend, LayerDesc } from './backend.js';
import {
  referenceAttention, referenceMaskedSoftmax, referenceMatmul, referenceMultiHeadAttention,
} from './reference.js';
import { ReferenceKVStore, referenceAppendKV, referenceForwardCached } from './reference-kv-cache.js';

function ownCopy(desc: LayerDesc): LayerDesc {
  const copy = (a: Float32Array | undefined) => a?.slice();
  return {
    ...desc,
    qWeight: desc.qWeight.slice(), kWeight: desc.kWeight.slice(), vWeight: desc.vWeight.slice(),
    outWeight: desc.outWeight.slice(),
    qBias: copy(desc.qBias), kBias: copy(desc.kBias), vBias: copy(desc.vBias), outBias: copy(desc.outBias),
  };
}

function referenceLayer(desc: LayerDesc): LayerBackend {
  const w = ownCopy(desc);
  const store = (s: KVStore) => s as unknown as ReferenceKVStore;
  return {
    forward: (args) => referenceMultiHeadAttention(w, args),
    forwardAsync: async (args) => referenceMultiHeadAttention(w, args),
    createKVStore: (batch, capacity) =>
      new ReferenceKVStore(batch, w.numHeads, capacity, w.embedDim / w.numHeads) as unknown as KVStore,
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
  createLayer: referenceLayer,
};
