// Int8 weight quantization as onnxruntime's quantize_dynamic does it with its defaults
// (weight_type QInt8, reduce_range False; onnxruntime/python/tools/quantization: quant_utils.py
// compute_scale_zp / quantize_data / quantize_nparray, base_quantizer.py is_weight_symmetric and
// quantize_weight_per_channel_impl), for the int8 graphs of tools/gen-onnx.py:
// - symmetric (QInt8 weights are symmetric unless WeightSymmetric says otherwise): the range
//   [min(rmin, 0), max(rmax, 0)] widened to [-a, a], a = max(|rmin|, |rmax|), onto [-127, 127];
//   scale = 2a / 254, computed in float64 and stored as float32 (1 where it would be below the
//   smallest normal float32), zero point 0;
// - q = round_half_to_even(float32(w / scale)), clipped to [-128, 127];
// - per tensor (per_channel=False, the default): one scale for the whole weight; per column
//   (per_channel=True): one per column of the [in, out] matrix that MatMul multiplies by (MatMul's B
//   and Attention's weight are quantized along their last axis), i.e. per output feature.
// Activations are not quantized here: the graphs' DynamicQuantizeLinear / DynamicQuantizeMatMul
// quantize them to uint8 at run time, as quantize_dynamic's graphs do.

const FLOAT32_MIN_NORMAL = 2 ** -126;

/** numpy's round(): to nearest, ties to even. */
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Scale of values whose extremes are lo and hi (float32), as compute_scale_zp gives it. */
function symmetricScale(lo, hi) {
  const a = Math.max(Math.abs(Math.min(lo, 0)), Math.abs(Math.max(hi, 0)));
  const scale = (2 * a) / 254; // rmax - rmin is exact in float32 (a doubled); the division in float64
  return scale < FLOAT32_MIN_NORMAL ? 1 : Math.fround(scale);
}

/**
 * Quantizes the row-major [rows, cols] matrix m (a weight in [in, out] layout) to int8:
 * per 'tensor' or per 'column'. Returns { q: Int8Array [rows, cols], scale: Float32Array,
 * zeroPoint: Int8Array } with one scale and zero point, or one per column.
 */
export function quantizeWeight(m, rows, cols, scheme) {
  const groups = scheme === 'column' ? cols : 1;
  const lo = new Float32Array(groups).fill(Infinity), hi = new Float32Array(groups).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = groups === 1 ? 0 : c, v = m[r * cols + c];
      if (v < lo[g]) lo[g] = v;
      if (v > hi[g]) hi[g] = v;
    }
  }
  const scale = Float32Array.from(lo, (l, g) => symmetricScale(l, hi[g]));
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = roundHalfEven(Math.fround(m[r * cols + c] / scale[groups === 1 ? 0 : c]));
      q[r * cols + c] = Math.min(127, Math.max(-128, v));
    }
  }
  return { q, scale, zeroPoint: new Int8Array(groups) };
}
