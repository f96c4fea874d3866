// Scaled dot-product attention over strided q/k/v with every mask kind.
//  - weights == NULL: fused (FlashAttention-style). Work items are (batch, head, a pair of
//    blocks of kBlockRows queries); each block streams key tiles of kTileKeys through an
//    online softmax (running max and sum, rescaled accumulator) and accumulates P.V, so
//    no L x S matrix exists. Causal tiles past the diagonal are never visited. With a
//    single query block and too few (batch, head) items for the pool (decode), the keys
//    are split too and the partial (max, sum, acc) are combined afterwards. Key tiles past
//    the last key the key padding mask leaves open are skipped too.
//  - weights != NULL: scores of a query block are written to weights, turned into
//    probabilities by the masked softmax row kernels, then out = P.V.
// When there are enough query rows to amortize it, K is packed once per (batch, head) into
// K^T tiles, and strided V rows and query blocks are copied contiguous (strided rows of an
// [B, L, H*D] layout alias a few cache sets); otherwise (decode) scores are dot products
// against K in place and V is read in place. Packing goes a group of (batch, head) pairs at
// a time (about kPackBudgetBytes of packed K and V), each group packed then attended, so the
// extra memory stays small however long the sequence is.
#include "core/attention.h"

#include <math.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "core/attn_kernels.h"
#include "core/dispatch.h"
#include "core/mask_rows.h"
#include "core/scratch.h"
#include "core/threadpool.h"
#include "core/tuning.h"

namespace {

using mha::kBlockRows;
using mha::kMinSplitKeys;
using mha::kPackBudgetBytes;
using mha::kPackMinRows;
using mha::kTileKeys;

static_assert(kTileKeys % MHA_ATTN_KT_PAD == 0, "K^T tiles are whole padded rows");

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

class Attention {
 public:
  Attention(const mha_attn_kernels* k, const mha_attention_args* a) : k_(k), a_(a) {
    tiles_ = ceil_div(a->s, kTileKeys);
    FindPaddingEnds();
  }

  // Keys [0, end) hold every key visible to some query of [l0, l0 + rows) of batch entry b.
  int64_t VisibleEnd(int64_t b, int64_t l0, int64_t rows) const {
    const int64_t end = padding_end_.empty() ? a_->s : padding_end_[b];
    if (!a_->causal) return end;
    return std::max<int64_t>(0, std::min(end, l0 + rows + a_->s - a_->l));
  }

  // The query rows [l0, l0 + rows) as a (pointer, row stride): copied contiguous into
  // scratch (rows x d) when K is packed and q rows are strided.
  const float* Queries(int64_t b, int64_t h, int64_t l0, int64_t rows, float* scratch, int64_t* ldq) const {
    const mha_attention_args* a = a_;
    const float* q = a->q + b * a->q_sb + h * a->q_sh + l0 * a->q_sl;
    *ldq = a->q_sl;
    if (!kt_ || a->q_sl == a->d) return q;
    for (int64_t r = 0; r < rows; ++r) memcpy(scratch + r * a->d, q + r * a->q_sl, a->d * sizeof(float));
    *ldq = a->d;
    return scratch;
  }

  // V of (b, h) as a (pointer, row stride).
  const float* Values(int64_t b, int64_t h, int64_t* ldv) const {
    const mha_attention_args* a = a_;
    if (vp_) {
      *ldv = a->dv;
      return vp_ + (b * a->heads + h - group_begin_) * a->s * a->dv;
    }
    *ldv = a->v_ss;
    return a->v + b * a->v_sb + h * a->v_sh;
  }

  // s[r * lds + j - j0] = q[r] . k[j] for r < rows, j in [j0, j0 + n), j0 % kTileKeys == 0.
  void Scores(int64_t b, int64_t h, const float* q, int64_t ldq, int64_t rows, int64_t j0, int64_t n,
              float* s, int64_t lds) const {
    const mha_attention_args* a = a_;
    if (!kt_) {
      const float* kb = a->k + b * a->k_sb + h * a->k_sh + j0 * a->k_ss;
      for (int64_t r = 0; r < rows; ++r) k_->dots(q + r * ldq, kb, a->k_ss, n, a->d, s + r * lds);
      return;
    }
    for (int64_t t = j0 / kTileKeys; n > 0; ++t) {
      const int64_t m = std::min(n, kTileKeys);
      k_->scores(q, ldq, KtTile(b * a->heads + h, t), kTileKeys, rows, m, a->d, s, lds);
      s += m;
      n -= m;
    }
  }

