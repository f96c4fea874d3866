// The KV cache with one length per sequence (API.md "KV cache: one length per sequence") on
// the TypeScript reference: continuous batching (sequences joining and leaving, prompts of
// several tokens, steps a sequence sits out) equals one full causal forward per sequence, with
// positions (rotary, ALiBi, window) counted from each sequence's own cache; rank-3 steps over
// uneven lengths; overflow of one sequence; reset(b) and per-sequence truncate.
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention, type KVCache, type MultiHeadAttentionOptions, type Tensor } from '../lib/index.js';
import { Rng, expectClose, randTensor, randWeights, type T } from './helpers.js';
import { cat0, firstKvRows, rows } from './variant-helpers.js';

const E = 12, H = 4;

function makeLayer(extra: Partial<MultiHeadAttentionOptions> = {}): MultiHeadAttention {
  const weights = randWeights(new Rng(1), E, E, E, true);
  const Ekv = (extra.numKvHeads ?? H) * (E / H);
  return new MultiHeadAttention({
    embedDim: E, numHeads: H, backend: 'reference', ...extra,
    weights: firstKvRows(weights, E, Ekv),
  });
}

/** The causal forward of one whole sequence [n, E], as [n, E]. */
function fullForward(layer: MultiHeadAttention, tokens: Tensor): Float32Array {
  const x = { data: tokens.data, shape: [1, ...tokens.shape] };
  return layer.forward(x, x, x, { isCausal: true }).output.data;
}

/** One request: its tokens, how many the cache has seen, and the outputs it got. */
interface Request { tokens: T; seen: number; outputs: Float32Array[] }

/** A packed step: request r of slot b sends counts[b] tokens (undefined slot: 0). */
function step(layer: MultiHeadAttention, cache: KVCache, slots: (Request | undefined)[], counts: number[]): void {
  const parts = slots.map((r, b) => (r ? rows(r.tokens, 0, r.seen, r.seen + counts[b]) : { data: new Float32Array(0), shape: [0, E] }));
  const x = cat0(parts);
  const { output } = layer.forward(x, x, x, { kvCache: cache, isCausal: true, sequenceLengths: counts });
  let at = 0;
  slots.forEach((r, b) => {
    if (!r) return;
    r.outputs.push(output.data.slice(at * E, (at + counts[b]) * E));
    r.seen += counts[b];
    at += counts[b];
  });
}

const newRequest = (rng: Rng, n: number): Request => ({ tokens: randTensor(rng, [n, E]), seen: 0, outputs: [] });
const concat = (parts: Float32Array[]) => cat0(parts.map((p) => ({ data: p, shape: [p.length / E, E] }))).data;

const VARIANTS: Record<string, Partial<MultiHeadAttentionOptions>> = {
  plain: {},
  'GQA + rotary + ALiBi + window': { numKvHeads: 2, rotary: { dim: 2, base: 100 }, alibi: true, window: { left: 3 } },
};

