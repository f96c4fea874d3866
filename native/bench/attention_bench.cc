// Standalone timing of the attention kernels with the dispatched kernel set, at 1 and 2
// threads (median of repeated runs; the machine is shared, so numbers are noisy):
//  W2  B=1, L=S=2048, H=12, D=64, causal, projections laid out [B, L, H*D]:
//      fused (no weights) vs unfused (mha_sgemm Q.K^T, mha_masked_softmax, mha_sgemm P.V),
//      and the fused path's extra peak memory (max RSS growth over its first call).
//  W3  B=16, H=12, L=1, S=1024, D=64 decode against [B, H, S, D] keys and values:
//      K+V bytes / time, next to a streaming-read probe of the same thread count.
// Reduced precision (time_ab: the two sides alternate in one process; best-of and median):
//  bfloat16 attention against float32 on W1 (B=8, L=S=128, H=12, D=64, the last 32 keys
//      padded in half the batch), W2 (as above, causal) and W5 (B=8, L=64, S=96, H=8, D=64,
//      the last 16 keys padded in half the batch), projections laid out [B, L, H*D];
//  decode over float16 and bfloat16 caches against a float32 one: W3, and W7 (B=8, H=32,
//      Hkv=8, S=2049, D=64, a [B, Hkv, S, D] cache), with the K+V bytes read per second.
// Built by CMakeLists.txt with -DMHA_NATIVE_TESTS=ON (see tools/native-tests.sh).
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <algorithm>
#include <functional>
#include <random>
#include <vector>

#include "bench/bench_ab.h"
#include "bench/bench_clock.h"
#include "core/attention.h"
#include "core/bf16.h"
#include "core/dispatch.h"
#include "core/f16.h"
#include "core/gemm.h"
#include "core/softmax.h"
#include "core/threadpool.h"
#include "core/tuning.h"

namespace {

// Median wall time of fn; *cpu_ms (optional) gets the median process CPU time, which
// tells the work apart from waiting for a loaded machine.
double median_ms(int reps, const std::function<void()>& fn, double* cpu_ms = nullptr) {
  std::vector<double> wall, cpu;
  for (int i = 0; i < reps; ++i) {
    const double w0 = mha_bench::wall_seconds(), c0 = mha_bench::cpu_seconds();
    fn();
    cpu.push_back((mha_bench::cpu_seconds() - c0) * 1e3);
    wall.push_back((mha_bench::wall_seconds() - w0) * 1e3);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  if (cpu_ms) *cpu_ms = cpu[cpu.size() / 2];
  return wall[wall.size() / 2];
}

long max_rss_kb() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

mha_attention_args interleaved_args(int64_t B, int64_t H, int64_t L, int64_t S, int64_t D,
                                    const float* q, const float* k, const float* v, float* out) {
  mha_attention_args a{};
  a.batch = B; a.heads = H; a.kv_heads = H; a.l = L; a.s = S; a.d = D; a.dv = D;
  const int64_t E = H * D;
  a.q = q; a.q_sb = L * E; a.q_sh = D; a.q_sl = E;
  a.k = k; a.k_sb = S * E; a.k_sh = D; a.k_ss = E;
  a.v = v; a.v_sb = S * E; a.v_sh = D; a.v_ss = E;
  a.out = out; a.o_sb = L * E; a.o_sh = D; a.o_sl = E;
  a.rule.scale = 1.0f / sqrtf(static_cast<float>(D));
  a.rule.window_left = a.rule.window_right = -1;
  return a;
}

// One decode step (L = 1) of B sequences against [B, Hkv, S, D] keys and values.
mha_attention_args decode_args(int64_t B, int64_t H, int64_t Hkv, int64_t S, int64_t D, const float* q,
                               const float* k, const float* v, float* out) {
  mha_attention_args a{};
  a.batch = B; a.heads = H; a.kv_heads = Hkv; a.l = 1; a.s = S; a.d = D; a.dv = D;
  a.q = q; a.q_sb = H * D; a.q_sh = D; a.q_sl = D;
  a.k = k; a.k_sb = Hkv * S * D; a.k_sh = S * D; a.k_ss = D;
  a.v = v; a.v_sb = Hkv * S * D; a.v_sh = S * D; a.v_ss = D;
  a.out = out; a.o_sb = H * D; a.o_sh = D; a.o_sl = D;
  a.rule.scale = 1.0f / sqrtf(static_cast<float>(D));
  a.rule.window_left = a.rule.window_right = -1;
  return a;
}

// The unfused baseline: scores = scale * Q.K^T (one GEMM per batch entry over heads),
// masked softmax in place, out = P.V.
void unfused(const mha_attention_args& a, float* scores) {
  const int64_t E = a.heads * a.d, L = a.l, S = a.s;
  for (int64_t b = 0; b < a.batch; ++b) {
    float* sc = scores + b * a.heads * L * S;
    mha_gemm_args g{};
    g.batch = a.heads; g.m = L; g.n = S; g.k = a.d;
    g.a = a.q + b * a.q_sb; g.lda = E; g.stride_a = a.d;
    g.b = static_cast<const float*>(a.k) + b * a.k_sb; g.ldb = E; g.stride_b = a.d; g.trans_b = 1;
    g.c = sc; g.ldc = S; g.stride_c = L * S;
    g.alpha = a.rule.scale;
    mha_sgemm(&g);
  }
  mha_softmax_args sm{};
  sm.batch = a.batch; sm.heads = a.heads; sm.l = L; sm.s = S;
  sm.x = scores; sm.out = scores;
  sm.rule = a.rule;
  sm.rule.scale = 1.0f;
  sm.attn_mask = a.attn_mask; sm.key_padding = a.key_padding;
  mha_masked_softmax(&sm);
  for (int64_t b = 0; b < a.batch; ++b) {
    mha_gemm_args g{};
    g.batch = a.heads; g.m = L; g.n = a.dv; g.k = S;
    g.a = scores + b * a.heads * L * S; g.lda = S; g.stride_a = L * S;
    g.b = static_cast<const float*>(a.v) + b * a.v_sb; g.ldb = E; g.stride_b = a.dv;
    g.c = a.out + b * a.o_sb; g.ldc = E; g.stride_c = a.dv;
    g.alpha = 1.0f;
    mha_sgemm(&g);
  }
}

// Streaming read bandwidth (GB/s) of the pool's threads over buf (integer sums, which the
// compiler vectorizes at any ISA).
double read_bandwidth(const std::vector<uint32_t>& buf) {
  const int64_t chunks = 64, per = buf.size() / chunks;
  std::vector<uint32_t> sums(chunks);
  const double ms = median_ms(7, [&] {
    mha::parallel_for(chunks, mha::kMinParallelFlops, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        const uint32_t* p = buf.data() + c * per;
        uint32_t s = 0;
        for (int64_t i = 0; i < per; ++i) s += p[i];
        sums[c] = s;
      }
    });
  });
  if (std::count(sums.begin(), sums.end(), 0u) == chunks) printf("(probe sums zero)\n");
  return buf.size() * 4.0 / (ms * 1e6);
}

