// Standalone test of the reduced-precision storage and model paths on the kernel set dispatch
// picks under --isa (for avx512 on a CPU with AVX512-BF16, its avx512bf16 level, so that the
// model's attention runs the bfloat16 pair kernels; attention_test covers the emulation there):
//  - the set's row conversions (attn_kernels.h widen_row / narrow_row) against the portable
//    ones (core/f16.h, core/bf16.h): every float16 pattern widened; ties, NaN, float16
//    overflow, denormals and random values narrowed, bit for bit (NaN: stays NaN);
//  - mha_kv_cache_store into float16 and bfloat16 caches (values and padding flags);
//  - an mha_model of dtype bfloat16 (projections and attention, GQA, odd sizes) against a
//    double evaluation: within 1e-2 relative L2 of float64 and no worse than twice float64
//    with the same operands rounded to bfloat16 (inputs, weights, q, k, v, P, the context);
//  - a float32 model decoding through float16 and bfloat16 caches against a double evaluation
//    over the stored values (float32-level error).
// Built by CMakeLists.txt with -DMHA_NATIVE_TESTS=ON (see tools/native-tests.sh).
//   reduced_precision_test --isa <set>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/bf16.h"
#include "core/cpu.h"
#include "core/dispatch.h"
#include "core/f16.h"
#include "core/kv_cache.h"
#include "core/mha_model.h"

namespace {

int g_failures = 0, g_checks = 0;

void check(bool ok, const std::string& what) {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  printf("FAIL %s\n", what.c_str());
}

uint32_t bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}
float from_bits(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}
float round_bf16(float x) { return mha_bf16_detail::to_float(mha_bf16_detail::from_float(x)); }
float stored(float x, mha_storage s) {
  if (s == MHA_STORAGE_FLOAT16) return mha_f16_detail::to_float(mha_f16_detail::from_float(x));
  if (s == MHA_STORAGE_BFLOAT16) return round_bf16(x);
  return x;
}
uint16_t portable16(float x, mha_storage s) {
  return s == MHA_STORAGE_FLOAT16 ? mha_f16_detail::from_float(x) : mha_bf16_detail::from_float(x);
}

void conversions(const mha_attn_kernels* k) {
  // every float16 pattern widened (odd lengths: the partial tail too)
  std::vector<uint16_t> h(65536 + 7);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i);
  std::vector<float> wide(h.size());
  k->widen_row(h.data(), mha_kv_format{MHA_STORAGE_FLOAT16, 0}, wide.data(), static_cast<int64_t>(h.size()));
  int bad = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    const float want = mha_f16_detail::to_float(h[i]);
    bad += isnan(want) ? !isnan(wide[i]) : bits(want) != bits(wide[i]);
  }
  check(bad == 0, "widen_row float16: " + std::to_string(bad) + " patterns differ");
  // narrowing: ties, overflow, NaN, infinities, denormals, then random values of every scale
  std::vector<float> x = {0.0f, -0.0f, 1.0f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 1.0f + 0x1p-8f,
                          1.0f + 3 * 0x1p-8f, 65504.0f, 65519.99f, 65520.0f, -65520.0f, 1e9f, INFINITY,
                          -INFINITY, NAN, -NAN, from_bits(0x7f800001u), from_bits(0xffc12345u), 0x1p-24f,
                          0x1p-25f, 0x1.8p-25f, 3 * 0x1p-26f, 0x1p-14f, 0x1.ffcp-15f, 1e-30f, 3.0e38f, 0x1p-130f};
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> ex(-30, 20);
  for (int i = 0; i < 4000; ++i) x.push_back((i % 2 ? -1 : 1) * ldexpf(mant(rng), ex(rng)));
  for (mha_storage s : {MHA_STORAGE_FLOAT16, MHA_STORAGE_BFLOAT16}) {
    std::vector<uint16_t> y(x.size(), 0xdead);
    k->narrow_row(x.data(), s, y.data(), static_cast<int64_t>(x.size()));
    int wrong = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const uint16_t want = portable16(x[i], s);
      const bool nan_in = isnan(x[i]);
      const float got = s == MHA_STORAGE_FLOAT16 ? mha_f16_detail::to_float(y[i]) : mha_bf16_detail::to_float(y[i]);
      wrong += nan_in ? !isnan(got) : y[i] != want;
    }
    check(wrong == 0, std::string("narrow_row ") + (s == MHA_STORAGE_FLOAT16 ? "float16" : "bfloat16") + ": " +
                          std::to_string(wrong) + " values differ");
  }
  check(mha_f16_detail::from_float(65520.0f) == 0x7c00 && mha_f16_detail::from_float(1.0f + 0x1p-11f) == 0x3c00 &&
            mha_f16_detail::from_float(1.0f + 3 * 0x1p-11f) == 0x3c02 && mha_bf16_detail::from_float(1.0f + 0x1p-8f) == 0x3f80,
        "portable rounding: overflow to infinity, ties to even");
}

