#include <immintrin.h>
#include <limits>
#include <algorithm>

#include <cmath>

#include "attention.h"
#include "vmath.h"
#include "vmath_avx2.h"

namespace attnkit {

// exp(x) = 2^n · p(r), x = n·ln2 + r, |r| ≤ ln2/2; degree-6 minimax polynomial (Cephes expf)
static inline __m256 exp256(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-103.9720840454f);
  __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654f), _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  // 2^n in two steps so n down to −150 still gives a (denormal or zero) result
  __m256i n = _mm256_cvtps_epi32(fx);
  __m256i n1 = _mm256_srai_epi32(n, 1), n2 = _mm256_sub_epi32(n, n1);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  return _mm256_andnot_ps(_mm256_and_ps(under, _mm256_cmp_ps(y, y, _CMP_ORD_Q)), y);  // (under ? 0 : y); NaN kept below
}

float exp_shift_avx2(float* x, long n, float shift) {
  __m256 vs = _mm256_set1_ps(shift), acc = _mm256_setzero_ps();
  long j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 v = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + j), vs));
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
  __m256 m0 = ninf, m1 = ninf;
  long j = 0;
  // max(x, m) returns m when x is NaN, as std::max(m, x) does
  for (; j + 16 <= n; j += 16) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + j), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + j + 8), m1);
  }
  for (; j + 8 <= n; j += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + j), m0);
  alignas(32) float t[8];
  _mm256_store_ps(t, _mm256_max_ps(m0, m1));
  float m = t[0];
  for (int i = 1; i < 8; i++) m = std::max(m, t[i]);
  for (; j < n; j++) m = std::max(m, x[j]);
  return m;
}

}  // namespace attnkit

namespace attnkit {

void dropout_avx2(const float* x, float* out, long a, long b, uint32_t seed, uint32_t threshold, float scale) {
  const __m256 vs = _mm256_set1_ps(scale);
  const __m256i step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  long i = a;
  for (; i + 8 <= b; i += 8) {
    __m256i lo, hi;
    const uint64_t u = static_cast<uint64_t>(i);
    if ((u >> 32) == ((u + 7) >> 32)) {
      lo = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(u))), step);
      hi = _mm256_set1_epi32(static_cast<int>(u >> 32));
    } else {
      index8(u, 1, lo, hi);
    }
    const __m256 keep = dropout_keep8(seed, lo, hi, threshold);
    _mm256_storeu_ps(out + i, _mm256_and_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), keep));
  }
  for (; i < b; i++) out[i] = dropout_keep(seed, static_cast<uint64_t>(i), threshold) ? x[i] * scale : 0.f;
}

}  // namespace attnkit
