// Standalone parity test of mha_masked_softmax and mha_attention (fused and with weights)
// against a double-precision naive evaluation, for every kernel set this CPU runs: sizes
// L, S in {1, 7, 33, 129, 1000}, head sizes {8, 12, 64, 80, 128}, Dv != D, every mask kind
// and combination, causal with L == S, L < S, L > S, fully blocked rows, inputs x30,
// interleaved-head (strided) layouts. Then the reduced-precision forms (run_reduced): K and V
// stored as float16 / bfloat16 against a double evaluation of the stored values (float32-level
// error) on every path, and the bfloat16 precision, emulated and (AVX512-BF16, within the
// avx512 set's run) on the pair kernels, against float64: within 1e-2 relative L2 and no worse
// than twice a float64 evaluation of the same bfloat16-rounded operands (q, k, v and P), the
// two ways in agreement with each other. Exits nonzero on any failure.
// Built by CMakeLists.txt with -DMHA_NATIVE_TESTS=ON (see tools/native-tests.sh).
#include <math.h>
#include <cmath>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "core/attn_kernels.h"
#include "core/bf16.h"
#include "core/cpu.h"
#include "core/f16.h"
#include "core/threadpool.h"

namespace {

const double kTol = 2e-5;
// The bfloat16 pair kernels against the emulation: the same rounded operands, float32 sums in
// another order.
const double kPathsTol = 1e-4;
int g_failures = 0, g_checks = 0;

// Worst cases seen by the bfloat16-precision checks, for the summary line.
double g_bf16_max_err = 0, g_bf16_max_ref_err = 0, g_bf16_max_ratio = 0, g_bf16_max_paths = 0, g_bf16_max_vs_round = 0;

struct Isa {
  const char* name;
  const mha_attn_kernels* k;
  const mha_attn_bf16_kernels* bf16;  // the set's bfloat16 products on this CPU, or NULL
};

std::vector<Isa> available_isas() {
  const mha_cpu_features cpu = mha_cpu_detect();
  std::vector<Isa> out = {{"scalar", &mha_attn_kernels_scalar, nullptr}};
#ifdef MHA_HAVE_AVX2
  if (cpu.avx2_fma) out.push_back({"avx2", &mha_attn_kernels_avx2, nullptr});
#endif
#ifdef MHA_HAVE_AVX512
  const mha_attn_bf16_kernels* avx512_bf16 = nullptr;
#ifdef MHA_HAVE_AVX512BF16
  if (cpu.avx512_bf16) avx512_bf16 = &mha_attn_bf16_kernels_avx512bf16;
#endif
  if (cpu.avx512) out.push_back({"avx512", &mha_attn_kernels_avx512, avx512_bf16});
#endif
#ifdef MHA_HAVE_NEON
  if (cpu.neon) out.push_back({"neon", &mha_attn_kernels_neon, nullptr});
#endif
  (void)cpu;
  return out;
}

float round_bf16(float x) { return mha_bf16_detail::to_float(mha_bf16_detail::from_float(x)); }

// x as stored in `storage` and read back.
float stored(float x, mha_storage storage) {
  if (storage == MHA_STORAGE_FLOAT16) return mha_f16_detail::to_float(mha_f16_detail::from_float(x));
  if (storage == MHA_STORAGE_BFLOAT16) return round_bf16(x);
  return x;
}

// x's values in `storage` (16-bit patterns, or the floats themselves).
std::vector<uint16_t> encode(const std::vector<float>& x, mha_storage storage) {
  std::vector<uint16_t> out(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    out[i] = storage == MHA_STORAGE_FLOAT16 ? mha_f16_detail::from_float(x[i]) : mha_bf16_detail::from_float(x[i]);
  return out;
}

// Mask configurations: which masks exist and how they are laid out.
enum MaskCfg {
  kNone, kBoolShared, kBoolPerHead, kAddFinite, kAddInfPerHead, kPadBool, kPadAdd,
  kCausal, kCausalPadBool, kCausalAddHugePadAdd, kBoolTransposedPadBool, kBlockedRowsCausal,
  kMaskCfgCount
};
const char* kMaskNames[] = {"none", "bool[L,S]", "bool[B,H,L,S]", "add[L,S]", "add-inf[B,H,L,S]",
                            "pad-bool", "pad-add", "causal", "causal+pad-bool+bool",
                            "causal+add-1e9+pad-add", "bool[S,L]T+pad-bool", "blocked-rows+causal"};

struct MaskBuf {
  mha_mask m{nullptr, MHA_MASK_NONE, 0, 0, 0, 0};
  std::vector<uint8_t> b;
  std::vector<float> f;
  double at(int64_t bi, int64_t h, int64_t l, int64_t s, bool* blocked) const {
    if (m.kind == MHA_MASK_NONE) return 0;
    const int64_t i = bi * m.stride_b + h * m.stride_h + l * m.stride_l + s * m.stride_s;
    if (m.kind == MHA_MASK_BOOL) {
      if (b[i]) *blocked = true;
      return 0;
    }
    if (f[i] == -INFINITY) *blocked = true;
    return f[i];
  }
};

struct Problem {
  Problem(int64_t b, int64_t h, int64_t l, int64_t s, int64_t d, int64_t dv) : B(b), H(h), L(l), S(s), D(d), Dv(dv) {}
  int64_t B, H, L, S, D, Dv;
  MaskBuf attn, pad;
  int causal = 0;
  float scale = 1;
  // The score rule beyond scale and causal (core/score_rule.h).
  float softcap = 0;
  std::vector<float> alibi;  // [H] or empty
  int64_t window_left = -1, window_right = -1;
  // Entry b's query and key counts (every entry has L and S unless ragged).
  std::vector<int64_t> lens_q, lens_k;
  int64_t l_of(int64_t b) const { return lens_q.empty() ? L : lens_q[b]; }
  int64_t s_of(int64_t b) const { return lens_k.empty() ? S : lens_k[b]; }
  mha_score_rule rule() const {
    mha_score_rule r{scale, softcap, alibi.empty() ? nullptr : alibi.data(), window_left, window_right, causal};
    return r;
  }
};

void make_bool(MaskBuf* mb, size_t n, std::mt19937& rng, double p) {
  std::bernoulli_distribution blk(p);
  mb->b.resize(n);
  for (auto& x : mb->b) x = blk(rng);
  mb->m.kind = MHA_MASK_BOOL;
  mb->m.data = mb->b.data();
}

void make_add(MaskBuf* mb, size_t n, std::mt19937& rng, double p_block, float blocked) {
  std::uniform_real_distribution<float> u(-2.f, 0.5f);
  std::bernoulli_distribution blk(p_block);
  mb->f.resize(n);
  for (auto& x : mb->f) x = blk(rng) ? blocked : u(rng);
  mb->m.kind = MHA_MASK_ADDITIVE;
  mb->m.data = mb->f.data();
}

void set_strides(mha_mask* m, int64_t sb, int64_t sh, int64_t sl, int64_t ss) {
  m->stride_b = sb; m->stride_h = sh; m->stride_l = sl; m->stride_s = ss;
}

void build_masks(Problem* p, int cfg, std::mt19937& rng) {
  const int64_t B = p->B, H = p->H, L = p->L, S = p->S;
  auto shared = [&](mha_mask* m) { set_strides(m, 0, 0, S, 1); };
  auto per_head = [&](mha_mask* m) { set_strides(m, H * L * S, L * S, S, 1); };
  auto padding = [&](MaskBuf* mb, bool additive) {
    // batch 0 unpadded, others pad the last third of the keys (all of them when S == 1)
    const int64_t first = S == 1 ? 0 : S - S / 3;
    if (additive) { mb->f.assign(B * S, 0.f); mb->m.kind = MHA_MASK_ADDITIVE; mb->m.data = mb->f.data(); }
    else { mb->b.assign(B * S, 0); mb->m.kind = MHA_MASK_BOOL; mb->m.data = mb->b.data(); }
    for (int64_t b = 1; b < B; ++b)
      for (int64_t s = first; s < S; ++s) {
        if (additive) mb->f[b * S + s] = -INFINITY;
        else mb->b[b * S + s] = 1;
      }
    set_strides(&mb->m, S, 0, 0, 1);
  };
  switch (cfg) {
    case kNone: break;
    case kBoolShared: make_bool(&p->attn, L * S, rng, 0.3); shared(&p->attn.m); break;
    case kBoolPerHead: make_bool(&p->attn, B * H * L * S, rng, 0.5); per_head(&p->attn.m); break;
    case kAddFinite: make_add(&p->attn, L * S, rng, 0, 0); shared(&p->attn.m); break;
    case kAddInfPerHead: make_add(&p->attn, B * H * L * S, rng, 0.4, -INFINITY); per_head(&p->attn.m); break;
    case kPadBool: padding(&p->pad, false); break;
    case kPadAdd: padding(&p->pad, true); break;
    case kCausal: p->causal = 1; break;
    case kCausalPadBool:
      p->causal = 1; padding(&p->pad, false);
      make_bool(&p->attn, L * S, rng, 0.2); shared(&p->attn.m); break;
    case kCausalAddHugePadAdd:
      p->causal = 1; padding(&p->pad, true);
      make_add(&p->attn, L * S, rng, 0.3, -1e9f); shared(&p->attn.m); break;
    case kBoolTransposedPadBool:  // stored [S, L]: key stride L
      make_bool(&p->attn, L * S, rng, 0.3); set_strides(&p->attn.m, 0, 0, 1, L);
      padding(&p->pad, false); break;
    case kBlockedRowsCausal:  // every third query row fully blocked (per head, some heads)
      p->causal = 1;
      make_bool(&p->attn, B * H * L * S, rng, 0.1); per_head(&p->attn.m);
      for (int64_t bh = 0; bh < B * H; bh += 2)
        for (int64_t l = 0; l < L; l += 3) memset(&p->attn.b[(bh * L + l) * S], 1, S);
      break;
  }
}

double rel_l2(const std::vector<double>& ref, const float* got, int64_t n, bool* nan) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(got[i])) *nan = true;
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return den == 0 ? sqrt(num) : sqrt(num / den);
}

