#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "aligned.h"
#include "cpu.h"
#include "kernels.h"
#include "threadpool.h"

namespace attnkit {

namespace {

constexpr long KC = 256;
constexpr long MC_ROWS = 144;  // rows of A per block (rounded to MR)
constexpr long NC = 2048;

thread_local AlignedBuf tl_a;
thread_local AlignedBuf tl_b;

void generic_ukernel(long kc, const float* a, const float* b, float* c, long ldc, int acc) {
  constexpr int MR = 4, NR = 8;
  float t[MR][NR] = {};
  for (long k = 0; k < kc; k++, a += MR, b += NR)
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < NR; j++) t[r][j] += a[r] * b[j];
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < NR; j++) c[r * ldc + j] = acc ? c[r * ldc + j] + t[r][j] : t[r][j];
}

const KernelInfo& kernel() {
  static KernelInfo generic = kernel_generic();
#if ATTNKIT_X86
  static KernelInfo avx2 = kernel_avx2();
  static KernelInfo avx512 = kernel_avx512();
#else
  static KernelInfo avx2 = kernel_simd128();
  static KernelInfo& avx512 = avx2;
#endif
  switch (active_isa()) {
    case Isa::Avx512: return avx512;
    case Isa::Avx2: return avx2;
    default: return generic;
  }
}

// pa[s][k·MR + r] = op(A)(i0 + s·MR + r, p0 + k), zero past M
void pack_a(bool trans, const float* A, long lda, long i0, long mc, long p0, long kc, int MR, float* pa) {
  for (long s = 0; s < mc; s += MR, pa += kc * MR) {
    long rows = std::min<long>(MR, mc - s);
    if (!trans) {
      for (long r = 0; r < rows; r++) {
        const float* src = A + (i0 + s + r) * lda + p0;
        for (long k = 0; k < kc; k++) pa[k * MR + r] = src[k];
      }
      for (long r = rows; r < MR; r++)
        for (long k = 0; k < kc; k++) pa[k * MR + r] = 0.f;
    } else {
      for (long k = 0; k < kc; k++) {
        const float* src = A + (p0 + k) * lda + i0 + s;
        float* dst = pa + k * MR;
        long r = 0;
        for (; r < rows; r++) dst[r] = src[r];
        for (; r < MR; r++) dst[r] = 0.f;
      }
    }
  }
}

// pb[s][k·NR + j] = op(B)(p0 + k, j0 + s·NR + j), zero past N
void pack_b(bool trans, const float* B, long ldb, long p0, long kc, long j0, long nc, int NR, long s_begin, long s_end, float* pb) {
  for (long s = s_begin; s < s_end; s++) {
    float* dst = pb + s * kc * NR;
    long jb = s * NR, cols = std::min<long>(NR, nc - jb);
    if (!trans) {
      for (long k = 0; k < kc; k++) {
        const float* src = B + (p0 + k) * ldb + j0 + jb;
        long j = 0;
        for (; j < cols; j++) dst[k * NR + j] = src[j];
        for (; j < NR; j++) dst[k * NR + j] = 0.f;
      }
    } else {
      for (long j = 0; j < cols; j++) {
        const float* src = B + (j0 + jb + j) * ldb + p0;
        for (long k = 0; k < kc; k++) dst[k * NR + j] = src[k];
      }
      for (long j = cols; j < NR; j++)
        for (long k = 0; k < kc; k++) dst[k * NR + j] = 0.f;
    }
  }
}

// C's tile rows start from bias[j] (when given, on the first k-panel only) or from C itself (acc)
void macro_tile(const KernelInfo& ki, const float* pa, const float* pb, long kc, long mc, long s_begin, long s_end, long nc,
                float* C, long ldc, int acc, const float* bias) {
  const int MR = ki.mr, NR = ki.nr;
  alignas(64) float tmp[16 * 64];
  for (long s = s_begin; s < s_end; s++) {
    long jb = s * NR, cols = std::min<long>(NR, nc - jb);
    const float* b = pb + s * kc * NR;
    for (long ir = 0; ir < mc; ir += MR) {
      long rows = std::min<long>(MR, mc - ir);
      const float* a = pa + ir * kc;
      float* c = C + ir * ldc + jb;
      if (rows == MR && cols == NR) {
        if (bias)  // the tile is in L1 right after: the micro-kernel adds into these rows
          for (long r = 0; r < rows; r++) std::memcpy(c + r * ldc, bias + jb, NR * sizeof(float));
        ki.ukernel(kc, a, b, c, ldc, acc || bias ? 1 : 0);
      } else {
        ki.ukernel(kc, a, b, tmp, NR, 0);
        for (long r = 0; r < rows; r++)
          for (long j = 0; j < cols; j++)
            c[r * ldc + j] = bias ? bias[jb + j] + tmp[r * NR + j] : acc ? c[r * ldc + j] + tmp[r * NR + j] : tmp[r * NR + j];
      }
    }
  }
}

}  // namespace

KernelInfo kernel_generic() { return {4, 8, generic_ukernel}; }

