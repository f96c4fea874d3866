// The attention variants (API.md "Attention variants") on the native backend against the
// TypeScript reference, on every kernel set (vitest.config.ts PARITY): the layer (forward and
// forwardAsync, without weights, averaged and per head), scaledDotProductAttention (grouped
// key/value heads), maskedSoftmax and rotaryEmbedding, over each option alone and the
// combinations models use, with awkward sizes and every mask kind. Criterion: relative L2
// error <= 2e-5 and no NaN; score rows with every key blocked (found from the API's rules by
// blockedRows, not from either backend) are exactly zero, and their output rows exactly outBias.
import { describe, expect, it } from 'vitest';
import {
  MultiHeadAttention, maskedSoftmax, reference, rotaryEmbedding, scaledDotProductAttention, type Tensor,
} from '../lib/index.js';
import { standardAlibiSlopes } from '../lib/alibi.js';
import {
  type M, type T, Rng, additiveMask, boolMask, expectClose, hasNaN, numel, offsetView, paddingBool, randTensor,
} from './helpers.js';
import {
  type LayerPair, type MaskKind, type Variant, MASK_KINDS, blockedInEveryHead, blockedRows, expectRowEquals,
  expectRowZero, layerPair, makeMasks, toTokenMajor,
} from './native-parity-helpers.js';

// ---------------------------------------------------------------------------------------------
// The layer

interface LayerCase {
  name: string;
  B: number; L: number; S: number; H: number; D: number;
  kDim?: number; vDim?: number; bias?: boolean; self?: boolean; isCausal?: boolean;
  variant: Variant;
  inputScale?: number;
  masks?: readonly MaskKind[];       // one run per kind; default ['none']
  /** Fully blocked query rows (every head) the case must produce with mask 'none'. */
  blockedWithoutMask?: number;
}

const ALL_MASKS = MASK_KINDS;
const FEW_MASKS: MaskKind[] = ['none', 'bool [B*H,L,S]', 'additive [L,S] with -Infinity', 'key padding bool'];

