// a·b + c on four float lanes, for the wasm builds' kernels (gemm_simd128.cc, avx2_wasm.h's _mm256_fmadd_ps).
// The relaxed builds (-mrelaxed-simd: attnkit-*-rx, chosen where the engine has relaxed SIMD) use
// f32x4.relaxed_madd, one instruction that V8 runs as a fused multiply-add on CPUs with FMA, as the x86
// kernels do; the plain builds a multiply then an add (SIMD128 has no FMA). Emscripten 3.1.6's clang 14
// emits the proposal's prototype opcode for this builtin; scripts/wasm-relaxed.mjs rewrites it to the
// standard's after linking. Operand order: the standard's relaxed_madd(a, b, c) = a·b + c (checked by
// the backend tests: a swapped order would be wrong by far more than rounding).
#pragma once
#include <wasm_simd128.h>

static inline __attribute__((always_inline)) v128_t ak_madd4(v128_t a, v128_t b, v128_t c) {
#if defined(__wasm_relaxed_simd__)
  return __builtin_wasm_fma_f32x4(a, b, c);
#else
  return wasm_f32x4_add(wasm_f32x4_mul(a, b), c);
#endif
}

// c − a·b
static inline __attribute__((always_inline)) v128_t ak_nmadd4(v128_t a, v128_t b, v128_t c) {
#if defined(__wasm_relaxed_simd__)
  return __builtin_wasm_fma_f32x4(wasm_f32x4_neg(a), b, c);
#else
  return wasm_f32x4_sub(c, wasm_f32x4_mul(a, b));
#endif
}
