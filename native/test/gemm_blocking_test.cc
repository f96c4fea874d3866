// Standalone test of the GEMM blocks computed from the cache sizes (core/gemm_blocking.h):
//   - MHA_NATIVE_CACHE_SIZES parsing;
//   - the blocks for an Intel Xeon's sizes (48 KiB L1D, 2 MiB L2) and an AMD Zen 5's (48 KiB,
//     1 MiB), for the float32 and bfloat16 tables of the kernel set, against the rules (and
//     the exact values for the AVX-512 tables); no sizes: the tables' own blocks;
//   - the process's table built under a forced MHA_NATIVE_CACHE_SIZES (the Intel sizes);
//   - GEMM results under each set of blocks against a float64 reference and each other.
//   gemm_blocking_test --isa <set>   (how ctest runs it)
// Exits nonzero on any failure.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/dispatch.h"
#include "core/gemm.h"
#include "core/gemm_blocking.h"
#include "core/threadpool.h"

namespace {

int failures = 0;
const mha_cache_sizes kIntel{48 << 10, 2 << 20, 0}, kAmd{48 << 10, 1 << 20, 0};
const char* kIntelText = "l1d:48K,l2:2M";

void expect(bool ok, const std::string& what) {
  if (ok) return;
  fprintf(stderr, "FAIL %s\n", what.c_str());
  ++failures;
}

void parsing() {
  mha_cache_sizes s{1, 2, 3};
  expect(mha_parse_cache_sizes("l1d:48K,l2:1M,l3:32M", &s) && s.l1d == 48 << 10 &&
             s.l2 == 1 << 20 && s.l3 == 32 << 20, "parse all three");
  s = {1, 2, 3};
  expect(mha_parse_cache_sizes("L2:2m", &s) && s.l1d == 1 && s.l2 == 2 << 20 && s.l3 == 3,
         "parse one, case-insensitive");
  expect(mha_parse_cache_sizes("l3:1G,l1d:32768", &s) && s.l1d == 32768 && s.l3 == 1 << 30,
         "parse plain bytes and G");
  for (const char* bad : {"", "l1d:", "x:1", "l1d:48K,", "l1d:1,l1d:2", "l2:1M;l3:2M", "l2:-1"}) {
    s = {1, 2, 3};
    expect(!mha_parse_cache_sizes(bad, &s) && s.l1d == 1 && s.l2 == 2 && s.l3 == 3,
           std::string("reject '") + bad + "'");
  }
}

// The rules of gemm_blocking.h, for any table.
void rules(const char* name, mha_gemm_blocks b, mha_cache_sizes c, int mr, int nr, int elem,
           int kstep) {
  const std::string what = std::string(name) + " blocks";
  expect(b.kc % kstep == 0 && b.mc % mr == 0 && b.nc % nr == 0, what + ": granules");
  expect(b.kc >= kstep && b.mc >= mr && b.nc >= nr, what + ": at least one granule");
  expect(int64_t(mr) * b.kc * elem <= c.l1d * 3 / 8 || b.kc == kstep, what + ": A micro-panel in L1");
  expect(int64_t(b.kc) * b.nc * elem <= c.l2 / 2 || b.nc == nr, what + ": B block in L2");
  expect(int64_t(b.mc) * b.kc * elem <= c.l2 / 4 || b.mc == mr, what + ": A block in L2");
}

struct Expected { const char* name; mha_cache_sizes c; mha_gemm_blocks b; };

void blocks(const mha_kernel_table& set) {
  const mha_gemm_kernels* g = set.gemm;
  const mha_sbgemm_kernels* h = set.bf16;
  for (mha_cache_sizes c : {kIntel, kAmd}) {
    const mha_gemm_kernels fg = mha_gemm_kernels_blocked(g, c);
    const mha_sbgemm_kernels fh = mha_sbgemm_kernels_blocked(h, c);
    rules(g->name, {fg.mc, fg.kc, fg.nc}, c, g->mr, g->nr, 4, 1);
    rules(h->name, {fh.mc, fh.kc, fh.nc}, c, h->mr, h->nr, 2, h->kstep);
    printf("  l1d %lld K, l2 %lld K: %s mc %d kc %d nc %d; %s mc %d kc %d nc %d\n",
           (long long)(c.l1d >> 10), (long long)(c.l2 >> 10), g->name, fg.mc, fg.kc, fg.nc,
           h->name, fh.mc, fh.kc, fh.nc);
  }
  // The AVX-512 tables' exact blocks (12 x 32 tiles).
  const Expected expected[] = {
      {"sgemm_avx512_12x32", kIntel, {336, 384, 672}},
      {"sgemm_avx512_12x32", kAmd, {168, 384, 320}},
      {"sbgemm_avx512bf16_12x32", kIntel, {336, 768, 672}},
      {"sbgemm_avx512bf16_12x32", kAmd, {168, 768, 320}},
      {"sbgemm_avx512_12x32", kAmd, {168, 768, 320}},
  };
  std::vector<const mha_sbgemm_kernels*> bf16_tables = {h};
#if defined(MHA_HAVE_AVX512BF16)
  bf16_tables.push_back(&mha_sbgemm_kernels_avx512bf16);  // blocks only: nothing runs here
#endif
  for (const Expected& e : expected) {
    mha_gemm_blocks b{0, 0, 0};
    const mha_sbgemm_kernels* hb = nullptr;
    for (const mha_sbgemm_kernels* t : bf16_tables)
      if (strcmp(e.name, t->name) == 0) hb = t;
    if (strcmp(e.name, g->name) == 0) {
      const mha_gemm_kernels k = mha_gemm_kernels_blocked(g, e.c);
      b = {k.mc, k.kc, k.nc};
    } else if (hb) {
      const mha_sbgemm_kernels k = mha_sbgemm_kernels_blocked(hb, e.c);
      b = {k.mc, k.kc, k.nc};
    } else {
      continue;
    }
    char buf[160];
    snprintf(buf, sizeof buf, "%s at l2 %lld K: mc %d kc %d nc %d, expected %d %d %d", e.name,
             (long long)(e.c.l2 >> 10), b.mc, b.kc, b.nc, e.b.mc, e.b.kc, e.b.nc);
    expect(b.mc == e.b.mc && b.kc == e.b.kc && b.nc == e.b.nc, buf);
  }
  // Unknown sizes: the tables' own blocks.
  const mha_gemm_kernels ug = mha_gemm_kernels_blocked(g, {0, 0, 0});
  const mha_sbgemm_kernels uh = mha_sbgemm_kernels_blocked(h, {48 << 10, 0, 0});
  expect(ug.mc == g->mc && ug.kc == g->kc && ug.nc == g->nc && uh.mc == h->mc &&
             uh.kc == h->kc && uh.nc == h->nc, "unknown sizes keep the fallback");
}

// C of a GEMM past every block on the given tables: float32 and bfloat16.
void gemm_once(const mha_gemm_kernels& g, const mha_sbgemm_kernels& h, std::vector<float>* c32,
               std::vector<float>* c16, const std::vector<float>& a, const std::vector<float>& b,
               int64_t m, int64_t n, int64_t k) {
  c32->assign((size_t)(m * n), NAN);
  c16->assign((size_t)(m * n), NAN);
  mha_gemm_args args{1, m, n, k, a.data(), k, 0, 0, b.data(), k, 0, 1, c32->data(), n, 0,
                     1.0f, 0.0f, nullptr, MHA_PRECISION_FLOAT32};
  mha_sgemm_with(&g, &args);
  args.c = c16->data();
  mha_sbgemm_with(&h, &args);
}

void results(const mha_kernel_table& set) {
  const int64_t m = 400, n = 700, k = 900;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> a((size_t)(m * k)), b((size_t)(n * k));
  for (float& x : a) x = d(rng);
  for (float& x : b) x = d(rng);
  std::vector<float> ref32, ref16;
  gemm_once(*set.gemm, *set.bf16, &ref32, &ref16, a, b, m, n, k);  // the tables' own blocks
  for (mha_cache_sizes c : {kIntel, kAmd}) {
    const mha_gemm_kernels g = mha_gemm_kernels_blocked(set.gemm, c);
    const mha_sbgemm_kernels h = mha_sbgemm_kernels_blocked(set.bf16, c);
    std::vector<float> c32, c16;
    gemm_once(g, h, &c32, &c16, a, b, m, n, k);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double exact = 0, mag = 0;
        if (j % 37 == 0) {  // a float64 reference on a sample of columns
          for (int64_t p = 0; p < k; ++p) exact += (double)a[i * k + p] * b[j * k + p];
          for (int64_t p = 0; p < k; ++p) mag += fabs((double)a[i * k + p] * b[j * k + p]);
          if (!(fabs(c32[i * n + j] - exact) <= 1e-6 * (k + 4) * mag)) {
            expect(false, std::string(g.name) + ": result against float64");
            return;
          }
        }
        const size_t x = (size_t)(i * n + j);
        const double tol = 1e-6 * (k + 4) * (fabs(ref32[x]) + 8);
        if (!(fabs(c32[x] - ref32[x]) <= tol) || !(fabs(c16[x] - ref16[x]) <= tol)) {
          expect(false, std::string(g.name) + " / " + h.name + ": blocks changed the result");
          return;
        }
      }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || strcmp(argv[1], "--isa") != 0) {
    fprintf(stderr, "usage: gemm_blocking_test --isa <kernel set>\n");
    return 2;
  }
  const char* isa = argv[2];
  setenv("MHA_NATIVE_ISA", isa, 1);
  setenv("MHA_NATIVE_CACHE_SIZES", kIntelText, 1);  // read once, by the first mha_kernels()
  parsing();
  const mha_kernel_table set = mha_kernels_for(isa, mha_cpu_detect());
  blocks(set);
  // The process's table: the Intel sizes from the environment, whatever CPUID says.
  const mha_cache_sizes used = mha_cpu_cache_sizes();
  expect(used.l1d == kIntel.l1d && used.l2 == kIntel.l2, "MHA_NATIVE_CACHE_SIZES is used");
  const mha_kernel_table* kt = mha_kernels();
  const mha_gemm_kernels g = mha_gemm_kernels_blocked(set.gemm, used);
  const mha_sbgemm_kernels h = mha_sbgemm_kernels_blocked(set.bf16, used);
  expect(kt->gemm->mc == g.mc && kt->gemm->kc == g.kc && kt->gemm->nc == g.nc &&
             kt->bf16->mc == h.mc && kt->bf16->kc == h.kc && kt->bf16->nc == h.nc,
         "the process's table has the forced sizes' blocks");
  const mha_cache_sizes cpuid = mha_cpu_cache_sizes_cpuid();
  printf("  CPUID: l1d %lld K, l2 %lld K, l3 %lld K\n", (long long)(cpuid.l1d >> 10),
         (long long)(cpuid.l2 >> 10), (long long)(cpuid.l3 >> 10));
  for (int threads : {1, 2}) {
    mha::set_num_threads(threads);
    results(set);
  }
  printf("%s (%s, %s): %s\n", isa, set.gemm->name, set.bf16->name, failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
