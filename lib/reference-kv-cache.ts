// The TypeScript reference of the KV cache: the same head-major layout as the native cache
// (K and V [B, H, capacity, D], padding flags [B, capacity]) in plain JS arrays, holding the
// float64 projections, and the cached forms of the reference forward (reference.ts).
import type { AppendArgs, CachedForwardArgs, LayerDesc } from './backend.js';
import { attendAndProject, linear, type Strided } from './reference.js';

export class ReferenceKVStore {
  readonly k: Float64Array;
  readonly v: Float64Array;
  readonly padding: Uint8Array;

  constructor(readonly batch: number, readonly heads: number, readonly capacity: number, readonly headDim: number) {
    this.k = new Float64Array(batch * heads * capacity * headDim);
    this.v = new Float64Array(batch * heads * capacity * headDim);
    this.padding = new Uint8Array(batch * capacity);
  }

  /** Stores t new positions at [start, start + t) from [B, t, H*D] projections. */
  store(start: number, t: number, k: Float64Array, v: Float64Array, padding: Uint8Array | undefined): void {
    const { batch: B, heads: H, capacity: C, headDim: D } = this;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < t; i++) {
        const row = (b * t + i) * H * D;
        for (let h = 0; h < H; h++) {
          const at = ((b * H + h) * C + start + i) * D;
          this.k.set(k.subarray(row + h * D, row + (h + 1) * D), at);
          this.v.set(v.subarray(row + h * D, row + (h + 1) * D), at);
        }
        this.padding[b * C + start + i] = padding && padding[b * t + i] ? 1 : 0;
      }
    }
  }

  /** Keys or values as (b, h, position, i). */
  view(data: Float64Array): Strided {
    const { heads: H, capacity: C, headDim: D } = this;
    return { data, sb: H * C * D, sh: C * D, sr: D };
  }
}

export function referenceAppendKV(w: LayerDesc, store: ReferenceKVStore, args: AppendArgs): void {
  const rows = args.batch * args.t;
  const k = linear(args.key, rows, w.kDim, w.kWeight, w.embedDim, w.kBias);
  const v = linear(args.value, rows, w.vDim, w.vWeight, w.embedDim, w.vBias);
  store.store(args.start, args.t, k, v, args.padding);
}

export function referenceForwardCached(w: LayerDesc, store: ReferenceKVStore, args: CachedForwardArgs): void {
  const { embedDim: E } = w;
  const { batch: B, l: L } = args;
  const q = linear(args.query, B * L, E, w.qWeight, E, w.qBias);
  if (args.append) {
    const k = linear(args.query, B * L, E, w.kWeight, E, w.kBias);
    const v = linear(args.query, B * L, E, w.vWeight, E, w.vBias);
    store.store(args.start, L, k, v, args.newPadding);
  }
  const S = args.start + (args.append ? L : 0);
  const keyPadding = { data: store.padding, strides: [store.capacity, 0, 0, 1] as [number, number, number, number] };
  attendAndProject(w, B, L, S, q, store.view(store.k), store.view(store.v), { ...args, keyPadding });
}
