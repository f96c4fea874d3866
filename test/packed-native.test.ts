// Packed variable-length batches (API.md "Packed variable-length batches") on the native
// backend, on every kernel set (vitest.config.ts PARITY): the packed (rank-2) layer forward,
// forwardAsync and packed scaledDotProductAttention [T, H, D] against
//  (a) the reference's packed result,
//  (b) padding every sequence to the longest with a key padding mask (attnMask for the
//      functional op), one native rank-3 call, padded rows dropped: for cross-attention only
//      without position-dependent options; for self-attention with equal query and key lengths
//      the padded positions coincide with the packed ones, so there with every option,
//  (c) N separate native rank-3 calls of one sequence each, concatenated (with isCausal,
//      window, ALiBi, rotary);
// zero-length query sequences, query sequences with no keys (rows equal outBias / zero),
// options.out, and bad lengths (RangeError naming the option; the next call works).
// Criterion: relative L2 error <= 2e-5, no NaN; rows with no key exact.
import { describe, expect, it } from 'vitest';
import { reference, scaledDotProductAttention, type Tensor } from '../lib/index.js';
import { standardAlibiSlopes } from '../lib/alibi.js';
import { type T, Rng, expectClose, hasNaN, offsetView, paddingBool, randTensor } from './helpers.js';
import {
  type LayerPair, type Variant, expectRowEquals, expectRowZero, headMajorRows, layerPair, offsetsOf, toTokenMajor,
} from './native-parity-helpers.js';
import { cat0, rows } from './variant-helpers.js';

const H = 6, D = 8, E = H * D;

const VARIANTS: Record<string, Variant> = {
  plain: {},
  'GQA 6/2': { numKvHeads: 2 },
  'GQA 6/1 + scale + softcap': { numKvHeads: 1, scale: 0.5, softcap: 2 },
  'GQA 6/2 + RoPE + ALiBi + window 4/1': { numKvHeads: 2, rotary: {}, alibi: true, window: { left: 4, right: 1 } },
  'interleaved RoPE dim 4 + softcap + window right 0': { rotary: { dim: 4, interleaved: true }, softcap: 1.5, window: { right: 0 } },
  everything: {
    numKvHeads: 3, rotary: { dim: 6, base: 500 }, alibi: Float32Array.from([0.5, 0, 0.25, 1, 0.125, 0.06]),
    window: { left: 9, right: 2 }, softcap: 3, scale: 0.3,
  },
};
const positionFree = (v: Variant) => !v.rotary && !v.alibi && !v.window;

/** Sequence n of a packed [T, W] tensor with lengths `lengths`, as [1, l_n, W]. */
function sequence(x: Tensor, lengths: number[], n: number): T {
  const from = offsetsOf(lengths)[n];
  const part = rows(x, 0, from, from + lengths[n]);
  return { data: part.data, shape: [1, ...part.shape] };
}

/** Packed [T, W] -> [N, to, W]: sequence n at rows [0, l_n) of entry n, zeros after. */
function padded(x: Tensor, lengths: number[], to: number): T {
  const W = x.shape[1];
  const data = new Float32Array(lengths.length * to * W);
  lengths.forEach((_, n) => data.set(sequence(x, lengths, n).data, n * to * W));
  return { data, shape: [lengths.length, to, W] };
}

/** [N, to, W] -> packed [sum l_n, W]: rows [0, l_n) of entry n. */
function dropped(x: Float32Array, lengths: number[], to: number, W: number): Float32Array {
  return cat0(lengths.map((l, n) => ({ data: x.slice(n * to * W, (n * to + l) * W), shape: [l, W] }))).data;
}

/** (c): one native rank-3 forward per sequence, concatenated; a sequence with no keys gets
 * outBias rows (a rank-3 call cannot have S = 0). */
function separateForwards(pair: LayerPair, query: T, key: T, value: T, ql: number[], kl: number[],
  isCausal: boolean, self: boolean): Float32Array {
  const outBias = pair.weights.outBias ?? new Float32Array(E);
  const parts = ql.map((l, n): T => {
    if (l === 0) return { data: new Float32Array(0), shape: [0, E] };
    if (kl[n] === 0) return { data: Float32Array.from({ length: l * E }, (_, i) => outBias[i % E]), shape: [l, E] };
    const q = sequence(query, ql, n);
    const [k, v] = self ? [q, q] : [sequence(key, kl, n), sequence(value, kl, n)];
    const out = pair.native.forward(q, k, v, { isCausal }).output;
    return { data: out.data, shape: [l, E] };
  });
  return cat0(parts).data;
}

