// Argument validation. Every check reports through invalidParameterError (after
// lovell/sharp's helper of that name), so all messages read
//   "<argument>: expected <what was expected>, got <what was passed>".
// TypeError: the wrong kind of value (dtype, not an object, not a boolean/number).
// RangeError: the right kind with a wrong value (shape, dimension, count, non-finite number).
import type { Mask, Tensor } from './types.js';

/** The products' precisions (backend.ts Precision) and the KV cache's storage dtypes. */
export const PRECISIONS = ['float32', 'bfloat16'] as const;
export const STORAGE_DTYPES = ['float32', 'float16', 'bfloat16'] as const;

/** Largest element count of any tensor, mask or result: 2^31 - 1. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

type ErrorClass = TypeErrorConstructor | RangeErrorConstructor;

/** Whether a view's ArrayBuffer was detached (transferred); such a view reads as empty. */
function isDetached(view: ArrayBufferView): boolean {
  if (view.byteLength !== 0 || view.buffer instanceof SharedArrayBuffer) return false;
  try {
    new Uint8Array(view.buffer);
    return false;
  } catch {
    return true;
  }
}

/** How a value appears in a message: shapes as [2, 3], typed arrays by class name. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (ArrayBuffer.isView(value) && isDetached(value)) return `a detached ${value.constructor.name}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value !== null && typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? name : 'an object';
  }
  return String(value);
}

/** A shape pattern for messages: numbers and symbolic dims, e.g. [2, 16, N]. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

export function invalidParameterError(
  name: string, expected: string, actual: unknown, ErrorType: ErrorClass = RangeError,
): TypeError | RangeError {
  return new ErrorType(`${name}: expected ${expected}, got ${describe(actual)}`);
}

export function checkObject(name: string, value: unknown, what = 'an object'): Record<string, unknown> {
  if (value === null || typeof value !== 'object') throw invalidParameterError(name, what, value, TypeError);
  return value as Record<string, unknown>;
}

/** An optional options object: undefined reads as {}. */
export function checkOptions(name: string, value: unknown): Record<string, unknown> {
  return value === undefined ? {} : checkObject(name, value);
}

export function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidParameterError(name, 'a boolean', value, TypeError);
  return value;
}

export function checkFiniteNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidParameterError(name, 'a number', value, TypeError);
  if (!Number.isFinite(value)) throw invalidParameterError(name, 'a finite number', value);
  return value;
}

/** A finite number > 0 (fallback when undefined). */
export function checkPositiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidParameterError(name, 'a number', value, TypeError);
  if (!Number.isFinite(value) || value <= 0) throw invalidParameterError(name, 'a finite number > 0', value);
  return value;
}

export function checkNonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidParameterError(name, 'a non-negative integer', value, TypeError);
  if (!Number.isInteger(value) || value < 0 || value > MAX_ELEMENTS) {
    throw invalidParameterError(name, `a non-negative integer <= ${MAX_ELEMENTS}`, value);
  }
  return value;
}

/** An array-like of numbers (an Array or a typed array), each checked by `check` (named name[i]). */
export function checkNumberList(name: string, value: unknown, check: (name: string, value: unknown) => number): number[] {
  if (!(Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView)))) {
    throw invalidParameterError(name, 'an array of numbers', value, TypeError);
  }
  if (ArrayBuffer.isView(value)) checkLive(name, value);
  return Array.from(value as ArrayLike<unknown>, (v, i) => check(`${name}[${i}]`, v));
}

export function checkPositiveInteger(name: string, value: unknown, max = MAX_ELEMENTS): number {
  if (typeof value !== 'number') throw invalidParameterError(name, 'a positive integer', value, TypeError);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw invalidParameterError(name, `a positive integer <= ${max}`, value);
  }
  return value;
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw invalidParameterError(name, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, value, TypeError);
  }
  return value as T;
}

/** The element count of a shape, or RangeError when it exceeds MAX_ELEMENTS. */
export function checkElementCount(name: string, shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > MAX_ELEMENTS) {
      throw invalidParameterError(name, `a shape with at most ${MAX_ELEMENTS} elements`, shape);
    }
  }
  return count;
}

/** A shape: an array of positive integers with a bounded element count. */
export function checkShapeArray(name: string, value: unknown): number[] {
  if (!Array.isArray(value)) throw invalidParameterError(`${name}.shape`, 'an array of dimensions', value, TypeError);
  value.forEach((d, i) => checkPositiveInteger(`${name}.shape[${i}]`, d));
  checkElementCount(name, value);
  return [...value] as number[];
}

function checkRank(name: string, shape: readonly number[], rank: number | 'min2', dims: string): void {
  const ok = rank === 'min2' ? shape.length >= 2 : shape.length === rank;
  if (!ok) {
    const expected = rank === 'min2' ? `rank >= 2 (${dims})` : `rank ${rank} (${dims})`;
    throw invalidParameterError(name, `a shape of ${expected}`, shape);
  }
}

