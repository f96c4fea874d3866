// Reading the safetensors format: an 8-byte little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }), then the
// data. Every offset is checked against the buffer before a byte is read.
import { readFileSync } from 'node:fs';
import type { Tensor } from './types.js';

const ITEM_SIZE: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

function fail(what: string): never {
  throw new RangeError(`safetensors: ${what}`);
}

interface Entry { dtype: string; shape: number[]; begin: number; end: number }

function parseEntry(name: string, raw: unknown, dataLength: number): Entry {
  if (typeof raw !== 'object' || raw === null) fail(`entry '${name}' is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') fail(`entry '${name}' has no dtype`);
  if (!Object.hasOwn(ITEM_SIZE, dtype)) {  // not `in`: "toString" is no dtype
    throw new TypeError(`safetensors: entry '${name}' has dtype ${dtype}; supported: F32, F16, BF16`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`entry '${name}' has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`entry '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count * ITEM_SIZE[dtype])) fail(`entry '${name}' is too large`);
  if (begin > end || end > dataLength) {
    fail(`entry '${name}' data_offsets [${begin}, ${end}] fall outside the ${dataLength}-byte data section`);
  }
  if (end - begin !== count * ITEM_SIZE[dtype]) {
    fail(`entry '${name}' holds ${end - begin} bytes, but ${dtype} ${JSON.stringify(shape)} needs ${count * ITEM_SIZE[dtype]}`);
  }
  return { dtype, shape: shape as number[], begin, end };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decode(bytes: Uint8Array, dtype: string, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === 'F16') {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

/** Reads a safetensors file (path or bytes); F32, F16 and BF16 tensors become float32. */
export function loadSafetensors(source: string | Uint8Array): Record<string, Tensor> {
  let bytes: Uint8Array;
  if (typeof source === 'string') bytes = readFileSync(source);
  else if (source instanceof Uint8Array) bytes = source;
  else throw new TypeError(`safetensors: source must be a file path or a Uint8Array, got ${typeof source}`);
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.byteLength - 8)) {
    fail(`header length ${headerLength} exceeds the ${bytes.byteLength - 8} bytes after it (truncated file?)`);
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const data = bytes.subarray(8 + n);
  const result: Record<string, Tensor> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const entry = parseEntry(name, raw, data.byteLength);
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const tensor = { data: decode(data.subarray(entry.begin, entry.end), entry.dtype, count), shape: entry.shape };
    // defineProperty, not assignment: a tensor named "__proto__" is an entry, not the prototype.
    Object.defineProperty(result, name, { value: tensor, enumerable: true, writable: true, configurable: true });
  }
  return result;
}
