// The operands of attention's products as the kernels take them (core/attn_kernels.h), from
// K and V in any storage (core/storage.h) and in either precision:
//  - float32 layouts: K^T tiles and contiguous V rows in float32, every value read as the
//    format says (16-bit storage widened; bfloat16 precision emulated: rounded to bfloat16);
//  - pair layouts (bfloat16 precision on mha_attn_bf16_kernels): K^T tiles in pairs along d,
//    V in pairs along keys, query and probability rows as bfloat16 rows of an even length.
// A K tile, or a pair of V rows, is staged through the caller's scratch (kStageFloats per
// thread) when it needs converting before the transposes and interleaves.
#pragma once
#include <stdint.h>

#include "core/attn_kernels.h"

namespace mha {

struct KvPacking {
  const mha_attn_kernels* k;
  const mha_attn_bf16_kernels* pairs;  // pair layouts on these kernels, or null: float32 layouts
  mha_kv_format format;  // how K and V are read (storage, rounding for emulated bfloat16)
  int64_t d, dv;

  // Pair rows of a depth (d, or a key count): ceil(depth / 2).
  static int64_t pair_rows(int64_t depth) { return (depth + 1) / 2; }
  // Floats (a pair counts as one) of one K^T tile `width` keys wide, and of s packed V rows.
  int64_t kt_tile_floats(int64_t width) const { return width * (pairs ? pair_rows(d) : d); }
  int64_t v_floats(int64_t s) const { return pairs ? pair_rows(s) * dv : s * dv; }
  // Scratch for staging, per thread: a tile of tile_keys keys.
  int64_t stage_floats(int64_t tile_keys) const { return tile_keys * (d + 2) + 4 * (d + dv + 2); }

  // One K^T tile of n <= width keys (rows k + j * ldk, elements of the storage), zero past n.
  void PackKt(float* kt, int64_t width, const void* k, int64_t ldk, int64_t n, float* stage) const;
  // V rows [0, s) (rows v + j * ldv) into v_floats(s) floats.
  void PackV(float* vp, const void* v, int64_t ldv, int64_t s, float* stage) const;
  // A float32 row of n values as a bfloat16 row of pair_rows(n) pairs (zero-padded), starting
  // `lead` (0 or 1) zeros in.
  void RowPairs(const float* x, int64_t n, int64_t lead, mha_bf16* y) const;

 private:
  // Brings row j (n elements of the storage, rows base + i * ld) towards the cache when j < end.
  void Prefetch(const void* base, int64_t ld, int64_t j, int64_t end, int64_t n) const;
  // Row x (n elements of the storage) rounded to bfloat16 into y.
  void StoredRowToBf16(const void* x, int64_t n, mha_bf16* y, float* stage) const;
  const void* At(const void* base, int64_t elements) const {
    return static_cast<const char*>(base) + elements * mha_storage_bytes(format.storage);
  }
};

}  // namespace mha
