// Compiled with -mavx512f -mavx2 -mfma; only called when the CPU and OS support AVX-512F.
#include <immintrin.h>

#include "gemm.h"

namespace attnkit {
namespace {

constexpr int MR = 12;

// 12×32 tile: 24 zmm accumulators, two B vectors, broadcasts from memory
void ukernel(long kc, const float* a, const float* b, float* c, long ldc, int acc) {
  __m512 r0[MR], r1[MR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++) { r0[r] = _mm512_setzero_ps(); r1[r] = _mm512_setzero_ps(); }
  for (long k = 0; k < kc; k++, a += MR, b += 32) {
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      __m512 x = _mm512_set1_ps(a[r]);
      r0[r] = _mm512_fmadd_ps(x, b0, r0[r]);
      r1[r] = _mm512_fmadd_ps(x, b1, r1[r]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++) {
    float* p = c + r * ldc;
    if (acc) {
      r0[r] = _mm512_add_ps(r0[r], _mm512_loadu_ps(p));
      r1[r] = _mm512_add_ps(r1[r], _mm512_loadu_ps(p + 16));
    }
    _mm512_storeu_ps(p, r0[r]);
    _mm512_storeu_ps(p + 16, r1[r]);
  }
}

}  // namespace

KernelInfo kernel_avx512() { return {MR, 32, ukernel}; }

}  // namespace attnkit
