// The AVX2 intrinsics the 8-lane kernels use (attention_avx2.cc, vmath_avx2.*), on WebAssembly SIMD128:
// an __m256 is two v128 halves. simd.h includes this instead of <immintrin.h> when compiling to wasm,
// so the wasm build runs the same transposed attention and dropout code, not a copy of it. Semantics
// follow the x86 instructions where the kernels rely on them: max_ps(a, b) returns b when either is
// NaN, blendv_ps selects by each lane's sign bit; fmadd and fnmadd are wasm_madd.h's ak_madd4 and ak_nmadd4: fused in
// the relaxed-SIMD builds, a multiply then an add in the plain ones (SIMD128 has no FMA).
#pragma once
#include <wasm_simd128.h>

#include "wasm_madd.h"

#include <cstdint>

#define AK_INL static inline __attribute__((always_inline))

struct __m256 { v128_t lo, hi; };
struct __m256i { v128_t lo, hi; };

#define _CMP_EQ_OQ 0x00
#define _CMP_LT_OQ 0x11
#define _CMP_UNORD_Q 0x03
#define _CMP_NEQ_UQ 0x04
#define _CMP_GE_OQ 0x1d

AK_INL __m256 _mm256_setzero_ps() { return {wasm_f32x4_splat(0.f), wasm_f32x4_splat(0.f)}; }
AK_INL __m256 _mm256_set1_ps(float x) { return {wasm_f32x4_splat(x), wasm_f32x4_splat(x)}; }
AK_INL __m256i _mm256_set1_epi32(int x) { return {wasm_i32x4_splat(x), wasm_i32x4_splat(x)}; }
AK_INL __m256i _mm256_setr_epi32(int a, int b, int c, int d, int e, int f, int g, int h) {
  return {wasm_i32x4_make(a, b, c, d), wasm_i32x4_make(e, f, g, h)};
}
AK_INL __m256 _mm256_load_ps(const float* p) { return {wasm_v128_load(p), wasm_v128_load(p + 4)}; }
AK_INL __m256 _mm256_loadu_ps(const float* p) { return {wasm_v128_load(p), wasm_v128_load(p + 4)}; }
AK_INL __m256i _mm256_load_si256(const __m256i* p) {
  const int32_t* q = reinterpret_cast<const int32_t*>(p);
  return {wasm_v128_load(q), wasm_v128_load(q + 4)};
}
AK_INL void _mm256_store_ps(float* p, __m256 x) { wasm_v128_store(p, x.lo); wasm_v128_store(p + 4, x.hi); }
AK_INL void _mm256_storeu_ps(float* p, __m256 x) { wasm_v128_store(p, x.lo); wasm_v128_store(p + 4, x.hi); }
AK_INL __m256 _mm256_broadcast_ss(const float* p) { v128_t v = wasm_v128_load32_splat(p); return {v, v}; }

AK_INL __m256 _mm256_add_ps(__m256 a, __m256 b) { return {wasm_f32x4_add(a.lo, b.lo), wasm_f32x4_add(a.hi, b.hi)}; }
AK_INL __m256 _mm256_sub_ps(__m256 a, __m256 b) { return {wasm_f32x4_sub(a.lo, b.lo), wasm_f32x4_sub(a.hi, b.hi)}; }
AK_INL __m256 _mm256_mul_ps(__m256 a, __m256 b) { return {wasm_f32x4_mul(a.lo, b.lo), wasm_f32x4_mul(a.hi, b.hi)}; }
AK_INL __m256 _mm256_fmadd_ps(__m256 a, __m256 b, __m256 c) { return {ak_madd4(a.lo, b.lo, c.lo), ak_madd4(a.hi, b.hi, c.hi)}; }
AK_INL __m256 _mm256_fnmadd_ps(__m256 a, __m256 b, __m256 c) { return {ak_nmadd4(a.lo, b.lo, c.lo), ak_nmadd4(a.hi, b.hi, c.hi)}; }
// x86 MAXPS: a > b ? a : b (b when either is NaN); pmax(x, y) is x < y ? y : x
AK_INL __m256 _mm256_max_ps(__m256 a, __m256 b) { return {wasm_f32x4_pmax(b.lo, a.lo), wasm_f32x4_pmax(b.hi, a.hi)}; }

