// Bootstrap scalar masked softmax: one (b, h, l) row per task (see softmax_row.h).
#include "core/softmax.h"

#include "core/softmax_row.h"
#include "core/threadpool.h"

void mha_masked_softmax(const mha_softmax_args* a) {
  const mha_softmax_args args = *a;
  mha::parallel_for(args.batch * args.heads * args.l, [&args](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % args.l, h = (r / args.l) % args.heads, b = r / (args.l * args.heads);
      const float* x = args.x + r * args.s;
      float* out = args.out + r * args.s;
      for (int64_t j = 0; j < args.s; ++j) out[j] = args.scale * x[j];
      mha::masked_softmax_row(out, b, h, i, args.l, args.s, args.attn_mask, args.key_padding, args.causal);
    }
  });
}
