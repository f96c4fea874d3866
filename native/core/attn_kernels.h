// Attention sub-table of the dispatch table: the per-ISA micro-kernels behind the fused
// masked softmax (softmax.cc) and the fused / unfused attention (attention.cc).
// Each ISA defines `mha_attn_kernels_<isa>` in native/kernels/<isa>/ (the SIMD sets from the
// shared templates of native/kernels/simd/); the core code is ISA-agnostic and only calls
// through this table.
#pragma once
#include <stdint.h>
#include "core/attention.h"
#include "core/gemm_kernels.h"
#include "core/softmax.h"
#include "core/storage.h"

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

// How dots, pv and widen_row read a K or V operand: the storage of its elements (16-bit ones
// widened to float32 exactly: float16 by the hardware conversion, bfloat16 by a 16-bit shift),
// and, when round_bf16 is nonzero, each widened value then rounded to the nearest bfloat16
// (ties to even, NaN stays NaN) as the bfloat16 precision's operands are. {FLOAT32, 0} is a
// plain float32 read.
typedef struct mha_kv_format {
  mha_storage storage;
  int round_bf16;
} mha_kv_format;

typedef struct mha_attn_bf16_kernels mha_attn_bf16_kernels;

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
  // s[r * lds + j] = q[r * ldq + :d] . k[j * ldk + :d] for r < rows, j < n (a few queries,
  // e.g. a group's heads at one position, against unpacked keys: decode), k read as f says
  // (ldk in its elements).
  void (*dots)(const float* q, int64_t ldq, int64_t rows, const void* k, int64_t ldk, int64_t n,
               int64_t d, float* s, int64_t lds, mha_kv_format f);
  // acc[r * ldacc + c] += sum_{j < n} p[r * ldp + j] * v[j * ldv + c] for r < rows, c < dv, v
  // read as f says (ldv in its elements).
  void (*pv)(const float* p, int64_t ldp, const void* v, int64_t ldv, int64_t rows, int64_t n,
             int64_t dv, float* acc, int64_t ldacc, mha_kv_format f);
  // One packed K^T tile: kt[c * ldkt + j] = k[j * ldk + c] for c < d, j < n, and 0 for
  // n <= j < ldkt (n <= ldkt). Optional: NULL = the core's portable loop.
  void (*pack_kt)(float* kt, int64_t ldkt, const float* k, int64_t ldk, int64_t n, int64_t d);
  // y[i] = x[i] read as f says, for i < n (a row of K or V staged as float32 while packing; a
  // query or probability row rounded to bfloat16 values, y == x allowed).
  void (*widen_row)(const void* x, mha_kv_format f, float* y, int64_t n);
  // y[i] = x[i] stored as `to` for i < n: float16 or bfloat16 rounded to nearest, ties to
  // even (NaN stays NaN, float16 overflow becomes infinity), or float32 copied (a KV cache's
  // stores; query and probability rows for the bfloat16 products below).
  void (*narrow_row)(const float* x, mha_storage to, void* y, int64_t n);
} mha_attn_kernels;

// ---- bfloat16 products (MHA_PRECISION_BFLOAT16), on instructions that multiply bfloat16
// pairs (vdpbf16ps). The dispatch table holds them next to the bfloat16 GEMM's kernels
// (mha_kernel_table.attn_bf16); NULL: the precision is emulated, i.e. the operands are rounded
// to bfloat16 values in float32 storage (widen_row / mha_kv_format.round_bf16) and the float32
// kernels above run on them. Products of two bfloat16 values are exact in float32, so both
// ways agree up to the order of the float32 sums (and the instructions' taking bfloat16
// denormals as zero). The pair layouts pay only where K is packed (several query rows per
// key): decode reads K and V in place and takes the float32 route, rounding as it loads.
// Operands (mha_bf16, core/gemm_kernels.h), in pair layouts: the depth runs in pairs, a pair
// of consecutive depths being one 32-bit unit (depth 2i in the low half). Depths are padded
// to an even count with zero in both operands.
//   queries Q / probabilities P: row r at q + r * ldq, depth c at element c (plain rows);
//   packed K^T (depth = d): pair row i (depths 2i, 2i + 1) at kt + i * ldkt, key j's pair at
//     elements 2j, 2j + 1 of it (the float32 K^T tile's layout with a pair in each float);
//   packed V (depth = keys): pair row i (keys 2i, 2i + 1) at v + i * ldv, column c's pair at
//     elements 2c, 2c + 1.
// ldq, ldkt, ldv, ldp, and the depths d and n, count bfloat16 elements.
struct mha_attn_bf16_kernels {
  const char* name;  // e.g. "attn_bf16_avx512bf16_6x64"
  // s[r * lds + j] = q[r] . kt[:, j] for r < rows, j < n over an even depth d (only those n
  // columns of each pair row are read, as for the float32 scores).
  void (*scores)(const mha_bf16* q, int64_t ldq, const mha_bf16* kt, int64_t ldkt, int64_t rows,
                 int64_t n, int64_t d, float* s, int64_t lds);
  // acc[r * ldacc + c] += sum_{j < n} p[r * ldp + j] * v[j, c] for r < rows, c < dv, over an
  // even key count n.
  void (*pv)(const mha_bf16* p, int64_t ldp, const mha_bf16* v, int64_t ldv, int64_t rows,
             int64_t n, int64_t dv, float* acc, int64_t ldacc);
  // y[i] = x[i] rounded to bfloat16 (to nearest, ties to even; NaN stays NaN; denormals may be
  // taken as zero, as the instructions do) for i < n.
  void (*round_row)(const float* x, mha_bf16* y, int64_t n);
  // exp_sum_row's probabilities as a pair row: p[lead + j] = exp(y[j] - max) rounded to
  // bfloat16 for j < n (lead 0 or 1: p[0] = 0 first), then a zero when lead + n is odd; returns
  // the sum of the unrounded values (the same values exp_sum_row gives; y is left as it is).
  float (*exp_sum_pairs)(const float* y, int64_t n, float max, int64_t lead, mha_bf16* p);
};
#if defined(MHA_HAVE_AVX512BF16)
extern const mha_attn_bf16_kernels mha_attn_bf16_kernels_avx512bf16;
#endif

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

// The entry points of softmax.h / attention.h with an explicit kernel set (tests force each);
// bf16: the bfloat16 products, or NULL to emulate them.
void mha_masked_softmax_with(const mha_attn_kernels* k, const mha_softmax_args* args);
void mha_attention_with(const mha_attn_kernels* k, const mha_attn_bf16_kernels* bf16,
                        const mha_attention_args* args);
