// CPU feature detection: CPUID for what the processor implements, XGETBV for what the OS
// saves on a context switch. Compiled with baseline flags (no -mavx*).
#include "core/cpu.h"

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER)
#include <intrin.h>
#include <immintrin.h>
#else
#include <cpuid.h>
#endif
#include <stdint.h>

namespace {

struct Regs { uint32_t eax, ebx, ecx, edx; };

Regs cpuid(uint32_t leaf, uint32_t subleaf) {
  Regs r{0, 0, 0, 0};
#if defined(_MSC_VER)
  int v[4];
  __cpuidex(v, (int)leaf, (int)subleaf);
  r = {(uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2], (uint32_t)v[3]};
#else
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

uint64_t xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  uint32_t lo, hi;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));  // xgetbv
  return ((uint64_t)hi << 32) | lo;
#endif
}

bool bit(uint32_t v, int b) { return (v >> b) & 1u; }

}  // namespace

mha_cpu_features mha_cpu_detect(void) {
  mha_cpu_features f{0, 0, 0};
  if (cpuid(0, 0).eax < 7) return f;
  Regs l1 = cpuid(1, 0);
  // OSXSAVE (ECX bit 27) must be set before XGETBV may be executed.
  if (!bit(l1.ecx, 27)) return f;
  uint64_t xcr0 = xgetbv0();
  const uint64_t ymm_state = (1u << 1) | (1u << 2);                         // SSE, AVX
  const uint64_t zmm_state = ymm_state | (1u << 5) | (1u << 6) | (1u << 7); // opmask, ZMM_Hi256, Hi16_ZMM
  Regs l7 = cpuid(7, 0);
  bool avx = bit(l1.ecx, 28), fma = bit(l1.ecx, 12), f16c = bit(l1.ecx, 29);
  bool avx2 = bit(l7.ebx, 5);
  f.avx2_fma = avx && fma && f16c && avx2 && (xcr0 & ymm_state) == ymm_state;
  bool avx512 = bit(l7.ebx, 16) && bit(l7.ebx, 17) && bit(l7.ebx, 30) && bit(l7.ebx, 31);  // F DQ BW VL
  f.avx512 = f.avx2_fma && avx512 && (xcr0 & zmm_state) == zmm_state;
  return f;
}

#else

mha_cpu_features mha_cpu_detect(void) {
  mha_cpu_features f{0, 0, 0};
#if defined(__aarch64__) || defined(_M_ARM64)
  f.neon = 1;
#endif
  return f;
}

#endif
