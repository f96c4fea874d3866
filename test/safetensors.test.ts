// Weights I/O: loadSafetensors and MultiHeadAttention.fromSafetensors reproduce torch's float64
// outputs stored in each fixture (tools/gen-safetensors.py: F32/F16/BF16, PyTorch and Hugging
// Face BERT names) on both backends; F16/BF16 special values decode exactly; malformed files
// (every truncation, random header byte flips, bad lengths/offsets/dtypes) are rejected with
// RangeError/TypeError and nothing else.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MultiHeadAttention, loadSafetensors, type Backend, type Tensor } from '../lib/index.js';
import { Rng, expectClose } from './helpers.js';
import { f32Bytes, writeSafetensors } from './safetensors-writer.js';

const DIR = fileURLToPath(new URL('./fixtures/safetensors/', import.meta.url));
const DTYPES = ['f32', 'f16', 'bf16'];
const BACKENDS: Backend[] = ['native', 'reference'];

/** Runs the fixture's input through the layer (self-attention, need_weights=False as in torch). */
function run(layer: MultiHeadAttention, tensors: Record<string, Tensor>): Float32Array {
  const x = tensors['test.input'];
  return layer.forward(x, x, x).output.data;
}

const u16Bytes = (bits: number[]) => new Uint8Array(new Uint16Array(bits).buffer);

/** A small valid file: F32 [2, 3] and F16 [2]. */
function smallFile(): Uint8Array {
  return writeSafetensors([
    { name: 'a', dtype: 'F32', shape: [2, 3], bytes: f32Bytes([1, -2, 3.5, 0, 1e-3, -7]) },
    { name: 'b', dtype: 'F16', shape: [2], bytes: u16Bytes([0x3c00, 0xc000]) },
  ]);
}

/** The loader either succeeds with consistent tensors or throws RangeError/TypeError. */
function expectCleanOutcome(bytes: Uint8Array, label: string): 'ok' | 'rejected' {
  let result: Record<string, Tensor>;
  try {
    result = loadSafetensors(bytes);
  } catch (e) {
    expect(e instanceof RangeError || e instanceof TypeError, `${label}: ${String(e)}`).toBe(true);
    return 'rejected';
  }
  for (const [name, t] of Object.entries(result)) {
    expect(t.data.length, `${label}: ${name}`).toBe(t.shape.reduce((a, b) => a * b, 1));
  }
  return 'ok';
}

describe('fixtures: torch outputs reproduced', () => {
  for (const dtype of DTYPES) {
    for (const backend of BACKENDS) {
      it(`torch nn.MultiheadAttention names, ${dtype}, ${backend}`, () => {
        const path = `${DIR}torch-mha-${dtype}.safetensors`;
        const tensors = loadSafetensors(path);
        const want = tensors['test.output'].data;
        const byPrefix = MultiHeadAttention.fromSafetensors(path, { numHeads: 4, prefix: 'decoder.self_attn.', backend });
        expect([byPrefix.embedDim, byPrefix.numHeads, byPrefix.headDim]).toEqual([16, 4, 4]);
        expectClose(run(byPrefix, tensors), want, `${dtype} ${backend} with prefix`);
        // One block in the file: found without a prefix; bytes (at a byteOffset) as well as a path.
        const bytes = readFileSync(path);
        const view = new Uint8Array(bytes.length + 5).fill(0xff);
        view.set(bytes, 5);
        const found = MultiHeadAttention.fromSafetensors(view.subarray(5), { numHeads: 4, backend });
        expectClose(run(found, tensors), want, `${dtype} ${backend} without prefix, from bytes`);
      });

      it(`Hugging Face BERT names, both blocks, ${dtype}, ${backend}`, () => {
        const path = `${DIR}hf-bert-${dtype}.safetensors`;
        const tensors = loadSafetensors(path);
        for (const layer of [0, 1]) {
          const mha = MultiHeadAttention.fromSafetensors(path,
            { numHeads: 4, prefix: `encoder.layer.${layer}.attention.`, backend });
          expectClose(run(mha, tensors), tensors[`test.output.layer${layer}`].data, `${dtype} ${backend} layer ${layer}`);
        }
        expect(() => MultiHeadAttention.fromSafetensors(path, { numHeads: 4, backend })).toThrow(RangeError);
        expect(() => MultiHeadAttention.fromSafetensors(path, { numHeads: 4, backend }))
          .toThrow(/"encoder\.layer\.0\.attention\.", "encoder\.layer\.1\.attention\."/);
      });
    }
  }

  it('the two blocks differ (the prefix selects the weights)', () => {
    const tensors = loadSafetensors(`${DIR}hf-bert-f32.safetensors`);
    const a = tensors['encoder.layer.0.attention.self.query.weight'].data;
    const b = tensors['encoder.layer.1.attention.self.query.weight'].data;
    expectClose(b, a.map((v) => v * 0.5), 'layer 1 query = 0.5 * layer 0 query', 0);
  });

  it('bad prefixes and options', () => {
    const path = `${DIR}hf-bert-f16.safetensors`;
    expect(() => MultiHeadAttention.fromSafetensors(path, { numHeads: 4, prefix: 'encoder.layer.7.attention.' }))
      .toThrow(RangeError);
    expect(() => MultiHeadAttention.fromSafetensors(path, { numHeads: 4, prefix: 'encoder.layer.7.attention.' }))
      .toThrow(/no attention block at prefix "encoder\.layer\.7\.attention\."; blocks found: "encoder\.layer\.0/);
    expect(() => MultiHeadAttention.fromSafetensors(path, { numHeads: 4, prefix: 3 as unknown as string }))
      .toThrow(TypeError);
    expect(() => MultiHeadAttention.fromSafetensors(path, { numHeads: 3, prefix: 'encoder.layer.0.attention.' }))
      .toThrow(/divisor of embedDim/);
    expect(() => MultiHeadAttention.fromSafetensors(path, undefined as never)).toThrow(TypeError);
    expect(() => MultiHeadAttention.fromSafetensors(42 as never, { numHeads: 4 })).toThrow(TypeError);
    const partial = writeSafetensors([
      { name: 'x.self.query.weight', dtype: 'F32', shape: [2, 2], bytes: f32Bytes([1, 0, 0, 1]) },
    ]);
    expect(() => MultiHeadAttention.fromSafetensors(partial, { numHeads: 1 })).toThrow(/missing weight 'x\.self\.key\.weight'/);
    const none = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [1], bytes: f32Bytes([1]) }]);
    expect(() => MultiHeadAttention.fromSafetensors(none, { numHeads: 1 })).toThrow(/no attention weights found/);
  });
});

