// Attention sub-table of the dispatch table: the per-ISA micro-kernels behind the fused
// masked softmax (softmax.cc) and the fused / unfused attention (attention.cc).
// Each ISA defines `mha_attn_kernels_<isa>` in native/kernels/<isa>/ (the SIMD sets from the
// shared templates of native/kernels/simd/); the core code is ISA-agnostic and only calls
// through this table.
#pragma once
#include <stdint.h>
#include "core/attention.h"
#include "core/softmax.h"

// How one score row over keys [j0, j0 + n) becomes logits (core/score_rule.h), resolved for
// the row kernels: its masks as contiguous rows (index 0: attention mask, 1: key padding mask;
// NULL = absent), the range its position leaves visible, and the row's softcap and ALiBi.
typedef struct mha_row_masks {
  const float* add[2];    // additive, added after softcap and ALiBi (-inf = blocked)
  const uint8_t* blk[2];  // boolean, nonzero = blocked
  int64_t first, limit;   // entries j < first or j >= limit are blocked (causal, window, row end)
  float softcap;          // > 0: y = softcap * tanh(y / softcap) after scaling
  float alibi_slope;      // y -= alibi_slope * |alibi_pos - j| (0: no ALiBi)
  float alibi_pos;        // the query's position minus that of key j0
} mha_row_masks;

// Rows of a packed K^T tile (kt[d * ldkt + j]) are a multiple of this many keys wide, zero past
// the last key, so that every row starts on a cache line.
#define MHA_ATTN_KT_PAD 32

typedef struct mha_attn_kernels {
  // y[j] = the logit of score x[j] under the row's rule: scale, softcap, ALiBi, + add[0][j] +
  // add[1][j], or -inf where blocked; returns max_j y[j] (-inf when every entry is blocked).
  // y may equal x.
  float (*mask_max_row)(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m);
  // y[j] = exp(y[j] - max) in place (exactly 0 where y[j] = -inf); returns the sum. max finite.
  float (*exp_sum_row)(float* y, int64_t n, float max);
  // y[j] *= a
  void (*scale_row)(float* y, int64_t n, float a);
  // s[r * lds + j] = q[r * ldq + :d] . kt[:d, j] for r < rows, j < n: only those n columns of
  // each of the d rows (stride ldkt) are read and only n columns of s written, so kt may point
  // at any column of a packed K^T tile.
  void (*scores)(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t rows,
                 int64_t n, int64_t d, float* s, int64_t lds);
  // s[j] = q[:d] . k[j * ldk + :d] for j < n (one query against unpacked keys: decode).
  void (*dots)(const float* q, const float* k, int64_t ldk, int64_t n, int64_t d, float* s);
  // acc[r * ldacc + c] += sum_{j < n} p[r * ldp + j] * v[j * ldv + c] for r < rows, c < dv.
  void (*pv)(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t rows, int64_t n,
             int64_t dv, float* acc, int64_t ldacc);
  // One packed K^T tile: kt[c * ldkt + j] = k[j * ldk + c] for c < d, j < n, and 0 for
  // n <= j < ldkt (n <= ldkt). Optional: NULL = the core's portable loop.
  void (*pack_kt)(float* kt, int64_t ldkt, const float* k, int64_t ldk, int64_t n, int64_t d);
} mha_attn_kernels;

extern const mha_attn_kernels mha_attn_kernels_scalar;
#ifdef MHA_HAVE_AVX2
extern const mha_attn_kernels mha_attn_kernels_avx2;
#endif
#ifdef MHA_HAVE_AVX512
extern const mha_attn_kernels mha_attn_kernels_avx512;
#endif
#ifdef MHA_HAVE_NEON
extern const mha_attn_kernels mha_attn_kernels_neon;
#endif

// The entry points of softmax.h / attention.h with an explicit kernel set (tests force each).
void mha_masked_softmax_with(const mha_attn_kernels* k, const mha_softmax_args* args);
void mha_attention_with(const mha_attn_kernels* k, const mha_attention_args* args);
