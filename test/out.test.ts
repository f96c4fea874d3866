// options.out on the layer (forward, forwardAsync, with and without a KV cache) and the "at
// least as long" rule shared with the functional ops: the result is written into the caller's
// array, output.data is the view of exactly the result's length at its start, nothing past it
// is touched, overlap with any input is a RangeError, and with forwardAsync the array belongs
// to the call until it settles (detaching it meanwhile rejects; the next call works).
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention, matmul, maskedSoftmax, reference, scaledDotProductAttention } from '../lib/index.js';
import { Rng, additiveMask, boolMask, expectClose, paddingBool, randTensor, randWeights } from './helpers.js';

const B = 2, L = 7, S = 33, E = 24, H = 3, KDIM = 5, VDIM = 9;
const N = B * L * E;

function layer(backend: 'native' | 'reference', kDim = KDIM, vDim = VDIM) {
  const weights = randWeights(new Rng(5), E, kDim, vDim, true);
  return new MultiHeadAttention({ embedDim: E, numHeads: H, kDim, vDim, weights, backend });
}

function crossInputs(seed: number) {
  const rng = new Rng(seed);
  return {
    q: randTensor(rng, [B, L, E]), k: randTensor(rng, [B, S, KDIM]), v: randTensor(rng, [B, S, VDIM]),
    options: { keyPaddingMask: paddingBool(S, [S, 20]), attnMask: boolMask(rng, [L, S], 0.3) },
  };
}

/** A Float32Array of n elements filled with NaN, then `tail` sentinels past them. */
function poisoned(n: number, tail = 0): Float32Array {
  const a = new Float32Array(n + tail).fill(NaN);
  a.fill(12345, n);
  return a;
}

function detach(view: ArrayBufferView): void {
  const buffer = view.buffer as ArrayBuffer;
  structuredClone(buffer, { transfer: [buffer] });
  expect(view.byteLength).toBe(0);
}