// Double-precision probabilities of row (b, h, l) from raw scores z (scale not applied), over
// the entry's s_of(b) keys, under the whole rule: scale, softcap, ALiBi, masks, causal, window.
void ref_softmax_row(const Problem& p, int64_t b, int64_t h, int64_t l, const std::vector<double>& z,
                     double* out) {
  const int64_t S = p.s_of(b), pq = l + S - p.l_of(b);
  std::vector<double> y(S);
  std::vector<bool> blocked(S);
  double mx = -INFINITY;
  for (int64_t s = 0; s < S; ++s) {
    bool blk = (p.causal && s > pq) || (p.window_left >= 0 && s < pq - p.window_left) ||
               (p.window_right >= 0 && s > pq + p.window_right);
    double score = p.scale * z[s];
    if (p.softcap > 0) score = p.softcap * tanh(score / p.softcap);
    if (!p.alibi.empty()) score -= p.alibi[h] * fabs(double(pq - s));
    // the masked score rounded to float32 as any float32 evaluation (torch included) does:
    // an additive -1e9 swallows the score
    y[s] = (float)(score + p.attn.at(b, h, l, s, &blk) + p.pad.at(b, h, l, s, &blk));
    blocked[s] = blk;
    if (!blk) mx = std::max(mx, y[s]);
  }
  double sum = 0;
  for (int64_t s = 0; s < S; ++s) sum += out[s] = blocked[s] ? 0.0 : exp(y[s] - mx);
  for (int64_t s = 0; s < S; ++s) out[s] = sum > 0 ? out[s] / sum : 0.0;
}

