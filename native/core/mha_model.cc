// mha_model: the projection weights packed once; a forward pass is three GEMMs (or one fused
// QKV GEMM for self-attention) into token-major scratch ([rows, ...], head h = column block
// h * D, key/value heads after the query heads), rotary positions applied to the q and k
// columns in place, attention reading heads through strides and writing the context over the
// Q projection, and the output projection; a pass of few rows runs instead as one job of head
// parts, one per thread (forward_in_head_parts). A bfloat16 model packs its weights in bfloat16 and
// attends in the bfloat16 precision. Ragged batches are the same GEMMs over the real
// tokens only, with the attention told where each sequence's rows are. The cached forms
// project only the new tokens, store their K/V head-major in the cache (kv_cache.h) at each
// sequence's own length and attend over the cache's [capacity, D] rows (strides
// Hkv*cap*D, cap*D, D) with each sequence's length.
#include "core/mha_model.h"

#include <math.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "core/attention.h"
#include "core/gemm.h"
#include "core/scratch.h"
#include "core/threadpool.h"
#include "core/tuning.h"

namespace {

struct PackedFree {
  void operator()(mha_packed_b* p) const { mha_packed_b_free(p); }
};
using PackedB = std::unique_ptr<mha_packed_b, PackedFree>;

// A torch.nn.Linear weight [out, in] packed as the right operand of x [rows, in], in the
// model's precision.
PackedB pack_linear(mha_precision dtype, const float* weight, int64_t in, int64_t out) {
  return PackedB(dtype == MHA_PRECISION_BFLOAT16 ? mha_pack_b_bf16(weight, in, 1, in, out)
                                                 : mha_pack_b(weight, in, 1, in, out));
}

std::vector<float> copy_bias(const float* bias, int64_t n) {
  return bias ? std::vector<float>(bias, bias + n) : std::vector<float>();
}

const float* bias_or_null(const std::vector<float>& bias) { return bias.empty() ? nullptr : bias.data(); }

}  // namespace

struct mha_model {
  int64_t embed_dim, num_heads, num_kv_heads, head_dim, kv_dim, k_dim, v_dim;  // kv_dim = num_kv_heads * head_dim
  PackedB q_proj, k_proj, v_proj, out_proj;
  PackedB qkv_proj;  // [E -> E + 2 kv_dim] when k_dim == v_dim == E, else null
  std::vector<float> q_bias, k_bias, v_bias, out_bias, qkv_bias;  // empty = no bias
  std::vector<float> alibi;  // [num_heads] or empty
  mha_score_rule rule;       // alibi points into the vector above; causal set per call
  mha_rotary_spec rotary;
  mha_precision dtype;       // of the packed weights and of attention
};

mha_model* mha_model_create(const mha_model_desc* d) {
  const int64_t e = d->embed_dim, hd = e / d->num_heads, kv = d->num_kv_heads * hd;
  std::unique_ptr<mha_model> m(new mha_model());
  m->embed_dim = e;
  m->num_heads = d->num_heads;
  m->num_kv_heads = d->num_kv_heads;
  m->head_dim = hd;
  m->kv_dim = kv;
  m->k_dim = d->k_dim;
  m->v_dim = d->v_dim;
  m->dtype = d->dtype;
  m->q_proj = pack_linear(d->dtype, d->q_weight, e, e);
  m->k_proj = pack_linear(d->dtype, d->k_weight, d->k_dim, kv);
  m->v_proj = pack_linear(d->dtype, d->v_weight, d->v_dim, kv);
  m->out_proj = pack_linear(d->dtype, d->out_weight, e, e);
  m->q_bias = copy_bias(d->q_bias, e);
  m->k_bias = copy_bias(d->k_bias, kv);
  m->v_bias = copy_bias(d->v_bias, kv);
  m->out_bias = copy_bias(d->out_bias, e);
  if (d->k_dim == e && d->v_dim == e) {
    std::vector<float> qkv((e + 2 * kv) * e);  // [E + 2 kv, E]: q, k, v weights stacked by output row
    std::copy(d->q_weight, d->q_weight + e * e, qkv.begin());
    std::copy(d->k_weight, d->k_weight + kv * e, qkv.begin() + e * e);
    std::copy(d->v_weight, d->v_weight + kv * e, qkv.begin() + (e + kv) * e);
    m->qkv_proj = pack_linear(d->dtype, qkv.data(), e, e + 2 * kv);
    if (d->q_bias || d->k_bias || d->v_bias) {
      m->qkv_bias.assign(e + 2 * kv, 0.0f);
      if (d->q_bias) std::copy(d->q_bias, d->q_bias + e, m->qkv_bias.begin());
      if (d->k_bias) std::copy(d->k_bias, d->k_bias + kv, m->qkv_bias.begin() + e);
      if (d->v_bias) std::copy(d->v_bias, d->v_bias + kv, m->qkv_bias.begin() + e + kv);
    }
  }
  m->rule = d->rule;
  if (d->rule.alibi) m->alibi.assign(d->rule.alibi, d->rule.alibi + d->num_heads);
  m->rule.alibi = m->alibi.empty() ? nullptr : m->alibi.data();
  m->rotary = d->rotary;
  return m.release();
}

