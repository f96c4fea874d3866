// Native kernels and the native MultiHeadAttention against the TypeScript reference
// (float64 accumulation) on awkward sizes and every mask kind. Criterion: relative L2
// error <= 2e-5 and no NaN where the reference has none; fully blocked rows are zeros.
import { describe, expect, it } from 'vitest';
import {
  MultiHeadAttention, getNumThreads, matmul, maskedSoftmax, reference, scaledDotProductAttention, setNumThreads,
} from '../lib/index.js';
import {
  type M, type T, Rng, additiveMask, blockRow, boolMask, causalBool, expectClose, hasNaN,
  numel, offsetView, paddingAdditive, paddingBool, randTensor, randWeights, rowIsZero,
} from './helpers.js';

describe('matmul', () => {
  const sizes: [number, number, number][] = [
    [1, 1, 1], [3, 7, 5], [7, 33, 3], [33, 129, 7], [129, 33, 65], [64, 64, 64], [17, 80, 129], [5, 1, 9],
  ];
  const batches: { name: string; aBatch: number[]; bBatch: number[] }[] = [
    { name: 'unbatched', aBatch: [], bBatch: [] },
    { name: 'batch [3]', aBatch: [3], bBatch: [3] },
    { name: 'batch [2,3]', aBatch: [2, 3], bBatch: [2, 3] },
    { name: 'batch [2,3], shared b', aBatch: [2, 3], bBatch: [] },
  ];
  for (const [m, k, n] of sizes) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        it(`M=${m} K=${k} N=${n} transA=${transposeA} transB=${transposeB}`, () => {
          const rng = new Rng(m * 1000 + k * 10 + n + (transposeA ? 7 : 0) + (transposeB ? 13 : 0));
          for (const [i, { name, aBatch, bBatch }] of batches.entries()) {
            const a = randTensor(rng, [...aBatch, ...(transposeA ? [k, m] : [m, k])]);
            const b = randTensor(rng, [...bBatch, ...(transposeB ? [n, k] : [k, n])]);
            const options = i % 2 === 0 ? { transposeA, transposeB } : { transposeA, transposeB, alpha: -0.37 };
            const got = matmul(a, b, options);
            const want = reference.matmul(a, b, options);
            expect(got.shape, name).toEqual([...aBatch, m, n]);
            expectClose(got.data, want.data, `${name} alpha=${options.alpha ?? 1}`);
          }
        });
      }
    }
  }

  it('accepts views at a nonzero byteOffset and leaves inputs untouched', () => {
    const rng = new Rng(5);
    const a = randTensor(rng, [2, 7, 33]);
    const b = randTensor(rng, [2, 33, 3]);
    const av = { data: offsetView(a.data), shape: a.shape };
    const bv = { data: offsetView(b.data), shape: b.shape };
    const aCopy = av.data.slice(), bCopy = bv.data.slice();
    const got = matmul(av, bv);
    expectClose(got.data, reference.matmul(a, b).data, 'offset views');
    expect(av.data).toEqual(aCopy);
    expect(bv.data).toEqual(bCopy);
    expect(got.data.buffer).not.toBe(av.data.buffer);
  });

  it('writes into options.out (whatever it held, including NaN) and returns it as the data', () => {
    const rng = new Rng(6);
    const a = randTensor(rng, [3, 33, 7]);
    const b = randTensor(rng, [7, 129]);
    for (const matmulOf of [matmul, reference.matmul]) {
      const out = offsetView(new Float32Array(3 * 33 * 129).fill(NaN));
      const got = matmulOf(a, b, { transposeA: false, alpha: 0.5, out });
      expect(got.data).toBe(out);
      expect(got.shape).toEqual([3, 33, 129]);
      expectClose(out, reference.matmul(a, b, { alpha: 0.5 }).data, 'into out');
    }
  });
});

