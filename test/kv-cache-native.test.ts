// The KV cache with one length per sequence (API.md "KV cache: one length per sequence") on the
// native backend, on every kernel set (vitest.config.ts PARITY): continuous batching (sequences
// joining and leaving through reset(slot), prompts of several tokens, sequences sitting steps
// out, packed steps, forwardAsync) step by step against the reference backend's cache driven
// the same way, and each request against one full causal forward of its tokens; rank-3 steps
// over uneven lengths (needWeights, attnMask, new padding); per-sequence truncate; overflow of
// one sequence; cross-attention memory of uneven lengths; decode steps over long caches (the
// key-split path). Criterion: relative L2 error <= 2e-5, no NaN; weights past a sequence's
// length and rows with no key exact.
import { describe, expect, it } from 'vitest';
import { type KVCache, type MultiHeadAttention, type Tensor, getNumThreads, setNumThreads } from '../lib/index.js';
import { type M, type T, Rng, additiveMask, boolMask, expectClose, hasNaN, randTensor } from './helpers.js';
import {
  type LayerPair, type Variant, blockedInEveryHead, blockedRows, expectRowEquals, expectRowZero, layerPair,
} from './native-parity-helpers.js';
import { cat0, rows } from './variant-helpers.js';

const H = 6, D = 8, E = H * D;

const VARIANTS: Record<string, Variant> = {
  plain: {},
  'GQA 6/2 + RoPE + window 5 + ALiBi': { numKvHeads: 2, rotary: {}, window: { left: 5 }, alibi: true },
  'everything: GQA 6/3 + interleaved RoPE dim 4 + ALiBi + window 7 + softcap + scale': {
    numKvHeads: 3, rotary: { dim: 4, interleaved: true, base: 500 }, alibi: Float32Array.from([0.5, 0, 0.25, 1, 0.125, 2]),
    window: { left: 7 }, softcap: 2.5, scale: 0.3,
  },
};

/** The causal forward of one whole sequence [n, E] on a layer, as [n, E]. */
function fullForward(layer: MultiHeadAttention, tokens: Tensor): Float32Array {
  const x = { data: tokens.data, shape: [1, ...tokens.shape] };
  return layer.forward(x, x, x, { isCausal: true }).output.data;
}

/** One request: its tokens, how many the caches have seen, the native outputs it got. */
interface Request { tokens: T; seen: number; outputs: Float32Array[] }
const newRequest = (rng: Rng, n: number): Request => ({ tokens: randTensor(rng, [n, E], 2), seen: 0, outputs: [] });
const concat = (parts: Float32Array[]) => cat0(parts.map((p) => ({ data: p, shape: [p.length / E, E] }))).data;

/** Both backends' caches of one layer, driven the same way. */
interface Twin { pair: LayerPair; native: KVCache; ref: KVCache }

function twin(pair: LayerPair, batchSize: number, capacity: number): Twin {
  return { pair, native: pair.native.createKVCache({ batchSize, capacity }), ref: pair.ref.createKVCache({ batchSize, capacity }) };
}

/** A packed step: slot b's request sends counts[b] tokens (an empty slot sends 0). The native
 * output is checked against the reference cache's; forwardAsync on the native side when asked. */
async function step(t: Twin, slots: (Request | undefined)[], counts: number[], label: string, async = false): Promise<Float32Array> {
  const parts = slots.map((r, b) => (r ? rows(r.tokens, 0, r.seen, r.seen + counts[b]) : { data: new Float32Array(0), shape: [0, E] }));
  const x = cat0(parts);
  const options = { kvCache: t.native, isCausal: true, sequenceLengths: counts };
  const got = async ? (await t.pair.native.forwardAsync(x, x, x, options)).output : t.pair.native.forward(x, x, x, options).output;
  const want = t.pair.ref.forward(x, x, x, { ...options, kvCache: t.ref }).output;
  expect(got.shape).toEqual([x.shape[0], E]);
  expect(hasNaN(want.data)).toBe(false);
  expectClose(got.data, want.data, `${label}: native vs reference cache`);
  expect(t.native.lengths, `${label}: lengths`).toEqual(t.ref.lengths);
  let at = 0;
  slots.forEach((r, b) => {
    if (!r) return;
    r.outputs.push(got.data.slice(at * E, (at + counts[b]) * E));
    r.seen += counts[b];
    at += counts[b];
  });
  return got.data;
}

