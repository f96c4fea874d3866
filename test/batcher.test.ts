// The dynamic batcher: concurrent single-sequence requests merged into one forwardAsync call
// give the results of running each request alone. Requests without masks or weights go into
// one packed call (sequenceLengths, no padding), one per isCausal; requests with masks or
// weights are padded, grouped by S - L (so positions and causal alignment survive padding);
// every mask kind and attention weights split back; a bad request rejects alone.
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

/** What one forwardAsync call of the batcher was: packed (its sequence lengths) or padded (its batch shape). */
function describeCall([query, key, value, options]: Parameters<MultiHeadAttention['forwardAsync']>) {
  if (query.shape.length === 2) {
    return {
      packed: true, self: key === query && value === query, isCausal: options?.isCausal,
      sequenceLengths: Array.from(options!.sequenceLengths!), kvSequenceLengths: options?.kvSequenceLengths && Array.from(options.kvSequenceLengths),
      masks: options?.attnMask !== undefined || options?.keyPaddingMask !== undefined,
    };
  }
  return { packed: false, shape: query.shape, isCausal: options?.isCausal, attnMask: options?.attnMask !== undefined };
}

/** Runs requests through a new batcher at once; checks each result against running it alone; returns the calls made. */
async function runBatched(mha: MultiHeadAttention, requests: Req[], options = { maxBatchSize: 64, maxDelayMs: 5 }) {
  const expected = requests.map((r) => runAlone(mha, r));
  const spy = vi.spyOn(mha, 'forwardAsync');
  const batcher = createBatcher(mha, options);
  const results = await Promise.all(requests.map((r) => batcher.run(r.q, r.k, r.v, r.options)));
  results.forEach((res, i) => expectSameResult(res, expected[i], requests[i].label));
  const calls = spy.mock.calls.map(describeCall);
  spy.mockRestore();
  return calls;
}

/** Cross-attention requests without masks or weights (packable): L < S, L > S, L == S. */
function plainCrossRequests(rng: Rng, causal: boolean): Req[] {
  const options = causal ? { isCausal: true } : undefined;
  return [[1, 1], [7, 3], [3, 17], [5, 9], [9, 4], [6, 6]].map(([L, S]) =>
    cross(rng, L, S, options, `${causal ? 'causal' : 'full'} L=${L} S=${S}`));
}

