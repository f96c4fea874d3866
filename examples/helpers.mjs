// What the examples share besides mha-native itself: seeded random numbers (so every run of an
// example prints the same thing), the error measure they report, and greedy token choice.

/** mulberry32: a seeded PRNG in [0, 1). */
export function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Relative L2 error ||a - b|| / ||b||. */
export function relL2(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

/** The token whose embedding (a row of `embedding`, [vocab, row.length]) has the largest dot product with `row`. */
export function greedy(row, embedding) {
  const E = row.length;
  let best = 0, bestScore = -Infinity;
  for (let id = 0; id * E < embedding.length; id++) {
    let score = 0;
    for (let i = 0; i < E; i++) score += row[i] * embedding[id * E + i];
    if (score > bestScore) { best = id; bestScore = score; }
  }
  return best;
}
