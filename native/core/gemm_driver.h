// The Goto/BLIS GEMM framework, written once for the float32 and the bfloat16 kernel tables
// (core/gemm_kernels.h) and instantiated by gemm.cc and gemm_bf16.cc. Internal to native/core.
// op(B) is packed as nr-wide zero-padded panels: once per weight (mha_pack_b*) or once per call
// at full depth, or, in a GEMM split by columns, one depth block at a time (see Threading).
// Full-depth panels are stored kc-deep block by block: the micro-panels of one depth block lie
// side by side, so a kc x nc B block is one contiguous run (panels a whole depth apart would
// map to the same cache sets whenever the depth is a power of two). The output is split into
// tasks (batch entry x row block <= mc x column block, all columns unless more tasks are
// needed to keep the threads busy); each task runs the loops
//   pc (kc deep) -> ic (mc rows: pack the A block once) -> jc (nc columns: the kc x nc B block
//   stays in L2) -> ir (mr rows: one A micro-panel, kept in L1) -> jr (nr columns: B
//   micro-panels streamed from L2) -> micro-kernel.
// A small float32 GEMM whose A block meets only a few B micro-panels reads a row-major A in
// place (the direct-A micro-kernel) rather than paying for packing it. Edge tiles go through a
// local mr x nr buffer, except tiles short of rows only, which an edge-row kernel (where the
// table has one) computes in place; either way kernels never touch memory outside C.
// A bfloat16 table's panels are padded in depth to its kstep (zeros in both operands), and its
// kernels are called with that padded depth.
// Threading (mha::parallel_for): a single GEMM is split by columns, a slice per thread (one
// thread: one slice), each task packing the B panels of its slice one depth block at a time
// right before it uses them, so they are still in its L2 when used and no packing pass runs
// before the parallel part; unless it is tall (m * (threads - 1) > n with more than one row
// block), where repacking A for every slice would cost more than the B packing pass it saves.
// Otherwise a shared B (stride_b == 0, or batch == 1) is packed once and tasks over row
// blocks run in parallel; distinct B matrices are handled one batch entry per task (many
// small GEMMs, e.g. attention heads) unless there are too few entries to balance, then each
// entry runs parallel on its own.
#pragma once
#include <string.h>

#include <algorithm>

#include "core/aligned_alloc.h"
#include "core/gemm.h"
#include "core/gemm_kernels.h"
#include "core/threadpool.h"
#include "core/tuning.h"

// A packed right-hand operand of either precision.
struct mha_packed_b {
  mha_precision precision;
  const void* kt;  // the table the panels were packed for: mha_gemm_kernels or mha_sbgemm_kernels
  int64_t k, n;
  void* data;
};

