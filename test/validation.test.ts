// Bad input (API contract, "Bad input"): every case throws the right error class with a message
// naming the argument (and, for shapes, the expected and the actual shape), forwardAsync rejects
// instead of throwing, and the module keeps working for the next call. Native backend.
import { afterAll, describe, expect, it } from 'vitest';
import {
  MultiHeadAttention, getNumThreads, maskedSoftmax, matmul, reference, rotaryEmbedding, scaledDotProductAttention,
  setNumThreads, type Tensor,
} from '../lib/index.js';

const zeros = (shape: number[]): Tensor => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape });
const ramp = (shape: number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, (_, i) => Math.sin(i)), shape };
};
const detached = (shape: number[]): Tensor => {
  const { data } = zeros(shape);
  structuredClone(data.buffer, { transfer: [data.buffer] });
  return { data, shape };
};
const boolMask = (shape: number[]) => ({ data: new Uint8Array(shape.reduce((a, b) => a * b, 1)), shape });

type ErrorClass = typeof TypeError | typeof RangeError;
interface BadCase { name: string; call: () => unknown; error: ErrorClass; message: string[] }

/** The call throws exactly this class (TypeError and RangeError are distinct) with every fragment in its message. */
function expectThrows(call: () => unknown, error: ErrorClass, message: string[]): void {
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(error);
  expect((thrown as Error).constructor).toBe(error);
  for (const fragment of message) expect((thrown as Error).message).toContain(fragment);
}

function runCases(cases: BadCase[], validCall: () => void): void {
  for (const c of cases) {
    it(c.name, () => {
      expectThrows(c.call, c.error, c.message);
      validCall();
    });
  }
}

// B = 2, L = 3, S = 5, E = 8, H = 2, kDim = 6, vDim = 4.
const B = 2, L = 3, S = 5, E = 8, H = 2;
const layer = new MultiHeadAttention({ embedDim: E, numHeads: H, kDim: 6, vDim: 4, seed: 3 });
const query = ramp([B, L, E]);
const key = ramp([B, S, 6]);
const value = ramp([B, S, 4]);

function validForward(): void {
  const { output, attnWeights } = layer.forward(query, key, value, {
    keyPaddingMask: boolMask([B, S]), isCausal: true, needWeights: true,
  });
  expect(output.shape).toEqual([B, L, E]);
  expect(attnWeights?.shape).toEqual([B, L, S]);
  expect(output.data.every(Number.isFinite)).toBe(true);
  expect(output.data.some((x) => x !== 0)).toBe(true);
}

describe('MultiHeadAttention constructor', () => {
  const w = (E2: number, k = E2, v = E2) => ({
    qWeight: new Float32Array(E2 * E2), kWeight: new Float32Array(E2 * k),
    vWeight: new Float32Array(E2 * v), outWeight: new Float32Array(E2 * E2),
  });
  const make = (options: unknown) => () => new MultiHeadAttention(options as never);
  runCases([
    { name: 'options not an object', call: make(undefined), error: TypeError, message: ['options', 'undefined'] },
    { name: 'embedDim missing', call: make({ numHeads: 2 }), error: TypeError, message: ['options.embedDim', 'undefined'] },
    { name: 'embedDim a string', call: make({ embedDim: '8', numHeads: 2 }), error: TypeError, message: ['options.embedDim', '"8"'] },
    { name: 'embedDim zero', call: make({ embedDim: 0, numHeads: 1 }), error: RangeError, message: ['options.embedDim', 'positive integer', 'got 0'] },
    { name: 'embedDim negative', call: make({ embedDim: -8, numHeads: 2 }), error: RangeError, message: ['options.embedDim', 'got -8'] },
    { name: 'embedDim fractional', call: make({ embedDim: 7.5, numHeads: 1 }), error: RangeError, message: ['options.embedDim', '7.5'] },
    { name: 'embedDim NaN', call: make({ embedDim: NaN, numHeads: 1 }), error: RangeError, message: ['options.embedDim', 'NaN'] },
    { name: 'numHeads does not divide embedDim', call: make({ embedDim: 10, numHeads: 3 }), error: RangeError, message: ['options.numHeads', 'divisor of embedDim (10)', 'got 3'] },
    { name: 'numHeads zero', call: make({ embedDim: 8, numHeads: 0 }), error: RangeError, message: ['options.numHeads', 'got 0'] },
    { name: 'kDim fractional', call: make({ embedDim: 8, numHeads: 2, kDim: 2.5 }), error: RangeError, message: ['options.kDim', '2.5'] },
    { name: 'vDim zero', call: make({ embedDim: 8, numHeads: 2, vDim: 0 }), error: RangeError, message: ['options.vDim', 'got 0'] },
    { name: 'bias not a boolean', call: make({ embedDim: 8, numHeads: 2, bias: 1 }), error: TypeError, message: ['options.bias', 'boolean', 'got 1'] },
    { name: 'unknown backend', call: make({ embedDim: 8, numHeads: 2, backend: 'gpu' }), error: TypeError, message: ['options.backend', '"native"', '"gpu"'] },
    { name: 'seed fractional', call: make({ embedDim: 8, numHeads: 2, seed: 0.5 }), error: RangeError, message: ['options.seed', '0.5'] },
    { name: 'weight element count overflows', call: make({ embedDim: 65536, numHeads: 1 }), error: RangeError, message: ['qWeight', '2147483647', '[65536, 65536]'] },
    { name: 'weights not an object', call: make({ embedDim: 8, numHeads: 2, weights: 3 }), error: TypeError, message: ['options.weights', 'got 3'] },
    { name: 'weight of the wrong dtype', call: make({ embedDim: 8, numHeads: 2, weights: { ...w(8), qWeight: new Float64Array(64) } }), error: TypeError, message: ['options.weights.qWeight', 'Float32Array', 'Float64Array'] },
    { name: 'weight of the wrong length', call: make({ embedDim: 8, numHeads: 2, kDim: 6, weights: w(8) }), error: RangeError, message: ['options.weights.kWeight.length', '48', '[8, 6]', 'got 64'] },
    { name: 'bias of the wrong length', call: make({ embedDim: 8, numHeads: 2, weights: { ...w(8), outBias: new Float32Array(7) } }), error: RangeError, message: ['options.weights.outBias.length', '8', 'got 7'] },
    { name: 'bias given with bias: false', call: make({ embedDim: 8, numHeads: 2, bias: false, weights: { ...w(8), qBias: new Float32Array(8) } }), error: TypeError, message: ['options.weights.qBias', 'bias is false'] },
  ], validForward);
});