  // Online softmax of query rows [l0, l0 + rows) over keys [j_begin, j_end): updates the
  // running max m, sum and accumulator acc (rows x dv).
  // qbuf: scratch of rows x d floats.
  void Stream(int64_t b, int64_t h, int64_t l0, int64_t rows, int64_t j_begin, int64_t j_end,
              mha::MaskRows& masks, float* qbuf, float* tile, float* acc, float* m, float* sum) const {
    const mha_attention_args* a = a_;
    int64_t ldq, ldv;
    const float* q = Queries(b, h, l0, rows, qbuf, &ldq);
    const float* vb = Values(b, h, &ldv);
    mha_row_masks rm;
    for (int64_t j0 = j_begin; j0 < j_end; j0 += kTileKeys) {
      const int64_t n = std::min(kTileKeys, j_end - j0);
      Scores(b, h, q, ldq, rows, j0, n, tile, kTileKeys);
      for (int64_t r = 0; r < rows; ++r) {
        float* p = tile + r * kTileKeys;
        const int64_t l = l0 + r;
        masks.Row(b, h, l, j0, n, mha::causal_limit(a->causal, l, a->l, a->s, j0, n), &rm);
        const float mx = std::max(m[r], k_->mask_max_row(p, p, n, a->scale, &rm));
        if (mx == -INFINITY) {
          memset(p, 0, n * sizeof(float));
          continue;
        }
        const float tile_sum = k_->exp_sum_row(p, n, mx);
        if (m[r] != mx) {
          const float alpha = expf(m[r] - mx);
          k_->scale_row(acc + r * a->dv, a->dv, alpha);
          sum[r] *= alpha;
          m[r] = mx;
        }
        sum[r] += tile_sum;
      }
      k_->pv(tile, kTileKeys, vb + j0 * ldv, ldv, rows, n, a->dv, acc, a->dv);
    }
  }

  // out rows = acc / sum (zeros for rows that saw no key).
  void Finish(int64_t b, int64_t h, int64_t l0, int64_t rows, const float* acc,
              const float* sum) const {
    const mha_attention_args* a = a_;
    for (int64_t r = 0; r < rows; ++r) {
      float* o = a->out + b * a->o_sb + h * a->o_sh + (l0 + r) * a->o_sl;
      const float inv = sum[r] > 0 ? 1.0f / sum[r] : 0.0f;
      for (int64_t c = 0; c < a->dv; ++c) o[c] = acc[r * a->dv + c] * inv;
    }
  }

  void Fused() {
    const mha_attention_args* a = a_;
    const int64_t blocks = ceil_div(a->l, kBlockRows);
    ForEachHeadGroup([&](int64_t bh0, int64_t bh1) {
      // A work item is query blocks p and blocks-1-p of one (batch, head): under causal their
      // key counts add up to the same for every p, so items cost alike, and consecutive items
      // share a head, whose K and V then stay in the thread's L2 cache.
      const int64_t bhs = bh1 - bh0, pairs = (blocks + 1) / 2, items = bhs * pairs;
      const int64_t splits = blocks == 1 ? KeySplits(items) : 1;
      if (splits > 1) return FusedSplit(bh0, bh1, splits);
      mha::parallel_for(items, Flops(bhs), [&](int64_t begin, int64_t end) {
        const int64_t max_rows = std::min(a->l, kBlockRows);
        float* tile = Work(max_rows * (kTileKeys + a->d + a->dv + 2));
        float* qbuf = tile + max_rows * kTileKeys;
        float* acc = qbuf + max_rows * a->d;
        float* m = acc + max_rows * a->dv;
        float* sum = m + max_rows;
        mha::MaskRows masks(&a->attn_mask, &a->key_padding, kTileKeys);
        auto query_block = [&](int64_t b, int64_t h, int64_t block) {
          const int64_t l0 = block * kBlockRows, rows = std::min(kBlockRows, a->l - l0);
          std::fill(acc, acc + rows * a->dv, 0.0f);
          std::fill(m, m + rows, -INFINITY);
          std::fill(sum, sum + rows, 0.0f);
          Stream(b, h, l0, rows, 0, VisibleEnd(b, l0, rows), masks, qbuf, tile, acc, m, sum);
          Finish(b, h, l0, rows, acc, sum);
        };
        for (int64_t it = begin; it < end; ++it) {
          const int64_t bh = bh0 + it / pairs, p = it % pairs, b = bh / a->heads, h = bh % a->heads;
          query_block(b, h, blocks - 1 - p);
          if (p != blocks - 1 - p) query_block(b, h, p);  // (the middle block of an odd count runs once)
        }
      });
    });
  }

