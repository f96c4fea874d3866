// How tensors such as a KV cache's keys and values are stored: float32, or 16 bits per value
// (float16: IEEE binary16; bfloat16: the top half of a float32). 16-bit values are converted
// to float32 as they are read (native/core/attn_kernels.h) and rounded to nearest, ties to
// even, as they are written (NaN stays NaN; float16 overflows to infinity).
#pragma once
#include <stdint.h>

typedef enum mha_storage {
  MHA_STORAGE_FLOAT32 = 0,
  MHA_STORAGE_FLOAT16 = 1,
  MHA_STORAGE_BFLOAT16 = 2,
} mha_storage;

// Bytes per stored value.
static inline int64_t mha_storage_bytes(mha_storage s) { return s == MHA_STORAGE_FLOAT32 ? 4 : 2; }
