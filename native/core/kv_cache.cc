// mha_kv_cache: cache-line aligned, zeroed buffers (core/aligned_alloc.h); store() scatters
// token-major projections into the head-major layout, one head_dim row at a time, converted
// by the dispatched kernel set's narrow_row (core/attn_kernels.h).
#include "core/kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/aligned_alloc.h"
#include "core/dispatch.h"

namespace {

void* zeroed(size_t bytes) {
  void* p = mha::aligned_alloc_or_null(bytes, mha::HugePages::kWhenLarge);
  if (p) memset(p, 0, bytes);
  return p;
}

}  // namespace

mha_kv_cache* mha_kv_cache_create(int64_t batch, int64_t heads, int64_t capacity, int64_t head_dim,
                                  mha_storage dtype) {
  mha_kv_cache* c = static_cast<mha_kv_cache*>(calloc(1, sizeof(mha_kv_cache)));
  if (!c) return nullptr;
  c->batch = batch;
  c->heads = heads;
  c->capacity = capacity;
  c->head_dim = head_dim;
  c->dtype = dtype;
  const size_t kv_bytes = static_cast<size_t>(batch * heads * capacity * head_dim * mha_storage_bytes(dtype));
  c->k = zeroed(kv_bytes);
  c->v = zeroed(kv_bytes);
  c->padding = static_cast<uint8_t*>(zeroed(static_cast<size_t>(batch * capacity)));
  if (!c->k || !c->v || !c->padding) {
    mha_kv_cache_free(c);
    return nullptr;
  }
  return c;
}

void mha_kv_cache_free(mha_kv_cache* c) {
  if (!c) return;
  mha::aligned_free(c->k);
  mha::aligned_free(c->v);
  mha::aligned_free(c->padding);
  free(c);
}

void mha_kv_cache_store(mha_kv_cache* c, const int64_t* starts, const int64_t* rows, const float* k,
                        int64_t ld_k, const float* v, int64_t ld_v, const uint8_t* padding) {
  const int64_t d = c->head_dim, bytes = mha_storage_bytes(c->dtype);
  const mha_attn_kernels* kernels = mha_kernels()->attn;
  for (int64_t b = 0; b < c->batch; ++b) {
    for (int64_t r = rows[b]; r < rows[b + 1]; ++r) {
      const int64_t position = starts[b] + r - rows[b];
      for (int64_t h = 0; h < c->heads; ++h) {
        const int64_t at = ((b * c->heads + h) * c->capacity + position) * d * bytes;
        kernels->narrow_row(k + r * ld_k + h * d, c->dtype, static_cast<char*>(c->k) + at, d);
        kernels->narrow_row(v + r * ld_v + h * d, c->dtype, static_cast<char*>(c->v) + at, d);
      }
      c->padding[b * c->capacity + position] = padding && padding[r] ? 1 : 0;
    }
  }
}