void mha_model_free(mha_model* model) { delete model; }

namespace {

// Entry b's tokens are rows [rows[b], rows[b + 1]): the given packing, or `count` per entry.
std::vector<int64_t> row_offsets(const int64_t* packed, int64_t batch, int64_t count) {
  std::vector<int64_t> rows(batch + 1);
  for (int64_t b = 0; b <= batch; ++b) rows[b] = packed ? packed[b] : b * count;
  return rows;
}

// The positions of entry b's rows [rows[b], rows[b + 1]): offset[b] + the row's index in its entry.
std::vector<double> positions(const std::vector<int64_t>& rows, const std::vector<int64_t>& offset) {
  std::vector<double> pos(rows.back());
  for (size_t b = 0; b + 1 < rows.size(); ++b)
    for (int64_t r = rows[b]; r < rows[b + 1]; ++r) pos[r] = static_cast<double>(offset[b] + r - rows[b]);
  return pos;
}

// The model's rotary positions on `heads` heads of x [rows.back(), ld] (columns from x): row r
// of entry b at position offset[b] + its index in the entry.
void rotate(const mha_model* m, float* x, int64_t ld, int64_t heads, const std::vector<int64_t>& rows,
            const std::vector<int64_t>& offset) {
  if (m->rotary.dim <= 0) return;
  const std::vector<double> pos = positions(rows, offset);
  mha_rotary(&m->rotary, x, rows.back(), ld, heads, m->head_dim, pos.data());
}

// att (k/v with their strides, the entries, the masks filled in) set to attend the model's
// heads on the query projection q_proj [rows, ld_q] (head h = column block h*hd) and to write
// the context over it: attention reads each query row before it writes that row's output, and
// only there (core/attention.h), so no separate context buffer is needed.
mha_attention_args over_queries(const mha_model* m, mha_attention_args att, float* q_proj, int64_t ld_q, int causal) {
  const int64_t hd = m->head_dim;
  att.heads = m->num_heads; att.kv_heads = m->num_kv_heads; att.d = hd; att.dv = hd;
  att.q = q_proj; att.q_sb = att.l * ld_q; att.q_sh = hd; att.q_sl = ld_q;
  att.out = q_proj; att.o_sb = att.q_sb; att.o_sh = hd; att.o_sl = ld_q;
  att.rule = m->rule;
  att.rule.causal = causal;
  att.precision = m->dtype;
  return att;
}

// Runs att on the query projection q_proj [rows, ld_q] (over_queries), averages the per-head
// probabilities into `weights` when asked, then the output projection of the `rows` rows.
void attend_and_project(const mha_model* m, mha_attention_args att, float* q_proj, int64_t ld_q, int64_t rows,
                        int causal, float* out, float* weights, bool average_weights) {
  const int64_t heads = m->num_heads;
  float* per_head_weights = weights && average_weights
      ? mha::scratch(mha::kScratchHeadWeights, att.batch * heads * att.l * att.s) : nullptr;
  att = over_queries(m, att, q_proj, ld_q, causal);
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

  mha_sgemm_packed(rows, q_proj, ld_q, m->out_proj.get(), out, m->embed_dim, bias_or_null(m->out_bias));
}

// The projections' flops of a forward pass.
double projection_flops(const mha_model* m, int64_t rows_q, int64_t rows_kv) {
  return 2.0 * rows_q * m->embed_dim * (2 * m->embed_dim) + 2.0 * rows_kv * (m->k_dim + m->v_dim) * m->kv_dim;
}

// How many head parts a forward pass runs in (forward_in_head_parts), 1 for none: as many as
// there are threads, or fewer so that they divide the key/value heads evenly, for a pass of at
// most kHeadPartMaxRows rows that does not return probabilities, when every part starts on a
// panel boundary of the packed weights (columns of q, k and v; depths of the output's). A pass
// too small for the pool (mha::may_run_in_parallel) runs on the caller anyway, and is then
// quicker as the usual few whole GEMMs.
int64_t head_parts(const mha_model* m, const mha_forward_args* a, int64_t rows_q, int64_t rows_kv) {
  if (a->weights || rows_q > mha::kHeadPartMaxRows || rows_kv > mha::kHeadPartMaxRows ||
      !mha::may_run_in_parallel(projection_flops(m, rows_q, rows_kv)))
    return 1;
  int64_t parts = std::min<int64_t>(mha::num_threads(), m->num_kv_heads);
  while (parts > 1 && m->num_kv_heads % parts) --parts;
  if (parts < 2) return 1;
  const int64_t q_width = m->embed_dim / parts, kv_width = m->kv_dim / parts;
  const bool aligned = q_width % mha_packed_b_steps(m->q_proj.get()).column == 0 &&
                       kv_width % mha_packed_b_steps(m->k_proj.get()).column == 0 &&
                       kv_width % mha_packed_b_steps(m->v_proj.get()).column == 0 &&
                       q_width % mha_packed_b_steps(m->out_proj.get()).depth == 0;
  return aligned ? parts : 1;
}

// A forward pass as one job of `parts` parts of the heads, about one per thread: a part
// projects the q, k and v columns of its own heads, rotates and attends them, and multiplies
// its context by its own rows of the output weight into a partial output (the first part's
// into `out`, with the bias), which the caller adds up at the end. A thread so reads back only
// what it wrote itself. The other way (each GEMM split by columns over the threads, attention
// on one) makes every thread read q, k, v and context rows that another core has just written;
// with few rows there is little arithmetic per row to hide moving them between the caches.
void forward_in_head_parts(const mha_model* m, const mha_forward_args* a, int64_t parts,
                           const std::vector<int64_t>& q_rows, const std::vector<int64_t>& kv_rows,
                           const std::vector<int64_t>& q_offset, const std::vector<int64_t>& k_offset) {
  const int64_t e = m->embed_dim, hd = m->head_dim, rows_q = q_rows.back(), rows_kv = kv_rows.back();
  const int64_t heads = m->num_heads / parts, kv_heads = m->num_kv_heads / parts;
  const int64_t qw = heads * hd, kw = kv_heads * hd;
  const int64_t qkv_floats = rows_q * qw + 2 * rows_kv * kw, part_floats = qkv_floats + rows_q * e;
  float* scratch = mha::scratch(mha::kScratchProjections, parts * part_floats);  // per part: q, k, v, partial output
  auto partial = [&](int64_t p) { return scratch + p * part_floats + qkv_floats; };
  auto bias_at = [](const std::vector<float>& bias, int64_t at) { return bias.empty() ? nullptr : bias.data() + at; };
  mha_attention_args shared = {};
  shared.batch = a->batch; shared.l = a->l; shared.s = a->s;
  shared.q_rows = a->q_rows;
  shared.kv_rows = a->kv_rows;
  shared.key_padding = a->key_padding;
  mha::parallel_for(parts, projection_flops(m, rows_q, rows_kv), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* q = scratch + p * part_floats;
      float* k = q + rows_q * qw;
      float* v = k + rows_kv * kw;
      float* out = p == 0 ? a->out : partial(p);
      const int64_t q0 = p * qw, k0 = p * kw;
      mha_sgemm_packed_range(rows_q, a->query, e, m->q_proj.get(), {0, e, q0, q0 + qw}, q, qw, bias_at(m->q_bias, q0));
      mha_sgemm_packed_range(rows_kv, a->key, m->k_dim, m->k_proj.get(), {0, m->k_dim, k0, k0 + kw}, k, kw,
                             bias_at(m->k_bias, k0));
      mha_sgemm_packed_range(rows_kv, a->value, m->v_dim, m->v_proj.get(), {0, m->v_dim, k0, k0 + kw}, v, kw,
                             bias_at(m->v_bias, k0));
      rotate(m, q, qw, heads, q_rows, q_offset);
      rotate(m, k, kw, kv_heads, kv_rows, k_offset);
      mha_attention_args att = shared;
      att.k = k; att.k_sb = a->s * kw; att.k_sh = hd; att.k_ss = kw;
      att.v = v; att.v_sb = a->s * kw; att.v_sh = hd; att.v_ss = kw;
      att.attn_mask = a->attn_mask;
      if (att.attn_mask.data) {  // the part's first head
        const int64_t bytes = att.attn_mask.kind == MHA_MASK_ADDITIVE ? sizeof(float) : sizeof(uint8_t);
        att.attn_mask.data = static_cast<const char*>(att.attn_mask.data) + p * heads * att.attn_mask.stride_h * bytes;
      }
      att = over_queries(m, att, q, qw, a->causal);
      att.heads = heads; att.kv_heads = kv_heads;
      if (att.rule.alibi) att.rule.alibi += p * heads;
      mha_attention(&att);
      mha_sgemm_packed_range(rows_q, q, qw, m->out_proj.get(), {q0, q0 + qw, 0, e}, out, e,
                             p == 0 ? bias_or_null(m->out_bias) : nullptr);
    }
  });
  for (int64_t p = 1; p < parts; ++p) {
    const float* part = partial(p);
    for (int64_t i = 0; i < rows_q * e; ++i) a->out[i] += part[i];
  }
}

}  // namespace

