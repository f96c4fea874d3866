// Scaled dot-product attention over strided q/k/v with every mask kind, the score rule
// (core/score_rule.h), grouped key/value heads and ragged batches.
//  - The unit of work is a block of query rows that share one key/value head: `heads`
//    consecutive query heads of one group times up to n positions (n = kBlockRows / group
//    size), so each key/value tile is read once for the whole group.
//  - weights == NULL: fused (FlashAttention-style). Work items are (entry, key/value head, a
//    pair of position blocks); each block streams key tiles (kTileKeys keys, or
//    kInPlaceTileKeys when K and V are read in place) through an online
//    softmax (running max and sum, rescaled accumulator) and accumulates P.V, so no L x S
//    matrix exists. Only the tiles a block's positions can see are visited: tiles past the
//    causal diagonal or the last key the key padding leaves open, and tiles wholly outside a
//    sliding window, are skipped. When every entry has a single position block and there are
//    too few items for the pool (decode), the keys are split too and the partial (max, sum,
//    acc) are combined afterwards.
//  - weights != NULL: scores of a block (one head) are written to weights, turned into
//    probabilities by the masked softmax row kernels, then out = P.V.
// When there are enough query rows to amortize it, K is packed once per (entry, key/value
// head) into K^T tiles, and strided V rows and query blocks are copied contiguous (strided rows
// of an [B, L, H*D] layout alias a few cache sets); otherwise (decode) scores are dot products
// against K in place and V is read in place. Packing goes a group of (entry, key/value head)
// pairs at a time (about kPackBudgetBytes of packed K and V), each group packed then attended,
// so the extra memory stays small however long the sequences are.
// Storage and precision: packing converts K and V from their storage (core/attention_pack.h);
// unpacked, the dots and P.V kernels read 16-bit K and V in place, widening in registers (half
// the bytes per decode step). Under the bfloat16 precision, with packing and the bfloat16
// products (mha_attn_bf16_kernels), K^T and V are packed in pair layouts and each block's
// query rows and each tile's probabilities are rounded to bfloat16 rows; otherwise (emulated,
// or unpacked) the same operands are rounded to bfloat16 values in float32 (query and
// probability rows by widen_row, K and V as they are packed or read) for the float32 kernels.
// The probabilities rounded are the online softmax's unnormalized exp(s - max) of each tile;
// the row sums stay those of the unrounded values.
#include "core/attention.h"

#include <math.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "core/attention_pack.h"
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
static_assert(kTileKeys % MHA_ATTN_KT_PAD == 0, "K^T tiles are padded to MHA_ATTN_KT_PAD keys");

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The width of an entry's packed K^T tiles: kTileKeys, or for an entry of fewer keys its key
// count rounded up to MHA_ATTN_KT_PAD, so that a short sequence's one tile carries no columns
// of padding it does not need.
int64_t kt_width(int64_t s) { return std::min(kTileKeys, ceil_div(s, MHA_ATTN_KT_PAD) * MHA_ATTN_KT_PAD); }

constexpr mha_kv_format kPlain{MHA_STORAGE_FLOAT32, 0};

// One entry (sequence) of the batch: its query and key counts, and row 0 of head 0 of each
// operand.
struct Entry {
  int64_t l, s;
  const float* q;
  const void* k;  // elements of the storage
  const void* v;
  float* o;
  int64_t key_end;  // keys from here on are blocked for every query by the key padding (<= s)
};

// Query rows sharing key/value head kvh: heads h0 .. h0 + heads - 1 at positions l0 .. l0 + n - 1
// of entry b; row r is head h0 + r / n at position l0 + r % n.
struct Block {
  int64_t b, kvh, h0, heads, l0, n;
  int64_t rows() const { return heads * n; }
  int64_t head(int64_t r) const { return h0 + r / n; }
  int64_t pos(int64_t r) const { return l0 + r % n; }
};

// A work item's rows in the calling thread's scratch: the score tile, the query rows (float32,
// or bfloat16 rows in the pair layouts), the bfloat16 probability rows (pair layouts only),
// then the caller's own floats.
struct Rows {
  float* tile;
  float* q;
  mha_bf16* p;
  float* rest;
};

