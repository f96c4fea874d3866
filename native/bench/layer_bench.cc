// Standalone timing of a whole layer (mha_model_forward: projections, attention, output
// projection) with dtype bfloat16 against float32, on the dispatched kernel set, at 1 and 2
// threads; the two models run alternately in one process (bench_ab.h: best-of and median),
// the machine being shared.
//  W1  B=8, L=S=128, E=768, H=12 self-attention, the last 32 keys padded in half the batch
//  W2  B=1, L=S=2048, E=768, H=12 self-attention, causal
//  W5  B=8, L=64, S=96, E=512, H=8 cross-attention, the last 16 keys padded in half the batch
// Built by CMakeLists.txt with -DMHA_NATIVE_TESTS=ON (target native_bench).
#include <math.h>
#include <stdio.h>

#include <random>
#include <vector>

#include "bench/bench_ab.h"
#include "core/dispatch.h"
#include "core/mha_model.h"
#include "core/threadpool.h"

namespace {

std::vector<float> random_vec(size_t n, uint32_t seed, float amp) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-amp, amp);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

void layer_row(const char* name, int64_t B, int64_t L, int64_t S, int64_t E, int64_t H, int64_t padded, int causal) {
  const float w = 1.0f / sqrtf(static_cast<float>(E));
  const auto wq = random_vec(E * E, 1, w), wk = random_vec(E * E, 2, w), wv = random_vec(E * E, 3, w),
             wo = random_vec(E * E, 4, w), bias = random_vec(E, 5, w);
  mha_model_desc d{};
  d.embed_dim = E; d.num_heads = H; d.num_kv_heads = H; d.k_dim = E; d.v_dim = E;
  d.q_weight = wq.data(); d.k_weight = wk.data(); d.v_weight = wv.data(); d.out_weight = wo.data();
  d.q_bias = d.k_bias = d.v_bias = d.out_bias = bias.data();
  d.rule.scale = 1.0f / sqrtf(static_cast<float>(E / H));
  d.rule.window_left = d.rule.window_right = -1;
  mha_model* f32 = mha_model_create(&d);
  d.dtype = MHA_PRECISION_BFLOAT16;
  mha_model* bf16 = mha_model_create(&d);
  const bool self = L == S;
  const auto x = random_vec(B * L * E, 6, 1.0f), mem = random_vec(B * S * E, 7, 1.0f);
  std::vector<float> out(B * L * E);
  std::vector<uint8_t> pad(B * S, 0);
  for (int64_t b = 1; b < B; b += 2)
    for (int64_t j = S - padded; j < S; ++j) pad[b * S + j] = 1;
  mha_forward_args a{};
  a.batch = B; a.l = L; a.s = S;
  a.query = x.data(); a.key = a.value = self ? x.data() : mem.data();
  a.self_attention = self;
  a.causal = causal;
  if (padded) a.key_padding = {pad.data(), MHA_MASK_BOOL, S, 0, 0, 1};
  a.out = out.data();
  for (int threads : {1, 2}) {
    mha::set_num_threads(threads);
    const mha_bench::AbTiming t = mha_bench::time_ab(L >= 1024 ? 11 : 41, [&] { mha_model_forward(f32, &a); },
                                                     [&] { mha_model_forward(bf16, &a); });
    printf("%s layer bf16 vs f32 threads=%d: best %.3f vs %.3f ms: x%.2f; median %.3f vs %.3f ms: x%.2f\n", name,
           threads, t.b.best_ms, t.a.best_ms, t.a.best_ms / t.b.best_ms, t.b.median_ms, t.a.median_ms,
           t.a.median_ms / t.b.median_ms);
  }
  mha_model_free(f32);
  mha_model_free(bf16);
}

}  // namespace

int main() {
  printf("kernel set: %s, bf16 GEMM: %s, bf16 attention: %s\n", mha_kernels()->isa, mha_kernels()->bf16->name,
         mha_kernels()->attn_bf16 ? mha_kernels()->attn_bf16->name : "emulated");
  layer_row("W1", 8, 128, 128, 768, 12, 32, 0);
  layer_row("W2", 1, 2048, 2048, 768, 12, 0, 1);
  layer_row("W5", 8, 64, 96, 512, 8, 16, 0);
  return 0;
}
