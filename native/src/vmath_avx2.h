// AVX2 vector math shared by the AVX2 translation units (include only from files built with -mavx2 -mfma).
#pragma once
#include <immintrin.h>

#include <cstdint>

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
