// MultiHeadAttention (both backends) against torch.nn.MultiheadAttention(batch_first=True)
// evaluated in float64, from the fixtures written by tools/gen-fixtures.py (committed; no
// Python needed here). Criterion: relative L2 error <= 2e-5 for output and weights.
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention } from '../lib/index.js';
import { type Stored, type TorchFixture, decode, loadFixtures } from './fixtures.js';
import { type M, type T, causalBool, expectClose } from './helpers.js';


const fixtures = loadFixtures<TorchFixture>('torch');
const tensor = (s: Stored) => decode(s) as T;
const mask = (s: Stored) => decode(s) as M;

describe('parity with torch.nn.MultiheadAttention', () => {
  it('has the fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  for (const f of fixtures) {
    const { name } = f;
    for (const backend of ['native', 'reference'] as const) {
      it(`${name} (${backend})`, () => {
        const state = Object.fromEntries(Object.entries(f.state).map(([k, v]) => [k, tensor(v)]));
        const mha = MultiHeadAttention.fromStateDict(state, { numHeads: f.numHeads, backend });
        expect([mha.embedDim, mha.numHeads, mha.kDim, mha.vDim]).toEqual([f.embedDim, f.numHeads, f.kDim, f.vDim]);
        const query = tensor(f.query);
        const key = f.selfAttention ? query : tensor(f.key!);
        const value = f.selfAttention ? query : tensor(f.value!);
        const [B, L, E] = query.shape;
        const S = key.shape[1];
        const H = f.numHeads;
        const base = {
          keyPaddingMask: f.keyPaddingMask && mask(f.keyPaddingMask),
          needWeights: f.needWeights,
          averageAttnWeights: f.averageAttnWeights,
        };
        // Every equivalent spelling of the fixture's attention mask.
        const variants: [string, M | undefined, boolean][] = [];
        if (f.isCausal) {
          variants.push(['isCausal', undefined, true], ['explicit causal mask', causalBool(L, S), false]);
        } else if (f.attnMask) {
          const m = mask(f.attnMask);
          variants.push([`attnMask ${JSON.stringify(m.shape)}`, m, false]);
          if (m.shape.length === 3) variants.push(['attnMask as [B,H,L,S]', { data: m.data, shape: [B, H, L, S] }, false]);
        } else {
          variants.push(['no attnMask', undefined, false]);
        }
        const wantOut = decode(f.output).data;
        const wantWeights = f.attnWeights && decode(f.attnWeights).data;
        for (const [label, attnMask, isCausal] of variants) {
          const got = mha.forward(query, key, value, { ...base, attnMask, isCausal });
          expect(got.output.shape).toEqual([B, L, E]);
          expectClose(got.output.data, wantOut, `${label}: output`);
          if (!f.needWeights) {
            expect(got.attnWeights).toBeUndefined();
            continue;
          }
          expect(got.attnWeights!.shape).toEqual(f.averageAttnWeights ? [B, L, S] : [B, H, L, S]);
          expectClose(got.attnWeights!.data, wantWeights!, `${label}: weights`);
        }
      });
    }
  }

  it('fromStateDict also takes bare Float32Arrays', () => {
    const f = fixtures.find((c) => c.name === 'cross_kdim7_vdim33')!;
    const state = Object.fromEntries(Object.entries(f.state).map(([k, v]) => [k, tensor(v).data]));
    const mha = MultiHeadAttention.fromStateDict(state, { numHeads: f.numHeads });
    const got = mha.forward(tensor(f.query), tensor(f.key!), tensor(f.value!), { needWeights: true });
    expectClose(got.output.data, decode(f.output).data, 'output');
    expectClose(got.attnWeights!.data, decode(f.attnWeights!).data, 'weights');
  });
});