describe('continuous batching through a per-sequence cache', () => {
  for (const [name, variant] of Object.entries(VARIANTS)) {
    it(`${name}: sequences join, leave and sit steps out; each equals its own causal forward`, () => {
      const rng = new Rng(7);
      const layer = makeLayer(variant);
      const cache = layer.createKVCache({ batchSize: 3, capacity: 9 });
      const [a, b, c, d] = [newRequest(rng, 7), newRequest(rng, 7), newRequest(rng, 4), newRequest(rng, 6)];
      const slots: (Request | undefined)[] = [a, undefined, undefined];
      step(layer, cache, slots, [4, 0, 0]);                  // a's prompt
      expect(cache.lengths).toEqual([4, 0, 0]);
      slots[1] = b;
      step(layer, cache, slots, [1, 3, 0]);                  // a decodes, b's prompt
      slots[2] = c;
      step(layer, cache, slots, [1, 1, 2]);
      step(layer, cache, slots, [0, 1, 1]);                  // a sits out
      expect(cache.lengths).toEqual([6, 5, 3]);
      expect(cache.length).toBe(6);
      step(layer, cache, slots, [1, 0, 1]);                  // b sits out; a and c are done
      cache.reset(2);                                        // c leaves, d takes its slot
      slots[2] = d;
      expect(cache.lengths).toEqual([7, 5, 0]);
      step(layer, cache, slots, [0, 1, 5]);
      step(layer, cache, slots, [0, 1, 1]);
      expect(cache.lengths).toEqual([7, 7, 6]);
      for (const [label, r] of Object.entries({ a, b, c, d })) {
        expectClose(concat(r.outputs), fullForward(layer, r.tokens), `request ${label}`);
      }
    });
  }

  it('forwardAsync takes the same packed step and updates lengths when it settles', async () => {
    const rng = new Rng(8);
    const layer = makeLayer(VARIANTS['GQA + rotary + ALiBi + window']);
    const cache = layer.createKVCache({ batchSize: 2, capacity: 6 });
    const x = randTensor(rng, [5, E]);
    const pending = layer.forwardAsync(x, x, x, { kvCache: cache, isCausal: true, sequenceLengths: [2, 3] });
    expect(cache.lengths).toEqual([0, 0]);
    const { output } = await pending;
    expect(cache.lengths).toEqual([2, 3]);
    expectClose(output.data.subarray(2 * E), fullForward(layer, rows(x, 0, 2, 5)), 'sequence 1');
  });
});

describe('rank-3 steps over uneven lengths', () => {
  it('append one token to every sequence at its own length; weights span the longest, zero past each', () => {
    const rng = new Rng(9);
    const layer = makeLayer(VARIANTS['GQA + rotary + ALiBi + window']);
    const cache = layer.createKVCache({ batchSize: 3, capacity: 8 });
    const streams = [randTensor(rng, [5, E]), randTensor(rng, [3, E]), randTensor(rng, [2, E])];
    const prompt = cat0([rows(streams[0], 0, 0, 4), rows(streams[1], 0, 0, 2), rows(streams[2], 0, 0, 1)]);
    layer.forward(prompt, prompt, prompt, { kvCache: cache, isCausal: true, sequenceLengths: [4, 2, 1] });
    const next = cat0([rows(streams[0], 0, 4, 5), rows(streams[1], 0, 2, 3), rows(streams[2], 0, 1, 2)]);
    const x = { data: next.data, shape: [3, 1, E] };
    const { output, attnWeights } = layer.forward(x, x, x, { kvCache: cache, isCausal: true, needWeights: true });
    expect(cache.lengths).toEqual([5, 3, 2]);
    expect(attnWeights!.shape).toEqual([3, 1, 5]);
    streams.forEach((s, b) => {
      const full = fullForward(layer, s);
      expectClose(output.data.subarray(b * E, (b + 1) * E), full.subarray(full.length - E), `sequence ${b}`);
      const n = s.shape[0];
      for (let j = n; j < 5; j++) expect(attnWeights!.data[b * 5 + j], `sequence ${b} key ${j}`).toBe(0);
    });
    // An attnMask spans S = the longest (5): blocking key 0 changes only the sequences that have it.
    const blockKey0 = { data: Uint8Array.from([1, 0, 0, 0, 0]), shape: [1, 5] };
    const step = cat0(streams.map((s) => rows(s, 0, 0, 1)));
    const y = { data: step.data, shape: [3, 1, E] };
    const masked = layer.forward(y, null, null, { kvCache: cache, attnMask: blockKey0, needWeights: true });
    for (let b = 0; b < 3; b++) expect(masked.attnWeights!.data[b * 5]).toBe(0);
  });
});

