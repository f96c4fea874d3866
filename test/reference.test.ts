// The TypeScript reference against small cases computed by hand (expected values are
// written out or follow from a one-line formula, never from the reference itself).
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention, reference, type Mask, type Tensor } from '../lib/index.js';
import { defaultWeights } from '../lib/init.js';
import { attnMaskDescriptor, keyPaddingDescriptor } from '../lib/masks.js';

const t = (data: number[], shape: number[]): Tensor => ({ data: Float32Array.from(data), shape });
const bool = (data: number[], shape: number[]): Mask => ({ data: Uint8Array.from(data), shape });
const additive = (data: number[], shape: number[]): Mask => ({ data: Float32Array.from(data), shape });

function expectValues(actual: ArrayLike<number>, expected: number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual[i], `element ${i}`).toBeCloseTo(v, digits));
}

describe('reference.matmul', () => {
  it('multiplies 2x2 matrices', () => {
    const c = reference.matmul(t([1, 2, 3, 4], [2, 2]), t([5, 6, 7, 8], [2, 2]));
    expect(c.shape).toEqual([2, 2]);
    expectValues(c.data, [19, 22, 43, 50]);
  });

  it('applies transposeA, transposeB and alpha', () => {
    // a^T = [[1, 3], [2, 4]], b^T = [[5, 7], [6, 8]]: a^T b^T = [[23, 31], [34, 46]].
    const c = reference.matmul(t([1, 2, 3, 4], [2, 2]), t([5, 6, 7, 8], [2, 2]),
      { transposeA: true, transposeB: true, alpha: 0.5 });
    expectValues(c.data, [11.5, 15.5, 17, 23]);
  });

  it('shares a rank-2 b across the batch and keeps batch dims', () => {
    // a [2, 1, 3] rows [1, 2, 3] and [4, 5, 6]; b [3, 2] = [[1, 0], [0, 1], [1, 1]].
    const c = reference.matmul(t([1, 2, 3, 4, 5, 6], [2, 1, 3]), t([1, 0, 0, 1, 1, 1], [3, 2]));
    expect(c.shape).toEqual([2, 1, 2]);
    expectValues(c.data, [4, 5, 10, 11]);
  });

  it('uses one b per batch entry when b is batched (non-square shapes)', () => {
    // a [2, 1, 2], b [2, 2, 3]: batch 0 = [1, 1] @ [[1,2,3],[4,5,6]], batch 1 = [2, 0] @ [[1,0,0],[0,1,0]].
    const c = reference.matmul(t([1, 1, 2, 0], [2, 1, 2]), t([1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0], [2, 2, 3]));
    expect(c.shape).toEqual([2, 1, 3]);
    expectValues(c.data, [5, 7, 9, 2, 0, 0]);
  });
});

