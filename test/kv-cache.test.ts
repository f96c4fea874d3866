// The KV cache (MultiHeadAttention.createKVCache): decoding through the cache reproduces one
// forward over the whole sequence (self-attention: causal with per-sequence padding; cross-
// attention: encoder memory projected once), on both backends and across them; chunked
// prefill; truncate/reset rollback (bitwise); capacity overflow; forwardAsync and its hold
// on the cache; attention weights over the cache; validation.
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention, type Backend, type KVCache } from '../lib/index.js';
import { type M, type T, Rng, expectClose, numel, paddingBool, randTensor, randWeights, rowIsZero } from './helpers.js';

const BACKENDS: Backend[] = ['native', 'reference'];

function makeLayer(backend: Backend, E: number, H: number, seed: number, kDim = E, vDim = E): MultiHeadAttention {
  const weights = randWeights(new Rng(seed), E, kDim, vDim, true);
  return new MultiHeadAttention({ embedDim: E, numHeads: H, kDim, vDim, weights, backend });
}

/** Positions [from, to) of a [B, N, ...] tensor or a [B, N] mask, as a fresh array. */
function slice<X extends T | M>(x: X, from: number, to: number): X {
  const [B, N] = x.shape;
  const row = numel(x.shape.slice(2));
  const Ctor = x.data.constructor as new (n: number) => X['data'];
  const data = new Ctor(B * (to - from) * row);
  for (let b = 0; b < B; b++) data.set(x.data.subarray((b * N + from) * row, (b * N + to) * row), b * (to - from) * row);
  return { data, shape: [B, to - from, ...x.shape.slice(2)] } as X;
}

/** Concatenates [B, n_i, E] outputs along dim 1. */
function concat(parts: T[]): T {
  const [B, , E] = parts[0].shape;
  const N = parts.reduce((n, p) => n + p.shape[1], 0);
  const data = new Float32Array(B * N * E);
  let at = 0;
  for (const p of parts) {
    const n = p.shape[1];
    for (let b = 0; b < B; b++) data.set(p.data.subarray(b * n * E, (b + 1) * n * E), (b * N + at) * E);
    at += n;
  }
  return { data, shape: [B, N, E] };
}

/** Self-attention through the cache in chunks of the given sizes, each with its slice of the padding. */
function decodeSelf(layer: MultiHeadAttention, cache: KVCache, x: T, padding: M | undefined, chunks: number[]): T[] {
  const outs: T[] = [];
  let at = cache.length;
  for (const n of chunks) {
    const xs = slice(x, at, at + n);
    const keyPaddingMask = padding && slice(padding, at, at + n);
    outs.push(layer.forward(xs, xs, xs, { kvCache: cache, isCausal: true, keyPaddingMask }).output as T);
    at += n;
  }
  return outs;
}

// seq 0: no padding; seq 1: a 2-token prompt right-padded to 4; seq 2: its first position padded
// (query 0 of seq 2 sees no key: a zero context row).
function promptPadding(N: number): M {
  const mask = paddingBool(N, [N, N, N]);
  mask.data[1 * N + 2] = 1;
  mask.data[1 * N + 3] = 1;
  mask.data[2 * N + 0] = 1;
  return mask;
}