describe('MultiHeadAttention.forward', () => {
  // Each case's call is f(query, key, value, options); forwardAsync replays the same arguments.
  type Args = [Tensor, Tensor, Tensor, never];
  const argsOf = new Map<() => unknown, Args>();
  const f = (q: unknown, k: unknown, v: unknown, o?: unknown) => {
    const args = [q, k, v, o] as Args;
    const call = () => layer.forward(...args);
    argsOf.set(call, args);
    return call;
  };
  const cases: BadCase[] = [
    { name: 'query not an object', call: f(null, key, value), error: TypeError, message: ['query', 'got null'] },
    { name: 'query.data Float64Array', call: f({ data: new Float64Array(48), shape: [B, L, E] }, key, value), error: TypeError, message: ['query.data', 'Float32Array', 'got Float64Array'] },
    { name: 'query.data a plain array', call: f({ data: new Array(48).fill(0), shape: [B, L, E] }, key, value), error: TypeError, message: ['query.data', 'Float32Array', 'Array'] },
    { name: 'query on a detached buffer', call: f(detached([B, L, E]), key, value), error: TypeError, message: ['query.data', 'detached Float32Array'] },
    { name: 'key.shape not an array', call: f(query, { data: key.data, shape: 'B,S,6' }, value), error: TypeError, message: ['key.shape', '"B,S,6"'] },
    { name: 'query of rank 2', call: f(zeros([L, E]), key, value), error: RangeError, message: ['query', 'rank 3', '[B, L, E]', '[3, 8]'] },
    { name: 'query with the wrong embedDim', call: f(zeros([B, L, 7]), key, value), error: RangeError, message: ['query', '[2, 3, 8] ([B, L, E])', 'got [2, 3, 7]'] },
    { name: 'key with the wrong kDim', call: f(query, zeros([B, S, 5]), value), error: RangeError, message: ['key', '[2, 5, 6] ([B, S, kDim])', 'got [2, 5, 5]'] },
    { name: 'key with the wrong batch', call: f(query, zeros([1, S, 6]), value), error: RangeError, message: ['key', '[2, 5, 6] ([B, S, kDim])', 'got [1, 5, 6]'] },
    { name: 'value with the wrong length S', call: f(query, key, zeros([B, 4, 4])), error: RangeError, message: ['value', '[2, 5, 4] ([B, S, vDim])', 'got [2, 4, 4]'] },
    { name: 'value with the wrong vDim', call: f(query, key, zeros([B, S, 6])), error: RangeError, message: ['value', '[2, 5, 4]', 'got [2, 5, 6]'] },
    { name: 'a zero dimension', call: f(zeros([B, 0, E]), key, value), error: RangeError, message: ['query.shape[1]', 'positive integer', 'got 0'] },
    { name: 'a fractional dimension', call: f({ data: query.data, shape: [B, 1.5, 16] }, key, value), error: RangeError, message: ['query.shape[1]', '1.5'] },
    { name: 'a string dimension', call: f({ data: query.data, shape: [B, '3', E] }, key, value), error: TypeError, message: ['query.shape[1]', '"3"'] },
    { name: 'data shorter than the shape', call: f({ data: new Float32Array(47), shape: [B, L, E] }, key, value), error: RangeError, message: ['query.data.length', '48', '[2, 3, 8]', 'got 47'] },
    { name: 'data longer than the shape', call: f(query, key, { data: new Float32Array(41), shape: [B, S, 4] }), error: RangeError, message: ['value.data.length', '40', 'got 41'] },
    { name: 'element count overflow', call: f({ data: new Float32Array(8), shape: [65536, 65536, E] }, key, value), error: RangeError, message: ['query', '2147483647', '[65536, 65536, 8]'] },
    { name: 'options not an object', call: f(query, key, value, 5), error: TypeError, message: ['options', 'got 5'] },
    { name: 'keyPaddingMask of the wrong shape', call: f(query, key, value, { keyPaddingMask: boolMask([B, 4]) }), error: RangeError, message: ['options.keyPaddingMask', '[2, 5] ([B, S])', 'got [2, 4]'] },
    { name: 'keyPaddingMask of the wrong dtype', call: f(query, key, value, { keyPaddingMask: { data: new Int8Array(10), shape: [B, S] } }), error: TypeError, message: ['options.keyPaddingMask.data', 'Uint8Array', 'Int8Array'] },
    { name: 'keyPaddingMask data too short', call: f(query, key, value, { keyPaddingMask: { data: new Uint8Array(9), shape: [B, S] } }), error: RangeError, message: ['options.keyPaddingMask.data.length', '10', 'got 9'] },
    { name: 'attnMask of the wrong shape', call: f(query, key, value, { attnMask: boolMask([L, 4]) }), error: RangeError, message: ['options.attnMask', '[3, 5] ([L, S])', '[4, 3, 5] ([B*H, L, S])', '[2, 2, 3, 5]', 'got [3, 4]'] },
    { name: 'attnMask [B*H, L, S] with the wrong lead dim', call: f(query, key, value, { attnMask: boolMask([3, L, S]) }), error: RangeError, message: ['options.attnMask', 'got [3, 3, 5]'] },
    { name: 'attnMask of rank 4 with the wrong heads', call: f(query, key, value, { attnMask: boolMask([B, 3, L, S]) }), error: RangeError, message: ['options.attnMask', 'got [2, 3, 3, 5]'] },
    { name: 'attnMask of the wrong dtype', call: f(query, key, value, { attnMask: { data: new Float64Array(15), shape: [L, S] } }), error: TypeError, message: ['options.attnMask.data', 'Float64Array'] },
    { name: 'isCausal not a boolean', call: f(query, key, value, { isCausal: 'true' }), error: TypeError, message: ['options.isCausal', 'boolean', '"true"'] },
    { name: 'needWeights not a boolean', call: f(query, key, value, { needWeights: 1 }), error: TypeError, message: ['options.needWeights', 'got 1'] },
    { name: 'averageAttnWeights not a boolean', call: f(query, key, value, { averageAttnWeights: null }), error: TypeError, message: ['options.averageAttnWeights', 'got null'] },
  ];
  runCases(cases, validForward);

  it('forwardAsync returns a rejected promise for every bad input, never throws, then works', async () => {
    for (const c of cases) {
      const [q, k, v, o] = argsOf.get(c.call)!;
      let promise: Promise<unknown> | undefined;
      expect(() => { promise = layer.forwardAsync(q, k, v, o); }, c.name).not.toThrow();
      await expect(promise, c.name).rejects.toThrow(c.error);
      await promise!.catch((e: Error) => {
        expect(e.constructor, c.name).toBe(c.error);
        for (const fragment of c.message) expect(e.message, c.name).toContain(fragment);
      });
    }
    const { output } = await layer.forwardAsync(query, key, value, { isCausal: true });
    expect(output.data.every(Number.isFinite)).toBe(true);
    validForward();
  });

  it('never modifies its inputs and returns fresh memory on every call', () => {
    const before = Float32Array.from(query.data);
    const a = layer.forward(query, key, value, { needWeights: true });
    const b = layer.forward(query, key, value, { needWeights: true });
    expect(query.data).toEqual(before);
    expect(a.output.data.buffer).not.toBe(b.output.data.buffer);
    expect(a.output.data.buffer).not.toBe(query.data.buffer);
    expect(a.attnWeights!.data.buffer).not.toBe(b.attnWeights!.data.buffer);
    expect(a.output.data).toEqual(b.output.data);
  });
});

