// The sgemm micro-kernel on WebAssembly SIMD128 (the wasm build's kernel_simd128; x86 builds use
// gemm_avx2.cc / gemm_avx512.cc). A 5×8 tile: 10 v128 accumulators, two B vectors and a broadcast.
// SIMD128 has no FMA: a multiply and an add. Why 5 rows: V8 (Node 20's and Chromium 150's) keeps
// about 13 v128 values in xmm registers in this loop; a 6×8 tile (15 live values) spills accumulators
// every step and ran at 18 GFLOP/s on one Zen 4 core in Chromium, 5×8 at 51 (4×8: 42, 8×8: 17,
// 4×12: 14, 3×16: 26, 2×16: 49; /tmp micro-benchmark of the tile loop alone, packed operands in L2).
#include <wasm_simd128.h>

#include "gemm.h"

namespace attnkit {
namespace {

constexpr int MR = 5;

void ukernel(long kc, const float* a, const float* b, float* c, long ldc, int acc) {
  v128_t c00 = wasm_f32x4_splat(0.f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  v128_t c30 = c00, c31 = c00, c40 = c00, c41 = c00;
  for (long k = 0; k < kc; k++, a += MR, b += 8) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    v128_t x;
    x = wasm_v128_load32_splat(a + 0); c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a + 1); c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a + 2); c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a + 3); c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a + 4); c40 = wasm_f32x4_add(c40, wasm_f32x4_mul(x, b0)); c41 = wasm_f32x4_add(c41, wasm_f32x4_mul(x, b1));
  }
  v128_t rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}};
  for (int r = 0; r < MR; r++) {
    float* p = c + r * ldc;
    if (acc) {
      rows[r][0] = wasm_f32x4_add(rows[r][0], wasm_v128_load(p));
      rows[r][1] = wasm_f32x4_add(rows[r][1], wasm_v128_load(p + 4));
    }
    wasm_v128_store(p, rows[r][0]);
    wasm_v128_store(p + 4, rows[r][1]);
  }
}

}  // namespace

KernelInfo kernel_simd128() { return {MR, 8, ukernel}; }

}  // namespace attnkit