void cache_store() {
  const int64_t B = 2, H = 3, cap = 9, D = 5, t = 4;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-3, 3);
  std::vector<float> k(B * t * H * D), v(k.size());
  for (auto* a : {&k, &v})
    for (auto& e : *a) e = u(rng);
  k[3] = 70000.0f;  // float16 overflow
  v[4] = NAN;
  const std::vector<int64_t> starts = {0, 5}, rows = {0, t, 2 * t};
  const std::vector<uint8_t> pad = {0, 1, 0, 0, 1, 0, 0, 0};
  for (mha_storage s : {MHA_STORAGE_FLOAT32, MHA_STORAGE_FLOAT16, MHA_STORAGE_BFLOAT16}) {
    mha_kv_cache* c = mha_kv_cache_create(B, H, cap, D, s);
    mha_kv_cache_store(c, starts.data(), rows.data(), k.data(), H * D, v.data(), H * D, pad.data());
    int wrong = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t r = 0; r < t; ++r)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 0; i < D; ++i) {
            const int64_t at = ((b * H + h) * cap + starts[b] + r) * D + i, src = (b * t + r) * H * D + h * D + i;
            for (int kv = 0; kv < 2; ++kv) {
              const float want = stored((kv ? v : k)[src], s);
              const void* base = kv ? c->v : c->k;
              const float got = s == MHA_STORAGE_FLOAT32 ? static_cast<const float*>(base)[at]
                                : s == MHA_STORAGE_FLOAT16 ? mha_f16_detail::to_float(static_cast<const uint16_t*>(base)[at])
                                                           : mha_bf16_detail::to_float(static_cast<const uint16_t*>(base)[at]);
              wrong += isnan(want) ? !isnan(got) : bits(want) != bits(got);
            }
          }
    for (int64_t b = 0; b < B; ++b)
      for (int64_t r = 0; r < t; ++r) wrong += c->padding[b * cap + starts[b] + r] != pad[b * t + r];
    check(wrong == 0 && (s != MHA_STORAGE_FLOAT16 || isinf(mha_f16_detail::to_float(static_cast<uint16_t*>(c->k)[3]))),
          "kv cache store dtype " + std::to_string(s) + ": " + std::to_string(wrong) + " wrong");
    mha_kv_cache_free(c);
  }
}

double rel_l2(const std::vector<double>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return sqrt(num / den);
}

// A small layer: weights [out, in], no rotary; causal self-attention over [B, L, E].
struct Layer {
  int64_t E, H, Hkv, D;
  std::vector<float> wq, wk, wv, wo, bq, bk, bv, bo;
};

// Double evaluation of the layer on x [B, L, E] (self-attention, causal); round(x) is applied to
// every operand as the bfloat16 precision rounds it (the identity for float32).
std::vector<double> layer_ref(const Layer& m, const std::vector<float>& x, int64_t B, int64_t L,
                              const std::function<double(double)>& round) {
  const int64_t E = m.E, kv = m.Hkv * m.D, G = m.H / m.Hkv;
  auto linear = [&](const std::vector<double>& in, int64_t rows, int64_t n_in, const std::vector<float>& w,
                    const std::vector<float>& bias, int64_t n_out) {
    std::vector<double> out(rows * n_out);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < n_out; ++o) {
        double acc = bias[o];
        for (int64_t i = 0; i < n_in; ++i) acc += round(in[r * n_in + i]) * round(w[o * n_in + i]);
        out[r * n_out + o] = acc;
      }
    return out;
  };
  const std::vector<double> xd(x.begin(), x.end());
  auto f32 = [](std::vector<double> a) {  // the projections are float32 outputs
    for (auto& e : a) e = (float)e;
    return a;
  };
  const std::vector<double> q = f32(linear(xd, B * L, E, m.wq, m.bq, E)), k = f32(linear(xd, B * L, E, m.wk, m.bk, kv)),
                            v = f32(linear(xd, B * L, E, m.wv, m.bv, kv));
  std::vector<double> ctx(B * L * E), p(L);
  const double scale = 1.0 / sqrt((double)m.D);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < m.H; ++h)
      for (int64_t i = 0; i < L; ++i) {
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j <= i; ++j) {
          double s = 0;
          for (int64_t c = 0; c < m.D; ++c)
            s += round(q[(b * L + i) * E + h * m.D + c]) * round(k[(b * L + j) * kv + (h / G) * m.D + c]);
          p[j] = (float)(s * scale);
          mx = std::max(mx, p[j]);
        }
        for (int64_t j = 0; j <= i; ++j) sum += p[j] = exp(p[j] - mx);
        for (int64_t c = 0; c < m.D; ++c) {
          double acc = 0;
          for (int64_t j = 0; j <= i; ++j) acc += round(p[j] / sum) * round(v[(b * L + j) * kv + (h / G) * m.D + c]);
          ctx[(b * L + i) * E + h * m.D + c] = (float)acc;
        }
      }
  return linear(ctx, B * L, E, m.wo, m.bo, E);
}