describe('MultiHeadAttention attention variant options', () => {
  // E = 16, H = 4: headDim 4. The layers are built on the reference backend; every case throws first.
  const make = (extra: object) => () => new MultiHeadAttention({ embedDim: 16, numHeads: 4, backend: 'reference', ...extra } as never);
  runCases([
    { name: 'numKvHeads not dividing numHeads', call: make({ numKvHeads: 3 }), error: RangeError, message: ['options.numKvHeads', 'divisor of numHeads (4)', 'got 3'] },
    { name: 'numKvHeads zero', call: make({ numKvHeads: 0 }), error: RangeError, message: ['options.numKvHeads', 'got 0'] },
    { name: 'numKvHeads a string', call: make({ numKvHeads: '2' }), error: TypeError, message: ['options.numKvHeads', '"2"'] },
    { name: 'rotary dim odd', call: make({ rotary: { dim: 3 } }), error: RangeError, message: ['options.rotary.dim', 'even', 'got 3'] },
    { name: 'rotary dim larger than the head', call: make({ rotary: { dim: 6 } }), error: RangeError, message: ['options.rotary.dim', 'head dim (4)', 'got 6'] },
    { name: 'rotary default dim = an odd head dim', call: () => new MultiHeadAttention({ embedDim: 15, numHeads: 5, rotary: {} }), error: RangeError, message: ['options.rotary.dim', 'head dim (3)', 'got 3'] },
    { name: 'rotary base zero', call: make({ rotary: { base: 0 } }), error: RangeError, message: ['options.rotary.base', '> 0', 'got 0'] },
    { name: 'rotary not an object', call: make({ rotary: true }), error: TypeError, message: ['options.rotary', 'got true'] },
    { name: 'rotary interleaved not a boolean', call: make({ rotary: { interleaved: 1 } }), error: TypeError, message: ['options.rotary.interleaved', 'got 1'] },
    { name: 'window left negative', call: make({ window: { left: -1 } }), error: RangeError, message: ['options.window.left', 'non-negative integer', 'got -1'] },
    { name: 'window right fractional', call: make({ window: { right: 1.5 } }), error: RangeError, message: ['options.window.right', 'got 1.5'] },
    { name: 'window not an object', call: make({ window: 3 }), error: TypeError, message: ['options.window', 'got 3'] },
    { name: 'softcap zero', call: make({ softcap: 0 }), error: RangeError, message: ['options.softcap', '> 0', 'got 0'] },
    { name: 'softcap negative', call: make({ softcap: -2 }), error: RangeError, message: ['options.softcap', 'got -2'] },
    { name: 'softcap Infinity', call: make({ softcap: Infinity }), error: RangeError, message: ['options.softcap', 'Infinity'] },
    { name: 'alibi slopes of the wrong count', call: make({ alibi: new Float32Array(3) }), error: RangeError, message: ['options.alibi.length', '4', 'got 3'] },
    { name: 'alibi slope NaN', call: make({ alibi: Float32Array.from([1, NaN, 1, 1]) }), error: RangeError, message: ['options.alibi[1]', 'NaN'] },
    { name: 'alibi a string', call: make({ alibi: 'standard' }), error: TypeError, message: ['options.alibi', '"standard"'] },
    { name: 'scale zero', call: make({ scale: 0 }), error: RangeError, message: ['options.scale', 'nonzero', 'got 0'] },
    { name: 'scale NaN', call: make({ scale: NaN }), error: RangeError, message: ['options.scale', 'NaN'] },
    { name: 'GQA kWeight of MHA rows', call: make({ numKvHeads: 2, weights: { qWeight: new Float32Array(256), kWeight: new Float32Array(256), vWeight: new Float32Array(128), outWeight: new Float32Array(256) } }), error: RangeError, message: ['options.weights.kWeight.length', '128', '[numKvHeads * headDim, kDim] = [8, 16]', 'got 256'] },
    { name: 'GQA kBias of E entries', call: make({ numKvHeads: 1, weights: { qWeight: new Float32Array(256), kWeight: new Float32Array(64), vWeight: new Float32Array(64), outWeight: new Float32Array(256), kBias: new Float32Array(16) } }), error: RangeError, message: ['options.weights.kBias.length', '4', 'got 16'] },
  ], validForward);
});

