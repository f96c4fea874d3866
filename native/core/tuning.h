// The tuning constants of native/core, each named once with the rule it sets and the reason
// for its value. The kernels' own are not here: each ISA's kernel table holds its GEMM
// micro-tile and fallback cache blocks (mr, nr, mc, kc, nc; native/kernels/<isa>/; the blocks
// in use are computed at load from the cache sizes, core/gemm_blocking.h), and the shared SIMD
// tile its B prefetch distance (kernels/simd/).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace mha {

// ---- Memory (core/aligned_alloc.h)

// A cache line: the alignment of every buffer (a vector load at a buffer's start never
// straddles two lines, no two buffers share one) and the unit of a contiguous run of writes.
constexpr size_t kCacheLineBytes = 64;
// A transparent huge page (x86-64, and aarch64 with 4 KiB base pages).
constexpr size_t kHugePageBytes = size_t(2) << 20;
// A buffer that asks for huge pages gets them from half a huge page up: from there a blocked
// walk over it would otherwise span many TLB entries, and rounding it up to whole huge pages
// at most doubles it.
constexpr size_t kHugePageMinBytes = kHugePageBytes / 2;

// ---- Thread pool (core/threadpool.cc): when a job goes to the pool, and how it is cut

// A job of fewer flops than this runs on the calling thread while the pool threads sleep:
// waking them costs more than they would save it.
constexpr double kMinParallelFlops = 1 << 24;
// While the pool threads are awake (still polling after a job, see kSpinMicros), handing a
// job over costs a small fraction of a wake-up: from this many flops (an eighth of
// kMinParallelFlops) up, a job then goes to the pool.
constexpr double kMinParallelFlopsAwake = 1 << 21;
// (MHA_NATIVE_INLINE_FLOPS, read at load, replaces both thresholds: the tests set 0, so that
// tiny jobs take the threaded paths too.)
// A pool thread that finished a job, and a caller waiting for chunks still running, poll for
// this long (see kPauseSpinMicros) before they sleep: a forward pass or a GEMM runs
// several jobs back to back, and one that comes within the window starts without a wake-up.
constexpr int kSpinMicros = 200;
// Polling yields the core at each poll (a polling thread never keeps a thread with work off a
// core), except for the first kPauseSpinMicros of the window: a yield is a system call, which
// on a virtual machine can take microseconds to return, and the next job of a forward pass
// mostly comes within this long; meanwhile a poll is kPausesPerPoll pause instructions (the
// CPU's hint for a spin-wait loop) between looks at the job and the clock.
constexpr int kPauseSpinMicros = 20;
constexpr int kPausesPerPoll = 16;
// A thread running chunks offers its core between two of them once per this many
// microseconds: a thread woken meanwhile on its CPU (the JavaScript thread, under
// forwardAsync) then waits at most about this long plus a chunk, not until the scheduler's
// next tick (milliseconds) takes the core from a thread that never sleeps.
constexpr int kYieldMicros = 250;
// A burst: kBurstJobs jobs run inline within kBurstWindowNanos, each of them big enough for an
// awake pool (kMinParallelFlopsAwake). A stream of small requests is worth waking the pool for,
// for the jobs that follow; a lone request is not, as the wake-up costs its caller more than
// the pool saves it. The window is of the order of kSpinMicros: once woken, the pool polls that
// long, so jobs that close together keep it awake.
constexpr int kBurstJobs = 4;
constexpr int64_t kBurstWindowNanos = 300000;
// A chunk (the items a thread claims at once) holds at most this many flops of work: claiming
// is one atomic operation, negligible beside this much work, and heavy items (attention query
// blocks, GEMM tasks) then go one at a time, so a thread slowed down by a busy host leaves
// little for the others to wait on at the end.
constexpr double kChunkWork = 1 << 22;
// A parallel job of at least this many items per thread is balanced by the threads claiming
// items as they go: threads that start late or run slow still end together, as the last item
// anyone waits for is at most a quarter of a thread's share. Jobs with fewer are cut finer
// where they can be (pool chunks, attention key splits, GEMM tasks; GEMM batch entries are
// one task each only from this many per thread up, or when they divide evenly).
constexpr int kItemsPerThread = 4;

// ---- Work estimates: what a job counts for the pool's rules (parallel_for's `work`)

