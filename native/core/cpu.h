// What the CPU and the OS support, detected once from CPUID + XGETBV on x86-64
// (a vector ISA counts only where the OS saves its register state), and from the
// target on aarch64 (NEON is part of the base ISA there).
#pragma once

typedef struct mha_cpu_features {
  int avx2_fma;  // AVX2 + FMA + F16C, with OS-saved XMM/YMM state (XCR0 bits 1, 2)
  int avx512;    // AVX-512 F/BW/DQ/VL, with OS-saved XMM/YMM/opmask/ZMM state (XCR0 bits 1, 2, 5, 6, 7)
  int neon;      // AdvSIMD (aarch64)
} mha_cpu_features;

mha_cpu_features mha_cpu_detect(void);