  // Probabilities into weights, then out = P.V (the path that materializes L x S).
  void WithWeights() {
    const mha_attention_args* a = a_;
    const int64_t L = a->l, S = a->s, blocks = ceil_div(L, kBlockRows);
    ForEachHeadGroup([&](int64_t bh0, int64_t bh1) {
      mha::parallel_for((bh1 - bh0) * blocks, Flops(bh1 - bh0), [&](int64_t begin, int64_t end) {
        mha::MaskRows masks(&a->attn_mask, &a->key_padding, S);
        mha_row_masks rm;
        float* qbuf = Work(std::min(L, kBlockRows) * a->d);
        for (int64_t it = begin; it < end; ++it) {
          const int64_t bh = bh0 + it / blocks, l0 = (it % blocks) * kBlockRows;
          const int64_t b = bh / a->heads, h = bh % a->heads, rows = std::min(kBlockRows, L - l0);
          const int64_t visible = VisibleEnd(b, l0, rows);
          float* w = a->weights + (bh * L + l0) * S;
          int64_t ldq, ldv;
          const float* q = Queries(b, h, l0, rows, qbuf, &ldq);
          Scores(b, h, q, ldq, rows, 0, visible, w, S);
          for (int64_t r = 0; r < rows; ++r) {
            float* p = w + r * S;
            const int64_t l = l0 + r;
            memset(p + visible, 0, (S - visible) * sizeof(float));
            masks.Row(b, h, l, 0, visible, mha::causal_limit(a->causal, l, L, S, 0, visible), &rm);
            const float mx = k_->mask_max_row(p, p, visible, a->scale, &rm);
            if (mx == -INFINITY) memset(p, 0, visible * sizeof(float));
            else k_->scale_row(p, visible, 1.0f / k_->exp_sum_row(p, visible, mx));
          }
          float* o = a->out + b * a->o_sb + h * a->o_sh + l0 * a->o_sl;
          for (int64_t r = 0; r < rows; ++r) memset(o + r * a->o_sl, 0, a->dv * sizeof(float));
          const float* vb = Values(b, h, &ldv);
          k_->pv(w, S, vb, ldv, rows, visible, a->dv, o, a->o_sl);
        }
      });
    });
  }

