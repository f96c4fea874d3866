// fromStateDict / fromSafetensors with grouped-query weights and Llama-style names (API.md
// "Attention variants"), on the TypeScript reference: each loads the same layer as the
// constructor given the same weights and options.
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention, type Tensor } from '../lib/index.js';
import { Rng, expectClose, randTensor, randn } from './helpers.js';
import { f32Bytes, writeSafetensors } from './safetensors-writer.js';

const [E, H, Hkv] = [12, 4, 2];
const Ekv = Hkv * (E / H);

function weights(seed: number) {
  const rng = new Rng(seed);
  return {
    qWeight: randn(rng, E * E, 0.3), kWeight: randn(rng, Ekv * E, 0.3), vWeight: randn(rng, Ekv * E, 0.3),
    outWeight: randn(rng, E * E, 0.3), qBias: randn(rng, E, 0.1), kBias: randn(rng, Ekv, 0.1),
    vBias: randn(rng, Ekv, 0.1), outBias: randn(rng, E, 0.1),
  };
}

const tensorOf = (data: Float32Array, shape: number[]): Tensor => ({ data, shape });
const variant = { rotary: { dim: 2 }, window: { left: 4 }, softcap: 5 };

function expectSameLayer(loaded: MultiHeadAttention, direct: MultiHeadAttention, label: string): void {
  expect(loaded.numKvHeads, label).toBe(direct.numKvHeads);
  const x = randTensor(new Rng(3), [2, 5, E]);
  expectClose(loaded.forward(x, x, x, { isCausal: true }).output.data,
    direct.forward(x, x, x, { isCausal: true }).output.data, label);
}

describe('grouped-query weights', () => {
  const w = weights(1);
  const direct = new MultiHeadAttention({ embedDim: E, numHeads: H, numKvHeads: Hkv, weights: w, backend: 'reference', ...variant });

  it('torch names: numKvHeads from k_proj_weight rows (Tensors), or from options (Float32Arrays)', () => {
    const state = {
      q_proj_weight: tensorOf(w.qWeight, [E, E]), k_proj_weight: tensorOf(w.kWeight, [Ekv, E]),
      v_proj_weight: tensorOf(w.vWeight, [Ekv, E]), in_proj_bias: Float32Array.of(...w.qBias, ...w.kBias, ...w.vBias),
      'out_proj.weight': tensorOf(w.outWeight, [E, E]), 'out_proj.bias': w.outBias,
    };
    expectSameLayer(MultiHeadAttention.fromStateDict(state, { numHeads: H, backend: 'reference', ...variant }), direct, 'inferred');
    const bare = Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v instanceof Float32Array ? v : v.data]));
    expectSameLayer(MultiHeadAttention.fromStateDict(bare, { numHeads: H, numKvHeads: Hkv, backend: 'reference', ...variant }),
      direct, 'explicit');
    const packed = {
      in_proj_weight: Float32Array.of(...w.qWeight, ...w.kWeight, ...w.vWeight), in_proj_bias: state.in_proj_bias,
      'out_proj.weight': w.outWeight, 'out_proj.bias': w.outBias,
    };
    expectSameLayer(MultiHeadAttention.fromStateDict(packed, { numHeads: H, numKvHeads: Hkv, backend: 'reference', ...variant }),
      direct, 'packed in_proj_weight [E + 2 Ekv, E]');
  });

  it('k_proj_weight rows that are not numKvHeads * headDim with numKvHeads dividing numHeads: RangeError', () => {
    const state = (rows: number) => ({
      q_proj_weight: tensorOf(w.qWeight, [E, E]), k_proj_weight: tensorOf(new Float32Array(rows * E), [rows, E]),
      v_proj_weight: tensorOf(new Float32Array(rows * E), [rows, E]), 'out_proj.weight': tensorOf(w.outWeight, [E, E]),
    });
    // headDim 3: 5 rows is no whole head; 9 rows is 3 heads, which do not divide 4.
    for (const rows of [5, 9]) {
      expect(() => MultiHeadAttention.fromStateDict(state(rows), { numHeads: H }))
        .toThrow(/state\["k_proj_weight"\]: expected rows numKvHeads \* headDim \(headDim 3\) with numKvHeads dividing numHeads \(4\)/);
    }
    expect(() => MultiHeadAttention.fromStateDict(state(6), { numHeads: H, numKvHeads: 3 })).toThrow(/options\.numKvHeads/);
    expect(MultiHeadAttention.fromStateDict(state(3), { numHeads: H, backend: 'reference' }).numKvHeads).toBe(1);
  });
});