AK_INL __m256 _mm256_and_ps(__m256 a, __m256 b) { return {wasm_v128_and(a.lo, b.lo), wasm_v128_and(a.hi, b.hi)}; }
AK_INL __m256 _mm256_or_ps(__m256 a, __m256 b) { return {wasm_v128_or(a.lo, b.lo), wasm_v128_or(a.hi, b.hi)}; }
// ~a & b
AK_INL __m256 _mm256_andnot_ps(__m256 a, __m256 b) { return {wasm_v128_andnot(b.lo, a.lo), wasm_v128_andnot(b.hi, a.hi)}; }
AK_INL __m256i _mm256_xor_si256(__m256i a, __m256i b) { return {wasm_v128_xor(a.lo, b.lo), wasm_v128_xor(a.hi, b.hi)}; }

// only the predicates above: another one (a new _CMP_GT_OQ in a kernel) must not compile as some other test
template <int op>
AK_INL v128_t ak_cmp4(v128_t a, v128_t b) {
  static_assert(op == _CMP_EQ_OQ || op == _CMP_LT_OQ || op == _CMP_UNORD_Q || op == _CMP_NEQ_UQ || op == _CMP_GE_OQ,
                "avx2_wasm.h: this _CMP_ predicate has no SIMD128 mapping yet: add it to ak_cmp4");
  if constexpr (op == _CMP_EQ_OQ) return wasm_f32x4_eq(a, b);
  else if constexpr (op == _CMP_LT_OQ) return wasm_f32x4_lt(a, b);
  else if constexpr (op == _CMP_UNORD_Q) return wasm_v128_or(wasm_f32x4_ne(a, a), wasm_f32x4_ne(b, b));
  else if constexpr (op == _CMP_NEQ_UQ) return wasm_f32x4_ne(a, b);
  else return wasm_f32x4_ge(a, b);  // _CMP_GE_OQ
}
#define _mm256_cmp_ps(a, b, op) __m256{ak_cmp4<(op)>((a).lo, (b).lo), ak_cmp4<(op)>((a).hi, (b).hi)}
// lanes of b where mask's sign bit is set, else a
AK_INL __m256 _mm256_blendv_ps(__m256 a, __m256 b, __m256 mask) {
  return {wasm_v128_bitselect(b.lo, a.lo, wasm_i32x4_shr(mask.lo, 31)), wasm_v128_bitselect(b.hi, a.hi, wasm_i32x4_shr(mask.hi, 31))};
}
AK_INL int _mm256_movemask_ps(__m256 a) {
  return static_cast<int>(wasm_i32x4_bitmask(a.lo) | (wasm_i32x4_bitmask(a.hi) << 4));
}
AK_INL __m256 _mm256_castsi256_ps(__m256i a) { return {a.lo, a.hi}; }
AK_INL __m256i _mm256_castps_si256(__m256 a) { return {a.lo, a.hi}; }

AK_INL __m256i _mm256_add_epi32(__m256i a, __m256i b) { return {wasm_i32x4_add(a.lo, b.lo), wasm_i32x4_add(a.hi, b.hi)}; }
AK_INL __m256i _mm256_mullo_epi32(__m256i a, __m256i b) { return {wasm_i32x4_mul(a.lo, b.lo), wasm_i32x4_mul(a.hi, b.hi)}; }
AK_INL __m256i _mm256_slli_epi32(__m256i a, int n) { return {wasm_i32x4_shl(a.lo, n), wasm_i32x4_shl(a.hi, n)}; }
AK_INL __m256i _mm256_srli_epi32(__m256i a, int n) { return {wasm_u32x4_shr(a.lo, n), wasm_u32x4_shr(a.hi, n)}; }
AK_INL __m256i _mm256_cmpgt_epi32(__m256i a, __m256i b) { return {wasm_i32x4_gt(a.lo, b.lo), wasm_i32x4_gt(a.hi, b.hi)}; }
AK_INL __m256i _mm256_cmpeq_epi32(__m256i a, __m256i b) { return {wasm_i32x4_eq(a.lo, b.lo), wasm_i32x4_eq(a.hi, b.hi)}; }
AK_INL __m256i _mm256_max_epu32(__m256i a, __m256i b) { return {wasm_u32x4_max(a.lo, b.lo), wasm_u32x4_max(a.hi, b.hi)}; }

#undef AK_INL