 private:
  // One query block (l <= kBlockRows) per (batch, head) of [bh0, bh1), keys split into
  // `splits` ranges streamed in parallel; partial (max, sum, acc) are then merged per
  // (batch, head).
  void FusedSplit(int64_t bh0, int64_t bh1, int64_t splits) const {
    const mha_attention_args* a = a_;
    const int64_t L = a->l, dv = a->dv, bhs = bh1 - bh0;
    const int64_t part = (2 + dv) * L;  // m[L], sum[L], acc[L * dv]
    std::vector<float> partial(bhs * splits * part);
    mha::parallel_for(bhs * splits, Flops(bhs), [&](int64_t begin, int64_t end) {
      float* tile = Work(L * (kTileKeys + a->d));
      float* qbuf = tile + L * kTileKeys;
      mha::MaskRows masks(&a->attn_mask, &a->key_padding, kTileKeys);
      for (int64_t it = begin; it < end; ++it) {
        const int64_t bh = bh0 + it / splits, sp = it % splits;
        const int64_t visible = VisibleEnd(bh / a->heads, 0, L), step = ceil_div(ceil_div(visible, splits), kTileKeys) * kTileKeys;
        const int64_t j0 = std::min(visible, sp * step), j1 = std::min(visible, j0 + step);
        float* m = partial.data() + it * part;
        float* sum = m + L;
        float* acc = sum + L;
        std::fill(m, m + L, -INFINITY);
        std::fill(sum, sum + L + L * dv, 0.0f);
        Stream(bh / a->heads, bh % a->heads, 0, L, j0, j1, masks, qbuf, tile, acc, m, sum);
      }
    });
    mha::parallel_for(bhs, mha::kMergeFlopsPerFloat * bhs * splits * part, [&](int64_t begin, int64_t end) {
      std::vector<float> acc(L * dv), sum(L);
      for (int64_t i = begin; i < end; ++i) {
        const float* p0 = partial.data() + i * splits * part;
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t r = 0; r < L; ++r) {
          float mx = -INFINITY;
          for (int64_t sp = 0; sp < splits; ++sp) mx = std::max(mx, p0[sp * part + r]);
          sum[r] = 0;
          if (mx == -INFINITY) continue;
          for (int64_t sp = 0; sp < splits; ++sp) {
            const float* p = p0 + sp * part;
            if (p[r] == -INFINITY) continue;
            const float w = expf(p[r] - mx);
            sum[r] += w * p[L + r];
            const float* pacc = p + 2 * L + r * dv;
            for (int64_t c = 0; c < dv; ++c) acc[r * dv + c] += w * pacc[c];
          }
        }
        const int64_t bh = bh0 + i;
        Finish(bh / a->heads, bh % a->heads, 0, L, acc.data(), sum.data());
      }
    });
  }

  // Runs fn(bh0, bh1) over consecutive groups of (batch, head) pairs. With enough query rows
  // to pack (kPackMinRows), each group's K^T tiles and V rows are packed first; the groups
  // are sized so that this takes about kPackBudgetBytes. Without packing: one group.
  template <typename Fn>
  void ForEachHeadGroup(Fn fn) {
    const mha_attention_args* a = a_;
    const int64_t bhs = a->batch * a->heads;
    if (a->l < kPackMinRows) return fn(0, bhs);
    const bool copy_v = a->v_ss != a->dv;
    const int64_t per_head = (tiles_ * kTileKeys * a->d + (copy_v ? a->s * a->dv : 0)) * int64_t(sizeof(float));
    const int64_t groups = std::min(bhs, std::max<int64_t>(1, ceil_div(bhs * per_head, kPackBudgetBytes)));
    const int64_t size = ceil_div(bhs, groups);
    kt_ = mha::scratch(mha::kScratchKeysPacked, size * tiles_ * a->d * kTileKeys);
    vp_ = copy_v ? mha::scratch(mha::kScratchValuesPacked, size * a->s * a->dv) : nullptr;
    for (int64_t bh0 = 0; bh0 < bhs; bh0 += size) {
      const int64_t bh1 = std::min(bhs, bh0 + size);
      Pack(bh0, bh1);
      fn(bh0, bh1);
    }
  }

  // The calling thread's work rows (score tile, query copy, accumulators) for one work item:
  // kept from call to call (core/scratch.h), so items claimed one at a time allocate nothing.
  static float* Work(int64_t floats) { return mha::scratch(mha::kScratchAttentionRows, floats); }

  // About the flops of attention (Q.K^T and P.V) over `bhs` (batch, head) pairs, for the
  // pool's inline rule.
  double Flops(int64_t bhs) const {
    const mha_attention_args* a = a_;
    return 2.0 * bhs * a->l * a->s * (a->d + a->dv);
  }


  // Splits of the keys per (batch, head) so that a single-block problem still gives the
  // pool about kItemsPerThread work items per thread, each at least kMinSplitKeys long.
  int64_t KeySplits(int64_t items) const {
    const int64_t want = mha::kItemsPerThread * mha::num_threads();
    if (items >= want) return 1;
    return std::max<int64_t>(1, std::min(ceil_div(want, items), a_->s / kMinSplitKeys));
  }

  // padding_end_[b] = 1 + the last key the key padding mask leaves open in batch entry b
  // (keys past it are blocked for every query, so their tiles are skipped).
  void FindPaddingEnds() {
    const mha_mask& m = a_->key_padding;
    if (m.kind == MHA_MASK_NONE) return;
    padding_end_.resize(a_->batch);
    for (int64_t b = 0; b < a_->batch; ++b) {
      int64_t end = a_->s;
      for (; end > 0; --end) {
        const int64_t i = b * m.stride_b + (end - 1) * m.stride_s;
        const bool blocked = m.kind == MHA_MASK_BOOL ? static_cast<const uint8_t*>(m.data)[i] != 0
                                                     : static_cast<const float*>(m.data)[i] == -INFINITY;
        if (!blocked) break;
      }
      padding_end_[b] = end;
    }
  }

