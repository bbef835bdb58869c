// AVX2 vector math shared by the AVX2 translation units (include only from files built with -mavx2 -mfma).
#pragma once
#include "simd.h"

#include <cstdint>

namespace attnkit {
// Internal linkage: attention_avx512.cc compiles these with -mavx512f too, and an inline function's
// copies must not be merged across translation units built for different ISAs (an AVX2-only CPU could
// then run the AVX-512 copy).
namespace {

// exp_nonpos's constants, one set for its 8- and 16-lane versions
namespace expc {
constexpr float C_FLOOR = -87.33654f, C_MAGIC = 12582912.f, C_LOG2E = 1.44269504088896341f;
constexpr float C_LN2_HI = 0.693359375f, C_LN2_LO = -2.12194440e-4f;  // ln 2 = hi + lo (Cody–Waite)
constexpr float C_P5 = 0.008333842270076275f, C_P4 = 0.04189859703183174f, C_P3 = 0.1666688621044159f, C_P2 = 0.49999141693115234f;
}  // namespace expc

// exp(x) for a softmax's x ≤ 0 (scores minus their max): exactly 0 below −87.34, for −∞ and for
// NaN (the online softmax relies on exp(−∞ − (−∞)) = 0); also right for 0 < x < 88.
// n = round(x·log₂e) comes from adding 1.5·2²³ (its bits then hold n, which also builds 2ⁿ),
// r = x − n·ln2 in two steps (Cody–Waite), and eʳ from a degree-5 polynomial fitted on
// |r| ≤ ln2/2 (relative error below 2e-7, about 3 float32 ulps): 10 floating-point operations.
inline __m256 exp_nonpos(__m256 x) {
  const __m256 floor = _mm256_set1_ps(expc::C_FLOOR), magic = _mm256_set1_ps(expc::C_MAGIC);
  const __m256 keep = _mm256_cmp_ps(x, floor, _CMP_GE_OQ);
  x = _mm256_max_ps(x, floor);
  const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(expc::C_LOG2E), magic);
  const __m256 n = _mm256_sub_ps(t, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(expc::C_LN2_HI), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(expc::C_LN2_LO), r);
  __m256 p = _mm256_set1_ps(expc::C_P5);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(expc::C_P4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(expc::C_P3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(expc::C_P2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  // t's low mantissa bits are n (two's complement): (t << 23) + (127 << 23) is 2ⁿ for n ≥ −126
  const __m256i bits = _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(t), 23), _mm256_set1_epi32(127 << 23));
  return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), keep);
}

#if defined(__AVX512F__)
// exp_nonpos on 16 lanes (attention_avx512.cc): the same operations in the same order, so each lane is
// bitwise the 8-lane result (the lane mask `keep` zeroes what the and-mask above zeroes)
inline __m512 exp_nonpos16(__m512 x) {
  const __m512 floor = _mm512_set1_ps(expc::C_FLOOR), magic = _mm512_set1_ps(expc::C_MAGIC);
  const __mmask16 keep = _mm512_cmp_ps_mask(x, floor, _CMP_GE_OQ);
  x = _mm512_max_ps(x, floor);
  const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(expc::C_LOG2E), magic);
  const __m512 n = _mm512_sub_ps(t, magic);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(expc::C_LN2_HI), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(expc::C_LN2_LO), r);
  __m512 p = _mm512_set1_ps(expc::C_P5);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(expc::C_P4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(expc::C_P3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(expc::C_P2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  const __m512i bits = _mm512_add_epi32(_mm512_slli_epi32(_mm512_castps_si512(t), 23), _mm512_set1_epi32(127 << 23));
  return _mm512_maskz_mov_ps(keep, _mm512_mul_ps(p, _mm512_castsi512_ps(bits)));
}
#endif

// attention.h's fmix32 on 8 lanes
inline __m256i fmix32_8(__m256i h) {
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<int>(0x85ebca6bu)));
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 13));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<int>(0xc2b2ae35u)));
  return _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
}

// the first stage of attention.h's dropout_keep: the hash of the index's high 32 bits
inline __m256i dropout_hi_hash8(__m256i hi) { return fmix32_8(_mm256_add_epi32(hi, _mm256_set1_epi32(static_cast<int>(0x9e3779b9u)))); }

// the rest of dropout_keep from the low halves and the high halves' hash: all-ones lanes keep
inline __m256 dropout_keep8_h(uint32_t seed, __m256i lo, __m256i hi_hash, uint32_t threshold) {
  __m256i h = fmix32_8(_mm256_xor_si256(lo, hi_hash));
  h = fmix32_8(_mm256_xor_si256(_mm256_set1_epi32(static_cast<int>(seed)), h));
  const __m256i t = _mm256_set1_epi32(static_cast<int>(threshold));
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_max_epu32(h, t), h));  // h ≥ threshold, unsigned
}

// attention.h's dropout_keep on 8 indices given as their low and high 32-bit halves
inline __m256 dropout_keep8(uint32_t seed, __m256i lo, __m256i hi, uint32_t threshold) {
  return dropout_keep8_h(seed, lo, dropout_hi_hash8(hi), threshold);
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

// Keep decisions for the 8 indices base + l·stride + c (l = 0..7) at c = 0 … count − 1. When all
// of them share their high 32 bits (nearly always), that half's hash is computed once and each
// step is one vector add; otherwise each step builds its indices.
class Keep8Walk {
 public:
  Keep8Walk(uint32_t seed, uint32_t threshold, uint64_t base, uint64_t stride, long count)
      : seed_(seed), thr_(threshold), base_(base), stride_(stride),
        flat_((base >> 32) == ((base + 7 * stride + static_cast<uint64_t>(count > 0 ? count - 1 : 0)) >> 32)) {
    __m256i hi;
    index8(base, stride, lo0_, hi);
    hh_ = dropout_hi_hash8(hi);
  }
  __m256 at(long c) const {
    if (flat_) return dropout_keep8_h(seed_, _mm256_add_epi32(lo0_, _mm256_set1_epi32(static_cast<int>(c))), hh_, thr_);
    __m256i lo, hi;
    index8(base_ + static_cast<uint64_t>(c), stride_, lo, hi);
    return dropout_keep8(seed_, lo, hi, thr_);
  }

 private:
  uint32_t seed_, thr_;
  uint64_t base_, stride_;
  bool flat_;
  __m256i lo0_, hh_;
};

}  // namespace
}  // namespace attnkit
