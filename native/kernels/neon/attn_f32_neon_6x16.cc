// Attention kernels, NEON (AArch64): the mha_attn_kernels_neon table, from the shared
// templates of native/kernels/simd/ on the q-register vector type (vec_f32_neon.h).
//  scores and pv: 6 x 16 register tile (24 q accumulators, 4 for a row segment of B, 1 for
//    the broadcast A element: 29 of the 32 vector registers); per step 4 loads, 6 broadcasts,
//    24 FMAs. A d x 16 column block of K^T or V (<= 8 KB for d <= 128) stays in L1.
//  dots (decode): up to 4 query rows x 4 keys at a time, 4 floats of d per FMA; K streamed
//    once from memory for those rows.
//  softmax rows: 8 floats per step; exp with 2^n built in the exponent bits.
//  K^T tiles: the core's portable loop.
#include "kernels/neon/vec_f32_neon.h"
#include "kernels/simd/attn_tiles.h"

extern const mha_attn_kernels mha_attn_kernels_neon =
    mha_simd::attn_kernels<mha_neon::Vec>(/*pack_kt=*/nullptr);
