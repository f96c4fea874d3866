// mha_model: the projection weights packed once; a forward pass is three GEMMs (or one
// fused QKV GEMM for self-attention) into [B*L, ...] scratch, attention reading heads
// through strides (head h = column block h*D) and writing the context over the Q
// projection, and the output projection. The cached forms
// project only the new tokens, store their K/V head-major in the cache (kv_cache.h) and
// attend over the cache's [capacity, D] rows (strides H*cap*D, cap*D, D).
#include "core/mha_model.h"

#include <math.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "core/attention.h"
#include "core/gemm.h"
#include "core/scratch.h"

namespace {

struct PackedFree {
  void operator()(mha_packed_b* p) const { mha_packed_b_free(p); }
};
using PackedB = std::unique_ptr<mha_packed_b, PackedFree>;

// A torch.nn.Linear weight [out, in] packed as the right operand of x [rows, in].
PackedB pack_linear(const float* weight, int64_t in, int64_t out) {
  return PackedB(mha_pack_b(weight, in, 1, in, out));
}

std::vector<float> copy_bias(const float* bias, int64_t n) {
  return bias ? std::vector<float>(bias, bias + n) : std::vector<float>();
}

const float* bias_or_null(const std::vector<float>& bias) { return bias.empty() ? nullptr : bias.data(); }

}  // namespace

struct mha_model {
  int64_t embed_dim, num_heads, k_dim, v_dim;
  PackedB q_proj, k_proj, v_proj, out_proj;
  PackedB qkv_proj;  // [E -> 3E] when k_dim == v_dim == E, else null
  std::vector<float> q_bias, k_bias, v_bias, out_bias, qkv_bias;  // empty = no bias
};

mha_model* mha_model_create(const mha_model_desc* d) {
  const int64_t e = d->embed_dim;
  std::unique_ptr<mha_model> m(new mha_model());
  m->embed_dim = e;
  m->num_heads = d->num_heads;
  m->k_dim = d->k_dim;
  m->v_dim = d->v_dim;
  m->q_proj = pack_linear(d->q_weight, e, e);
  m->k_proj = pack_linear(d->k_weight, d->k_dim, e);
  m->v_proj = pack_linear(d->v_weight, d->v_dim, e);
  m->out_proj = pack_linear(d->out_weight, e, e);
  m->q_bias = copy_bias(d->q_bias, e);
  m->k_bias = copy_bias(d->k_bias, e);
  m->v_bias = copy_bias(d->v_bias, e);
  m->out_bias = copy_bias(d->out_bias, e);
  if (d->k_dim == e && d->v_dim == e) {
    std::vector<float> qkv(3 * e * e);  // [3E, E]: q, k, v weights stacked by output row
    std::copy(d->q_weight, d->q_weight + e * e, qkv.begin());
    std::copy(d->k_weight, d->k_weight + e * e, qkv.begin() + e * e);
    std::copy(d->v_weight, d->v_weight + e * e, qkv.begin() + 2 * e * e);
    m->qkv_proj = pack_linear(qkv.data(), e, 3 * e);
    if (d->q_bias || d->k_bias || d->v_bias) {
      m->qkv_bias.assign(3 * e, 0.0f);
      const float* parts[3] = {d->q_bias, d->k_bias, d->v_bias};
      for (int p = 0; p < 3; ++p)
        if (parts[p]) std::copy(parts[p], parts[p] + e, m->qkv_bias.begin() + p * e);
    }
  }
  return m.release();
}

void mha_model_free(mha_model* model) { delete model; }

namespace {

// Runs att (k/v with their strides, l, s and the masks filled in) on the query projection
// q_proj [B*L, ld_q] (head h = column block h*hd), writing the context over it: attention
// reads each query row before it writes that row's output, and only there (core/attention.h),
// so no separate [B*L, E] context buffer is needed. Averages the per-head probabilities into
// `weights` when asked, then the output projection.
void attend_and_project(const mha_model* m, mha_attention_args att, float* q_proj, int64_t ld_q, float* out,
                        float* weights, bool average_weights) {
  const int64_t e = m->embed_dim, heads = m->num_heads, hd = e / heads;
  float* per_head_weights = weights && average_weights
      ? mha::scratch(mha::kScratchHeadWeights, att.batch * heads * att.l * att.s) : nullptr;
  att.heads = heads; att.d = hd; att.dv = hd;
  att.q = q_proj; att.q_sb = att.l * ld_q; att.q_sh = hd; att.q_sl = ld_q;
  att.out = q_proj; att.o_sb = att.q_sb; att.o_sh = hd; att.o_sl = ld_q;
  att.scale = 1.0f / sqrtf(static_cast<float>(hd));
  att.weights = per_head_weights ? per_head_weights : weights;
  mha_attention(&att);

  if (per_head_weights) {
    const int64_t ls = att.l * att.s;
    const float inv_heads = 1.0f / static_cast<float>(heads);
    for (int64_t b = 0; b < att.batch; ++b) {
      float* avg = weights + b * ls;
      const float* per_head = per_head_weights + b * heads * ls;
      for (int64_t x = 0; x < ls; ++x) {
        float sum = 0.0f;
        for (int64_t h = 0; h < heads; ++h) sum += per_head[h * ls + x];
        avg[x] = sum * inv_heads;
      }
    }
  }

  mha_sgemm_packed(att.batch * att.l, q_proj, ld_q, m->out_proj.get(), out, e, bias_or_null(m->out_bias));
}

}  // namespace