namespace mha_gemm {

// What differs between the float32 and bfloat16 tables, for K = mha_gemm_kernels or
// mha_sbgemm_kernels (defined by gemm.cc and gemm_bf16.cc):
//   T (panel element), kStep(kt), pack_a/pack_b(kt, dst, src, w, valid, k, so, sd),
//   ukernel(kt, k, a, b, c, ldc, alpha, beta), has_rows(kt), ukernel_rows(kt, k, rows, ...),
//   kDirectA (whether the table type has a direct-A kernel at all; then has_direct_a(kt) and
//   ukernel_direct_a(kt, k, a, lda, b, c, ldc, alpha, beta), A float32 row-major).
template <class K>
struct Ops;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Packing scratch, one of each per thread, shared by both precisions. Packed panels, here and
// in mha_pack_b*, take huge pages when large (core/aligned_alloc.h).
extern thread_local mha::AlignedFloats scratch_a;  // packed A block (mc x kc)
extern thread_local mha::AlignedFloats scratch_b;  // packed B of the call or entry

// n elements of T from a scratch buffer.
template <class T>
T* scratch(mha::AlignedFloats& s, int64_t n) {
  return reinterpret_cast<T*>(s.get((size_t)((n * (int64_t)sizeof(T) + 3) / 4)));
}

// op(X)(i, j) = p[i*rs + j*cs]
struct View {
  const float* p;
  int64_t rs, cs;
};

inline View view_of(const float* x, int64_t ld, int trans) {
  return trans ? View{x, 1, ld} : View{x, ld, 1};
}

// The depth of the kc blocks a GEMM of depth k is cut into: kc or a little less, so that the
// blocks are all about as deep (a last block much shallower than the others would pay the C
// tile loads and stores of a whole block for a fraction of its work); a multiple of kstep.
template <class K>
int64_t depth_block(const K& kt, int64_t k) {
  return round_up(ceil_div(k, ceil_div(k, kt.kc)), Ops<K>::kStep(kt));
}

// A depth block's panel depth: kcur padded to kstep.
template <class K>
int64_t padded(const K& kt, int64_t kcur) {
  return round_up(kcur, Ops<K>::kStep(kt));
}

// Where pack_b_panels puts the micro-panel of columns [jp*nr, jp*nr + nr) and depths
// [pc, pc + kc) (pc a multiple of kc = depth_block(k)) of a B of depth k and n columns: depth
// blocks one after the other, each holding all ceil(n / nr) of its micro-panels (kc x nr
// elements each, the last block's depth padded to kstep).
template <class K>
int64_t packed_b_offset(const K& kt, int64_t k, int64_t n, int64_t jp, int64_t pc) {
  return pc * round_up(n, kt.nr) + jp * padded(kt, std::min(depth_block(kt, k), k - pc)) * kt.nr;
}

template <class K>
size_t packed_b_size(const K& kt, int64_t k, int64_t n) {
  return (size_t)(round_up(n, kt.nr) * padded(kt, k));
}

// Packs panels [begin, end) of op(B) (k x n) at full depth into dst (see packed_b_offset).
template <class K>
void pack_b_panels(const K& kt, View b, int64_t k, int64_t n, typename Ops<K>::T* dst,
                   int64_t begin, int64_t end) {
  const int64_t kc = depth_block(kt, k);
  for (int64_t jp = begin; jp < end; ++jp) {
    const int64_t j0 = jp * kt.nr;
    for (int64_t pc = 0; pc < k; pc += kc)
      Ops<K>::pack_b(kt, dst + packed_b_offset(kt, k, n, jp, pc), b.p + j0 * b.cs + pc * b.rs,
                     kt.nr, (int)std::min<int64_t>(kt.nr, n - j0), std::min(kc, k - pc), b.cs,
                     b.rs);
  }
}

// Packs op(B) at full depth into dst, in parallel when it is large.
template <class K>
void pack_b(const K& kt, View b, int64_t k, int64_t n, typename Ops<K>::T* dst) {
  const int64_t panels = ceil_div(n, kt.nr);
  auto task = [&](int64_t begin, int64_t end) { pack_b_panels(kt, b, k, n, dst, begin, end); };
  mha::parallel_for(panels, mha::kCopyFlops * k * n, task);
}

// One GEMM's operands besides B (for batch entry e: A + e*stride_a, C + e*stride_c). B is
// k x n; the product uses its depths [k_begin, k_end) (A's columns 0..k_end - k_begin) and C's
// column 0 (and the bias's entry 0) is B's column col0: a part of a packed weight (gemm_range).
template <class K>
struct Problem {
  const K* kt;
  int64_t m, n, k;
  View a;
  int64_t stride_a;
  float* c;
  int64_t ldc, stride_c;
  float alpha, beta;
  const float* bias;
  int64_t k_begin, k_end, col0;
};

// C tile (rows x cols valid, rows <= mr, cols <= nr) from a packed B micro-panel and either a
// packed A micro-panel (lda == 0) or row-major float32 A rows (lda > 0, all mr rows valid). A
// tile short of rows only (with an edge-row kernel) is computed in place; any other edge tile
// in a local mr x nr buffer.
template <class K, class A>
void run_tile(const K& kt, int64_t kcur, const A* a, int64_t lda, const typename Ops<K>::T* b,
              float* c, int64_t ldc, int rows, int cols, float alpha, float beta,
              const float* bias) {
  auto ukernel = [&](float* out, int64_t ldo, float beta_out) {
    if constexpr (Ops<K>::kDirectA) {
      if (lda) return Ops<K>::ukernel_direct_a(kt, kcur, a, lda, b, out, ldo, alpha, beta_out);
    }
    Ops<K>::ukernel(kt, kcur, a, b, out, ldo, alpha, beta_out);
  };
  if (cols == kt.nr && (rows == kt.mr || (Ops<K>::has_rows(kt) && !lda))) {
#if defined(__GNUC__)
    // The kernel reads/writes C only at its end: start fetching the tile's lines now.
    for (int i = 0; i < rows; ++i) {
      __builtin_prefetch(c + i * ldc, 1);
      __builtin_prefetch(c + i * ldc + cols - 1, 1);
    }
#endif
    // A bias going into a C that starts from zero is written first and accumulated onto by the
    // kernel (one more read of C, in the kernel's vector width), rather than added in a pass
    // over C after the kernel has just stored it.
    const bool fill = bias && beta == 0.0f;
    if (fill)
      for (int i = 0; i < rows; ++i) memcpy(c + i * ldc, bias, cols * sizeof(float));
    const float beta_c = fill ? 1.0f : beta;
    if (rows == kt.mr) ukernel(c, ldc, beta_c);
    else Ops<K>::ukernel_rows(kt, kcur, rows, a, b, c, ldc, alpha, beta_c);
    if (bias && !fill)
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) c[i * ldc + j] += bias[j];
    return;
  }
  alignas(mha::kCacheLineBytes) float tmp[MHA_GEMM_MAX_TILE];
  ukernel(tmp, kt.nr, 0.0f);
  for (int i = 0; i < rows; ++i) {
    float* ci = c + i * ldc;
    const float* ti = tmp + i * kt.nr;
    if (beta != 0.0f)
      for (int j = 0; j < cols; ++j) ci[j] = ti[j] + beta * ci[j];
    else
      memcpy(ci, ti, cols * sizeof(float));
    if (bias)
      for (int j = 0; j < cols; ++j) ci[j] += bias[j];
  }
}