describe('MultiHeadAttention.forward with packed inputs', () => {
  // T = 5 queries, Tk = 7 keys of this file's layer (E = 8, kDim = 6, vDim = 4).
  const [q2, k2, v2] = [ramp([5, E]), ramp([7, 6]), ramp([7, 4])];
  const lengths = { sequenceLengths: [2, 3], kvSequenceLengths: [3, 4] };
  const f = (o: object, q: Tensor = q2, k: Tensor = k2, v: Tensor = v2) => () => layer.forward(q, k, v, o as never);
  const cases: BadCase[] = [
    { name: 'lengths not summing to T', call: f({ ...lengths, sequenceLengths: [2, 2] }), error: RangeError, message: ['options.sequenceLengths', 'summing to T (query.shape[0]) = 5', 'got [2, 2]'] },
    { name: 'a negative length', call: f({ ...lengths, sequenceLengths: [-1, 6] }), error: RangeError, message: ['options.sequenceLengths[0]', 'non-negative integer', 'got -1'] },
    { name: 'a fractional length', call: f({ ...lengths, sequenceLengths: [2.5, 2.5] }), error: RangeError, message: ['options.sequenceLengths[0]', 'got 2.5'] },
    { name: 'lengths not an array', call: f({ ...lengths, sequenceLengths: 5 }), error: TypeError, message: ['options.sequenceLengths', 'array', 'got 5'] },
    { name: 'a length that is a string', call: f({ ...lengths, sequenceLengths: ['2', 3] }), error: TypeError, message: ['options.sequenceLengths[0]', '"2"'] },
    { name: 'kv lengths not summing to Tk', call: f({ ...lengths, kvSequenceLengths: [3, 3] }), error: RangeError, message: ['options.kvSequenceLengths', 'summing to Tk (key.shape[0]) = 7', 'got [3, 3]'] },
    { name: 'kv lengths of another count', call: f({ ...lengths, kvSequenceLengths: Int32Array.from([7]) }), error: RangeError, message: ['options.kvSequenceLengths', '2 lengths', 'got [7]'] },
    { name: 'kv lengths omitted while Tk != T', call: f({ sequenceLengths: [2, 3] }), error: RangeError, message: ['options.kvSequenceLengths (default: options.sequenceLengths)', 'Tk (key.shape[0]) = 7'] },
    { name: 'kv lengths without sequenceLengths', call: f({ kvSequenceLengths: [3, 4] }, query, key, value), error: RangeError, message: ['options.kvSequenceLengths', 'without options.sequenceLengths'] },
    { name: 'attnMask with packed inputs', call: f({ ...lengths, attnMask: boolMask([3, 4]) }), error: RangeError, message: ['options.attnMask', 'packed'] },
    { name: 'keyPaddingMask with packed inputs', call: f({ ...lengths, keyPaddingMask: boolMask([2, 4]) }), error: RangeError, message: ['options.keyPaddingMask', 'packed'] },
    { name: 'needWeights with packed inputs', call: f({ ...lengths, needWeights: true }), error: RangeError, message: ['options.needWeights', 'packed', 'got true'] },
    { name: 'rank-3 query with sequenceLengths', call: f(lengths, query, key, value), error: RangeError, message: ['query', 'rank 2', '[T, E]', 'got [2, 3, 8]'] },
    { name: 'key of the wrong kDim', call: f(lengths, q2, ramp([7, 5])), error: RangeError, message: ['key', '[7, 6] ([Tk, kDim])', 'got [7, 5]'] },
  ];
  runCases(cases, validForward);

  it('forwardAsync rejects each of them, then works', async () => {
    for (const c of cases) await expect(Promise.resolve().then(c.call), c.name).rejects.toThrow(c.error);
    await layer.forwardAsync(query, key, value);
    validForward();
  });
});

