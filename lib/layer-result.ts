// Where a layer call (forward, with or without a KV cache) writes its result: options.out or
// a fresh array for the output, a fresh array for the weights when wanted.
import type { LayerOutputs } from './backend.js';
import type { AttentionDims } from './masks.js';
import type { AttentionResult } from './types.js';
import { checkBoolean, checkElementCount, freshArray, invalidParameterError, resultArray } from './validate.js';

/**
 * The call's outputs and the result they become: the output of outShape; the weights [B, L, S]
 * or [B, H, L, S] of weightDims when wanted (undefined: the call has none, as a packed one;
 * needWeights is then a RangeError). inputs name the call's input arrays, which options.out may
 * not overlap.
 */
export function layerOutputs(opts: Record<string, unknown>, outShape: number[], weightDims: AttentionDims | undefined,
  inputs: Record<string, ArrayBufferView | undefined>): { outputs: LayerOutputs; result: AttentionResult } {
  const needWeights = checkBoolean('options.needWeights', opts.needWeights, false);
  const averageWeights = checkBoolean('options.averageAttnWeights', opts.averageAttnWeights, true);
  const out = resultArray('options.out', opts.out, outShape, inputs);
  const result: AttentionResult = { output: { data: out, shape: outShape } };
  let weights: Float32Array | undefined;
  if (needWeights) {
    if (!weightDims) {
      throw invalidParameterError('options.needWeights', 'false or undefined with packed inputs ' +
        '(options.sequenceLengths)', needWeights);
    }
    const { batch: B, heads: H, l: L, s: S } = weightDims;
    const weightsShape = averageWeights ? [B, L, S] : [B, H, L, S];
    weights = freshArray(checkElementCount('attnWeights', weightsShape));
    result.attnWeights = { data: weights, shape: weightsShape };
  }
  return { outputs: { out, outIsCallers: opts.out !== undefined, weights, averageWeights }, result };
}
