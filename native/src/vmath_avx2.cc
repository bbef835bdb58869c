#include "simd.h"
#include <limits>
#include <algorithm>

#include <cmath>

#include "attention.h"
#include "vmath.h"
#include "vmath_avx2.h"

namespace attnkit {

float exp_shift_avx2(float* x, long n, float shift) {
  __m256 vs = _mm256_set1_ps(shift), acc = _mm256_setzero_ps();
  long j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + j), vs);
    const __m256 v = _mm256_blendv_ps(exp_nonpos(d), d, _mm256_cmp_ps(d, d, _CMP_UNORD_Q));  // NaN stays NaN
    _mm256_storeu_ps(x + j, v);
    acc = _mm256_add_ps(acc, v);
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, acc);
  float s = t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
  for (; j < n; j++) { x[j] = std::exp(x[j] - shift); s += x[j]; }
  return s;
}

float row_max_avx2(const float* x, long n) {
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 m0 = ninf, m1 = ninf, nan = _mm256_setzero_ps();
  long j = 0;
  // max(x, m) returns m when x is NaN, so NaN lanes are collected apart: a NaN anywhere wins
  for (; j + 16 <= n; j += 16) {
    const __m256 x0 = _mm256_loadu_ps(x + j), x1 = _mm256_loadu_ps(x + j + 8);
    m0 = _mm256_max_ps(x0, m0);
    m1 = _mm256_max_ps(x1, m1);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(x0, x1, _CMP_UNORD_Q));
  }
  for (; j + 8 <= n; j += 8) {
    const __m256 x0 = _mm256_loadu_ps(x + j);
    m0 = _mm256_max_ps(x0, m0);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(x0, x0, _CMP_UNORD_Q));
  }
  if (_mm256_movemask_ps(nan)) return std::numeric_limits<float>::quiet_NaN();
  alignas(32) float t[8];
  _mm256_store_ps(t, _mm256_max_ps(m0, m1));
  float m = t[0];
  for (int i = 1; i < 8; i++) m = std::max(m, t[i]);
  for (; j < n; j++) {
    if (x[j] != x[j]) return x[j];
    m = std::max(m, x[j]);
  }
  return m;
}

void dropout_avx2(const float* x, float* out, long a, long b, uint32_t seed, uint32_t threshold, float scale) {
  const __m256 vs = _mm256_set1_ps(scale);
  const Keep8Walk walk(seed, threshold, static_cast<uint64_t>(a), 1, b - a);  // lanes a + l, stepped by 8
  long i = a;
  // a dropped element is x − x: 0, or NaN for NaN and ±∞ (as PyTorch's x·0)
  for (; i + 8 <= b; i += 8) {
    const __m256 xi = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(out + i, _mm256_blendv_ps(_mm256_sub_ps(xi, xi), _mm256_mul_ps(xi, vs), walk.at(i - a)));
  }
  for (; i < b; i++) out[i] = dropout_keep(seed, static_cast<uint64_t>(i), threshold) ? x[i] * scale : x[i] - x[i];
}

}  // namespace attnkit