describe('reference.maskedSoftmax', () => {
  it('computes a 2x2 softmax by hand', () => {
    // Row 0: [0, ln 3] -> [1/4, 3/4]; row 1: [1, 1] -> [1/2, 1/2].
    const y = reference.maskedSoftmax(t([0, Math.log(3), 1, 1], [2, 2]));
    expectValues(y.data, [0.25, 0.75, 0.5, 0.5]);
  });

  it('applies scale before the exponential', () => {
    // scale 2 on [0, ln 2] -> [0, ln 4] -> [1/5, 4/5].
    const y = reference.maskedSoftmax(t([0, Math.log(2)], [1, 2]), { scale: 2 });
    expectValues(y.data, [0.2, 0.8]);
  });

  it('aligns causal masking bottom-right when L < S (L = 2, S = 4)', () => {
    // Query i sees key j iff j <= i + 2: row 0 sees keys 0..2, row 1 sees 0..3.
    const y = reference.maskedSoftmax(t(new Array(8).fill(0), [2, 4]), { isCausal: true });
    expectValues(y.data, [1 / 3, 1 / 3, 1 / 3, 0, 0.25, 0.25, 0.25, 0.25]);
  });

  it('gives all-zero rows to the first L - S queries when L > S (L = 4, S = 2)', () => {
    // Query i sees key j iff j <= i - 2: rows 0 and 1 see nothing, row 2 sees key 0, row 3 both.
    const y = reference.maskedSoftmax(t([5, 6, 7, 8, 1, 9, 3, 3], [4, 2]), { isCausal: true });
    expectValues(y.data, [0, 0, 0, 0, 1, 0, 0.5, 0.5]);
  });

  it('is the usual lower triangle when L == S', () => {
    const y = reference.maskedSoftmax(t(new Array(9).fill(0), [3, 3]), { isCausal: true });
    expectValues(y.data, [1, 0, 0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3]);
  });

  it('treats a boolean mask and an additive -Infinity mask the same, fully blocked rows as zeros', () => {
    const x = t([0.3, -1.2, 2.5, 0.7], [2, 2]);
    const viaBool = reference.maskedSoftmax(x, { mask: bool([0, 1, 1, 1], [2, 2]) });
    const viaAdditive = reference.maskedSoftmax(x, { mask: additive([0, -Infinity, -Infinity, -Infinity], [2, 2]) });
    expectValues(viaBool.data, [1, 0, 0, 0]);
    expectValues(viaAdditive.data, [1, 0, 0, 0]);
  });

  it('adds finite additive mask values to the scaled scores', () => {
    // [0, 0] + [0, ln 3] -> [1/4, 3/4].
    const y = reference.maskedSoftmax(t([0, 0], [1, 2]), { mask: additive([0, Math.log(3)], [1, 2]) });
    expectValues(y.data, [0.25, 0.75]);
  });

  it('applies a key padding mask per batch entry on x [B, H, L, S]', () => {
    // B = 2, H = 2, L = 1, S = 3; batch 0 pads key 2, batch 1 pads key 0.
    const y = reference.maskedSoftmax(t(new Array(12).fill(1), [2, 2, 1, 3]),
      { keyPaddingMask: bool([0, 0, 1, 1, 0, 0], [2, 3]) });
    expectValues(y.data, [0.5, 0.5, 0, 0.5, 0.5, 0, 0, 0.5, 0.5, 0, 0.5, 0.5]);
  });

  it('combines masks: blocked if any mask blocks', () => {
    // x [1, 1, 2, 3] zeros; causal (L=2, S=3): row 0 sees keys 0, 1; row 1 sees all.
    // Key padding blocks key 0; attn mask [L, S] blocks (1, 2).
    const y = reference.maskedSoftmax(t(new Array(6).fill(0), [1, 1, 2, 3]), {
      isCausal: true, keyPaddingMask: bool([1, 0, 0], [1, 3]), mask: bool([0, 0, 0, 0, 0, 1], [2, 3]),
    });
    expectValues(y.data, [0, 1, 0, 0, 1, 0]);
  });

  it('reads a mask of the full shape of x element by element', () => {
    // x [2, 1, 2] zeros: batch 0 blocks key 1, batch 1 blocks key 0.
    const y = reference.maskedSoftmax(t([0, 0, 0, 0], [2, 1, 2]), { mask: bool([0, 1, 1, 0], [2, 1, 2]) });
    expectValues(y.data, [1, 0, 0, 1]);
  });
});

describe('reference.scaledDotProductAttention', () => {
  it('matches a hand computation with the default scale 1/sqrt(D)', () => {
    // q = [1, 0]; keys [1, 0] and [0, 1]: scores [1/sqrt 2, 0]; values [10, 1] and [20, 2].
    const p0 = Math.exp(Math.SQRT1_2) / (Math.exp(Math.SQRT1_2) + 1);
    const out = reference.scaledDotProductAttention(
      t([1, 0], [1, 1, 1, 2]), t([1, 0, 0, 1], [1, 1, 2, 2]), t([10, 1, 20, 2], [1, 1, 2, 2]));
    expect(out.shape).toEqual([1, 1, 1, 2]);
    expectValues(out.data, [10 * p0 + 20 * (1 - p0), p0 + 2 * (1 - p0)], 5);
  });

  it('gives a zero output row for a fully blocked query (L > S causal)', () => {
    // L = 2, S = 1: query 0 sees no key, query 1 sees key 0 (value [3, 4]).
    const out = reference.scaledDotProductAttention(
      t([1, 1, 2, 2], [1, 1, 2, 2]), t([1, 1], [1, 1, 1, 2]), t([3, 4], [1, 1, 1, 2]), { isCausal: true });
    expectValues(out.data, [0, 0, 3, 4]);
  });

  it('blocks per head with an attnMask [B, H, L, S]', () => {
    // Two heads, both see keys with values [1] and [2]; head 0 blocks key 1, head 1 blocks key 0.
    const out = reference.scaledDotProductAttention(
      t([0, 0], [1, 2, 1, 1]), t([0, 0, 0, 0], [1, 2, 2, 1]), t([1, 2, 1, 2], [1, 2, 2, 1]),
      { attnMask: bool([0, 1, 1, 0], [1, 2, 1, 2]) });
    expectValues(out.data, [1, 2]);
  });
});