// Where compute_block finds the B panels: packed at full depth beforehand (`packed`, panels at
// packed_b_offset), or packed by compute_block itself, one depth block at a time, into `buf`
// (depth_block x round_up(j1 - j0, nr) elements) right before the block is used, from the
// unpacked op(B) `source` (only the panels of the block's own columns).
template <class T>
struct BPanels {
  const T* packed;
  const View* source;
  T* buf;
};

// Rows [i0, i1) x columns [j0, j1) of batch entry e (j0 a multiple of nr). Runs on the
// calling thread.
template <class K>
void compute_block(const Problem<K>& pr, int64_t e, BPanels<typename Ops<K>::T> bp, int64_t i0,
                   int64_t i1, int64_t j0, int64_t j1) {
  using T = typename Ops<K>::T;
  const K& kt = *pr.kt;
  const int mr = kt.mr, nr = kt.nr;
  const float* a = pr.a.p + e * pr.stride_a;
  float* c = pr.c + e * pr.stride_c;
  const int64_t mc = round_up(kt.mc, mr), nc = round_up(kt.nc, nr);
  const bool direct_a = Ops<K>::kDirectA && Ops<K>::has_direct_a(kt) && pr.a.cs == 1 &&
                        pr.a.rs > 0 && ceil_div(j1 - j0, nr) <= mha::kDirectAMaxPanels;
  const int64_t kc = depth_block(kt, pr.k);
  T* pa = scratch<T>(scratch_a, mc * kc);
  // The depth blocks of B that [k_begin, k_end) meets, each from d0 (its start, or k_begin:
  // a multiple of kstep, so the panel rows from there on are a panel of their own).
  for (int64_t pc = pr.k_begin / kc * kc; pc < pr.k_end; pc += kc) {
    const int64_t d0 = std::max(pc, pr.k_begin);
    const int64_t kcur = std::min({kc, pr.k - pc, pr.k_end - pc}) - (d0 - pc), kpad = padded(kt, kcur);
    const float beta = d0 == pr.k_begin ? pr.beta : 1.0f;
    // The bias goes in with the first depth block when C starts from zero (run_tile writes it
    // first), else after the last one.
    const float* bias = (pr.beta == 0.0f ? d0 == pr.k_begin : d0 + kcur == pr.k_end) ? pr.bias : nullptr;
    if (bp.source) {  // this depth block of the block's own B panels
      const View& src = *bp.source;
      for (int64_t jp = j0 / nr; jp * nr < j1; ++jp)
        Ops<K>::pack_b(kt, bp.buf + (jp - j0 / nr) * kpad * nr,
                       src.p + jp * nr * src.cs + d0 * src.rs, nr,
                       (int)std::min<int64_t>(nr, j1 - jp * nr), kcur, src.cs, src.rs);
    }
    for (int64_t ic = i0; ic < i1; ic += mc) {
      const int64_t mcur = std::min(mc, i1 - ic);
      const float* a_block = a + ic * pr.a.rs + (d0 - pr.k_begin) * pr.a.cs;
      for (int64_t ir = 0; ir < mcur; ir += mr) {
        const int rows = (int)std::min<int64_t>(mr, mcur - ir);
        if (!direct_a || rows < mr)
          Ops<K>::pack_a(kt, pa + ir * kpad, a_block + ir * pr.a.rs, mr, rows, kcur, pr.a.rs,
                         pr.a.cs);
      }
      for (int64_t jc = j0; jc < j1; jc += nc) {
        const int64_t jc1 = std::min(j1, jc + nc);
        for (int64_t ir = 0; ir < mcur; ir += mr) {
          const int rows = (int)std::min<int64_t>(mr, mcur - ir);
          const bool direct = direct_a && rows == mr;
          for (int64_t jr = jc; jr < jc1; jr += nr) {
            const T* b = bp.source ? bp.buf + (jr - j0) / nr * kpad * nr
                                   : bp.packed + packed_b_offset(kt, pr.k, pr.n, jr / nr, pc) + (d0 - pc) * nr;
            const int cols = (int)std::min<int64_t>(nr, jc1 - jr);
            float* ct = c + (ic + ir) * pr.ldc + (jr - pr.col0);
            const float* bt = bias ? bias + (jr - pr.col0) : nullptr;
            if constexpr (Ops<K>::kDirectA) {
              if (direct) {
                run_tile(kt, kpad, a_block + ir * pr.a.rs, pr.a.rs, b, ct, pr.ldc, rows, cols,
                         pr.alpha, beta, bt);
                continue;
              }
            }
            run_tile(kt, kpad, pa + ir * kpad, 0, b, ct, pr.ldc, rows, cols, pr.alpha, beta, bt);
          }
        }
      }
    }
  }
}

