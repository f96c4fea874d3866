// The arithmetic precision of a product (core/gemm.h, core/attention.h):
//   MHA_PRECISION_FLOAT32   float32 operands, products and sums.
//   MHA_PRECISION_BFLOAT16  operands rounded to bfloat16 (to nearest, ties to even), products
//                           summed in float32.
#pragma once

typedef enum mha_precision {
  MHA_PRECISION_FLOAT32 = 0,
  MHA_PRECISION_BFLOAT16 = 1,
} mha_precision;
