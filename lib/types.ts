// The shared data types of the public API: tensors, masks, a layer's result and the option
// objects that both the layer and the functional ops take (window, rotary). A leaf module: it
// imports nothing, so every other module may import it.

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

/** output [B, L, E] ([T, E] packed); attnWeights only when needWeights ([B, L, S] averaged, or [B, H, L, S]). */
export interface AttentionResult { output: Tensor; attnWeights?: Tensor }

/** Sliding-window (local) attention: key position pk is visible to query position pq only if
 * pq - left <= pk <= pq + right; an omitted side is unbounded. Non-negative integers. */
export interface AttentionWindow { left?: number; right?: number }

/** Rotary position embedding (RoPE) of the first `dim` features of each head (even, default
 * the head dim): pairs (x[i], x[i + dim/2]) (default, Llama / GPT-NeoX) or (x[2i], x[2i+1])
 * when interleaved (GPT-J), rotated by position * base^(-2i/dim); base default 10000. */
export interface RotaryOptions { dim?: number; base?: number; interleaved?: boolean }