const layerCases: LayerCase[] = [
  // grouped-query heads
  { name: 'GQA 4/1, head 5, self L=S=7', B: 2, L: 7, S: 7, H: 4, D: 5, self: true, variant: { numKvHeads: 1 }, masks: ALL_MASKS },
  {
    name: 'GQA 6/2, head 8, cross L=3 S=33 kDim=7 vDim=13', B: 2, L: 3, S: 33, H: 6, D: 8, kDim: 7, vDim: 13,
    variant: { numKvHeads: 2 }, masks: FEW_MASKS,
  },
  { name: 'GQA 12/4, head 8, self L=S=33 causal', B: 1, L: 33, S: 33, H: 12, D: 8, self: true, isCausal: true, variant: { numKvHeads: 4 }, masks: ['none', 'additive [B,H,L,S] with -Infinity'] },
  { name: 'GQA 4/1, head 64, self L=S=129 causal', B: 1, L: 129, S: 129, H: 4, D: 64, self: true, isCausal: true, variant: { numKvHeads: 1 } },
  { name: 'GQA 4/1, head 80, cross L=33 S=129', B: 1, L: 33, S: 129, H: 4, D: 80, variant: { numKvHeads: 1 } },
  { name: 'GQA 4/1 + RoPE + ALiBi, L=3 > S=1 causal: the first 2 rows see no key', B: 2, L: 3, S: 1, H: 4, D: 5, isCausal: true, variant: { numKvHeads: 1, rotary: { dim: 4 }, alibi: true }, blockedWithoutMask: 2 * 2 },
  { name: 'GQA 6/2 + window 0/0 + softcap, L=S=1', B: 3, L: 1, S: 1, H: 6, D: 8, self: true, variant: { numKvHeads: 2, window: { left: 0, right: 0 }, softcap: 1 }, masks: ['none', 'key padding bool'] },
  // scale
  { name: 'scale 0.37, L=7 > S=3', B: 2, L: 7, S: 3, H: 4, D: 5, variant: { scale: 0.37 }, masks: ['none', 'bool [L,S]', 'key padding bool'] },
  { name: 'negative scale, head 1, H=5, self L=S=33 causal', B: 1, L: 33, S: 33, H: 5, D: 1, self: true, isCausal: true, variant: { scale: -0.8 } },
  // softcap
  { name: 'softcap 2, scores x3, L=S=33', B: 2, L: 33, S: 33, H: 6, D: 8, inputScale: 3, variant: { softcap: 2 }, masks: ['none', 'additive [L,S] with -Infinity'] },
  { name: 'softcap 0.5, scores x5, L=1 S=129', B: 3, L: 1, S: 129, H: 4, D: 5, inputScale: 5, variant: { softcap: 0.5 }, masks: ['none', 'key padding additive'] },
  // ALiBi
  {
    name: 'ALiBi explicit slopes (zero, negative, > 1), L=7 S=33', B: 2, L: 7, S: 33, H: 4, D: 8,
    variant: { alibi: Float32Array.from([0.5, 0, -0.25, 2]) }, masks: ['none', 'bool [B,1,L,S]'],
  },
  { name: 'ALiBi default slopes H=6, self L=S=33 causal', B: 2, L: 33, S: 33, H: 6, D: 5, self: true, isCausal: true, variant: { alibi: true } },
  { name: 'ALiBi default slopes H=12, head 1, L=3 S=129', B: 1, L: 3, S: 129, H: 12, D: 1, variant: { alibi: true } },
  { name: 'ALiBi default slopes H=1, L=S=7', B: 2, L: 7, S: 7, H: 1, D: 8, variant: { alibi: true }, masks: ['none', 'key padding bool'] },
  // sliding window
  { name: 'window right 0 (causal-like), no isCausal, L=S=33', B: 2, L: 33, S: 33, H: 4, D: 8, self: true, variant: { window: { right: 0 } } },
  { name: 'window left 3 only, L=S=33', B: 2, L: 33, S: 33, H: 4, D: 8, self: true, variant: { window: { left: 3 } }, masks: FEW_MASKS },
  { name: 'window left 2 right 1, L=7 < S=33', B: 2, L: 7, S: 33, H: 4, D: 5, variant: { window: { left: 2, right: 1 } }, masks: FEW_MASKS },
  {
    name: 'window 0/0 (diagonal), L=33 > S=7: the first 26 rows see no key', B: 2, L: 33, S: 7, H: 4, D: 5,
    variant: { window: { left: 0, right: 0 } }, blockedWithoutMask: 2 * 26,
  },
  { name: 'window larger than S (500/500), L=S=129', B: 1, L: 129, S: 129, H: 2, D: 8, self: true, variant: { window: { left: 500, right: 500 } } },
  { name: 'window left 40 over S=300 (whole tiles skipped), causal', B: 1, L: 33, S: 300, H: 2, D: 8, isCausal: true, variant: { window: { left: 40 } } },
  {
    name: 'window left 5 right 2 + causal, L=33 > S=7', B: 2, L: 33, S: 7, H: 4, D: 5, isCausal: true,
    variant: { window: { left: 5, right: 2 } }, blockedWithoutMask: 2 * 26,
  },
  // rotary
  { name: 'rotary half-split, full dim, self L=S=33 causal', B: 2, L: 33, S: 33, H: 4, D: 8, self: true, isCausal: true, variant: { rotary: {} } },
  { name: 'rotary interleaved, cross L=7 S=33 kDim=9', B: 2, L: 7, S: 33, H: 4, D: 8, kDim: 9, isCausal: true, variant: { rotary: { interleaved: true } } },
  { name: 'rotary partial dim 4 of head 5, base 500, L=33 > S=7', B: 2, L: 33, S: 7, H: 4, D: 5, variant: { rotary: { dim: 4, base: 500 } } },
  { name: 'rotary interleaved dim 2 of head 64, L=S=7', B: 2, L: 7, S: 7, H: 2, D: 64, self: true, variant: { rotary: { dim: 2, interleaved: true } } },
  { name: 'rotary head 80, H=1, L=S=33', B: 1, L: 33, S: 33, H: 1, D: 80, self: true, isCausal: true, variant: { rotary: { dim: 80 } } },
  {
    name: 'rotary at positions ~3000: L=3 S=3000 causal, GQA 2/1', B: 1, L: 3, S: 3000, H: 2, D: 8, isCausal: true,
    variant: { rotary: {}, numKvHeads: 1 },
  },
  {
    // 16 (entry, key/value head) pairs give every thread its items, so the keys are not split:
    // the query row streams them, read in place, through more than one tile (kInPlaceTileKeys)
    // (inputs x4: peaked rows, whose running max moves from tile to tile)
    name: 'decode L=1 over S=4100 keys, GQA 32/16 + RoPE, causal', B: 1, L: 1, S: 4100, H: 32, D: 4, isCausal: true,
    inputScale: 4, variant: { numKvHeads: 16, rotary: {} }, masks: ['none', 'key padding bool'],
  },
  // the combinations models use
  {
    name: 'Llama: GQA 12/4 + RoPE + causal, L=S=129', B: 1, L: 129, S: 129, H: 12, D: 8, self: true, isCausal: true,
    variant: { numKvHeads: 4, rotary: {} },
  },
  {
    name: 'Llama: GQA 6/2 + RoPE + causal, L=7 S=33 (a chunk after a prefix)', B: 3, L: 7, S: 33, H: 6, D: 8, isCausal: true,
    variant: { numKvHeads: 2, rotary: {} }, masks: ['none', 'key padding bool', 'key padding + bool [B,H,L,S]'],
  },
  {
    name: 'window + ALiBi: left 16, default slopes H=6, causal, L=S=129', B: 1, L: 129, S: 129, H: 6, D: 5, self: true,
    isCausal: true, variant: { window: { left: 16 }, alibi: true }, masks: ['none', 'bool [L,S]'],
  },
  {
    name: 'window + ALiBi: left 4 right 2, explicit slopes, L=33 S=7', B: 2, L: 33, S: 7, H: 4, D: 8,
    variant: { window: { left: 4, right: 2 }, alibi: Float32Array.from([1, 0.5, 0.25, 0.125]) }, blockedWithoutMask: 2 * 24,
  },
  {
    name: 'softcap + padding: softcap 50, scale 0.2, scores x4, L=S=33', B: 3, L: 33, S: 33, H: 4, D: 8, self: true,
    inputScale: 4, variant: { softcap: 50, scale: 0.2 }, masks: ['key padding bool', 'key padding additive', 'key padding + bool [B,H,L,S]'],
  },
  {
    name: 'everything: GQA 6/2 + interleaved RoPE dim 4 + ALiBi + window 2/1 + softcap 3 + scale 0.3 + causal, L=S=33',
    B: 2, L: 33, S: 33, H: 6, D: 8, self: true, isCausal: true, inputScale: 2,
    variant: {
      numKvHeads: 2, rotary: { dim: 4, interleaved: true }, alibi: Float32Array.from([0.5, 0.1, 0.2, 0, 1, 0.3]),
      window: { left: 2, right: 1 }, softcap: 3, scale: 0.3,
    },
    masks: ALL_MASKS,
  },
  {
    name: 'everything, cross L=7 S=33 kDim=5 vDim=11: GQA 4/1 + RoPE + default ALiBi + window 6/0 + softcap 2, causal',
    B: 3, L: 7, S: 33, H: 4, D: 5, kDim: 5, vDim: 11, isCausal: true,
    variant: { numKvHeads: 1, rotary: { dim: 4 }, alibi: true, window: { left: 6, right: 0 }, softcap: 2 },
    masks: FEW_MASKS,
  },
  {
    name: 'everything, cross L=33 S=7: GQA 12/4 + RoPE base 100 + default ALiBi + window 3/3 + softcap 1.5',
    B: 2, L: 33, S: 7, H: 12, D: 2, kDim: 3, vDim: 3,
    variant: { numKvHeads: 4, rotary: { base: 100 }, alibi: true, window: { left: 3, right: 3 }, softcap: 1.5 },
    masks: ['none', 'bool [B*H,L,S]'], blockedWithoutMask: 2 * 23,
  },
  {
    name: 'window 1/0 + key padding: late rows see only padding (no key)', B: 3, L: 7, S: 7, H: 6, D: 5, self: true,
    variant: { window: { left: 1, right: 0 }, numKvHeads: 3, rotary: { dim: 2 } },
    masks: ['key padding bool', 'key padding additive'],
  },
  {
    name: 'bias off, self (fused projections): GQA 6/2 + RoPE + causal, L=S=33', B: 2, L: 33, S: 33, H: 6, D: 8, self: true,
    isCausal: true, bias: false, variant: { numKvHeads: 2, rotary: {} }, masks: ['none', 'key padding bool'],
  },
  {
    name: 'bias off: GQA 4/1 + ALiBi + window 0/0, L=7 > S=3', B: 2, L: 7, S: 3, H: 4, D: 8, bias: false,
    variant: { numKvHeads: 1, alibi: true, window: { left: 0, right: 0 } }, blockedWithoutMask: 2 * 4,
  },
];

