// Reduced precision (API.md "Reduced precision" and the cache's dtype), on every kernel set:
// bfloat16 compute within 1e-2 relative L2 of float64 and no worse than twice the float64
// evaluation of the same bfloat16-rounded operands (the reference twin's bfloat16 mode); a
// float16 KV cache within 1e-3 of float64, a bfloat16 one within 1e-2; the rounding itself;
// nativeInfo().bf16; validation of the new options.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MultiHeadAttention, matmul, nativeInfo, reference, scaledDotProductAttention,
  type KVCache, type Precision, type StorageDtype,
} from '../lib/index.js';
import { roundBfloat16, roundFloat16 } from '../lib/reduced-precision.js';
import { type Stored, type TorchFixture, decode as decodeStored, loadFixtures } from './fixtures.js';
import { type M, type T, Rng, hasNaN, paddingBool, randTensor, randWeights, relL2 } from './helpers.js';

/** native's error against float64 (exact) is <= 1e-2 and <= twice the rounded-operand reference's. */
function expectBf16Bound(native: ArrayLike<number>, roundedRef: ArrayLike<number>, exact: ArrayLike<number>,
  label: string): void {
  expect(hasNaN(native), `${label}: NaN`).toBe(false);
  const err = relL2(native, exact), bound = relL2(roundedRef, exact);
  expect(err, `${label}: rel L2 vs float64`).toBeLessThanOrEqual(1e-2);
  expect(err, `${label}: rel L2 ${err.toExponential(2)} vs twice the rounded-operand evaluation's ${bound.toExponential(2)}`)
    .toBeLessThanOrEqual(2 * bound);
  expect(bound, `${label}: bfloat16 rounding changed nothing (the test would be vacuous)`).toBeGreaterThan(1e-5);
}

describe('rounding to 16-bit formats', () => {
  it('bfloat16: nearest, ties to even, overflow to infinity, NaN and zeros kept', () => {
    expect(roundBfloat16(1)).toBe(1);
    expect(roundBfloat16(1 + 2 ** -8)).toBe(1);                 // a tie: to the even 1
    expect(roundBfloat16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);   // a tie: to the even 1 + 2^-6
    expect(roundBfloat16(1 + 2 ** -8 + 2 ** -20)).toBe(1 + 2 ** -7);
    expect(roundBfloat16(-3.14159)).toBe(-3.140625);
    expect(roundBfloat16(3.4e38)).toBe(Infinity);
    expect(roundBfloat16(2 ** -133)).toBe(2 ** -133);            // the smallest subnormal
    expect(roundBfloat16(2 ** -135)).toBe(0);
    expect(Number.isNaN(roundBfloat16(NaN))).toBe(true);
    expect(Object.is(roundBfloat16(-0), -0)).toBe(true);
    // What Float32Array bits give: the top 16 bits of a float32, rounded.
    const f = new Float32Array([0.1]);
    const u = new Uint32Array(f.buffer);
    u[0] = (u[0] + 0x7fff + ((u[0] >> 16) & 1)) & 0xffff0000;
    expect(roundBfloat16(Math.fround(0.1))).toBe(f[0]);
  });

  it('float16: nearest, ties to even, 65504 the largest, subnormals to 2^-24', () => {
    expect(roundFloat16(1 + 2 ** -11)).toBe(1);
    expect(roundFloat16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundFloat16(65504)).toBe(65504);
    expect(roundFloat16(65519)).toBe(65504);
    expect(roundFloat16(65520)).toBe(Infinity);
    expect(roundFloat16(2 ** -24)).toBe(2 ** -24);
    expect(roundFloat16(2 ** -26)).toBe(0);
    expect(roundFloat16(3 * 2 ** -25)).toBe(2 ** -23);           // a subnormal tie, to even
  });
});

describe('nativeInfo().bf16', () => {
  it('names the path this CPU and MHA_NATIVE_ISA select', () => {
    let flags = '';
    try { flags = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux */ }
    const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
    const forced = process.env.MHA_NATIVE_ISA;
    const lowered = forced !== undefined && forced !== 'amx' && forced !== 'avx512bf16';
    const expected = lowered ? 'emulated' : has('amx_bf16') && has('amx_tile') ? 'amx'
      : has('avx512_bf16') ? 'avx512bf16' : 'emulated';
    // The AMX path needs the kernel's permission too; a refusal falls back to AVX512-BF16.
    const got = nativeInfo().bf16;
    if (expected === 'amx') expect(['amx', 'avx512bf16']).toContain(got);
    else expect(got).toBe(expected);
  });
});