void check(const char* isa, const std::string& what, double err, bool nan, double tol = kTol) {
  ++g_checks;
  if (err <= tol && !nan) return;
  ++g_failures;
  printf("FAIL [%s] %s: rel L2 %.3g%s\n", isa, what.c_str(), err, nan ? " (non-finite)" : "");
}

// One attention problem beyond its shape: key/value heads, how q/k/v/out are laid out, the
// score rule and ragged entries.
enum Layout {
  kContiguous,  // q [B, H, L, D], k [B, Hkv, S, D]
  kStrided,     // [B, L, H*D] (interleaved heads, the layer's projections)
  kPacked,      // token-major [T, H, D], entry b's rows from lens_q / lens_k (q_rows, kv_rows)
  kCacheLens,   // contiguous, entry b has lens_k[b] of the S keys (kv_lens)
};
const char* kLayoutNames[] = {"contiguous", "strided", "packed", "cache-lens"};

struct Case {
  Case(int64_t b, int64_t h, int64_t hkv, int64_t l, int64_t s, int64_t d, int64_t dv, int c, float a, Layout lay,
       uint32_t sd)
      : B(b), H(h), Hkv(hkv), L(l), S(s), D(d), Dv(dv), cfg(c), amp(a), layout(lay), seed(sd) {}
  int64_t B, H, Hkv, L, S, D, Dv;
  int cfg;
  float amp;
  Layout layout;
  uint32_t seed;
  bool out_is_q = false;  // the output is written over q itself (the layer's use; needs D == Dv)
  float softcap = 0;
  bool alibi = false;
  int64_t window_left = -1, window_right = -1;
  bool causal = false;  // on top of cfg's masks
  std::vector<int64_t> lens_q, lens_k;
  mha_storage storage = MHA_STORAGE_FLOAT32;   // how k and v are stored
  mha_precision precision = MHA_PRECISION_FLOAT32;
};

// Element offsets of (entry, head, row) in one operand of a case's layout.
struct Operand {
  Layout layout;
  int64_t heads, rows, width;  // rows: per entry when dense
  std::vector<int64_t> start;  // packed: first row of each entry
  int64_t sb() const { return layout == kStrided ? rows * heads * width : heads * rows * width; }
  int64_t sh() const { return layout == kStrided || layout == kPacked ? width : rows * width; }
  int64_t sl() const { return layout == kStrided || layout == kPacked ? heads * width : width; }
  int64_t at(int64_t b, int64_t h, int64_t r) const {
    return (layout == kPacked ? start[b] * sl() : b * sb()) + h * sh() + r * sl();
  }
  int64_t size(int64_t batch) const { return layout == kPacked ? start[batch] * heads * width : batch * sb(); }
};

