// MultiHeadAttention's attention variants (grouped-query heads, scale, softcap, ALiBi, sliding
// window, rotary), packed variable-length batches and per-sequence KV caches, on both backends,
// against the float64 oracle of tools/gen-fixtures.py (fixtures in test/fixtures/variants/,
// committed; no Python needed here; the file format is described in the generator's docstring).
// Criterion: relative L2 error <= 2e-5 and no NaN, for outputs and attention weights.
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention, type Backend, type MultiHeadAttentionWeights } from '../lib/index.js';
import { type Stored, decode, loadFixtures } from './fixtures.js';
import { type M, type T, causalBool, expectClose } from './helpers.js';

interface LayerOptions {
  embedDim: number; numHeads: number; numKvHeads?: number; kDim?: number; vDim?: number; bias: boolean;
  scale?: number; softcap?: number; alibi?: true | number[];
  window?: { left?: number; right?: number };
  rotary?: { dim?: number; base?: number; interleaved?: boolean };
}
interface Call {
  selfAttention: boolean; isCausal: boolean; needWeights: boolean; averageAttnWeights: boolean;
  sequenceLengths?: number[]; kvSequenceLengths?: number[];
}
interface Step { x: Stored; sequenceLengths?: number[]; lengths: number[]; output: Stored }
interface Fixture {
  name: string; kind: 'forward' | 'packed' | 'cache'; covers: string;
  options: LayerOptions; names: 'llama' | 'torch' | 'torch_packed'; state: Record<string, Stored>; call: Call;
  query?: Stored; key?: Stored; value?: Stored; keyPaddingMask?: Stored; attnMask?: Stored;
  output?: Stored; attnWeights?: Stored;
  cache?: { batchSize: number; capacity: number }; steps?: Step[];
}

const BACKENDS: Backend[] = ['native', 'reference'];
const VARIANT_KEYS = ['numKvHeads', 'scale', 'softcap', 'alibi', 'window', 'rotary'] as const;

const fixtures = loadFixtures<Fixture>('variants');

const tensor = (s: Stored) => decode(s) as T;
const mask = (s: Stored) => decode(s) as M;
const expected = (s: Stored) => decode(s).data as Float64Array;

/** The layer's variant options as the public API takes them (explicit ALiBi slopes as a Float32Array). */
function variantOptions(o: LayerOptions): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  for (const k of VARIANT_KEYS) if (o[k] !== undefined) v[k] = o[k];
  if (Array.isArray(o.alibi)) v.alibi = Float32Array.from(o.alibi);
  return v;
}

/** MultiHeadAttentionWeights from the fixture's state dict (k/v projections: numKvHeads * headDim rows). */
function weightsOf(f: Fixture): MultiHeadAttentionWeights {
  const s = (k: string) => tensor(f.state[k]).data;
  const E = f.options.embedDim;
  const kvRows = (f.options.numKvHeads ?? f.options.numHeads) * (E / f.options.numHeads);
  if (f.names === 'llama') {
    const w: MultiHeadAttentionWeights = {
      qWeight: s('q_proj.weight'), kWeight: s('k_proj.weight'), vWeight: s('v_proj.weight'), outWeight: s('o_proj.weight'),
    };
    if (f.options.bias) Object.assign(w, { qBias: s('q_proj.bias'), kBias: s('k_proj.bias'), vBias: s('v_proj.bias'), outBias: s('o_proj.bias') });
    return w;
  }
  const packed = f.names === 'torch_packed' ? s('in_proj_weight') : undefined; // [3E, E]: q, k, v rows
  const w: MultiHeadAttentionWeights = packed
    ? { qWeight: packed.slice(0, E * E), kWeight: packed.slice(E * E, 2 * E * E), vWeight: packed.slice(2 * E * E), outWeight: s('out_proj.weight') }
    : { qWeight: s('q_proj_weight'), kWeight: s('k_proj_weight'), vWeight: s('v_proj_weight'), outWeight: s('out_proj.weight') };
  if (f.options.bias) {
    const b = s('in_proj_bias'); // q, k, v biases back to back
    Object.assign(w, {
      qBias: b.slice(0, E), kBias: b.slice(E, E + kvRows), vBias: b.slice(E + kvRows), outBias: s('out_proj.bias'),
    });
  }
  return w;
}

function fromState(f: Fixture, backend: Backend): MultiHeadAttention {
  const state = Object.fromEntries(Object.entries(f.state).map(([k, v]) => [k, tensor(v)]));
  return MultiHeadAttention.fromStateDict(state, { numHeads: f.options.numHeads, ...variantOptions(f.options), backend });
}

function fromOptions(f: Fixture, backend: Backend): MultiHeadAttention {
  const { embedDim, numHeads, kDim, vDim, bias } = f.options;
  return new MultiHeadAttention({ embedDim, numHeads, kDim, vDim, bias, ...variantOptions(f.options), weights: weightsOf(f), backend });
}

function checkDims(mha: MultiHeadAttention, o: LayerOptions): void {
  expect([mha.embedDim, mha.numHeads, mha.headDim, mha.kDim, mha.vDim])
    .toEqual([o.embedDim, o.numHeads, o.embedDim / o.numHeads, o.kDim ?? o.embedDim, o.vDim ?? o.embedDim]);
}

const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0);

