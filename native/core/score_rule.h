// How a score becomes a logit, beyond the masks, in the order of the API contract:
//   s = scale * (q . k); softcap; ALiBi; the additive masks are added; then a key is blocked by
//   a boolean mask, key padding, causal or the window.
// Positions: within one sequence of L queries and S keys, key j has position pk = j and query i
// has pq = i + (S - L) (bottom-right aligned); every sequence of a ragged batch counts from 0.
#pragma once
#include <stdint.h>

typedef struct mha_score_rule {
  float scale;
  float softcap;        // > 0: s = softcap * tanh(s / softcap); 0: none
  const float* alibi;   // [heads]: s -= alibi[h] * |pq - pk|; NULL: none
  int64_t window_left;  // key visible only if pk >= pq - window_left; < 0: unbounded
  int64_t window_right; // ... and pk <= pq + window_right; < 0: unbounded
  int causal;           // key visible only if pk <= pq
} mha_score_rule;

// Keys [*first, *limit) of [0, s) are the ones query position pq may see under the rule's
// causal and window (an empty range when first >= limit).
static inline void mha_visible_keys(const mha_score_rule* r, int64_t pq, int64_t s, int64_t* first, int64_t* limit) {
  int64_t lo = 0, hi = s;
  if (r->window_left >= 0 && pq - r->window_left > lo) lo = pq - r->window_left;
  if (r->causal && pq + 1 < hi) hi = pq + 1;
  if (r->window_right >= 0 && pq + r->window_right + 1 < hi) hi = pq + r->window_right + 1;
  *first = lo;
  *limit = hi > lo ? hi : lo;
}
