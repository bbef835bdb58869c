// Vectorised math used by softmax-like kernels, with per-ISA implementations.
#pragma once

namespace attnkit {

// x[j] = exp(x[j] − shift) for j < n; returns Σ x[j]. Relative error ≤ 2e-7 (below float32 rounding).
using ExpShiftFn = float (*)(float* x, long n, float shift);
ExpShiftFn exp_shift();

float exp_shift_generic(float* x, long n, float shift);
float exp_shift_avx2(float* x, long n, float shift);
float exp_shift_avx512(float* x, long n, float shift);

// max over x[0..n)
float row_max(const float* x, long n);

}  // namespace attnkit
