// Vectorised math used by softmax-like kernels, with per-ISA implementations.
#pragma once

#include <cstdint>

namespace attnkit {

// out[i] = keep(seed, i) ? x[i]·scale : 0 for i in [a, b) (attention.h's dropout_keep, 8 lanes at a time)
void dropout_avx2(const float* x, float* out, long a, long b, uint32_t seed, uint32_t threshold, float scale);

// x[j] = exp(x[j] − shift) for j < n; returns Σ x[j]. For shift ≥ max x (a softmax's shift; exact up to
// x − shift < 88): relative error ≤ 2e-7, 0 below −87.3, a NaN stays NaN.
using ExpShiftFn = float (*)(float* x, long n, float shift);
ExpShiftFn exp_shift();

float exp_shift_generic(float* x, long n, float shift);
float exp_shift_avx2(float* x, long n, float shift);
float exp_shift_avx512(float* x, long n, float shift);

// max over x[0..n): NaN if any element is NaN (as torch.max), −∞ for n = 0; dispatched to the widest
// vectors the CPU has
float row_max(const float* x, long n);
float row_max_generic(const float* x, long n);
float row_max_avx2(const float* x, long n);

}  // namespace attnkit