// A copied float counts as this many flops: packing (a transposing, strided copy) is bound by
// memory, not arithmetic, so a copy goes to a sleeping pool only from kMinParallelFlops /
// kCopyFlops = 512K floats (2 MiB).
constexpr double kCopyFlops = 32;
// An entry of the masked softmax counts as this many flops: scale, masks and max, the exp
// (range reduction and a degree-5 polynomial) and sum, and the normalization.
constexpr double kSoftmaxEntryFlops = 16;
// The fixed work of one query row per key tile of the fused attention, in flops: the online
// softmax's calls (masks, max, exp and sum, the accumulator's rescale) cost about this much
// beyond their entries, which decides short sequences, whose rows have few keys.
constexpr double kAttentionRowFlops = 1 << 13;
// Merging attention's key splits counts this many flops per partial float: a multiply-add into
// the result, and each row's rescaling exp spread over the row.
constexpr double kMergeFlopsPerFloat = 4;

// ---- GEMM framework (core/gemm.cc)

// A row-major A is read in place by the direct-A micro-kernel, not packed, when its block
// meets at most this many B micro-panels: a packed A micro-panel pays for its packing only by
// being reused against many of them (small GEMMs such as attention heads do not).
constexpr int64_t kDirectAMaxPanels = 4;
// A product with at least this many times as many column panels as row tiles (a projection of
// a few tokens) takes its extra tasks from the columns: those split evenly and give each task
// its own part of B, where thinner row blocks would each read all of B.
constexpr int64_t kColumnSplitRatio = 4;
// A batch entry of fewer flops than one chunk of pool work (kChunkWork) is run whole by one
// task: split across the threads, each part would be smaller than a chunk.
constexpr double kMinSplitEntryFlops = kChunkWork;

// ---- Layer (core/mha_model.cc)

// A forward pass of at most this many query rows and as many key rows runs in head parts, one
// per thread (mha_model.cc): each part's q, k, v, context and partial output ([rows, its heads'
// width] and [rows, E]) then stay in its own thread's L2, and its products are too short for a
// split by rows anyway.
constexpr int64_t kHeadPartMaxRows = 128;

// ---- Attention (core/attention.cc)

// A fused attention of less work than this (by Flops: products, softmax and per-row cost)
// runs on the calling thread even while the pool is awake: its few blocks read q, k and v rows
// that other threads have just written (the projections, split by columns), so a second thread
// would spend its share moving them between caches rather than computing.
constexpr double kMinParallelAttentionFlops = 1 << 23;
// Queries per block (a work item is a pair of blocks): every K^T and V tile brought into cache
// serves this many query rows, while the block's score tile (kBlockRows x kTileKeys) and
// accumulators stay in L2 and a sequence still gives the pool several items.
constexpr int64_t kBlockRows = 64;
// Query positions streamed together under a sliding window: a block goes through its keys this
// many positions at a time, each part over only the keys its own rows may see, so the band's
// diagonal edges cost a row at most this many keys outside its window, while the part's rows
// still fill the scores kernel's register tile.
constexpr int64_t kWindowRows = 12;
// Keys per streamed tile (a multiple of MHA_ATTN_KT_PAD): a d x kTileKeys K^T tile stays in
// cache while a block's rows pass over it, and the online softmax rescales the accumulators
// once per tile.
constexpr int64_t kTileKeys = 128;
// With fewer query rows than this (decode), K is not packed into K^T tiles nor V copied:
// packing reads and writes all of K, which pays only when several rows reuse the tiles; the
// scores are then dot products against K in place.
constexpr int64_t kPackMinRows = 8;
// Keys per streamed tile when K and V are read in place (decode): the scores of a tile are dot
// products against K rows, then P.V reads the same keys' V rows, so a tile is a stretch of K
// then one of V read front to back. Long stretches keep the hardware prefetchers running
// ahead; the tile's rows of scores (a block's few rows x this many) still fit in L2.
constexpr int64_t kInPlaceTileKeys = 2048;
// A key split spans at least this many keys (two tiles): each split adds a partial (max, sum,
// accumulator) to write and merge, which must stay small against the split's own work.
constexpr int64_t kMinSplitKeys = 256;
// Packing reads K and V a head's row at a time, a few cache lines every row stride, a pattern
// the hardware prefetchers do not follow: each row is prefetched this many rows before it is
// read, so that its misses overlap the conversion of the rows before it.
constexpr int64_t kPackPrefetchRows = 4;
// Packed K^T and V of one group of (batch, head) pairs, packed then attended group by group:
// the extra memory stays within this however long the sequence is (a group holds at least one
// pair), while short sequences still pack many heads per pool job.
constexpr int64_t kPackBudgetBytes = 4 << 20;

}  // namespace mha