describe('maskedSoftmax', () => {
  // x is [B, H, L, S]; every case is checked against the reference, then its blocked rows.
  interface Case {
    name: string; shape: number[]; inputScale?: number; scale?: number; isCausal?: boolean;
    mask?: (rng: Rng) => M; keyPaddingMask?: (rng: Rng) => M;
    blockedRows?: number[]; // flat [B*H*L] row indices that must come out all zero
  }
  const cases: Case[] = [
    { name: 'no mask 1x1x1x1', shape: [1, 1, 1, 1] },
    { name: 'no mask, scale', shape: [2, 3, 7, 33], scale: 0.125 },
    { name: 'inputs x30', shape: [2, 2, 7, 129], inputScale: 30 },
    { name: 'inputs x30, scale 3', shape: [1, 3, 3, 33], inputScale: 30, scale: 3 },
    { name: 'bool [L,S]', shape: [2, 3, 7, 33], mask: (r) => boolMask(r, [7, 33], 0.4) },
    { name: 'bool full shape', shape: [2, 3, 7, 9], mask: (r) => boolMask(r, [2, 3, 7, 9], 0.5) },
    { name: 'additive finite [L,S]', shape: [1, 2, 33, 33], mask: (r) => additiveMask(r, [33, 33]) },
    { name: 'additive -Infinity [L,S]', shape: [2, 1, 7, 129], mask: (r) => additiveMask(r, [7, 129], 0.3) },
    { name: 'additive full shape with -Infinity', shape: [2, 2, 3, 7], mask: (r) => additiveMask(r, [2, 2, 3, 7], 0.3) },
    { name: 'key padding bool', shape: [3, 2, 7, 33], keyPaddingMask: () => paddingBool(33, [33, 1, 17]) },
    { name: 'key padding additive', shape: [2, 2, 7, 9], keyPaddingMask: (r) => paddingAdditive(r, 9, [9, 4]) },
    { name: 'causal L==S', shape: [2, 2, 33, 33], isCausal: true },
    { name: 'causal L<S', shape: [1, 3, 7, 33], isCausal: true },
    {
      name: 'causal L>S', shape: [2, 1, 33, 7], isCausal: true,
      blockedRows: [...Array(26).keys(), ...Array(26).keys()].map((l, i) => (i < 26 ? 0 : 33) + l),
    },
    {
      name: 'causal + bool [L,S] + key padding + scale', shape: [2, 3, 7, 9], isCausal: true, scale: 0.5,
      mask: (r) => boolMask(r, [7, 9], 0.3), keyPaddingMask: () => paddingBool(9, [9, 5]),
    },
    {
      name: 'additive full shape + key padding additive + causal', shape: [2, 2, 9, 9], isCausal: true,
      mask: (r) => additiveMask(r, [2, 2, 9, 9], 0.2), keyPaddingMask: (r) => paddingAdditive(r, 9, [3, 9]),
    },
    {
      name: 'fully blocked rows: bool row', shape: [2, 2, 7, 33],
      mask: (r) => blockRow(blockRow(boolMask(r, [7, 33], 0.3), 0), 5), blockedRows: [0, 5, 7, 12, 14, 19, 21, 26],
    },
    {
      name: 'fully blocked rows: -Infinity row', shape: [1, 2, 3, 7],
      mask: (r) => blockRow(additiveMask(r, [1, 2, 3, 7]), 4), blockedRows: [4],
    },
    {
      name: 'fully blocked rows: whole sequence padded', shape: [3, 2, 7, 9],
      keyPaddingMask: () => paddingBool(9, [9, 0, 3]), blockedRows: [...Array(14).keys()].map((i) => 14 + i),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rng = new Rng(numel(c.shape) + c.name.length);
      const x = randTensor(rng, c.shape, c.inputScale ?? 1);
      const options = {
        scale: c.scale, isCausal: c.isCausal, mask: c.mask?.(rng), keyPaddingMask: c.keyPaddingMask?.(rng),
      };
      const got = maskedSoftmax(x, options);
      const want = reference.maskedSoftmax(x, options);
      expect(got.shape).toEqual(c.shape);
      expect(hasNaN(want.data), 'reference has NaN').toBe(false);
      expectClose(got.data, want.data, c.name);
      const S = c.shape[3];
      for (const row of c.blockedRows ?? []) {
        expect(rowIsZero(got.data, row, S), `row ${row} is all zero`).toBe(true);
      }
      // Every row that is not fully blocked sums to 1.
      const blocked = new Set(c.blockedRows ?? []);
      for (let row = 0; row < numel(c.shape) / S; row++) {
        if (blocked.has(row)) continue;
        let sum = 0;
        for (let s = 0; s < S; s++) sum += got.data[row * S + s];
        if (!rowIsZero(want.data, row, S)) expect(sum, `row ${row} sum`).toBeCloseTo(1, 5);
      }
    });
  }

  it('writes into options.out, or in place into x.data, and returns it as the data', () => {
    const rng = new Rng(12);
    const shape = [2, 3, 7, 129];
    const options = { scale: 0.125, isCausal: true, mask: boolMask(rng, [7, 129], 0.3), keyPaddingMask: paddingBool(129, [129, 33]) };
    const x = randTensor(rng, shape, 30);
    const want = reference.maskedSoftmax(x, options).data;
    for (const softmaxOf of [maskedSoftmax, reference.maskedSoftmax]) {
      const out = offsetView(new Float32Array(numel(shape)).fill(NaN));
      const got = softmaxOf(x, { ...options, out });
      expect(got.data).toBe(out);
      expect(got.shape).toEqual(shape);
      expectClose(out, want, 'into out');
      const inPlace = { data: offsetView(x.data), shape };
      // another view of x's memory counts as in place too
      const alias = new Float32Array(inPlace.data.buffer, inPlace.data.byteOffset, inPlace.data.length);
      expect(softmaxOf(inPlace, { ...options, out: alias }).data).toBe(alias);
      expectClose(inPlace.data, want, 'in place');
    }
  });

  it('takes x of rank 2 and 3 with an [L, S] mask', () => {
    const rng = new Rng(11);
    for (const shape of [[7, 33], [3, 7, 33]]) {
      const x = randTensor(rng, shape);
      const mask = boolMask(rng, [7, 33], 0.5);
      expectClose(maskedSoftmax(x, { mask }).data, reference.maskedSoftmax(x, { mask }).data, `rank ${shape.length}`);
    }
  });
});

