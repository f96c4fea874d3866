// Packed variable-length batches (API.md "Packed variable-length batches") on the TypeScript
// reference: a packed call equals N separate calls of one sequence each, concatenated (with
// every position-dependent option), and equals padding to the longest with a key padding mask
// and dropping the padded rows (without them); empty sequences; a query sequence with no keys.
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention, reference, type Tensor } from '../lib/index.js';
import { Rng, expectClose, paddingBool, randTensor, randWeights, type T } from './helpers.js';
import { cat0, firstKvRows, rows } from './variant-helpers.js';

/** Sequence n of a packed [T, ...] tensor with lengths `lengths`, as [1, l_n, ...]. */
function sequence(x: Tensor, lengths: number[], n: number): T {
  const from = lengths.slice(0, n).reduce((a, b) => a + b, 0);
  const part = rows(x, 0, from, from + lengths[n]);
  return { data: part.data, shape: [1, ...part.shape] };
}

/** [1, l, ...] parts -> [sum l, ...]. */
const pack = (parts: Tensor[]): T => cat0(parts.map((p) => ({ data: p.data, shape: p.shape.slice(1) })));

const E = 12, H = 4;
const variants = {
  plain: {},
  'GQA + rotary + ALiBi + window': { numKvHeads: 2, rotary: { dim: 2 }, alibi: true, window: { left: 2, right: 1 } },
  'softcap + interleaved rotary': { softcap: 1.5, rotary: { interleaved: true, dim: 2, base: 100 } },
};

describe('packed layer forward equals one forward per sequence, concatenated', () => {
  for (const [name, variant] of Object.entries(variants)) {
    for (const isCausal of [false, true]) {
      it(`${name}, isCausal ${isCausal}: self-attention and cross-attention with L != S`, () => {
        const rng = new Rng(name.length + (isCausal ? 1 : 0));
        const weights = randWeights(rng, E, E, E, true);
        const Ekv = ((variant as { numKvHeads?: number }).numKvHeads ?? H) * (E / H);
        const layer = new MultiHeadAttention({
          embedDim: E, numHeads: H, backend: 'reference', ...variant,
          weights: firstKvRows(weights, E, Ekv),
        });
        const lengths = [3, 1, 7, 2];
        const x = randTensor(rng, [13, E]);
        const packed = layer.forward(x, x, x, { sequenceLengths: lengths, isCausal }).output;
        expect(packed.shape).toEqual([13, E]);
        const each = lengths.map((_, n) => {
          const xs = sequence(x, lengths, n);
          return layer.forward(xs, xs, xs, { isCausal }).output;
        });
        expectClose(packed.data, pack(each).data, 'self-attention');

        const [ql, kl] = [[2, 5, 1], [6, 3, 1]];
        const query = randTensor(rng, [8, E]);
        const key = randTensor(rng, [10, E]);
        const value = randTensor(rng, [10, E]);
        const cross = layer.forward(query, key, value, { sequenceLengths: ql, kvSequenceLengths: kl, isCausal }).output;
        const crossEach = ql.map((_, n) => layer.forward(sequence(query, ql, n), sequence(key, kl, n),
          sequence(value, kl, n), { isCausal }).output);
        expectClose(cross.data, pack(crossEach).data, 'cross-attention');
      });
    }
  }

  it('forwardAsync and options.out give the same result', async () => {
    const rng = new Rng(40);
    const layer = new MultiHeadAttention({ embedDim: E, numHeads: H, weights: randWeights(rng, E, E, E, true), backend: 'reference' });
    const x = randTensor(rng, [9, E]);
    const options = { sequenceLengths: [4, 5], isCausal: true };
    const sync = layer.forward(x, x, x, options).output;
    const out = new Float32Array(9 * E + 5);
    const async = await layer.forwardAsync(x, x, x, { ...options, out });
    expect(async.output.data.buffer).toBe(out.buffer);
    expect(Array.from(async.output.data)).toEqual(Array.from(sync.data));
  });
});