function checkNoKeyRows(out: Float32Array, ql: number[], kl: number[], outBias: Float32Array, label: string): number {
  const offsets = offsetsOf(ql);
  let count = 0;
  ql.forEach((l, n) => {
    if (kl[n] !== 0) return;
    for (let r = offsets[n]; r < offsets[n] + l; r++, count++) expectRowEquals(out, r, outBias, `${label}: no-key row`);
  });
  return count;
}

describe('packed layer forward: native vs reference, padded and per-sequence', () => {
  for (const [name, variant] of Object.entries(VARIANTS)) {
    for (const isCausal of [false, true]) {
      it(`${name}, isCausal ${isCausal}: self-attention, lengths [7, 1, 129, 0, 33, 3]`, async () => {
        const rng = new Rng(name.length * 13 + (isCausal ? 1 : 0));
        const pair = layerPair(rng, E, H, variant);
        const lengths = [7, 1, 129, 0, 33, 3];
        const T = lengths.reduce((a, b) => a + b, 0);
        const x = randTensor(rng, [T, E], 2);
        const options = { sequenceLengths: lengths, isCausal };
        const got = pair.native.forward(x, x, x, options).output;
        expect(got.shape).toEqual([T, E]);
        const want = pair.ref.forward(x, x, x, options).output;
        expect(hasNaN(want.data)).toBe(false);
        expectClose(got.data, want.data, '(a) reference packed');
        expectClose(got.data, separateForwards(pair, x, x, x, lengths, lengths, isCausal, true), '(c) separate forwards');
        // (b) self-attention, equal query and key lengths: padded positions are the packed ones.
        const Lmax = Math.max(...lengths);
        const xp = padded(x, lengths, Lmax);
        const full = pair.native.forward(xp, xp, xp, { keyPaddingMask: paddingBool(Lmax, lengths), isCausal }).output;
        expectClose(got.data, dropped(full.data, lengths, Lmax, E), '(b) padded then dropped');

        const async = await pair.native.forwardAsync(x, x, x, options);
        expectClose(async.output.data, want.data, 'forwardAsync');
        const out = offsetView(new Float32Array(T * E + 11).fill(NaN));
        const into = pair.native.forward(x, x, x, { ...options, out }).output;
        expect(into.data.buffer).toBe(out.buffer);
        expect(into.data.length).toBe(T * E);
        expectClose(into.data, want.data, 'forward into out');
        const outAsync = new Float32Array(T * E).fill(NaN);
        const intoAsync = (await pair.native.forwardAsync(x, x, x, { ...options, out: outAsync })).output;
        expect(intoAsync.data).toBe(outAsync);
        expectClose(outAsync, want.data, 'forwardAsync into out');
      });

      it(`${name}, isCausal ${isCausal}: cross-attention kDim=7 vDim=13, L != S both ways, empty sequences`, async () => {
        const rng = new Rng(name.length * 17 + (isCausal ? 5 : 3));
        const [kDim, vDim] = [7, 13];
        const pair = layerPair(rng, E, H, variant, kDim, vDim);
        // seq 1: no queries, 5 keys; seq 2: 7 queries and no key (outBias rows); L > S and L < S.
        const ql = [3, 0, 7, 1, 33, 2, 129];
        const kl = [129, 5, 0, 7, 1, 33, 3];
        const [T, Tk] = [ql, kl].map((a) => a.reduce((x, y) => x + y, 0));
        const query = randTensor(rng, [T, E], 2), key = randTensor(rng, [Tk, kDim], 2), value = randTensor(rng, [Tk, vDim]);
        const options = { sequenceLengths: ql, kvSequenceLengths: Int32Array.from(kl), isCausal };
        const got = pair.native.forward(query, key, value, options).output;
        expect(got.shape).toEqual([T, E]);
        const want = pair.ref.forward(query, key, value, options).output;
        expect(hasNaN(want.data)).toBe(false);
        expectClose(got.data, want.data, '(a) reference packed');
        expectClose(got.data, separateForwards(pair, query, key, value, ql, kl, isCausal, false), '(c) separate forwards');
        const outBias = pair.weights.outBias!;
        expect(checkNoKeyRows(got.data, ql, kl, outBias, 'forward')).toBe(7);
        if (positionFree(variant) && !isCausal) {
          const [Lmax, Smax] = [Math.max(...ql), Math.max(...kl)];
          const full = pair.native.forward(padded(query, ql, Lmax), padded(key, kl, Smax), padded(value, kl, Smax),
            { keyPaddingMask: paddingBool(Smax, kl) }).output;
          expectClose(got.data, dropped(full.data, ql, Lmax, E), '(b) padded then dropped');
        }
        const out = offsetView(new Float32Array(T * E).fill(NaN));
        const async = await pair.native.forwardAsync(query, key, value, { ...options, out });
        expect(async.output.data).toBe(out);
        expectClose(out, want.data, 'forwardAsync into out');
        checkNoKeyRows(out, ql, kl, outBias, 'forwardAsync');
      });
    }
  }

  it('every sequence of length 1, and one sequence holding the whole batch', () => {
    const rng = new Rng(91);
    const pair = layerPair(rng, E, H, VARIANTS.everything);
    for (const lengths of [[1, 1, 1, 1, 1], [33]]) {
      const T = lengths.reduce((a, b) => a + b, 0);
      const x = randTensor(rng, [T, E]);
      const options = { sequenceLengths: lengths, isCausal: true };
      const got = pair.native.forward(x, x, x, options).output.data;
      expectClose(got, pair.ref.forward(x, x, x, options).output.data, `lengths [${lengths}]`);
      expectClose(got, separateForwards(pair, x, x, x, lengths, lengths, true, true), `lengths [${lengths}], separate`);
    }
  });

  it('concurrent forwardAsync packed calls on two layers each get their own result', async () => {
    const rng = new Rng(94);
    const pairs = [layerPair(rng, E, H, VARIANTS.everything), layerPair(rng, E, H, VARIANTS['GQA 6/2'])];
    const calls = Array.from({ length: 6 }, (_, i) => {
      const lengths = [1 + 20 * i, 3, 129 - 10 * i];
      return { pair: pairs[i % 2], lengths, x: randTensor(rng, [lengths.reduce((a, b) => a + b, 0), E]) };
    });
    const outs = await Promise.all(calls.map(({ pair, lengths, x }) =>
      pair.native.forwardAsync(x, x, x, { sequenceLengths: lengths, isCausal: true })));
    outs.forEach(({ output }, i) => {
      const { pair, lengths, x } = calls[i];
      expectClose(output.data, pair.ref.forward(x, x, x, { sequenceLengths: lengths, isCausal: true }).output.data, `call ${i}`);
    });
  });

  it('bad lengths: RangeError naming sequenceLengths / kvSequenceLengths; the next call works', async () => {
    const rng = new Rng(92);
    const pair = layerPair(rng, E, H, VARIANTS['GQA 6/2 + RoPE + ALiBi + window 4/1'], 7, 7);
    const [ql, kl] = [[2, 3], [4, 1]];
    const query = randTensor(rng, [5, E]), key = randTensor(rng, [5, 7]), value = randTensor(rng, [5, 7]);
    const good = { sequenceLengths: ql, kvSequenceLengths: kl, isCausal: true };
    const before = pair.native.forward(query, key, value, good).output.data.slice();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ sequenceLengths: [2, 2] }, /options\.sequenceLengths/],
      [{ sequenceLengths: [2, 4, -1] }, /options\.sequenceLengths/],
      [{ sequenceLengths: [2.5, 2.5] }, /options\.sequenceLengths/],
      [{ sequenceLengths: [] }, /options\.sequenceLengths/],
      [{ kvSequenceLengths: [4, 2] }, /options\.kvSequenceLengths/],
      [{ kvSequenceLengths: [5] }, /options\.kvSequenceLengths/],
      [{ kvSequenceLengths: [3, 1, 1] }, /options\.kvSequenceLengths/],
      [{ kvSequenceLengths: [6, -1] }, /options\.kvSequenceLengths/],
      [{ kvSequenceLengths: [4, 1], sequenceLengths: undefined }, /options\.kvSequenceLengths/],
    ];
    for (const [change, message] of bad) {
      const options = { ...good, ...change };
      expect(() => pair.native.forward(query, key, value, options as never), JSON.stringify(change)).toThrow(RangeError);
      expect(() => pair.native.forward(query, key, value, options as never)).toThrow(message);
      await expect(pair.native.forwardAsync(query, key, value, options as never)).rejects.toThrow(message);
      expect(Array.from(pair.native.forward(query, key, value, good).output.data), 'the next call').toEqual(Array.from(before));
    }
    // Options a packed call cannot take.
    for (const change of [{ needWeights: true }, { keyPaddingMask: paddingBool(4, kl) }, { attnMask: paddingBool(4, [2, 4]) }]) {
      expect(() => pair.native.forward(query, key, value, { ...good, ...change } as never)).toThrow(RangeError);
    }
    expectClose(pair.native.forward(query, key, value, good).output.data, pair.ref.forward(query, key, value, good).output.data, 'after');
  });
});