void sgemm(bool transA, bool transB, long M, long N, long K, const float* A, long lda, const float* B, long ldb,
           float* C, long ldc, bool accumulate, bool threaded, const float* bias) {
  if (M <= 0 || N <= 0) return;
  if (accumulate) bias = nullptr;
  if (K <= 0) {
    if (!accumulate)
      for (long i = 0; i < M; i++) {
        if (bias) std::memcpy(C + i * ldc, bias, N * sizeof(float));
        else std::memset(C + i * ldc, 0, N * sizeof(float));
      }
    return;
  }
  const KernelInfo& ki = kernel();
  const int MR = ki.mr, NR = ki.nr;
  const long MC = std::max<long>(MR, MC_ROWS / MR * MR);
  int T = threaded ? pool().size() : 1;
  if (static_cast<double>(M) * N * K < 64.0 * 64 * 64) T = 1;
  for (long jc = 0; jc < N; jc += NC) {
    long nc = std::min(NC, N - jc);
    long slivers = (nc + NR - 1) / NR;
    for (long pc = 0; pc < K; pc += KC) {
      long kc = std::min(KC, K - pc);
      int acc = (pc > 0 || accumulate) ? 1 : 0;
      float* pb = tl_b.get(static_cast<size_t>(slivers) * kc * NR);
      long mblocks = (M + MC - 1) / MC;
      const float* bias_pc = bias && pc == 0 ? bias + jc : nullptr;
      long nchunks = T > 1 && mblocks < T ? (T + mblocks - 1) / mblocks : 1;
      auto body = [&](long u0, long u1, int) {
        long last_ic = -1;
        for (long u = u0; u < u1; u++) {
          long ib = u / nchunks, chunk = u % nchunks;
          long ic = ib * MC, mc = std::min(MC, M - ic);
          long s0 = slivers * chunk / nchunks, s1 = slivers * (chunk + 1) / nchunks;
          if (s0 == s1) continue;
          float* pa = tl_a.get(static_cast<size_t>((mc + MR - 1) / MR * MR) * kc);
          if (ic != last_ic) {
            pack_a(transA, A, lda, ic, mc, pc, kc, MR, pa);
            last_ic = ic;
          }
          macro_tile(ki, pa, pb, kc, mc, s0, s1, nc, C + ic * ldc + jc, ldc, acc, bias_pc);
        }
      };
      const long panels = (M + MR - 1) / MR;
      if (T > 1 && mblocks >= T) {
        // each thread takes an equal share of A's micro-panels (whole MC blocks would leave one
        // thread up to a block more: 15 against 14 blocks of 144 rows at M 4096), in MC-row blocks
        pool().parallel_for(slivers, [&](long s0, long s1, int) { pack_b(transB, B, ldb, pc, kc, jc, nc, NR, s0, s1, pb); });
        pool().parallel_for(T, [&](long t0, long t1, int) {
          for (long t = t0; t < t1; t++) {
            const long r0 = panels * t / T * MR, r1 = std::min(M, panels * (t + 1) / T * MR);
            for (long ic = r0; ic < r1; ic += MC) {
              const long mc = std::min(MC, r1 - ic);
              float* pa = tl_a.get(static_cast<size_t>((mc + MR - 1) / MR * MR) * kc);
              pack_a(transA, A, lda, ic, mc, pc, kc, MR, pa);
              macro_tile(ki, pa, pb, kc, mc, 0, slivers, nc, C + ic * ldc + jc, ldc, acc, bias_pc);
            }
          }
        });
      } else if (T > 1) {
        pool().parallel_for(slivers, [&](long s0, long s1, int) { pack_b(transB, B, ldb, pc, kc, jc, nc, NR, s0, s1, pb); });
        pool().parallel_for(mblocks * nchunks, body);
      } else {
        pack_b(transB, B, ldb, pc, kc, jc, nc, NR, 0, slivers, pb);
        body(0, mblocks * nchunks, 0);
      }
    }
  }
}

void sgemm_batched(bool transA, bool transB, long M, long N, long K, const float* A, const long* aOff,
                   const float* B, const long* bOff, float* C, const long* cOff, long count, bool accumulate) {
  long lda = transA ? M : K, ldb = transB ? K : N;
  int T = pool().size();
  if (count >= T && T > 1) {
    pool().parallel_for(count, [&](long b0, long b1, int) {
      for (long i = b0; i < b1; i++)
        sgemm(transA, transB, M, N, K, A + aOff[i], lda, B + bOff[i], ldb, C + cOff[i], N, accumulate, false);
    });
  } else {
    for (long i = 0; i < count; i++)
      sgemm(transA, transB, M, N, K, A + aOff[i], lda, B + bOff[i], ldb, C + cOff[i], N, accumulate, true);
  }
}

// the kernel table's entries: operands at element offsets, leading dimensions from the shapes
void gemm(const float* a, long aOff, const float* b, long bOff, float* out, long oOff, long M, long N, long K, bool transA,
          bool transB, bool accumulate, const float* bias) {
  sgemm(transA, transB, M, N, K, a + aOff, transA ? M : K, b + bOff, transB ? K : N, out + oOff, N, accumulate, true, bias);
}

void gemm_batched(const float* a, const float* b, float* out, const double* offsets, long nOffsets, long M, long N, long K,
                  bool transA, bool transB) {
  const long count = nOffsets / 3;
  std::vector<long> ao(count), bo(count), oo(count);
  for (long i = 0; i < count; i++) {
    ao[i] = static_cast<long>(offsets[3 * i]);
    bo[i] = static_cast<long>(offsets[3 * i + 1]);
    oo[i] = static_cast<long>(offsets[3 * i + 2]);
  }
  sgemm_batched(transA, transB, M, N, K, a, ao.data(), b, bo.data(), out, oo.data(), count, false);
}

}  // namespace attnkit
