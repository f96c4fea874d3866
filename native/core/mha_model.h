// A multi-head attention layer with its weights packed once at creation:
// Q/K/V projections (one fused QKV GEMM for self-attention), attention, output projection.
#pragma once
#include <stdint.h>
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