/** Each request's outputs equal its own full causal forward (native and reference). */
function checkRequests(pair: LayerPair, requests: Record<string, Request>): void {
  for (const [label, r] of Object.entries(requests)) {
    const tokens = rows(r.tokens, 0, 0, r.seen);
    const got = concat(r.outputs);
    const skip = (r.seen - got.length / E) * E;  // outputs cover the last positions seen
    expectClose(got, fullForward(pair.native, tokens).subarray(skip), `request ${label}: native full forward`);
    expectClose(got, fullForward(pair.ref, tokens).subarray(skip), `request ${label}: reference full forward`);
  }
}

describe('continuous batching through a per-sequence cache: native vs reference', () => {
  for (const [name, variant] of Object.entries(VARIANTS)) {
    it(`${name}: sequences join, leave, sit out; prompts; forwardAsync steps`, async () => {
      const rng = new Rng(name.length);
      const pair = layerPair(rng, E, H, variant);
      const t = twin(pair, 3, 48);
      const [a, b, c, d, e] = [newRequest(rng, 40), newRequest(rng, 30), newRequest(rng, 12), newRequest(rng, 45), newRequest(rng, 3)];
      const slots: (Request | undefined)[] = [a, undefined, undefined];
      await step(t, slots, [33, 0, 0], 'a: prompt of 33');
      slots[1] = b;
      await step(t, slots, [1, 7, 0], 'a decodes, b: prompt of 7');
      slots[2] = c;
      await step(t, slots, [1, 1, 9], 'c: prompt of 9', true);
      await step(t, slots, [0, 1, 1], 'a sits out');
      await step(t, slots, [1, 0, 2], 'b sits out', true);
      expect(t.native.lengths).toEqual([36, 9, 12]);
      // c is done: d takes its slot
      t.native.reset(2); t.ref.reset(2);
      slots[2] = d;
      expect(t.native.lengths).toEqual([36, 9, 0]);
      await step(t, slots, [1, 1, 20], 'd: prompt of 20');
      for (let i = 0; i < 3; i++) await step(t, slots, [1, 1, 1], `decode ${i}`, i === 1);
      // a is done: e takes slot 0 with a 2-token prompt
      t.native.reset(0); t.ref.reset(0);
      slots[0] = e;
      await step(t, slots, [2, 3, 4], 'e: prompt of 2, b and d several');
      await step(t, slots, [1, 0, 0], 'only e');
      expect(t.native.lengths).toEqual([3, 16, 27]);
      checkRequests(pair, { a, b, c, d, e });
    });
  }

  it('bias off (GQA + RoPE + window + ALiBi): prompts and decode steps', async () => {
    const rng = new Rng(4);
    const pair = layerPair(rng, E, H, VARIANTS['GQA 6/2 + RoPE + window 5 + ALiBi'], E, E, false);
    const t = twin(pair, 2, 20);
    const reqs = [newRequest(rng, 20), newRequest(rng, 20)];
    await step(t, reqs, [9, 2], 'prompts');
    await step(t, reqs, [1, 1], 'decode', true);
    await step(t, reqs, [0, 5], 'sequence 0 sits out');
    checkRequests(pair, { 0: reqs[0], 1: reqs[1] });
  });

  it('truncate per sequence, then continue (native vs reference, and against full forwards)', async () => {
    const rng = new Rng(3);
    const pair = layerPair(rng, E, H, VARIANTS['GQA 6/2 + RoPE + window 5 + ALiBi']);
    const t = twin(pair, 3, 40);
    const reqs = [newRequest(rng, 40), newRequest(rng, 40), newRequest(rng, 40)];
    await step(t, reqs, [20, 7, 33], 'prompts');
    await step(t, reqs, [1, 1, 1], 'decode');
    t.native.truncate([5, 8, 0]); t.ref.truncate([5, 8, 0]);
    expect(t.native.lengths).toEqual([5, 8, 0]);
    t.native.truncate(Int32Array.from([9, 3, 9])); t.ref.truncate(Int32Array.from([9, 3, 9]));
    expect(t.native.lengths).toEqual([5, 3, 0]);
    reqs.forEach((r, b) => { r.seen = t.native.lengths[b]; r.outputs = []; });
    await step(t, reqs, [4, 1, 6], 're-decode after the rollback');
    await step(t, reqs, [1, 0, 1], 'decode', true);
    t.native.truncate(4); t.ref.truncate(4);
    expect(t.native.lengths).toEqual([4, 4, 4]);
    reqs.forEach((r, b) => { r.seen = t.native.lengths[b]; r.outputs = []; });
    await step(t, reqs, [2, 3, 1], 'after truncate(4)');
    checkRequests(pair, { 0: reqs[0], 1: reqs[1], 2: reqs[2] });
  });
});

