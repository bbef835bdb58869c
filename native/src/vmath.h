// Vectorised math used by softmax-like kernels, with per-ISA implementations.
#pragma once

namespace attnkit {

// x[j] = exp(x[j] − shift) for j < n; returns Σ x[j]. Relative error ≤ 2e-7 (below float32 rounding).
using ExpShiftFn = float (*)(float* x, long n, float shift);
ExpShiftFn exp_shift();

float exp_shift_generic(float* x, long n, float shift);
float exp_shift_avx2(float* x, long n, float shift);
float exp_shift_avx512(float* x, long n, float shift);

// max over x[0..n) (NaNs ignored, −∞ for n = 0); dispatched to the widest vectors the CPU has
float row_max(const float* x, long n);
float row_max_generic(const float* x, long n);
float row_max_avx2(const float* x, long n);

}  // namespace attnkit