describe('mask descriptors', () => {
  const dims = { batch: 2, heads: 3, l: 4, s: 5 };
  const zeros = (shape: number[]) => bool(new Array(shape.reduce((a, b) => a * b, 1)).fill(0), shape);
  it('broadcasts each accepted shape with the documented strides', () => {
    expect(keyPaddingDescriptor('kpm', zeros([2, 5]), dims)?.strides).toEqual([5, 0, 0, 1]);
    expect(attnMaskDescriptor('m', zeros([4, 5]), dims)?.strides).toEqual([0, 0, 5, 1]);
    expect(attnMaskDescriptor('m', zeros([6, 4, 5]), dims)?.strides).toEqual([60, 20, 5, 1]);
    expect(attnMaskDescriptor('m', zeros([2, 3, 4, 5]), dims)?.strides).toEqual([60, 20, 5, 1]);
    expect(attnMaskDescriptor('m', zeros([2, 1, 4, 5]), dims)?.strides).toEqual([20, 0, 5, 1]);
  });
});

describe('MultiHeadAttention (reference backend)', () => {
  // E = 2, H = 2 (headDim 1), identity projections: head h attends with q/k/v column h.
  const identity = Float32Array.from([1, 0, 0, 1]);
  const layer = (outBias = [0, 0]) => new MultiHeadAttention({
    embedDim: 2, numHeads: 2, backend: 'reference',
    weights: {
      qWeight: identity, kWeight: identity, vWeight: identity, outWeight: identity,
      outBias: Float32Array.from(outBias),
    },
  });

  it('computes a two-head forward by hand', () => {
    // q = [1, 0]; keys [1, 0] and [0, 0]; values [2, 4] and [6, 8]; scale 1 (headDim 1).
    // Head 0: scores [1, 0] -> p = [e/(e+1), 1/(e+1)]; head 1: scores [0, 0] -> [1/2, 1/2].
    const p = Math.E / (Math.E + 1);
    const { output, attnWeights } = layer([0.5, -0.5]).forward(
      t([1, 0], [1, 1, 2]), t([1, 0, 0, 0], [1, 2, 2]), t([2, 4, 6, 8], [1, 2, 2]),
      { needWeights: true, averageAttnWeights: false });
    expectValues(output.data, [2 * p + 6 * (1 - p) + 0.5, 6 - 0.5], 5);
    expect(attnWeights?.shape).toEqual([1, 2, 1, 2]);
    expectValues(attnWeights!.data, [p, 1 - p, 0.5, 0.5], 5);
  });

  it('averages the weights over heads by default', () => {
    const p = Math.E / (Math.E + 1);
    const { attnWeights } = layer().forward(
      t([1, 0], [1, 1, 2]), t([1, 0, 0, 0], [1, 2, 2]), t([2, 4, 6, 8], [1, 2, 2]), { needWeights: true });
    expect(attnWeights?.shape).toEqual([1, 1, 2]);
    expectValues(attnWeights!.data, [(p + 0.5) / 2, (1 - p + 0.5) / 2], 5);
  });

  it('applies per-head masks [B*H, L, S]', () => {
    // Head 0 sees only key 1 (value column 0 = 6), head 1 only key 0 (value column 1 = 4).
    const { output } = layer().forward(t([1, 1], [1, 1, 2]), t([1, 1, 1, 1], [1, 2, 2]), t([2, 4, 6, 8], [1, 2, 2]),
      { attnMask: bool([1, 0, 0, 1], [2, 1, 2]) });
    expectValues(output.data, [6, 4]);
  });

  it('gives a fully blocked query row a zero context, so its output row is outBias', () => {
    // Batch 1 pads every key; batch 0 pads none.
    const { output, attnWeights } = layer([0.25, -3]).forward(
      t([1, 0, 0, 1], [2, 1, 2]), t([1, 0, 0, 0, 1, 0, 0, 0], [2, 2, 2]), t([2, 4, 6, 8, 2, 4, 6, 8], [2, 2, 2]),
      { keyPaddingMask: bool([0, 0, 1, 1], [2, 2]), needWeights: true });
    expect(Array.from(output.data.subarray(2))).toEqual([0.25, -3]);
    expect(Array.from(attnWeights!.data.subarray(2))).toEqual([0, 0]);
    expect(output.data.every(Number.isFinite)).toBe(true);
  });

  it('treats boolean and additive -Infinity masks alike (with isCausal)', () => {
    const q = t([0.3, -0.8, 1.1, 0.4], [1, 2, 2]);
    const kv = t([0.5, 0.2, -0.4, 0.9, 1.3, -1.0], [1, 3, 2]);
    // causal L=2, S=3: (0, 2) blocked; the mask blocks (1, 0).
    const a = layer().forward(q, kv, kv, { isCausal: true, attnMask: bool([0, 0, 0, 1, 0, 0], [2, 3]) });
    const b = layer().forward(q, kv, kv, { isCausal: true, attnMask: additive([0, 0, 0, -Infinity, 0, 0], [2, 3]) });
    expect(Array.from(a.output.data)).toEqual(Array.from(b.output.data));
    // Row 0 attends keys 0 and 1, row 1 keys 1 and 2 (a boolean mask, not just a big penalty).
    const c = layer().forward(q, kv, kv, { attnMask: bool([0, 0, 1, 1, 0, 0], [2, 3]) });
    expect(Array.from(a.output.data)).toEqual(Array.from(c.output.data));
  });
});