function runForward(f: Fixture, mha: MultiHeadAttention): void {
  const query = tensor(f.query!);
  const key = f.call.selfAttention ? query : tensor(f.key!);
  const value = f.call.selfAttention ? query : tensor(f.value!);
  const [B, L, E] = query.shape;
  const S = key.shape[1];
  const H = f.options.numHeads;
  const base = {
    keyPaddingMask: f.keyPaddingMask && mask(f.keyPaddingMask),
    needWeights: f.call.needWeights,
    averageAttnWeights: f.call.averageAttnWeights,
  };
  // Every equivalent spelling of the fixture's mask: isCausal is the bottom-right causal mask.
  const stored = f.attnMask && mask(f.attnMask);
  const spellings: [string, M | undefined, boolean][] = [];
  if (f.call.isCausal) {
    spellings.push(['isCausal', stored, true]);
    if (!stored) spellings.push(['explicit causal mask', causalBool(L, S), false]);
  } else if (stored) {
    spellings.push([`attnMask ${JSON.stringify(stored.shape)}`, stored, false]);
    if (stored.shape.length === 3) spellings.push(['attnMask as [B,H,L,S]', { data: stored.data, shape: [B, H, L, S] }, false]);
  } else {
    spellings.push(['no attnMask', undefined, false]);
  }
  for (const [label, attnMask, isCausal] of spellings) {
    const got = mha.forward(query, key, value, { ...base, attnMask, isCausal });
    expect(got.output.shape).toEqual([B, L, E]);
    expectClose(got.output.data, expected(f.output!), `${label}: output`);
    if (!f.call.needWeights) {
      expect(got.attnWeights).toBeUndefined();
      continue;
    }
    expect(got.attnWeights!.shape).toEqual(f.call.averageAttnWeights ? [B, L, S] : [B, H, L, S]);
    expectClose(got.attnWeights!.data, expected(f.attnWeights!), `${label}: weights`);
  }
}

function runPacked(f: Fixture, mha: MultiHeadAttention): void {
  const query = tensor(f.query!);
  const key = f.call.selfAttention ? query : tensor(f.key!);
  const value = f.call.selfAttention ? query : tensor(f.value!);
  const sequenceLengths = f.call.sequenceLengths!;
  expect(query.shape).toEqual([sum(sequenceLengths), f.options.embedDim]);
  const got = mha.forward(query, key, value, {
    isCausal: f.call.isCausal, sequenceLengths, kvSequenceLengths: f.call.kvSequenceLengths,
  });
  expect(got.output.shape).toEqual(query.shape);
  expectClose(got.output.data, expected(f.output!), 'packed output');
  expect(got.attnWeights).toBeUndefined();
}

function runCache(f: Fixture, mha: MultiHeadAttention): void {
  const { batchSize, capacity } = f.cache!;
  const kvCache = mha.createKVCache({ batchSize, capacity });
  expect(kvCache.lengths).toEqual(new Array(batchSize).fill(0));
  f.steps!.forEach((step, i) => {
    const x = tensor(step.x);
    const got = mha.forward(x, x, x, { kvCache, isCausal: true, sequenceLengths: step.sequenceLengths });
    expect(got.output.shape, `step ${i}: output shape`).toEqual(x.shape);
    expectClose(got.output.data, expected(step.output), `step ${i} (${JSON.stringify(step.sequenceLengths ?? x.shape)}): output`);
    expect(kvCache.lengths, `step ${i}: lengths`).toEqual(step.lengths);
  });
  // The last steps fill the longest sequence to capacity: one more token for it overflows,
  // throws RangeError and changes no sequence.
  const lengths = f.steps![f.steps!.length - 1].lengths;
  const full = lengths.indexOf(capacity);
  expect(full).toBeGreaterThanOrEqual(0);
  const more = lengths.map((_, b) => (b === full ? 1 : 0));
  const x: T = { data: new Float32Array(f.options.embedDim), shape: [1, f.options.embedDim] };
  expect(() => mha.forward(x, x, x, { kvCache, isCausal: true, sequenceLengths: more })).toThrow(RangeError);
  expect(kvCache.lengths).toEqual(lengths);
}

describe('attention variants against the float64 oracle', () => {
  it('has the fixtures: every kind, and every variant option alone in some forward case', () => {
    const kinds = new Set(fixtures.map((f) => f.kind));
    expect([...kinds].sort()).toEqual(['cache', 'forward', 'packed']);
    for (const k of VARIANT_KEYS) {
      const alone = fixtures.some((f) => f.kind === 'forward' && !f.call.isCausal && !f.attnMask && !f.keyPaddingMask
        && VARIANT_KEYS.every((o) => (o === k) === (f.options[o] !== undefined)));
      expect(alone, `a forward case with only ${k}`).toBe(true);
    }
  });

  for (const f of fixtures) {
    for (const backend of BACKENDS) {
      if (f.kind === 'forward') {
        it(`${f.name} (${backend}, fromStateDict)`, () => {
          const mha = fromState(f, backend);
          checkDims(mha, f.options);
          runForward(f, mha);
        });
        it(`${f.name} (${backend}, constructor options)`, () => {
          const mha = fromOptions(f, backend);
          checkDims(mha, f.options);
          runForward(f, mha);
        });
      } else {
        it(`${f.name} (${backend})`, () => {
          const mha = fromState(f, backend);
          checkDims(mha, f.options);
          if (f.kind === 'packed') runPacked(f, mha);
          else runCache(f, mha);
        });
      }
    }
  }
});
