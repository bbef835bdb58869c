// The sgemm micro-kernel on WebAssembly SIMD128 (the wasm build's kernel_simd128; x86 builds use
// gemm_avx2.cc / gemm_avx512.cc). A 4×8 tile: 8 v128 accumulators, two B vectors and the broadcasts.
// A multiply-add is wasm_madd.h's ak_madd4 (fused in the relaxed-SIMD builds, a multiply and an add else). Why 4 rows: V8 keeps about 15 v128 values in xmm registers,
// and Node 20's V8 (11.3) schedules the loop's loads first, so all of a tile's broadcasts are live at once.
// A 5×8 tile (10 accumulators + 2 + 5 broadcasts) then spills two accumulators, whose store-to-load
// round trip each step halves the speed; Chromium 150's V8 keeps it in registers. Tile loop alone, one
// core of the Zen 5 VM, same run (/tmp micro-benchmark, operands in L1, the kernel's own signature):
// 5×8 Node 23 GFLOP/s, Chromium 50; 4×8 Node 43, Chromium 49. (Older: 6×8 spills in both, 18–28.)
#include <wasm_simd128.h>

#include "gemm.h"
#include "wasm_madd.h"

namespace attnkit {
namespace {

constexpr int MR = 4;

void ukernel(long kc, const float* a, const float* b, float* c, long ldc, int acc) {
  v128_t c00 = wasm_f32x4_splat(0.f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (long k = 0; k < kc; k++, a += MR, b += 8) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    v128_t x;
    x = wasm_v128_load32_splat(a + 0); c00 = ak_madd4(x, b0, c00); c01 = ak_madd4(x, b1, c01);
    x = wasm_v128_load32_splat(a + 1); c10 = ak_madd4(x, b0, c10); c11 = ak_madd4(x, b1, c11);
    x = wasm_v128_load32_splat(a + 2); c20 = ak_madd4(x, b0, c20); c21 = ak_madd4(x, b1, c21);
    x = wasm_v128_load32_splat(a + 3); c30 = ak_madd4(x, b0, c30); c31 = ak_madd4(x, b1, c31);
  }
  v128_t rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
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