Operand operand(Layout layout, int64_t heads, int64_t rows, int64_t width, const std::vector<int64_t>& lens) {
  Operand o{layout, heads, rows, width, {}};
  if (layout == kPacked) {
    o.start.assign(1, 0);
    for (int64_t n : lens) o.start.push_back(o.start.back() + n);
  }
  return o;
}

// The double-precision attention of a case over the given operands (P: the probabilities
// rounded by `round_p` before P.V): outputs into ref_o, probabilities into ref_w.
template <class RoundP>
void reference(const Case& c, const Problem& p, const Operand& lq, const Operand& lk, const Operand& lv,
               const Operand& lo, const std::vector<float>& q, const std::vector<float>& k,
               const std::vector<float>& v, RoundP round_p, std::vector<double>* ref_o, std::vector<double>* ref_w) {
  const int64_t B = c.B, H = c.H, L = c.L, S = c.S, D = c.D, Dv = c.Dv, G = H / c.Hkv;
  ref_o->assign(lo.size(B), 0.0);
  ref_w->assign(B * H * L * S, 0.0);
  std::vector<double> z(S);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t l = 0; l < p.l_of(b); ++l) {
        for (int64_t s = 0; s < p.s_of(b); ++s) {
          double acc = 0;
          for (int64_t i = 0; i < D; ++i) acc += (double)q[lq.at(b, h, l) + i] * k[lk.at(b, h / G, s) + i];
          z[s] = acc;
        }
        double* w = &(*ref_w)[((b * H + h) * L + l) * S];
        ref_softmax_row(p, b, h, l, z, w);
        for (int64_t s = 0; s < p.s_of(b); ++s)
          for (int64_t i = 0; i < Dv; ++i) (*ref_o)[lo.at(b, h, l) + i] += round_p(w[s]) * v[lv.at(b, h / G, s) + i];
      }
}

std::vector<float> rounded(const std::vector<float>& x) {
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = round_bf16(x[i]);
  return out;
}