void mha_model_forward(const mha_model* m, const mha_forward_args* a) {
  const int64_t e = m->embed_dim, kv = m->kv_dim;
  const std::vector<int64_t> q_rows = row_offsets(a->q_rows, a->batch, a->l);
  const std::vector<int64_t> kv_rows = row_offsets(a->kv_rows, a->batch, a->s);
  const int64_t rows_q = q_rows.back(), rows_kv = kv_rows.back();
  // Rotary positions: query i of an entry with l_b queries and s_b keys is at i + s_b - l_b, key j at j.
  std::vector<int64_t> q_offset(a->batch), k_offset(a->batch, 0);
  for (int64_t b = 0; b < a->batch; ++b)
    q_offset[b] = (kv_rows[b + 1] - kv_rows[b]) - (q_rows[b + 1] - q_rows[b]);
  const int64_t parts = head_parts(m, a, rows_q, rows_kv);
  if (parts > 1) return forward_in_head_parts(m, a, parts, q_rows, kv_rows, q_offset, k_offset);

  // Projections: q, k, v as [rows, ld] matrices whose head h is the column block h*hd.
  float* q;
  float *k, *v;
  int64_t ld_q, ld_kv;
  if (a->self_attention && m->qkv_proj) {
    const int64_t width = e + 2 * kv;
    q = mha::scratch(mha::kScratchProjections, rows_q * width);
    mha_sgemm_packed(rows_q, a->query, e, m->qkv_proj.get(), q, width, bias_or_null(m->qkv_bias));
    k = q + e;
    v = k + kv;
    ld_q = ld_kv = width;
  } else {
    q = mha::scratch(mha::kScratchProjections, rows_q * e + 2 * rows_kv * kv);
    k = q + rows_q * e;
    v = k + rows_kv * kv;
    mha_sgemm_packed(rows_q, a->query, e, m->q_proj.get(), q, e, bias_or_null(m->q_bias));
    mha_sgemm_packed(rows_kv, a->key, m->k_dim, m->k_proj.get(), k, kv, bias_or_null(m->k_bias));
    mha_sgemm_packed(rows_kv, a->value, m->v_dim, m->v_proj.get(), v, kv, bias_or_null(m->v_bias));
    ld_q = e;
    ld_kv = kv;
  }
  rotate(m, q, ld_q, m->num_heads, q_rows, q_offset);
  rotate(m, k, ld_kv, m->num_kv_heads, kv_rows, k_offset);

  mha_attention_args att = {};
  att.batch = a->batch; att.l = a->l; att.s = a->s;
  att.k = k; att.k_sb = a->s * ld_kv; att.k_sh = m->head_dim; att.k_ss = ld_kv;
  att.v = v; att.v_sb = a->s * ld_kv; att.v_sh = m->head_dim; att.v_ss = ld_kv;
  att.q_rows = a->q_rows;
  att.kv_rows = a->kv_rows;
  att.attn_mask = a->attn_mask;
  att.key_padding = a->key_padding;
  attend_and_project(m, att, q, ld_q, rows_q, a->causal, a->out, a->weights, a->average_weights);
}