describe('MultiHeadAttention.fromStateDict (reference backend)', () => {
  // The hand case above: q = [1, 0], keys [1, 0] and [0, 0], values [2, 4] and [6, 8], identity weights.
  const p = Math.E / (Math.E + 1);
  const expected = [2 * p + 6 * (1 - p), 6];
  const run = (m: MultiHeadAttention) =>
    m.forward(t([1, 0], [1, 1, 2]), t([1, 0, 0, 0], [1, 2, 2]), t([2, 4, 6, 8], [1, 2, 2])).output.data;
  const id = [1, 0, 0, 1];

  it('reads a packed in_proj_weight and biases (Tensor values)', () => {
    const m = MultiHeadAttention.fromStateDict({
      in_proj_weight: t([...id, ...id, ...id], [6, 2]), in_proj_bias: t([0, 0, 0, 0, 0, 0], [6]),
      'out_proj.weight': t(id, [2, 2]), 'out_proj.bias': t([1, 2], [2]),
    }, { numHeads: 2, backend: 'reference' });
    expect([m.embedDim, m.numHeads, m.headDim, m.kDim, m.vDim]).toEqual([2, 2, 1, 2, 2]);
    expectValues(run(m), [expected[0] + 1, expected[1] + 2], 5);
  });

  it('reads separate q/k/v weights with a packed in_proj_bias (Float32Array values)', () => {
    const m = MultiHeadAttention.fromStateDict({
      q_proj_weight: Float32Array.from(id), k_proj_weight: Float32Array.from(id), v_proj_weight: Float32Array.from(id),
      // The value bias [1, -1] shifts every value row, so the output by [1, -1].
      in_proj_bias: Float32Array.from([0, 0, 0, 0, 1, -1]),
      'out_proj.weight': Float32Array.from(id), 'out_proj.bias': Float32Array.from([0, 0]),
    }, { numHeads: 2, backend: 'reference' });
    expectValues(run(m), [expected[0] + 1, expected[1] - 1], 5);
  });

  it('infers kDim and vDim from separate weights, and no bias keys means no biases', () => {
    // kDim = 1: k_proj_weight [2, 1] maps a key x to [x, 0]; vDim = 3 picks value columns 0 and 2.
    const m = MultiHeadAttention.fromStateDict({
      q_proj_weight: Float32Array.from(id), k_proj_weight: Float32Array.from([1, 0]),
      v_proj_weight: Float32Array.from([1, 0, 0, 0, 0, 1]), 'out_proj.weight': Float32Array.from(id),
    }, { numHeads: 2, backend: 'reference' });
    expect([m.kDim, m.vDim]).toEqual([1, 3]);
    const { output } = m.forward(t([1, 0], [1, 1, 2]), t([1, 0], [1, 2, 1]), t([2, 9, 4, 6, 9, 8], [1, 2, 3]));
    expectValues(output.data, expected, 5);
  });
});

describe('default weights', () => {
  it('follow torch _reset_parameters bounds and are deterministic per seed', () => {
    const E = 16;
    const w = defaultWeights(E, E, E, true, 42);
    const inBound = Math.sqrt(6 / (E + 3 * E)); // xavier over the packed [3E, E] matrix
    for (const m of [w.qWeight, w.kWeight, w.vWeight]) expect(Math.max(...m.map(Math.abs))).toBeLessThanOrEqual(inBound);
    expect(Math.max(...w.outWeight.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(E));
    expect(Math.max(...w.qWeight.map(Math.abs))).toBeGreaterThan(0.8 * inBound);
    expect(Array.from(w.qBias!)).toEqual(new Array(E).fill(0));
    expect(defaultWeights(E, E, E, true, 42).kWeight).toEqual(w.kWeight);
    expect(defaultWeights(E, E, E, true, 43).kWeight).not.toEqual(w.kWeight);
    expect(defaultWeights(E, E, E, false, 42).qBias).toBeUndefined();
  });

  it('use separate Xavier bounds when kDim or vDim differ from embedDim', () => {
    const w = defaultWeights(8, 24, 2, true, 1);
    expect(Math.max(...w.kWeight.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (8 + 24)));
    expect(Math.max(...w.vWeight.map(Math.abs))).toBeGreaterThan(Math.sqrt(6 / (8 + 24)));
    expect(Math.max(...w.vWeight.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (8 + 2)));
  });
});