// k == 0: C = beta * C (+ bias); beta == 0 ignores C's contents.
template <class K>
void scale_c(const Problem<K>& pr, int64_t e) {
  float* c = pr.c + e * pr.stride_c;
  for (int64_t i = 0; i < pr.m; ++i)
    for (int64_t j = 0; j < pr.n; ++j) {
      float v = pr.beta == 0.0f ? 0.0f : pr.beta * c[i * pr.ldc + j];
      c[i * pr.ldc + j] = pr.bias ? v + pr.bias[j] : v;
    }
}

// The share of the threads' time spent on the output when `batch` entries of an m x n output
// are cut into mb x nb blocks (rounded to whole mr x nr tiles) and run a round of `threads`
// blocks at a time: 1 when every block is as large and every round full.
template <class K>
double task_balance(const K& kt, int64_t batch, int64_t m, int64_t n, int64_t mb, int64_t nb,
                    int threads) {
  const int64_t mcb = round_up(ceil_div(m, mb), kt.mr), ncb = round_up(ceil_div(n, nb), kt.nr);
  const int64_t tasks = batch * ceil_div(m, mcb) * ceil_div(n, ncb);
  return double(batch) * m * n / (double(round_up(tasks, threads)) * mcb * ncb);
}

// Splits `batch` entries of an m x n output into tasks of mcb x ncb (multiples of mr, nr)
// so that there are enough tasks of equal size for the pool. More tasks come from the rows,
// unless there are few row tiles against many column panels (a projection of a few tokens),
// or row blocks of whole mr tiles would be uneven (a few tokens more than a tile) where
// column blocks are not: then from the columns, which split evenly and give each task its own
// part of B.
template <class K>
void task_grid(const K& kt, int64_t batch, int64_t m, int64_t n, int threads, int64_t* mcb,
               int64_t* ncb) {
  const int64_t mmax = ceil_div(m, kt.mr), nmax = ceil_div(n, kt.nr);  // finest split
  int64_t mb = ceil_div(m, round_up(kt.mc, kt.mr));
  int64_t nb = 1;  // a task walks its columns nc at a time (compute_block)
  if (batch * mb * nb < mha::kItemsPerThread * threads) {  // few tasks: a multiple of threads
    const int64_t want = round_up(batch * mb * nb, threads);
    const int64_t cols_only = std::min(nmax, ceil_div(want, batch * mb));
    const int64_t rows = std::min(mmax, std::max(mb, ceil_div(want, batch * nb)));
    const int64_t rows_then_cols = std::min(nmax, std::max(nb, ceil_div(want, batch * rows)));
    if (nmax < mha::kColumnSplitRatio * mmax &&
        task_balance(kt, batch, m, n, rows, rows_then_cols, threads) >=
            task_balance(kt, batch, m, n, mb, cols_only, threads)) {
      mb = rows;
      nb = rows_then_cols;
    } else {
      nb = cols_only;
    }
  }
  *mcb = round_up(ceil_div(m, mb), kt.mr);
  *ncb = round_up(ceil_div(n, nb), kt.nr);
}