describe('MultiHeadAttention weights', () => {
  for (const backend of ['native', 'reference'] as const) {
    it(`${backend}: the layer owns its weights and never modifies the caller's`, () => {
      const weights = {
        qWeight: ramp([4, 4]).data, kWeight: ramp([4, 4]).data, vWeight: ramp([4, 4]).data,
        outWeight: ramp([4, 4]).data, outBias: Float32Array.from([1, 2, 3, 4]),
      };
      const before = weights.qWeight.slice();
      const m = new MultiHeadAttention({ embedDim: 4, numHeads: 2, weights, backend });
      const x = ramp([1, 3, 4]);
      const first = m.forward(x, x, x).output.data;
      expect(weights.qWeight).toEqual(before);
      weights.qWeight.fill(7);
      weights.outBias.fill(-1);
      expect(m.forward(x, x, x).output.data).toEqual(first);
    });
  }
});

describe('MultiHeadAttention.fromStateDict', () => {
  const E2 = 4;
  const good = () => ({
    in_proj_weight: new Float32Array(3 * E2 * E2).fill(0.1), in_proj_bias: new Float32Array(3 * E2),
    'out_proj.weight': new Float32Array(E2 * E2).fill(0.2), 'out_proj.bias': new Float32Array(E2).fill(1),
  });
  const load = (state: unknown, numHeads: unknown = 2) =>
    () => MultiHeadAttention.fromStateDict(state as never, { numHeads } as never);
  const { in_proj_weight: _w, ...withoutInProj } = good();
  const { 'out_proj.weight': _o, ...withoutOut } = good();
  const { 'out_proj.bias': _b, ...withoutOutBias } = good();
  runCases([
    { name: 'state not an object', call: load(null), error: TypeError, message: ['state', 'got null'] },
    { name: 'out_proj.weight missing', call: load(withoutOut), error: TypeError, message: ['state["out_proj.weight"]', 'undefined'] },
    { name: 'no in-projection weights', call: load(withoutInProj), error: TypeError, message: ['state["q_proj_weight"]', 'undefined'] },
    { name: 'in_proj_weight of the wrong length', call: load({ ...good(), in_proj_weight: new Float32Array(47) }), error: RangeError, message: ['state["in_proj_weight"].length', '48', '[3E, E] = [12, 4]', 'got 47'] },
    { name: 'in_proj_weight Tensor of the wrong shape', call: load({ ...good(), in_proj_weight: zeros([4, 12]) }), error: RangeError, message: ['state["in_proj_weight"]', '[12, 4] ([3E, E])', 'got [4, 12]'] },
    { name: 'out_proj.weight not square', call: load({ ...good(), 'out_proj.weight': zeros([4, 5]) }), error: RangeError, message: ['state["out_proj.weight"]', '[4, 4] ([E, E])', 'got [4, 5]'] },
    { name: 'a weight of the wrong dtype', call: load({ ...good(), in_proj_weight: new Float64Array(48) }), error: TypeError, message: ['state["in_proj_weight"]', 'Float64Array'] },
    { name: 'in_proj_bias without out_proj.bias', call: load(withoutOutBias), error: TypeError, message: ['state["out_proj.bias"]'] },
    { name: 'in_proj_bias of the wrong length', call: load({ ...good(), in_proj_bias: new Float32Array(4) }), error: RangeError, message: ['state["in_proj_bias"].length', '12', 'got 4'] },
    { name: 'both packed and separate weights', call: load({ ...good(), q_proj_weight: new Float32Array(16) }), error: RangeError, message: ['state', 'q_proj_weight'] },
    { name: 'an unknown key', call: load({ ...good(), bias_k: new Float32Array(4) }), error: RangeError, message: ['state', 'bias_k'] },
    { name: 'k_proj_weight not a multiple of E', call: load({ q_proj_weight: new Float32Array(16), k_proj_weight: new Float32Array(10), v_proj_weight: new Float32Array(16), 'out_proj.weight': new Float32Array(16) }), error: RangeError, message: ['state["k_proj_weight"].length', 'multiple of E = 4', 'got 10'] },
    { name: 'numHeads does not divide E', call: load(good(), 3), error: RangeError, message: ['options.numHeads', 'got 3'] },
  ], () => {
    const m = MultiHeadAttention.fromStateDict(good(), { numHeads: 2 });
    const { output } = m.forward(zeros([1, 2, E2]), zeros([1, 2, E2]), zeros([1, 2, E2]));
    // Zero inputs and zero in_proj_bias: zero context, so every output element is out_proj.bias = 1.
    expect(Array.from(output.data)).toEqual(new Array(2 * E2).fill(1));
  });
});