describe('rank-3 steps over uneven lengths', () => {
  /** Two caches (native, reference) with uneven lengths [9, 3, 5] from one packed prefill. */
  async function uneven(variant: Variant, seed: number) {
    const rng = new Rng(seed);
    const pair = layerPair(rng, E, H, variant);
    const t = twin(pair, 3, 32);
    const reqs = [newRequest(rng, 32), newRequest(rng, 32), newRequest(rng, 32)];
    await step(t, reqs, [9, 3, 5], 'prefill');
    return { rng, pair, t, reqs };
  }

  /** A rank-3 step x [3, L, E] of each request's next L tokens, on both caches, checked. */
  function rank3(t: Twin, reqs: Request[], L: number, extra: Record<string, unknown>, label: string) {
    const x = cat0(reqs.map((r) => rows(r.tokens, 0, r.seen, r.seen + L)));
    const x3 = { data: x.data, shape: [3, L, E] };
    const sLens = reqs.map((r) => r.seen + L);
    const S = Math.max(...sLens);
    const native = t.pair.native.forward(x3, x3, x3, { kvCache: t.native, isCausal: true, ...extra });
    const ref = t.pair.ref.forward(x3, x3, x3, { kvCache: t.ref, isCausal: true, ...extra });
    expect(native.output.shape).toEqual([3, L, E]);
    expect(hasNaN(ref.output.data)).toBe(false);
    expectClose(native.output.data, ref.output.data, `${label}: output`);
    if (extra.needWeights) {
      const heads = extra.averageAttnWeights === false ? H : 1;
      expect(native.attnWeights!.shape).toEqual(heads === 1 ? [3, L, S] : [3, H, L, S]);
      expectClose(native.attnWeights!.data, ref.attnWeights!.data, `${label}: weights`);
      // weights past each sequence's own length are exactly zero
      for (let b = 0; b < 3; b++) {
        for (let i = 0; i < heads * L; i++) {
          const row = native.attnWeights!.data.subarray(((b * heads * L) + i) * S, ((b * heads * L) + i + 1) * S);
          for (let j = sLens[b]; j < S; j++) expect(row[j], `${label}: weight of sequence ${b} at key ${j}`).toBe(0);
        }
      }
    }
    reqs.forEach((r, b) => {
      r.outputs.push(native.output.data.slice(b * L * E, (b + 1) * L * E));
      r.seen += L;
    });
    return { native, ref, sLens, S };
  }

  for (const [name, variant] of Object.entries(VARIANTS)) {
    it(`${name}: needWeights averaged and per head; each sequence equals its full forward`, async () => {
      const { pair, t, reqs } = await uneven(variant, name.length + 10);
      rank3(t, reqs, 1, { needWeights: true }, 'L=1 averaged');
      rank3(t, reqs, 2, { needWeights: true, averageAttnWeights: false }, 'L=2 per head');
      rank3(t, reqs, 1, {}, 'L=1 without weights');
      rank3(t, reqs, 9, {}, 'L=9 without weights (keys packed into tiles)');
      rank3(t, reqs, 3, { needWeights: true }, 'L=3 averaged');
      expect(t.native.lengths).toEqual([25, 19, 21]);
      await step(t, reqs, [1, 0, 2], 'a packed step after rank-3 steps');
      checkRequests(pair, { 0: reqs[0], 1: reqs[1], 2: reqs[2] });
    });
  }

  it('attnMask through an uneven cache: boolean [L, S], additive per head with -Infinity, rows with no key', async () => {
    const { rng, pair, t, reqs } = await uneven(VARIANTS['GQA 6/2 + RoPE + window 5 + ALiBi'], 20);
    const L = 2;
    const masks: [string, () => M][] = [
      ['bool [L,S]', () => boolMask(rng, [L, Math.max(...reqs.map((r) => r.seen)) + L], 0.3)],
      ['additive [B,H,L,S] with -Infinity', () => additiveMask(rng, [3, H, L, Math.max(...reqs.map((r) => r.seen)) + L], 0.3)],
      ['bool [B*H,L,S], a row fully blocked', () => {
        const S = Math.max(...reqs.map((r) => r.seen)) + L;
        const m = boolMask(rng, [3 * H, L, S], 0.2);
        for (let h = 0; h < H; h++) m.data.fill(1, ((1 * H + h) * L + 1) * S, ((1 * H + h) * L + 2) * S);  // sequence 1, query 1
        return m;
      }],
    ];
    for (const [label, make] of masks) {
      const attnMask = make();
      const { native, sLens, S } = rank3(t, reqs, L, { attnMask, needWeights: true, averageAttnWeights: false }, label);
      const blocked = blockedRows({ B: 3, H, L, S, isCausal: true, window: { left: 5 }, attnMask, sLens });
      for (let r = 0; r < blocked.length; r++) if (blocked[r]) expectRowZero(native.attnWeights!.data, r, S, `${label}: blocked row`);
      const all = blockedInEveryHead(blocked, 3, H, L);
      if (label.includes('fully')) expect(all).toContain(1 * L + 1);
      for (const r of all) expectRowEquals(native.output.data, r, pair.weights.outBias!, `${label}: no-key row is outBias`);
    }
  });

  it('keyPaddingMask [B, T] marks new positions as padding, blocked for later steps too', async () => {
    const { t, reqs } = await uneven(VARIANTS['everything: GQA 6/3 + interleaved RoPE dim 4 + ALiBi + window 7 + softcap + scale'], 30);
    const padding = { data: Uint8Array.from([0, 1, 1, 0, 0, 1]), shape: [3, 2] };
    rank3(t, reqs, 2, { keyPaddingMask: padding, needWeights: true }, 'step with padding');
    const additive = { data: Float32Array.from([-Infinity, 0, 0, 0, 0, -Infinity]), shape: [3, 2] };
    rank3(t, reqs, 2, { keyPaddingMask: additive, needWeights: true, averageAttnWeights: false }, 'additive padding');
    await step(t, reqs, [1, 2, 1], 'packed step after padded positions');
  });
});