class Attention {
 public:
  Attention(const mha_attention_args* a, const mha_attn_kernels* k, const mha_attn_bf16_kernels* bf16)
      : k_(k), a_(a) {
    group_ = a->heads / a->kv_heads;
    round_ = a->precision == MHA_PRECISION_BFLOAT16;
    kv_format_ = {a->kv_dtype, round_};
    entries_.resize(a->batch);
    for (int64_t b = 0; b < a->batch; ++b) {
      Entry& e = entries_[b];
      e.l = a->q_rows ? a->q_rows[b + 1] - a->q_rows[b] : a->l;
      e.s = a->kv_rows ? a->kv_rows[b + 1] - a->kv_rows[b] : a->kv_lens ? a->kv_lens[b] : a->s;
      e.q = a->q + (a->q_rows ? a->q_rows[b] * a->q_sl : b * a->q_sb);
      e.o = a->out + (a->q_rows ? a->q_rows[b] * a->o_sl : b * a->o_sb);
      e.k = Kv(a->k, a->kv_rows ? a->kv_rows[b] * a->k_ss : b * a->k_sb);
      e.v = Kv(a->v, a->kv_rows ? a->kv_rows[b] * a->v_ss : b * a->v_sb);
      e.key_end = PaddingEnd(b, e.s);
      max_l_ = std::max(max_l_, e.l);
      flops_ += a->heads * e.l * (2.0 * e.s * (a->d + a->dv) + mha::kSoftmaxEntryFlops * e.s +
                                  mha::kAttentionRowFlops * ceil_div(e.s, kTileKeys));
    }
    pack_ = max_l_ >= kPackMinRows;
    bf16_ = round_ && pack_ ? bf16 : nullptr;
    packing_ = {k, bf16_, kv_format_, a->d, a->dv};
  }