describe('matmul', () => {
  const a = ramp([2, 3, 4]);
  const b = ramp([2, 4, 5]);
  const valid = () => {
    const c = matmul(a, b, { alpha: 2 });
    expect(c.shape).toEqual([2, 3, 5]);
    expect(c.data.some((x) => x !== 0)).toBe(true);
  };
  runCases([
    { name: 'a.data Float64Array', call: () => matmul({ data: new Float64Array(24), shape: [2, 3, 4] } as never, b), error: TypeError, message: ['a.data', 'Float32Array', 'Float64Array'] },
    { name: 'b not an object', call: () => matmul(a, 'b' as never), error: TypeError, message: ['b', '"b"'] },
    { name: 'a of rank 1', call: () => matmul(zeros([4]), b), error: RangeError, message: ['a', 'rank >= 2', 'got [4]'] },
    { name: 'inner dims differ', call: () => matmul(a, zeros([2, 3, 5])), error: RangeError, message: ['b', '[2, 4, N]', '[4, N]', 'got [2, 3, 5]'] },
    { name: 'inner dims differ with transposeB', call: () => matmul(a, zeros([2, 5, 3]), { transposeB: true }), error: RangeError, message: ['b', '[2, N, 4]', 'got [2, 5, 3]'] },
    { name: 'inner dims differ with transposeA', call: () => matmul(a, b, { transposeA: true }), error: RangeError, message: ['b', '[2, 3, N]', 'got [2, 4, 5]'] },
    { name: 'batch dims differ', call: () => matmul(a, zeros([3, 4, 5])), error: RangeError, message: ['b', '[2, 4, N]', 'got [3, 4, 5]'] },
    { name: 'b batched while a is not', call: () => matmul(zeros([3, 4]), b), error: RangeError, message: ['b', '[4, N]', 'got [2, 4, 5]'] },
    { name: 'transposeA not a boolean', call: () => matmul(a, b, { transposeA: 'yes' } as never), error: TypeError, message: ['options.transposeA', '"yes"'] },
    { name: 'alpha NaN', call: () => matmul(a, b, { alpha: NaN }), error: RangeError, message: ['options.alpha', 'finite', 'NaN'] },
    { name: 'alpha a string', call: () => matmul(a, b, { alpha: '2' } as never), error: TypeError, message: ['options.alpha', '"2"'] },
    { name: 'result element count overflows', call: () => matmul(zeros([46341, 1]), zeros([1, 46341])), error: RangeError, message: ['result', '2147483647', '[46341, 46341]'] },
    { name: 'out a Float64Array', call: () => matmul(a, b, { out: new Float64Array(30) } as never), error: TypeError, message: ['options.out', 'Float32Array', 'Float64Array'] },
    { name: 'out of the wrong length', call: () => matmul(a, b, { out: new Float32Array(29) }), error: RangeError, message: ['options.out.length', '30', 'got 29'] },
    { name: 'out overlapping a', call: () => { const buf = new ArrayBuffer(4 * 54); return matmul({ data: new Float32Array(buf, 0, 24), shape: [2, 3, 4] }, b, { out: new Float32Array(buf, 4 * 20, 30) }); }, error: RangeError, message: ['options.out', 'overlapping a.data'] },
    { name: 'out the same array as b', call: () => { const sq = zeros([5, 5]); return matmul(zeros([5, 5]), sq, { out: sq.data }); }, error: RangeError, message: ['options.out', 'overlapping b.data'] },
  ], valid);
});

describe('maskedSoftmax', () => {
  const x = ramp([2, 2, 3, 5]);
  const valid = () => {
    const y = maskedSoftmax(x, { isCausal: true, keyPaddingMask: boolMask([2, 5]) });
    expect(y.data[0] + y.data[1] + y.data[2] + y.data[3] + y.data[4]).toBeCloseTo(1, 5);
  };
  runCases([
    { name: 'x.data Uint8Array', call: () => maskedSoftmax({ data: new Uint8Array(4), shape: [2, 2] } as never), error: TypeError, message: ['x.data', 'Float32Array', 'Uint8Array'] },
    { name: 'x of rank 1', call: () => maskedSoftmax(zeros([5])), error: RangeError, message: ['x', 'rank >= 2', '[..., L, S]', 'got [5]'] },
    { name: 'mask of the wrong shape', call: () => maskedSoftmax(x, { mask: boolMask([5, 3]) }), error: RangeError, message: ['options.mask', '[3, 5] ([L, S])', '[2, 2, 3, 5] (the shape of x)', 'got [5, 3]'] },
    { name: 'mask of the wrong dtype', call: () => maskedSoftmax(x, { mask: { data: new Int32Array(15), shape: [3, 5] } } as never), error: TypeError, message: ['options.mask.data', 'Int32Array'] },
    { name: 'keyPaddingMask with x of rank 3', call: () => maskedSoftmax(zeros([4, 3, 5]), { keyPaddingMask: boolMask([4, 5]) }), error: RangeError, message: ['x', 'rank 4', 'keyPaddingMask', 'got [4, 3, 5]'] },
    { name: 'keyPaddingMask of the wrong shape', call: () => maskedSoftmax(x, { keyPaddingMask: boolMask([2, 3]) }), error: RangeError, message: ['options.keyPaddingMask', '[2, 5] ([B, S])', 'got [2, 3]'] },
    { name: 'scale Infinity', call: () => maskedSoftmax(x, { scale: Infinity }), error: RangeError, message: ['options.scale', 'finite', 'Infinity'] },
    { name: 'isCausal a number', call: () => maskedSoftmax(x, { isCausal: 1 } as never), error: TypeError, message: ['options.isCausal', 'got 1'] },
    { name: 'out a Float64Array', call: () => maskedSoftmax(x, { out: new Float64Array(60) } as never), error: TypeError, message: ['options.out', 'Float32Array', 'Float64Array'] },
    { name: 'out of the wrong length', call: () => maskedSoftmax(x, { out: new Float32Array(59) }), error: RangeError, message: ['options.out.length', '60', 'got 59'] },
    { name: 'out overlapping x, shifted', call: () => { const buf = new Float32Array(61); return maskedSoftmax({ data: buf.subarray(0, 60), shape: [2, 2, 3, 5] }, { out: buf.subarray(1) }); }, error: RangeError, message: ['options.out', 'x.data itself (in place)', 'overlapping x.data'] },
    { name: 'out overlapping the additive mask', call: () => { const m = new Float32Array(15); return maskedSoftmax(zeros([3, 5]), { mask: { data: m, shape: [3, 5] }, out: m }); }, error: RangeError, message: ['options.out', 'overlapping options.mask.data'] },
    { name: 'alibiSlopes with x of rank 3', call: () => maskedSoftmax(zeros([4, 3, 5]), { alibiSlopes: new Float32Array(1) }), error: RangeError, message: ['x', 'rank 4', 'alibiSlopes', 'got [4, 3, 5]'] },
    { name: 'alibiSlopes of the wrong count', call: () => maskedSoftmax(x, { alibiSlopes: new Float32Array(4) }), error: RangeError, message: ['options.alibiSlopes.length', '2', 'got 4'] },
    { name: 'softcap NaN', call: () => maskedSoftmax(x, { softcap: NaN }), error: RangeError, message: ['options.softcap', 'NaN'] },
    { name: 'window right a string', call: () => maskedSoftmax(x, { window: { right: '1' } } as never), error: TypeError, message: ['options.window.right', '"1"'] },
  ], valid);
});

