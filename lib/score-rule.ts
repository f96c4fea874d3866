// The attention variants' score options (scale, softcap, ALiBi, window), validated into the
// fields of the backend contract's ScoreRule (backend.ts). Shared by the layer (fixed at
// construction) and the functional ops (per call).
import { standardAlibiSlopes } from './alibi.js';
import type { ScoreRule } from './backend.js';
import {
  checkBoolean, checkFiniteNumber, checkFloat32Array, checkNonNegativeInteger, checkObject, checkPositiveNumber,
  invalidParameterError,
} from './validate.js';

/** options.window -> windowLeft / windowRight, -1 for an omitted (unbounded) side. */
export function checkWindow(name: string, value: unknown): Pick<ScoreRule, 'windowLeft' | 'windowRight'> {
  if (value === undefined) return { windowLeft: -1, windowRight: -1 };
  const window = checkObject(name, value, 'an object { left?, right? }');
  const side = (key: 'left' | 'right') =>
    (window[key] === undefined ? -1 : checkNonNegativeInteger(`${name}.${key}`, window[key]));
  return { windowLeft: side('left'), windowRight: side('right') };
}

/** options.softcap: a finite number > 0; 0 (none) when undefined. */
export function checkSoftcap(name: string, value: unknown): number {
  return checkPositiveNumber(name, value, 0);
}

/** Explicit ALiBi slopes: a Float32Array of one finite slope per head. */
export function checkAlibiSlopes(name: string, value: unknown, heads: number, what: string): Float32Array {
  const slopes = checkFloat32Array(name, value, heads, what);
  slopes.forEach((slope, h) => {
    if (!Number.isFinite(slope)) throw invalidParameterError(`${name}[${h}]`, 'a finite slope', slope);
  });
  return slopes;
}

/** The layer's options.alibi: true = the standard slopes of numHeads heads, or explicit slopes. */
export function checkAlibi(name: string, value: unknown, numHeads: number): Float32Array | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return standardAlibiSlopes(numHeads);
  if (!(value instanceof Float32Array)) {
    throw invalidParameterError(name, `a boolean or a Float32Array of numHeads (${numHeads}) slopes`, value, TypeError);
  }
  return checkAlibiSlopes(name, value, numHeads, `one slope per head, numHeads = ${numHeads}`);
}

/** A functional op's score options: scale (finite, default defaultScale), softcap, alibiSlopes
 * ([heads]), window and isCausal. */
export function functionalScoreRule(opts: Record<string, unknown>, heads: number, defaultScale: number): ScoreRule {
  return {
    scale: checkFiniteNumber('options.scale', opts.scale, defaultScale),
    softcap: checkSoftcap('options.softcap', opts.softcap),
    alibiSlopes: opts.alibiSlopes === undefined ? undefined
      : checkAlibiSlopes('options.alibiSlopes', opts.alibiSlopes, heads, `one slope per head, H = ${heads}`),
    ...checkWindow('options.window', opts.window),
    causal: checkBoolean('options.isCausal', opts.isCausal, false),
  };
}
