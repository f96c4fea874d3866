// Rotary position embedding (RoPE): the first `dim` features of a head vector are rotated in
// pairs by angles that grow with the position. Pairs are (x[i], x[i + dim/2]) (the half-split
// layout of Llama / GPT-NeoX) or (x[2i], x[2i+1]) (interleaved, GPT-J), i < dim/2, with angle
// position * base^(-2i/dim). Angles, sines and cosines are formed in double precision: a float
// angle at position p is off by about p * 2^-24 radians, which at a few thousand positions
// would cost more accuracy than every other step of the layer together.
#pragma once
#include <stdint.h>

typedef struct mha_rotary_spec {
  int64_t dim;      // even, 2 <= dim <= head size; 0 = no rotary
  double base;      // > 0
  int interleaved;
} mha_rotary_spec;

// In place: for each row r < rows and head h < heads, the vector x + r * ld + h * d is rotated
// for position pos[r].
void mha_rotary(const mha_rotary_spec* spec, float* x, int64_t rows, int64_t ld, int64_t heads, int64_t d,
                const double* pos);
