// Detached input buffers: detaching (transferring) an input's ArrayBuffer right after
// forwardAsync returns cannot crash the process or change the result (inputs are copied
// before the call returns); an input that is already detached is a TypeError, for forward,
// forwardAsync and the batcher alike.
import { describe, expect, it } from 'vitest';
import { type ForwardOptions, MultiHeadAttention, createBatcher } from '../lib/index.js';
import { type M, type T, Rng, additiveMask, boolMask, expectClose, paddingBool, randTensor, randWeights } from './helpers.js';

const B = 2, L = 7, S = 33, E = 24, H = 3, KDIM = 5, VDIM = 9;

/** Detaches view's ArrayBuffer: ArrayBuffer.prototype.transfer where it exists (Node >= 21), else a structuredClone transfer. */
function detach(view: ArrayBufferView): void {
  const buffer = view.buffer as ArrayBuffer & { transfer?: () => ArrayBuffer };
  if (typeof buffer.transfer === 'function') buffer.transfer();
  else structuredClone(buffer, { transfer: [buffer] });
  expect(view.byteLength).toBe(0);
}

function layer(kDim = KDIM, vDim = VDIM) {
  const weights = randWeights(new Rng(5), E, kDim, vDim, true);
  return new MultiHeadAttention({ embedDim: E, numHeads: H, kDim, vDim, weights });
}

interface Call { q: T; k: T; v: T; options: ForwardOptions & { keyPaddingMask: M; attnMask: M } }

function crossCall(seed: number, batch = B): Call {
  const rng = new Rng(seed);
  return {
    q: randTensor(rng, [batch, L, E]), k: randTensor(rng, [batch, S, KDIM]), v: randTensor(rng, [batch, S, VDIM]),
    options: {
      keyPaddingMask: paddingBool(S, Array.from({ length: batch }, (_, b) => S - 3 * b)),
      attnMask: additiveMask(rng, [L, S], 0.2), needWeights: true,
    },
  };
}

/** Every buffer a call reads. */
const buffers = (c: Call): ArrayBufferView[] => [c.q.data, c.k.data, c.v.data, c.options.keyPaddingMask.data, c.options.attnMask.data];

describe('detached input buffers', () => {
  it('detaching every input right after forwardAsync returns leaves the result unchanged', async () => {
    const mha = layer();
    const calls = Array.from({ length: 16 }, (_, i) => crossCall(100 + i));
    const expected = calls.map((c) => mha.forward(c.q, c.k, c.v, c.options));
    const pending = calls.map((c) => {
      const promise = mha.forwardAsync(c.q, c.k, c.v, c.options);
      buffers(c).forEach(detach);
      return promise;
    });
    const results = await Promise.all(pending);
    results.forEach((r, i) => {
      expectClose(r.output.data, expected[i].output.data, `call ${i}: output`);
      expectClose(r.attnWeights!.data, expected[i].attnWeights!.data, `call ${i}: weights`);
    });
  });

  it('self-attention: detaching the one shared buffer right after forwardAsync returns', async () => {
    const mha = layer(E, E);
    const x = randTensor(new Rng(7), [B, L, E]);
    const options = { isCausal: true, attnMask: boolMask(new Rng(8), [B * H, L, L], 0.3) };
    const expected = mha.forward(x, x, x, options);
    const pending = mha.forwardAsync(x, x, x, options);
    detach(x.data);
    detach(options.attnMask.data);
    expectClose((await pending).output.data, expected.output.data, 'self-attention');
  });

  it('an already-detached query, key, value or mask is a TypeError (forward and forwardAsync) and the layer keeps working', async () => {
    const mha = layer();
    const reference = crossCall(200);
    const expected = mha.forward(reference.q, reference.k, reference.v, reference.options);
    for (const [name, pick] of [
      ['query', (c: Call) => c.q.data], ['key', (c: Call) => c.k.data], ['value', (c: Call) => c.v.data],
      ['keyPaddingMask', (c: Call) => c.options.keyPaddingMask.data], ['attnMask', (c: Call) => c.options.attnMask.data],
    ] as const) {
      const c = crossCall(200);
      detach(pick(c));
      expect(() => mha.forward(c.q, c.k, c.v, c.options), `forward, detached ${name}`).toThrow(TypeError);
      await expect(mha.forwardAsync(c.q, c.k, c.v, c.options), `forwardAsync, detached ${name}`).rejects.toThrow(TypeError);
    }
    const again = mha.forward(reference.q, reference.k, reference.v, reference.options);
    expectClose(again.output.data, expected.output.data, 'after the errors');
  });

  it('batcher: detaching right after run() leaves the result unchanged; an already-detached input rejects alone', async () => {
    const mha = layer();
    const calls = Array.from({ length: 4 }, (_, i) => crossCall(300 + i, 1));
    const expected = calls.map((c) => mha.forward(c.q, c.k, c.v, c.options));
    const batcher = createBatcher(mha, { maxDelayMs: 20 });
    const pending = calls.map((c) => {
      const promise = batcher.run(c.q, c.k, c.v, c.options);
      buffers(c).forEach(detach);
      return promise;
    });
    const detached = crossCall(304, 1);
    detach(detached.k.data);
    const rejected = batcher.run(detached.q, detached.k, detached.v, detached.options).then(() => 'resolved', (e) => e);
    (await Promise.all(pending)).forEach((r, i) => expectClose(r.output.data, expected[i].output.data, `request ${i}`));
    expect(await rejected).toBeInstanceOf(TypeError);
  });
});