// ---------------------------------------------------------------------------------------------
// Packed scaledDotProductAttention

type ScoreOptions = {
  scale?: number; softcap?: number; alibiSlopes?: Float32Array; window?: { left?: number; right?: number }; isCausal?: boolean;
};

const SDPA_OPTIONS: [string, ScoreOptions][] = [
  ['plain', {}],
  ['scale + softcap', { scale: 0.4, softcap: 1.5 }],
  ['causal', { isCausal: true }],
  ['ALiBi + window 3/1', { alibiSlopes: standardAlibiSlopes(H), window: { left: 3, right: 1 } }],
  ['window right 0', { window: { right: 0 } }],
  ['everything + causal', { alibiSlopes: Float32Array.from([0.5, 0, -0.25, 1, 2, 0.1]), window: { left: 20 }, softcap: 2, scale: 0.3, isCausal: true }],
];
const sdpaPositionFree = (o: ScoreOptions) => !o.isCausal && !o.alibiSlopes && !o.window;

interface SdpaCase { name: string; Hkv: number; Dv: number; ql: number[]; kl: number[] }
const SDPA_CASES: SdpaCase[] = [
  { name: 'self lengths [1, 3, 7, 33, 129]', Hkv: 2, Dv: 8, ql: [1, 3, 7, 33, 129], kl: [1, 3, 7, 33, 129] },
  { name: 'cross, empty sequences, L != S both ways', Hkv: 1, Dv: 5, ql: [3, 0, 7, 1, 33, 2, 129], kl: [129, 5, 0, 7, 1, 33, 3] },
  { name: 'decode-like: one query per sequence over long keys', Hkv: 3, Dv: 3, ql: [1, 1, 1], kl: [300, 7, 600] },
  // few (sequence, key/value head) pairs: the keys are split between threads
  { name: 'decode-like, Hkv 1: keys split, a sequence without keys', Hkv: 1, Dv: 8, ql: [1, 2, 1, 1], kl: [1100, 7, 0, 600] },
];

