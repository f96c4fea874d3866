// Attention kernels, scalar (portable C++, the baseline ISA): the mha_attn_kernels_scalar
// table. Tile 1 x 1: one score / one output element at a time, inner loops contiguous so the
// compiler may vectorize them; exp from libm. The K^T tile, the score tile and the
// accumulator rows a caller streams through are sized for L1/L2. K and V elements are read
// through the portable conversions of core/f16.h and core/bf16.h.
#include <math.h>

#include "core/attn_kernels.h"
#include "core/bf16.h"
#include "core/f16.h"

namespace {

// Element i of a K or V operand stored as St (kRound: rounded to bfloat16).
template <mha_storage St, bool kRound>
struct KvRead {
  const void* x;
  float operator[](int64_t i) const {
    float y;
    if constexpr (St == MHA_STORAGE_FLOAT16) y = mha_f16_detail::to_float(static_cast<const uint16_t*>(x)[i]);
    else if constexpr (St == MHA_STORAGE_BFLOAT16) y = mha_bf16_detail::to_float(static_cast<const uint16_t*>(x)[i]);
    else y = static_cast<const float*>(x)[i];
    if constexpr (kRound) y = mha_bf16_detail::to_float(mha_bf16_detail::from_float(y));
    return y;
  }
};

// fn(KvRead<...>{x}) for the format f.
template <class Fn>
void with_kv_read(const void* x, mha_kv_format f, Fn fn) {
  switch (f.storage) {
    case MHA_STORAGE_FLOAT16:
      if (f.round_bf16) return fn(KvRead<MHA_STORAGE_FLOAT16, true>{x});
      return fn(KvRead<MHA_STORAGE_FLOAT16, false>{x});
    case MHA_STORAGE_BFLOAT16:
      return fn(KvRead<MHA_STORAGE_BFLOAT16, false>{x});
    default:
      if (f.round_bf16) return fn(KvRead<MHA_STORAGE_FLOAT32, true>{x});
      return fn(KvRead<MHA_STORAGE_FLOAT32, false>{x});
  }
}

float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    float v = scale * x[j];
    if (m->softcap > 0) v = m->softcap * tanhf(v / m->softcap);
    if (m->alibi_slope != 0) v -= m->alibi_slope * fabsf(m->alibi_pos - static_cast<float>(j));
    if (m->add[0]) v += m->add[0][j];
    if (m->add[1]) v += m->add[1][j];
    if (j < m->first || j >= m->limit || (m->blk[0] && m->blk[0][j]) || (m->blk[1] && m->blk[1][j])) v = -INFINITY;
    y[j] = v;
    mx = v > mx ? v : mx;
  }
  return mx;
}

float exp_sum_row(float* y, int64_t n, float max) {
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    y[j] = expf(y[j] - max);
    sum += y[j];
  }
  return sum;
}

void scale_row(float* y, int64_t n, float a) {
  for (int64_t j = 0; j < n; ++j) y[j] *= a;
}

void scores(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t rows, int64_t n,
            int64_t d, float* s, int64_t lds) {
  for (int64_t r = 0; r < rows; ++r) {
    float* sr = s + r * lds;
    for (int64_t j = 0; j < n; ++j) sr[j] = 0;
    for (int64_t c = 0; c < d; ++c) {
      const float qc = q[r * ldq + c];
      const float* kc = kt + c * ldkt;
      for (int64_t j = 0; j < n; ++j) sr[j] += qc * kc[j];
    }
  }
}

void dots(const float* q, int64_t ldq, int64_t rows, const void* k, int64_t ldk, int64_t n, int64_t d, float* s,
          int64_t lds, mha_kv_format f) {
  with_kv_read(k, f, [&](auto kr) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) {
        float acc = 0;
        for (int64_t c = 0; c < d; ++c) acc += q[r * ldq + c] * kr[j * ldk + c];
        s[r * lds + j] = acc;
      }
  });
}

void pv(const float* p, int64_t ldp, const void* v, int64_t ldv, int64_t rows, int64_t n,
        int64_t dv, float* acc, int64_t ldacc, mha_kv_format f) {
  with_kv_read(v, f, [&](auto vr) {
    for (int64_t r = 0; r < rows; ++r) {
      float* ar = acc + r * ldacc;
      for (int64_t j = 0; j < n; ++j) {
        const float pj = p[r * ldp + j];
        for (int64_t c = 0; c < dv; ++c) ar[c] += pj * vr[j * ldv + c];
      }
    }
  });
}

void widen_row(const void* x, mha_kv_format f, float* y, int64_t n) {
  with_kv_read(x, f, [&](auto xr) {
    for (int64_t i = 0; i < n; ++i) y[i] = xr[i];
  });
}

void narrow_row(const float* x, mha_storage to, void* y, int64_t n) {
  if (to == MHA_STORAGE_FLOAT32) return widen_row(x, mha_kv_format{MHA_STORAGE_FLOAT32, 0}, static_cast<float*>(y), n);
  uint16_t* h = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i)
    h[i] = to == MHA_STORAGE_FLOAT16 ? mha_f16_detail::from_float(x[i]) : mha_bf16_detail::from_float(x[i]);
}

}  // namespace

const mha_attn_kernels mha_attn_kernels_scalar = {mask_max_row, exp_sum_row, scale_row, scores, dots, pv,
                                                   /*pack_kt=*/nullptr, widen_row, narrow_row};