/** Native forward / forwardAsync against the reference; blocked rows exact. Returns the native
 * output without weights. */
async function checkLayerCall(pair: LayerPair, query: T, key: T, value: T, options: Record<string, unknown>,
  v: { isCausal?: boolean; window?: Variant['window']; masks: { attnMask?: M; keyPaddingMask?: M } }, label: string): Promise<{ output: Float32Array; blocked: number }> {
  const { native, ref, weights } = pair;
  const [B, L, E] = query.shape;
  const S = key.shape[1];
  const H = native.numHeads;
  const want = ref.forward(query, key, value, { ...options, needWeights: true, averageAttnWeights: false });
  const wantAvg = ref.forward(query, key, value, { ...options, needWeights: true });
  expect(hasNaN(want.output.data), `${label}: reference output has NaN`).toBe(false);

  const plain = native.forward(query, key, value, options);
  expect(plain.output.shape).toEqual([B, L, E]);
  expect(plain.attnWeights).toBeUndefined();
  expectClose(plain.output.data, want.output.data, `${label}: output`);
  const heads = native.forward(query, key, value, { ...options, needWeights: true, averageAttnWeights: false });
  expect(heads.attnWeights!.shape).toEqual([B, H, L, S]);
  expectClose(heads.output.data, want.output.data, `${label}: output (per-head weights)`);
  expectClose(heads.attnWeights!.data, want.attnWeights!.data, `${label}: per-head weights`);
  const avg = native.forward(query, key, value, { ...options, needWeights: true });
  expect(avg.attnWeights!.shape).toEqual([B, L, S]);
  expectClose(avg.output.data, want.output.data, `${label}: output (averaged weights)`);
  expectClose(avg.attnWeights!.data, wantAvg.attnWeights!.data, `${label}: averaged weights`);
  const async = await native.forwardAsync(query, key, value, options);
  expectClose(async.output.data, want.output.data, `${label}: forwardAsync output`);
  const asyncHeads = await native.forwardAsync(query, key, value, { ...options, needWeights: true, averageAttnWeights: false });
  expectClose(asyncHeads.attnWeights!.data, want.attnWeights!.data, `${label}: forwardAsync per-head weights`);

  const rows = blockedRows({ B, H, L, S, isCausal: v.isCausal, window: v.window, ...v.masks });
  for (let r = 0; r < rows.length; r++) {
    if (!rows[r]) continue;
    expectRowZero(heads.attnWeights!.data, r, S, `${label}: per-head weights of a blocked row`);
    expectRowZero(want.attnWeights!.data, r, S, `${label}: reference per-head weights of a blocked row`);
  }
  const outBias = weights.outBias ?? new Float32Array(E);
  const all = blockedInEveryHead(rows, B, H, L);
  for (const r of all) {
    for (const [what, out] of [['forward', plain], ['per-head', heads], ['averaged', avg], ['forwardAsync', async]] as const) {
      expectRowEquals(out.output.data, r, outBias, `${label}: ${what} output of a row with no key is outBias`);
    }
    expectRowZero(avg.attnWeights!.data, r, S, `${label}: averaged weights of a row with no key`);
  }
  return { output: plain.output.data, blocked: all.length };
}