describe('overflow, forwardAsync and cross-attention memory', () => {
  it('a step that would overflow one sequence throws RangeError and changes no sequence', async () => {
    const rng = new Rng(40);
    const variant = VARIANTS['GQA 6/2 + RoPE + window 5 + ALiBi'];
    const pair = layerPair(rng, E, H, variant);
    const t = twin(pair, 3, 10);
    const untouched = pair.native.createKVCache({ batchSize: 3, capacity: 10 });  // never sees the failing calls
    const reqs = [newRequest(rng, 10), newRequest(rng, 10), newRequest(rng, 10)];
    const prompt = cat0(reqs.map((r, b) => rows(r.tokens, 0, 0, [8, 2, 5][b])));
    pair.native.forward(prompt, prompt, prompt, { kvCache: untouched, isCausal: true, sequenceLengths: [8, 2, 5] });
    await step(t, reqs, [8, 2, 5], 'prompts');
    const x = randTensor(rng, [6, E]);
    const overflow = { kvCache: t.native, isCausal: true, sequenceLengths: [3, 2, 1] };
    expect(() => pair.native.forward(x, x, x, overflow)).toThrow(RangeError);
    expect(() => pair.native.forward(x, x, x, overflow)).toThrow(/options\.sequenceLengths\[0\]/);
    await expect(pair.native.forwardAsync(x, x, x, overflow)).rejects.toThrow(RangeError);
    const y = { data: randTensor(rng, [3, 3, E]).data, shape: [3, 3, E] };  // 8 + 3 > 10
    expect(() => pair.native.forward(y, y, y, { kvCache: t.native, isCausal: true })).toThrow(RangeError);
    expect(t.native.lengths).toEqual([8, 2, 5]);
    // later results are those of a cache that never saw the failed calls
    const next = cat0(reqs.map((r, b) => rows(r.tokens, 0, r.seen, r.seen + [2, 3, 1][b])));
    const want = pair.native.forward(next, next, next, { kvCache: untouched, isCausal: true, sequenceLengths: [2, 3, 1] }).output.data;
    const got = await step(t, reqs, [2, 3, 1], 'after the failed calls');
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(t.native.lengths).toEqual([10, 5, 6]);
    checkRequests(pair, { 0: reqs[0], 1: reqs[1], 2: reqs[2] });
  });

  it('forwardAsync through the cache: packed and rank-3 steps; lengths change when it settles', async () => {
    const rng = new Rng(41);
    const pair = layerPair(rng, E, H, VARIANTS['everything: GQA 6/3 + interleaved RoPE dim 4 + ALiBi + window 7 + softcap + scale']);
    const t = twin(pair, 2, 20);
    const x = randTensor(rng, [12, E]);
    const pending = pair.native.forwardAsync(x, x, x, { kvCache: t.native, isCausal: true, sequenceLengths: [5, 7] });
    expect(t.native.lengths).toEqual([0, 0]);
    expect(() => t.native.reset()).toThrow();  // held until the promise settles
    const got = (await pending).output.data;
    expect(t.native.lengths).toEqual([5, 7]);
    const want = pair.ref.forward(x, x, x, { kvCache: t.ref, isCausal: true, sequenceLengths: [5, 7] }).output.data;
    expectClose(got, want, 'packed');
    const y = randTensor(rng, [2, 3, E]);
    const options = { isCausal: true, needWeights: true, averageAttnWeights: false };
    const out = new Float32Array(2 * 3 * E + 5).fill(NaN);
    const a = await pair.native.forwardAsync(y, y, y, { kvCache: t.native, ...options, out });
    expect(a.output.data.buffer).toBe(out.buffer);
    const b = pair.ref.forward(y, y, y, { kvCache: t.ref, ...options });
    expectClose(a.output.data, b.output.data, 'rank-3 output');
    expectClose(a.attnWeights!.data, b.attnWeights!.data, 'rank-3 weights');
    expect(t.native.lengths).toEqual([8, 10]);
    const z = randTensor(rng, [4, E]);
    const outPacked = new Float32Array(4 * E).fill(NaN);
    const c = await pair.native.forwardAsync(z, z, z, { kvCache: t.native, isCausal: true, sequenceLengths: [0, 4], out: outPacked });
    expect(c.output.data).toBe(outPacked);
    const w = pair.ref.forward(z, z, z, { kvCache: t.ref, isCausal: true, sequenceLengths: [0, 4] });
    expectClose(outPacked, w.output.data, 'packed into out');
    expect(t.native.lengths).toEqual([8, 14]);
  });

  it('cross-attention memory (appendKV, kDim/vDim != E) of uneven lengths after truncate', () => {
    const rng = new Rng(42);
    const [kDim, vDim] = [7, 13];
    const pair = layerPair(rng, E, H, { numKvHeads: 2, rotary: { dim: 4 }, alibi: true, softcap: 3 }, kDim, vDim);
    const caches = [pair.native.createKVCache({ batchSize: 3, capacity: 12 }), pair.ref.createKVCache({ batchSize: 3, capacity: 12 })];
    const key = randTensor(rng, [3, 6, kDim]), value = randTensor(rng, [3, 6, vDim]);
    const keyPaddingMask = { data: Uint8Array.from([0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), shape: [3, 6] };
    const key2 = randTensor(rng, [3, 2, kDim]), value2 = randTensor(rng, [3, 2, vDim]);
    [pair.native, pair.ref].forEach((layer, i) => {
      layer.appendKV(caches[i], key, value, { keyPaddingMask });
      caches[i].truncate([6, 4, 1]);
      layer.appendKV(caches[i], key2, value2);
    });
    expect(caches[0].lengths).toEqual([8, 6, 3]);
    // L = 5 queries: more than sequence 2's 3 keys (with isCausal its first 2 rows see no key)
    const query = randTensor(rng, [3, 5, E]);
    for (const options of [{}, { isCausal: true }, { needWeights: true, averageAttnWeights: false },
      { isCausal: true, needWeights: true }]) {
      const got = pair.native.forward(query, null, null, { kvCache: caches[0], ...options });
      const want = pair.ref.forward(query, null, null, { kvCache: caches[1], ...options });
      expect(hasNaN(want.output.data)).toBe(false);
      expectClose(got.output.data, want.output.data, `${JSON.stringify(options)}: output`);
      if (got.attnWeights) expectClose(got.attnWeights.data, want.attnWeights!.data, 'weights');
      if ((options as { isCausal?: boolean }).isCausal) {
        for (const l of [0, 1]) expectRowEquals(got.output.data, 2 * 5 + l, pair.weights.outBias!, `sequence 2 row ${l}`);
      }
    }
    expect(caches[0].lengths).toEqual([8, 6, 3]);
  });
});

describe('decode over long caches (keys split between threads)', () => {
  /** Sequence b's last `n` queries at its current length against all its tokens, on the
   * reference layer without a cache: L = n, S = its length, bottom-right causal. */
  function referenceTail(layer: MultiHeadAttention, tokens: T, length: number, n: number, needWeights = false,
    padded: number[] = []) {
    const q = rows(tokens, 0, length - n, length);
    const k = rows(tokens, 0, 0, length);
    const keyPaddingMask = padded.length ? { data: Uint8Array.from({ length }, (_, j) => (padded.includes(j) ? 1 : 0)), shape: [1, length] } : undefined;
    return layer.forward({ data: q.data, shape: [1, n, E2] }, { data: k.data, shape: [1, length, E2] },
      { data: k.data, shape: [1, length, E2] }, { isCausal: true, needWeights, averageAttnWeights: false, keyPaddingMask });
  }
  const [H2, Hkv2, D2] = [2, 1, 8];
  const E2 = H2 * D2;
  const LONG_VARIANTS: Record<string, Variant> = {
    'GQA 2/1': { numKvHeads: Hkv2 },
    'GQA 2/1 + RoPE + ALiBi + window 1000': { numKvHeads: Hkv2, rotary: {}, alibi: true, window: { left: 1000 } },
  };

  for (const [name, variant] of Object.entries(LONG_VARIANTS)) {
    it(`${name}: batch 1, 3000 cached positions`, async () => {
      const rng = new Rng(name.length + 50);
      const pair = layerPair(rng, E2, H2, variant);
      const tokens = randTensor(rng, [3004, E2]);
      const cache = pair.native.createKVCache({ batchSize: 1, capacity: 3004 });
      const prompt = rows(tokens, 0, 0, 3000);
      const pre = pair.native.forward(prompt, prompt, prompt, { kvCache: cache, isCausal: true, sequenceLengths: [3000] }).output;
      expectClose(pre.data.subarray(2998 * E2), referenceTail(pair.ref, tokens, 3000, 2).output.data, 'prefill: last 2 rows');
      for (let n = 3000; n < 3004; n++) {
        const x = { data: rows(tokens, 0, n, n + 1).data, shape: [1, 1, E2] };
        const needWeights = n === 3002;
        const got = n % 2 === 0
          ? pair.native.forward(x, x, x, { kvCache: cache, isCausal: true, needWeights, averageAttnWeights: false })
          : await pair.native.forwardAsync(x, x, x, { kvCache: cache, isCausal: true, needWeights, averageAttnWeights: false });
        const want = referenceTail(pair.ref, tokens, n + 1, 1, needWeights);
        expectClose(got.output.data, want.output.data, `decode at ${n}`);
        if (needWeights) expectClose(got.attnWeights!.data, want.attnWeights!.data, `decode at ${n}: weights`);
      }
      expect(cache.lengths).toEqual([3004]);
      // the last step again with 1, 3 and 4 threads: other key splits
      const saved = getNumThreads();
      const x = { data: rows(tokens, 0, 3003, 3004).data, shape: [1, 1, E2] };
      const want = referenceTail(pair.ref, tokens, 3004, 1).output.data;
      try {
        for (const n of [1, 3, 4]) {
          setNumThreads(n);
          cache.truncate(3003);
          expectClose(pair.native.forward(x, x, x, { kvCache: cache, isCausal: true }).output.data, want, `${n} threads`);
        }
      } finally {
        setNumThreads(saved);
      }
    });

    it(`${name}: batch 3 with uneven lengths [3000, 1500, 700], packed and rank-3 decode steps`, async () => {
      const rng = new Rng(name.length + 60);
      const pair = layerPair(rng, E2, H2, variant);
      const lengths = [3000, 1500, 700];
      const streams = lengths.map((n) => randTensor(rng, [n + 8, E2]));
      const seen = [...lengths];
      const pads: number[][] = [[], [], []];  // padded positions of each sequence
      const cache = pair.native.createKVCache({ batchSize: 3, capacity: 3008 });
      const prompt = cat0(streams.map((s, b) => rows(s, 0, 0, lengths[b])));
      const pre = pair.native.forward(prompt, prompt, prompt, { kvCache: cache, isCausal: true, sequenceLengths: lengths }).output;
      let end = 0;
      lengths.forEach((n, b) => {
        end += n;
        expectClose(pre.data.subarray((end - 1) * E2, end * E2), referenceTail(pair.ref, streams[b], n, 1).output.data, `prefill ${b}: last row`);
      });
      const check = (out: Float32Array, counts: number[], label: string) => {
        let at = 0;
        counts.forEach((c, b) => {
          seen[b] += c;
          if (c === 0) return;
          expectClose(out.subarray(at * E2, (at + c) * E2), referenceTail(pair.ref, streams[b], seen[b], c, false, pads[b]).output.data,
            `${label}: sequence ${b}`);
          at += c;
        });
      };
      const packed = async (counts: number[], label: string, async = false) => {
        const x = cat0(streams.map((s, b) => rows(s, 0, seen[b], seen[b] + counts[b])));
        const options = { kvCache: cache, isCausal: true, sequenceLengths: counts };
        const out = async ? (await pair.native.forwardAsync(x, x, x, options)).output : pair.native.forward(x, x, x, options).output;
        check(out.data, counts, label);
      };
      await packed([1, 1, 1], 'packed step');
      await packed([0, 1, 1], 'sequence 0 sits out', true);
      await packed([1, 0, 2], 'sequence 1 sits out');
      // rank-3 step whose new token of sequence 1 is padding: its own query sees every key but
      // the last (the padding end moves), and later steps keep that key blocked
      const p = cat0(streams.map((s, b) => rows(s, 0, seen[b], seen[b] + 1)));
      const padStep = pair.native.forward({ data: p.data, shape: [3, 1, E2] }, { data: p.data, shape: [3, 1, E2] },
        { data: p.data, shape: [3, 1, E2] }, { kvCache: cache, isCausal: true, keyPaddingMask: { data: Uint8Array.from([0, 1, 0]), shape: [3, 1] } });
      pads[1].push(seen[1]);
      check(padStep.output.data, [1, 1, 1], 'rank-3 step with a padded new token');
      await packed([1, 1, 1], 'packed step after the padded token');
      // rank-3 step: one token each at uneven lengths [3002, 1502, 703], with per-head weights
      const x = cat0(streams.map((s, b) => rows(s, 0, seen[b], seen[b] + 1)));
      const x3 = { data: x.data, shape: [3, 1, E2] };
      const got = pair.native.forward(x3, x3, x3, { kvCache: cache, isCausal: true, needWeights: true, averageAttnWeights: false });
      check(got.output.data, [1, 1, 1], 'rank-3 step');
      const S = Math.max(...seen);
      expect(got.attnWeights!.shape).toEqual([3, H2, 1, S]);
      seen.forEach((n, b) => {
        const want = referenceTail(pair.ref, streams[b], n, 1, true, pads[b]).attnWeights!.data;
        for (let h = 0; h < H2; h++) {
          const row = got.attnWeights!.data.subarray((b * H2 + h) * S, (b * H2 + h + 1) * S);
          expectClose(row.subarray(0, n), want.subarray(h * n, (h + 1) * n), `rank-3 weights ${b} head ${h}`);
          for (let j = n; j < S; j++) if (row[j] !== 0) expect.fail(`weight of sequence ${b} head ${h} at key ${j} past its length: ${row[j]}`);
        }
      });
      // forwardAsync without appending (key, value null): the next tokens attend to the cache as it is
      const z = cat0(streams.map((s, b) => rows(s, 0, seen[b], seen[b] + 1)));
      const attend = await pair.native.forwardAsync({ data: z.data, shape: [3, 1, E2] }, null, null, { kvCache: cache, isCausal: true });
      seen.forEach((n, b) => {
        const k = rows(streams[b], 0, 0, n);
        const keyPaddingMask = { data: Uint8Array.from({ length: n }, (_, j) => (pads[b].includes(j) ? 1 : 0)), shape: [1, n] };
        const want = pair.ref.forward({ data: rows(streams[b], 0, n, n + 1).data, shape: [1, 1, E2] },
          { data: k.data, shape: [1, n, E2] }, { data: k.data, shape: [1, n, E2] }, { isCausal: true, keyPaddingMask }).output.data;
        expectClose(attend.output.data.subarray(b * E2, (b + 1) * E2), want, `attend without appending: sequence ${b}`);
      });
      expect(cache.lengths).toEqual(seen);
    });
  }
});
