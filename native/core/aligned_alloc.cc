#include "core/aligned_alloc.h"

#include <stdlib.h>

#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/tuning.h"

namespace mha {

void* aligned_alloc_or_null(size_t bytes, HugePages huge) noexcept {
  const bool huge_pages = huge == HugePages::kWhenLarge && bytes >= kHugePageMinBytes;
  const size_t align = huge_pages ? kHugePageBytes : kCacheLineBytes;
  const size_t size = ((bytes > 0 ? bytes : 1) + align - 1) / align * align;
  void* p = nullptr;
  if (posix_memalign(&p, align, size) != 0) return nullptr;
#if defined(MADV_HUGEPAGE)
  if (huge_pages) madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

void* aligned_alloc_or_throw(size_t bytes, HugePages huge) {
  void* p = aligned_alloc_or_null(bytes, huge);
  if (!p) throw std::bad_alloc();
  return p;
}

void aligned_free(void* p) noexcept { free(p); }

void AlignedFloats::grow(size_t n) {
  aligned_free(p_);
  p_ = nullptr;
  cap_ = 0;
  p_ = static_cast<float*>(aligned_alloc_or_throw(n * sizeof(float), huge_));
  cap_ = n;
}

}  // namespace mha
