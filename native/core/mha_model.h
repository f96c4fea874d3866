// A multi-head attention layer with its weights packed once at creation:
// Q/K/V projections (one fused QKV GEMM for self-attention), attention, output projection;
// and the same layer over a KV cache (kv_cache.h) for incremental decoding.
#pragma once
#include <stdint.h>
#include "core/kv_cache.h"
#include "core/mask.h"

typedef struct mha_model mha_model;

typedef struct mha_model_desc {
  int64_t embed_dim, num_heads, k_dim, v_dim;
  // torch.nn.Linear layout [out, in], row-major; biases may be NULL (no bias).
  const float *q_weight, *k_weight, *v_weight, *out_weight;
  const float *q_bias, *k_bias, *v_bias, *out_bias;
} mha_model_desc;

mha_model* mha_model_create(const mha_model_desc* desc);
void mha_model_free(mha_model* model);

typedef struct mha_forward_args {
  int64_t batch, l, s;
  const float* query;  // [batch, l, embed_dim]
  const float* key;    // [batch, s, k_dim]
  const float* value;  // [batch, s, v_dim]
  int self_attention;  // query, key and value are the same tensor: one fused QKV projection
  mha_mask attn_mask;  // strides over (b, h, l, s)
  mha_mask key_padding;
  int causal;
  float* out;          // [batch, l, embed_dim]
  float* weights;      // optional: [batch, l, s] when average_weights, else [batch, heads, l, s]
  int average_weights;
} mha_forward_args;

void mha_model_forward(const mha_model* model, const mha_forward_args* args);

// Incremental decoding. The cache (created with this model's heads and head_dim) holds `start`
// valid positions; the caller guarantees start + (new positions) <= capacity.

// Projects key [batch, t, k_dim] and value [batch, t, v_dim] once and stores them, with their
// padding flags [batch, t] (nonzero = padding; NULL = none), at positions [start, start + t).
void mha_model_append_kv(const mha_model* model, mha_kv_cache* cache, int64_t start, int64_t t,
                         const float* key, const float* value, const uint8_t* padding);

typedef struct mha_cached_forward_args {
  int64_t batch, l, start;
  const float* query;          // [batch, l, embed_dim]
  // 1: self-attention (needs k_dim == v_dim == embed_dim): one fused QKV projection of query;
  //    its keys/values and padding flags new_padding ([batch, l] or NULL) are stored at
  //    [start, start + l) before attending. 0: query attends to the cache as it is.
  int append;
  const uint8_t* new_padding;
  // Over (b, h, l, s) with s = start + (append ? l : 0) positions; the cache's padding flags
  // are the key padding mask.
  mha_mask attn_mask;
  int causal;
  float* out;                  // [batch, l, embed_dim]
  float* weights;              // optional: [batch, l, s] when average_weights, else [batch, heads, l, s]
  int average_weights;
} mha_cached_forward_args;

void mha_model_forward_cached(const mha_model* model, mha_kv_cache* cache, const mha_cached_forward_args* args);
