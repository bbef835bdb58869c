// The fused attention of attention_avx2.cc compiled for AVX-512 CPUs (-mavx512f): the same code, but its
// micro-kernels (the products Sᵀ = K·Qᵀ, Oᵀ += Vᵀ·Pᵀ and the backward's five) hold a 16-query row in one
// zmm register, 12 rows at a time. The softmax, masks and dropout stay 8-lane. Each output element is the
// same chain of FMAs as on AVX2, so the two paths agree bit for bit (test/backend/native.test.ts runs every
// ISA). Only called when the CPU and OS support AVX-512F (attention.cc dispatches on active_isa()).
#define ATTNKIT_ATTN_AVX512 1
#include "attention_avx2.cc"