// a's values stored as float16 or bfloat16.
std::vector<uint16_t> stored16(const std::vector<float>& a, mha_storage storage) {
  std::vector<uint16_t> out(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    out[i] = storage == MHA_STORAGE_FLOAT16 ? mha_f16_detail::from_float(a[i]) : mha_bf16_detail::from_float(a[i]);
  return out;
}

// bfloat16 attention against float32 on one workload shape, key padding on the last `padded`
// keys of every other entry.
void bf16_attention_row(const char* name, int64_t B, int64_t L, int64_t S, int64_t H, int64_t padded, int causal) {
  const int64_t D = 64, E = H * D;
  const auto q = random_vec(B * L * E, 11), k = random_vec(B * S * E, 12), v = random_vec(B * S * E, 13);
  std::vector<float> out(B * L * E);
  std::vector<uint8_t> pad(B * S, 0);
  for (int64_t b = 1; b < B; b += 2)
    for (int64_t j = S - padded; j < S; ++j) pad[b * S + j] = 1;
  mha_attention_args f32 = interleaved_args(B, H, L, S, D, q.data(), k.data(), v.data(), out.data());
  f32.rule.causal = causal;
  if (padded) f32.key_padding = {pad.data(), MHA_MASK_BOOL, S, 0, 0, 1};
  mha_attention_args bf16 = f32;
  bf16.precision = MHA_PRECISION_BFLOAT16;
  for (int threads : {1, 2}) {
    mha::set_num_threads(threads);
    const mha_bench::AbTiming t = mha_bench::time_ab(S >= 1024 ? 11 : 101, [&] { mha_attention(&f32); },
                                                     [&] { mha_attention(&bf16); });
    printf("%s attention bf16 (%s) vs f32 threads=%d: best %.3f vs %.3f ms: x%.2f; median %.3f vs %.3f ms: x%.2f\n",
           name, mha_kernels()->attn_bf16 ? mha_kernels()->attn_bf16->name : "emulated", threads, t.b.best_ms,
           t.a.best_ms, t.a.best_ms / t.b.best_ms, t.b.median_ms, t.a.median_ms, t.a.median_ms / t.b.median_ms);
  }
}

// Decode over a [B, Hkv, S, D] cache stored as float16 and as bfloat16, each against float32.
void cache_decode_row(const char* name, int64_t B, int64_t H, int64_t Hkv, int64_t S) {
  const int64_t D = 64;
  const auto q = random_vec(B * H * D, 4), k = random_vec(B * Hkv * S * D, 5), v = random_vec(B * Hkv * S * D, 6);
  std::vector<float> out(B * H * D);
  const mha_attention_args f32 = decode_args(B, H, Hkv, S, D, q.data(), k.data(), v.data(), out.data());
  const double values = 2.0 * B * Hkv * S * D;
  for (mha_storage storage : {MHA_STORAGE_FLOAT16, MHA_STORAGE_BFLOAT16}) {
    const std::vector<uint16_t> k16 = stored16(k, storage), v16 = stored16(v, storage);
    mha_attention_args half = f32;
    half.k = k16.data();
    half.v = v16.data();
    half.kv_dtype = storage;
    for (int threads : {1, 2}) {
      mha::set_num_threads(threads);
      const mha_bench::AbTiming t = mha_bench::time_ab(41, [&] { mha_attention(&f32); }, [&] { mha_attention(&half); });
      printf("%s decode %s cache vs f32 threads=%d: best %.3f vs %.3f ms: x%.2f (%.1f vs %.1f GB/s); median %.3f vs "
             "%.3f ms: x%.2f\n", name, storage == MHA_STORAGE_FLOAT16 ? "f16" : "bf16", threads, t.b.best_ms,
             t.a.best_ms, t.a.best_ms / t.b.best_ms, values * 2 / (t.b.best_ms * 1e6), values * 4 / (t.a.best_ms * 1e6),
             t.b.median_ms, t.a.median_ms, t.a.median_ms / t.b.median_ms);
    }
  }
}

}  // namespace

