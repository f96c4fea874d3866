// The standard ALiBi slopes (Press et al., "Train Short, Test Long"), as BLOOM and Hugging
// Face's get_alibi_slopes compute them, so that checkpoints trained with them read the same.

/** 2^(-8k/n) for k = 1..n: the geometric sequence of n slopes. */
function geometric(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 2 ** ((-8 * (i + 1)) / n));
}

/**
 * The slopes of H heads: for H a power of two, 2^(-8(h+1)/H); otherwise the H' = 2^floor(log2 H)
 * slopes of H' heads followed by the first H - H' of every other slope of the 2H' sequence.
 */
export function standardAlibiSlopes(heads: number): Float32Array {
  let closest = 1;
  while (closest * 2 <= heads) closest *= 2;
  const extra = geometric(2 * closest).filter((_, i) => i % 2 === 0).slice(0, heads - closest);
  return Float32Array.from([...geometric(closest), ...extra]);
}