describe('Llama-style names', () => {
  const w = weights(2);
  const llama = (prefix: string, biases: 'none' | 'qkv' | 'all') => {
    const entries: Record<string, Tensor> = {
      [`${prefix}q_proj.weight`]: tensorOf(w.qWeight, [E, E]), [`${prefix}k_proj.weight`]: tensorOf(w.kWeight, [Ekv, E]),
      [`${prefix}v_proj.weight`]: tensorOf(w.vWeight, [Ekv, E]), [`${prefix}o_proj.weight`]: tensorOf(w.outWeight, [E, E]),
    };
    if (biases !== 'none') {
      entries[`${prefix}q_proj.bias`] = tensorOf(w.qBias, [E]);
      entries[`${prefix}k_proj.bias`] = tensorOf(w.kBias, [Ekv]);
      entries[`${prefix}v_proj.bias`] = tensorOf(w.vBias, [Ekv]);
    }
    if (biases === 'all') entries[`${prefix}o_proj.bias`] = tensorOf(w.outBias, [E]);
    return entries;
  };
  const direct = (bias: Partial<typeof w>) => new MultiHeadAttention({
    embedDim: E, numHeads: H, numKvHeads: Hkv, backend: 'reference', ...variant,
    bias: bias.qBias !== undefined,
    weights: { qWeight: w.qWeight, kWeight: w.kWeight, vWeight: w.vWeight, outWeight: w.outWeight, ...bias },
  });

  it('fromStateDict: no biases (Llama), q/k/v biases only (Qwen2: output bias zeros), every bias', () => {
    const load = (biases: 'none' | 'qkv' | 'all') =>
      MultiHeadAttention.fromStateDict(llama('', biases), { numHeads: H, backend: 'reference', ...variant });
    expectSameLayer(load('none'), direct({}), 'no biases');
    expectSameLayer(load('qkv'), direct({ qBias: w.qBias, kBias: w.kBias, vBias: w.vBias, outBias: new Float32Array(E) }), 'qkv');
    expectSameLayer(load('all'), direct({ qBias: w.qBias, kBias: w.kBias, vBias: w.vBias, outBias: w.outBias }), 'all');
  });

  it('fromSafetensors finds the block by its q_proj.weight and reads the rest', () => {
    const entries = { ...llama('model.layers.0.self_attn.', 'all'), 'model.embed.weight': tensorOf(new Float32Array(4), [2, 2]) };
    const bytes = writeSafetensors(Object.entries(entries).map(([name, t]) =>
      ({ name, dtype: 'F32', shape: [...t.shape], bytes: f32Bytes(Array.from(t.data)) })));
    const loaded = MultiHeadAttention.fromSafetensors(bytes, { numHeads: H, backend: 'reference', ...variant });
    expectSameLayer(loaded, direct({ qBias: w.qBias, kBias: w.kBias, vBias: w.vBias, outBias: w.outBias }), 'safetensors');
  });

  it('some but not all of the q/k/v biases, or a missing projection: RangeError', () => {
    const partial = llama('', 'qkv');
    delete partial['k_proj.bias'];
    expect(() => MultiHeadAttention.fromStateDict(partial, { numHeads: H })).toThrow(/some of q_proj\/k_proj\/v_proj\.bias but not all/);
    const missing = llama('', 'none');
    delete missing['o_proj.weight'];
    expect(() => MultiHeadAttention.fromStateDict(missing, { numHeads: H })).toThrow(/missing weight 'o_proj\.weight' \(Llama/);
  });
});
