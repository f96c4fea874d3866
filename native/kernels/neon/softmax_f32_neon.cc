// Masked softmax row kernels, NEON (AArch64): 4 floats per step (q register), 8 per loop
// iteration with two accumulators; a row's tail (< 4) is staged through 4-lane stack
// buffers, so no kernel reads or writes past a row. exp: x = n ln2 + r, 2^n built in the
// exponent bits, exp(r) by a degree-5 minimax polynomial (max relative error 9.2e-8);
// lanes below the normal float range (and -inf) give exactly 0. Rows live in L1.
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kernels/neon/attn_neon.h"

namespace mha_neon {
namespace {

inline float32x4_t exp_nonpositive(float32x4_t x) {
  const uint32x4_t live = vcgeq_f32(x, vdupq_n_f32(-87.3365447f));
  const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
  const float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693147180559945309f));
  float32x4_t p = vdupq_n_f32(0x1.0F9F9Cp-7f);
  p = vfmaq_f32(vdupq_n_f32(0x1.573A1Ap-5f), p, r);
  p = vfmaq_f32(vdupq_n_f32(0x1.555A80p-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(0x1.FFFDC6p-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(0x1.FFFFF6p-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  return vreinterpretq_f32_u32(vandq_u32(live, vreinterpretq_u32_f32(vmulq_f32(p, vreinterpretq_f32_s32(e)))));
}

struct RowMasker {
  const float *add0, *add1;
  const uint8_t *blk0, *blk1;
  int64_t limit;
  float scale;

  // The masked, scaled value of the 4 lanes at x[j] (masks at offset j).
  float32x4_t operator()(const float* x, int64_t j) const {
    float32x4_t v = vmulq_n_f32(vld1q_f32(x + j), scale);
    if (add0) v = vaddq_f32(v, vld1q_f32(add0 + j));
    if (add1) v = vaddq_f32(v, vld1q_f32(add1 + j));
    uint32x4_t blk = vdupq_n_u32(0);
    if (blk0) blk = vorrq_u32(blk, blocked_bytes(blk0 + j));
    if (blk1) blk = vorrq_u32(blk, blocked_bytes(blk1 + j));
    const int64_t visible = limit - j;
    if (visible < 4) {
      const int32_t lane[4] = {0, 1, 2, 3};
      blk = vorrq_u32(blk, vcgtq_s32(vld1q_s32(lane), vdupq_n_s32(static_cast<int32_t>(visible < 0 ? -1 : visible - 1))));
    }
    return vbslq_f32(blk, vdupq_n_f32(-INFINITY), v);
  }

  // All-ones lanes where the 4 bytes at b are nonzero.
  static uint32x4_t blocked_bytes(const uint8_t* b) {
    const uint32_t w[4] = {b[0], b[1], b[2], b[3]};
    return vmvnq_u32(vceqq_u32(vld1q_u32(w), vdupq_n_u32(0)));
  }
};

}  // namespace

float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m) {
  const RowMasker row{m->add[0], m->add[1], m->blk[0], m->blk[1], m->limit, scale};
  float32x4_t max0 = vdupq_n_f32(-INFINITY), max1 = max0;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const float32x4_t v0 = row(x, j), v1 = row(x, j + 4);
    vst1q_f32(y + j, v0);
    vst1q_f32(y + j + 4, v1);
    max0 = vmaxq_f32(max0, v0);
    max1 = vmaxq_f32(max1, v1);
  }
  for (; j < n; j += 4) {
    const int64_t k = n - j < 4 ? n - j : 4;
    if (k == 4) {
      const float32x4_t v = row(x, j);
      vst1q_f32(y + j, v);
      max0 = vmaxq_f32(max0, v);
      continue;
    }
    // stage the tail: padding lanes are blocked through the limit
    float xs[4] = {0}, a0[4] = {0}, a1[4] = {0}, out[4];
    uint8_t b0[4] = {0}, b1[4] = {0};
    memcpy(xs, x + j, k * sizeof(float));
    RowMasker tail = row;
    if (row.add0) { memcpy(a0, row.add0 + j, k * sizeof(float)); tail.add0 = a0; }
    if (row.add1) { memcpy(a1, row.add1 + j, k * sizeof(float)); tail.add1 = a1; }
    if (row.blk0) { memcpy(b0, row.blk0 + j, k); tail.blk0 = b0; }
    if (row.blk1) { memcpy(b1, row.blk1 + j, k); tail.blk1 = b1; }
    tail.limit = row.limit - j < k ? row.limit - j : k;
    const float32x4_t v = tail(xs, 0);
    vst1q_f32(out, v);
    memcpy(y + j, out, k * sizeof(float));
    max0 = vmaxq_f32(max0, v);
  }
  return vmaxvq_f32(vmaxq_f32(max0, max1));
}

float exp_sum_row(float* y, int64_t n, float max) {
  const float32x4_t vmax = vdupq_n_f32(max);
  float32x4_t sum0 = vdupq_n_f32(0), sum1 = sum0;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const float32x4_t e0 = exp_nonpositive(vsubq_f32(vld1q_f32(y + j), vmax));
    const float32x4_t e1 = exp_nonpositive(vsubq_f32(vld1q_f32(y + j + 4), vmax));
    vst1q_f32(y + j, e0);
    vst1q_f32(y + j + 4, e1);
    sum0 = vaddq_f32(sum0, e0);
    sum1 = vaddq_f32(sum1, e1);
  }
  for (; j < n; j += 4) {
    const int64_t k = n - j < 4 ? n - j : 4;
    float buf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    memcpy(buf, y + j, k * sizeof(float));
    const float32x4_t e = exp_nonpositive(vsubq_f32(vld1q_f32(buf), vmax));
    vst1q_f32(buf, e);
    memcpy(y + j, buf, k * sizeof(float));
    sum0 = vaddq_f32(sum0, e);
  }
  return vaddvq_f32(vaddq_f32(sum0, sum1));
}

void scale_row(float* y, int64_t n, float a) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) vst1q_f32(y + j, vmulq_n_f32(vld1q_f32(y + j), a));
  for (; j < n; ++j) y[j] *= a;
}

}  // namespace mha_neon