describe('loadSafetensors decoding', () => {
  it('F32 values, names and shapes', () => {
    const t = loadSafetensors(smallFile());
    expect(Object.keys(t)).toEqual(['a', 'b']);
    expect(t.a.shape).toEqual([2, 3]);
    expect(Array.from(t.a.data)).toEqual(Array.from(new Float32Array([1, -2, 3.5, 0, 1e-3, -7])));
    expect(Array.from(t.b.data)).toEqual([1, -2]);
  });

  it('F16 and BF16 special values decode exactly', () => {
    // F16: 1, -0, smallest subnormal, largest subnormal, smallest normal, 65504, +inf, -inf, NaN, 0.333...
    const f16 = [0x3c00, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x3555];
    const f16Want = [1, -0, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, Infinity, -Infinity, NaN, 0.333251953125];
    // BF16: 1, -2, 3.140625, the smallest subnormal, inf, NaN
    const bf16 = [0x3f80, 0xc000, 0x4049, 0x0001, 0x7f80, 0x7fc0];
    const bf16Want = [1, -2, 3.140625, 2 ** -133, Infinity, NaN];
    const t = loadSafetensors(writeSafetensors([
      { name: 'h', dtype: 'F16', shape: [f16.length], bytes: u16Bytes(f16) },
      { name: 'bf', dtype: 'BF16', shape: [bf16.length], bytes: u16Bytes(bf16) },
      { name: 'odd', dtype: 'F32', shape: [1], bytes: f32Bytes([2.5]) },
    ]));
    f16Want.forEach((v, i) => expect(Object.is(t.h.data[i], Math.fround(v)) || (Number.isNaN(v) && Number.isNaN(t.h.data[i])),
      `F16 ${f16[i].toString(16)} -> ${t.h.data[i]}, want ${v}`).toBe(true));
    bf16Want.forEach((v, i) => expect(Object.is(t.bf.data[i], Math.fround(v)) || (Number.isNaN(v) && Number.isNaN(t.bf.data[i])),
      `BF16 ${bf16[i].toString(16)} -> ${t.bf.data[i]}, want ${v}`).toBe(true));
    expect(t.odd.data[0]).toBe(2.5);
  });

  it('unaligned data and a "__proto__" tensor name are read as data', () => {
    const bytes = writeSafetensors([
      { name: 'h', dtype: 'F16', shape: [1], bytes: u16Bytes([0x3c00]) },
      { name: '__proto__', dtype: 'F32', shape: [1], bytes: f32Bytes([4]) }, // at data offset 2: unaligned
    ]);
    const t = loadSafetensors(bytes);
    expect(Object.keys(t)).toEqual(['h', '__proto__']);
    expect(t.__proto__.data[0]).toBe(4);
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
  });
});