void run_case(const Isa& isa, const Case& c) {
  std::mt19937 rng(c.seed);
  const int64_t B = c.B, H = c.H, L = c.L, S = c.S, D = c.D, Dv = c.Dv;
  Problem p(B, H, L, S, D, Dv);
  p.scale = 1.0f / sqrtf(static_cast<float>(D));
  build_masks(&p, c.cfg, rng);
  p.causal |= c.causal;
  p.softcap = c.softcap;
  p.window_left = c.window_left;
  p.window_right = c.window_right;
  if (c.alibi)
    for (int64_t h = 0; h < H; ++h) p.alibi.push_back(std::pow(2.0f, -8.0f * (h + 1) / H));
  if (c.layout == kPacked) p.lens_q = c.lens_q;
  if (c.layout == kPacked || c.layout == kCacheLens) p.lens_k = c.lens_k;
  const Operand lq = operand(c.layout, H, L, D, c.lens_q), lo = operand(c.layout, H, L, Dv, c.lens_q);
  const Operand lk = operand(c.layout, c.Hkv, S, D, c.lens_k), lv = operand(c.layout, c.Hkv, S, Dv, c.lens_k);
  std::uniform_real_distribution<float> u(-c.amp, c.amp);
  std::vector<float> q(lq.size(B)), k(lk.size(B)), v(lv.size(B));
  for (auto* t : {&q, &k, &v})
    for (auto& x : *t) x = u(rng);
  // 16-bit storage: the reference sees the stored values
  std::vector<uint16_t> k16, v16;
  if (c.storage != MHA_STORAGE_FLOAT32) {
    k16 = encode(k, c.storage);
    v16 = encode(v, c.storage);
    for (auto* t : {&k, &v})
      for (auto& x : *t) x = stored(x, c.storage);
  }

  std::vector<double> ref_o, ref_w, round_o, round_w;
  reference(c, p, lq, lk, lv, lo, q, k, v, [](double w) { return w; }, &ref_o, &ref_w);
  const bool bf16 = c.precision == MHA_PRECISION_BFLOAT16;
  if (bf16)  // the same with every operand rounded to bfloat16, P too
    reference(c, p, lq, lk, lv, lo, rounded(q), rounded(k), rounded(v),
              [](double w) { return (double)round_bf16((float)w); }, &round_o, &round_w);
  double round_err = 0;
  if (bf16) {
    std::vector<float> r(round_o.begin(), round_o.end());
    bool nan = false;
    round_err = rel_l2(ref_o, r.data(), r.size(), &nan);
  }

  char buf[360];
  snprintf(buf, sizeof buf,
           "attention B=%lld H=%lld/%lld L=%lld S=%lld D=%lld Dv=%lld %s amp=%g %s%s%s%s window=%lld,%lld%s%s",
           (long long)B, (long long)H, (long long)c.Hkv, (long long)L, (long long)S, (long long)D, (long long)Dv,
           kMaskNames[c.cfg], c.amp, kLayoutNames[c.layout], c.out_is_q ? " out=q" : "",
           c.softcap > 0 ? " softcap" : "", c.alibi ? " alibi" : "", (long long)c.window_left,
           (long long)c.window_right,
           c.storage == MHA_STORAGE_FLOAT16 ? " kv=f16" : c.storage == MHA_STORAGE_BFLOAT16 ? " kv=bf16" : "",
           bf16 ? " precision=bf16" : "");
  const bool weights_allowed = c.layout != kPacked;
  // bfloat16: emulated, then on the set's pair kernels (compared with the emulated output)
  std::vector<const mha_attn_bf16_kernels*> ways = {nullptr};
  if (bf16 && isa.bf16) ways.push_back(isa.bf16);
  for (int with_weights = 0; with_weights < (weights_allowed ? 2 : 1); ++with_weights) {
    std::vector<float> emulated;
    for (const mha_attn_bf16_kernels* way : ways) {
      std::vector<float> out(lo.size(B), NAN), weights(with_weights ? B * H * L * S : 0, NAN);
      if (c.out_is_q) out = q;
      const mha_score_rule rule = p.rule();
      std::vector<int64_t> q_rows = lq.start, kv_rows = lk.start;
      mha_attention_args a{};
      a.batch = B; a.heads = H; a.kv_heads = c.Hkv; a.l = L; a.s = S; a.d = D; a.dv = Dv;
      a.q = c.out_is_q ? out.data() : q.data(); a.q_sb = lq.sb(); a.q_sh = lq.sh(); a.q_sl = lq.sl();
      a.k = k16.empty() ? (const void*)k.data() : k16.data(); a.k_sb = lk.sb(); a.k_sh = lk.sh(); a.k_ss = lk.sl();
      a.v = v16.empty() ? (const void*)v.data() : v16.data(); a.v_sb = lv.sb(); a.v_sh = lv.sh(); a.v_ss = lv.sl();
      a.out = out.data(); a.o_sb = lo.sb(); a.o_sh = lo.sh(); a.o_sl = lo.sl();
      if (c.layout == kPacked) {
        a.q_rows = q_rows.data();
        a.kv_rows = kv_rows.data();
      }
      if (c.layout == kCacheLens) a.kv_lens = c.lens_k.data();
      a.rule = rule;
      a.attn_mask = p.attn.m; a.key_padding = p.pad.m;
      a.weights = with_weights ? weights.data() : nullptr;
      a.precision = c.precision;
      a.kv_dtype = c.storage;
      mha_attention_with(isa.k, way, &a);
      const std::string what = std::string(buf) + (with_weights ? " [weights]" : " [fused]") + (way ? " [pairs]" : "");
      bool nan = false;
      const double e = rel_l2(ref_o, out.data(), out.size(), &nan);
      if (!bf16) {
        check(isa.name, what + " out", e, nan);
      } else {
        // the contract: within 1e-2 of float64, no worse than twice the rounded operands' own error
        ++g_checks;
        g_bf16_max_err = std::max(g_bf16_max_err, e);
        g_bf16_max_ref_err = std::max(g_bf16_max_ref_err, round_err);
        g_bf16_max_vs_round = std::max(g_bf16_max_vs_round, rel_l2(round_o, out.data(), out.size(), &nan));
        if (round_err > 0) g_bf16_max_ratio = std::max(g_bf16_max_ratio, e / round_err);
        if (nan || e > 1e-2 || e > 2 * round_err + 1e-6) {
          ++g_failures;
          printf("FAIL [%s] %s out: rel L2 %.3g against float64, the rounded operands' %.3g%s\n", isa.name,
                 what.c_str(), e, round_err, nan ? " (non-finite)" : "");
        }
        if (!way) {
          emulated = out;
        } else {  // the pair kernels against the emulation: the same operands, summed in another order
          std::vector<double> em(emulated.begin(), emulated.end());
          const double agree = rel_l2(em, out.data(), out.size(), &nan);
          g_bf16_max_paths = std::max(g_bf16_max_paths, agree);
          check(isa.name, what + " pairs vs emulated", agree, nan, kPathsTol);
        }
      }
      if (with_weights) {  // float32 softmax of the (rounded operands') scores
        nan = false;
        check(isa.name, what + " probabilities", rel_l2(bf16 ? round_w : ref_w, weights.data(), weights.size(), &nan),
              nan);
      }
      // fully blocked rows must be exactly zero
      for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t l = 0; l < p.l_of(b); ++l) {
            const double* w = &ref_w[((b * H + h) * L + l) * S];
            bool any = false;
            for (int64_t s = 0; s < S && !any; ++s) any = w[s] != 0;
            if (any) continue;
            for (int64_t i = 0; i < Dv; ++i)
              if (out[lo.at(b, h, l) + i] != 0.0f) {
                check(isa.name, what + " blocked row not zero", 1, false);
                i = Dv; l = L; h = H; b = B;
              }
          }
    }
  }
}

