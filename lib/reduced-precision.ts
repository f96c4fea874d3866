// Rounding to the 16-bit floating-point formats (to nearest, ties to even), for the reference
// twin of bfloat16 compute and of 16-bit KV caches: a value rounded here is the value the native
// code computes with after its own conversion, which rounds a float32; so a value is first
// rounded to float32, then to the 16-bit format.
//   bfloat16: 8 significant bits, float32's exponent range (subnormals down to 2^-133).
//   float16 (IEEE binary16): 11 significant bits, exponents -14..15 (subnormals down to 2^-24,
//   largest finite 65504).
import type { Precision, StorageDtype } from './backend.js';

interface Format { bits: number; minExponent: number; max: number }

const FLOAT16: Format = { bits: 11, minExponent: -14, max: 65504 };

function roundTo(format: Format, x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const magnitude = Math.abs(x);
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent--;  // log2 rounded up just below a power of two
  else if (2 ** (exponent + 1) <= magnitude) exponent++;
  const quantum = 2 ** (Math.max(exponent, format.minExponent) - (format.bits - 1));
  const scaled = magnitude / quantum;
  let units = Math.floor(scaled);
  const rest = scaled - units;
  if (rest > 0.5 || (rest === 0.5 && units % 2 === 1)) units++;
  const rounded = units * quantum;
  return Math.sign(x) * (rounded > format.max ? Infinity : rounded);  // overflow: infinity, as the hardware gives
}

const f32 = new Float32Array(1);
const bits = new Uint32Array(f32.buffer);

/** x (as a float32) rounded to the nearest bfloat16 value: the top 16 bits of the float32,
 * rounded on the bits (a NaN stays NaN). */
export function roundBfloat16(x: number): number {
  f32[0] = x;
  const u = bits[0];
  if ((u & 0x7fffffff) > 0x7f800000) return NaN;
  bits[0] = (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
  return f32[0];
}

/** x (as a float32) rounded to the nearest float16 value. */
export const roundFloat16 = (x: number): number => roundTo(FLOAT16, Math.fround(x));

/** The rounding of a precision's operands or of a storage dtype; undefined for float32 (none). */
export function rounding(dtype: Precision | StorageDtype): ((x: number) => number) | undefined {
  return dtype === 'bfloat16' ? roundBfloat16 : dtype === 'float16' ? roundFloat16 : undefined;
}
