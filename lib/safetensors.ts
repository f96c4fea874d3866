// Reading the safetensors format: an 8-byte little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }), then the
// data. Every offset is checked against the buffer before a byte is read.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
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

/** A safetensors source: its header's bytes and a reader of byte ranges of its data section. */
interface Source { header: Uint8Array; dataLength: number; read(begin: number, end: number): Uint8Array }

/** The 8-byte header length and the header of a file, whose data is then read range by range as
 * tensors are first used (a checkpoint of many layers is not read whole for one of them). */
function fileSource(path: string): Source {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    if (size < 8 || readSync(fd, prefix, 0, 8, 0) !== 8) fail(`file is ${size} bytes, shorter than the 8-byte header length`);
    const n = headerLength(prefix, size);
    const header = new Uint8Array(n);
    if (readSync(fd, header, 0, n, 8) !== n) fail('the file ended inside its header');
    const dataStart = 8 + n;
    return {
      header, dataLength: size - dataStart,
      read(begin, end) {
        const bytes = new Uint8Array(end - begin);
        const file = openSync(path, 'r');
        try {
          if (readSync(file, bytes, 0, bytes.length, dataStart + begin) !== bytes.length) fail(`${path} changed while it was read`);
        } finally {
          closeSync(file);
        }
        return bytes;
      },
    };
  } finally {
    closeSync(fd);
  }
}

function bytesSource(bytes: Uint8Array): Source {
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const n = headerLength(bytes, bytes.byteLength);
  const data = bytes.subarray(8 + n);
  return { header: bytes.subarray(8, 8 + n), dataLength: data.byteLength, read: (begin, end) => data.subarray(begin, end) };
}

/** The header length in the first 8 bytes of a file of `size` bytes, checked against it. */
function headerLength(prefix: Uint8Array, size: number): number {
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(size - 8)) fail(`header length ${length} exceeds the ${size - 8} bytes after it (truncated file?)`);
  return Number(length);
}

/**
 * Reads a safetensors file (path or bytes); F32, F16 and BF16 tensors become float32. The header
 * is read and every entry checked at once; a tensor's data is read (from a path) and converted
 * when its entry is first used, so a large checkpoint costs only the tensors taken from it.
 */
export function loadSafetensors(source: string | Uint8Array): Record<string, Tensor> {
  let src: Source;
  if (typeof source === 'string') src = fileSource(source);
  else if (source instanceof Uint8Array) src = bytesSource(source);
  else throw new TypeError(`safetensors: source must be a file path or a Uint8Array, got ${typeof source}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(src.header));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const result: Record<string, Tensor> = {};
  // defineProperty, not assignment: a tensor named "__proto__" is an entry, not the prototype.
  const settle = (name: string, value: unknown) =>
    Object.defineProperty(result, name, { value, enumerable: true, writable: true, configurable: true });
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const entry = parseEntry(name, raw, src.dataLength);
    const count = entry.shape.reduce((a, b) => a * b, 1);
    Object.defineProperty(result, name, {
      enumerable: true, configurable: true,
      get() {
        const tensor = { data: decode(src.read(entry.begin, entry.end), entry.dtype, count), shape: entry.shape };
        settle(name, tensor);
        return tensor;
      },
      set(value) { settle(name, value); },
    });
  }
  return result;
}
