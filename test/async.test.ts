// forwardAsync: same result as forward, safe under concurrency, inputs copied before queuing,
// fresh result memory, the event loop keeps turning, and validation errors reject.
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention } from '../lib/index.js';
import { type T, Rng, boolMask, expectClose, paddingBool, randTensor, randWeights } from './helpers.js';

const B = 2, L = 7, S = 9, E = 24, H = 3, KDIM = 7, VDIM = 33;

function model(backend: 'native' | 'reference' = 'native') {
  const weights = randWeights(new Rng(1), E, KDIM, VDIM, true);
  return new MultiHeadAttention({ embedDim: E, numHeads: H, kDim: KDIM, vDim: VDIM, weights, backend });
}

function inputs(seed: number): { q: T; k: T; v: T } {
  const rng = new Rng(seed);
  return { q: randTensor(rng, [B, L, E]), k: randTensor(rng, [B, S, KDIM]), v: randTensor(rng, [B, S, VDIM]) };
}

const options = {
  attnMask: boolMask(new Rng(2), [L, S], 0.3),
  keyPaddingMask: paddingBool(S, [S, 4]),
  needWeights: true,
  averageAttnWeights: false,
};

const isValidationError = (e: unknown) => e instanceof TypeError || e instanceof RangeError;

describe('forwardAsync', () => {
  for (const backend of ['native', 'reference'] as const) {
    it(`${backend}: resolves to the same result as forward`, async () => {
      const mha = model(backend);
      const { q, k, v } = inputs(3);
      const promise = mha.forwardAsync(q, k, v, options);
      expect(promise).toBeInstanceOf(Promise);
      const got = await promise;
      const want = mha.forward(q, k, v, options);
      expect(got.output.shape).toEqual([B, L, E]);
      expect(got.attnWeights!.shape).toEqual([B, H, L, S]);
      expectClose(got.output.data, want.output.data, 'output', 1e-6);
      expectClose(got.attnWeights!.data, want.attnWeights!.data, 'weights', 1e-6);
    });
  }

  it('64 concurrent calls on different inputs each equal their sync result', async () => {
    const mha = model();
    const all = Array.from({ length: 64 }, (_, i) => inputs(100 + i));
    const results = await Promise.all(all.map(({ q, k, v }) => mha.forwardAsync(q, k, v, options)));
    results.forEach((got, i) => {
      const { q, k, v } = all[i];
      const want = mha.forward(q, k, v, options);
      expectClose(got.output.data, want.output.data, `call ${i} output`, 1e-6);
      expectClose(got.attnWeights!.data, want.attnWeights!.data, `call ${i} weights`, 1e-6);
    });
    // Different inputs give different outputs (no result was written into another's buffer).
    expect(results[0].output.data).not.toEqual(results[1].output.data);
  });

  it('inputs overwritten right after the call do not change the result', async () => {
    const mha = model();
    const { q, k, v } = inputs(5);
    const want = mha.forward(q, k, v, options);
    const mask = { data: (options.attnMask.data as Uint8Array).slice(), shape: options.attnMask.shape };
    const padding = { data: (options.keyPaddingMask.data as Uint8Array).slice(), shape: options.keyPaddingMask.shape };
    const promise = mha.forwardAsync(q, k, v, { ...options, attnMask: mask, keyPaddingMask: padding });
    q.data.fill(Number.NaN);
    k.data.fill(1e30);
    v.data.fill(-7);
    mask.data.fill(1);
    padding.data.fill(1);
    const got = await promise;
    expectClose(got.output.data, want.output.data, 'output', 1e-6);
    expectClose(got.attnWeights!.data, want.attnWeights!.data, 'weights', 1e-6);
  });

  it('key and value in the same memory (one tensor, or value a shorter view of it): same result, overwritten or not', async () => {
    for (const vDim of [KDIM, 5]) {
      const weights = randWeights(new Rng(7), E, KDIM, vDim, true);
      const mha = new MultiHeadAttention({ embedDim: E, numHeads: H, kDim: KDIM, vDim, weights });
      const { q, k } = inputs(11);
      const v = vDim === KDIM ? k : { data: k.data.subarray(0, B * S * vDim), shape: [B, S, vDim] };
      const want = mha.forward(q, k, v, options);
      const promise = mha.forwardAsync(q, k, v, options);
      k.data.fill(1e30);
      const got = await promise;
      expectClose(got.output.data, want.output.data, `vDim ${vDim} output`, 1e-6);
      expectClose(got.attnWeights!.data, want.attnWeights!.data, `vDim ${vDim} weights`, 1e-6);
    }
  });

  it('results never share memory with inputs or with earlier results', async () => {
    const mha = model();
    const { q, k, v } = inputs(6);
    const first = await mha.forwardAsync(q, k, v, options);
    const second = await mha.forwardAsync(q, k, v, options);
    const sync = mha.forward(q, k, v, options);
    const buffers = [q.data.buffer, k.data.buffer, v.data.buffer];
    for (const r of [first, second]) {
      for (const t of [r.output, r.attnWeights!]) {
        for (const b of buffers) expect(t.data.buffer).not.toBe(b);
      }
      expect(r.output.data.buffer).not.toBe(r.attnWeights!.data.buffer);
    }
    expect(second.output.data.buffer).not.toBe(first.output.data.buffer);
    expect(second.attnWeights!.data.buffer).not.toBe(first.attnWeights!.data.buffer);
    expect(sync.output.data.buffer).not.toBe(second.output.data.buffer);
    // Writing into one result leaves the other untouched.
    const snapshot = first.output.data.slice();
    second.output.data.fill(0);
    expect(first.output.data).toEqual(snapshot);
  });

  it('the event loop keeps turning during a long forwardAsync', async () => {
    const [b, l, e, h] = [2, 768, 256, 8];
    const mha = new MultiHeadAttention({ embedDim: e, numHeads: h, seed: 3 });
    const x = randTensor(new Rng(8), [b, l, e]);
    let done = false;
    let ticks = 0;
    const promise = mha.forwardAsync(x, x, x, { isCausal: true }).finally(() => { done = true; });
    const tick = () => { if (!done) { ticks++; setImmediate(tick); } };
    setImmediate(tick);
    const got = await promise;
    expect(got.output.shape).toEqual([b, l, e]);
    expect(ticks).toBeGreaterThan(0);
  });

  it('validation errors reject instead of throwing synchronously', async () => {
    const mha = model();
    const { q, k, v } = inputs(9);
    const badQuery = { data: q.data, shape: [B, L, E + 1] };
    let promise: Promise<unknown> | undefined;
    expect(() => { promise = mha.forwardAsync(badQuery, k, v); }).not.toThrow();
    await expect(promise).rejects.toSatisfy(isValidationError);
    await expect(promise).rejects.toThrow(/query/);
    const badMask = { data: new Uint8Array(L * (S + 1)), shape: [L, S + 1] };
    expect(() => { promise = mha.forwardAsync(q, k, v, { attnMask: badMask }); }).not.toThrow();
    await expect(promise).rejects.toSatisfy(isValidationError);
    await expect(promise).rejects.toThrow(/attnMask/);
    const wrongDtype = { data: new Float64Array(B * L * E) as unknown as Float32Array, shape: [B, L, E] };
    expect(() => { promise = mha.forwardAsync(wrongDtype, k, v); }).not.toThrow();
    await expect(promise).rejects.toSatisfy(isValidationError);
    // The model still works after the rejections.
    const ok = await mha.forwardAsync(q, k, v);
    expect(ok.output.shape).toEqual([B, L, E]);
  });
});
