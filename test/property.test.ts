// Property tests (fast-check, fixed seed): over random shapes, masks and options the native
// backend matches the float64 TypeScript reference within the contract's bound, without NaN;
// and the dynamic batcher gives each request what running it alone gives.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ForwardOptions, MultiHeadAttention, createBatcher } from '../lib/index.js';
import { type M, type T, Rng, additiveMask, boolMask, expectClose, hasNaN, randTensor, randWeights } from './helpers.js';

const SEED = 20261126;
const RUNS = 50;

const KEY_PADDING = ['none', 'bool', 'additive'] as const;
// attnMask shapes: [L, S], [B*H, L, S] (PyTorch per head), [B, H, L, S], [B, 1, L, S] (broadcast over heads).
const ATTN_MASK = ['none', 'bool [L,S]', 'additive [L,S]', 'bool [B*H,L,S]', 'additive [B,H,L,S]', 'bool [B,1,L,S]'] as const;

const caseArbitrary = fc.record({
  B: fc.integer({ min: 1, max: 3 }),
  L: fc.integer({ min: 1, max: 20 }),
  S: fc.integer({ min: 1, max: 20 }),
  H: fc.integer({ min: 1, max: 4 }),
  D: fc.integer({ min: 1, max: 8 }),             // E = H * D <= 32
  kDim: fc.integer({ min: 1, max: 32 }),
  vDim: fc.integer({ min: 1, max: 32 }),
  selfAttention: fc.boolean(),                    // query = key = value (S = L, kDim = vDim = E)
  bias: fc.boolean(),
  keyPadding: fc.constantFrom(...KEY_PADDING),
  attnMask: fc.constantFrom(...ATTN_MASK),
  isCausal: fc.boolean(),
  needWeights: fc.boolean(),
  averageAttnWeights: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

type Case = typeof caseArbitrary extends fc.Arbitrary<infer C> ? C : never;

/** keyPaddingMask [B, S] blocking about a third of the keys (sometimes a whole row), or undefined. */
function keyPaddingMask(rng: Rng, kind: Case['keyPadding'], B: number, S: number): M | undefined {
  if (kind === 'none') return undefined;
  return kind === 'bool' ? boolMask(rng, [B, S], 0.35) : additiveMask(rng, [B, S], 0.35);
}

function attnMask(rng: Rng, kind: Case['attnMask'], B: number, H: number, L: number, S: number): M | undefined {
  switch (kind) {
    case 'none': return undefined;
    case 'bool [L,S]': return boolMask(rng, [L, S], 0.3);
    case 'additive [L,S]': return additiveMask(rng, [L, S], 0.2);
    case 'bool [B*H,L,S]': return boolMask(rng, [B * H, L, S], 0.3);
    case 'additive [B,H,L,S]': return additiveMask(rng, [B, H, L, S], 0.2);
    case 'bool [B,1,L,S]': return boolMask(rng, [B, 1, L, S], 0.3);
  }
}

function describeCase(c: Case): string {
  return JSON.stringify(c);
}

describe('property: native backend vs the float64 reference', () => {
  it(`${RUNS} random shapes, masks and options (seed ${SEED})`, () => {
    fc.assert(fc.property(caseArbitrary, (c) => {
      const E = c.H * c.D;
      const S = c.selfAttention ? c.L : c.S;
      const kDim = c.selfAttention ? E : c.kDim;
      const vDim = c.selfAttention ? E : c.vDim;
      const rng = new Rng(c.seed);
      const weights = randWeights(rng, E, kDim, vDim, c.bias);
      const layer = (backend: 'native' | 'reference') =>
        new MultiHeadAttention({ embedDim: E, numHeads: c.H, kDim, vDim, bias: c.bias, weights, backend });
      const q = randTensor(rng, [c.B, c.L, E]);
      const k = c.selfAttention ? q : randTensor(rng, [c.B, S, kDim]);
      const v = c.selfAttention ? q : randTensor(rng, [c.B, S, vDim]);
      const options: ForwardOptions = {
        keyPaddingMask: keyPaddingMask(rng, c.keyPadding, c.B, S),
        attnMask: attnMask(rng, c.attnMask, c.B, c.H, c.L, S),
        isCausal: c.isCausal, needWeights: c.needWeights, averageAttnWeights: c.averageAttnWeights,
      };
      const label = describeCase(c);
      const expected = layer('reference').forward(q, k, v, options);
      const actual = layer('native').forward(q, k, v, options);
      expect(hasNaN(expected.output.data), `${label}: reference NaN`).toBe(false);
      expectClose(actual.output.data, expected.output.data, `${label}: output`);
      expect(actual.attnWeights?.shape, label).toEqual(expected.attnWeights?.shape);
      if (expected.attnWeights) expectClose(actual.attnWeights!.data, expected.attnWeights.data, `${label}: weights`);
    }), { seed: SEED, numRuns: RUNS });
  });
});

const requestArbitrary = fc.record({
  L: fc.integer({ min: 1, max: 12 }),
  S: fc.integer({ min: 1, max: 12 }),
  keyPadding: fc.constantFrom(...KEY_PADDING),
  attnMask: fc.constantFrom('none', 'bool [L,S]', 'additive [L,S]', 'bool [B*H,L,S]', 'additive [B,H,L,S]') as
    fc.Arbitrary<Case['attnMask']>,
  isCausal: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

describe('property: batched requests equal requests run alone', () => {
  it(`${RUNS} random groups of 1-8 concurrent requests (seed ${SEED})`, async () => {
    const E = 16, H = 4, kDim = 6, vDim = 10;
    const weights = randWeights(new Rng(1), E, kDim, vDim, true);
    const mha = new MultiHeadAttention({ embedDim: E, numHeads: H, kDim, vDim, weights });
    await fc.assert(fc.asyncProperty(
      fc.array(requestArbitrary, { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      async (requests, needWeights) => {
        const calls = requests.map((r) => {
          const rng = new Rng(r.seed);
          const q: T = randTensor(rng, [1, r.L, E]), k = randTensor(rng, [1, r.S, kDim]), v = randTensor(rng, [1, r.S, vDim]);
          const options: ForwardOptions = {
            keyPaddingMask: keyPaddingMask(rng, r.keyPadding, 1, r.S),
            attnMask: attnMask(rng, r.attnMask, 1, H, r.L, r.S),
            isCausal: r.isCausal, needWeights,
          };
          return { q, k, v, options, label: JSON.stringify(r) };
        });
        const expected = calls.map((c) => mha.forward(c.q, c.k, c.v, c.options));
        const batcher = createBatcher(mha, { maxBatchSize: 8, maxDelayMs: 0 });
        const results = await Promise.all(calls.map((c) => batcher.run(c.q, c.k, c.v, c.options)));
        results.forEach((r, i) => {
          expectClose(r.output.data, expected[i].output.data, `${calls[i].label}: output`);
          if (needWeights) expectClose(r.attnWeights!.data, expected[i].attnWeights!.data, `${calls[i].label}: weights`);
        });
      }), { seed: SEED, numRuns: RUNS });
  });
});