describe('self-attention through a KV cache equals one causal forward', () => {
  const cases = [
    { E: 16, H: 4, N: 9, chunks: [4, 1, 1, 1, 1, 1] },          // prefill, then token by token
    { E: 33, H: 3, N: 7, chunks: [1, 1, 1, 1, 1, 1, 1] },       // token by token from the start
    { E: 24, H: 8, N: 11, chunks: [3, 2, 1, 4, 1] },             // chunked prefill and steps
  ];
  for (const { E, H, N, chunks } of cases) {
    it(`E=${E} H=${H} N=${N} chunks [${chunks}]`, () => {
      const B = 3;
      const x = randTensor(new Rng(E * 31 + N), [B, N, E]);
      const padding = promptPadding(N);
      const full: Record<string, T> = {};
      const cached: Record<string, T> = {};
      for (const backend of BACKENDS) {
        const layer = makeLayer(backend, E, H, E + H);
        full[backend] = layer.forward(x, x, x, { isCausal: true, keyPaddingMask: padding }).output as T;
        const cache = layer.createKVCache({ batchSize: B, capacity: N + 2 });
        cached[backend] = concat(decodeSelf(layer, cache, x, padding, chunks));
        expect(cache.length).toBe(N);
        expectClose(cached[backend].data, full[backend].data, `${backend}: cached vs full`);
      }
      expectClose(cached.native.data, full.reference.data, 'native cached vs reference full');
      expectClose(cached.native.data, cached.reference.data, 'native cached vs reference cached');
      // Row (seq 2, position 0) sees only padding: zero context, so its output is outBias.
      const outBias = randWeights(new Rng(E + H), E, E, E, true).outBias!;
      expectClose(cached.native.data.subarray(2 * N * E, 2 * N * E + E), outBias, 'fully blocked row = outBias');
    });
  }

  it('an additive padding mask (0 / -Infinity) is the same as the boolean one', () => {
    const [B, N, E, H] = [3, 6, 8, 2];
    const x = randTensor(new Rng(5), [B, N, E]);
    const bool = promptPadding(N);
    const additive: M = { data: Float32Array.from(bool.data, (v) => (v ? -Infinity : 0)), shape: [B, N] };
    for (const backend of BACKENDS) {
      const layer = makeLayer(backend, E, H, 3);
      const a = concat(decodeSelf(layer, layer.createKVCache({ batchSize: B, capacity: N }), x, bool, [4, 1, 1]));
      const b = concat(decodeSelf(layer, layer.createKVCache({ batchSize: B, capacity: N }), x, additive, [4, 1, 1]));
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
    }
  });

  it('attention weights span the cache and match the full forward', () => {
    const [B, N, E, H] = [2, 5, 12, 3];
    const x = randTensor(new Rng(9), [B, N, E]);
    for (const backend of BACKENDS) {
      const layer = makeLayer(backend, E, H, 4);
      const full = layer.forward(x, x, x, { isCausal: true, needWeights: true, averageAttnWeights: false });
      const cache = layer.createKVCache({ batchSize: B, capacity: N });
      decodeSelf(layer, cache, x, undefined, [N - 1]);
      const xs = slice(x, N - 1, N);
      const step = layer.forward(xs, xs, xs, { kvCache: cache, isCausal: true, needWeights: true, averageAttnWeights: false });
      expect(step.attnWeights!.shape).toEqual([B, H, 1, N]);
      const want = new Float32Array(B * H * N);
      for (let bh = 0; bh < B * H; bh++) want.set(full.attnWeights!.data.subarray((bh * N + N - 1) * N, (bh * N + N) * N), bh * N);
      expectClose(step.attnWeights!.data, want, `${backend}: last row of the weights`);
    }
  });

  it('an attnMask spans the cache positions ([L, S] with S = length after appending)', () => {
    const [B, N, E, H] = [2, 6, 8, 2];
    const x = randTensor(new Rng(12), [B, N, E]);
    const blocked = new Uint8Array(N * N);
    for (let i = 0; i < N; i++) blocked[i * N + ((i * 7) % (i + 1))] = i > 0 ? 1 : 0; // block one earlier key per row
    for (const backend of BACKENDS) {
      const layer = makeLayer(backend, E, H, 6);
      const full = layer.forward(x, x, x, { isCausal: true, attnMask: { data: blocked, shape: [N, N] } }).output as T;
      const cache = layer.createKVCache({ batchSize: B, capacity: N });
      const outs: T[] = [];
      for (let t = 0; t < N; t++) {
        const xs = slice(x, t, t + 1);
        const attnMask = { data: blocked.slice(t * N, t * N + t + 1), shape: [1, t + 1] };
        outs.push(layer.forward(xs, xs, xs, { kvCache: cache, isCausal: true, attnMask }).output as T);
      }
      expectClose(concat(outs).data, full.data, `${backend}: masked decode`);
    }
  });
});