describe('packed equals padded-then-dropped (no position-dependent options)', () => {
  it('keys padded to the longest with a key padding mask, padded query rows dropped', () => {
    const rng = new Rng(50);
    const weights = randWeights(rng, E, E, 7, true);
    const layer = new MultiHeadAttention({ embedDim: E, numHeads: H, vDim: 7, weights, backend: 'reference', numKvHeads: 4 });
    const [ql, kl] = [[1, 4, 3], [5, 2, 7]];
    const [Lmax, Smax] = [4, 7];
    const query = randTensor(rng, [8, E]);
    const key = randTensor(rng, [14, E]);
    const value = randTensor(rng, [14, 7]);
    const packed = layer.forward(query, key, value, { sequenceLengths: ql, kvSequenceLengths: kl }).output;
    const pad = (x: Tensor, lengths: number[], n: number, width: number, to: number) => {
      const data = new Float32Array(to * width);
      data.set(sequence(x, lengths, n).data);
      return data;
    };
    const padded = (x: Tensor, lengths: number[], width: number, to: number): T =>
      ({ data: cat0(lengths.map((_, n) => ({ data: pad(x, lengths, n, width, to), shape: [to * width] }))).data, shape: [3, to, width] });
    const full = layer.forward(padded(query, ql, E, Lmax), padded(key, kl, E, Smax), padded(value, kl, 7, Smax),
      { keyPaddingMask: paddingBool(Smax, kl) }).output;
    const dropped = pack(ql.map((l, n) => ({ data: full.data.slice(n * Lmax * E, (n * Lmax + l) * E), shape: [1, l, E] })));
    expectClose(packed.data, dropped.data, 'padded');
  });
});

describe('empty sequences', () => {
  it('a zero-length query sequence takes no rows; a query sequence with no keys gets outBias rows', () => {
    const rng = new Rng(60);
    const weights = randWeights(rng, E, E, E, true);
    const layer = new MultiHeadAttention({ embedDim: E, numHeads: H, weights, backend: 'reference', rotary: { dim: 2 }, alibi: true });
    const [ql, kl] = [[0, 2, 3, 0], [4, 0, 3, 2]];
    const query = randTensor(rng, [5, E]);
    const key = randTensor(rng, [9, E]);
    const out = layer.forward(query, key, key, { sequenceLengths: ql, kvSequenceLengths: kl, isCausal: true }).output;
    expect(out.shape).toEqual([5, E]);
    // Sequence 1 (rows 0, 1) has no keys: zero context, so its rows are outBias.
    for (const row of [0, 1]) expectClose(out.data.subarray(row * E, (row + 1) * E), weights.outBias!, `row ${row}`);
    // Sequence 2 (rows 2..4) equals its own forward.
    const alone = layer.forward(sequence(query, ql, 2), sequence(key, kl, 2), sequence(key, kl, 2), { isCausal: true }).output;
    expectClose(out.data.subarray(2 * E), alone.data, 'sequence 2');
  });
});

describe('packed scaledDotProductAttention [T, H, D]', () => {
  /** Sequence n of packed [T, H, D] as dense [1, H, l, D]. */
  function denseSequence(x: Tensor, lengths: number[], n: number): T {
    const [, heads, D] = x.shape;
    const s = sequence(x, lengths, n);
    const l = lengths[n];
    const data = new Float32Array(s.data.length);
    for (let i = 0; i < l; i++) {
      for (let h = 0; h < heads; h++) data.set(s.data.subarray((i * heads + h) * D, (i * heads + h + 1) * D), (h * l + i) * D);
    }
    return { data, shape: [1, heads, l, D] };
  }
  /** Dense [1, H, l, Dv] -> token-major [l, H, Dv]. */
  function tokenMajor(x: Tensor): T {
    const [, heads, l, D] = x.shape;
    const data = new Float32Array(x.data.length);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < l; i++) data.set(x.data.subarray((h * l + i) * D, (h * l + i + 1) * D), (i * heads + h) * D);
    }
    return { data, shape: [l, heads, D] };
  }

  it('equals one dense call per sequence (GQA, causal, window, ALiBi, softcap), zero rows without keys', () => {
    const rng = new Rng(70);
    const [heads, Hkv, D, Dv] = [6, 3, 4, 5];
    const [ql, kl] = [[3, 0, 1, 7, 2], [7, 2, 1, 3, 0]];
    const q = randTensor(rng, [13, heads, D]);
    const k = randTensor(rng, [13, Hkv, D]);
    const v = randTensor(rng, [13, Hkv, Dv]);
    const options = { isCausal: true, window: { left: 4 }, softcap: 2, alibiSlopes: Float32Array.from([0.5, 0.1, 0.2, 0, 1, 0.3]) };
    const out = reference.scaledDotProductAttention(q, k, v, { ...options, sequenceLengths: ql, kvSequenceLengths: kl });
    expect(out.shape).toEqual([13, heads, Dv]);
    const each = ql.map((l, n) => (l === 0 ? { data: new Float32Array(0), shape: [0, heads, Dv] }
      : kl[n] === 0 ? { data: new Float32Array(l * heads * Dv), shape: [l, heads, Dv] }
        : tokenMajor(reference.scaledDotProductAttention(denseSequence(q, ql, n), denseSequence(k, kl, n),
          denseSequence(v, kl, n), options))));
    expectClose(out.data, cat0(each).data, 'packed');
  });
});
