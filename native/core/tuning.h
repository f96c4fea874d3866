// The tuning constants of native/core, each named once with the rule it sets and the reason
// for its value. The GEMM micro-tiles and cache blocks (mr, nr, mc, kc, nc) are not here: each
// ISA's kernel table holds its own (native/kernels/<isa>/), next to the kernel they were sized for.
#pragma once
#include <stddef.h>

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

}  // namespace mha