// Every entry against one packed B: tasks over (entry, row block, column block).
template <class K>
void run_shared_b(const Problem<K>& pr, int64_t batch, const typename Ops<K>::T* pb) {
  const int threads = mha::num_threads();
  int64_t mcb, ncb;
  task_grid(*pr.kt, batch, pr.m, pr.n, threads, &mcb, &ncb);
  const int64_t mb = ceil_div(pr.m, mcb), nb = ceil_div(pr.n, ncb);
  auto task = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t e = t / (mb * nb), r = t % (mb * nb);
      int64_t i0 = (r / nb) * mcb, j0 = (r % nb) * ncb;
      compute_block(pr, e, {pb, nullptr, nullptr}, i0, std::min(pr.m, i0 + mcb), j0,
                    std::min(pr.n, j0 + ncb));
    }
  };
  mha::parallel_for(batch * mb * nb, 2.0 * batch * pr.m * pr.n * pr.k, task);
}

// One GEMM split by columns, a slice per thread: each task packs the B panels of its own
// columns, one depth block at a time right before using them (still in its L2), so there is
// no packing pass before the parallel part and nothing is shared; every slice packs A again
// (or, narrow enough, reads it in place: compute_block's direct-A rule).
template <class K>
void run_column_slices(const Problem<K>& pr, View b, int threads) {
  using T = typename Ops<K>::T;
  const K& kt = *pr.kt;
  const int64_t panels = ceil_div(pr.n, kt.nr), per = ceil_div(panels, threads);
  auto task = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t j0 = t * per * kt.nr, j1 = std::min(pr.n, j0 + per * kt.nr);
      T* buf = scratch<T>(scratch_b, depth_block(kt, pr.k) * (j1 - j0 + kt.nr));
      compute_block(pr, 0, {nullptr, &b, buf}, 0, pr.m, j0, j1);
    }
  };
  mha::parallel_for(ceil_div(panels, per), 2.0 * pr.m * pr.n * pr.k, task);
}

// mha_sgemm (gemm.h) on the table kt.
template <class K>
void gemm(const K& kt, const mha_gemm_args* g) {
  using T = typename Ops<K>::T;
  if (g->batch <= 0 || g->m <= 0 || g->n <= 0 || g->k < 0) return;
  const Problem<K> pr{&kt,  g->m,   g->n,        g->k,     view_of(g->a, g->lda, g->trans_a),
                      g->stride_a, g->c, g->ldc, g->stride_c, g->alpha, g->beta, g->bias,
                      0, g->k, 0};
  if (g->k == 0) {
    for (int64_t e = 0; e < g->batch; ++e) scale_c(pr, e);
    return;
  }
  const View b = view_of(g->b, g->ldb, g->trans_b);
  const int threads = mha::num_threads();
  // Column slices, unless repacking A for every slice would cost more than the B packing
  // pass they save (m * (threads - 1) > n, with more than one row block).
  if (g->batch == 1 && ceil_div(g->n, kt.nr) >= threads &&
      (g->m <= kt.mc || g->m * (threads - 1) <= g->n)) {
    run_column_slices(pr, b, threads);
    return;
  }
  if (g->stride_b == 0 || g->batch == 1) {
    T* pb = scratch<T>(scratch_b, packed_b_size(kt, g->k, g->n));
    pack_b(kt, b, g->k, g->n, pb);
    run_shared_b(pr, g->batch, pb);
    return;
  }
  const double entry_flops = 2.0 * g->m * g->n * g->k;
  if (g->batch % threads == 0 || g->batch >= mha::kItemsPerThread * threads ||
      entry_flops < mha::kMinSplitEntryFlops) {
    // One entry per task: pack its B into the thread's scratch, run it whole.
    auto task = [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) {
        T* pb = scratch<T>(scratch_b, packed_b_size(kt, g->k, g->n));
        pack_b_panels(kt, View{b.p + e * g->stride_b, b.rs, b.cs}, g->k, g->n, pb, 0,
                      ceil_div(g->n, kt.nr));
        compute_block(pr, e, {pb, nullptr, nullptr}, 0, g->m, 0, g->n);
      }
    };
    mha::parallel_for(g->batch, entry_flops * g->batch, task);
    return;
  }
  // Few large entries: each one parallel on its own.
  T* pb = scratch<T>(scratch_b, packed_b_size(kt, g->k, g->n));
  for (int64_t e = 0; e < g->batch; ++e) {
    Problem<K> one = pr;
    one.a.p += e * g->stride_a;
    one.c += e * g->stride_c;
    pack_b(kt, View{b.p + e * g->stride_b, b.rs, b.cs}, g->k, g->n, pb);
    run_shared_b(one, 1, pb);
  }
}