describe('rotaryEmbedding', () => {
  // Validation runs before any backend: the native binding throws these as the reference does.
  const x = ramp([2, 3, 5, 4]);
  const valid = () => {
    const y = reference.rotaryEmbedding(x, { dim: 2, positions: [0, 1, 2, 3, 4] });
    expect(y.shape).toEqual([2, 3, 5, 4]);
    expect(y.data.every(Number.isFinite)).toBe(true);
  };
  runCases([
    { name: 'x of rank 2', call: () => rotaryEmbedding(zeros([5, 4])), error: RangeError, message: ['x', 'rank 4', 'got [5, 4]'] },
    { name: 'x.data Float64Array', call: () => rotaryEmbedding({ data: new Float64Array(120), shape: [2, 3, 5, 4] } as never), error: TypeError, message: ['x.data', 'Float64Array'] },
    { name: 'dim odd', call: () => rotaryEmbedding(x, { dim: 3 }), error: RangeError, message: ['options.dim', 'even', 'got 3'] },
    { name: 'dim larger than the head', call: () => rotaryEmbedding(x, { dim: 6 }), error: RangeError, message: ['options.dim', 'head dim (4)', 'got 6'] },
    { name: 'base negative', call: () => rotaryEmbedding(x, { base: -1 }), error: RangeError, message: ['options.base', 'got -1'] },
    { name: 'positions of the wrong length', call: () => rotaryEmbedding(x, { positions: [0, 1] }), error: RangeError, message: ['options.positions.length', '5', 'got 2'] },
    { name: 'a position NaN', call: () => rotaryEmbedding(x, { positions: [0, NaN, 2, 3, 4] }), error: RangeError, message: ['options.positions[1]', 'NaN'] },
    { name: 'a position undefined', call: () => rotaryEmbedding(x, { positions: [0, undefined, 2, 3, 4] } as never), error: TypeError, message: ['options.positions[1]', 'undefined'] },
    { name: 'sequenceLengths with x of rank 4', call: () => rotaryEmbedding(x, { sequenceLengths: [5] }), error: RangeError, message: ['options.sequenceLengths', 'rank 4'] },
    { name: 'sequenceLengths and positions', call: () => rotaryEmbedding(zeros([5, 3, 4]), { sequenceLengths: [5], positions: [0, 1, 2, 3, 4] }), error: RangeError, message: ['options.sequenceLengths', 'options.positions'] },
    { name: 'sequenceLengths not summing to T', call: () => rotaryEmbedding(zeros([5, 3, 4]), { sequenceLengths: [2, 2] }), error: RangeError, message: ['options.sequenceLengths', 'T (x.shape[0]) = 5', 'got [2, 2]'] },
    { name: 'out overlapping x, shifted', call: () => { const buf = new Float32Array(121); return rotaryEmbedding({ data: buf.subarray(0, 120), shape: [2, 3, 5, 4] }, { out: buf.subarray(1) }); }, error: RangeError, message: ['options.out', 'x.data itself (in place)', 'overlapping x.data'] },
  ], valid);
});