void run_attention(const Isa& isa, int64_t B, int64_t H, int64_t L, int64_t S, int64_t D, int64_t Dv,
                   int cfg, float amp, bool strided, uint32_t seed, bool out_is_q = false) {
  Case c(B, H, H, L, S, D, Dv, cfg, amp, strided ? kStrided : kContiguous, seed);
  c.out_is_q = out_is_q;
  run_case(isa, c);
}

// rule: a case whose softcap, ALiBi and window the softmax takes too (NULL: scale and masks only).
void run_softmax(const Isa& isa, int64_t B, int64_t H, int64_t L, int64_t S, int cfg, float amp,
                 bool in_place, uint32_t seed, const Case* rule = nullptr) {
  std::mt19937 rng(seed);
  Problem p(B, H, L, S, 0, 0);
  p.scale = 0.7f;
  build_masks(&p, cfg, rng);
  if (rule) {
    p.causal |= rule->causal;
    p.softcap = rule->softcap;
    p.window_left = rule->window_left;
    p.window_right = rule->window_right;
    if (rule->alibi)
      for (int64_t h = 0; h < H; ++h) p.alibi.push_back(std::pow(2.0f, -8.0f * (h + 1) / H));
  }
  std::uniform_real_distribution<float> u(-amp, amp);
  std::vector<float> x(B * H * L * S), out(in_place ? 0 : x.size(), NAN);
  for (auto& e : x) e = u(rng);
  std::vector<double> ref(x.size()), z(S);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t l = 0; l < L; ++l) {
        const int64_t row = ((b * H + h) * L + l) * S;
        for (int64_t s = 0; s < S; ++s) z[s] = x[row + s];
        ref_softmax_row(p, b, h, l, z, &ref[row]);
      }
  mha_softmax_args a{};
  a.batch = B; a.heads = H; a.l = L; a.s = S; a.x = x.data();
  a.out = in_place ? x.data() : out.data();
  a.rule = p.rule();
  a.attn_mask = p.attn.m; a.key_padding = p.pad.m;
  mha_masked_softmax_with(isa.k, &a);
  bool nan = false;
  const double e = rel_l2(ref, a.out, x.size(), &nan);
  char buf[200];
  snprintf(buf, sizeof buf, "softmax B=%lld H=%lld L=%lld S=%lld %s amp=%g%s%s", (long long)B, (long long)H,
           (long long)L, (long long)S, kMaskNames[cfg], amp, in_place ? " in-place" : "", rule ? " +rule" : "");
  check(isa.name, buf, e, nan);
}

// The score rule (softcap, ALiBi, sliding windows), grouped key/value heads and ragged
// entries, alone and together, on awkward sizes and every layout.
void run_rules(const Isa& isa, const std::vector<int64_t>& sizes) {
  uint32_t seed = 2000;
  struct Rule {
    float softcap;
    bool alibi, causal;
    int64_t left, right;
  };
  const Rule rules[] = {{5.f, false, false, -1, -1}, {0, true, false, -1, -1}, {0, false, false, 5, -1},
                        {0, false, false, 3, 2},     {0, false, true, 16, -1}, {0, false, false, -1, 0},
                        {2.f, true, true, 7, -1}};
  int counter = 0;
  for (int64_t L : sizes)
    for (int64_t S : sizes)
      for (const Rule& r : rules) {
        if (L * S > 200000 && (r.left < 0 || !r.causal)) continue;  // the long ones: the banded rule only
        const int kv[][2] = {{2, 2}, {6, 2}, {4, 1}};
        const int* hk = kv[counter % 3];
        const int64_t D = counter % 2 ? 5 : 64, Dv = counter % 4 == 1 ? 7 : D;
        Case c(2, hk[0], hk[1], L, S, D, Dv, counter % 3 == 0 ? kPadBool : kNone,
               counter % 5 == 4 ? 30.f : 1.f, counter % 2 ? kStrided : kContiguous, seed++);
        c.softcap = r.softcap;
        c.alibi = r.alibi;
        c.causal = r.causal;
        c.window_left = r.left;
        c.window_right = r.right;
        run_case(isa, c);
        run_softmax(isa, 2, hk[0], L, S, c.cfg, c.amp, counter % 2 == 0, seed++, &c);
        ++counter;
      }
  // decode with grouped heads: one key/value tile read for the whole group, keys split
  for (int64_t s : {700, 4000}) {
    Case c(1, 8, 2, 1, s, 64, 64, kPadBool, 1.f, kStrided, seed++);
    run_case(isa, c);
    c.alibi = true;
    c.window_left = 300;
    run_case(isa, c);
  }
  // decode at the head sizes whose dot products are compiled for their size (64, 128), groups
  // of 3 and 7 query rows (a partial row block), key counts that leave a partial key block
  for (int64_t s : {33, 129, 1001}) {
    Case c(2, s == 129 ? 14 : 6, 2, 1, s, s == 33 ? 64 : 128, 64, kPadBool, 1.f, kStrided, seed++);
    c.causal = s == 1001;
    run_case(isa, c);
  }
  // ragged entries, token-major: self (equal lengths) and cross (their own key counts)
  const std::vector<int64_t> lens = {3, 0, 7, 1, 33}, keys = {5, 2, 0, 1, 40};
  for (int variant = 0; variant < 6; ++variant) {
    Case c(5, 6, variant % 2 ? 2 : 6, 33, 40, 16, 16, kNone, 1.f, kPacked, seed++);
    c.lens_q = lens;
    c.lens_k = variant < 3 ? lens : keys;
    c.causal = variant % 3 != 1;
    c.alibi = variant >= 4;
    c.window_left = variant == 2 || variant == 5 ? 4 : -1;
    c.out_is_q = variant == 0;
    run_case(isa, c);
  }
  {
    Case c(3, 4, 4, 129, 129, 8, 8, kNone, 1.f, kPacked, seed++);
    c.lens_q = {129, 1, 64};
    c.lens_k = {129, 1, 64};
    c.causal = true;
    run_case(isa, c);
  }
  // a cache with one length per sequence: dense queries, each entry its own key count
  for (int64_t L : {1, 4}) {
    Case c(3, 4, 2, L, 50, 8, 8, L == 1 ? kPadBool : kBoolPerHead, 1.f, kCacheLens, seed++);
    c.lens_k = {50, 13, 0};
    c.causal = true;
    run_case(isa, c);
    c.window_left = 5;
    run_case(isa, c);
  }
}

