// Attention kernels, AVX2 + FMA: the mha_attn_kernels_avx2 table, from the shared templates
// of native/kernels/simd/ on the ymm vector type (vec_f32_avx2.h).
//  scores and pv: 6 x 16 register tile (12 ymm accumulators, 2 ymm for a row segment of B,
//    1 for the broadcast A element); per step 2 loads, 6 broadcasts, 12 FMAs. A d x 16
//    column block of K^T or V (<= 8 KB for d <= 128) stays in L1 while the row blocks pass.
//  dots (decode): up to 4 query rows x 4 keys (2 for 3 or 4 rows) at a time, 8 floats of d
//    per FMA; K streamed once from memory for those rows.
//  softmax rows: 16 floats per step; exp with 2^n built in the exponent bits.
//  K^T tiles: packed by x86/pack_kt_8x8.h (8 x 8 register transposes of 8 keys x 8 dims).
#include "kernels/avx2/vec_f32_avx2.h"
#include "kernels/simd/attn_tiles.h"
#include "kernels/x86/pack_kt_8x8.h"

extern const mha_attn_kernels mha_attn_kernels_avx2 =
    mha_simd::attn_kernels<mha_avx2::Vec>(mha_x86::pack_kt);
