// The dynamic batcher: concurrent single-sequence requests merged into one forwardAsync call
// give the results of running each request alone (mixed L and S, every mask kind, causal with
// different S - L, attention weights), grouping happens, and a bad request rejects alone.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ForwardOptions, MultiHeadAttention, createBatcher } from '../lib/index.js';
import {
  type M, type T, Rng, additiveMask, boolMask, expectClose, paddingAdditive, paddingBool, randTensor, randWeights,
} from './helpers.js';

const E = 32, H = 4, KDIM = 20, VDIM = 12;

function layer(backend: 'native' | 'reference', kDim = KDIM, vDim = VDIM) {
  const weights = randWeights(new Rng(3), E, kDim, vDim, true);
  return new MultiHeadAttention({ embedDim: E, numHeads: H, kDim, vDim, weights, backend });
}

interface Req { q: T; k: T; v: T; options?: ForwardOptions; label: string }

function cross(rng: Rng, L: number, S: number, options: ForwardOptions | undefined, label: string): Req {
  return { q: randTensor(rng, [1, L, E]), k: randTensor(rng, [1, S, KDIM]), v: randTensor(rng, [1, S, VDIM]), options, label };
}

function self(rng: Rng, L: number, options: ForwardOptions | undefined, label: string): Req {
  const x = randTensor(rng, [1, L, E]);
  return { q: x, k: x, v: x, options, label };
}

/** A mask of shape [1, S] blocking the keys listed. */
function padding(S: number, blocked: number[]): M {
  const m = paddingBool(S, [S]);
  for (const j of blocked) m.data[j] = 1;
  return m;
}

/** Cross-attention requests: different L and S, each mask kind, causal with various S - L. */
function crossRequests(rng: Rng): Req[] {
  return [
    cross(rng, 1, 1, undefined, 'L=1 S=1'),
    cross(rng, 7, 3, undefined, 'L=7 S=3'),
    cross(rng, 3, 17, { keyPaddingMask: padding(17, [0, 5, 16]) }, 'bool key padding'),
    cross(rng, 5, 9, { keyPaddingMask: paddingAdditive(rng, 9, [6]) }, 'additive key padding'),
    cross(rng, 4, 11, { isCausal: true }, 'causal L<S'),
    cross(rng, 9, 4, { isCausal: true }, 'causal L>S (first rows see nothing)'),
    cross(rng, 6, 6, { attnMask: boolMask(rng, [6, 6], 0.3) }, 'bool attnMask [L, S]'),
    cross(rng, 2, 13, { attnMask: additiveMask(rng, [2, 13], 0.2) }, 'additive attnMask [L, S]'),
    cross(rng, 8, 5, { attnMask: boolMask(rng, [H, 8, 5], 0.3) }, 'per-head bool attnMask [H, L, S]'),
    cross(rng, 3, 7, { attnMask: additiveMask(rng, [1, H, 1, 7], 0.1) }, 'broadcast additive attnMask [1, H, 1, S]'),
    cross(rng, 7, 12, {
      isCausal: true, keyPaddingMask: padding(12, [11, 10]), attnMask: boolMask(rng, [1, 1, 7, 12], 0.2),
    }, 'causal + key padding + attnMask'),
    cross(rng, 4, 4, { keyPaddingMask: padding(4, [0, 1, 2, 3]) }, 'every key padded (zero context)'),
  ];
}

function runAlone(mha: MultiHeadAttention, r: Req) {
  return mha.forward(r.q, r.k, r.v, r.options);
}

function expectSameResult(actual: Awaited<ReturnType<MultiHeadAttention['forwardAsync']>>,
  expected: ReturnType<MultiHeadAttention['forward']>, label: string) {
  expect(actual.output.shape, label).toEqual(expected.output.shape);
  expectClose(actual.output.data, expected.output.data, `${label}: output`);
  expect(actual.attnWeights?.shape, label).toEqual(expected.attnWeights?.shape);
  if (expected.attnWeights) expectClose(actual.attnWeights!.data, expected.attnWeights.data, `${label}: weights`);
}

afterEach(() => { vi.restoreAllMocks(); });

