// Compiled with -mavx2 -mfma; only called when the CPU supports both.
#include <immintrin.h>

#include "gemm.h"

namespace attnkit {
namespace {

// 6×16 tile: 12 ymm accumulators, two B vectors, one broadcast
void ukernel(long kc, const float* a, const float* b, float* c, long ldc, int acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (long k = 0; k < kc; k++, a += 6, b += 16) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 x;
    x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
  }
  __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int r = 0; r < 6; r++) {
    float* p = c + r * ldc;
    if (acc) {
      rows[r][0] = _mm256_add_ps(rows[r][0], _mm256_loadu_ps(p));
      rows[r][1] = _mm256_add_ps(rows[r][1], _mm256_loadu_ps(p + 8));
    }
    _mm256_storeu_ps(p, rows[r][0]);
    _mm256_storeu_ps(p + 8, rows[r][1]);
  }
}

}  // namespace

KernelInfo kernel_avx2() { return {6, 16, ukernel}; }

}  // namespace attnkit