describe('scaledDotProductAttention', () => {
  interface Case { B: number; H: number; L: number; S: number; D: number; Dv: number }
  const shapes: Case[] = [
    { B: 1, H: 1, L: 1, S: 1, D: 1, Dv: 1 },
    { B: 2, H: 3, L: 7, S: 33, D: 8, Dv: 8 },
    { B: 1, H: 2, L: 33, S: 7, D: 12, Dv: 3 },
    { B: 2, H: 1, L: 33, S: 129, D: 64, Dv: 64 },
    { B: 1, H: 2, L: 17, S: 33, D: 80, Dv: 7 },
    { B: 3, H: 1, L: 3, S: 3, D: 1, Dv: 33 },
    { B: 1, H: 1, L: 129, S: 129, D: 8, Dv: 12 },
  ];
  type MaskKind = 'none' | 'bool [L,S]' | 'additive [L,S]' | 'bool full' | 'additive full with -Infinity';
  const maskKinds: MaskKind[] = ['none', 'bool [L,S]', 'additive [L,S]', 'bool full', 'additive full with -Infinity'];
  function makeMask(rng: Rng, kind: MaskKind, c: Case): M | undefined {
    switch (kind) {
      case 'none': return undefined;
      case 'bool [L,S]': return boolMask(rng, [c.L, c.S], 0.3);
      case 'additive [L,S]': return additiveMask(rng, [c.L, c.S]);
      case 'bool full': return boolMask(rng, [c.B, c.H, c.L, c.S], 0.3);
      case 'additive full with -Infinity': return additiveMask(rng, [c.B, c.H, c.L, c.S], 0.3);
    }
  }
  for (const c of shapes) {
    const { B, H, L, S, D, Dv } = c;
    it(`B=${B} H=${H} L=${L} S=${S} D=${D} Dv=${Dv}, every mask kind with and without causal`, () => {
      const rng = new Rng(B * 7 + H * 11 + L * 13 + S * 17 + D * 19 + Dv);
      const q = randTensor(rng, [B, H, L, D]);
      const k = randTensor(rng, [B, H, S, D]);
      const v = randTensor(rng, [B, H, S, Dv]);
      for (const kind of maskKinds) {
        for (const isCausal of [false, true]) {
          const attnMask = makeMask(rng, kind, c);
          const options = { attnMask, isCausal, scale: kind === 'bool full' ? 0.3 : undefined };
          const got = scaledDotProductAttention(q, k, v, options);
          const want = reference.scaledDotProductAttention(q, k, v, options);
          expect(got.shape).toEqual([B, H, L, Dv]);
          expectClose(got.data, want.data, `${kind} causal=${isCausal}`);
        }
      }
    });
  }

  it('writes into options.out (whatever it held, including NaN) and returns it as the data', () => {
    const rng = new Rng(4);
    const [B, H, L, S, D, Dv] = [2, 3, 33, 129, 64, 7];
    const q = randTensor(rng, [B, H, L, D]), k = randTensor(rng, [B, H, S, D]), v = randTensor(rng, [B, H, S, Dv]);
    // row 5 blocked everywhere: its zero context must be written, not left as NaN
    const options = { attnMask: blockRow(boolMask(rng, [L, S], 0.3), 5), isCausal: true };
    const want = reference.scaledDotProductAttention(q, k, v, options).data;
    for (const attentionOf of [scaledDotProductAttention, reference.scaledDotProductAttention]) {
      const out = offsetView(new Float32Array(B * H * L * Dv).fill(NaN));
      const got = attentionOf(q, k, v, { ...options, out });
      expect(got.data).toBe(out);
      expect(got.shape).toEqual([B, H, L, Dv]);
      expectClose(out, want, 'into out');
    }
  });

  it('fully blocked rows give a zero context row', () => {
    const rng = new Rng(3);
    const [B, H, L, S, D, Dv] = [2, 2, 7, 5, 8, 3];
    const q = randTensor(rng, [B, H, L, D]), k = randTensor(rng, [B, H, S, D]), v = randTensor(rng, [B, H, S, Dv]);
    const attnMask = blockRow(boolMask(rng, [L, S], 0.2), 6);
    // L > S with causal: the first L - S = 2 query rows see no key.
    const got = scaledDotProductAttention(q, k, v, { attnMask, isCausal: true });
    expectClose(got.data, reference.scaledDotProductAttention(q, k, v, { attnMask, isCausal: true }).data, 'blocked');
    expect(hasNaN(got.data)).toBe(false);
    for (let bh = 0; bh < B * H; bh++) {
      for (const l of [0, 1, 6]) expect(rowIsZero(got.data, bh * L + l, Dv), `bh=${bh} l=${l}`).toBe(true);
    }
  });
});

