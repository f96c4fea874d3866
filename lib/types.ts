// The shared data types of the public API: tensors, masks and a layer's result. A leaf
// module: it imports nothing, so every other module may import it.

/** Row-major, contiguous, batch-first. `data` may be a view into a larger buffer. */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Uint8Array: boolean, nonzero = blocked. Float32Array: additive (-Infinity = blocked). */
export interface Mask {
  readonly data: Uint8Array | Float32Array;
  readonly shape: readonly number[];
}

/** output [B, L, E]; attnWeights only when needWeights ([B, L, S] averaged, or [B, H, L, S]). */
export interface AttentionResult { output: Tensor; attnWeights?: Tensor }