mha_model_desc describe(const Layer& m, mha_precision dtype) {
  mha_model_desc d{};
  d.embed_dim = m.E; d.num_heads = m.H; d.num_kv_heads = m.Hkv; d.k_dim = m.E; d.v_dim = m.E;
  d.q_weight = m.wq.data(); d.k_weight = m.wk.data(); d.v_weight = m.wv.data(); d.out_weight = m.wo.data();
  d.q_bias = m.bq.data(); d.k_bias = m.bk.data(); d.v_bias = m.bv.data(); d.out_bias = m.bo.data();
  d.rule.scale = 1.0f / sqrtf((float)m.D);
  d.rule.window_left = d.rule.window_right = -1;
  d.dtype = dtype;
  return d;
}

Layer make_layer(int64_t E, int64_t H, int64_t Hkv, uint32_t seed) {
  Layer m{E, H, Hkv, E / H, {}, {}, {}, {}, {}, {}, {}, {}};
  std::mt19937 rng(seed);
  const float a = 1.0f / sqrtf((float)E);
  std::uniform_real_distribution<float> u(-a, a);
  const int64_t kv = Hkv * m.D;
  for (auto [w, n] : {std::pair{&m.wq, E * E}, {&m.wk, kv * E}, {&m.wv, kv * E}, {&m.wo, E * E}, {&m.bq, E},
                      {&m.bk, kv}, {&m.bv, kv}, {&m.bo, E}}) {
    w->resize(n);
    for (auto& e : *w) e = u(rng);
  }
  return m;
}

void model_bf16() {
  for (auto [E, H, Hkv, L] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{64, 4, 2, 33}, {96, 6, 6, 7},
                              {56, 8, 2, 129}, {48, 4, 1, 1}}) {
    const int64_t B = 2;
    const Layer m = make_layer(E, H, Hkv, 100 + (uint32_t)L);
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> x(B * L * E), out(x.size(), NAN);
    for (auto& e : x) e = u(rng);
    mha_model_desc d = describe(m, MHA_PRECISION_BFLOAT16);
    mha_model* model = mha_model_create(&d);
    mha_forward_args f{};
    f.batch = B; f.l = L; f.s = L; f.query = f.key = f.value = x.data();
    f.self_attention = 1; f.causal = 1; f.out = out.data();
    mha_model_forward(model, &f);
    mha_model_free(model);
    const std::vector<double> exact = layer_ref(m, x, B, L, [](double v) { return v; });
    const std::vector<double> round = layer_ref(m, x, B, L, [](double v) { return (double)round_bf16((float)v); });
    const double e = rel_l2(exact, out), r = rel_l2(exact, std::vector<float>(round.begin(), round.end()));
    char buf[200];
    snprintf(buf, sizeof buf, "model bf16 E=%lld H=%lld/%lld L=%lld: rel L2 %.3g against float64, rounded operands' %.3g",
             (long long)E, (long long)H, (long long)Hkv, (long long)L, e, r);
    printf("%s\n", buf);
    check(e <= 1e-2 && e <= 2 * r + 1e-6, buf);
  }
}