describe('MultiHeadAttention native vs reference', () => {
  interface Case {
    name: string; B: number; L: number; S: number; E: number; H: number; kDim?: number; vDim?: number;
    bias?: boolean; self?: boolean; isCausal?: boolean;
    attnMask?: (rng: Rng, c: Case) => M; keyPaddingMask?: (rng: Rng, c: Case) => M;
    blockedRows?: [number, number][]; // [b, l] query rows with every key blocked (in every head)
  }
  const cases: Case[] = [
    { name: 'self-attention', B: 2, L: 7, S: 7, E: 16, H: 4, self: true },
    { name: 'self-attention E=3 H=1 L=1', B: 1, L: 1, S: 1, E: 3, H: 1, self: true },
    { name: 'self-attention headDim 64', B: 1, L: 33, S: 33, E: 128, H: 2, self: true },
    { name: 'self-attention headDim 80 H=1', B: 2, L: 17, S: 17, E: 80, H: 1, self: true },
    { name: 'self-attention headDim 1', B: 2, L: 7, S: 7, E: 7, H: 7, self: true },
    // a few tokens against wide projections (decode-sized): short row tiles, split by columns
    { name: 'few tokens, wide projections: B=5 L=1 E=256', B: 5, L: 1, S: 1, E: 256, H: 4, self: true },
    { name: 'few tokens, wide projections: B=1 L=3 S=13 E=256', B: 1, L: 3, S: 13, E: 256, H: 4 },
    // a few rows over heads whose columns start on every kernel set's panels: one part of the heads per thread
    {
      name: 'head parts: E=256 H=4, causal, attnMask bool [B,H,L,S]', B: 2, L: 33, S: 33, E: 256, H: 4, self: true,
      isCausal: true, attnMask: (r, c) => boolMask(r, [c.B, c.H, c.L, c.S], 0.3),
    },
    {
      name: 'head parts: E=128 H=4 cross, attnMask additive [B*H,L,S], key padding', B: 2, L: 7, S: 63, E: 128, H: 4,
      kDim: 33, vDim: 7, attnMask: (r, c) => additiveMask(r, [c.B * c.H, c.L, c.S], 0.2),
      keyPaddingMask: (_r, c) => paddingBool(c.S, [63, 20]),
    },
    { name: 'cross kDim != vDim != E', B: 2, L: 7, S: 33, E: 24, H: 3, kDim: 7, vDim: 33 },
    { name: 'cross same dims L>S', B: 3, L: 33, S: 3, E: 12, H: 2 },
    { name: 'bias off, self', B: 2, L: 9, S: 9, E: 16, H: 2, bias: false, self: true },
    { name: 'bias off, cross kDim/vDim', B: 1, L: 3, S: 129, E: 12, H: 3, kDim: 5, vDim: 1, bias: false },
    { name: 'attnMask bool [L,S]', B: 2, L: 7, S: 33, E: 16, H: 4, attnMask: (r, c) => boolMask(r, [c.L, c.S], 0.4) },
    { name: 'attnMask additive [L,S] finite', B: 2, L: 7, S: 9, E: 16, H: 2, attnMask: (r, c) => additiveMask(r, [c.L, c.S]) },
    {
      name: 'attnMask additive [L,S] with -Infinity', B: 2, L: 9, S: 9, E: 16, H: 2, self: true,
      attnMask: (r, c) => additiveMask(r, [c.L, c.S], 0.3),
    },
    {
      name: 'attnMask bool per head [B*H,L,S]', B: 2, L: 7, S: 9, E: 24, H: 3,
      attnMask: (r, c) => boolMask(r, [c.B * c.H, c.L, c.S], 0.4),
    },
    {
      name: 'attnMask additive per head [B*H,L,S]', B: 2, L: 3, S: 7, E: 12, H: 3,
      attnMask: (r, c) => additiveMask(r, [c.B * c.H, c.L, c.S], 0.2),
    },
    {
      name: 'attnMask bool [B,H,L,S]', B: 2, L: 7, S: 7, E: 16, H: 4, self: true,
      attnMask: (r, c) => boolMask(r, [c.B, c.H, c.L, c.S], 0.4),
    },
    {
      name: 'attnMask additive [B,H,L,S]', B: 1, L: 5, S: 33, E: 16, H: 2,
      attnMask: (r, c) => additiveMask(r, [c.B, c.H, c.L, c.S], 0.2),
    },
    {
      name: 'attnMask bool [B,1,L,S]', B: 3, L: 7, S: 9, E: 16, H: 4,
      attnMask: (r, c) => boolMask(r, [c.B, 1, c.L, c.S], 0.4),
    },
    {
      name: 'attnMask additive [B,1,L,S]', B: 2, L: 7, S: 7, E: 8, H: 2, self: true,
      attnMask: (r, c) => additiveMask(r, [c.B, 1, c.L, c.S], 0.2),
    },
    { name: 'key padding bool', B: 3, L: 7, S: 33, E: 16, H: 2, keyPaddingMask: (_r, c) => paddingBool(c.S, [33, 1, 20]) },
    {
      name: 'key padding additive', B: 2, L: 5, S: 9, E: 16, H: 4,
      keyPaddingMask: (r, c) => paddingAdditive(r, c.S, [9, 2]),
    },
    { name: 'causal L==S', B: 2, L: 33, S: 33, E: 16, H: 2, self: true, isCausal: true },
    { name: 'causal L<S', B: 2, L: 7, S: 33, E: 16, H: 4, isCausal: true },
    {
      name: 'causal L>S (first rows blocked)', B: 2, L: 9, S: 4, E: 8, H: 2, isCausal: true,
      blockedRows: [0, 1, 2, 3, 4].flatMap((l) => [[0, l], [1, l]] as [number, number][]),
    },
    {
      name: 'causal + key padding + bool [B,H,L,S]', B: 2, L: 7, S: 7, E: 12, H: 3, self: true, isCausal: true,
      keyPaddingMask: (_r, c) => paddingBool(c.S, [7, 4]), attnMask: (r, c) => boolMask(r, [c.B, c.H, c.L, c.S], 0.2),
    },
    {
      name: 'key padding additive + additive [L,S] + causal L<S', B: 2, L: 3, S: 9, E: 16, H: 2, isCausal: true,
      keyPaddingMask: (r, c) => paddingAdditive(r, c.S, [9, 6]), attnMask: (r, c) => additiveMask(r, [c.L, c.S], 0.1),
    },
    {
      name: 'fully blocked rows: padded sequence and blocked mask row', B: 3, L: 7, S: 9, E: 16, H: 2,
      keyPaddingMask: (_r, c) => paddingBool(c.S, [9, 0, 5]),
      attnMask: (r, c) => blockRow(boolMask(r, [c.L, c.S], 0.2), 3),
      blockedRows: [[0, 3], [2, 3], ...[...Array(7).keys()].map((l) => [1, l] as [number, number])],
    },
    {
      name: 'fully blocked rows: -Infinity row in [B*H,L,S] for every head', B: 1, L: 5, S: 7, E: 8, H: 2,
      attnMask: (r, c) => blockRow(blockRow(additiveMask(r, [c.B * c.H, c.L, c.S], 0.1), 2), 5 + 2),
      blockedRows: [[0, 2]],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const { B, L, S, E, H } = c;
      const kDim = c.kDim ?? E, vDim = c.vDim ?? E, bias = c.bias ?? true;
      const rng = new Rng(c.name.length * 31 + B + L + S + E + H);
      const weights = randWeights(rng, E, kDim, vDim, bias);
      const make = (backend: 'native' | 'reference') =>
        new MultiHeadAttention({ embedDim: E, numHeads: H, kDim, vDim, bias, weights, backend });
      const native = make('native'), ref = make('reference');
      expect(native.headDim).toBe(E / H);
      const query = randTensor(rng, [B, L, E]);
      const key: T = c.self ? query : randTensor(rng, [B, S, kDim]);
      const value: T = c.self ? query : randTensor(rng, [B, S, vDim]);
      const base = { attnMask: c.attnMask?.(rng, c), keyPaddingMask: c.keyPaddingMask?.(rng, c), isCausal: c.isCausal };
      for (const [needWeights, averageAttnWeights] of [[false, true], [true, true], [true, false]]) {
        const options = { ...base, needWeights, averageAttnWeights };
        const label = `needWeights=${needWeights} average=${averageAttnWeights}`;
        const got = native.forward(query, key, value, options);
        const want = ref.forward(query, key, value, options);
        expect(got.output.shape).toEqual([B, L, E]);
        expect(hasNaN(want.output.data), 'reference output has NaN').toBe(false);
        expectClose(got.output.data, want.output.data, `output ${label}`);
        if (!needWeights) {
          expect(got.attnWeights).toBeUndefined();
          continue;
        }
        expect(got.attnWeights!.shape).toEqual(averageAttnWeights ? [B, L, S] : [B, H, L, S]);
        expectClose(got.attnWeights!.data, want.attnWeights!.data, `weights ${label}`);
        for (const [b, l] of c.blockedRows ?? []) {
          const outBias = weights.outBias ?? new Float32Array(E);
          const row = got.output.data.subarray((b * L + l) * E, (b * L + l + 1) * E);
          for (let e = 0; e < E; e++) {
            expect(Math.abs(row[e] - outBias[e]), `output row b=${b} l=${l} is outBias (e=${e})`).toBeLessThanOrEqual(1e-6);
          }
          const heads = averageAttnWeights ? 1 : H;
          for (let h = 0; h < heads; h++) {
            expect(rowIsZero(got.attnWeights!.data, (b * heads + h) * L + l, S), `weights b=${b} h=${h} l=${l}`).toBe(true);
          }
        }
      }
    });
  }

  it('default weights from the same seed agree across backends', () => {
    const rng = new Rng(99);
    const opts = { embedDim: 24, numHeads: 4, kDim: 7, vDim: 3, seed: 1234 };
    const native = new MultiHeadAttention({ ...opts, backend: 'native' });
    const ref = new MultiHeadAttention({ ...opts, backend: 'reference' });
    const q = randTensor(rng, [2, 3, 24]), k = randTensor(rng, [2, 5, 7]), v = randTensor(rng, [2, 5, 3]);
    const got = native.forward(q, k, v, { needWeights: true });
    const want = ref.forward(q, k, v, { needWeights: true });
    expectClose(got.output.data, want.output.data, 'output');
    expectClose(got.attnWeights!.data, want.attnWeights!.data, 'weights');
  });

  it('inputs given as views at a nonzero byteOffset give the same result and stay untouched', () => {
    const rng = new Rng(7);
    const [B, L, S, E, H] = [2, 7, 9, 16, 4];
    const weights = randWeights(rng, E, E, E, true);
    const native = new MultiHeadAttention({ embedDim: E, numHeads: H, weights });
    const q = randTensor(rng, [B, L, E]), k = randTensor(rng, [B, S, E]), v = randTensor(rng, [B, S, E]);
    const mask = boolMask(rng, [L, S], 0.3);
    const views = [q, k, v].map((t) => ({ data: offsetView(t.data), shape: t.shape }));
    const maskView = { data: offsetView(mask.data as Uint8Array), shape: mask.shape };
    const before = views.map((t) => t.data.slice());
    const got = native.forward(views[0], views[1], views[2], { attnMask: maskView, needWeights: true });
    const want = native.forward(q, k, v, { attnMask: mask, needWeights: true });
    expect(got.output.data).toEqual(want.output.data);
    expect(got.attnWeights!.data).toEqual(want.attnWeights!.data);
    views.forEach((t, i) => expect(t.data).toEqual(before[i]));
  });

  it('every pool size (1, 2, 3 threads) matches the reference', () => {
    const rng = new Rng(21);
    const [B, L, S, E, H] = [3, 33, 65, 48, 6];
    const weights = randWeights(rng, E, 7, 33, true);
    const opts = { embedDim: E, numHeads: H, kDim: 7, vDim: 33, weights };
    const native = new MultiHeadAttention(opts), ref = new MultiHeadAttention({ ...opts, backend: 'reference' });
    const q = randTensor(rng, [B, L, E]), k = randTensor(rng, [B, S, 7]), v = randTensor(rng, [B, S, 33]);
    const options = { keyPaddingMask: paddingBool(S, [65, 30, 1]), isCausal: true, needWeights: true };
    const want = ref.forward(q, k, v, options);
    const saved = getNumThreads();
    try {
      for (const n of [1, 2, 3]) {
        setNumThreads(n);
        expect(getNumThreads()).toBe(n);
        const got = native.forward(q, k, v, options);
        expectClose(got.output.data, want.output.data, `${n} threads: output`);
        expectClose(got.attnWeights!.data, want.attnWeights!.data, `${n} threads: weights`);
      }
    } finally {
      setNumThreads(saved);
    }
  });
});