describe('scaledDotProductAttention', () => {
  const q = ramp([2, 2, 3, 4]);
  const k = ramp([2, 2, 5, 4]);
  const v = ramp([2, 2, 5, 6]);
  const valid = () => {
    const out = scaledDotProductAttention(q, k, v, { isCausal: true, attnMask: boolMask([2, 1, 3, 5]) });
    expect(out.shape).toEqual([2, 2, 3, 6]);
    expect(out.data.every(Number.isFinite)).toBe(true);
  };
  runCases([
    { name: 'q.data Float64Array', call: () => scaledDotProductAttention({ data: new Float64Array(48), shape: [2, 2, 3, 4] } as never, k, v), error: TypeError, message: ['q.data', 'Float64Array'] },
    { name: 'q of rank 3', call: () => scaledDotProductAttention(zeros([2, 3, 4]), k, v), error: RangeError, message: ['q', 'rank 4', '[B, H, L, D]', 'got [2, 3, 4]'] },
    { name: 'k with the wrong head dim', call: () => scaledDotProductAttention(q, zeros([2, 2, 5, 3]), v), error: RangeError, message: ['k', '[2, Hkv, S, 4] ([B, Hkv, S, D]', 'got [2, 2, 5, 3]'] },
    { name: 'k with heads not dividing H', call: () => scaledDotProductAttention(q, zeros([2, 3, 5, 4]), zeros([2, 3, 5, 6])), error: RangeError, message: ['k', '[2, Hkv, S, 4]', 'Hkv dividing H = 2', 'got [2, 3, 5, 4]'] },
    { name: 'v with the wrong heads', call: () => scaledDotProductAttention(q, k, zeros([2, 1, 5, 6])), error: RangeError, message: ['v', '[2, 2, 5, Dv] ([B, Hkv, S, Dv])', 'got [2, 1, 5, 6]'] },
    { name: 'v with the wrong length S', call: () => scaledDotProductAttention(q, k, zeros([2, 2, 4, 6])), error: RangeError, message: ['v', '[2, 2, 5, Dv] ([B, Hkv, S, Dv])', 'got [2, 2, 4, 6]'] },
    { name: 'attnMask of the wrong shape', call: () => scaledDotProductAttention(q, k, v, { attnMask: boolMask([3, 4]) }), error: RangeError, message: ['options.attnMask', '[3, 5] ([L, S])', 'got [3, 4]'] },
    { name: 'scale NaN', call: () => scaledDotProductAttention(q, k, v, { scale: NaN }), error: RangeError, message: ['options.scale', 'NaN'] },
    { name: 'element count overflow', call: () => scaledDotProductAttention({ data: new Float32Array(4), shape: [1, 1, 2 ** 31, 1] }, k, v), error: RangeError, message: ['q', '2147483647', '2147483648'] },
    { name: 'out of the wrong length', call: () => scaledDotProductAttention(q, k, v, { out: new Float32Array(71) }), error: RangeError, message: ['options.out.length', '72', 'got 71'] },
    { name: 'out the same array as q', call: () => { const qq = ramp([2, 2, 3, 6]); return scaledDotProductAttention(qq, ramp([2, 2, 5, 6]), v, { out: qq.data }); }, error: RangeError, message: ['options.out', 'overlapping q.data'] },
    { name: 'out overlapping the additive mask', call: () => { const m = new Float32Array(72); return scaledDotProductAttention(q, k, v, { attnMask: { data: m.subarray(0, 15), shape: [3, 5] }, out: m }); }, error: RangeError, message: ['options.out', 'overlapping options.attnMask.data'] },
    { name: 'softcap zero', call: () => scaledDotProductAttention(q, k, v, { softcap: 0 }), error: RangeError, message: ['options.softcap', '> 0', 'got 0'] },
    { name: 'window left negative', call: () => scaledDotProductAttention(q, k, v, { window: { left: -2 } }), error: RangeError, message: ['options.window.left', 'got -2'] },
    { name: 'alibiSlopes of the wrong count', call: () => scaledDotProductAttention(q, k, v, { alibiSlopes: new Float32Array(3) }), error: RangeError, message: ['options.alibiSlopes.length', 'H = 2', 'got 3'] },
    { name: 'alibiSlopes a plain array', call: () => scaledDotProductAttention(q, k, v, { alibiSlopes: [1, 1] } as never), error: TypeError, message: ['options.alibiSlopes', 'Float32Array'] },
    { name: 'packed: lengths not summing to T', call: () => scaledDotProductAttention(ramp([5, 2, 4]), ramp([5, 1, 4]), ramp([5, 1, 3]), { sequenceLengths: [1, 3] }), error: RangeError, message: ['options.sequenceLengths', 'summing to T (q.shape[0]) = 5', 'got [1, 3]'] },
    { name: 'packed: k heads not dividing H', call: () => scaledDotProductAttention(ramp([5, 2, 4]), ramp([5, 3, 4]), ramp([5, 3, 3]), { sequenceLengths: [5] }), error: RangeError, message: ['k', '[Tk, Hkv, 4]', 'Hkv dividing H = 2', 'got [5, 3, 4]'] },
    { name: 'packed: an attnMask', call: () => scaledDotProductAttention(ramp([5, 2, 4]), ramp([5, 1, 4]), ramp([5, 1, 3]), { sequenceLengths: [5], attnMask: boolMask([5, 5]) }), error: RangeError, message: ['options.attnMask', 'packed'] },
    { name: 'packed: q of rank 4', call: () => scaledDotProductAttention(q, k, v, { sequenceLengths: [2] }), error: RangeError, message: ['q', 'rank 3', '[T, H, D]'] },
  ], valid);
});

describe('setNumThreads', () => {
  const original = getNumThreads();
  afterAll(() => setNumThreads(original));
  const valid = () => {
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    setNumThreads(2);
    expect(getNumThreads()).toBe(2);
  };
  runCases([
    { name: 'zero', call: () => setNumThreads(0), error: RangeError, message: ['n', 'positive integer', 'got 0'] },
    { name: 'negative', call: () => setNumThreads(-2), error: RangeError, message: ['n', 'got -2'] },
    { name: 'fractional', call: () => setNumThreads(1.5), error: RangeError, message: ['n', 'got 1.5'] },
    { name: 'NaN', call: () => setNumThreads(NaN), error: RangeError, message: ['n', 'NaN'] },
    { name: 'absurdly many', call: () => setNumThreads(1e6), error: RangeError, message: ['n', '1024', '1000000'] },
    { name: 'a string', call: () => setNumThreads('2' as never), error: TypeError, message: ['n', '"2"'] },
  ], valid);
});
