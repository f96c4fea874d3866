// The one allocator of aligned memory in native/: every buffer is cache-line aligned
// (kCacheLineBytes of core/tuning.h), so a vector load at its start never straddles two lines
// and no two buffers share one. A buffer that asks for huge pages (HugePages::kWhenLarge) gets
// them from kHugePageMinBytes up: it is then aligned and sized to whole huge pages and advised
// as huge-page backed (Linux, MADV_HUGEPAGE), so that a large packed operand walked block by
// block needs few TLB entries and maps evenly onto the cache sets.
#pragma once
#include <stddef.h>

namespace mha {

enum class HugePages { kNo, kWhenLarge };

// At least `bytes` (0 included) of uninitialized memory; nullptr when it cannot be had.
void* aligned_alloc_or_null(size_t bytes, HugePages huge = HugePages::kNo) noexcept;
// The same, but throws std::bad_alloc when the memory cannot be had.
void* aligned_alloc_or_throw(size_t bytes, HugePages huge = HugePages::kNo);
// Frees memory from either of them (nullptr: nothing).
void aligned_free(void* p) noexcept;

// A grow-only float buffer, reused from call to call (per-thread scratch). get(n) returns at
// least n floats with unspecified contents, valid until a later get() asks for more; the old
// buffer is freed before the new one is allocated, so both are never held at once. Throws
// std::bad_alloc when the memory cannot be had.
class AlignedFloats {
 public:
  explicit AlignedFloats(HugePages huge = HugePages::kNo) : huge_(huge) {}
  ~AlignedFloats() { aligned_free(p_); }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;

  float* get(size_t n) {
    if (n > cap_) grow(n);
    return p_;
  }

 private:
  void grow(size_t n);

  HugePages huge_;
  float* p_ = nullptr;
  size_t cap_ = 0;
};

}  // namespace mha