export function checkLive(name: string, data: ArrayBufferView): void {
  if (isDetached(data)) throw invalidParameterError(name, 'a typed array on a live (not detached) buffer', data, TypeError);
}

function checkLength(name: string, data: Float32Array | Uint8Array, shape: readonly number[]): void {
  checkLive(`${name}.data`, data);
  const count = shape.reduce((n, d) => n * d, 1);
  if (data.length !== count) {
    throw invalidParameterError(`${name}.data.length`, `${count} (the product of ${name}.shape ${formatShape(shape)})`,
      data.length);
  }
}

/** A Tensor of the given rank ('min2': at least 2); dims names the axes for messages, e.g. "[B, L, E]". */
export function checkTensor(name: string, value: unknown, rank: number | 'min2', dims: string): Tensor {
  const t = checkObject(name, value, 'a tensor { data: Float32Array, shape: number[] }');
  if (!(t.data instanceof Float32Array)) {
    throw invalidParameterError(`${name}.data`, 'a Float32Array', t.data, TypeError);
  }
  const shape = checkShapeArray(name, t.shape);
  checkRank(name, shape, rank, dims);
  checkLength(name, t.data, shape);
  return { data: t.data, shape };
}

/** A Mask (shape not yet matched against the call; see masks.ts). */
export function checkMask(name: string, value: unknown): Mask {
  const m = checkObject(name, value, 'a mask { data: Uint8Array | Float32Array, shape: number[] }');
  if (!(m.data instanceof Uint8Array || m.data instanceof Float32Array)) {
    throw invalidParameterError(`${name}.data`, 'a Uint8Array (boolean) or Float32Array (additive)', m.data, TypeError);
  }
  const shape = checkShapeArray(name, m.shape);
  checkLength(name, m.data, shape);
  return { data: m.data, shape };
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** RangeError unless shape equals expected; dims names the axes, e.g. "[B, S, kDim]". */
export function checkShape(name: string, shape: readonly number[], expected: readonly number[], dims: string): void {
  if (!shapesEqual(shape, expected)) {
    throw invalidParameterError(name, `shape ${formatShape(expected)} (${dims})`, shape);
  }
}

/** From this many bytes a fresh result comes from Buffer.allocUnsafeSlow (below). */
const UNZEROED_BYTES = 64 << 10;

/**
 * A new Float32Array for a result the call then writes whole. A large one is taken uninitialized
 * (its own ArrayBuffer, never a pooled one): zero-filling it would make the JavaScript thread
 * touch every page, fresh pages included, before the work even starts, and the call overwrites
 * every element anyway (a call that fails returns no result).
 */
export function freshArray(count: number): Float32Array {
  if (count * 4 < UNZEROED_BYTES) return new Float32Array(count);
  return new Float32Array(Buffer.allocUnsafeSlow(count * 4).buffer, 0, count);
}

/**
 * Where a call writes its result of `shape`: a new array when `value` is undefined, else the
 * caller's Float32Array, at least the result's element count long, whose view of exactly that
 * length at its start is returned. That view may share no memory with the inputs (named by
 * their argument names), except that it may be exactly the memory of the input named by
 * `inPlace` (an op that reads each element before writing it).
 */
export function resultArray(name: string, value: unknown, shape: readonly number[],
  inputs: Record<string, ArrayBufferView | undefined>, inPlace?: string): Float32Array {
  const count = checkElementCount('result', shape);
  if (value === undefined) return freshArray(count);
  if (!(value instanceof Float32Array)) throw invalidParameterError(name, 'a Float32Array', value, TypeError);
  checkLive(name, value);
  if (value.length < count) {
    throw invalidParameterError(`${name}.length`, `at least ${count} (the element count of the result ${formatShape(shape)})`,
      value.length);
  }
  const out = value.length === count ? value : value.subarray(0, count);
  for (const [input, data] of Object.entries(inputs)) {
    if (!data || data.buffer !== out.buffer || data.byteOffset >= out.byteOffset + out.byteLength
      || out.byteOffset >= data.byteOffset + data.byteLength) continue;
    if (input === inPlace && data.byteOffset === out.byteOffset && data.byteLength === out.byteLength) continue;
    const allowed = inPlace ? `${inPlace} itself (in place) or an array` : 'an array';
    throw new RangeError(`${name}: expected ${allowed} sharing no memory with the inputs, got one overlapping ${input}`);
  }
  return out;
}

/** A Float32Array of an exact length (weights). */
export function checkFloat32Array(name: string, value: unknown, length: number, what: string): Float32Array {
  if (!(value instanceof Float32Array)) throw invalidParameterError(name, 'a Float32Array', value, TypeError);
  checkLive(name, value);
  if (value.length !== length) throw invalidParameterError(`${name}.length`, `${length} (${what})`, value.length);
  return value;
}
