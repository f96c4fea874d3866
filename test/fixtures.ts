// The committed fixtures (tools/gen-fixtures.py): a directory's manifest of cases, each case a
// JSON file whose tensors are stored as little-endian bytes in base64.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** A stored tensor: float32, float64 (the oracle's outputs) or bytes (boolean masks). */
export interface Stored { dtype: 'f32' | 'f64' | 'u8'; shape: number[]; b64: string }

/** A case of fixtures/torch/: torch.nn.MultiheadAttention's state and one call, in float64. */
export interface TorchFixture {
  name: string; numHeads: number; embedDim: number; kDim: number; vDim: number; bias: boolean;
  selfAttention: boolean; isCausal: boolean; needWeights: boolean; averageAttnWeights: boolean;
  query: Stored; key?: Stored; value?: Stored; state: Record<string, Stored>;
  keyPaddingMask?: Stored; attnMask?: Stored; output: Stored; attnWeights?: Stored;
}

/** Every case of fixtures/<dir>/, in the manifest's order. */
export function loadFixtures<F>(dir: string): F[] {
  const base = new URL(`./fixtures/${dir}/`, import.meta.url);
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', base), 'utf8')) as { cases: string[] };
  return manifest.cases.map((name) => JSON.parse(readFileSync(new URL(`${name}.json`, base), 'utf8')) as F);
}

/** A stored tensor as a typed array on its own, aligned buffer. */
export function decode(s: Stored): { data: Float32Array | Float64Array | Uint8Array; shape: number[] } {
  const copy = new Uint8Array(Buffer.from(s.b64, 'base64'));
  const data = s.dtype === 'f32' ? new Float32Array(copy.buffer)
    : s.dtype === 'f64' ? new Float64Array(copy.buffer) : copy;
  expect(data.length).toBe(s.shape.reduce((a, b) => a * b, 1));
  return { data, shape: s.shape };
}