describe('cross-attention: encoder memory projected once', () => {
  for (const { E, H, kDim, vDim, S, N } of [
    { E: 16, H: 4, kDim: 16, vDim: 16, S: 7, N: 5 },
    { E: 33, H: 3, kDim: 7, vDim: 5, S: 9, N: 4 },
  ]) {
    it(`E=${E} H=${H} kDim=${kDim} vDim=${vDim} S=${S}`, () => {
      const B = 3;
      const rng = new Rng(S * 100 + E);
      const key = randTensor(rng, [B, S, kDim]);
      const value = randTensor(rng, [B, S, vDim]);
      const y = randTensor(rng, [B, N, E]);
      const srcPadding = paddingBool(S, [S, S - 2, 1]);
      const results: Record<string, T> = {};
      for (const backend of BACKENDS) {
        const layer = makeLayer(backend, E, H, 77, kDim, vDim);
        const full = layer.forward(y, key, value, { keyPaddingMask: srcPadding }).output as T;
        const memory = layer.createKVCache({ batchSize: B, capacity: S });
        // Appended in two chunks, each with its padding.
        layer.appendKV(memory, slice(key, 0, 3), slice(value, 0, 3), { keyPaddingMask: slice(srcPadding, 0, 3) });
        layer.appendKV(memory, slice(key, 3, S), slice(value, 3, S), { keyPaddingMask: slice(srcPadding, 3, S) });
        expect(memory.length).toBe(S);
        const outs: T[] = [];
        for (let t = 0; t < N; t++) {
          outs.push(layer.forward(slice(y, t, t + 1), null, null, { kvCache: memory }).output as T);
        }
        expect(memory.length).toBe(S); // attending does not append
        results[backend] = concat(outs);
        expectClose(results[backend].data, full.data, `${backend}: per-step cross-attention vs full`);
        // Several queries at once read the same memory.
        expectClose((layer.forward(y, null, null, { kvCache: memory }).output as T).data, full.data, `${backend}: L=${N}`);
      }
      expectClose(results.native.data, results.reference.data, 'native vs reference');
    });
  }
});

describe('rollback, reset and capacity', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: truncate then re-decode is bitwise identical (speculative decoding)`, () => {
      const [B, N, E, H] = [2, 8, 16, 4];
      const rng = new Rng(21);
      const x = randTensor(rng, [B, N, E]);
      const draft = randTensor(rng, [B, 3, E]);
      const layer = makeLayer(backend, E, H, 8);
      // The same capacity as below: the same memory layout, so the same kernels see the same strides.
      const reference = decodeSelf(layer, layer.createKVCache({ batchSize: B, capacity: N + 3 }), x, undefined,
        [3, 1, 1, 1, 1, 1]);

      const cache = layer.createKVCache({ batchSize: B, capacity: N + 3 });
      decodeSelf(layer, cache, x, undefined, [3, 1]);
      for (let t = 0; t < 3; t++) {  // three rejected draft tokens
        const d = slice(draft, t, t + 1);
        layer.forward(d, d, d, { kvCache: cache, isCausal: true });
      }
      expect(cache.length).toBe(7);
      cache.truncate(4);
      expect(cache.length).toBe(4);
      cache.truncate(6); // never grows
      expect(cache.length).toBe(4);
      const redo = decodeSelf(layer, cache, x, undefined, [1, 1, 1, 1]);
      for (let i = 0; i < 4; i++) {
        expect(Array.from(redo[i].data), `step ${i}`).toEqual(Array.from(reference[i + 2].data));
      }

      cache.reset();
      expect(cache.length).toBe(0);
      const again = decodeSelf(layer, cache, x, undefined, [3, 1, 1, 1, 1, 1]);
      again.forEach((out, i) => expect(Array.from(out.data), `after reset, step ${i}`).toEqual(Array.from(reference[i].data)));
    });

    it(`${backend}: exceeding the capacity throws RangeError and leaves the cache unchanged`, () => {
      const [B, N, E, H] = [2, 6, 8, 2];
      const x = randTensor(new Rng(4), [B, N, E]);
      const layer = makeLayer(backend, E, H, 2);
      const full = layer.forward(x, x, x, { isCausal: true }).output as T;
      const cache = layer.createKVCache({ batchSize: B, capacity: 5 });
      const outs = decodeSelf(layer, cache, x, undefined, [4]);
      const two = slice(x, 4, 6);
      expect(() => layer.forward(two, two, two, { kvCache: cache, isCausal: true })).toThrow(RangeError);
      expect(() => layer.forward(two, two, two, { kvCache: cache, isCausal: true }))
        .toThrow(/at most 1 new positions \(the KVCache holds 4 of capacity 5\), got 2/);
      expect(cache.length).toBe(4);
      outs.push(...decodeSelf(layer, cache, x, undefined, [1]));
      expect(cache.length).toBe(5);
      expectClose(concat(outs).data, slice(full, 0, 5).data, 'decode after the failed call');
      const one = slice(x, 5, 6);
      expect(() => layer.forward(one, one, one, { kvCache: cache, isCausal: true })).toThrow(RangeError);
      expect(cache.length).toBe(5);

      const cross = makeLayer(backend, E, H, 2, 3, 5);
      const memory = cross.createKVCache({ batchSize: B, capacity: 4 });
      const k = randTensor(new Rng(1), [B, 5, 3]);
      const v = randTensor(new Rng(2), [B, 5, 5]);
      expect(() => cross.appendKV(memory, k, v)).toThrow(RangeError);
      expect(memory.length).toBe(0);
    });
  }
});

describe('forwardAsync with a KV cache', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: gives the same results as forward, and holds the cache until it settles`, async () => {
      const [B, N, E, H] = [2, 6, 16, 4];
      const x = randTensor(new Rng(31), [B, N, E]);
      const layer = makeLayer(backend, E, H, 10);
      const sync = decodeSelf(layer, layer.createKVCache({ batchSize: B, capacity: N }), x, undefined, [2, 1, 1, 1, 1]);
      const cache = layer.createKVCache({ batchSize: B, capacity: N });
      let at = 0;
      for (const [i, n] of [2, 1, 1, 1, 1].entries()) {
        const xs = slice(x, at, at + n);
        const pending = layer.forwardAsync(xs, xs, xs, { kvCache: cache, isCausal: true });
        expect(cache.length).toBe(at);
        expect(() => layer.forward(xs, xs, xs, { kvCache: cache, isCausal: true })).toThrow(/in use by a pending forwardAsync/);
        const second = layer.forwardAsync(xs, xs, xs, { kvCache: cache, isCausal: true });
        expect(() => cache.truncate(0)).toThrow(/in use/);
        expect(() => cache.reset()).toThrow(/in use/);
        await expect(second).rejects.toThrow(/in use/);
        const { output } = await pending;
        at += n;
        expect(cache.length).toBe(at);
        expect(Array.from(output.data), `step ${i}`).toEqual(Array.from(sync[i].data));
      }
    });
  }

  it('a rejected call (bad argument) does not hold the cache', async () => {
    const layer = makeLayer('native', 8, 2, 1);
    const cache = layer.createKVCache({ batchSize: 1, capacity: 2 });
    const x = randTensor(new Rng(1), [1, 3, 8]);
    await expect(layer.forwardAsync(x, x, x, { kvCache: cache })).rejects.toThrow(RangeError);
    const y = slice(x, 0, 2);
    await layer.forwardAsync(y, y, y, { kvCache: cache, isCausal: true });
    expect(cache.length).toBe(2);
  });
});

