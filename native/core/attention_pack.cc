// KvPacking (core/attention_pack.h): float32 K^T tiles by the kernel set's pack_kt (or a
// portable loop), from K in place or from rows staged through widen_row; pair K^T tiles as
// the float32 transpose of 32-bit pair units (a key's row rounded to bfloat16 is already its
// pairs along d); pair V rows by interleaving two rounded rows.
#include "core/attention_pack.h"

#include <string.h>

#include <algorithm>

#include "core/tuning.h"

namespace mha {
namespace {

// The pack_kt contract of core/attn_kernels.h, for kernel sets without their own: one cache
// line of keys at a time, so each write is a contiguous run and the source rows stay in L1.
void pack_kt_portable(float* kt, int64_t ldkt, const float* k, int64_t ldk, int64_t n, int64_t d) {
  constexpr int64_t kRun = kCacheLineBytes / sizeof(float);
  for (int64_t j0 = 0; j0 < n; j0 += kRun) {
    const int64_t keys = std::min<int64_t>(kRun, n - j0);
    for (int64_t c = 0; c < d; ++c)
      for (int64_t j = 0; j < keys; ++j) kt[c * ldkt + j0 + j] = k[(j0 + j) * ldk + c];
  }
  for (int64_t c = 0; c < d && n < ldkt; ++c) memset(kt + c * ldkt + n, 0, (ldkt - n) * sizeof(float));
}

}  // namespace

void KvPacking::Prefetch(const void* base, int64_t ld, int64_t j, int64_t end, int64_t n) const {
  if (j >= end) return;
  const char* row = static_cast<const char*>(At(base, j * ld));
  const int64_t bytes = n * mha_storage_bytes(format.storage);
  for (int64_t b = 0; b < bytes; b += kCacheLineBytes) __builtin_prefetch(row + b);
}

void KvPacking::StoredRowToBf16(const void* x, int64_t n, mha_bf16* y, float* stage) const {
  switch (format.storage) {
    case MHA_STORAGE_BFLOAT16: memcpy(y, x, n * sizeof(mha_bf16)); return;
    case MHA_STORAGE_FLOAT16:
      k->widen_row(x, mha_kv_format{MHA_STORAGE_FLOAT16, 0}, stage, n);
      pairs->round_row(stage, y, n);
      return;
    default: pairs->round_row(static_cast<const float*>(x), y, n);
  }
}

void KvPacking::RowPairs(const float* x, int64_t n, int64_t lead, mha_bf16* y) const {
  if (lead) y[0] = 0;
  pairs->round_row(x, y + lead, n);
  if ((n + lead) % 2) y[n + lead] = 0;
}

void KvPacking::PackKt(float* kt, int64_t width, const void* kp, int64_t ldk, int64_t n, float* stage) const {
  const auto pack = k->pack_kt ? k->pack_kt : pack_kt_portable;
  if (pairs) {  // key j's pairs along d are 32-bit units: transpose the units
    const int64_t units = pair_rows(d);
    mha_bf16* rows = reinterpret_cast<mha_bf16*>(stage);
    float* convert = stage + n * units;
    for (int64_t j = 0; j < n; ++j) {
      Prefetch(kp, ldk, j + kPackPrefetchRows, n, d);
      mha_bf16* row = rows + j * 2 * units;
      StoredRowToBf16(At(kp, j * ldk), d, row, convert);
      if (d % 2) row[d] = 0;
    }
    return pack(kt, width, stage, units, n, units);
  }
  if (format.storage == MHA_STORAGE_FLOAT32 && !format.round_bf16)
    return pack(kt, width, static_cast<const float*>(kp), ldk, n, d);
  for (int64_t j = 0; j < n; ++j) k->widen_row(At(kp, j * ldk), format, stage + j * d, d);
  pack(kt, width, stage, d, n, d);
}

void KvPacking::PackV(float* vp, const void* v, int64_t ldv, int64_t s, float* stage) const {
  if (!pairs) {
    const bool copy = format.storage == MHA_STORAGE_FLOAT32 && !format.round_bf16;
    for (int64_t j = 0; j < s; ++j) {
      Prefetch(v, ldv, j + kPackPrefetchRows, s, dv);
      if (copy) memcpy(vp + j * dv, At(v, j * ldv), dv * sizeof(float));
      else k->widen_row(At(v, j * ldv), format, vp + j * dv, dv);
    }
    return;
  }
  mha_bf16* lo = reinterpret_cast<mha_bf16*>(stage);
  mha_bf16* hi = lo + dv;
  float* convert = stage + dv;
  mha_bf16* out = reinterpret_cast<mha_bf16*>(vp);
  for (int64_t j = 0; j < s; j += 2, out += 2 * dv) {
    Prefetch(v, ldv, j + kPackPrefetchRows, s, dv);
    Prefetch(v, ldv, j + kPackPrefetchRows + 1, s, dv);
    StoredRowToBf16(At(v, j * ldv), dv, lo, convert);
    if (j + 1 < s) StoredRowToBf16(At(v, (j + 1) * ldv), dv, hi, convert);
    else memset(hi, 0, dv * sizeof(mha_bf16));
    for (int64_t c = 0; c < dv; ++c) {
      out[2 * c] = lo[c];
      out[2 * c + 1] = hi[c];
    }
  }
}

}  // namespace mha
