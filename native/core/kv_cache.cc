// mha_kv_cache: cache-line aligned, zeroed buffers (core/aligned_alloc.h); store() scatters
// token-major projections into the head-major layout, one head_dim row at a time.
#include "core/kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/aligned_alloc.h"

namespace {

void* zeroed(size_t bytes) {
  void* p = mha::aligned_alloc_or_null(bytes, mha::HugePages::kWhenLarge);
  if (p) memset(p, 0, bytes);
  return p;
}

}  // namespace

mha_kv_cache* mha_kv_cache_create(int64_t batch, int64_t heads, int64_t capacity, int64_t head_dim) {
  mha_kv_cache* c = static_cast<mha_kv_cache*>(calloc(1, sizeof(mha_kv_cache)));
  if (!c) return nullptr;
  c->batch = batch;
  c->heads = heads;
  c->capacity = capacity;
  c->head_dim = head_dim;
  const size_t kv_bytes = static_cast<size_t>(batch * heads * capacity * head_dim) * sizeof(float);
  c->k = static_cast<float*>(zeroed(kv_bytes));
  c->v = static_cast<float*>(zeroed(kv_bytes));
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
  const int64_t d = c->head_dim;
  const size_t row_bytes = static_cast<size_t>(d) * sizeof(float);
  for (int64_t b = 0; b < c->batch; ++b) {
    for (int64_t r = rows[b]; r < rows[b + 1]; ++r) {
      const int64_t position = starts[b] + r - rows[b];
      for (int64_t h = 0; h < c->heads; ++h) {
        const int64_t at = ((b * c->heads + h) * c->capacity + position) * d;
        memcpy(c->k + at, k + r * ld_k + h * d, row_bytes);
        memcpy(c->v + at, v + r * ld_v + h * d, row_bytes);
      }
      c->padding[b * c->capacity + position] = padding && padding[r] ? 1 : 0;
    }
  }
}
