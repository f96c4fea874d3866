// Summary statistics over timing samples (seconds per call) and the numeric check between outputs.

function quantile(sorted, p) {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median, interquartile range and min-max of samples, in seconds. */
export function summarize(samples) {
  if (samples.length === 0) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), q1: quantile(s, 0.25), q3: quantile(s, 0.75),
    min: s[0], max: s[s.length - 1] };
}

/** ||out - ref|| / ||ref||, accumulated in float64; Infinity on a length mismatch or NaN. */
export function relativeL2(out, ref) {
  if (out.length !== ref.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = out[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  const r = Math.sqrt(num) / Math.sqrt(den || 1);
  return Number.isNaN(r) ? Infinity : r;
}
