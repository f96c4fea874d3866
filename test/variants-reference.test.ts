// The attention variants (API.md "Attention variants") on the TypeScript reference: each one
// against an equivalent formulation that does not use it (GQA = MHA with repeated key/value
// heads, window = a boolean mask, ALiBi = an additive mask, the layer = its steps written out
// with the functional ops), and softcap / rotary against hand computations.
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention, reference, type Tensor } from '../lib/index.js';
import { standardAlibiSlopes } from '../lib/alibi.js';
import { Rng, expectClose, randTensor, randWeights, randn, type T } from './helpers.js';
import { alibiMask, manualForward, repeatHeads, repeatRows, windowMask } from './variant-helpers.js';

const t = (data: number[], shape: number[]): Tensor => ({ data: Float32Array.from(data), shape });

/** Random GQA weights: q/out [E, E], k/v [Hkv * D, kDim / vDim], nonzero biases. */
function gqaWeights(rng: Rng, E: number, kvWidth: number, kDim: number, vDim: number) {
  return {
    qWeight: randn(rng, E * E, 1 / Math.sqrt(E)), kWeight: randn(rng, kvWidth * kDim, 1 / Math.sqrt(kDim)),
    vWeight: randn(rng, kvWidth * vDim, 1 / Math.sqrt(vDim)), outWeight: randn(rng, E * E, 1 / Math.sqrt(E)),
    qBias: randn(rng, E, 0.1), kBias: randn(rng, kvWidth, 0.1), vBias: randn(rng, kvWidth, 0.1),
    outBias: randn(rng, E, 0.1),
  };
}

describe('grouped-query attention', () => {
  it('scaledDotProductAttention with Hkv heads equals MHA with the key/value heads repeated', () => {
    const rng = new Rng(1);
    for (const [H, Hkv] of [[6, 2], [3, 1], [4, 4]]) {
      const q = randTensor(rng, [2, H, 3, 5]);
      const k = randTensor(rng, [2, Hkv, 7, 5]);
      const v = randTensor(rng, [2, Hkv, 7, 3]);
      const got = reference.scaledDotProductAttention(q, k, v, { isCausal: true });
      const want = reference.scaledDotProductAttention(q, repeatHeads(k, H), repeatHeads(v, H), { isCausal: true });
      expect(got.shape).toEqual([2, H, 3, 3]);
      expectClose(got.data, want.data, `H=${H} Hkv=${Hkv}`);
    }
  });

  it('a layer with numKvHeads equals an MHA layer whose k/v projections repeat the groups', () => {
    const [E, H, Hkv, kDim, vDim] = [12, 6, 2, 7, 5];
    const D = E / H;
    const w = gqaWeights(new Rng(2), E, Hkv * D, kDim, vDim);
    const gqa = new MultiHeadAttention({ embedDim: E, numHeads: H, numKvHeads: Hkv, kDim, vDim, weights: w, backend: 'reference' });
    const mha = new MultiHeadAttention({
      embedDim: E, numHeads: H, kDim, vDim, backend: 'reference',
      weights: {
        ...w, kWeight: repeatRows(w.kWeight, Hkv, H), vWeight: repeatRows(w.vWeight, Hkv, H),
        kBias: repeatRows(w.kBias, Hkv, H), vBias: repeatRows(w.vBias, Hkv, H),
      },
    });
    expect(gqa.numKvHeads).toBe(Hkv);
    const rng = new Rng(3);
    const [query, key, value] = [randTensor(rng, [2, 3, E]), randTensor(rng, [2, 7, kDim]), randTensor(rng, [2, 7, vDim])];
    const options = { isCausal: true, needWeights: true, averageAttnWeights: false };
    const a = gqa.forward(query, key, value, options);
    const b = mha.forward(query, key, value, options);
    expectClose(a.output.data, b.output.data, 'output');
    expectClose(a.attnWeights!.data, b.attnWeights!.data, 'weights');
    expectClose(a.output.data, manualForward(w, H, query, key, value, { numKvHeads: Hkv, isCausal: true }).data, 'manual');
  });

  it('default (seeded) weights have numKvHeads * headDim key/value rows; numKvHeads == numHeads keeps the seed', () => {
    const gqa = new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKvHeads: 2, seed: 5, backend: 'reference' });
    const x = randTensor(new Rng(4), [1, 3, 8]);
    expect(gqa.forward(x, x, x).output.shape).toEqual([1, 3, 8]);
    const a = new MultiHeadAttention({ embedDim: 8, numHeads: 4, seed: 5, backend: 'reference' });
    const b = new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKvHeads: 4, seed: 5, backend: 'reference' });
    expect(Array.from(a.forward(x, x, x).output.data)).toEqual(Array.from(b.forward(x, x, x).output.data));
  });
});

