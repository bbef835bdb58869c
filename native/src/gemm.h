// Single-precision GEMM: C (+)= op(A)·op(B), cache-blocked with packed panels and
// per-ISA register-tiled micro-kernels (AVX-512, AVX2+FMA, portable), threaded.
#pragma once
#include <cstddef>

namespace attnkit {

// Micro-kernel: c[MR×NR] (+)= Σ_k a[k·MR + r]·b[k·NR + j] over kc steps; accumulate=1 adds into c.
using UKernel = void (*)(long kc, const float* a, const float* b, float* c, long ldc, int accumulate);

struct KernelInfo {
  int mr;
  int nr;
  UKernel ukernel;
};

KernelInfo kernel_generic();
KernelInfo kernel_avx2();
KernelInfo kernel_avx512();
KernelInfo kernel_simd128();  // WebAssembly (gemm_simd128.cc)

// op(A) is M×K: A[i·lda + p], or A[p·lda + i] when transA. op(B) is K×N likewise. With a bias [N]
// (and no accumulate) C = op(A)·op(B) + bias broadcast over rows, added as C's tiles are computed.
void sgemm(bool transA, bool transB, long M, long N, long K, const float* A, long lda, const float* B, long ldb,
           float* C, long ldc, bool accumulate, bool threaded, const float* bias = nullptr);

// `count` independent products at element offsets aOff[i], bOff[i], cOff[i] (contiguous matrices).
void sgemm_batched(bool transA, bool transB, long M, long N, long K, const float* A, const long* aOff,
                   const float* B, const long* bOff, float* C, const long* cOff, long count, bool accumulate);

}  // namespace attnkit
