// The 8-lane vector intrinsics: AVX2 on x86, their SIMD128 shim (avx2_wasm.h) on WebAssembly.
#pragma once
#if defined(__wasm_simd128__)
#include "avx2_wasm.h"
#else
#include <immintrin.h>
#endif