describe('bfloat16 compute', () => {
  const rng = new Rng(22);

  it('matmul: precision bfloat16 on awkward sizes, shared and batched b, transposes', () => {
    for (const [m, k, n] of [[1, 1, 1], [3, 7, 33], [33, 129, 7], [129, 65, 96]]) {
      for (const transB of [false, true]) {
        const a = randTensor(rng, [2, m, k]);
        const b = randTensor(rng, transB ? [2, n, k] : [2, k, n]);
        const options = { transposeB: transB };
        const exact = reference.matmul(a, b, options).data;
        const rounded = reference.matmul(a, b, { ...options, precision: 'bfloat16' }).data;
        const native = matmul(a, b, { ...options, precision: 'bfloat16' }).data;
        expectBf16Bound(native, rounded, exact, `matmul ${m}x${k}x${n} transB=${transB}`);
      }
    }
  });

  it('scaledDotProductAttention: precision bfloat16, dense and packed, GQA, causal, masks', () => {
    for (const [B, H, Hkv, L, S, D] of [[1, 1, 1, 1, 1, 8], [2, 4, 2, 7, 33, 5], [1, 6, 3, 33, 129, 64], [2, 2, 1, 64, 64, 80]]) {
      const q = randTensor(rng, [B, H, L, D]), k = randTensor(rng, [B, Hkv, S, D]), v = randTensor(rng, [B, Hkv, S, D]);
      for (const options of [{}, { isCausal: true }, { window: { left: 3 }, softcap: 4 }]) {
        const exact = reference.scaledDotProductAttention(q, k, v, options).data;
        const rounded = reference.scaledDotProductAttention(q, k, v, { ...options, precision: 'bfloat16' }).data;
        const native = scaledDotProductAttention(q, k, v, { ...options, precision: 'bfloat16' }).data;
        if (S > 1) expectBf16Bound(native, rounded, exact, `sdpa ${[B, H, Hkv, L, S, D]} ${JSON.stringify(options)}`);
      }
    }
    const lens = [3, 0, 7, 33];
    const T = lens.reduce((a, b) => a + b, 0);
    const q = randTensor(rng, [T, 4, 16]), k = randTensor(rng, [T, 2, 16]), v = randTensor(rng, [T, 2, 16]);
    const options = { sequenceLengths: lens, isCausal: true };
    expectBf16Bound(scaledDotProductAttention(q, k, v, { ...options, precision: 'bfloat16' }).data,
      reference.scaledDotProductAttention(q, k, v, { ...options, precision: 'bfloat16' }).data,
      reference.scaledDotProductAttention(q, k, v, options).data, 'packed sdpa');
  });

  const layer = (dtype: Precision, backend: 'native' | 'reference', extra: object = {}) =>
    new MultiHeadAttention({ embedDim: 48, numHeads: 6, numKvHeads: 2, weights: gqaWeights, dtype, backend, ...extra });
  const gqaWeights = (() => {
    const w = randWeights(new Rng(5), 48, 48, 48, true);
    return { ...w, kWeight: w.kWeight.subarray(0, 16 * 48), vWeight: w.vWeight.subarray(0, 16 * 48),
      kBias: w.kBias!.subarray(0, 16), vBias: w.vBias!.subarray(0, 16) };
  })();

  it('the layer with dtype bfloat16: forward, forwardAsync, needWeights, packed, rotary + window', async () => {
    const x = randTensor(rng, [2, 33, 48]), memory = randTensor(rng, [2, 7, 48]);
    const cases: [string, object, () => [typeof x, typeof x, typeof x]][] = [
      ['self causal', { isCausal: true }, () => [x, x, x]],
      ['cross, key padding, weights', { keyPaddingMask: paddingBool(7, [7, 3]), needWeights: true }, () => [x, memory, memory]],
    ];
    for (const variant of [{}, { rotary: { base: 500000 }, window: { left: 5 } }]) {
      const exactLayer = layer('float32', 'reference', variant), roundedLayer = layer('bfloat16', 'reference', variant);
      const native = layer('bfloat16', 'native', variant);
      for (const [name, options, inputs] of cases) {
        const [q, k, v] = inputs();
        const label = `${name} ${JSON.stringify(variant)}`;
        const exact = exactLayer.forward(q, k, v, options), rounded = roundedLayer.forward(q, k, v, options);
        const got = native.forward(q, k, v, options);
        expectBf16Bound(got.output.data, rounded.output.data, exact.output.data, `${label} forward`);
        const gotAsync = await native.forwardAsync(q, k, v, options);
        expectBf16Bound(gotAsync.output.data, rounded.output.data, exact.output.data, `${label} forwardAsync`);
        if (exact.attnWeights) {
          expect(relL2(got.attnWeights!.data, exact.attnWeights.data), `${label} weights`).toBeLessThanOrEqual(1e-2);
        }
      }
      const lens = [5, 0, 1, 33];
      const packed = randTensor(rng, [39, 48]);
      const options = { sequenceLengths: lens, isCausal: true };
      expectBf16Bound(native.forward(packed, packed, packed, options).output.data,
        roundedLayer.forward(packed, packed, packed, options).output.data,
        exactLayer.forward(packed, packed, packed, options).output.data, `packed ${JSON.stringify(variant)}`);
    }
  });

  it('the layer with dtype bfloat16 in head parts (a few rows, heads on the kernels\' panels): GQA, RoPE, masks', () => {
    const [E, H, Hkv] = [256, 4, 2];
    const w = randWeights(new Rng(8), E, E, E, true);
    const weights = { ...w, kWeight: w.kWeight.subarray(0, E * E * Hkv / H), vWeight: w.vWeight.subarray(0, E * E * Hkv / H),
      kBias: w.kBias!.subarray(0, E * Hkv / H), vBias: w.vBias!.subarray(0, E * Hkv / H) };
    const make = (dtype: Precision, backend: 'native' | 'reference') => new MultiHeadAttention(
      { embedDim: E, numHeads: H, numKvHeads: Hkv, weights, rotary: { base: 10000 }, dtype, backend });
    const exactLayer = make('float32', 'reference'), roundedLayer = make('bfloat16', 'reference');
    const native = make('bfloat16', 'native');
    const x = randTensor(new Rng(9), [2, 33, E]), memory = randTensor(new Rng(10), [2, 17, E]);
    const cases: [string, object, typeof x][] = [
      ['self causal', { isCausal: true }, x],
      ['cross, key padding', { keyPaddingMask: paddingBool(17, [17, 5]) }, memory],
    ];
    for (const [name, options, kv] of cases) {
      const exact = exactLayer.forward(x, kv, kv, options).output.data;
      expectBf16Bound(native.forward(x, kv, kv, options).output.data,
        roundedLayer.forward(x, kv, kv, options).output.data, exact, name);
    }
  });

  it('the layer with dtype bfloat16 against the PyTorch float64 fixtures', () => {
    let checked = 0;
    for (const f of loadFixtures<TorchFixture>('torch')) {
      const { name } = f;
      const tensor = (t: Stored) => decodeStored(t) as T, mask = (t: Stored) => decodeStored(t) as M;
      const state = Object.fromEntries(Object.entries(f.state).map(([k, v]) => [k, tensor(v)]));
      const mha = MultiHeadAttention.fromStateDict(state, { numHeads: f.numHeads, dtype: 'bfloat16' });
      const query = tensor(f.query);
      const key = f.selfAttention ? query : tensor(f.key!), value = f.selfAttention ? query : tensor(f.value!);
      const options = {
        keyPaddingMask: f.keyPaddingMask && mask(f.keyPaddingMask), attnMask: f.attnMask && mask(f.attnMask),
        isCausal: f.isCausal,
      };
      const got = mha.forward(query, key, value, options).output.data;
      const rounded = MultiHeadAttention.fromStateDict(state, { numHeads: f.numHeads, dtype: 'bfloat16', backend: 'reference' })
        .forward(query, key, value, options).output.data;
      const expected = decodeStored(f.output).data as Float64Array;
      // An input whose bfloat16-rounded operands alone move the output by more than 1e-2 (one
      // head of 80 features, a peaked softmax) cannot meet 1e-2; twice that evaluation's error it can.
      const bound = relL2(rounded, expected), err = relL2(got, expected);
      expect(err, `${name}`).toBeLessThanOrEqual(2 * bound);
      if (bound <= 1e-2) expect(err, `${name}`).toBeLessThanOrEqual(1e-2);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});

describe('16-bit KV caches', () => {
  const E = 64, H = 8, Hkv = 2;
  const weights = (() => {
    const w = randWeights(new Rng(9), E, E, E, true);
    return { ...w, kWeight: w.kWeight.subarray(0, 16 * E), vWeight: w.vWeight.subarray(0, 16 * E),
      kBias: w.kBias!.subarray(0, 16), vBias: w.vBias!.subarray(0, 16) };
  })();
  const make = (backend: 'native' | 'reference') =>
    new MultiHeadAttention({ embedDim: E, numHeads: H, numKvHeads: Hkv, weights, rotary: {}, backend });

  /** A prompt of 40 tokens per sequence, then 3 decode steps, then a packed step with uneven
   * tokens; every step's output. */
  function decode(mha: MultiHeadAttention, cache: KVCache): Float32Array[] {
    const rng = new Rng(31);
    const outputs: Float32Array[] = [];
    const prompt = randTensor(rng, [2, 40, E]);
    outputs.push(mha.forward(prompt, prompt, prompt, { kvCache: cache, isCausal: true }).output.data);
    for (let step = 0; step < 3; step++) {
      const token = randTensor(rng, [2, 1, E]);
      outputs.push(mha.forward(token, token, token, { kvCache: cache, isCausal: true }).output.data);
    }
    const packed = randTensor(rng, [4, E]);
    outputs.push(mha.forward(packed, packed, packed, { kvCache: cache, isCausal: true, sequenceLengths: [3, 1] }).output.data);
    return outputs;
  }

  for (const [dtype, tol] of [['float16', 1e-3], ['bfloat16', 1e-2]] as [StorageDtype, number][]) {
    it(`${dtype}: every step within ${tol} of float64, the reference's ${dtype} cache alike`, () => {
      const exactLayer = make('reference');
      const exact = decode(exactLayer, exactLayer.createKVCache({ batchSize: 2, capacity: 48 }));
      const native = make('native');
      const cache = native.createKVCache({ batchSize: 2, capacity: 48, dtype });
      expect(cache.dtype).toBe(dtype);
      const got = decode(native, cache);
      const refLayer = make('reference');
      const rounded = decode(refLayer, refLayer.createKVCache({ batchSize: 2, capacity: 48, dtype }));
      got.forEach((out, step) => {
        expect(hasNaN(out)).toBe(false);
        expect(relL2(out, exact[step]), `${dtype} step ${step}`).toBeLessThanOrEqual(tol);
        // The native cache holds the same rounded values as the reference's: float32-level agreement.
        expect(relL2(out, rounded[step]), `${dtype} step ${step} vs the reference's ${dtype} cache`).toBeLessThanOrEqual(2e-5);
      });
      expect(relL2(got[1], exact[1])).toBeGreaterThan(0);  // the storage really is 16-bit
    });
  }

  it('a 16-bit cache with a bfloat16 layer, and the decode path split over keys (long cache, one sequence)', () => {
    const E2 = 32;
    const w = randWeights(new Rng(4), E2, E2, E2, false);
    const mk = (backend: 'native' | 'reference', dtype: Precision) =>
      new MultiHeadAttention({ embedDim: E2, numHeads: 2, weights: w, bias: false, dtype, backend });
    const x = randTensor(new Rng(6), [1, 700, E2]);
    const token = randTensor(new Rng(7), [1, 1, E2]);
    const run = (mha: MultiHeadAttention, dtype: StorageDtype) => {
      const cache = mha.createKVCache({ batchSize: 1, capacity: 701, dtype });
      mha.forward(x, x, x, { kvCache: cache, isCausal: true });
      return mha.forward(token, token, token, { kvCache: cache, isCausal: true }).output.data;
    };
    const exact = run(mk('reference', 'float32'), 'float32');
    expect(relL2(run(mk('native', 'float32'), 'float16'), exact)).toBeLessThanOrEqual(1e-3);
    expectBf16Bound(run(mk('native', 'bfloat16'), 'bfloat16'), run(mk('reference', 'bfloat16'), 'bfloat16'), exact,
      'bfloat16 layer, bfloat16 cache, key-split decode');
  });
});

describe('validation of the precision options', () => {
  const x = { data: new Float32Array(8), shape: [1, 1, 2, 4] };
  it('names the option and the allowed values; the next call works', () => {
    expect(() => new MultiHeadAttention({ embedDim: 4, numHeads: 2, dtype: 'float16' as never }))
      .toThrow(/options\.dtype: expected one of "float32", "bfloat16", got "float16"/);
    expect(() => matmul(x, x, { transposeB: true, precision: 'half' as never })).toThrow(TypeError);
    expect(() => scaledDotProductAttention(x, x, x, { precision: 16 as never })).toThrow(/options\.precision/);
    const mha = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    expect(() => mha.createKVCache({ batchSize: 1, capacity: 2, dtype: 'int8' as never }))
      .toThrow(/options\.dtype: expected one of "float32", "float16", "bfloat16", got "int8"/);
    expect(mha.createKVCache({ batchSize: 1, capacity: 2 }).dtype).toBe('float32');
    expect(matmul(x, x, { transposeB: true, precision: 'bfloat16' }).shape).toEqual([1, 1, 2, 2]);
  });
});
