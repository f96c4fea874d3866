// A key/value cache for incremental decoding: the projected keys and values of every position
// seen so far, head-major [batch, heads, capacity, head_dim] (heads: the layer's key/value
// heads) so that a decode step's attention streams one contiguous [length, head_dim] block per
// (sequence, head), plus one padding flag per position [batch, capacity] (nonzero = blocked for
// every query). Allocated once, zeroed. The cache holds memory only: how many positions each
// sequence holds is the caller's bookkeeping (every write says where, and the caller keeps it
// within the capacity).
// Keys and values are stored as `dtype` (core/storage.h): 16-bit caches hold half the bytes
// and a decode step reads half as many; values are rounded as they are stored and widened as
// attention reads them (mha_attention_args.kv_dtype).
#pragma once
#include <stdint.h>

#include "core/storage.h"

typedef struct mha_kv_cache {
  int64_t batch, heads, capacity, head_dim;
  mha_storage dtype;
  void* k;           // [batch, heads, capacity, head_dim] of dtype
  void* v;           // [batch, heads, capacity, head_dim] of dtype
  uint8_t* padding;  // [batch, capacity]
} mha_kv_cache;

// NULL when the memory cannot be allocated. (dtype defaults to float32 for callers that
// predate it.)
mha_kv_cache* mha_kv_cache_create(int64_t batch, int64_t heads, int64_t capacity, int64_t head_dim,
                                  mha_storage dtype = MHA_STORAGE_FLOAT32);
void mha_kv_cache_free(mha_kv_cache* cache);

// Writes sequence b's new positions [starts[b], starts[b] + rows[b + 1] - rows[b]) from rows
// [rows[b], rows[b + 1]) of k and v, token-major [.., heads * head_dim] projections with row
// strides ld_k / ld_v (head h = column block h * head_dim), converted to the cache's dtype
// (to nearest, ties to even; NaN stays NaN, float16 overflow becomes infinity); padding holds
// one flag per source row (nonzero = padding) or is NULL (no padding).
void mha_kv_cache_store(mha_kv_cache* cache, const int64_t* starts, const int64_t* rows, const float* k,
                        int64_t ld_k, const float* v, int64_t ld_v, const uint8_t* padding);
