// What the CPU and the OS support, detected once from CPUID + XGETBV on x86-64
// (a vector ISA counts only where the OS saves its register state), and from the
// target on aarch64 (NEON is part of the base ISA there); and the sizes of its data caches.
#pragma once
#include <stdint.h>

typedef struct mha_cpu_features {
  int avx2_fma;  // AVX2 + FMA + F16C, with OS-saved XMM/YMM state (XCR0 bits 1, 2)
  int avx512;    // AVX-512 F/BW/DQ/VL, with OS-saved XMM/YMM/opmask/ZMM state (XCR0 bits 1, 2, 5, 6, 7)
  int neon;      // AdvSIMD (aarch64)
  int avx512_bf16;  // avx512 + AVX512_BF16 (CPUID.(7,1):EAX bit 5)
  // avx512 + AMX-TILE + AMX-BF16 (CPUID.(7,0):EDX bits 24, 22), with the tile state enabled
  // in XCR0 (bits 17, 18) and granted to this process by the OS (Linux: arch_prctl
  // ARCH_REQ_XCOMP_PERM for XTILEDATA, asked once here; a refusal means no AMX).
  int amx_bf16;
} mha_cpu_features;

mha_cpu_features mha_cpu_detect(void);

// Data cache sizes in bytes, 0 where unknown: L1D and L2 of one core, L3 as CPUID reports it
// (one slice or the whole chip, by vendor).
typedef struct mha_cache_sizes {
  int64_t l1d, l2, l3;
} mha_cache_sizes;

// From CPUID: leaf 4 (Intel), leaf 0x8000001D (AMD with TOPOEXT), else AMD's legacy leaves
// 0x80000005/0x80000006 (hypervisors often hide the others); all 0 on other architectures.
mha_cache_sizes mha_cpu_cache_sizes_cpuid(void);
// Parses an override such as "l1d:48K,l2:1M,l3:32M" (sizes in bytes, with an optional K, M or
// G suffix; any subset of the three names, each once): returns 1 and sets those fields of
// *out, leaving the others, or 0 (and *out unchanged) when the text does not parse.
int mha_parse_cache_sizes(const char* text, mha_cache_sizes* out);
// The sizes the GEMM blocks are computed from: CPUID's, with the fields named in
// MHA_NATIVE_CACHE_SIZES (if it parses) replaced; read once.
mha_cache_sizes mha_cpu_cache_sizes(void);