describe('createBatcher', () => {
  for (const backend of ['native', 'reference'] as const) {
    it(`${backend}: cross-attention with mixed L, S and masks equals running each request alone`, async () => {
      const mha = layer(backend);
      const requests = crossRequests(new Rng(10));
      const expected = requests.map((r) => runAlone(mha, r));
      const spy = vi.spyOn(mha, 'forwardAsync');
      const batcher = createBatcher(mha, { maxBatchSize: 64, maxDelayMs: 5 });
      const results = await Promise.all(requests.map((r) => batcher.run(r.q, r.k, r.v, r.options)));
      results.forEach((res, i) => expectSameResult(res, expected[i], requests[i].label));
      expect(spy).toHaveBeenCalledTimes(1);
      const [query, , , options] = spy.mock.calls[0];
      expect(query.shape).toEqual([requests.length, 9, E]);
      expect(options?.isCausal).toBe(false); // causal requests of different S - L: an explicit mask
    });

    it(`${backend}: attention weights (averaged and per head) are split back per request`, async () => {
      const mha = layer(backend);
      const rng = new Rng(11);
      const requests = [
        ...[[3, 5], [6, 2], [1, 9]].map(([L, S]) =>
          cross(rng, L, S, { needWeights: true, keyPaddingMask: padding(S, [0]) }, `averaged L=${L} S=${S}`)),
        ...[[4, 4], [2, 7]].map(([L, S]) =>
          cross(rng, L, S, { needWeights: true, averageAttnWeights: false, isCausal: true }, `per head L=${L} S=${S}`)),
      ];
      const expected = requests.map((r) => runAlone(mha, r));
      const spy = vi.spyOn(mha, 'forwardAsync');
      const batcher = createBatcher(mha, { maxDelayMs: 5 });
      const results = await Promise.all(requests.map((r) => batcher.run(r.q, r.k, r.v, r.options)));
      results.forEach((res, i) => expectSameResult(res, expected[i], requests[i].label));
      expect(spy).toHaveBeenCalledTimes(2); // one group per weights kind
    });
  }

  it('self-attention of different lengths: one fused call; causal stays isCausal (S - L = 0 for all)', async () => {
    const mha = layer('native', E, E);
    const rng = new Rng(12);
    const requests = [1, 3, 7, 33, 16].map((L) =>
      self(rng, L, { isCausal: true, keyPaddingMask: padding(L, L > 2 ? [1] : []) }, `self causal L=${L}`));
    const expected = requests.map((r) => runAlone(mha, r));
    const spy = vi.spyOn(mha, 'forwardAsync');
    const batcher = createBatcher(mha, { maxDelayMs: 5 });
    const results = await Promise.all(requests.map((r) => batcher.run(r.q, r.k, r.v, r.options)));
    results.forEach((res, i) => expectSameResult(res, expected[i], requests[i].label));
    expect(spy).toHaveBeenCalledTimes(1);
    const [query, key, value, options] = spy.mock.calls[0];
    expect(key).toBe(query);
    expect(value).toBe(query);
    expect(options?.isCausal).toBe(true);
    expect(options?.attnMask).toBeUndefined();
  });

  it('causal cross-attention with one S - L and different lengths keeps isCausal; mixed causal does not', async () => {
    const mha = layer('native');
    const rng = new Rng(13);
    const sameOffset = [[3, 5], [6, 8], [1, 3]].map(([L, S]) => cross(rng, L, S, { isCausal: true }, `L=${L} S=${S}`));
    const mixed = [cross(rng, 4, 6, { isCausal: true }, 'causal'), cross(rng, 5, 6, undefined, 'not causal')];
    for (const [requests, nativeCausal] of [[sameOffset, true], [mixed, false]] as const) {
      const expected = requests.map((r) => runAlone(mha, r));
      const spy = vi.spyOn(mha, 'forwardAsync');
      const batcher = createBatcher(mha, { maxDelayMs: 5 });
      const results = await Promise.all(requests.map((r) => batcher.run(r.q, r.k, r.v, r.options)));
      results.forEach((res, i) => expectSameResult(res, expected[i], requests[i].label));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][3]?.isCausal).toBe(nativeCausal);
      spy.mockRestore();
    }
  });

  it('8 concurrent requests with maxBatchSize 8 make 1 call, before maxDelayMs', async () => {
    const mha = layer('native');
    const rng = new Rng(14);
    const requests = Array.from({ length: 8 }, (_, i) => cross(rng, 1 + i, 8 - i, undefined, `request ${i}`));
    const spy = vi.spyOn(mha, 'forwardAsync');
    const batcher = createBatcher(mha, { maxBatchSize: 8, maxDelayMs: 60_000 });
    const started = Date.now();
    await Promise.all(requests.map((r) => batcher.run(r.q, r.k, r.v)));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][0].shape[0]).toBe(8);
  });

  it('maxBatchSize splits a burst; maxDelayMs sends a partial group', async () => {
    const mha = layer('native');
    const rng = new Rng(15);
    const requests = Array.from({ length: 10 }, (_, i) => cross(rng, 2, 3, undefined, `request ${i}`));
    const spy = vi.spyOn(mha, 'forwardAsync');
    const batcher = createBatcher(mha, { maxBatchSize: 4, maxDelayMs: 1 });
    await Promise.all(requests.map((r) => batcher.run(r.q, r.k, r.v)));
    expect(spy.mock.calls.map((call) => call[0].shape[0])).toEqual([4, 4, 2]);
  });

  it('a bad request rejects alone with the layer\'s own error; the others are batched and resolve', async () => {
    const mha = layer('native');
    const rng = new Rng(16);
    const good = [cross(rng, 3, 4, undefined, 'good 0'), cross(rng, 5, 2, { isCausal: true }, 'good 1'),
      cross(rng, 2, 6, { keyPaddingMask: padding(6, [5]) }, 'good 2')];
    const bad: Req[] = [
      { ...cross(rng, 3, 4, undefined, 'wrong E'), q: randTensor(rng, [1, 3, E + 1]) },
      cross(rng, 3, 4, { keyPaddingMask: padding(5, []) }, 'key padding of the wrong length'),
      cross(rng, 3, 4, { attnMask: boolMask(rng, [4, 3], 0.5) }, 'attnMask of the wrong shape'),
      { ...cross(rng, 3, 4, undefined, 'value S differs'), v: randTensor(rng, [1, 5, VDIM]) },
      { ...cross(rng, 3, 4, undefined, 'Float64Array query'), q: { data: new Float64Array(3 * E) as never, shape: [1, 3, E] } },
      cross(rng, 3, 4, { isCausal: 1 as never }, 'isCausal not a boolean'),
    ];
    const expectedErrors = await Promise.all(bad.map((r) => mha.forwardAsync(r.q, r.k, r.v, r.options).catch((e) => e)));
    const expected = good.map((r) => runAlone(mha, r));
    const spy = vi.spyOn(mha, 'forwardAsync');
    const batcher = createBatcher(mha, { maxDelayMs: 5 });
    const settled = await Promise.allSettled([...good, ...bad].map((r) => batcher.run(r.q, r.k, r.v, r.options)));
    settled.slice(0, good.length).forEach((s, i) => {
      expect(s.status, good[i].label).toBe('fulfilled');
      expectSameResult((s as PromiseFulfilledResult<never>).value, expected[i], good[i].label);
    });
    settled.slice(good.length).forEach((s, i) => {
      expect(s.status, bad[i].label).toBe('rejected');
      const error = (s as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(expectedErrors[i].constructor);
      expect(error.message, bad[i].label).toBe(expectedErrors[i].message);
    });
    const batchSizes = spy.mock.calls.map((call) => (call[0] as T).shape[0]);
    expect(batchSizes.filter((b) => b === good.length)).toHaveLength(1); // the good ones in one call
  });

  it('a request with a KV cache (stateful) is not merged: it runs alone and appends to its cache', async () => {
    const mha = layer('native', E, E);
    const x = randTensor(new Rng(19), [1, 3, E]);
    const direct = mha.createKVCache({ batchSize: 1, capacity: 8 });
    const expected = await mha.forwardAsync(x, x, x, { kvCache: direct, isCausal: true });
    const cache = mha.createKVCache({ batchSize: 1, capacity: 8 });
    const spy = vi.spyOn(mha, 'forwardAsync');
    const batcher = createBatcher(mha, { maxDelayMs: 5 });
    const options = { kvCache: cache, isCausal: true } as ForwardOptions;
    const [result] = await Promise.all([batcher.run(x, x, x, options), batcher.run(x, x, x)]);
    expectSameResult(result, expected, 'kvCache request');
    expect(cache.length).toBe(3);
    expect(spy.mock.calls.map((call) => call[3])).toContainEqual(options); // passed through untouched
  });

  it('copies inputs at run(): changing them before the batch is sent does not change the result', async () => {
    const mha = layer('native');
    const rng = new Rng(17);
    const r = cross(rng, 4, 5, { keyPaddingMask: padding(5, [2]) }, 'mutated');
    const expected = runAlone(mha, r);
    const batcher = createBatcher(mha, { maxDelayMs: 20 });
    const pending = batcher.run(r.q, r.k, r.v, r.options);
    r.q.data.fill(9); r.k.data.fill(-9); r.v.data.fill(5); r.options!.keyPaddingMask!.data.fill(1);
    expectSameResult(await pending, expected, 'mutated after run()');
  });

  it('flush() sends waiting requests at once; close() sends them and rejects later calls', async () => {
    const mha = layer('native');
    const rng = new Rng(18);
    const requests = [cross(rng, 2, 2, undefined, 'a'), cross(rng, 3, 1, undefined, 'b')];
    const batcher = createBatcher(mha, { maxDelayMs: 60_000 });
    const pending = requests.map((r) => batcher.run(r.q, r.k, r.v));
    expect(batcher.pending).toBe(2);
    await batcher.flush();
    expect(batcher.pending).toBe(0);
    (await Promise.all(pending)).forEach((res, i) => expectSameResult(res, runAlone(mha, requests[i]), requests[i].label));

    const late = batcher.run(requests[0].q, requests[0].k, requests[0].v);
    await batcher.close();
    expectSameResult(await late, runAlone(mha, requests[0]), 'sent by close()');
    await expect(batcher.run(requests[0].q, requests[0].k, requests[0].v)).rejects.toThrow('closed');
  });

  it('rejects bad batcher options', () => {
    const mha = layer('native');
    expect(() => createBatcher(mha, { maxBatchSize: 0 })).toThrow(RangeError);
    expect(() => createBatcher(mha, { maxBatchSize: 2.5 })).toThrow(RangeError);
    expect(() => createBatcher(mha, { maxDelayMs: -1 })).toThrow(RangeError);
    expect(() => createBatcher(mha, { maxDelayMs: 'soon' as never })).toThrow(TypeError);
  });
});