describe('validation', () => {
  const E = 8, H = 2, B = 2;
  for (const backend of BACKENDS) {
    it(`${backend}: bad caches and calls throw TypeError/RangeError, leaving the cache usable`, () => {
      const layer = makeLayer(backend, E, H, 1);
      const other = makeLayer(backend, E, H, 1);
      const cache = layer.createKVCache({ batchSize: B, capacity: 4 });
      const x = randTensor(new Rng(3), [B, 1, E]);
      const y = randTensor(new Rng(4), [B, 1, E]);
      const opts = { kvCache: cache, isCausal: true };

      expect(() => other.forward(x, x, x, opts)).toThrow(TypeError);
      expect(() => other.forward(x, x, x, opts)).toThrow(/created by this layer/);
      expect(() => other.appendKV(cache, x, x)).toThrow(TypeError);
      expect(() => layer.forward(x, x, x, { kvCache: {} as KVCache })).toThrow(TypeError);
      const three = randTensor(new Rng(5), [3, 1, E]);
      expect(() => layer.forward(three, three, three, opts)).toThrow(RangeError);
      expect(() => layer.forward(three, three, three, opts)).toThrow(/batch size 2/);
      expect(() => layer.forward(x, y, y, opts)).toThrow(TypeError);
      expect(() => layer.forward(x, x, null as unknown as T, opts)).toThrow(TypeError);
      expect(() => layer.forward(x, null, null, { kvCache: cache })).toThrow(/at least one position/);
      expect(() => layer.forward(x, x, x, { ...opts, keyPaddingMask: paddingBool(2, [2, 2]) })).toThrow(RangeError);
      expect(() => layer.forward(x, x, x, { ...opts, keyPaddingMask: { data: new Float32Array([0, 0.5]), shape: [B, 1] } }))
        .toThrow(/0 or -Infinity/);
      expect(() => layer.forward(x, x, x, { ...opts, attnMask: { data: new Uint8Array(4), shape: [2, 2] } })).toThrow(RangeError);
      expect(cache.length).toBe(0);

      layer.forward(x, x, x, opts);
      expect(cache.length).toBe(1);
      expect(() => layer.forward(y, null, null, { kvCache: cache, keyPaddingMask: paddingBool(1, [1, 1]) })).toThrow(TypeError);
      expect(() => cache.truncate(-1)).toThrow(RangeError);
      expect(() => cache.truncate(1.5)).toThrow(RangeError);
      expect(() => cache.truncate('0' as unknown as number)).toThrow(TypeError);
      expect(cache.length).toBe(1);
      expect(layer.forward(y, null, null, { kvCache: cache }).output.shape).toEqual([B, 1, E]);

      expect(() => layer.createKVCache({ batchSize: 0, capacity: 4 })).toThrow(RangeError);
      expect(() => layer.createKVCache({ batchSize: 1 } as never)).toThrow(TypeError);
      expect(() => layer.createKVCache(undefined as never)).toThrow(TypeError);
      expect(() => layer.createKVCache({ batchSize: 2 ** 20, capacity: 2 ** 20 })).toThrow(RangeError);
      expect(cache.batchSize).toBe(B);
      expect(cache.capacity).toBe(4);

      const crossDims = makeLayer(backend, E, H, 1, 3, 5);
      const c2 = crossDims.createKVCache({ batchSize: B, capacity: 4 });
      expect(() => crossDims.forward(x, x, x, { kvCache: c2 })).toThrow(/kDim == vDim == embedDim/);
      expect(() => crossDims.appendKV(c2, randTensor(new Rng(1), [B, 2, 4]), randTensor(new Rng(1), [B, 2, 5])))
        .toThrow(/key: expected shape \[2, 2, 3\]/);
    });
  }

  it('the native binding re-checks the cache handle and positions', async () => {
    const { addon } = await import('../lib/addon.js');
    const w = randWeights(new Rng(1), E, E, E, false);
    const Model = addon().Model;
    const desc = { embedDim: E, numHeads: H, numKvHeads: H, kDim: E, vDim: E, scale: 1, softcap: 0, windowLeft: -1,
      windowRight: -1, dtype: 'float32' as const, ...w };
    const a = new Model(desc);
    const b = new Model(desc);
    const cache = a.createKVStore(1, 2, 'float32');
    expect(() => a.createKVStore(1, 2, 'float64' as never)).toThrow(TypeError);
    const query = new Float32Array(E * 3);
    const call = (model: typeof a, over: object, store: object = cache) => model.forwardCached(store as typeof cache, {
      query, batch: 1, l: 1, starts: new Int32Array([0]), append: true, causal: true,
      out: new Float32Array(E * 3), outIsCallers: false, averageWeights: true, ...over,
    });
    expect(() => call(b, {})).toThrow(/another model/);
    expect(() => call(a, {}, {})).toThrow(TypeError);
    expect(() => call(a, { starts: new Int32Array([2]) })).toThrow(RangeError);
    expect(() => call(a, { starts: new Int32Array([3]) })).toThrow(RangeError);
    expect(() => call(a, { starts: new Int32Array([0, 0]) })).toThrow(RangeError);
    expect(() => call(a, { starts: [0] })).toThrow(TypeError);
    expect(() => call(a, { l: 3 })).toThrow(RangeError);
    expect(() => call(a, { append: false })).toThrow(RangeError);
    expect(() => call(a, { batch: 2 })).toThrow(RangeError);
    expect(() => call(a, { l: 3, packed: new Int32Array([0, 3]) })).toThrow(RangeError);
    expect(() => call(a, { l: 3, packed: new Int32Array([1, 3]) })).toThrow(RangeError);
    expect(() => call(a, { l: 1, packed: new Int32Array([0, 2]) })).toThrow(RangeError);
    expect(() => call(a, { l: 2, packed: new Int32Array([0, 2, 2]) })).toThrow(RangeError);
    expect(() => a.appendKV(cache, { key: query, value: query, batch: 1, t: 1, starts: new Int32Array([2]) }))
      .toThrow(RangeError);
    call(a, {});
    expect(rowIsZero(new Float32Array(E), 0, E)).toBe(true);
  });
});
