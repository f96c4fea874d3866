// sbgemm_amx_32x32: AMX-BF16 bfloat16 GEMM micro-kernel: tdpbf16ps on 16 x 16 float32 C tiles
// (the tile program and panel layouts: kernels/x86/sbgemm_amx_body.h).
// Tile: 32 x 32 of C in 4 tiles, A in 2, B in 2 (all 8 tiles of palette 1, each 16 rows x
// 64 B); per 32 depth steps 4 tile loads and 4 tdpbf16ps (16 x 16 x 32 multiply-adds each).
// Tile configuration: loaded once per thread (ldtilecfg), before the thread's first call; the
// OS keeps it across context switches. Only dispatch picks this table, and only where
// mha_cpu_detect() saw AMX-TILE + AMX-BF16, XCR0's tile state and the OS's permission.
// C: stored straight into C when alpha = 1 and beta = 0 (the packed projections), else through
// a local 32 x 32 buffer and C = alpha * tile + beta * C.
// Blocks: computed from the cache sizes (core/gemm_blocking.h; kc a multiple of 32); the
// fallback below: kc = 256 (A micro-panel 32 x 256 x 2 B = 16 KiB in L1), nc = 1024 (B block
// 256 x 1024 x 2 B = 512 KiB in L2), mc = 256 (A block 128 KiB).
// Entry point: full tile only (edge tiles through the framework's buffer); A panels by the
// framework's portable packing chunked by 32, B by its pair packing.
#include <immintrin.h>
#include <stdint.h>

#include "core/gemm_kernels.h"
#include "core/tuning.h"
#include "kernels/x86/sbgemm_amx_body.h"

namespace {

// The tile instructions take their tile numbers as literals (the intrinsics paste them into
// the assembly), so each operation used by the tile program is spelled out.
struct AmxTiles {
  template <int t> static void zero();
  template <int t> static void load(const void* p, int64_t stride);
  template <int c, int a, int b> static void dp();
  template <int t> static void store(void* p, int64_t stride);
};
#define MHA_AMX_C_TILE(t)                                                                      \
  template <> void AmxTiles::zero<t>() { _tile_zero(t); }                                      \
  template <> void AmxTiles::store<t>(void* p, int64_t s) { _tile_stored(t, p, s); }
#define MHA_AMX_OPERAND_TILE(t) \
  template <> void AmxTiles::load<t>(const void* p, int64_t s) { _tile_loadd(t, p, s); }
MHA_AMX_C_TILE(0)
MHA_AMX_C_TILE(1)
MHA_AMX_C_TILE(2)
MHA_AMX_C_TILE(3)
MHA_AMX_OPERAND_TILE(4)
MHA_AMX_OPERAND_TILE(5)
MHA_AMX_OPERAND_TILE(6)
MHA_AMX_OPERAND_TILE(7)
#undef MHA_AMX_C_TILE
#undef MHA_AMX_OPERAND_TILE
template <> void AmxTiles::dp<0, 4, 6>() { _tile_dpbf16ps(0, 4, 6); }
template <> void AmxTiles::dp<1, 4, 7>() { _tile_dpbf16ps(1, 4, 7); }
template <> void AmxTiles::dp<2, 5, 6>() { _tile_dpbf16ps(2, 5, 6); }
template <> void AmxTiles::dp<3, 5, 7>() { _tile_dpbf16ps(3, 5, 7); }

// Palette 1: every tile 16 rows x 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette_id = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

void configure_tiles() {
  static thread_local bool configured = false;
  if (configured) return;
  static const TileConfig config;
  _tile_loadconfig(&config);
  configured = true;
}

void sbgemm_amx_32x32(int64_t k, const mha_bf16* a, const mha_bf16* b, float* c, int64_t ldc,
                      float alpha, float beta) {
  using mha_x86::kAmxMr;
  using mha_x86::kAmxNr;
  configure_tiles();
  if (alpha == 1.0f && beta == 0.0f) {
    mha_x86::sbgemm_amx_tiles<AmxTiles>(k, a, b, c, ldc);
    return;
  }
  alignas(mha::kCacheLineBytes) float tile[kAmxMr * kAmxNr];
  mha_x86::sbgemm_amx_tiles<AmxTiles>(k, a, b, tile, kAmxNr);
  for (int i = 0; i < kAmxMr; ++i)
    for (int j = 0; j < kAmxNr; ++j) {
      const float v = alpha * tile[i * kAmxNr + j];
      c[i * ldc + j] = beta == 0.0f ? v : v + beta * c[i * ldc + j];
    }
}

}  // namespace

extern const mha_sbgemm_kernels mha_sbgemm_kernels_amx = {
    "sbgemm_amx_32x32", "amx", mha_x86::kAmxMr, mha_x86::kAmxNr, mha_x86::kAmxDepth,
    /*mc=*/256, /*kc=*/256, /*nc=*/1024, sbgemm_amx_32x32, /*ukernel_rows=*/nullptr,
    /*pack_a=*/nullptr, /*pack_b=*/nullptr};
