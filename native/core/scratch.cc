#include "core/scratch.h"

#include <vector>

namespace mha {

float* scratch(ScratchSlot slot, size_t count) {
  thread_local std::vector<float> buffers[kScratchSlotCount];
  std::vector<float>& b = buffers[slot];
  if (b.size() < count) {
    b = std::vector<float>();  // release first: never hold the old and the new buffer at once
    b.resize(count);
  }
  return b.data();
}

}  // namespace mha
