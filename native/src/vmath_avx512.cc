#include <immintrin.h>

#include <cmath>

#include "vmath.h"

namespace attnkit {

// as exp256 in vmath_avx2.cc, sixteen lanes
static inline __m512 exp512(__m512 x) {
  const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-103.9720840454f);
  __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33654f), _CMP_LT_OQ);
  x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
  __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500E-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  __m512i n = _mm512_cvtps_epi32(fx);
  __m512i n1 = _mm512_srai_epi32(n, 1), n2 = _mm512_sub_epi32(n, n1);
  __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, _mm512_set1_epi32(127)), 23));
  __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, _mm512_set1_epi32(127)), 23));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
  return _mm512_mask_blend_ps(under, y, _mm512_setzero_ps());
}

float exp_shift_avx512(float* x, long n, float shift) {
  __m512 vs = _mm512_set1_ps(shift), acc = _mm512_setzero_ps();
  long j = 0;
  // exp512 clamps its argument (a NaN would come out finite): NaN lanes keep their NaN
  for (; j + 16 <= n; j += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + j), vs);
    const __m512 v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q), exp512(d), d);
    _mm512_storeu_ps(x + j, v);
    acc = _mm512_add_ps(acc, v);
  }
  if (j < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - j)) - 1);
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vs);
    const __m512 v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q), exp512(d), d);
    _mm512_mask_storeu_ps(x + j, m, v);
    acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(m, v));
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace attnkit