describe('MultiHeadAttention variants: native vs reference', () => {
  for (const c of layerCases) {
    it(c.name, async () => {
      const { B, L, S, H, D } = c;
      const E = H * D;
      const kDim = c.kDim ?? E, vDim = c.vDim ?? E;
      const rng = new Rng(c.name.length * 977 + B * 31 + L * 7 + S + H * 3 + D);
      const pair = layerPair(rng, E, H, c.variant, kDim, vDim, c.bias ?? true);
      const scale = c.inputScale ?? 1;
      const query = randTensor(rng, [B, L, E], scale);
      const key: T = c.self ? query : randTensor(rng, [B, S, kDim], scale);
      const value: T = c.self ? query : randTensor(rng, [B, S, vDim]);
      for (const kind of c.masks ?? ['none']) {
        const masks = makeMasks(kind, rng, B, H, L, S);
        const { blocked } = await checkLayerCall(pair, query, key, value, { ...masks, isCausal: c.isCausal },
          { isCausal: c.isCausal, window: c.variant.window, masks }, kind);
        if (kind === 'none') expect(blocked, 'fully blocked rows without a mask').toBe(c.blockedWithoutMask ?? 0);
        if (kind === 'key padding bool' || kind === 'key padding additive') {
          if (B >= 3) expect(blocked, 'a sequence with no key gives fully blocked rows').toBeGreaterThanOrEqual(L);
        }
      }
    });
  }

  it('window right 0 equals isCausal; window larger than S equals no window (native)', () => {
    const rng = new Rng(6);
    const [B, L, S, H, D] = [2, 7, 33, 4, 8];
    const E = H * D;
    const query = randTensor(rng, [B, L, E]), key = randTensor(rng, [B, S, E]);
    // the same seed gives the same weights, whatever the variant
    const same = (variant: Variant) => layerPair(new Rng(5), E, H, variant).native;
    const windowed = same({ window: { right: 0 }, alibi: true }).forward(query, key, key).output.data;
    const causal = same({ alibi: true }).forward(query, key, key, { isCausal: true }).output.data;
    expectClose(windowed, causal, 'window right 0 vs isCausal');
    const wide = same({ window: { left: S, right: S } }).forward(query, key, key).output.data;
    const none = same({}).forward(query, key, key).output.data;
    expectClose(wide, none, 'window wider than S vs none');
  });
});

