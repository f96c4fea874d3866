#include "core/scratch.h"

#include "core/aligned_alloc.h"

namespace mha {

float* scratch(ScratchSlot slot, size_t count) {
  thread_local AlignedFloats buffers[kScratchSlotCount];
  return buffers[slot].get(count);
}

}  // namespace mha
