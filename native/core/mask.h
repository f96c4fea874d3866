// Mask descriptor shared by softmax and attention: one element (b, h, l, s) of a mask is
// data[b*stride_b + h*stride_h + l*stride_l + s*stride_s]; a stride of 0 broadcasts.
// Boolean masks are uint8 (nonzero = blocked); additive masks are float (added to the
// scaled score; -inf = blocked). A key-padding mask uses stride_h = stride_l = 0.
#pragma once
#include <stdint.h>

enum mha_mask_kind { MHA_MASK_NONE = 0, MHA_MASK_BOOL = 1, MHA_MASK_ADDITIVE = 2 };

typedef struct mha_mask {
  const void* data;  // NULL when kind == MHA_MASK_NONE
  int kind;
  int64_t stride_b, stride_h, stride_l, stride_s;
} mha_mask;