void mha_model_append_kv(const mha_model* m, mha_kv_cache* cache, const int64_t* starts, int64_t t,
                         const float* key, const float* value, const uint8_t* padding) {
  const int64_t kv = m->kv_dim, batch = cache->batch, rows = batch * t;
  float* pk = mha::scratch(mha::kScratchProjections, 2 * rows * kv);
  float* pv = pk + rows * kv;
  mha_sgemm_packed(rows, key, m->k_dim, m->k_proj.get(), pk, kv, bias_or_null(m->k_bias));
  mha_sgemm_packed(rows, value, m->v_dim, m->v_proj.get(), pv, kv, bias_or_null(m->v_bias));
  const std::vector<int64_t> row = row_offsets(nullptr, batch, t);
  rotate(m, pk, kv, m->num_kv_heads, row, std::vector<int64_t>(starts, starts + batch));
  mha_kv_cache_store(cache, starts, row.data(), pk, kv, pv, kv, padding);
}

void mha_model_forward_cached(const mha_model* m, mha_kv_cache* cache, const mha_cached_forward_args* a) {
  const int64_t e = m->embed_dim, kv = m->kv_dim, batch = a->batch;
  const std::vector<int64_t> rows = row_offsets(a->q_rows, batch, a->l);
  const int64_t rows_q = rows.back();
  std::vector<int64_t> lens(batch), q_offset(batch);  // keys each sequence attends to; its first query's position
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t count = rows[b + 1] - rows[b];
    lens[b] = a->starts[b] + (a->append ? count : 0);
    q_offset[b] = lens[b] - count;
  }
  float* proj;
  int64_t ld_q;
  if (a->append) {  // the new tokens' Q, K and V in one GEMM; K and V go to the cache
    ld_q = e + 2 * kv;
    proj = mha::scratch(mha::kScratchProjections, rows_q * ld_q);
    mha_sgemm_packed(rows_q, a->query, e, m->qkv_proj.get(), proj, ld_q, bias_or_null(m->qkv_bias));
    rotate(m, proj, ld_q, m->num_heads, rows, q_offset);
    rotate(m, proj + e, ld_q, m->num_kv_heads, rows, q_offset);
    mha_kv_cache_store(cache, a->starts, rows.data(), proj + e, ld_q, proj + e + kv, ld_q, a->new_padding);
  } else {
    ld_q = e;
    proj = mha::scratch(mha::kScratchProjections, rows_q * e);
    mha_sgemm_packed(rows_q, a->query, e, m->q_proj.get(), proj, e, bias_or_null(m->q_bias));
    rotate(m, proj, ld_q, m->num_heads, rows, q_offset);
  }

  const int64_t cap = cache->capacity, hd = m->head_dim;
  mha_attention_args att = {};
  att.batch = batch; att.l = a->l; att.s = a->s_max;
  att.k = cache->k; att.k_sb = m->num_kv_heads * cap * hd; att.k_sh = cap * hd; att.k_ss = hd;
  att.v = cache->v; att.v_sb = att.k_sb; att.v_sh = att.k_sh; att.v_ss = hd;
  att.kv_dtype = cache->dtype;
  att.q_rows = a->q_rows;
  att.kv_lens = lens.data();
  att.attn_mask = a->attn_mask;
  att.key_padding = {cache->padding, MHA_MASK_BOOL, cap, 0, 0, 1};
  attend_and_project(m, att, proj, ld_q, rows_q, a->causal, a->out, a->weights, a->average_weights);
}
