// mha_rotary: per row, the cosines and sines of its dim/2 angles once, then every head of the
// row rotated with them; rows are split between the threads.
#include "core/rotary.h"

#include <math.h>

#include <vector>

#include "core/threadpool.h"

void mha_rotary(const mha_rotary_spec* spec, float* x, int64_t rows, int64_t ld, int64_t heads, int64_t d,
                const double* pos) {
  const int64_t half = spec->dim / 2;
  if (half <= 0 || rows <= 0 || heads <= 0) return;
  std::vector<double> inv_freq(half);
  for (int64_t i = 0; i < half; ++i) inv_freq[i] = pow(spec->base, -2.0 * static_cast<double>(i) / spec->dim);
  // A rotation costs a few multiply-adds per feature; each row's angles cost a sine and a cosine each.
  const double work = static_cast<double>(rows) * (heads * spec->dim * 3.0 + half * 40.0);
  mha::parallel_for(rows, work, [&](int64_t begin, int64_t end) {
    std::vector<float> c(half), s(half);
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t i = 0; i < half; ++i) {
        const double angle = pos[r] * inv_freq[i];
        c[i] = static_cast<float>(cos(angle));
        s[i] = static_cast<float>(sin(angle));
      }
      for (int64_t h = 0; h < heads; ++h) {
        float* v = x + r * ld + h * d;
        for (int64_t i = 0; i < half; ++i) {
          float* a = spec->interleaved ? v + 2 * i : v + i;
          float* b = spec->interleaved ? v + 2 * i + 1 : v + i + half;
          const float x0 = *a, x1 = *b;
          *a = x0 * c[i] - x1 * s[i];
          *b = x1 * c[i] + x0 * s[i];
        }
      }
    }
  });
}
