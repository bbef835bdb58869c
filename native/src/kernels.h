// Element-wise, reduction, softmax, gather and convolution kernels over float32 buffers.
#pragma once
#include <cstdint>

namespace attnkit {

enum class Unary { Exp = 0, Tanh, Sigmoid, Relu, GeluErf, GeluTanh, Silu, Neg, Sqrt, Rsqrt, Log, Square, Count };
void unary(Unary op, const float* x, float* out, long n);
// out = g · f'(x), given the forward's input x and output y (the same derivative rules as the js backend)
void unary_backward(Unary op, const float* x, const float* y, const float* g, float* out, long n);
// dst[offset + Σ idx·strides] = (or +=) src[row-major idx] over `shape`, the inverse of strided_copy
void strided_scatter(float* dst, long offset, const long* strides, const long* shape, int nd, const float* src, bool assign);
// Inverted dropout by a counter-based hash: element i is kept when hash(seed, i) ≥ p·2³², kept
// values scaled by 1/(1 − p), dropped ones x − x (0, or NaN for NaN and ±∞). The same decisions as the js backend and the fused attention kernel,
// so the backward pass applies the same call to the gradient.
void dropout(const float* x, float* out, long n, double p, uint32_t seed);

// One Adam/AdamW update in place, in double arithmetic with double moments, the same operations in
// the same order as the js kernel (src/backend/js/optim.ts), so both give identical weights.
struct AdamParams {
  double lr, b1, b2, c1, c2, eps, wd;
  bool decoupled;
};
void adam_update(float* w, const float* g, double* m, double* v, long n, const AdamParams& p);

enum class Binary { Add = 0, Sub, Mul, Div, Count };
// out = a ∘ b broadcast to outShape; shapes are right-aligned as in NumPy
void binary(Binary op, const float* a, const long* aShape, int aNd, const float* b, const long* bShape, int bNd,
            const long* outShape, int nd, float* out);

// softmax / logSoftmax over rows of length n (the last dim); a row of only −∞ gives 0 / −∞
void softmax_rows(const float* x, float* out, long rows, long n, bool log);
void softmax_backward_rows(const float* y, const float* g, float* out, long rows, long n, bool log);
// cross-entropy per row of logits x [rows, C] against class ids (src/backend/js/loss.ts has the
// formulas): loss [rows] (0 for rows whose target is `ignore`, +∞ for a row of only −∞) and lse [rows];
// w [C] may be null (all ones), eps is the label smoothing
void cross_entropy_rows(const float* x, long rows, long C, const int32_t* target, const float* w, float eps, long ignore,
                        float* loss, float* lse);
// out [rows, C] = ∂(Σ_i g_i·loss_i)/∂x, from the forward's lse
void cross_entropy_backward_rows(const float* x, const float* lse, const float* g, long rows, long C, const int32_t* target,
                                 const float* w, float eps, long ignore, float* out);
// true when every x[0..n) is finite (no NaN, no ±∞)
bool all_finite(const float* x, long n);
// sum over the middle axis of [outer, n, inner]
void sum_dim(const float* x, float* out, long outer, long n, long inner);
// layer norm over rows of length n: y = (x − μ)·rstd·w + b; saves mean and rstd per row
void layer_norm(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, long rows, long n, float eps);
void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* g,
                         float* gx, float* gw, float* gb, long rows, long n);
// out[o, j, :] = x[o, idx[j], :]; and its adjoint (adds)
void index_select(const float* x, long outer, long n, long inner, const int32_t* idx, long m, float* out);
void index_add(const float* g, long outer, long n, long inner, const int32_t* idx, long m, float* dx);

struct ConvGeom {
  long N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, Cout, groups;
};
void conv2d_forward(const ConvGeom& p, const float* x, const float* w, float* y);
void conv2d_backward(const ConvGeom& p, const float* x, const float* w, const float* gy, float* gx, float* gw);
// out[i] = src[offset + Σ idx_d · strides_d] over `shape` in row-major order (transposes, slices,
// broadcasts; strides may be 0 or negative). Rows are split among the threads.
void strided_copy(const float* src, long offset, const long* strides, const long* shape, int nd, float* out);
// Pooling over NCHW planes (Cout/groups unused). Max pooling pads with −∞ and records, per output, the
// flat position of the maximum within its input plane (the first one; NaN wins and stops the scan).
void max_pool2d_forward(const ConvGeom& p, const float* x, float* y, int32_t* idx);
void max_pool2d_backward(const ConvGeom& p, const float* gy, const int32_t* idx, float* gx);
// Average pooling; with count_include_pad the divisor counts padded cells (PyTorch's default).
void avg_pool2d_forward(const ConvGeom& p, const float* x, float* y, bool count_include_pad);
void avg_pool2d_backward(const ConvGeom& p, const float* gy, float* gx, bool count_include_pad);

}  // namespace attnkit