  void Fused() {
    const int64_t n = std::max<int64_t>(1, kBlockRows / group_);
    const int64_t max_rows = group_ * std::min(max_l_, n);
    int64_t max_blocks = 0;
    for (const Entry& e : entries_) max_blocks = std::max(max_blocks, ceil_div(e.l, n));
    ForEachPairGroup([&](int64_t p0, int64_t p1) {
      // An item is position blocks i and blocks-1-i of one (entry, key/value head): under causal
      // their key counts add up to about the same for every i, so items cost alike, and
      // consecutive items share K and V, which then stay in the thread's L2 cache.
      std::vector<Item> items;
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t blocks = ceil_div(entries_[p / a_->kv_heads].l, n);
        for (int64_t i = 0; i < (blocks + 1) / 2; ++i) items.push_back({p, i, blocks});
      }
      const int64_t splits = max_blocks == 1 ? KeySplits(static_cast<int64_t>(items.size())) : 1;
      if (splits > 1) return FusedSplit(p0, p1, n, max_rows, splits);
      const double flops = Flops(p0, p1);
      const double work = flops >= mha::kMinParallelAttentionFlops ? flops : 0.0;  // 0: inline
      mha::parallel_for(static_cast<int64_t>(items.size()), work, [&](int64_t begin, int64_t end) {
        const Rows w = Work(max_rows, TileKeys(), max_rows * (a_->dv + 2));
        float* acc = w.rest;
        float* m = acc + max_rows * a_->dv;
        float* sum = m + max_rows;
        mha::MaskRows masks(&a_->attn_mask, &a_->key_padding, max_rows * TileKeys());
        // Under a sliding window a block goes kWindowRows positions at a time, each part over
        // only the keys its own rows may see: the band's edges then cost each row at most
        // that many keys beyond its window.
        const int64_t part = a_->rule.window_left >= 0 ? mha::kWindowRows : n;
        auto run = [&](const Block& blk) {
          for (int64_t i = 0; i < blk.n; i += part) {
            const Block sub{blk.b, blk.kvh, blk.h0, blk.heads, blk.l0 + i, std::min(part, blk.n - i)};
            const int64_t rows = sub.rows();
            std::fill(acc, acc + rows * a_->dv, 0.0f);
            std::fill(m, m + rows, -INFINITY);
            std::fill(sum, sum + rows, 0.0f);
            int64_t j0, j1;
            VisibleKeys(sub, &j0, &j1);
            // A part has fewer rows than the score tile has room for: its keys go in wider chunks.
            Stream(sub, j0, j1, max_rows * TileKeys() / rows, masks, w, acc, m, sum);
            Finish(sub, acc, sum);
          }
        };
        for (int64_t it = begin; it < end; ++it) {
          const Item& item = items[it];
          run(BlockOf(item.pair, item.blocks - 1 - item.index, n));
          if (item.index != item.blocks - 1 - item.index) run(BlockOf(item.pair, item.index, n));
        }
      });
    });
  }

  // Probabilities into weights, then out = P.V (the path that materializes L x S).
  void WithWeights() {
    const mha_attention_args* a = a_;
    const int64_t L = a->l, S = a->s, blocks = ceil_div(L, kBlockRows);
    ForEachPairGroup([&](int64_t p0, int64_t p1) {
      const int64_t items = (p1 - p0) * group_ * blocks;
      mha::parallel_for(items, Flops(p0, p1), [&](int64_t begin, int64_t end) {
        mha::MaskRows masks(&a->attn_mask, &a->key_padding, S);
        mha_row_masks rm;
        const int64_t max_rows = std::min(L, kBlockRows);
        const Rows work = Work(max_rows, round_ ? S : 0, 0);
        for (int64_t it = begin; it < end; ++it) {
          const int64_t p = p0 + it / (group_ * blocks), g = it / blocks % group_, i = it % blocks;
          const int64_t b = p / a->kv_heads, kvh = p % a->kv_heads, h = kvh * group_ + g;
          const Entry& e = entries_[b];
          const Block blk{b, kvh, h, 1, i * kBlockRows, std::min(kBlockRows, e.l - i * kBlockRows)};
          if (blk.n <= 0) continue;
          int64_t j0, visible;
          VisibleKeys(blk, &j0, &visible);
          j0 = 0;  // the weights row is written whole: keys before the window are scored and blocked
          float* w = a->weights + ((b * a->heads + h) * L + blk.l0) * S;
          int64_t ldq;
          const void* q = Queries(blk, work, &ldq);
          Scores(blk, q, ldq, blk.n, 0, visible, w, S);
          for (int64_t r = 0; r < blk.n; ++r) {
            float* row = w + r * S;
            const int64_t l = blk.l0 + r;
            memset(row + visible, 0, (S - visible) * sizeof(float));
            masks.Row(b, h, l, 0, visible, &rm);
            mha::rule_row(a->rule, h, l + e.s - e.l, e.s, 0, visible, &rm);
            const float mx = k_->mask_max_row(row, row, visible, a->rule.scale, &rm);
            if (mx == -INFINITY) memset(row, 0, visible * sizeof(float));
            else k_->scale_row(row, visible, 1.0f / k_->exp_sum_row(row, visible, mx));
          }
          float* o = e.o + h * a->o_sh + blk.l0 * a->o_sl;
          for (int64_t r = 0; r < blk.n; ++r) memset(o + r * a->o_sl, 0, a->dv * sizeof(float));
          // P.V on the probabilities as the precision takes them (the weights stay unrounded)
          const float* probs = w;
          if (round_ && !bf16_) {
            for (int64_t r = 0; r < blk.n; ++r) k_->widen_row(w + r * S, kv_format_rounding(), work.tile + r * S, visible);
            probs = work.tile;
          }
          PV(blk, probs, S, work, blk.n, 0, visible, o, a->o_sl);
        }
      });
    });
  }

 private:
  struct Item {
    int64_t pair, index, blocks;  // (entry * kv_heads + key/value head), block pair, blocks of the entry
  };

  // Position block i of pair p (entry p / kv_heads, key/value head p % kv_heads): every head of
  // the group, up to n positions.
  Block BlockOf(int64_t p, int64_t i, int64_t n) const {
    const int64_t b = p / a_->kv_heads, kvh = p % a_->kv_heads;
    return {b, kvh, kvh * group_, group_, i * n, std::min(n, entries_[b].l - i * n)};
  }

  // The keys [*j0, *j1) a block's rows may see: the union over its positions of the rule's
  // causal and window ranges, cut at the entry's padding end.
  void VisibleKeys(const Block& blk, int64_t* j0, int64_t* j1) const {
    const Entry& e = entries_[blk.b];
    const int64_t pq0 = blk.l0 + e.s - e.l;
    int64_t first, limit_lo, first_hi, limit;
    mha_visible_keys(&a_->rule, pq0, e.s, &first, &limit_lo);
    mha_visible_keys(&a_->rule, pq0 + blk.n - 1, e.s, &first_hi, &limit);
    limit = std::min(limit, e.key_end);
    *j0 = first;
    *j1 = std::max(*j0, limit);
  }

  // The block's query rows as a (pointer, row stride): in place when they are evenly strided,
  // K is not packed and the precision takes them as they are; else copied contiguous into
  // w.q (rows x d), rounded to bfloat16 values under the bfloat16 precision, or, for the pair
  // layouts, as bfloat16 rows of an even length (the pointer then is to mha_bf16).
  const void* Queries(const Block& blk, const Rows& w, int64_t* ldq) const {
    const mha_attention_args* a = a_;
    const float* q = entries_[blk.b].q + blk.h0 * a->q_sh + blk.l0 * a->q_sl;
    auto row = [&](int64_t r) { return q + (r / blk.n) * a->q_sh + (r % blk.n) * a->q_sl; };
    if (bf16_) {
      mha_bf16* qb = reinterpret_cast<mha_bf16*>(w.q);
      *ldq = 2 * KvPair(a->d);
      for (int64_t r = 0; r < blk.rows(); ++r) packing_.RowPairs(row(r), a->d, 0, qb + r * *ldq);
      return qb;
    }
    if (!pack_ && !round_ && (blk.heads == 1 || blk.n == 1)) {
      *ldq = blk.heads == 1 ? a->q_sl : a->q_sh;
      return q;
    }
    for (int64_t r = 0; r < blk.rows(); ++r) {
      if (round_) k_->widen_row(row(r), kv_format_rounding(), w.q + r * a->d, a->d);
      else memcpy(w.q + r * a->d, row(r), a->d * sizeof(float));
    }
    *ldq = a->d;
    return w.q;
  }

  // V of (entry b, key/value head kvh) as a (pointer, row stride): packed (float32 rows, or
  // pair rows of 2 dv elements), or in place in its storage.
  const void* Values(int64_t b, int64_t kvh, int64_t* ldv) const {
    const int64_t p = b * a_->kv_heads + kvh;
    if (vp_) {
      *ldv = bf16_ ? 2 * a_->dv : a_->dv;
      return vp_ + v_offset_[p - group_begin_];
    }
    *ldv = a_->v_ss;
    return Kv(entries_[b].v, kvh * a_->v_sh);
  }

  // acc[r * ldacc + :] += p[r * ldp + :n] . V[j0 .. j0 + n) of the block's (entry, key/value
  // head), for r < rows; p as the precision takes it. In the pair layouts p's rows are
  // rounded into w.p first, from the pair that holds key j0 (a leading zero when j0 is odd).
  void PV(const Block& blk, const float* p, int64_t ldp, const Rows& w, int64_t rows, int64_t j0, int64_t n,
          float* acc, int64_t ldacc) const {
    int64_t ldv;
    const void* vb = Values(blk.b, blk.kvh, &ldv);
    if (!bf16_) {
      const mha_kv_format f = vp_ ? kPlain : kv_format_;
      return k_->pv(p, ldp, Kv(vb, j0 * ldv, f.storage), ldv, rows, n, a_->dv, acc, ldacc, f);
    }
    const int64_t lead = j0 % 2, ldpb = ldp + 2;
    for (int64_t r = 0; r < rows; ++r) packing_.RowPairs(p + r * ldp, n, lead, w.p + r * ldpb);
    PairsPV(blk, w.p, ldpb, rows, j0, 2 * KvPair(n + lead), acc, ldacc);
  }

  // The same in the pair layouts, over P's pair rows pb (ldpb apart, `depth` keys from the pair
  // that holds key j0).
  void PairsPV(const Block& blk, const mha_bf16* pb, int64_t ldpb, int64_t rows, int64_t j0, int64_t depth,
               float* acc, int64_t ldacc) const {
    int64_t ldv;
    const mha_bf16* vb = static_cast<const mha_bf16*>(Values(blk.b, blk.kvh, &ldv));
    bf16_->pv(pb, ldpb, vb + j0 / 2 * ldv, ldv, rows, depth, a_->dv, acc, ldacc);
  }

  // s[r * lds + j - j0] = q[r] . k[j] for r < rows, j in [j0, j0 + n); with K packed, one call of
  // the scores kernel per K^T tile the range touches, from the column where it starts.
  void Scores(const Block& blk, const void* q, int64_t ldq, int64_t rows, int64_t j0, int64_t n, float* s,
              int64_t lds) const {
    const mha_attention_args* a = a_;
    if (!kt_) {
      const void* kb = Kv(entries_[blk.b].k, blk.kvh * a->k_sh + j0 * a->k_ss);
      const float* qf = static_cast<const float*>(q);
      k_->dots(qf, ldq, rows, kb, a->k_ss, n, a->d, s, lds, kv_format_);
      return;
    }
    const float* kt = kt_ + kt_offset_[blk.b * a->kv_heads + blk.kvh - group_begin_];
    const int64_t width = kt_width(entries_[blk.b].s), tile = packing_.kt_tile_floats(width);
    for (int64_t j = j0, m; j < j0 + n; j += m) {
      m = std::min(kTileKeys - j % kTileKeys, j0 + n - j);
      const float* t = kt + j / kTileKeys * tile;
      if (bf16_)
        bf16_->scores(static_cast<const mha_bf16*>(q), ldq, reinterpret_cast<const mha_bf16*>(t) + 2 * (j % kTileKeys),
                      2 * width, rows, m, 2 * KvPair(a->d), s + (j - j0), lds);
      else
        k_->scores(static_cast<const float*>(q), ldq, t + j % kTileKeys, width, rows, m, a->d, s + (j - j0), lds);
    }
  }

  // Online softmax of a block's rows over keys [j_begin, j_end), `chunk` keys at a time (the
  // score tile w.tile holds rows x chunk): updates the running max m, sum and accumulator acc
  // (rows x dv).
  void Stream(const Block& blk, int64_t j_begin, int64_t j_end, int64_t chunk, mha::MaskRows& masks, const Rows& w,
              float* acc, float* m, float* sum) const {
    const mha_attention_args* a = a_;
    const Entry& e = entries_[blk.b];
    const int64_t rows = blk.rows();
    float* tile = w.tile;
    int64_t ldq;
    const void* q = Queries(blk, w, &ldq);
    mha_row_masks rm;
    for (int64_t j0 = j_begin; j0 < j_end; j0 += chunk) {
      const int64_t n = std::min(chunk, j_end - j0);
      const int64_t lead = j0 % 2, depth = 2 * KvPair(n + lead), ldpb = chunk + 2;  // pair rows of P
      Scores(blk, q, ldq, rows, j0, n, tile, chunk);
      for (int64_t r = 0; r < rows; ++r) {
        float* p = tile + r * chunk;
        const int64_t h = blk.head(r), l = blk.pos(r);
        masks.Row(blk.b, h, l, j0, n, &rm);
        mha::rule_row(a->rule, h, l + e.s - e.l, e.s, j0, n, &rm);
        const float mx = std::max(m[r], k_->mask_max_row(p, p, n, a->rule.scale, &rm));
        if (mx == -INFINITY) {
          if (bf16_) memset(w.p + r * ldpb, 0, depth * sizeof(mha_bf16));
          else memset(p, 0, n * sizeof(float));
          continue;
        }
        const float tile_sum = bf16_ ? bf16_->exp_sum_pairs(p, n, mx, lead, w.p + r * ldpb) : k_->exp_sum_row(p, n, mx);
        if (m[r] != mx) {
          const float alpha = expf(m[r] - mx);
          k_->scale_row(acc + r * a->dv, a->dv, alpha);
          sum[r] *= alpha;
          m[r] = mx;
        }
        sum[r] += tile_sum;
      }
      if (bf16_) {
        PairsPV(blk, w.p, ldpb, rows, j0, depth, acc, a->dv);
        continue;
      }
      if (round_)
        for (int64_t r = 0; r < rows; ++r) k_->widen_row(tile + r * chunk, kv_format_rounding(), tile + r * chunk, n);
      PV(blk, tile, chunk, w, rows, j0, n, acc, a->dv);
    }
  }

  // A block's output rows = acc / sum (zeros for rows that saw no key).
  void Finish(const Block& blk, const float* acc, const float* sum) const {
    const mha_attention_args* a = a_;
    const Entry& e = entries_[blk.b];
    for (int64_t r = 0; r < blk.rows(); ++r) {
      float* o = e.o + blk.head(r) * a->o_sh + blk.pos(r) * a->o_sl;
      const float inv = sum[r] > 0 ? 1.0f / sum[r] : 0.0f;
      for (int64_t c = 0; c < a->dv; ++c) o[c] = acc[r * a->dv + c] * inv;
    }
  }

  // One position block per pair of [p0, p1) (every entry has a single block), keys split into
  // `splits` ranges streamed in parallel; the partial (max, sum, acc) are then merged per pair.
  void FusedSplit(int64_t p0, int64_t p1, int64_t n, int64_t max_rows, int64_t splits) const {
    const mha_attention_args* a = a_;
    const int64_t dv = a->dv, pairs = p1 - p0;
    const int64_t part = (2 + dv) * max_rows;  // m[rows], sum[rows], acc[rows * dv]
    std::vector<float> partial(pairs * splits * part);
    mha::parallel_for(pairs * splits, Flops(p0, p1), [&](int64_t begin, int64_t end) {
      const Rows w = Work(max_rows, TileKeys(), 0);
      mha::MaskRows masks(&a->attn_mask, &a->key_padding, TileKeys());
      for (int64_t it = begin; it < end; ++it) {
        const Block blk = BlockOf(p0 + it / splits, 0, n);
        const int64_t rows = blk.rows();
        float* m = partial.data() + it * part;
        float* sum = m + max_rows;
        float* acc = sum + max_rows;
        std::fill(m, m + rows, -INFINITY);
        std::fill(sum, sum + rows, 0.0f);
        std::fill(acc, acc + rows * dv, 0.0f);
        if (blk.n <= 0) continue;
        int64_t first, visible;
        VisibleKeys(blk, &first, &visible);
        const int64_t step = ceil_div(ceil_div(std::max<int64_t>(0, visible - first), splits), kTileKeys) * kTileKeys;
        const int64_t sp = it % splits, j0 = std::min(visible, first + sp * step);
        Stream(blk, j0, std::min(visible, j0 + step), TileKeys(), masks, w, acc, m, sum);
      }
    });
    mha::parallel_for(pairs, mha::kMergeFlopsPerFloat * pairs * splits * part, [&](int64_t begin, int64_t end) {
      std::vector<float> acc(max_rows * dv), sum(max_rows);
      for (int64_t i = begin; i < end; ++i) {
        const Block blk = BlockOf(p0 + i, 0, n);
        if (blk.n <= 0) continue;
        const float* p0_ = partial.data() + i * splits * part;
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t r = 0; r < blk.rows(); ++r) {
          float mx = -INFINITY;
          for (int64_t sp = 0; sp < splits; ++sp) mx = std::max(mx, p0_[sp * part + r]);
          sum[r] = 0;
          if (mx == -INFINITY) continue;
          for (int64_t sp = 0; sp < splits; ++sp) {
            const float* p = p0_ + sp * part;
            if (p[r] == -INFINITY) continue;
            const float w = expf(p[r] - mx);
            sum[r] += w * p[max_rows + r];
            const float* pacc = p + 2 * max_rows + r * dv;
            for (int64_t c = 0; c < dv; ++c) acc[r * dv + c] += w * pacc[c];
          }
        }
        Finish(blk, acc.data(), sum.data());
      }
    });
  }

  // Runs fn(p0, p1) over consecutive groups of (entry, key/value head) pairs p = entry *
  // kv_heads + key/value head. When K is packed, each group's K^T tiles and V rows are packed
  // first; the groups are sized so that this takes about kPackBudgetBytes. Without packing: one
  // group.
  template <typename Fn>
  void ForEachPairGroup(Fn fn) {
    const mha_attention_args* a = a_;
    const int64_t pairs = a->batch * a->kv_heads;
    if (!pack_) return fn(0, pairs);
    const bool copy_v = a->v_ss != a->dv || a->kv_dtype != MHA_STORAGE_FLOAT32 || round_;
    auto kt_floats = [&](int64_t p) {
      const int64_t keys = entries_[p / a->kv_heads].s;
      return ceil_div(keys, kTileKeys) * packing_.kt_tile_floats(kt_width(keys));
    };
    auto v_floats = [&](int64_t p) { return copy_v ? packing_.v_floats(entries_[p / a->kv_heads].s) : 0; };
    for (int64_t p0 = 0; p0 < pairs;) {
      int64_t p1 = p0, kt_total = 0, v_total = 0;
      kt_offset_.clear();
      v_offset_.clear();
      do {
        kt_offset_.push_back(kt_total);
        v_offset_.push_back(v_total);
        kt_total += kt_floats(p1);
        v_total += v_floats(p1);
        ++p1;
      } while (p1 < pairs && (kt_total + v_total + kt_floats(p1) + v_floats(p1)) * int64_t(sizeof(float)) <= kPackBudgetBytes);
      kt_ = mha::scratch(mha::kScratchKeysPacked, std::max<int64_t>(kt_total, 1));
      vp_ = copy_v ? mha::scratch(mha::kScratchValuesPacked, std::max<int64_t>(v_total, 1)) : nullptr;
      Pack(p0, p1);
      fn(p0, p1);
      p0 = p1;
    }
  }

  // The calling thread's work rows for one work item of up to `rows` query rows and a score
  // tile `keys` wide, then `rest` floats: kept from call to call (core/scratch.h), so items
  // claimed one at a time allocate nothing.
  Rows Work(int64_t rows, int64_t keys, int64_t rest) const {
    const int64_t tile = rows * keys, q = rows * (a_->d + 2), p = bf16_ ? rows * (keys + 2) / 2 + 1 : 0;
    float* base = mha::scratch(mha::kScratchAttentionRows, tile + q + p + rest);
    return {base, base + tile, reinterpret_cast<mha_bf16*>(base + tile + q), base + tile + q + p};
  }

  // base + `elements` elements of the storage (K and V), or of `storage`.
  const void* Kv(const void* base, int64_t elements) const { return Kv(base, elements, a_->kv_dtype); }
  static const void* Kv(const void* base, int64_t elements, mha_storage storage) {
    return static_cast<const char*>(base) + elements * mha_storage_bytes(storage);
  }
  static int64_t KvPair(int64_t depth) { return mha::KvPacking::pair_rows(depth); }
  // float32 rows as the precision takes them: rounded to bfloat16 values, or as they are.
  mha_kv_format kv_format_rounding() const { return {MHA_STORAGE_FLOAT32, round_}; }

  // Keys per streamed tile: kTileKeys over packed K^T tiles, kInPlaceTileKeys read in place.
  int64_t TileKeys() const { return pack_ ? kTileKeys : mha::kInPlaceTileKeys; }

  // About the work of attention over the pairs [p0, p1) (Q.K^T and P.V, the softmax of every
  // score, and each query row's cost per key tile), for the pool's inline rule.
  double Flops(int64_t p0, int64_t p1) const { return flops_ * (p1 - p0) / (a_->batch * a_->kv_heads); }

  // Splits of the keys per pair so that a single-block problem still gives the pool
  // kItemsPerThread work items per thread, each at least kMinSplitKeys long.
  int64_t KeySplits(int64_t items) const {
    const int64_t want = mha::kItemsPerThread * mha::num_threads();
    if (items >= want) return 1;
    return std::max<int64_t>(1, std::min(ceil_div(want, items), a_->s / kMinSplitKeys));
  }

  // 1 + the last key of [0, s) the key padding mask leaves open in entry b (keys past it are
  // blocked for every query, so their tiles are skipped); s without key padding.
  int64_t PaddingEnd(int64_t b, int64_t s) const {
    const mha_mask& m = a_->key_padding;
    if (m.kind == MHA_MASK_NONE) return s;
    int64_t end = s;
    for (; end > 0; --end) {
      const int64_t i = b * m.stride_b + (end - 1) * m.stride_s;
      const bool blocked = m.kind == MHA_MASK_BOOL ? static_cast<const uint8_t*>(m.data)[i] != 0
                                                   : static_cast<const float*>(m.data)[i] == -INFINITY;
      if (!blocked) break;
    }
    return end;
  }

  // For pairs p in [p0, p1), at offsets relative to the group: the K^T tiles of (entry, key/value
  // head), kt[tile][d][width] = k[tile * kTileKeys + j, d] (width = kt_width; pair rows in the
  // pair layouts), zero past the entry's last key; and, when V is not read in place, its V
  // rows packed (core/attention_pack.h).
  void Pack(int64_t p0, int64_t p1) {
    const mha_attention_args* a = a_;
    const int64_t d = a->d;
    group_begin_ = p0;
    double copies = 0;
    for (int64_t p = p0; p < p1; ++p) copies += entries_[p / a->kv_heads].s * double(d + a->dv);
    mha::parallel_for(p1 - p0, mha::kCopyFlops * copies, [&](int64_t begin, int64_t end) {
      float* stage = mha::scratch(mha::kScratchStaging, packing_.stage_floats(kTileKeys));
      for (int64_t g = begin; g < end; ++g) {
        const int64_t p = p0 + g, b = p / a->kv_heads, kvh = p % a->kv_heads;
        const Entry& e = entries_[b];
        if (vp_) packing_.PackV(vp_ + v_offset_[g], Kv(e.v, kvh * a->v_sh), a->v_ss, e.s, stage);
        const void* kb = Kv(e.k, kvh * a->k_sh);
        const int64_t width = kt_width(e.s);
        for (int64_t t = 0; t < ceil_div(e.s, kTileKeys); ++t) {
          float* dst = kt_ + kt_offset_[g] + t * packing_.kt_tile_floats(width);
          const int64_t m = std::min(kTileKeys, e.s - t * kTileKeys);
          packing_.PackKt(dst, width, Kv(kb, t * kTileKeys * a->k_ss), a->k_ss, m, stage);
        }
      }
    });
  }

  const mha_attn_kernels* k_;
  const mha_attention_args* a_;
  const mha_attn_bf16_kernels* bf16_ = nullptr;  // the pair layouts' products, or null (float32 layouts)
  bool round_ = false;             // bfloat16 precision
  mha_kv_format kv_format_{};      // how K and V are read in place
  mha::KvPacking packing_{};
  int64_t group_ = 1;              // query heads per key/value head
  std::vector<Entry> entries_;
  int64_t max_l_ = 0;
  double flops_ = 0;
  bool pack_ = false;
  float* kt_ = nullptr;            // per-thread scratch (core/scratch.h) for one group, or null when not packed
  float* vp_ = nullptr;
  int64_t group_begin_ = 0;        // the first pair of the packed group
  std::vector<int64_t> kt_offset_, v_offset_;  // per pair of the group, in floats
};

}  // namespace

void mha_attention_with(const mha_attn_kernels* k, const mha_attn_bf16_kernels* bf16, const mha_attention_args* args) {
  if (args->batch <= 0 || args->heads <= 0 || args->kv_heads <= 0 || args->dv <= 0) return;
  Attention attention(args, k, bf16);
  if (args->weights) attention.WithWeights();
  else attention.Fused();
}

void mha_attention(const mha_attention_args* args) {
  mha_attention_with(mha_kernels()->attn, mha_kernels()->attn_bf16, args);
}
