// Packed (ragged) batches: the public sequenceLengths / kvSequenceLengths, validated into the
// backend contract's cumulative offsets (backend.ts, Packing).
import type { Packing } from './backend.js';
import { checkNonNegativeInteger, checkNumberList, invalidParameterError } from './validate.js';

/** Said of a tensor's expected shape when options.sequenceLengths made the call packed. */
export const PACKED_NOTE = ' (packed: options.sequenceLengths is given)';

/** Lengths as cumulative offsets (N + 1 entries from 0), and the longest length. */
export interface Offsets { offsets: Int32Array; longest: number }

/**
 * Non-negative integer lengths summing to `total` (named by totalName, e.g. "T = query.shape[0]")
 * -> their offsets. RangeError naming `name` otherwise.
 */
export function checkSequenceLengths(name: string, value: unknown, total: number, totalName: string): Offsets {
  if (value === undefined) {
    throw invalidParameterError(name, `an array of sequence lengths summing to ${totalName} = ${total}`, value,
      TypeError);
  }
  const lengths = checkNumberList(name, value, checkNonNegativeInteger);
  const sum = lengths.reduce((a, n) => a + n, 0);
  if (sum !== total) throw invalidParameterError(name, `lengths summing to ${totalName} = ${total}`, lengths);
  const offsets = new Int32Array(lengths.length + 1);
  lengths.forEach((n, i) => { offsets[i + 1] = offsets[i] + n; });
  return { offsets, longest: lengths.reduce((m, n) => Math.max(m, n), 0) };
}

/** A packed call's dims: N sequences, their longest query and key lengths. */
export interface PackedDims { packed: Packing; batch: number; l: number; s: number }

/**
 * options.sequenceLengths (summing to T) and options.kvSequenceLengths (as many, summing to Tk;
 * default: sequenceLengths) -> the Packing record. tName / tkName say where T and Tk come from.
 */
export function packedDims(opts: Record<string, unknown>, T: number, tName: string, Tk: number,
  tkName: string): PackedDims {
  const q = checkSequenceLengths('options.sequenceLengths', opts.sequenceLengths, T, tName);
  const kvName = 'options.kvSequenceLengths';
  const kv = opts.kvSequenceLengths === undefined
    ? checkSequenceLengths(`${kvName} (default: options.sequenceLengths)`, opts.sequenceLengths, Tk, tkName)
    : checkSequenceLengths(kvName, opts.kvSequenceLengths, Tk, tkName);
  if (kv.offsets.length !== q.offsets.length) {
    throw invalidParameterError(kvName, `${q.offsets.length - 1} lengths (one per query sequence)`,
      Array.from(kv.offsets.subarray(1), (end, i) => end - kv.offsets[i]));
  }
  return { packed: { q: q.offsets, kv: kv.offsets }, batch: q.offsets.length - 1, l: q.longest, s: kv.longest };
}

/** Whether a call is packed: options.sequenceLengths is given (kvSequenceLengths alone is a
 * RangeError). */
export function isPacked(opts: Record<string, unknown>): boolean {
  if (opts.sequenceLengths !== undefined) return true;
  if (opts.kvSequenceLengths !== undefined) {
    throw invalidParameterError('options.kvSequenceLengths', 'undefined without options.sequenceLengths',
      opts.kvSequenceLengths);
  }
  return false;
}

/** RangeError for an option that a packed call cannot take (a mask over a dense [B, ...] layout). */
export function rejectWithPacking(name: string, value: unknown): void {
  if (value !== undefined) {
    throw invalidParameterError(name, 'undefined with packed inputs (options.sequenceLengths)', value);
  }
}