// 16-bit K/V storage (precision float32) and the bfloat16 precision (over every storage), on
// awkward sizes (1, 3, 7, 33, 129), odd head sizes, grouped heads, the score rule, every
// layout, and each path: packed prefill (over several K^T tiles and pack groups), decode with
// and without key splits, ragged entries, a cache with one length per sequence.
void run_reduced(const Isa& isa) {
  uint32_t seed = 9000;
  const int64_t sizes[] = {1, 3, 7, 33, 129};
  const int cfgs[] = {kNone, kPadBool, kCausal, kAddInfPerHead, kBoolShared, kBlockedRowsCausal};
  const mha_storage storages[] = {MHA_STORAGE_FLOAT32, MHA_STORAGE_FLOAT16, MHA_STORAGE_BFLOAT16};
  int counter = 0;
  for (mha_precision precision : {MHA_PRECISION_FLOAT32, MHA_PRECISION_BFLOAT16})
    for (mha_storage storage : storages) {
      if (precision == MHA_PRECISION_FLOAT32 && storage == MHA_STORAGE_FLOAT32) continue;  // the main run's
      auto run = [&](Case c) {
        c.storage = storage;
        c.precision = precision;
        run_case(isa, c);
      };
      for (int64_t L : sizes)
        for (int64_t S : sizes) {
          const int kv[][2] = {{2, 2}, {6, 2}, {4, 1}};
          const int* hk = kv[counter % 3];
          const int64_t D = counter % 2 ? 7 : 64, Dv = counter % 4 == 1 ? 5 : D;
          Case c(2, hk[0], hk[1], L, S, D, Dv, cfgs[counter % 6], counter % 5 == 4 ? 3.f : 1.f,
                 counter % 2 ? kStrided : kContiguous, seed++);
          c.window_left = counter % 5 == 2 ? 4 : -1;
          c.alibi = counter % 7 == 3;
          c.softcap = counter % 11 == 5 ? 5.f : 0.f;
          run(c);
          ++counter;
        }
      // decode: one key/value tile read for a group of heads; keys split between threads
      for (int64_t s : {700, 4000}) {
        Case c(1, 8, 2, 1, s, 64, 64, kPadBool, 1.f, kStrided, seed++);
        run(c);
        c.window_left = 300;
        c.alibi = true;
        run(c);
      }
      run(Case(1, 1, 1, 1, 4000, 64, 64, kCausal, 1.f, kContiguous, seed++));
      run(Case(2, 6, 2, 1, 129, 128, 128, kPadBool, 1.f, kStrided, seed++));
      // prefill over several K^T tiles and more than one pack group, the output over q
      {
        Case c(2, 6, 2, 40, 2000, 64, 64, kCausalPadBool, 1.f, kStrided, seed++);
        c.out_is_q = true;
        run(c);
        run(Case(1, 3, 3, 129, 700, 13, 3, kBoolShared, 1.f, kContiguous, seed++));
      }
      // ragged entries, token-major, self and cross, with a window
      const std::vector<int64_t> lens = {3, 0, 7, 1, 33}, keys = {5, 2, 0, 1, 40};
      for (int variant = 0; variant < 3; ++variant) {
        Case c(5, 6, variant == 1 ? 6 : 2, 33, 40, variant == 2 ? 9 : 16, 16, kNone, 1.f, kPacked, seed++);
        c.lens_q = lens;
        c.lens_k = variant == 0 ? lens : keys;
        c.causal = variant != 1;
        c.window_left = variant == 2 ? 4 : -1;
        run(c);
      }
      // a cache with one length per sequence
      for (int64_t L : {1, 3, 9}) {
        Case c(3, 4, 2, L, 129, 8, 8, L == 1 ? kPadBool : kBoolPerHead, 1.f, kCacheLens, seed++);
        c.lens_k = {129, 33, 0};
        c.causal = true;
        run(c);
      }
    }
}

}  // namespace

