// A layer shows what it was built with: the options a checkpoint loader or a batcher needs to
// know (scale, softcap, window, rotary, ALiBi slopes, dtype), resolved, and read-only.
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention } from '../lib/index.js';

describe('layer options as properties', () => {
  it('defaults: scale 1/sqrt(headDim), nothing else set', () => {
    const mha = new MultiHeadAttention({ embedDim: 32, numHeads: 4 });
    expect(mha.scale).toBeCloseTo(1 / Math.sqrt(8), 12);
    expect([mha.softcap, mha.window, mha.rotary, mha.alibiSlopes]).toEqual([undefined, undefined, undefined, undefined]);
    expect(mha.dtype).toBe('float32');
    expect(mha.numKvHeads).toBe(4);
  });

  it('the options given, resolved: rotary with its defaults, the standard ALiBi slopes, one window side', () => {
    const mha = new MultiHeadAttention({ embedDim: 48, numHeads: 6, numKvHeads: 2, scale: 0.5, softcap: 30,
      window: { left: 7 }, rotary: { dim: 4 }, alibi: true, dtype: 'bfloat16', backend: 'reference' });
    expect([mha.scale, mha.softcap, mha.numKvHeads, mha.dtype]).toEqual([0.5, 30, 2, 'bfloat16']);
    expect(mha.window).toEqual({ left: 7 });
    expect(mha.rotary).toEqual({ dim: 4, base: 10000, interleaved: false });
    expect(Object.isFrozen(mha.window) && Object.isFrozen(mha.rotary)).toBe(true);
    // H = 6 is not a power of two: 2^(-8(h+1)/4) for h < 4, then every other one of the H = 8 sequence
    expect(Array.from(mha.alibiSlopes!)).toEqual([0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125].map(Math.fround));
  });

  it('alibiSlopes is a copy: changing it changes neither the layer nor the next read', () => {
    const slopes = new Float32Array([0.5, 0.25]);
    const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2, alibi: slopes, backend: 'reference' });
    slopes[0] = 9;
    const read = mha.alibiSlopes!;
    read[1] = 9;
    expect(Array.from(mha.alibiSlopes!)).toEqual([0.5, 0.25]);
  });
});