// mha_pack_b / mha_pack_b_bf16 on the table kt.
template <class K>
mha_packed_b* pack_weight(const K& kt, mha_precision precision, const float* b, int64_t ldb,
                          int trans_b, int64_t k, int64_t n) {
  using T = typename Ops<K>::T;
  const size_t size = packed_b_size(kt, k, n);
  T* data = nullptr;
  if (size > 0)
    data = static_cast<T*>(
        mha::aligned_alloc_or_throw(size * sizeof(T), mha::HugePages::kWhenLarge));
  if (data) pack_b(kt, view_of(b, ldb, trans_b), k, n, data);
  return new mha_packed_b{precision, &kt, k, n, data};
}

// mha_sgemm_packed on a weight packed for the table K.
template <class K>
void gemm_packed(int64_t m, const float* a, int64_t lda, const mha_packed_b* b, float* c,
                 int64_t ldc, const float* bias) {
  if (m <= 0 || b->n <= 0) return;
  const Problem<K> pr{static_cast<const K*>(b->kt), m, b->n, b->k, View{a, lda, 1}, 0, c, ldc,
                      0, 1.0f, 0.0f, bias, 0, b->k, 0};
  if (b->k == 0) scale_c(pr, 0);
  else run_shared_b(pr, 1, static_cast<const typename Ops<K>::T*>(b->data));
}

// mha_sgemm_packed_range on a weight packed for the table K: one block, on the calling thread.
template <class K>
void gemm_range(int64_t m, const float* a, int64_t lda, const mha_packed_b* b, const mha_packed_range& r,
                float* c, int64_t ldc, const float* bias) {
  if (m <= 0 || r.j1 <= r.j0 || r.k1 <= r.k0) return;
  const Problem<K> pr{static_cast<const K*>(b->kt), m, b->n, b->k, View{a, lda, 1}, 0, c, ldc,
                      0, 1.0f, 0.0f, bias, r.k0, r.k1, r.j0};
  compute_block(pr, 0, {static_cast<const typename Ops<K>::T*>(b->data), nullptr, nullptr}, 0, m, r.j0, r.j1);
}

// The steps a range of a weight packed for the table K starts on (gemm.h).
template <class K>
mha_packed_steps range_steps(const mha_packed_b* b) {
  const K& kt = *static_cast<const K*>(b->kt);
  return {kt.nr, Ops<K>::kStep(kt)};
}

// The bfloat16 instantiations (gemm_bf16.cc), for gemm.cc's entry points.
void sbgemm(const mha_sbgemm_kernels& kt, const mha_gemm_args* g);
void sbgemm_packed(int64_t m, const float* a, int64_t lda, const mha_packed_b* b, float* c,
                   int64_t ldc, const float* bias);
void sbgemm_range(int64_t m, const float* a, int64_t lda, const mha_packed_b* b, const mha_packed_range& r,
                  float* c, int64_t ldc, const float* bias);
mha_packed_steps sbgemm_range_steps(const mha_packed_b* b);

}  // namespace mha_gemm