describe('sliding window', () => {
  const cases: [number, number, number | undefined, number | undefined][] =
    [[3, 7, 2, 0], [7, 7, 1, undefined], [5, 3, undefined, 1], [1, 33, 4, 4]];
  for (const [L, S, left, right] of cases) {
    it(`equals a boolean attnMask (L=${L} S=${S} left=${left} right=${right})`, () => {
      const rng = new Rng(L * 10 + S);
      const q = randTensor(rng, [2, 3, L, 4]);
      const k = randTensor(rng, [2, 3, S, 4]);
      const v = randTensor(rng, [2, 3, S, 5]);
      const window = { left, right };
      const mask = windowMask(L, S, left, right);
      const got = reference.scaledDotProductAttention(q, k, v, { window, isCausal: true });
      const want = reference.scaledDotProductAttention(q, k, v, { attnMask: mask, isCausal: true });
      expectClose(got.data, want.data, 'attention');
      const x = randTensor(rng, [2, 3, L, S]);
      expectClose(reference.maskedSoftmax(x, { window }).data, reference.maskedSoftmax(x, { mask }).data, 'softmax');

      const E = 6;
      const weights = randWeights(rng, E, E, E, true);
      const layer = (extra: object) => new MultiHeadAttention({ embedDim: E, numHeads: 3, weights, backend: 'reference', ...extra });
      const [query, key] = [randTensor(rng, [2, L, E]), randTensor(rng, [2, S, E])];
      expectClose(layer({ window }).forward(query, key, key).output.data,
        layer({}).forward(query, key, key, { attnMask: mask }).output.data, 'layer');
    });
  }
});