void mha_model_forward(const mha_model* m, const mha_forward_args* a) {
  const int64_t e = m->embed_dim, hd = e / m->num_heads;
  const int64_t rows_q = a->batch * a->l, rows_kv = a->batch * a->s;

  // Projections: q, k, v as [rows, ld] matrices whose head h is the column block h*hd.
  float* q;
  const float *k, *v;
  int64_t ld_q, ld_kv;
  if (a->self_attention && m->qkv_proj) {
    float* proj = mha::scratch(mha::kScratchProjections, rows_q * 3 * e);
    mha_sgemm_packed(rows_q, a->query, e, m->qkv_proj.get(), proj, 3 * e, bias_or_null(m->qkv_bias));
    q = proj;
    k = q + e;
    v = q + 2 * e;
    ld_q = ld_kv = 3 * e;
  } else {
    float* pq = mha::scratch(mha::kScratchProjections, (rows_q + 2 * rows_kv) * e);
    float* pk = pq + rows_q * e;
    float* pv = pk + rows_kv * e;
    mha_sgemm_packed(rows_q, a->query, e, m->q_proj.get(), pq, e, bias_or_null(m->q_bias));
    mha_sgemm_packed(rows_kv, a->key, m->k_dim, m->k_proj.get(), pk, e, bias_or_null(m->k_bias));
    mha_sgemm_packed(rows_kv, a->value, m->v_dim, m->v_proj.get(), pv, e, bias_or_null(m->v_bias));
    q = pq;
    k = pk;
    v = pv;
    ld_q = ld_kv = e;
  }

  mha_attention_args att = {};
  att.batch = a->batch; att.l = a->l; att.s = a->s;
  att.k = k; att.k_sb = a->s * ld_kv; att.k_sh = hd; att.k_ss = ld_kv;
  att.v = v; att.v_sb = a->s * ld_kv; att.v_sh = hd; att.v_ss = ld_kv;
  att.attn_mask = a->attn_mask;
  att.key_padding = a->key_padding;
  att.causal = a->causal;
  attend_and_project(m, att, q, ld_q, a->out, a->weights, a->average_weights);
}

void mha_model_append_kv(const mha_model* m, mha_kv_cache* cache, int64_t start, int64_t t,
                         const float* key, const float* value, const uint8_t* padding) {
  const int64_t e = m->embed_dim, rows = cache->batch * t;
  float* pk = mha::scratch(mha::kScratchProjections, 2 * rows * e);
  float* pv = pk + rows * e;
  mha_sgemm_packed(rows, key, m->k_dim, m->k_proj.get(), pk, e, bias_or_null(m->k_bias));
  mha_sgemm_packed(rows, value, m->v_dim, m->v_proj.get(), pv, e, bias_or_null(m->v_bias));
  mha_kv_cache_store(cache, start, t, pk, e, pv, e, padding);
}

void mha_model_forward_cached(const mha_model* m, mha_kv_cache* cache, const mha_cached_forward_args* a) {
  const int64_t e = m->embed_dim, hd = e / m->num_heads, rows = a->batch * a->l;
  float* proj;
  int64_t ld_q, s = a->start;
  if (a->append) {  // the new tokens' Q, K and V in one GEMM; K and V go to the cache
    proj = mha::scratch(mha::kScratchProjections, rows * 3 * e);
    mha_sgemm_packed(rows, a->query, e, m->qkv_proj.get(), proj, 3 * e, bias_or_null(m->qkv_bias));
    mha_kv_cache_store(cache, a->start, a->l, proj + e, 3 * e, proj + 2 * e, 3 * e, a->new_padding);
    ld_q = 3 * e;
    s += a->l;
  } else {
    proj = mha::scratch(mha::kScratchProjections, rows * e);
    mha_sgemm_packed(rows, a->query, e, m->q_proj.get(), proj, e, bias_or_null(m->q_bias));
    ld_q = e;
  }

  const int64_t cap = cache->capacity;
  mha_attention_args att = {};
  att.batch = a->batch; att.l = a->l; att.s = s;
  att.k = cache->k; att.k_sb = m->num_heads * cap * hd; att.k_sh = cap * hd; att.k_ss = hd;
  att.v = cache->v; att.v_sb = att.k_sb; att.v_sh = att.k_sh; att.v_ss = hd;
  att.attn_mask = a->attn_mask;
  att.key_padding = {cache->padding, MHA_MASK_BOOL, cap, 0, 0, 1};
  att.causal = a->causal;
  attend_and_project(m, att, proj, ld_q, a->out, a->weights, a->average_weights);
}
