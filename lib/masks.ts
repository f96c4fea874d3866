// User masks -> MaskView descriptors (backend.ts): element (b, h, l, s) of a mask is
// data[b*sb + h*sh + l*sl + s*ss]; a stride of 0 broadcasts. The native kernels and the
// TypeScript reference both read masks only through these descriptors (maskBias below is
// the reference's reading), so the two backends share one mask semantics.
import type { MaskView } from './backend.js';
import { checkMask, formatShape, invalidParameterError, shapesEqual } from './validate.js';

/** The extent of the (b, h, l, s) index space a mask is read over. */
export interface AttentionDims { batch: number; heads: number; l: number; s: number }

/** The masks of one call read element by element: a position is blocked if either blocks it. */
export interface MaskSet { attnMask?: MaskView; keyPadding?: MaskView }

/** keyPaddingMask [B, S] -> strides [S, 0, 0, 1]. */
export function keyPaddingDescriptor(name: string, value: unknown, dims: AttentionDims): MaskView | undefined {
  if (value === undefined) return undefined;
  const mask = checkMask(name, value);
  const expected = [dims.batch, dims.s];
  if (!shapesEqual(mask.shape, expected)) {
    throw invalidParameterError(name, `shape ${formatShape(expected)} ([B, S])`, mask.shape);
  }
  return { data: mask.data, strides: [dims.s, 0, 0, 1] };
}

/**
 * attnMask [L, S] -> [0, 0, S, 1]; [B*H, L, S] (PyTorch) -> [H*L*S, L*S, S, 1];
 * [B, H, L, S] -> [H*L*S, L*S, S, 1], where any dim of a rank-4 mask may be 1 and
 * broadcasts with stride 0 (so [B, 1, L, S] -> [L*S, 0, S, 1]).
 */
export function attnMaskDescriptor(name: string, value: unknown, dims: AttentionDims): MaskView | undefined {
  if (value === undefined) return undefined;
  const mask = checkMask(name, value);
  const { batch: B, heads: H, l: L, s: S } = dims;
  const shape = mask.shape;
  if (shapesEqual(shape, [L, S])) return { data: mask.data, strides: [0, 0, S, 1] };
  if (shapesEqual(shape, [B * H, L, S])) return { data: mask.data, strides: [H * L * S, L * S, S, 1] };
  const target = [B, H, L, S];
  if (shape.length === 4 && shape.every((d, i) => d === target[i] || d === 1)) {
    const [, mh, ml, ms] = shape;
    const contiguous = [mh * ml * ms, ml * ms, ms, 1];
    const strides = contiguous.map((stride, i) => (shape[i] === 1 ? 0 : stride));
    return { data: mask.data, strides: strides as MaskView['strides'] };
  }
  throw invalidParameterError(name,
    `shape ${formatShape([L, S])} ([L, S]), ${formatShape([B * H, L, S])} ([B*H, L, S]) or ` +
    `${formatShape(target)} ([B, H, L, S], where a dim of 1 broadcasts)`, shape);
}

/** maskedSoftmax's mask over x [..., L, S] read as (batch, heads, l, s): [L, S] or the full shape of x. */
export function softmaxMaskDescriptor(name: string, value: unknown, xShape: readonly number[],
  dims: AttentionDims): MaskView | undefined {
  if (value === undefined) return undefined;
  const mask = checkMask(name, value);
  const { heads: H, l: L, s: S } = dims;
  if (shapesEqual(mask.shape, [L, S])) return { data: mask.data, strides: [0, 0, S, 1] };
  if (shapesEqual(mask.shape, xShape)) return { data: mask.data, strides: [H * L * S, L * S, S, 1] };
  throw invalidParameterError(name,
    `shape ${formatShape([L, S])} ([L, S]) or ${formatShape(xShape)} (the shape of x)`, mask.shape);
}

/** Bottom-right aligned causal: query i (of L) may see key j (of S) iff j <= i + (S - L). */
export function causalBlocked(i: number, j: number, L: number, S: number): boolean {
  return j > i + (S - L);
}

/**
 * What the masks add to the score at (b, h, l, s): -Infinity when blocked (a nonzero boolean
 * entry or an additive -Infinity), otherwise the sum of the additive entries.
 */
export function maskBias(masks: MaskSet, b: number, h: number, l: number, s: number): number {
  let bias = 0;
  for (const mask of [masks.attnMask, masks.keyPadding]) {
    if (!mask) continue;
    const [sb, sh, sl, ss] = mask.strides;
    const v = mask.data[b * sb + h * sh + l * sl + s * ss];
    if (mask.data instanceof Uint8Array) {
      if (v !== 0) return -Infinity;
    } else {
      bias += v;
    }
  }
  return bias;
}