describe('forward / forwardAsync into options.out', () => {
  for (const backend of ['native', 'reference'] as const) {
    it(`${backend}: forward writes the result into out (whatever it held) and returns it as output.data`, () => {
      const mha = layer(backend);
      const { q, k, v, options } = crossInputs(1);
      const want = mha.forward(q, k, v, { ...options, needWeights: true });
      const out = poisoned(N);
      const got = mha.forward(q, k, v, { ...options, needWeights: true, out });
      expect(got.output.data).toBe(out);
      expect(got.output.shape).toEqual([B, L, E]);
      expectClose(out, want.output.data, 'output', 1e-6);
      expectClose(got.attnWeights!.data, want.attnWeights!.data, 'weights', 1e-6);
    });

    it(`${backend}: a longer out gets the result at its start, a view of exactly B*L*E, the rest untouched`, async () => {
      const mha = layer(backend);
      const { q, k, v, options } = crossInputs(2);
      const want = mha.forward(q, k, v, options).output.data;
      for (const run of [
        (out: Float32Array) => mha.forward(q, k, v, { ...options, out }),
        (out: Float32Array) => mha.forwardAsync(q, k, v, { ...options, out }),
      ]) {
        const out = poisoned(N, 5);
        const { output } = await run(out);
        expect(output.data.length).toBe(N);
        expect(output.data.buffer).toBe(out.buffer);
        expect(output.data.byteOffset).toBe(out.byteOffset);
        expectClose(output.data, want, 'output', 1e-6);
        expect(Array.from(out.subarray(N))).toEqual([12345, 12345, 12345, 12345, 12345]);
      }
    });

    it(`${backend}: forwardAsync resolves with out as output.data, equal to forward`, async () => {
      const mha = layer(backend);
      const { q, k, v, options } = crossInputs(3);
      const want = mha.forward(q, k, v, options).output.data;
      const out = poisoned(N);
      const got = await mha.forwardAsync(q, k, v, { ...options, out });
      expect(got.output.data).toBe(out);
      expectClose(out, want, 'output', 1e-6);
    });

    it(`${backend}: self-attention through a KV cache writes into out, sync and async`, async () => {
      const mha = layer(backend, E, E);
      const x = randTensor(new Rng(4), [B, 3, E]);
      const plain = mha.createKVCache({ batchSize: B, capacity: 8 });
      const want = mha.forward(x, x, x, { kvCache: plain, isCausal: true }).output.data;
      const cache = mha.createKVCache({ batchSize: B, capacity: 8 });
      const out = poisoned(B * 3 * E, 2);
      const got = mha.forward(x, x, x, { kvCache: cache, isCausal: true, out });
      expect(got.output.data.buffer).toBe(out.buffer);
      expectClose(got.output.data, want, 'cached output', 1e-6);
      const token = randTensor(new Rng(5), [B, 1, E]);
      const wantStep = mha.forward(token, token, token, { kvCache: plain, isCausal: true }).output.data;
      const stepOut = poisoned(B * E);
      const step = await mha.forwardAsync(token, token, token, { kvCache: cache, isCausal: true, out: stepOut });
      expect(step.output.data).toBe(stepOut);
      expectClose(stepOut, wantStep, 'cached step', 1e-6);
    });

    it(`${backend}: out overlapping any input is a RangeError naming it; the layer keeps working`, async () => {
      const mha = layer(backend, E, E);
      const rng = new Rng(6);
      const buf = new Float32Array(3 * N);
      const q = { data: buf.subarray(0, N), shape: [B, L, E] };
      const kv = randTensor(rng, [B, L, E]);
      const maskBuf = new Float32Array(N + L * L);
      maskBuf.set(additiveMask(rng, [L, L]).data);
      const mask = { data: maskBuf.subarray(0, L * L), shape: [L, L] };
      const cases: [string, () => unknown][] = [
        ['query.data', () => mha.forward(q, kv, kv, { out: buf.subarray(N - 1) })],
        ['key.data', () => mha.forward(q, kv, kv, { out: kv.data })],
        ['options.attnMask.data', () => mha.forward(q, kv, kv, { attnMask: mask, out: maskBuf })],
        ['query.data', () => mha.forward(q, q, q, { out: buf })],
      ];
      for (const [input, call] of cases) {
        expect(call).toThrow(RangeError);
        expect(call).toThrow(`options.out: expected an array sharing no memory with the inputs, got one overlapping ${input}`);
      }
      await expect(mha.forwardAsync(q, kv, kv, { out: kv.data })).rejects.toThrow(/overlapping key\.data/);
      const cache = mha.createKVCache({ batchSize: B, capacity: 8 });
      expect(() => mha.forward(q, q, q, { kvCache: cache, out: q.data })).toThrow(/overlapping query\.data/);
      expect(cache.length).toBe(0);
      const out = new Float32Array(N);
      expect(mha.forward(q, kv, kv, { out }).output.data).toBe(out);
    });

    it(`${backend}: out of the wrong type or too short is rejected before any work`, async () => {
      const mha = layer(backend);
      const { q, k, v } = crossInputs(7);
      expect(() => mha.forward(q, k, v, { out: new Float64Array(N) as never })).toThrow(TypeError);
      expect(() => mha.forward(q, k, v, { out: new Float32Array(N - 1) }))
        .toThrow(`options.out.length: expected at least ${N} (the element count of the result [${B}, ${L}, ${E}]), got ${N - 1}`);
      await expect(mha.forwardAsync(q, k, v, { out: new Float32Array(1) })).rejects.toThrow(RangeError);
    });
  }

  it('native: forwardAsync writes out only when it settles; detaching out meanwhile rejects, and the next call works', async () => {
    const mha = layer('native');
    const { q, k, v, options } = crossInputs(8);
    const want = mha.forward(q, k, v, options).output.data;

    const out = poisoned(N);
    const pending = mha.forwardAsync(q, k, v, { ...options, out });
    expect(Number.isNaN(out[0])).toBe(true); // still the caller's contents when the call returns
    await pending;
    expectClose(out, want, 'output', 1e-6);

    const doomed = new Float32Array(N);
    const rejected = mha.forwardAsync(q, k, v, { ...options, out: doomed });
    detach(doomed);
    await expect(rejected).rejects.toThrow(/options\.out was detached/);

    const cache = mha.createKVCache({ batchSize: B, capacity: 4 });
    const self = layer('native', E, E);
    const x = randTensor(new Rng(9), [B, 1, E]);
    const selfCache = self.createKVCache({ batchSize: B, capacity: 4 });
    const stepOut = new Float32Array(B * E);
    const step = self.forwardAsync(x, x, x, { kvCache: selfCache, isCausal: true, out: stepOut });
    detach(stepOut);
    await expect(step).rejects.toThrow(/options\.out was detached/);
    expect(cache.length).toBe(0);

    const again = await mha.forwardAsync(q, k, v, { ...options, out: new Float32Array(N) });
    expectClose(again.output.data, want, 'output after a rejected call', 1e-6);
  });

  it('concurrent forwardAsync calls into distinct out arrays each get their own result', async () => {
    const mha = layer('native');
    const calls = Array.from({ length: 24 }, (_, i) => crossInputs(100 + i));
    const outs = calls.map(() => poisoned(N));
    await Promise.all(calls.map((c, i) => mha.forwardAsync(c.q, c.k, c.v, { ...c.options, out: outs[i] })));
    calls.forEach((c, i) => expectClose(outs[i], mha.forward(c.q, c.k, c.v, c.options).output.data, `call ${i}`, 1e-6));
  });
});

describe('functional ops: out may be longer than the result', () => {
  const rng = new Rng(10);
  const a = randTensor(rng, [2, 3, 4]), b = randTensor(rng, [4, 5]);
  const x = randTensor(rng, [2, 3, 5]);
  const q = randTensor(rng, [1, 2, 3, 4]), k = randTensor(rng, [1, 2, 5, 4]), v = randTensor(rng, [1, 2, 5, 6]);
  const ops = [
    { name: 'matmul', n: 30, native: (out: Float32Array) => matmul(a, b, { out }), want: () => reference.matmul(a, b) },
    { name: 'maskedSoftmax', n: 30, native: (out: Float32Array) => maskedSoftmax(x, { out }), want: () => reference.maskedSoftmax(x) },
    { name: 'scaledDotProductAttention', n: 36, native: (out: Float32Array) => scaledDotProductAttention(q, k, v, { out }),
      want: () => reference.scaledDotProductAttention(q, k, v) },
  ];
  for (const op of ops) {
    it(`${op.name}: the result is the view of exactly its length at out's start`, () => {
      const out = poisoned(op.n, 3);
      const got = op.native(out);
      expect(got.data.length).toBe(op.n);
      expect(got.data.buffer).toBe(out.buffer);
      expectClose(got.data, op.want().data, op.name, 1e-6);
      expect(Array.from(out.subarray(op.n))).toEqual([12345, 12345, 12345]);
    });
  }

  it('maskedSoftmax in place through a longer array starting at x.data', () => {
    const buf = new Float32Array(34);
    buf.set(x.data);
    const inPlace = { data: buf.subarray(0, 30), shape: x.shape };
    const want = reference.maskedSoftmax(x).data;
    const got = maskedSoftmax(inPlace, { out: buf });
    expect(got.data.byteOffset).toBe(0);
    expectClose(buf.subarray(0, 30), want, 'in place', 1e-6);
  });
});