// A float32 model: a prompt appended to a cache of each dtype, then decode steps; the output
// of each step against the double evaluation over the stored keys and values.
void model_cache() {
  const int64_t E = 64, H = 4, Hkv = 2, B = 2, prompt = 40, steps = 3, cap = 64;
  const Layer m = make_layer(E, H, Hkv, 3);
  mha_model_desc d = describe(m, MHA_PRECISION_FLOAT32);
  mha_model* model = mha_model_create(&d);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  const int64_t total = prompt + steps;
  std::vector<float> x(B * total * E);
  for (auto& e : x) e = u(rng);
  for (mha_storage s : {MHA_STORAGE_FLOAT16, MHA_STORAGE_BFLOAT16}) {
    mha_kv_cache* cache = mha_kv_cache_create(B, Hkv, cap, m.D, s);
    double worst = 0;
    for (int64_t t = 0; t < steps + 1; ++t) {
      const int64_t start = t == 0 ? 0 : prompt + t - 1, len = t == 0 ? prompt : 1;
      std::vector<float> in(B * len * E), out(in.size(), NAN);
      for (int64_t b = 0; b < B; ++b)
        memcpy(&in[b * len * E], &x[(b * total + start) * E], len * E * sizeof(float));
      const std::vector<int64_t> starts(B, start);
      mha_cached_forward_args a{};
      a.batch = B; a.l = len; a.starts = starts.data(); a.query = in.data(); a.append = 1; a.s_max = start + len;
      a.causal = 1; a.out = out.data();
      mha_model_forward_cached(model, cache, &a);
      // reference: the whole sequence so far with k and v rounded to the cache's dtype
      std::vector<float> seq(B * (start + len) * E);
      for (int64_t b = 0; b < B; ++b)
        memcpy(&seq[b * (start + len) * E], &x[b * total * E], (start + len) * E * sizeof(float));
      const std::vector<double> ref_all = [&] {  // exact operands but k and v as the cache stores them
        const int64_t L = start + len, kv = Hkv * m.D, G = H / Hkv;
        std::vector<double> q(B * L * E), k(B * L * kv), v(B * L * kv), ctx(B * L * E), o(B * L * E);
        for (int64_t r = 0; r < B * L; ++r) {
          for (int64_t c = 0; c < E; ++c) {
            double acc = m.bq[c];
            for (int64_t i = 0; i < E; ++i) acc += (double)seq[r * E + i] * m.wq[c * E + i];
            q[r * E + c] = acc;
          }
          for (int64_t c = 0; c < kv; ++c) {
            double ak = m.bk[c], av = m.bv[c];
            for (int64_t i = 0; i < E; ++i) ak += (double)seq[r * E + i] * m.wk[c * E + i], av += (double)seq[r * E + i] * m.wv[c * E + i];
            k[r * kv + c] = stored((float)ak, s);
            v[r * kv + c] = stored((float)av, s);
          }
        }
        std::vector<double> p(L);
        for (int64_t b = 0; b < B; ++b)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < L; ++i) {
              double mx = -INFINITY, sum = 0;
              for (int64_t j = 0; j <= i; ++j) {
                double sc = 0;
                for (int64_t c = 0; c < m.D; ++c) sc += q[(b * L + i) * E + h * m.D + c] * k[(b * L + j) * kv + (h / G) * m.D + c];
                p[j] = sc / sqrt((double)m.D);
                mx = std::max(mx, p[j]);
              }
              for (int64_t j = 0; j <= i; ++j) sum += p[j] = exp(p[j] - mx);
              for (int64_t c = 0; c < m.D; ++c) {
                double acc = 0;
                for (int64_t j = 0; j <= i; ++j) acc += p[j] / sum * v[(b * L + j) * kv + (h / G) * m.D + c];
                ctx[(b * L + i) * E + h * m.D + c] = acc;
              }
            }
        for (int64_t r = 0; r < B * L; ++r)
          for (int64_t c = 0; c < E; ++c) {
            double acc = m.bo[c];
            for (int64_t i = 0; i < E; ++i) acc += ctx[r * E + i] * m.wo[c * E + i];
            o[r * E + c] = acc;
          }
        return o;
      }();
      std::vector<double> ref(B * len * E);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t r = 0; r < len * E; ++r) ref[b * len * E + r] = ref_all[(b * (start + len) + start) * E + r];
      worst = std::max(worst, rel_l2(ref, out));
    }
    mha_kv_cache_free(cache);
    char buf[160];
    snprintf(buf, sizeof buf, "model float32 through a %s cache (prompt %lld, %lld decode steps): max rel L2 %.3g",
             s == MHA_STORAGE_FLOAT16 ? "float16" : "bfloat16", (long long)prompt, (long long)steps, worst);
    printf("%s\n", buf);
    check(worst <= 2e-5, buf);
  }
  mha_model_free(model);
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc != 3 || strcmp(argv[1], "--isa") != 0) {
    fprintf(stderr, "usage: reduced_precision_test --isa <kernel set>\n");
    return 2;
  }
  const char* isa = argv[2];
  const bool bf16_level = strcmp(isa, "avx512") == 0 && mha_cpu_detect().avx512_bf16;
  setenv("MHA_NATIVE_ISA", bf16_level ? "avx512bf16" : isa, 1);
  if (strcmp(mha_kernels()->isa, isa) != 0) {
    printf("%s: not available here (dispatch chose %s)\n", isa, mha_kernels()->isa);
    return 0;
  }
  printf("kernel set %s, bfloat16 attention products: %s\n", isa,
         mha_kernels()->attn_bf16 ? mha_kernels()->attn_bf16->name : "emulated");
  conversions(mha_kernels()->attn);
  cache_store();
  model_bf16();
  model_cache();
  if (g_failures) {
    printf("%d of %d checks failed\n", g_failures, g_checks);
    return 1;
  }
  printf("all %d checks passed\n", g_checks);
  return 0;
}
