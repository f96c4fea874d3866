// A multi-head attention layer with its weights packed once at creation: Q/K/V projections
// (one fused QKV GEMM for self-attention), rotary positions on q and k, attention under the
// layer's score rule with grouped key/value heads, output projection; the same over packed
// (ragged) batches; and the layer over a KV cache (kv_cache.h) holding one length per sequence,
// for incremental decoding and continuous batching.
#pragma once
#include <stdint.h>
#include "core/kv_cache.h"
#include "core/mask.h"
#include "core/precision.h"
#include "core/rotary.h"
#include "core/score_rule.h"

typedef struct mha_model mha_model;

typedef struct mha_model_desc {
  int64_t embed_dim, num_heads, num_kv_heads, k_dim, v_dim;
  // torch.nn.Linear layout [out, in], row-major; biases may be NULL (no bias). With
  // D = embed_dim / num_heads: q [E, E], k [num_kv_heads * D, k_dim], v [num_kv_heads * D, v_dim],
  // out [E, E]; q/out biases [E], k/v biases [num_kv_heads * D].
  const float *q_weight, *k_weight, *v_weight, *out_weight;
  const float *q_bias, *k_bias, *v_bias, *out_bias;
  // The layer's score rule; its causal field is ignored (each call says) and its alibi slopes
  // ([num_heads] or NULL) are copied.
  mha_score_rule rule;
  mha_rotary_spec rotary;  // dim 0: none
  // MHA_PRECISION_BFLOAT16: every projection weight packed in bfloat16 (the projections run
  // with bfloat16 operands, core/gemm.h) and attention in the bfloat16 precision
  // (core/attention.h); biases, softmax, masks and rotary stay float32. Zero: float32.
  mha_precision dtype;
} mha_model_desc;

mha_model* mha_model_create(const mha_model_desc* desc);
void mha_model_free(mha_model* model);

// Ragged batches: entry b's tokens are rows [rows[b], rows[b + 1]) of a token-major tensor
// ([batch + 1] entries from 0). NULL: dense, every entry has the same count.
typedef struct mha_forward_args {
  int64_t batch, l, s;   // dense: every entry's counts; packed: the longest
  const float* query;    // [batch, l, embed_dim] or [q_rows[batch], embed_dim]
  const float* key;      // [batch, s, k_dim] or [kv_rows[batch], k_dim]
  const float* value;    // [batch, s, v_dim] or [kv_rows[batch], v_dim]
  const int64_t* q_rows; // NULL or [batch + 1]
  const int64_t* kv_rows;// NULL or [batch + 1]
  int self_attention;    // query, key and value are the same tensor: one fused QKV projection
  mha_mask attn_mask;    // strides over (b, h, l, s); dense only
  mha_mask key_padding;
  int causal;
  float* out;            // like query, embed_dim wide
  float* weights;        // optional, dense only: [batch, l, s] when average_weights, else [batch, heads, l, s]
  int average_weights;
} mha_forward_args;

void mha_model_forward(const mha_model* model, const mha_forward_args* args);

// Incremental decoding. The cache (created with this model's key/value heads and head size, in
// any dtype: attention reads it as it is stored) holds starts[b] valid positions of sequence b; the caller guarantees every write stays within
// the capacity. Positions (rotary, ALiBi, window) count from the start of each sequence.

// Projects key [batch, t, k_dim] and value [batch, t, v_dim] once and stores sequence b's t
// positions, with their padding flags [batch, t] (nonzero = padding; NULL = none), at
// [starts[b], starts[b] + t).
void mha_model_append_kv(const mha_model* model, mha_kv_cache* cache, const int64_t* starts, int64_t t,
                         const float* key, const float* value, const uint8_t* padding);

typedef struct mha_cached_forward_args {
  int64_t batch, l;            // l: the queries of each sequence (dense) or the longest (packed)
  const int64_t* starts;       // [batch]: positions sequence b holds before the call
  const float* query;          // [batch, l, embed_dim] or [q_rows[batch], embed_dim]
  const int64_t* q_rows;       // NULL (dense) or [batch + 1]: sequence b's queries are rows [q_rows[b], q_rows[b + 1])
  // 1: self-attention (needs k_dim == v_dim == embed_dim): one fused QKV projection of query;
  //    sequence b's keys/values (and, dense, padding flags new_padding [batch, l] or NULL) are
  //    stored at [starts[b], starts[b] + l_b) before attending. 0: query attends to the cache
  //    as it is.
  int append;
  const uint8_t* new_padding;
  // Dense only, over (b, h, l, s), s < s_max = max_b (starts[b] + (append ? l : 0)); the cache's
  // padding flags are the key padding mask.
  mha_mask attn_mask;
  int64_t s_max;
  int causal;
  float* out;                  // like query, embed_dim wide
  float* weights;              // optional, dense only: [batch, l, s_max] or [batch, heads, l, s_max]
  int average_weights;
} mha_cached_forward_args;

void mha_model_forward_cached(const mha_model* model, mha_kv_cache* cache, const mha_cached_forward_args* args);
