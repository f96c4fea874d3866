// The TypeScript reference of the KV cache: the same head-major layout as the native cache
// (K and V [B, numKvHeads, capacity, D], padding flags [B, capacity]) in plain JS arrays,
// holding the float64 projections (rotated when the layer has rotary), and the cached forms of
// the reference forward (reference-layer.ts). Each sequence b holds its own starts[b] positions.
import type { AppendArgs, CachedForwardArgs, LayerDesc, StorageDtype } from './backend.js';
import { rounding } from './reduced-precision.js';
import type { HeadRows } from './reference-attend.js';
import { attendAndProject, headDims, project, type LayerSequence } from './reference-layer.js';
import { rotateRows } from './reference-rotary.js';

export class ReferenceKVStore {
  readonly k: Float64Array;
  readonly v: Float64Array;
  readonly padding: Uint8Array;
  readonly #round: ((x: number) => number) | undefined;

  constructor(readonly batch: number, readonly heads: number, readonly capacity: number, readonly headDim: number,
    dtype: StorageDtype) {
    this.k = new Float64Array(batch * heads * capacity * headDim);
    this.v = new Float64Array(batch * heads * capacity * headDim);
    this.padding = new Uint8Array(batch * capacity);
    this.#round = rounding(dtype);
  }

  /** Stores rows [first, first + count) of [rows, heads * D] projections as positions [start,
   * start + count) of sequence b (rounded to the store's dtype); isPadding(i) flags row first + i. */
  store(b: number, start: number, k: Float64Array, v: Float64Array, first: number, count: number,
    isPadding: (i: number) => boolean): void {
    const { heads: H, capacity: C, headDim: D } = this;
    const round = this.#round;
    for (let i = 0; i < count; i++) {
      const row = (first + i) * H * D;
      for (let h = 0; h < H; h++) {
        const to = ((b * H + h) * C + start + i) * D;
        for (let c = 0; c < D; c++) {
          this.k[to + c] = round ? round(k[row + h * D + c]) : k[row + h * D + c];
          this.v[to + c] = round ? round(v[row + h * D + c]) : v[row + h * D + c];
        }
      }
      this.padding[b * C + start + i] = isPadding(i) ? 1 : 0;
    }
  }

  /** Sequence b's keys or values as (head, position). */
  view(data: Float64Array, b: number): HeadRows {
    const { heads: H, capacity: C, headDim: D } = this;
    return { data, base: b * H * C * D, sh: C * D, sr: D };
  }
}

/** Rows [first, first + count) of a token-major input: one sequence's new positions. */
interface Rows { first: number; count: number }

/** Projects the key [rows, kDim] / value [rows, vDim] inputs, rotates sequence b's keys (rotary)
 * for positions starts[b] + i, and stores them from starts[b]. */
function projectAndStore(w: LayerDesc, store: ReferenceKVStore, key: Float32Array, value: Float32Array,
  rows: Rows[], starts: Int32Array, isPadding: (b: number, i: number) => boolean): void {
  const { d, kvWidth } = headDims(w);
  const k = project(w, key, key.length / w.kDim, w.kDim, w.kWeight, kvWidth, w.kBias);
  const v = project(w, value, value.length / w.vDim, w.vDim, w.vWeight, kvWidth, w.vBias);
  rows.forEach(({ first, count }, b) => {
    if (w.rotary) rotateRows(k, w.numKvHeads, d, w.rotary, first, count, (i) => starts[b] + i);
    store.store(b, starts[b], k, v, first, count, (i) => isPadding(b, i));
  });
}

export function referenceAppendKV(w: LayerDesc, store: ReferenceKVStore, args: AppendArgs): void {
  const { batch: B, t, padding } = args;
  const rows = Array.from({ length: B }, (_, b) => ({ first: b * t, count: t }));
  projectAndStore(w, store, args.key, args.value, rows, args.starts,
    (b, i) => padding !== undefined && padding[b * t + i] !== 0);
}

export function referenceForwardCached(w: LayerDesc, store: ReferenceKVStore, args: CachedForwardArgs): void {
  const { embedDim: E } = w;
  const { batch: B, l: L, packed, starts, newPadding } = args;
  const rows = Array.from({ length: B }, (_, b): Rows =>
    (packed ? { first: packed[b], count: packed[b + 1] - packed[b] } : { first: b * L, count: L }));
  const q = project(w, args.query, packed ? packed[B] : B * L, E, w.qWeight, E, w.qBias);
  if (args.append) {
    projectAndStore(w, store, args.query, args.query, rows, starts,
      (b, i) => newPadding !== undefined && newPadding[b * L + i] !== 0);
  }
  const seqs = rows.map(({ first, count }, b): LayerSequence => ({
    b, qRow: first, l: count, s: starts[b] + (args.append ? count : 0),
    k: store.view(store.k, b), v: store.view(store.v, b),
  }));
  const S = seqs.reduce((n, seq) => Math.max(n, seq.s), 0);
  const keyPadding = { data: store.padding, strides: [store.capacity, 0, 0, 1] as [number, number, number, number] };
  attendAndProject(w, q, seqs, { ...args, s: S, keyPadding });
}
