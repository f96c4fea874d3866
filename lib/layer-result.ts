// The fresh buffers a layer call (forward, with or without a KV cache) writes its result into,
// from the call's validated weight options.
import type { AttentionResult } from './mha-types.js';
import { checkBoolean, checkElementCount } from './validate.js';

export interface LayerResult {
  out: Float32Array;                // [B, L, E]
  weights: Float32Array | undefined; // [B, L, S] averaged, [B, H, L, S] per head; only when needWeights
  averageWeights: boolean;
  result: AttentionResult;          // the same buffers, shaped
}

export function layerResult(opts: Record<string, unknown>, B: number, H: number, L: number, S: number,
  E: number): LayerResult {
  const needWeights = checkBoolean('options.needWeights', opts.needWeights, false);
  const averageWeights = checkBoolean('options.averageAttnWeights', opts.averageAttnWeights, true);
  const outShape = [B, L, E];
  const weightsShape = averageWeights ? [B, L, S] : [B, H, L, S];
  const out = new Float32Array(checkElementCount('output', outShape));
  const weights = needWeights ? new Float32Array(checkElementCount('attnWeights', weightsShape)) : undefined;
  const result: AttentionResult = { output: { data: out, shape: outShape } };
  if (weights) result.attnWeights = { data: weights, shape: weightsShape };
  return { out, weights, averageWeights, result };
}
