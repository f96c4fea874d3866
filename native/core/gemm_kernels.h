// Bootstrap GEMM sub-table of the dispatch table (replaced by the GEMM kernels' version):
// the micro-tile shape the chosen kernel set computes.
#pragma once

typedef struct mha_gemm_kernels {
  int mr, nr;  // micro-tile rows x columns
} mha_gemm_kernels;
