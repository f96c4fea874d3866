// CPU feature detection: CPUID for what the processor implements, XGETBV for what the OS
// saves on a context switch (and, for the AMX tile data, arch_prctl for the OS's permission);
// the data cache sizes from CPUID. Compiled with baseline flags (no -mavx*).
#include "core/cpu.h"

#include <ctype.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER)
#include <intrin.h>
#include <immintrin.h>
#else
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

// Asks the OS for the AMX tile data state (Linux 5.16+: the state is off until a process asks
// for it, and using a tile instruction before then raises SIGILL). Elsewhere: no AMX.
bool request_amx_permission() {
#if defined(__linux__)
  const long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

// One cache of a deterministic cache-parameters leaf (4 or 0x8000001D, same layout):
// ways x partitions x line size x sets.
int64_t cache_bytes(const Regs& r) {
  return (int64_t)((r.ebx >> 22) + 1) * (((r.ebx >> 12) & 0x3ff) + 1) * ((r.ebx & 0xfff) + 1) *
         ((int64_t)r.ecx + 1);
}

// Walks the subleaves of leaf 4 or 0x8000001D: type 1 = data, 3 = unified; level in EAX[7:5].
mha_cache_sizes deterministic_caches(uint32_t leaf) {
  mha_cache_sizes s{0, 0, 0};
  for (uint32_t i = 0; i < 16; ++i) {
    const Regs r = cpuid(leaf, i);
    const uint32_t type = r.eax & 31, level = (r.eax >> 5) & 7;
    if (type == 0) break;
    if (type != 1 && type != 3) continue;
    if (level == 1) s.l1d = cache_bytes(r);
    else if (level == 2) s.l2 = cache_bytes(r);
    else if (level == 3) s.l3 = cache_bytes(r);
  }
  return s;
}

}  // namespace

mha_cpu_features mha_cpu_detect(void) {
  mha_cpu_features f{0, 0, 0, 0, 0};
  if (cpuid(0, 0).eax < 7) return f;
  Regs l1 = cpuid(1, 0);
  // OSXSAVE (ECX bit 27) must be set before XGETBV may be executed.
  if (!bit(l1.ecx, 27)) return f;
  uint64_t xcr0 = xgetbv0();
  const uint64_t ymm_state = (1u << 1) | (1u << 2);                         // SSE, AVX
  const uint64_t zmm_state = ymm_state | (1u << 5) | (1u << 6) | (1u << 7); // opmask, ZMM_Hi256, Hi16_ZMM
  const uint64_t tile_state = (1u << 17) | (1u << 18);                      // XTILECFG, XTILEDATA
  Regs l7 = cpuid(7, 0);
  bool avx = bit(l1.ecx, 28), fma = bit(l1.ecx, 12), f16c = bit(l1.ecx, 29);
  bool avx2 = bit(l7.ebx, 5);
  f.avx2_fma = avx && fma && f16c && avx2 && (xcr0 & ymm_state) == ymm_state;
  bool avx512 = bit(l7.ebx, 16) && bit(l7.ebx, 17) && bit(l7.ebx, 30) && bit(l7.ebx, 31);  // F DQ BW VL
  f.avx512 = f.avx2_fma && avx512 && (xcr0 & zmm_state) == zmm_state;
  f.avx512_bf16 = f.avx512 && l7.eax >= 1 && bit(cpuid(7, 1).eax, 5);
  const bool amx = bit(l7.edx, 24) && bit(l7.edx, 22);  // AMX-TILE, AMX-BF16
  f.amx_bf16 = f.avx512 && amx && (xcr0 & tile_state) == tile_state && request_amx_permission();
  return f;
}

mha_cache_sizes mha_cpu_cache_sizes_cpuid(void) {
  const Regs l0 = cpuid(0, 0);
  const bool amd = l0.ebx == 0x68747541u;  // "Auth"enticAMD
  const uint32_t max_ext = cpuid(0x80000000u, 0).eax;
  if (!amd && l0.eax >= 4) return deterministic_caches(4);
  if (!amd) return mha_cache_sizes{0, 0, 0};
  if (max_ext >= 0x8000001Du && bit(cpuid(0x80000001u, 0).ecx, 22)) {  // TOPOEXT
    const mha_cache_sizes s = deterministic_caches(0x8000001Du);
    if (s.l1d && s.l2) return s;
  }
  mha_cache_sizes s{0, 0, 0};
  if (max_ext >= 0x80000005u) s.l1d = (int64_t)(cpuid(0x80000005u, 0).ecx >> 24) << 10;
  if (max_ext >= 0x80000006u) {
    const Regs r = cpuid(0x80000006u, 0);
    s.l2 = (int64_t)(r.ecx >> 16) << 10;
    s.l3 = (int64_t)(r.edx >> 18) << 19;  // in 512 KiB units
  }
  return s;
}

#else

mha_cpu_features mha_cpu_detect(void) {
  mha_cpu_features f{0, 0, 0, 0, 0};
#if defined(__aarch64__) || defined(_M_ARM64)
  f.neon = 1;
#endif
  return f;
}

mha_cache_sizes mha_cpu_cache_sizes_cpuid(void) { return mha_cache_sizes{0, 0, 0}; }

#endif

int mha_parse_cache_sizes(const char* text, mha_cache_sizes* out) {
  if (!text || !*text) return 0;
  mha_cache_sizes s = *out;
  bool seen[3] = {false, false, false};
  const char* p = text;
  for (;;) {
    int which = -1;
    const char* names[3] = {"l1d:", "l2:", "l3:"};
    for (int i = 0; i < 3 && which < 0; ++i) {
      int n = 0;
      while (names[i][n] && tolower((unsigned char)p[n]) == names[i][n]) ++n;
      if (!names[i][n]) which = i, p += n;
    }
    if (which < 0 || seen[which] || !isdigit((unsigned char)*p)) return 0;
    seen[which] = true;
    char* end;
    long long v = strtoll(p, &end, 10);
    p = end;
    const char unit = (char)toupper((unsigned char)*p);
    if (unit == 'K' || unit == 'M' || unit == 'G') {
      v <<= unit == 'K' ? 10 : unit == 'M' ? 20 : 30;
      ++p;
    }
    (which == 0 ? s.l1d : which == 1 ? s.l2 : s.l3) = v;
    if (*p == '\0') break;
    if (*p++ != ',') return 0;
  }
  *out = s;
  return 1;
}

mha_cache_sizes mha_cpu_cache_sizes(void) {
  static const mha_cache_sizes sizes = [] {
    mha_cache_sizes s = mha_cpu_cache_sizes_cpuid();
    mha_parse_cache_sizes(getenv("MHA_NATIVE_CACHE_SIZES"), &s);
    return s;
  }();
  return sizes;
}
