// Per-thread scratch buffers reused from call to call. A forward pass needs tens of MB of
// intermediates (projections, context, packed K and V); fresh allocations of that size come
// from the OS as new pages and page-fault on every call. Each thread keeps one cache-line
// aligned buffer per slot (core/aligned_alloc.h), grown to the largest size it was asked for;
// contents are not preserved between uses. A slot's buffer is valid until the same thread
// asks for that slot again, so callers that are live at the same time use different slots.
#pragma once
#include <stddef.h>

namespace mha {

enum ScratchSlot {
  kScratchProjections,  // mha_model: Q/K/V projections
  kScratchHeadWeights,  // mha_model: per-head probabilities before averaging
  kScratchKeysPacked,   // attention: K^T tiles
  kScratchValuesPacked, // attention: contiguous V rows
  kScratchAttentionRows,  // attention: a work item's score tile, query rows and accumulators
  kScratchStaging,      // attention: K and V rows converted while they are packed
  kScratchSlotCount
};

float* scratch(ScratchSlot slot, size_t count);

}  // namespace mha