describe('overflow, reset and truncate per sequence', () => {
  it('a step that would overflow one sequence throws RangeError and changes no sequence', () => {
    const rng = new Rng(10);
    const layer = makeLayer(VARIANTS['GQA + rotary + ALiBi + window']);
    const cache = layer.createKVCache({ batchSize: 2, capacity: 5 });
    const a = newRequest(rng, 5), b = newRequest(rng, 5);
    step(layer, cache, [a, b], [4, 1]);
    const x = randTensor(rng, [3, E]);
    expect(() => layer.forward(x, x, x, { kvCache: cache, isCausal: true, sequenceLengths: [2, 1] }))
      .toThrow(/options\.sequenceLengths\[0\]: expected at most 1 new positions \(sequence 0 of the KVCache holds 4 of capacity 5\), got 2/);
    const y = { data: randTensor(rng, [2, 2, E]).data, shape: [2, 2, E] };
    expect(() => layer.forward(y, y, y, { kvCache: cache, isCausal: true })).toThrow(RangeError);
    expect(cache.lengths).toEqual([4, 1]);
    step(layer, cache, [a, b], [1, 4]);
    expectClose(concat(a.outputs), fullForward(layer, a.tokens), 'a after the failed steps');
    expectClose(concat(b.outputs), fullForward(layer, b.tokens), 'b after the failed steps');
  });

  it('reset(b) empties one slot; truncate rolls each sequence back to at most its own length', () => {
    const rng = new Rng(11);
    const layer = makeLayer(VARIANTS['GQA + rotary + ALiBi + window']);
    const cache = layer.createKVCache({ batchSize: 3, capacity: 8 });
    const reqs = [newRequest(rng, 8), newRequest(rng, 8), newRequest(rng, 8)];
    step(layer, cache, reqs, [5, 3, 6]);
    const lengths = cache.lengths as number[];
    lengths[0] = 99;                                     // a fresh array: the cache is unaffected
    expect(cache.lengths).toEqual([5, 3, 6]);
    cache.truncate([2, 7, 0]);
    expect(cache.lengths).toEqual([2, 3, 0]);
    cache.truncate(Int32Array.from([9, 1, 9]));
    expect(cache.lengths).toEqual([2, 1, 0]);
    cache.truncate(1);
    expect(cache.lengths).toEqual([1, 1, 0]);
    // Re-decoding after the rollback equals the full forward of each sequence.
    reqs.forEach((r, b) => { r.seen = cache.lengths[b]; r.outputs = []; });
    step(layer, cache, reqs, [3, 2, 4]);
    reqs.forEach((r, b) => {
      const full = fullForward(layer, rows(r.tokens, 0, 0, r.seen));
      expectClose(concat(r.outputs), full.subarray((r.seen - [3, 2, 4][b]) * E), `sequence ${b}`);
    });
    cache.reset(1);
    expect(cache.lengths).toEqual([4, 0, 4]);
    cache.reset();
    expect(cache.lengths).toEqual([0, 0, 0]);
  });

  it('bad indices and lengths throw, and leave the cache as it was', () => {
    const layer = makeLayer();
    const cache = layer.createKVCache({ batchSize: 2, capacity: 4 });
    const x = randTensor(new Rng(12), [3, E]);
    layer.forward(x, x, x, { kvCache: cache, isCausal: true, sequenceLengths: [1, 2] });
    expect(() => cache.reset(2)).toThrow(/sequence: expected a sequence index from 0 to 1/);
    expect(() => cache.reset(-1)).toThrow(RangeError);
    expect(() => cache.reset(0.5)).toThrow(RangeError);
    expect(() => cache.reset('0' as never)).toThrow(TypeError);
    expect(() => cache.truncate([1])).toThrow(/length: expected a number or 2 lengths/);
    expect(() => cache.truncate([1, -1])).toThrow(/length\[1\]/);
    expect(() => cache.truncate([1, '1'] as never)).toThrow(TypeError);
    expect(cache.lengths).toEqual([1, 2]);
    const bad = (sequenceLengths: unknown, extra: object = {}) =>
      () => layer.forward(x, x, x, { kvCache: cache, isCausal: true, sequenceLengths, ...extra } as never);
    expect(bad([3])).toThrow(/options\.sequenceLengths: expected 2 lengths \(one per sequence/);
    expect(bad([1, 1])).toThrow(/options\.sequenceLengths: expected lengths summing to T/);
    expect(bad([1, 2], { kvSequenceLengths: [1, 2] })).toThrow(/options\.kvSequenceLengths/);
    expect(bad([1, 2], { keyPaddingMask: { data: new Uint8Array(6), shape: [2, 3] } })).toThrow(RangeError);
    expect(bad([1, 2], { needWeights: true })).toThrow(/options\.needWeights/);
    expect(cache.lengths).toEqual([1, 2]);
  });
});