describe('malformed files are rejected cleanly', () => {
  it('every truncation of a small file', () => {
    const bytes = smallFile();
    for (let n = 0; n < bytes.length; n++) {
      expect(() => loadSafetensors(bytes.slice(0, n)), `truncated to ${n} of ${bytes.length}`).toThrow(RangeError);
    }
    expect(expectCleanOutcome(bytes, 'whole file')).toBe('ok');
  });

  it('every truncation of a fixture', () => {
    const bytes = readFileSync(`${DIR}torch-mha-bf16.safetensors`);
    for (let n = 0; n < bytes.length; n += 1) {
      expect(() => loadSafetensors(bytes.subarray(0, n)), `truncated to ${n}`).toThrow(RangeError);
    }
  });

  it('random byte flips in the header (and its length prefix)', () => {
    const rng = new Rng(2024);
    let rejected = 0;
    for (const source of [smallFile(), new Uint8Array(readFileSync(`${DIR}hf-bert-f16.safetensors`))]) {
      const headerEnd = 8 + Number(new DataView(source.buffer, source.byteOffset).getBigUint64(0, true));
      for (let trial = 0; trial < 1500; trial++) {
        const bytes = source.slice();
        const flips = 1 + rng.int(3);
        for (let f = 0; f < flips; f++) bytes[rng.int(headerEnd)] ^= 1 << rng.int(8);
        if (expectCleanOutcome(bytes, `trial ${trial}`) === 'rejected') rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(1000); // most flips break the JSON, the offsets or the dtype
  });

  it('lengths, offsets, byte counts, shapes and dtypes', () => {
    const a = { name: 'a', dtype: 'F32', shape: [2], bytes: f32Bytes([1, 2]) };
    const cases: [string, Uint8Array, typeof RangeError | typeof TypeError, RegExp][] = [];
    const pastEnd = writeSafetensors([a]);
    new DataView(pastEnd.buffer).setBigUint64(0, BigInt(pastEnd.length), true);
    cases.push(['header length past the end', pastEnd, RangeError, /exceeds/]);
    const huge = writeSafetensors([a]);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    cases.push(['header length 2^64-1', huge, RangeError, /exceeds/]);
    cases.push(['offsets past the end', writeSafetensors([{ ...a, offsets: [0, 16] }]), RangeError, /outside/]);
    cases.push(['begin > end', writeSafetensors([{ ...a, offsets: [8, 0] }]), RangeError, /outside/]);
    cases.push(['wrong byte count', writeSafetensors([{ ...a, shape: [3] }]), RangeError, /holds 8 bytes/]);
    cases.push(['negative offset', writeSafetensors([{ ...a, offsets: [-4, 4] }]), RangeError, /invalid data_offsets/]);
    cases.push(['fractional offset', writeSafetensors([{ ...a, offsets: [0.5, 8] }]), RangeError, /invalid data_offsets/]);
    cases.push(['negative dim', writeSafetensors([{ ...a, shape: [-2] }]), RangeError, /invalid shape/]);
    cases.push(['huge shape', writeSafetensors([{ ...a, shape: [2 ** 40, 2 ** 40] }]), RangeError, /too large/]);
    cases.push(['I32', writeSafetensors([{ ...a, dtype: 'I32' }]), TypeError, /dtype I32; supported: F32, F16, BF16/]);
    cases.push(['"toString" dtype', writeSafetensors([{ ...a, dtype: 'toString' }]), TypeError, /dtype toString/]);
    cases.push(['no dtype', writeSafetensors([a], '{"a":{"shape":[2],"data_offsets":[0,8]}}'), RangeError, /no dtype/]);
    cases.push(['entry not an object', writeSafetensors([a], '{"a":7}'), RangeError, /not an object/]);
    cases.push(['header an array', writeSafetensors([a], '[1,2]'), RangeError, /not a JSON object/]);
    cases.push(['header null', writeSafetensors([a], 'null'), RangeError, /not a JSON object/]);
    cases.push(['header not JSON', writeSafetensors([a], '{"a":'), RangeError, /not valid UTF-8 JSON/]);
    const badUtf8 = writeSafetensors([a], '{"a\u00e9":1}');
    badUtf8[8 + 3] = 0xff;
    cases.push(['invalid UTF-8', badUtf8, RangeError, /not valid UTF-8 JSON/]);
    for (const [label, bytes, ErrorType, message] of cases) {
      expect(() => loadSafetensors(bytes), label).toThrow(ErrorType);
      expect(() => loadSafetensors(bytes), label).toThrow(message);
    }
    expect(() => loadSafetensors(42 as never)).toThrow(TypeError);
    expect(() => loadSafetensors(new Float32Array(4) as never)).toThrow(TypeError);
  });
});

describe('tensors read when first used', () => {
  it('a path source reads a tensor only when its entry is used, and each entry once', async () => {
    const { mkdtempSync, writeFileSync, truncateSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'mha-safetensors-'));
    try {
      const file = join(dir, 'two.safetensors');
      const a = new Float32Array([1, 2, 3]), b = new Float32Array([4, 5]);
      const header = JSON.stringify({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
        b: { dtype: 'F32', shape: [2], data_offsets: [12, 20] } });
      const head = new Uint8Array(8 + header.length);
      new DataView(head.buffer).setBigUint64(0, BigInt(header.length), true);
      head.set(new TextEncoder().encode(header), 8);
      writeFileSync(file, Buffer.concat([head, Buffer.from(a.buffer), Buffer.from(b.buffer)]));
      const tensors = loadSafetensors(file);
      expect(Object.keys(tensors)).toEqual(['a', 'b']);
      expect(Array.from(tensors.a.data)).toEqual([1, 2, 3]);
      expect(tensors.a).toBe(tensors.a);  // decoded once, then kept
      truncateSync(file, head.length + 12);  // b's bytes are gone: reading it now fails, a is kept
      expect(Array.from(tensors.a.data)).toEqual([1, 2, 3]);
      expect(() => tensors.b).toThrow(/changed while it was read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
