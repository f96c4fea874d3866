// Tensor helpers: building one from data and a shape, element counts, identity. Plain objects
// of the Tensor shape (types.ts) are accepted everywhere.
import type { Tensor } from './types.js';
import { checkShapeArray, invalidParameterError, shapesEqual } from './validate.js';

/** Product of the dims (1 for a scalar shape). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A tensor from data and a shape. A Float32Array is used as is (no copy); a number array is
 * copied into a new Float32Array. Throws RangeError when the length does not match the shape.
 */
export function tensor(data: Float32Array | readonly number[], shape: readonly number[]): Tensor {
  const dims = checkShapeArray('tensor', shape);
  if (!(data instanceof Float32Array || Array.isArray(data))) {
    throw invalidParameterError('tensor data', 'a Float32Array or an array of numbers', data, TypeError);
  }
  const array = data instanceof Float32Array ? data : Float32Array.from(data);
  if (array.length !== elementCount(dims)) {
    throw invalidParameterError('tensor data length', `${elementCount(dims)} (the product of shape [${dims.join(', ')}])`,
      array.length);
  }
  return { data: array, shape: Object.freeze(dims) };
}

/** Whether a and b are one tensor: the same object, or the same memory and shape. */
export function sameTensor(a: Tensor, b: Tensor): boolean {
  return a === b || (a.data.buffer === b.data.buffer && a.data.byteOffset === b.data.byteOffset
    && a.data.length === b.data.length && shapesEqual(a.shape, b.shape));
}
