// Bootstrap scalar attention: one (b, h, l) query row per task — scores q.k^T into a row
// buffer, the masked softmax of softmax_row.h, then the probability-weighted sum of v.
#include "core/attention.h"

#include <vector>

#include "core/softmax_row.h"
#include "core/threadpool.h"

void mha_attention(const mha_attention_args* a) {
  const mha_attention_args args = *a;
  mha::parallel_for(args.batch * args.heads * args.l, [&args](int64_t begin, int64_t end) {
    std::vector<float> p(args.s);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % args.l, h = (r / args.l) % args.heads, b = r / (args.l * args.heads);
      const float* q = args.q + b * args.q_sb + h * args.q_sh + i * args.q_sl;
      const float* k = args.k + b * args.k_sb + h * args.k_sh;
      const float* v = args.v + b * args.v_sb + h * args.v_sh;
      float* out = args.out + b * args.o_sb + h * args.o_sh + i * args.o_sl;
      for (int64_t j = 0; j < args.s; ++j) {
        const float* kj = k + j * args.k_ss;
        float dot = 0.0f;
        for (int64_t t = 0; t < args.d; ++t) dot += q[t] * kj[t];
        p[j] = args.scale * dot;
      }
      mha::masked_softmax_row(p.data(), b, h, i, args.l, args.s, args.attn_mask, args.key_padding, args.causal);
      if (args.weights) {
        float* w = args.weights + r * args.s;
        for (int64_t j = 0; j < args.s; ++j) w[j] = p[j];
      }
      for (int64_t t = 0; t < args.dv; ++t) out[t] = 0.0f;
      for (int64_t j = 0; j < args.s; ++j) {
        if (p[j] == 0.0f) continue;
        const float* vj = v + j * args.v_ss;
        for (int64_t t = 0; t < args.dv; ++t) out[t] += p[j] * vj[t];
      }
    }
  });
}
