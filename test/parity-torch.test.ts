// MultiHeadAttention (both backends) against torch.nn.MultiheadAttention(batch_first=True)
// evaluated in float64, from the fixtures written by tools/gen-fixtures.py (committed; no
// Python needed here). Criterion: relative L2 error <= 2e-5 for output and weights.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention } from '../lib/index.js';
import { type M, type T, causalBool, expectClose } from './helpers.js';

interface Stored { dtype: 'f32' | 'f64' | 'u8'; shape: number[]; b64: string }
interface Fixture {
  name: string; numHeads: number; embedDim: number; kDim: number; vDim: number; bias: boolean;
  selfAttention: boolean; isCausal: boolean; needWeights: boolean; averageAttnWeights: boolean;
  query: Stored; key?: Stored; value?: Stored; state: Record<string, Stored>;
  keyPaddingMask?: Stored; attnMask?: Stored; output: Stored; attnWeights?: Stored;
}

const dir = new URL('./fixtures/torch/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as { cases: string[] };

function decode(s: Stored): { data: Float32Array | Float64Array | Uint8Array; shape: number[] } {
  const bytes = Buffer.from(s.b64, 'base64');
  const copy = new Uint8Array(bytes); // own, aligned buffer
  const data = s.dtype === 'f32' ? new Float32Array(copy.buffer)
    : s.dtype === 'f64' ? new Float64Array(copy.buffer) : copy;
  expect(data.length).toBe(s.shape.reduce((a, b) => a * b, 1));
  return { data, shape: s.shape };
}
const tensor = (s: Stored) => decode(s) as T;
const mask = (s: Stored) => decode(s) as M;

describe('parity with torch.nn.MultiheadAttention', () => {
  it('has the fixtures', () => {
    expect(manifest.cases.length).toBeGreaterThanOrEqual(20);
  });

  for (const name of manifest.cases) {
    const f = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) as Fixture;
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
    const f = JSON.parse(readFileSync(new URL('cross_kdim7_vdim33.json', dir), 'utf8')) as Fixture;
    const state = Object.fromEntries(Object.entries(f.state).map(([k, v]) => [k, tensor(v).data]));
    const mha = MultiHeadAttention.fromStateDict(state, { numHeads: f.numHeads });
    const got = mha.forward(tensor(f.query), tensor(f.key!), tensor(f.value!), { needWeights: true });
    expectClose(got.output.data, decode(f.output).data, 'output');
    expectClose(got.attnWeights!.data, decode(f.attnWeights!).data, 'weights');
  });
});