// Usage: attention_bench [section...], sections fused, decode, bf16, cache (default: all).
int main(int argc, char** argv) {
  auto wants = [&](const char* section) {
    bool all = argc == 1;
    for (int i = 1; i < argc; ++i) all |= strcmp(argv[i], section) == 0;
    return all;
  };
  printf("kernel set: %s, bf16 attention: %s\n", mha_kernels()->isa,
         mha_kernels()->attn_bf16 ? mha_kernels()->attn_bf16->name : "emulated");
  if (wants("fused")) {  // W2
    const int64_t B = 1, L = 2048, S = 2048, H = 12, D = 64, E = H * D;
    const auto q = random_vec(B * L * E, 1), k = random_vec(B * S * E, 2), v = random_vec(B * S * E, 3);
    std::vector<float> out(B * L * E);
    mha_attention_args a = interleaved_args(B, H, L, S, D, q.data(), k.data(), v.data(), out.data());
    a.rule.causal = 1;
    const long rss0 = max_rss_kb();
    mha_attention(&a);
    const long extra_kb = max_rss_kb() - rss0;
    std::vector<float> scores(B * H * L * S);
    for (int threads : {1, 2}) {
      mha::set_num_threads(threads);
      double fused_cpu, base_cpu;
      const double fused = median_ms(7, [&] { mha_attention(&a); }, &fused_cpu);
      const double base = median_ms(5, [&] { unfused(a, scores.data()); }, &base_cpu);
      printf("W2 causal L=S=2048 threads=%d: fused %.2f ms (cpu %.2f), unfused %.2f ms (cpu %.2f): x%.2f; "
             "fused extra peak RSS %.1f MB, unfused scores %.1f MB\n", threads, fused, fused_cpu, base,
             base_cpu, base / fused, extra_kb / 1024.0, scores.size() * 4.0 / (1 << 20));
    }
    // The same causal attention under a 256-key sliding window, alternating with the full one.
    mha_attention_args windowed = a;
    windowed.rule.window_left = 256;
    for (int threads : {1, 2}) {
      mha::set_num_threads(threads);
      const double full = median_ms(7, [&] { mha_attention(&a); });
      const double band = median_ms(7, [&] { mha_attention(&windowed); });
      printf("W2 causal L=S=2048 threads=%d: window 256 %.2f ms against full %.2f ms: x%.2f\n", threads, band, full,
             full / band);
    }
  }
  if (wants("decode")) {  // W3
    const int64_t B = 16, H = 12, S = 1024, D = 64;
    const auto q = random_vec(B * H * D, 4), k = random_vec(B * H * S * D, 5), v = random_vec(B * H * S * D, 6);
    std::vector<float> out(B * H * D);
    const mha_attention_args a = decode_args(B, H, H, S, D, q.data(), k.data(), v.data(), out.data());
    const double bytes = 2.0 * B * H * S * D * 4;
    const std::vector<uint32_t> probe(64 << 20, 1u);  // 256 MB
    for (int threads : {1, 2}) {
      mha::set_num_threads(threads);
      double cpu;
      const double ms = median_ms(21, [&] { mha_attention(&a); }, &cpu);
      const double bw = read_bandwidth(probe);
      printf("W3 decode B=16 H=12 S=1024 threads=%d: %.3f ms (cpu %.3f), %.1f GB/s (read probe %.1f GB/s: %.0f%%)\n",
             threads, ms, cpu, bytes / (ms * 1e6), bw, 100.0 * bytes / (ms * 1e6) / bw);
    }
  }
  if (wants("bf16")) {
    bf16_attention_row("W1", 8, 128, 128, 12, 32, 0);
    bf16_attention_row("W2", 1, 2048, 2048, 12, 0, 1);
    bf16_attention_row("W5", 8, 64, 96, 8, 16, 0);
  }
  if (wants("cache")) {
    cache_decode_row("W3", 16, 12, 12, 1024);
    cache_decode_row("W7", 8, 32, 8, 2049);
  }
  return 0;
}
