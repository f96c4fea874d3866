// bfloat16 storage: conversion from float32 (to nearest, ties to even; NaN stays NaN) and back,
// and the portable packing of the chunked panel layout of core/gemm_kernels.h. Internal
// linkage (an anonymous namespace), so a kernel unit that includes it for its own packing gets
// a copy compiled with its own flags.
#pragma once
#include <stdint.h>
#include <string.h>

#include "core/gemm_kernels.h"

namespace mha_bf16_detail {
namespace {

inline uint32_t float_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

// Round to nearest, ties to even: add just under half a unit of the kept part, plus the kept
// part's lowest bit, and truncate. Infinities stay infinite, overflow rounds to infinity,
// denormals round like any other value; a NaN keeps its sign and top payload bits and is made
// quiet, so that truncating its low payload bits never turns it into an infinity.
// (Branch-free, so that loops of it vectorize.)
inline mha_bf16 from_float(float x) {
  const uint32_t u = float_bits(x);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (u >> 16) | 0x0040u;
  return static_cast<mha_bf16>((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

// Depths p and p + 1 of one row, rounded, as the 32-bit unit of the pair layout (depth p in
// the low half: little-endian, the element order of the panels).
inline uint32_t pair_bits(float lo, float hi) {
  return static_cast<uint32_t>(from_float(lo)) | static_cast<uint32_t>(from_float(hi)) << 16;
}

inline float to_float(mha_bf16 h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

// The chunked layout with granule G: element (r, p) of a w-wide panel at
// dst[(p / G) * G * w + G * r + p % G], zero for r >= valid and for k <= p < round_up(k, G).
// src element (r, p) at src[r * so + p * sd].
template <int G>
void pack_chunked(mha_bf16* dst, const float* src, int w, int valid, int64_t k, int64_t so,
                  int64_t sd) {
  for (int64_t p0 = 0; p0 < k; p0 += G, dst += G * w) {
    const int depth = k - p0 < G ? static_cast<int>(k - p0) : G;
    const float* s0 = src + p0 * sd;
    if (so == 1) {  // contiguous along the width: one run of `valid` floats per depth step
      for (int s = 0; s < depth; ++s)
        for (int r = 0; r < valid; ++r) dst[G * r + s] = from_float(s0[s * sd + r]);
    } else {  // contiguous (or strided) along the depth: one run of `depth` floats per row
      for (int r = 0; r < valid; ++r)
        for (int s = 0; s < depth; ++s) dst[G * r + s] = from_float(s0[r * so + s * sd]);
    }
    for (int r = 0; r < valid; ++r)
      for (int s = depth; s < G; ++s) dst[G * r + s] = 0;
    for (int r = valid; r < w; ++r)
      for (int s = 0; s < G; ++s) dst[G * r + s] = 0;
  }
}

// The pair layout (pack_chunked<2>) by way of a float32 panel packer: a pair of depths is a
// 32-bit unit, so a w-wide pair panel is the float32 panel (gemm_kernels.h's mha_pack_panel
// contract) of the units, one unit per row and depth pair. A source contiguous along the
// width is interleaved depth pair by depth pair; otherwise rows are rounded kChunk depths at
// a time into pair units on the stack (a contiguous, vectorizable loop for a row-major A)
// and handed to pack32 (so = kChunk / 2, sd = 1), e.g. the x86 units' register transposes.
// For w <= kMaxW.
constexpr int kChunk = 256, kMaxW = 32;

template <class Pack32>
void pack_pairs(mha_bf16* dst, const float* src, int w, int valid, int64_t k, int64_t so,
                int64_t sd, Pack32 pack32) {
  if (so == 1) {
    for (int64_t p = 0; p < k; p += 2, dst += 2 * w) {
      const float* s0 = src + p * sd;
      if (p + 1 < k) {
        const float* s1 = s0 + sd;
        for (int r = 0; r < valid; ++r) dst[2 * r] = from_float(s0[r]), dst[2 * r + 1] = from_float(s1[r]);
      } else {
        for (int r = 0; r < valid; ++r) dst[2 * r] = from_float(s0[r]), dst[2 * r + 1] = 0;
      }
      for (int r = 2 * valid; r < 2 * w; ++r) dst[r] = 0;
    }
    return;
  }
  alignas(64) float units[kMaxW * kChunk / 2];
  for (int64_t p0 = 0; p0 < k; p0 += kChunk) {
    const int64_t depth = k - p0 < kChunk ? k - p0 : kChunk, pairs = (depth + 1) / 2;
    for (int r = 0; r < valid; ++r) {
      const float* s = src + r * so + p0 * sd;
      float* u = units + r * (kChunk / 2);
      for (int64_t q = 0; q < depth / 2; ++q) {
        const uint32_t bits = pair_bits(s[2 * q * sd], s[(2 * q + 1) * sd]);
        memcpy(u + q, &bits, sizeof bits);
      }
      if (depth % 2) {
        const uint32_t bits = from_float(s[(depth - 1) * sd]);
        memcpy(u + depth / 2, &bits, sizeof bits);
      }
    }
    pack32(reinterpret_cast<float*>(dst + p0 * w), units, w, valid, pairs, kChunk / 2, 1);
  }
}

}  // namespace
}  // namespace mha_bf16_detail