describe('packed scaledDotProductAttention [T, H, D]: native vs reference, padded and per-sequence', () => {
  for (const c of SDPA_CASES) {
    it(c.name, () => {
      const rng = new Rng(c.name.length * 3);
      const { Hkv, Dv, ql, kl } = c;
      const [T, Tk] = [ql, kl].map((a) => a.reduce((x, y) => x + y, 0));
      const q = randTensor(rng, [T, H, D], 2), k = randTensor(rng, [Tk, Hkv, D]), v = randTensor(rng, [Tk, Hkv, Dv]);
      const [qo, ko] = [offsetsOf(ql), offsetsOf(kl)];
      const self = ql.every((l, n) => l === kl[n]);
      for (const [name, o] of SDPA_OPTIONS) {
        const options = { ...o, sequenceLengths: ql, kvSequenceLengths: kl };
        const got = scaledDotProductAttention(q, k, v, options);
        expect(got.shape).toEqual([T, H, Dv]);
        const want = reference.scaledDotProductAttention(q, k, v, options);
        expect(hasNaN(want.data)).toBe(false);
        expectClose(got.data, want.data, `${name}: (a) reference packed`);
        // (c) one native dense call per sequence
        const each = ql.map((l, n): T => {
          if (l === 0) return { data: new Float32Array(0), shape: [0, H, Dv] };
          if (kl[n] === 0) return { data: new Float32Array(l * H * Dv), shape: [l, H, Dv] };
          const dense = scaledDotProductAttention(headMajorRows(q, qo[n], l), headMajorRows(k, ko[n], kl[n]),
            headMajorRows(v, ko[n], kl[n]), o);
          return toTokenMajor(dense);
        });
        expectClose(got.data, cat0(each).data, `${name}: (c) separate calls`);
        ql.forEach((l, n) => {
          if (kl[n] === 0) for (let r = qo[n] * H; r < (qo[n] + l) * H; r++) expectRowZero(got.data, r, Dv, `${name}: no-key row`);
        });
        // (b) padded to the longest, padded keys blocked by an attnMask [N, 1, Lmax, Smax]
        if (sdpaPositionFree(o) || self) {
          const [N, Lmax, Smax] = [ql.length, Math.max(...ql), Math.max(...kl)];
          const pad = (x: T, lengths: number[], offsets: number[], to: number): T => {
            const [, heads, d] = x.shape;
            const data = new Float32Array(N * heads * to * d);
            lengths.forEach((l, n) => {
              const part = headMajorRows(x, offsets[n], l);
              for (let h = 0; h < heads; h++) data.set(part.data.subarray(h * l * d, (h + 1) * l * d), ((n * heads + h) * to) * d);
            });
            return { data, shape: [N, heads, to, d] };
          };
          const mask = new Uint8Array(N * Lmax * Smax);
          kl.forEach((s, n) => { for (let i = 0; i < Lmax; i++) mask.fill(1, (n * Lmax + i) * Smax + s, (n * Lmax + i + 1) * Smax); });
          const full = scaledDotProductAttention(pad(q, ql, qo, Lmax), pad(k, kl, ko, Smax), pad(v, kl, ko, Smax),
            { ...o, attnMask: { data: mask, shape: [N, 1, Lmax, Smax] } });
          const back = cat0(ql.map((l, n) => {
            const rowsOf = { data: full.data.slice(n * H * Lmax * Dv, (n + 1) * H * Lmax * Dv), shape: [1, H, Lmax, Dv] };
            return rows(toTokenMajor(rowsOf), 0, 0, l);
          }));
          expectClose(got.data, back.data, `${name}: (b) padded then dropped`);
        }
        const out = offsetView(new Float32Array(T * H * Dv + 3).fill(NaN));
        const into = scaledDotProductAttention(q, k, v, { ...options, out });
        expect(into.data.buffer).toBe(out.buffer);
        expectClose(into.data, want.data, `${name}: into out`);
      }
    });
  }

  it('bad lengths: RangeError naming sequenceLengths / kvSequenceLengths; the next call works', () => {
    const rng = new Rng(93);
    const q = randTensor(rng, [5, H, D]), k = randTensor(rng, [6, 2, D]), v = randTensor(rng, [6, 2, 4]);
    const good = { sequenceLengths: [2, 3], kvSequenceLengths: [5, 1], isCausal: true };
    const before = Array.from(scaledDotProductAttention(q, k, v, good).data);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ sequenceLengths: [2, 2] }, /options\.sequenceLengths/],
      [{ sequenceLengths: [6, -1] }, /options\.sequenceLengths/],
      [{ kvSequenceLengths: [5, 2] }, /options\.kvSequenceLengths/],
      [{ kvSequenceLengths: [6] }, /options\.kvSequenceLengths/],
      [{ kvSequenceLengths: [0.5, 5.5] }, /options\.kvSequenceLengths/],
      [{ sequenceLengths: undefined }, /options\.kvSequenceLengths/],
    ];
    for (const [change, message] of bad) {
      const call = () => scaledDotProductAttention(q, k, v, { ...good, ...change } as never);
      expect(call, JSON.stringify(change)).toThrow(RangeError);
      expect(call).toThrow(message);
      expect(Array.from(scaledDotProductAttention(q, k, v, good).data)).toEqual(before);
    }
    expectClose(before, reference.scaledDotProductAttention(q, k, v, good).data, 'after');
  });
});
