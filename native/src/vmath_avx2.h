// AVX2 vector math shared by the AVX2 translation units (include only from files built with -mavx2 -mfma).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace attnkit {

// exp(x) = 2^n · p(r), x = n·ln2 + r, |r| ≤ ln2/2; degree-6 minimax polynomial (Cephes expf)
inline __m256 exp256(__m256 x) {
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

}  // namespace attnkit

namespace attnkit {

// attention.h's fmix32 on 8 lanes
inline __m256i fmix32_8(__m256i h) {
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<int>(0x85ebca6bu)));
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 13));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<int>(0xc2b2ae35u)));
  return _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
}

// attention.h's dropout_keep on 8 indices given as their low and high 32-bit halves: all-ones lanes keep
inline __m256 dropout_keep8(uint32_t seed, __m256i lo, __m256i hi, uint32_t threshold) {
  __m256i h = fmix32_8(_mm256_add_epi32(hi, _mm256_set1_epi32(static_cast<int>(0x9e3779b9u))));
  h = fmix32_8(_mm256_xor_si256(lo, h));
  h = fmix32_8(_mm256_xor_si256(_mm256_set1_epi32(static_cast<int>(seed)), h));
  const __m256i t = _mm256_set1_epi32(static_cast<int>(threshold));
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_max_epu32(h, t), h));  // h ≥ threshold, unsigned
}

// the 8 indices base + l·stride (l = 0..7) as low and high halves
inline void index8(uint64_t base, uint64_t stride, __m256i& lo, __m256i& hi) {
  alignas(32) uint32_t l[8], h[8];
  for (int i = 0; i < 8; i++) {
    const uint64_t idx = base + i * stride;
    l[i] = static_cast<uint32_t>(idx);
    h[i] = static_cast<uint32_t>(idx >> 32);
  }
  lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(l));
  hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(h));
}

}  // namespace attnkit