describe('ALiBi', () => {
  it('the standard slopes follow BLOOM / Hugging Face get_alibi_slopes', () => {
    expect(Array.from(standardAlibiSlopes(8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((h) => Math.fround(2 ** -h)));
    // 6 heads: the 4 slopes of 4 heads (2^-2, 2^-4, 2^-6, 2^-8), then 2^-1 and 2^-3 from the 8-head sequence.
    expect(Array.from(standardAlibiSlopes(6))).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
    expect(Array.from(standardAlibiSlopes(1))).toEqual([2 ** -8]);
  });

  it('equals an additive mask of -slope * |pq - pk| (functional and layer, L != S)', () => {
    const rng = new Rng(7);
    const [B, H, L, S] = [2, 3, 5, 7];
    const slopes = Float32Array.from([0.5, 0.25, 0.125]);
    const q = randTensor(rng, [B, H, L, 4]);
    const k = randTensor(rng, [B, H, S, 4]);
    const v = randTensor(rng, [B, H, S, 2]);
    const attnMask = alibiMask(slopes, L, S);
    expectClose(reference.scaledDotProductAttention(q, k, v, { alibiSlopes: slopes, isCausal: true }).data,
      reference.scaledDotProductAttention(q, k, v, { attnMask, isCausal: true }).data, 'attention');
    const x = randTensor(rng, [B, H, L, S]);
    const fullMask = { data: Float32Array.from({ length: B * H * L * S }, (_, i) => attnMask.data[i % (H * L * S)]), shape: [B, H, L, S] };
    expectClose(reference.maskedSoftmax(x, { alibiSlopes: slopes }).data,
      reference.maskedSoftmax(x, { mask: fullMask }).data, 'softmax');

    const E = 9;
    const weights = randWeights(rng, E, E, E, true);
    const [query, key] = [randTensor(rng, [B, L, E]), randTensor(rng, [B, S, E])];
    const layer = (extra: object) => new MultiHeadAttention({ embedDim: E, numHeads: H, weights, backend: 'reference', ...extra });
    expectClose(layer({ alibi: slopes }).forward(query, key, key).output.data,
      layer({}).forward(query, key, key, { attnMask }).output.data, 'layer, explicit slopes');
    expectClose(layer({ alibi: true }).forward(query, key, key).output.data,
      layer({}).forward(query, key, key, { attnMask: alibiMask(standardAlibiSlopes(H), L, S) }).output.data,
      'layer, standard slopes');
  });
});

describe('softcap and scale', () => {
  it('maskedSoftmax: softcap * tanh(scale * x / softcap) by hand', () => {
    // x = [0, 3], scale 2, softcap 4: logits [0, 4 tanh(1.5)].
    const z = 4 * Math.tanh(1.5);
    const y = reference.maskedSoftmax(t([0, 3], [1, 2]), { scale: 2, softcap: 4 });
    expect(y.data[0]).toBeCloseTo(1 / (1 + Math.exp(z)), 6);
    expect(y.data[1]).toBeCloseTo(Math.exp(z) / (1 + Math.exp(z)), 6);
  });

  it('softcap comes before ALiBi and the additive mask', () => {
    // x = [2, 2] (keys 0, 1; one query at position 1), softcap 1, slope 1, additive mask [0, ln 2]:
    // logits [tanh 2 - 1, tanh 2 + ln 2].
    const y = reference.maskedSoftmax(t([2, 2], [1, 1, 1, 2]), {
      softcap: 1, alibiSlopes: Float32Array.from([1]), mask: { data: Float32Array.from([0, Math.log(2)]), shape: [1, 2] },
    });
    const [a, b] = [Math.exp(Math.tanh(2) - 1), Math.exp(Math.tanh(2) + Math.log(2))];
    expect(y.data[0]).toBeCloseTo(a / (a + b), 6);
  });

  it('a layer with softcap and scale equals its steps written out', () => {
    const rng = new Rng(9);
    const [E, H] = [12, 4];
    const weights = randWeights(rng, E, E, E, true);
    const [query, key] = [randTensor(rng, [2, 3, E], 3), randTensor(rng, [2, 7, E], 3)];
    const layer = new MultiHeadAttention({ embedDim: E, numHeads: H, weights, backend: 'reference', softcap: 2.5, scale: 0.9 });
    expectClose(layer.forward(query, key, key, { isCausal: true }).output.data,
      manualForward(weights, H, query, key, key, { softcap: 2.5, scale: 0.9, isCausal: true }).data, 'softcap layer');
  });
});

describe('rotary embedding', () => {
  it('rotates a 2-feature head by position * base^0', () => {
    // x [B=1, H=1, L=3, D=2] all [1, 0]: position p -> [cos p, sin p].
    const y = reference.rotaryEmbedding(t([1, 0, 1, 0, 1, 0], [1, 1, 3, 2]));
    const want = [0, 1, 2].flatMap((p) => [Math.cos(p), Math.sin(p)]);
    want.forEach((v, i) => expect(y.data[i]).toBeCloseTo(v, 6));
    // A given position and base: position 2.5 of base 100 (the first pair's angle is the position).
    const z = reference.rotaryEmbedding(t([0, 1], [1, 1, 1, 2]), { positions: [2.5], base: 100 });
    expect(z.data[0]).toBeCloseTo(-Math.sin(2.5), 6);
    expect(z.data[1]).toBeCloseTo(Math.cos(2.5), 6);
  });

  it('half-split pairs (x[i], x[i + dim/2]) at angle p * base^(-2i/dim), features past dim unchanged', () => {
    // D = 6, dim = 4, position 3, base 16: pair 0 = features (0, 2) at angle 3, pair 1 = (1, 3) at 3 / 4.
    const x = [1, 2, 3, 4, 5, 6];
    const y = reference.rotaryEmbedding(t(x, [1, 1, 6]), { dim: 4, base: 16, positions: [3] });
    const rot = (a: number, b: number, angle: number) => [a * Math.cos(angle) - b * Math.sin(angle), a * Math.sin(angle) + b * Math.cos(angle)];
    const [p0, p1] = [rot(1, 3, 3), rot(2, 4, 0.75)];
    [p0[0], p1[0], p0[1], p1[1], 5, 6].forEach((v, i) => expect(y.data[i]).toBeCloseTo(v, 5));
  });

  it('interleaved and half-split layouts are related by a permutation of the features', () => {
    const [D, dim] = [8, 6];
    // Interleaved feature 2i goes to i, 2i + 1 to i + dim/2; features from dim on stay.
    const perm = [0, 3, 1, 4, 2, 5, 6, 7];
    const permute = (x: Tensor): T => {
      const data = new Float32Array(x.data.length);
      for (let v = 0; v < x.data.length / D; v++) perm.forEach((to, from) => { data[v * D + to] = x.data[v * D + from]; });
      return { data, shape: [...x.shape] };
    };
    const x = randTensor(new Rng(11), [2, 3, 5, D]);
    const interleaved = reference.rotaryEmbedding(x, { dim, interleaved: true, base: 500 });
    const halfSplit = reference.rotaryEmbedding(permute(x), { dim, base: 500 });
    expectClose(permute(interleaved).data, halfSplit.data, 'permuted');
  });

  it('packed x [T, H, D]: positions restart per sequence of options.sequenceLengths', () => {
    const x = randTensor(new Rng(12), [7, 3, 4]);
    const restarted = reference.rotaryEmbedding(x, { sequenceLengths: [3, 0, 4] });
    const explicit = reference.rotaryEmbedding(x, { positions: [0, 1, 2, 0, 1, 2, 3] });
    expect(Array.from(restarted.data)).toEqual(Array.from(explicit.data));
    // Rank 4 [B, H, L, D] and packed [L, H, D] of one sequence agree.
    const dense = randTensor(new Rng(13), [1, 3, 5, 4]);
    const packedOut = reference.rotaryEmbedding(transposeHeads(dense));
    expectClose(packedOut.data, transposeHeads(reference.rotaryEmbedding(dense)).data, 'packed vs dense');
  });

  it('runs in place with out = x.data', () => {
    const x = randTensor(new Rng(14), [2, 2, 3, 4]);
    const want = reference.rotaryEmbedding(x).data;
    const y = reference.rotaryEmbedding(x, { out: x.data });
    expect(y.data).toBe(x.data);
    expect(Array.from(x.data)).toEqual(Array.from(want));
  });

  for (const { L, S, rotary } of [
    { L: 3, S: 7, rotary: {} }, { L: 7, S: 7, rotary: { dim: 2, interleaved: true } }, { L: 1, S: 5, rotary: { base: 50, dim: 4 } },
  ]) {
    it(`through the layer equals rotaryEmbedding on the projected heads (L=${L} S=${S} ${JSON.stringify(rotary)})`, () => {
      const rng = new Rng(L * 7 + S);
      const [E, H, Hkv] = [18, 3, 1];
      const w = gqaWeights(rng, E, Hkv * (E / H), E, E);
      const layer = new MultiHeadAttention({ embedDim: E, numHeads: H, numKvHeads: Hkv, rotary, weights: w, backend: 'reference' });
      const [query, key] = [randTensor(rng, [2, L, E]), randTensor(rng, [2, S, E])];
      expectClose(layer.forward(query, key, key, { isCausal: true }).output.data,
        manualForward(w, H, query, key, key, { numKvHeads: Hkv, rotary, isCausal: true }).data, 'rotary layer');
    });
  }
});

/** [B=1, H, L, D] <-> [L, H, D]. */
function transposeHeads(x: Tensor): T {
  const [a, b] = x.shape.length === 4 ? x.shape.slice(1) : x.shape;
  const D = x.shape[x.shape.length - 1];
  const data = new Float32Array(x.data.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) data.set(x.data.subarray((i * b + j) * D, (i * b + j + 1) * D), (j * a + i) * D);
  }
  return { data, shape: x.shape.length === 4 ? [b, a, D] : [1, b, a, D] };
}

describe('every variant at once', () => {
  it('GQA + rotary + ALiBi + window + softcap + causal: the layer equals its steps written out', () => {
    const rng = new Rng(21);
    const [E, H, Hkv, L, S] = [24, 6, 3, 5, 9];
    const w = gqaWeights(rng, E, Hkv * (E / H), E, E);
    const options = {
      numKvHeads: Hkv, rotary: { dim: 2 }, softcap: 3, window: { left: 3 },
      alibi: Float32Array.from([0.3, 0.2, 0.1, 0.05, 0.4, 0]),
    };
    const layer = new MultiHeadAttention({ embedDim: E, numHeads: H, weights: w, backend: 'reference', ...options });
    const [query, key] = [randTensor(rng, [2, L, E], 2), randTensor(rng, [2, S, E], 2)];
    expectClose(layer.forward(query, key, key, { isCausal: true }).output.data,
      manualForward(w, H, query, key, key, { ...options, alibiSlopes: options.alibi, isCausal: true }).data, 'all');
  });
});