describe('edge values of the variant options', () => {
  it('windows of 2^31 - 1 (the largest) equal no window; ALiBi slopes and GQA weights given as views', () => {
    const rng = new Rng(12);
    const [B, H, Hkv, L, S, D] = [2, 4, 2, 7, 300, 8];
    const q = randTensor(rng, [B, H, L, D]), k = randTensor(rng, [B, Hkv, S, D]), v = randTensor(rng, [B, Hkv, S, D]);
    const huge = { left: 2 ** 31 - 1, right: 2 ** 31 - 1 };
    const none = reference.scaledDotProductAttention(q, k, v, { isCausal: true }).data;
    expectClose(scaledDotProductAttention(q, k, v, { isCausal: true, window: huge }).data, none, 'sdpa, huge window');
    const x = randTensor(rng, [B, H, L, S]);
    expectClose(maskedSoftmax(x, { window: huge }).data, reference.maskedSoftmax(x).data, 'softmax, huge window');
    // slopes as a view at a nonzero byteOffset into a larger array
    const slopes = offsetView(Float32Array.from([0.5, 0.25, 0, 2]));
    const copy = slopes.slice();
    expectClose(scaledDotProductAttention(q, k, v, { alibiSlopes: slopes, isCausal: true }).data,
      reference.scaledDotProductAttention(q, k, v, { alibiSlopes: copy, isCausal: true }).data, 'sdpa, slopes view');
    expectClose(maskedSoftmax(x, { alibiSlopes: slopes }).data, reference.maskedSoftmax(x, { alibiSlopes: copy }).data, 'softmax, slopes view');
    // a GQA layer whose weights (and slopes) are views; the reference gets copies
    const E = H * D;
    const pair = layerPair(rng, E, H, { numKvHeads: Hkv });
    const views = Object.fromEntries(Object.entries(pair.weights).map(([name, w]) => [name, offsetView(w as Float32Array)]));
    const variant = { numKvHeads: Hkv, alibi: slopes, window: { left: 5 }, rotary: {} };
    const native = new MultiHeadAttention({ embedDim: E, numHeads: H, weights: views as never, ...variant });
    const ref = new MultiHeadAttention({ embedDim: E, numHeads: H, weights: pair.weights, backend: 'reference', ...variant, alibi: copy });
    const query = randTensor(rng, [B, 33, E]);
    expectClose(native.forward(query, query, query, { isCausal: true }).output.data,
      ref.forward(query, query, query, { isCausal: true }).output.data, 'layer, weights as views');
  });
});

// ---------------------------------------------------------------------------------------------
// scaledDotProductAttention with Hkv heads and the score options

interface SdpaShape { B: number; H: number; Hkv: number; L: number; S: number; D: number; Dv: number; heavy?: boolean }
const sdpaShapes: SdpaShape[] = [
  { B: 1, H: 1, Hkv: 1, L: 1, S: 1, D: 1, Dv: 1 },
  { B: 2, H: 4, Hkv: 1, L: 7, S: 33, D: 5, Dv: 3 },
  { B: 1, H: 6, Hkv: 2, L: 33, S: 7, D: 8, Dv: 8 },
  { B: 2, H: 12, Hkv: 4, L: 3, S: 129, D: 8, Dv: 5 },
  { B: 1, H: 4, Hkv: 1, L: 129, S: 129, D: 64, Dv: 64, heavy: true },
  { B: 1, H: 2, Hkv: 1, L: 33, S: 33, D: 80, Dv: 80 },
  { B: 2, H: 6, Hkv: 2, L: 65, S: 300, D: 8, Dv: 8, heavy: true },   // several query blocks and key tiles
  { B: 1, H: 2, Hkv: 1, L: 1, S: 1100, D: 8, Dv: 8 },    // decode: keys split between threads
  { B: 3, H: 2, Hkv: 1, L: 1, S: 777, D: 16, Dv: 16 },
];

