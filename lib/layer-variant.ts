// A layer's attention variant options (numKvHeads, scale, softcap, alibi, window, rotary),
// validated into the fields of its LayerDesc (backend.ts).
import type { LayerDesc } from './backend.js';
import { checkRotarySpec } from './rotary-args.js';
import { checkAlibi, checkSoftcap, checkWindow } from './score-rule.js';
import { checkFiniteNumber, checkOneOf, checkPositiveInteger, invalidParameterError, PRECISIONS } from './validate.js';

export type LayerVariant = Pick<LayerDesc,
  'numKvHeads' | 'scale' | 'softcap' | 'alibiSlopes' | 'windowLeft' | 'windowRight' | 'rotary' | 'dtype'>;

/** options.numKvHeads: a divisor of numHeads, default numHeads. */
export function checkNumKvHeads(value: unknown, numHeads: number): number {
  const numKvHeads = value === undefined ? numHeads : checkPositiveInteger('options.numKvHeads', value);
  if (numHeads % numKvHeads !== 0) {
    throw invalidParameterError('options.numKvHeads', `a divisor of numHeads (${numHeads})`, numKvHeads);
  }
  return numKvHeads;
}

/** The variant options that leave the weights' shapes alone (all but numKvHeads): fromStateDict passes them on. */
export const RULE_OPTIONS = ['scale', 'softcap', 'alibi', 'window', 'rotary', 'dtype'] as const;

/** The variant of a layer of numHeads heads of headDim features. */
export function layerVariant(opts: Record<string, unknown>, numHeads: number, headDim: number): LayerVariant {
  const numKvHeads = checkNumKvHeads(opts.numKvHeads, numHeads);
  // A zero scale would make every query attend uniformly: a configuration error, not a model.
  const scale = checkFiniteNumber('options.scale', opts.scale, 1 / Math.sqrt(headDim));
  if (scale === 0) throw invalidParameterError('options.scale', 'a finite nonzero number', scale);
  return {
    numKvHeads, scale,
    softcap: checkSoftcap('options.softcap', opts.softcap),
    alibiSlopes: checkAlibi('options.alibi', opts.alibi, numHeads),
    ...checkWindow('options.window', opts.window),
    rotary: opts.rotary === undefined ? undefined : checkRotarySpec('options.rotary', opts.rotary, headDim),
    dtype: checkOneOf('options.dtype', opts.dtype, PRECISIONS, 'float32'),
  };
}