// Usage: attention_test [isa...]  (default: every kernel set this CPU runs)
// MHA_TEST_QUICK=1 leaves out L or S = 1000 (for the sanitizer and emulated runs; the long
// decode cases below still run).
int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<int64_t> sizes = {1, 7, 33, 129, 1000};
  if (getenv("MHA_TEST_QUICK")) sizes.pop_back();
  const int64_t heads[] = {8, 12, 64, 80, 128};
  std::vector<Isa> isas;
  for (const Isa& isa : available_isas()) {
    bool wanted = argc == 1;
    for (int i = 1; i < argc; ++i) wanted |= strcmp(argv[i], isa.name) == 0;
    if (wanted) isas.push_back(isa);
  }
  if (isas.empty()) {
    printf("no requested kernel set is available\n");
    return 1;
  }
  for (const Isa& isa : isas) {
    const int before = g_failures;
    int counter = 0;
    for (int64_t L : sizes)
      for (int64_t S : sizes)
        for (int cfg = 0; cfg < kMaskCfgCount; ++cfg, ++counter) {
          const int64_t D = heads[counter % 5];
          const int64_t Dv = counter % 3 == 0 ? heads[(counter + 2) % 5] : D;
          const bool big = L * S >= 100000;
          const int64_t B = big ? 2 : 3, H = big ? 1 : 2;
          const float amp = counter % 4 == 3 ? 30.f : 1.f;
          run_attention(isa, B, H, L, S, D, Dv, cfg, amp, counter % 2 == 1, 1000 + counter);
          run_softmax(isa, B, H, L, S, cfg, amp, counter % 2 == 0, 5000 + counter);
        }
    // decode (L = 1) with few heads: keys split across the pool, then combined
    for (int cfg : {kNone, kPadBool, kCausal, kAddInfPerHead})
      run_attention(isa, 1, 1, 1, 4000, 64, 64, cfg, 1.f, false, 77 + cfg);
    run_attention(isa, 1, 2, 3, 2500, 64, 80, kCausalPadBool, 1.f, true, 99);
    // head sizes that are no multiple of any vector width (partial vectors in every product)
    for (int cfg = 0; cfg < kMaskCfgCount; ++cfg) {
      run_attention(isa, 2, 2, 33, 129, 5, 7, cfg, 1.f, cfg % 2 == 1, 300 + cfg);
      run_attention(isa, 1, 3, 1, 700, 13, 3, cfg, 1.f, cfg % 2 == 0, 400 + cfg);
    }
    // K/V packed a group of heads at a time (more than the pack budget in all): one query
    // block per head (key-split per group), then several; the output written over q
    run_attention(isa, 2, 6, 40, 2000, 64, 64, kCausalPadBool, 1.f, true, 123, true);
    run_attention(isa, 1, 5, 100, 1500, 128, 128, kPadBool, 1.f, true, 124, true);
    run_attention(isa, 3, 2, 33, 129, 64, 64, kAddInfPerHead, 1.f, false, 125, true);
    run_rules(isa, sizes);
    run_reduced(isa);
    printf("[%s] %s (%d checks so far)%s\n", isa.name, g_failures == before ? "ok" : "FAILED", g_checks,
           isa.bf16 ? " (bfloat16 pair kernels too)" : "");
  }
  if (g_failures) {
    printf("%d of %d checks failed\n", g_failures, g_checks);
    return 1;
  }
  printf("bfloat16 precision: max rel L2 %.3g against float64 (rounded operands' own: max %.3g; worst ratio %.2f), "
         "%.3g against float64 over the rounded operands, pair kernels vs emulated max %.3g\n", g_bf16_max_err,
         g_bf16_max_ref_err, g_bf16_max_ratio, g_bf16_max_vs_round, g_bf16_max_paths);
  printf("all %d checks passed\n", g_checks);
  return 0;
}