/** Cross-attention requests with every mask kind, all with S - L = 2 (one padded group). */
function maskedCrossRequests(rng: Rng): Req[] {
  return [
    cross(rng, 3, 5, { keyPaddingMask: padding(5, [0, 4]) }, 'bool key padding'),
    cross(rng, 5, 7, { keyPaddingMask: paddingAdditive(rng, 7, [6]) }, 'additive key padding'),
    cross(rng, 1, 3, { attnMask: boolMask(rng, [1, 3], 0.3) }, 'bool attnMask [L, S]'),
    cross(rng, 6, 8, { attnMask: additiveMask(rng, [6, 8], 0.2) }, 'additive attnMask [L, S]'),
    cross(rng, 4, 6, { attnMask: boolMask(rng, [H, 4, 6], 0.3) }, 'per-head bool attnMask [H, L, S]'),
    cross(rng, 2, 4, { attnMask: additiveMask(rng, [1, H, 1, 4], 0.1) }, 'broadcast additive attnMask [1, H, 1, S]'),
    cross(rng, 7, 9, {
      isCausal: true, keyPaddingMask: padding(9, [8, 7]), attnMask: boolMask(rng, [1, 1, 7, 9], 0.2),
    }, 'causal + key padding + attnMask'),
    cross(rng, 2, 4, { isCausal: true, keyPaddingMask: padding(4, [3]) }, 'causal + key padding'),
    cross(rng, 4, 6, { keyPaddingMask: padding(6, [0, 1, 2, 3, 4, 5]) }, 'every key padded (zero context)'),
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
    it(`${backend}: requests without masks are packed into one call per isCausal, each equal to running it alone`, async () => {
      const mha = layer(backend);
      const rng = new Rng(10);
      const full = plainCrossRequests(rng, false), causal = plainCrossRequests(rng, true);
      // interleaved arrivals: grouping, not arrival order, decides the calls
      const requests = full.flatMap((r, i) => [r, causal[i]]);
      const calls = await runBatched(mha, requests);
      const lengths = { sequenceLengths: [1, 7, 3, 5, 9, 6], kvSequenceLengths: [1, 3, 17, 9, 4, 6] };
      expect(calls).toEqual([
        { packed: true, self: false, isCausal: false, masks: false, ...lengths },
        { packed: true, self: false, isCausal: true, masks: false, ...lengths },
      ]);
    });

    it(`${backend}: requests with masks are padded, one group per S - L; every mask kind splits back`, async () => {
      const mha = layer(backend);
      const rng = new Rng(11);
      const other = [
        cross(rng, 6, 6, { attnMask: boolMask(rng, [6, 6], 0.3) }, 'bool attnMask, S - L = 0'),
        cross(rng, 9, 4, { isCausal: true, keyPaddingMask: padding(4, [1]) }, 'causal L > S (first rows see nothing)'),
      ];
      const calls = await runBatched(mha, [...maskedCrossRequests(rng), ...other]);
      expect(calls).toEqual([
        // not every request is causal: each causal one's mask is written into the explicit attnMask
        { packed: false, shape: [9, 7, E], isCausal: false, attnMask: true },
        { packed: false, shape: [1, 6, E], isCausal: false, attnMask: true },
        { packed: false, shape: [1, 9, E], isCausal: true, attnMask: false },
      ]);
    });

    it(`${backend}: attention weights (averaged and per head) are split back per request`, async () => {
      const mha = layer(backend);
      const rng = new Rng(12);
      const requests = [
        ...[[3, 5], [6, 8], [1, 3]].map(([L, S]) =>
          cross(rng, L, S, { needWeights: true, keyPaddingMask: padding(S, [0]) }, `averaged L=${L} S=${S}`)),
        ...[[4, 4], [2, 2]].map(([L, S]) =>
          cross(rng, L, S, { needWeights: true, averageAttnWeights: false, isCausal: true }, `per head L=${L} S=${S}`)),
        cross(rng, 3, 3, { needWeights: false, averageAttnWeights: false }, 'no weights: packed'),
      ];
      const calls = await runBatched(mha, requests);
      expect(calls.map((c) => c.packed)).toEqual([false, false, true]); // one group per weights kind
    });
  }

  it('self-attention of lengths 1, 3, 7, 33, 129: one packed call on the fused path, no padding', async () => {
    const mha = layer('native', E, E);
    const rng = new Rng(13);
    const lengths = [1, 3, 7, 33, 129];
    const requests = lengths.map((L) => self(rng, L, { isCausal: true }, `self causal L=${L}`));
    // a key padding mask that blocks nothing changes nothing: the request still packs
    requests[2].options!.keyPaddingMask = paddingBool(7, [7]);
    requests[3].options!.keyPaddingMask = { data: new Float32Array(33), shape: [1, 33] };
    const calls = await runBatched(mha, requests);
    expect(calls).toEqual([
      { packed: true, self: true, isCausal: true, masks: false, sequenceLengths: lengths, kvSequenceLengths: undefined },
    ]);
  });

  it('causal and non-causal self-attention requests go into separate packed calls', async () => {
    const mha = layer('native', E, E);
    const rng = new Rng(14);
    const requests = [5, 2, 9, 4, 1].map((L, i) =>
      self(rng, L, i % 2 === 0 ? { isCausal: true } : undefined, `self ${i % 2 === 0 ? 'causal' : 'full'} L=${L}`));
    const calls = await runBatched(mha, requests);
    expect(calls.map((c) => [c.isCausal, (c as { sequenceLengths: number[] }).sequenceLengths]))
      .toEqual([[true, [5, 9, 1]], [false, [2, 4]]]);
  });

  it('a mixed burst: packable requests in one packed call, masked and weighted ones padded', async () => {
    const mha = layer('native', E, E);
    const rng = new Rng(15);
    const requests = [
      self(rng, 5, { isCausal: true }, 'packed 5'),
      self(rng, 9, { isCausal: true, keyPaddingMask: padding(9, [0, 3]) }, 'padded: key padding'),
      self(rng, 12, { isCausal: true }, 'packed 12'),
      self(rng, 4, { isCausal: true, needWeights: true }, 'padded: weights'),
      self(rng, 6, { isCausal: true, attnMask: boolMask(rng, [6, 6], 0.2) }, 'padded: attnMask'),
    ];
    const calls = await runBatched(mha, requests);
    expect(calls).toEqual([
      { packed: true, self: true, isCausal: true, masks: false, sequenceLengths: [5, 12], kvSequenceLengths: undefined },
      { packed: false, shape: [2, 9, E], isCausal: true, attnMask: true },
      { packed: false, shape: [1, 4, E], isCausal: true, attnMask: false },
    ]);
  });

  for (const backend of ['native', 'reference'] as const) {
    it(`${backend}: a layer with rotary, ALiBi, a window and GQA: packed and padded groups equal each request alone`,
      async () => {
        // Positions depend on S - L (pq = i + S - L): padding requests of different S - L
        // together would move their positions, packing keeps each sequence's own.
        const mha = new MultiHeadAttention({
          embedDim: E, numHeads: H, numKvHeads: 2, kDim: KDIM, vDim: VDIM, seed: 4, backend,
          rotary: {}, alibi: true, window: { left: 3, right: 2 },
        });
        const rng = new Rng(16);
        const requests = [
          ...plainCrossRequests(rng, false), ...plainCrossRequests(rng, true),
          cross(rng, 3, 8, { keyPaddingMask: padding(8, [7]) }, 'padded S - L = 5'),
          cross(rng, 6, 11, { keyPaddingMask: padding(11, [0]), isCausal: true }, 'padded S - L = 5, causal'),
          cross(rng, 7, 4, { attnMask: boolMask(rng, [7, 4], 0.2) }, 'padded S - L = -3'),
        ];
        const calls = await runBatched(mha, requests);
        expect(calls.map((c) => c.packed)).toEqual([true, true, false, false]);
      });
  }

  it('8 concurrent requests with maxBatchSize 8 make 1 call, before maxDelayMs', async () => {
    const mha = layer('native');
    const rng = new Rng(17);
    const requests = Array.from({ length: 8 }, (_, i) => cross(rng, 1 + i, 8 - i, undefined, `request ${i}`));
    const spy = vi.spyOn(mha, 'forwardAsync');
    const batcher = createBatcher(mha, { maxBatchSize: 8, maxDelayMs: 60_000 });
    const started = Date.now();
    await Promise.all(requests.map((r) => batcher.run(r.q, r.k, r.v)));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][3]?.sequenceLengths).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('maxBatchSize splits a burst; maxDelayMs sends a partial group', async () => {
    const mha = layer('native');
    const rng = new Rng(18);
    const requests = Array.from({ length: 10 }, (_, i) => cross(rng, 2, 3, undefined, `request ${i}`));
    const spy = vi.spyOn(mha, 'forwardAsync');
    const batcher = createBatcher(mha, { maxBatchSize: 4, maxDelayMs: 1 });
    await Promise.all(requests.map((r) => batcher.run(r.q, r.k, r.v)));
    expect(spy.mock.calls.map((call) => call[3]?.sequenceLengths?.length)).toEqual([4, 4, 2]);
  });

  it('a bad request rejects alone with the layer\'s own error; the others are batched and resolve', async () => {
    const mha = layer('native');
    const rng = new Rng(16);
    const good = [cross(rng, 3, 4, undefined, 'good 0'), cross(rng, 5, 2, undefined, 'good 1'),
      cross(rng, 2, 6, { keyPaddingMask: padding(6, []) }, 'good 2')];
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
    const packedCalls = spy.mock.calls.filter((call) => call[3]?.sequenceLengths !== undefined);
    expect(packedCalls.map((call) => call[3]!.sequenceLengths)).toEqual([[3, 5, 2]]); // the good ones in one call
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
    const requests = [cross(rng, 4, 5, { keyPaddingMask: padding(5, [2]) }, 'padded, mutated'),
      cross(rng, 3, 6, undefined, 'packed, mutated')];
    const expected = requests.map((r) => runAlone(mha, r));
    const batcher = createBatcher(mha, { maxDelayMs: 20 });
    const pending = requests.map((r) => batcher.run(r.q, r.k, r.v, r.options));
    for (const r of requests) { r.q.data.fill(9); r.k.data.fill(-9); r.v.data.fill(5); }
    requests[0].options!.keyPaddingMask!.data.fill(1);
    (await Promise.all(pending)).forEach((res, i) => expectSameResult(res, expected[i], requests[i].label));
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