type ScoreOptions = {
  scale?: number; softcap?: number; alibiSlopes?: Float32Array; window?: { left?: number; right?: number }; isCausal?: boolean;
};

function scoreOptionSets(H: number, S: number): [string, ScoreOptions][] {
  const explicit = Float32Array.from({ length: H }, (_, h) => [0.5, 0, -0.125, 1.5, 0.03][h % 5]);
  return [
    ['plain', {}],
    ['scale 0.3', { scale: 0.3 }],
    ['softcap 1.5', { softcap: 1.5 }],
    ['ALiBi explicit slopes', { alibiSlopes: explicit }],
    ['ALiBi standard slopes + causal', { alibiSlopes: standardAlibiSlopes(H), isCausal: true }],
    ['window right 0', { window: { right: 0 } }],
    ['window left 3', { window: { left: 3 } }],
    ['window 2/1 + causal', { window: { left: 2, right: 1 }, isCausal: true }],
    ['window larger than S', { window: { left: S + 7, right: S + 7 } }],
    ['window 0/0', { window: { left: 0, right: 0 } }],
    ['window 40 + ALiBi + softcap + scale + causal', {
      window: { left: 40 }, alibiSlopes: standardAlibiSlopes(H), softcap: 2, scale: 0.4, isCausal: true,
    }],
  ];
}

const SDPA_MASKS = ['none', 'bool [L,S]', 'additive [L,S] with -Infinity', 'bool [B*H,L,S]',
  'additive [B,H,L,S] with -Infinity', 'bool [B,1,L,S]', 'bool [L,S], last row blocked'] as const;

describe('scaledDotProductAttention variants: native vs reference', () => {
  for (const sh of sdpaShapes) {
    const { B, H, Hkv, L, S, D, Dv } = sh;
    it(`B=${B} H=${H} Hkv=${Hkv} L=${L} S=${S} D=${D} Dv=${Dv}`, () => {
      const rng = new Rng(B * 7 + H * 11 + Hkv * 5 + L * 13 + S * 17 + D * 19 + Dv);
      const q = randTensor(rng, [B, H, L, D], 2);
      const k = randTensor(rng, [B, Hkv, S, D]);
      const v = randTensor(rng, [B, Hkv, S, Dv]);
      const sets = scoreOptionSets(H, S);
      const runs: [string, ScoreOptions, MaskKind][] = [];
      for (const [name, o] of sh.heavy ? [sets[0], sets[3], sets[10]] : sets) runs.push([name, o, 'none']);
      // every mask kind with everything at once, and with the plain rule
      for (const kind of SDPA_MASKS.slice(1)) {
        if (sh.heavy && kind !== 'bool [B*H,L,S]' && kind !== 'additive [B,H,L,S] with -Infinity') continue;
        runs.push([sets[10][0], sets[10][1], kind]);
        if (!sh.heavy) runs.push(['plain', {}, kind]);
      }
      for (const [name, o, kind] of runs) {
        const { attnMask } = makeMasks(kind, rng, B, H, L, S);
        const options = { ...o, attnMask };
        const label = `${name}, mask ${kind}`;
        const got = scaledDotProductAttention(q, k, v, options);
        const want = reference.scaledDotProductAttention(q, k, v, options);
        expect(got.shape).toEqual([B, H, L, Dv]);
        expect(hasNaN(want.data), `${label}: reference has NaN`).toBe(false);
        expectClose(got.data, want.data, label);
        const rows = blockedRows({ B, H, L, S, isCausal: o.isCausal, window: o.window, attnMask });
        for (let r = 0; r < rows.length; r++) if (rows[r]) expectRowZero(got.data, r, Dv, `${label}: blocked row`);
      }
    });
  }

  it('GQA equals MHA with the key/value heads repeated (native), and writes into options.out', () => {
    const rng = new Rng(8);
    const [B, H, Hkv, L, S, D] = [2, 6, 2, 33, 129, 8];
    const q = randTensor(rng, [B, H, L, D]), k = randTensor(rng, [B, Hkv, S, D]), v = randTensor(rng, [B, Hkv, S, 5]);
    const repeat = (x: Tensor): T => {
      const [, , n, d] = x.shape;
      const data = new Float32Array(B * H * n * d);
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          const g = Math.floor(h / (H / Hkv));
          data.set(x.data.subarray((b * Hkv + g) * n * d, (b * Hkv + g + 1) * n * d), (b * H + h) * n * d);
        }
      }
      return { data, shape: [B, H, n, d] };
    };
    const options = { isCausal: true, window: { left: 9 }, alibiSlopes: standardAlibiSlopes(H), softcap: 2 };
    const want = reference.scaledDotProductAttention(q, k, v, options).data;
    expectClose(scaledDotProductAttention(q, repeat(k), repeat(v), options).data, want, 'repeated heads');
    const out = offsetView(new Float32Array(B * H * L * 5 + 9).fill(NaN));
    const got = scaledDotProductAttention(q, k, v, { ...options, out });
    expect(got.data.buffer).toBe(out.buffer);
    expect(got.data.length).toBe(B * H * L * 5);
    expectClose(got.data, want, 'into out');
  });
});

