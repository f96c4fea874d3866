// Attention kernels, AVX-512: the mha_attn_kernels_avx512 table, from the shared templates of
// native/kernels/simd/ on the zmm vector type (vec_f32_avx512.h).
//  scores and pv: 6 x 64 register tile (24 zmm accumulators, 4 zmm for a row segment of B,
//    A broadcast from memory); per step 4 loads, 6 broadcasts, 24 FMAs. A d x 64 column
//    block of K^T or V (<= 32 KB for d <= 128) stays in the 48 KB L1 while the row blocks pass.
//  dots (decode): up to 4 query rows x 4 keys at a time, 16 floats of d per FMA; K streamed
//    once from memory for those rows.
//  softmax rows: 32 floats per step; exp by vscalefps.
//  K^T tiles: packed by x86/pack_kt_8x8.h (8 x 8 register transposes of 8 keys x 8 dims).
#include "kernels/avx512/vec_f32_avx512.h"
#include "kernels/simd/attn_tiles.h"
#include "kernels/x86/pack_kt_8x8.h"

extern const mha_attn_kernels mha_attn_kernels_avx512 =
    mha_simd::attn_kernels<mha_avx512::Vec>(mha_x86::pack_kt);