  const float* KtTile(int64_t bh, int64_t t) const {
    return kt_ + ((bh - group_begin_) * tiles_ + t) * a_->d * kTileKeys;
  }

  // For bh in [bh0, bh1) (b = bh / heads, h = bh % heads), relative to the group:
  // kt_[bh - bh0][tile][d][kTileKeys] = k[b, h, tile * kTileKeys + j, d], zero past the last
  // key; vp_[bh - bh0][s][dv] = v[b, h, s, :] when v rows are strided.
  void Pack(int64_t bh0, int64_t bh1) {
    const mha_attention_args* a = a_;
    const int64_t d = a->d, dv = a->dv, S = a->s;
    group_begin_ = bh0;
    mha::parallel_for(bh1 - bh0, mha::kCopyFlops * (bh1 - bh0) * S * (d + dv), [&](int64_t begin, int64_t end) {
      for (int64_t g = begin; g < end; ++g) {
        const int64_t b = (bh0 + g) / a->heads, h = (bh0 + g) % a->heads;
        if (vp_)
          for (int64_t j = 0; j < S; ++j)
            memcpy(vp_ + (g * S + j) * dv, a->v + b * a->v_sb + h * a->v_sh + j * a->v_ss, dv * sizeof(float));
        const float* kb = a->k + b * a->k_sb + h * a->k_sh;
        for (int64_t t = 0; t < tiles_; ++t) {
          float* dst = kt_ + (g * tiles_ + t) * d * kTileKeys;
          const int64_t n = std::min(kTileKeys, a->s - t * kTileKeys);
          (k_->pack_kt ? k_->pack_kt : PackKtPortable)(dst, kTileKeys, kb + t * kTileKeys * a->k_ss, a->k_ss, n, d);
        }
      }
    });
  }

  // The pack_kt contract of core/attn_kernels.h, for kernel sets without their own: a cache
  // line of keys at a time, so each write is one line and the source rows stay in L1.
  static void PackKtPortable(float* kt, int64_t ldkt, const float* k, int64_t ldk, int64_t n, int64_t d) {
    constexpr int64_t kKeys = mha::kCacheLineBytes / sizeof(float);
    for (int64_t j0 = 0; j0 < n; j0 += kKeys) {
      const int64_t keys = std::min<int64_t>(kKeys, n - j0);
      for (int64_t c = 0; c < d; ++c)
        for (int64_t j = 0; j < keys; ++j) kt[c * ldkt + j0 + j] = k[(j0 + j) * ldk + c];
    }
    for (int64_t c = 0; c < d && n < ldkt; ++c) memset(kt + c * ldkt + n, 0, (ldkt - n) * sizeof(float));
  }

  const mha_attn_kernels* k_;
  const mha_attention_args* a_;
  int64_t tiles_;
  float* kt_ = nullptr;  // per-thread scratch (core/scratch.h) for one group, or null when not packed
  float* vp_ = nullptr;
  int64_t group_begin_ = 0;  // the first (batch, head) pair of the packed group
  std::vector<int64_t> padding_end_;
};

}  // namespace

void mha_attention_with(const mha_attn_kernels* k, const mha_attention_args* args) {
  if (args->batch <= 0 || args->heads <= 0 || args->l <= 0 || args->dv <= 0) return;
  if (args->s <= 0) {  // no key at all: every row is fully blocked
    for (int64_t b = 0; b < args->batch; ++b)
      for (int64_t h = 0; h < args->heads; ++h)
        for (int64_t l = 0; l < args->l; ++l)
          memset(args->out + b * args->o_sb + h * args->o_sh + l * args->o_sl, 0, args->dv * sizeof(float));
    return;
  }
  Attention attention(k, args);
  if (args->weights) attention.WithWeights();
  else attention.Fused();
}

void mha_attention(const mha_attention_args* args) { mha_attention_with(mha_kernels()->attn, args); }