// ---------------------------------------------------------------------------------------------
// maskedSoftmax with softcap, ALiBi and window

describe('maskedSoftmax variants: native vs reference', () => {
  const shapes = [[1, 1, 1, 1], [2, 3, 7, 33], [1, 4, 33, 7], [2, 2, 3, 129], [1, 2, 5, 300], [3, 1, 3, 3]];
  for (const shape of shapes) {
    const [B, H, L, S] = shape;
    it(`x [${shape}]: every score option alone and together, every mask kind`, () => {
      const rng = new Rng(numel(shape) + 3);
      const x = randTensor(rng, shape, 4);
      const runs: [string, ScoreOptions, MaskKind][] = [];
      const sets = scoreOptionSets(H, S);
      for (const [name, o] of sets) runs.push([name, o, 'none']);
      for (const kind of MASK_KINDS.slice(1)) {
        if (kind === 'bool [B*H,L,S]' || kind === 'bool [B,1,L,S]') continue;  // softmax masks: [L, S] or x's shape
        runs.push([sets[10][0], sets[10][1], kind]);
        runs.push(['softcap 1.5', sets[2][1], kind]);
      }
      for (const [name, o, kind] of runs) {
        const masks = makeMasks(kind, rng, B, H, L, S);
        const options = { ...o, mask: masks.attnMask, keyPaddingMask: masks.keyPaddingMask };
        const label = `${name}, mask ${kind}`;
        const got = maskedSoftmax(x, options);
        const want = reference.maskedSoftmax(x, options);
        expect(got.shape).toEqual(shape);
        expect(hasNaN(want.data), `${label}: reference has NaN`).toBe(false);
        expectClose(got.data, want.data, label);
        const rows = blockedRows({ B, H, L, S, isCausal: o.isCausal, window: o.window, ...masks });
        for (let r = 0; r < rows.length; r++) {
          if (rows[r]) {
            expectRowZero(got.data, r, S, `${label}: blocked row`);
            continue;
          }
          let sum = 0;
          for (let s = 0; s < S; s++) sum += got.data[r * S + s];
          expect(Math.abs(sum - 1), `${label}: row ${r} sums to 1`).toBeLessThan(1e-5);
        }
      }
    });
  }

  it('x of rank 2 and 3 with softcap and window; in place and into out', () => {
    const rng = new Rng(77);
    for (const shape of [[7, 33], [3, 33, 7]]) {
      const x = randTensor(rng, shape, 5);
      const [L, S] = shape.slice(-2);
      const options = { softcap: 1.2, window: { left: 2, right: 3 }, scale: 0.7, mask: boolMask(rng, [L, S], 0.2) };
      const want = reference.maskedSoftmax(x, options).data;
      expectClose(maskedSoftmax(x, options).data, want, `rank ${shape.length}`);
      const out = offsetView(new Float32Array(numel(shape)).fill(NaN));
      expect(maskedSoftmax(x, { ...options, out }).data).toBe(out);
      expectClose(out, want, `rank ${shape.length}, into out`);
      const inPlace = { data: x.data.slice(), shape };
      expect(maskedSoftmax(inPlace, { ...options, out: inPlace.data }).data).toBe(inPlace.data);
      expectClose(inPlace.data, want, `rank ${shape.length}, in place`);
    }
    const x = randTensor(rng, [2, 4, 7, 129], 10);
    const options = {
      alibiSlopes: standardAlibiSlopes(4), softcap: 3, window: { left: 5 }, isCausal: true,
      keyPaddingMask: paddingBool(129, [129, 4]), mask: additiveMask(rng, [2, 4, 7, 129], 0.1),
    };
    const want = reference.maskedSoftmax(x, options).data;
    const inPlace = { data: x.data.slice(), shape: x.shape };
    maskedSoftmax(inPlace, { ...options, out: inPlace.data });
    expectClose(inPlace.data, want, 'rank 4, in place, everything');
    expect(hasNaN(inPlace.data)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// rotaryEmbedding

describe('rotaryEmbedding: native vs reference', () => {
  const specs = [
    {}, { interleaved: true }, { dim: 2 }, { dim: 4, interleaved: true, base: 500 }, { base: 1e6 },
  ];
  const denseShapes = [[1, 1, 1, 2], [2, 3, 7, 8], [1, 2, 33, 6], [1, 1, 129, 64], [2, 2, 3, 80]];
  for (const shape of denseShapes) {
    it(`[B, H, L, D] = [${shape}]: every layout, default and explicit positions, out and in place`, () => {
      const rng = new Rng(numel(shape));
      const x = randTensor(rng, shape);
      const L = shape[2];
      const positionSets: (number[] | undefined)[] = [
        undefined,
        Array.from({ length: L }, (_, i) => 2997 + i),                          // a cache at ~3000
        Array.from({ length: L }, (_, i) => [100000, 17, 3, 2999.5, -4, 0, 65535][i % 7] + 13 * i),  // non-contiguous
      ];
      for (const spec of specs) {
        if ((spec.dim ?? 0) > shape[3]) continue;
        for (const positions of positionSets) {
          const options = { ...spec, positions };
          const label = `${JSON.stringify(spec)} positions ${positions ? positions.slice(0, 3) : 'default'}`;
          const want = reference.rotaryEmbedding(x, options);
          const got = rotaryEmbedding(x, options);
          expect(got.shape).toEqual(shape);
          expectClose(got.data, want.data, label);
          const out = offsetView(new Float32Array(numel(shape) + 4).fill(NaN));
          const into = rotaryEmbedding(x, { ...options, out });
          expect(into.data.buffer).toBe(out.buffer);
          expectClose(into.data, want.data, `${label}, into out`);
          const inPlace = { data: offsetView(x.data), shape };
          expect(rotaryEmbedding(inPlace, { ...options, out: inPlace.data }).data).toBe(inPlace.data);
          expectClose(inPlace.data, want.data, `${label}, in place`);
        }
      }
    });
  }

  it('packed [T, H, D]: positions restart per sequence of sequenceLengths (and equal the dense result)', () => {
    const rng = new Rng(31);
    const [H, D] = [3, 8];
    const lengths = [1, 3, 0, 7, 33];
    const T = lengths.reduce((a, b) => a + b, 0);
    const x = randTensor(rng, [T, H, D]);
    for (const spec of specs) {
      const want = reference.rotaryEmbedding(x, { ...spec, sequenceLengths: lengths });
      const got = rotaryEmbedding(x, { ...spec, sequenceLengths: lengths });
      expect(got.shape).toEqual([T, H, D]);
      expectClose(got.data, want.data, `${JSON.stringify(spec)} sequenceLengths`);
      const inPlace = { data: x.data.slice(), shape: [T, H, D] };
      rotaryEmbedding(inPlace, { ...spec, sequenceLengths: lengths, out: inPlace.data });
      expectClose(inPlace.data, want.data, `${JSON.stringify(spec)} sequenceLengths, in place`);
    }
    // The 33-token sequence alone, as dense [1, H, 33, D], rotates the same.
    const dense = randTensor(rng, [1, H, 33, D]);
    const packed = toTokenMajor(dense);
    expectClose(rotaryEmbedding(packed, { sequenceLengths: [33] }).data, toTokenMajor(rotaryEmbedding(dense)).data, 'packed vs dense');
  });

  it('packed [T, H, D] with explicit positions: large and non-contiguous', () => {
    const rng = new Rng(32);
    for (const [T, H, D] of [[1, 1, 2], [7, 4, 5], [129, 2, 64], [40, 12, 8]]) {
      const x = randTensor(rng, [T, H, D]);
      const positions = Array.from({ length: T }, (_, i) => (i % 3 === 0 ? 3000 + i : i % 3 === 1 ? 50000 - 7 * i : i * 0.5));
      for (const spec of specs) {
        if ((spec.dim ?? 0) > D || (spec.dim === undefined && D % 2 !== 0)) continue;
        const options = { ...spec, positions };
        const want = reference.rotaryEmbedding(x, options);
        expectClose(rotaryEmbedding(x, options).data, want.data, `[${T}, ${H}, ${D}] ${JSON.stringify(spec)}`);
        const out = new Float32Array(T * H * D).fill(NaN);
        rotaryEmbedding(x, { ...options, out });
        expectClose(out, want.data, `[${T}, ${H}, ${D}] ${JSON.stringify(spec)} into out`);
      }
    }
  });
});
