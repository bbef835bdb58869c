// Element-wise kernels: unary and binary maps, strided copies, dropout, gathers and the Adam update.
#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "attention.h"
#include "cpu.h"
#include "gemm.h"
#include "kernel_util.h"
#include "threadpool.h"
#include "vmath.h"

namespace attnkit {

using detail::GRAIN;
using detail::NEG_INF;
using detail::par;
using detail::sigm;

namespace {
// out[a..b) = op(x); restrict lets the compiler vectorise (through a lambda's captures it reloads
// every pointer each iteration, and relu became a mispredicted branch per element)
void unary_range(Unary op, const float* __restrict x, float* __restrict out, long a, long b) {
    switch (op) {
      case Unary::Exp: for (long i = a; i < b; i++) out[i] = std::exp(x[i]); break;
      case Unary::Tanh: for (long i = a; i < b; i++) out[i] = std::tanh(x[i]); break;
      case Unary::Sigmoid: for (long i = a; i < b; i++) out[i] = sigm(x[i]); break;
      case Unary::Relu: for (long i = a; i < b; i++) out[i] = x[i] <= 0 ? 0.f : x[i]; break;  // NaN stays NaN (PyTorch)
      case Unary::GeluErf: for (long i = a; i < b; i++) out[i] = static_cast<float>(0.5 * x[i] * (1.0 + std::erf(x[i] * 0.7071067811865476))); break;
      case Unary::GeluTanh:
        for (long i = a; i < b; i++) {
          double v = x[i];
          out[i] = static_cast<float>(0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
        }
        break;
      case Unary::Silu: for (long i = a; i < b; i++) out[i] = x[i] * sigm(x[i]); break;
      case Unary::Neg: for (long i = a; i < b; i++) out[i] = -x[i]; break;
      case Unary::Sqrt: for (long i = a; i < b; i++) out[i] = std::sqrt(x[i]); break;
      case Unary::Rsqrt: for (long i = a; i < b; i++) out[i] = 1.f / std::sqrt(x[i]); break;
      case Unary::Log: for (long i = a; i < b; i++) out[i] = std::log(x[i]); break;
      case Unary::Square: for (long i = a; i < b; i++) out[i] = x[i] * x[i]; break;
      default: break;
    }
}
}  // namespace

void unary(Unary op, const float* x, float* out, long n) {
  par(n, 1, [&](long a, long b) { unary_range(op, x, out, a, b); });
}

void strided_copy(const float* src, long offset, const long* strides, int strides_n, const long* shape, int shape_n, float* out) {
  const int nd = std::min(strides_n, shape_n);
  if (nd == 0) { out[0] = src[offset]; return; }
  long rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= shape[d];
  const long last = shape[nd - 1], ls = strides[nd - 1];
  if (rows == 0 || last == 0) return;
  par(rows, last, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      long rem = r, base = offset;
      for (int d = nd - 2; d >= 0; d--) {
        base += (rem % shape[d]) * strides[d];
        rem /= shape[d];
      }
      float* o = out + r * last;
      if (ls == 1) std::memcpy(o, src + base, static_cast<size_t>(last) * sizeof(float));
      else for (long j = 0; j < last; j++) o[j] = src[base + j * ls];
    }
  });
}

namespace {
// true when no two index tuples of `shape` reach the same element (sizes-1 dims ignored)
bool no_overlap(const long* strides, const long* shape, int nd) {
  std::vector<std::pair<long, long>> dims;  // (|stride|, size)
  for (int d = 0; d < nd; d++)
    if (shape[d] > 1) dims.emplace_back(std::labs(strides[d]), shape[d]);
  std::sort(dims.begin(), dims.end());
  long extent = 1;  // elements spanned by the smaller dims
  for (auto [st, sz] : dims) {
    if (st < extent) return false;
    extent = st * (sz - 1) + extent;
  }
  return true;
}
}  // namespace

void strided_scatter(float* dst, long offset, const long* strides, int strides_n, const long* shape, int shape_n, const float* src, bool assign) {
  const int nd = std::min(strides_n, shape_n);
  if (nd == 0) { dst[offset] = assign ? src[0] : dst[offset] + src[0]; return; }
  long rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= shape[d];
  const long last = shape[nd - 1], ls = strides[nd - 1];
  if (rows == 0 || last == 0) return;
  auto body = [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      long rem = r, base = offset;
      for (int d = nd - 2; d >= 0; d--) {
        base += (rem % shape[d]) * strides[d];
        rem /= shape[d];
      }
      const float* in = src + r * last;
      float* o = dst + base;
      if (assign) for (long j = 0; j < last; j++) o[j * ls] = in[j];
      else for (long j = 0; j < last; j++) o[j * ls] += in[j];
    }
  };
  // rows run in parallel only when they cannot write the same element; otherwise in the js order
  if (no_overlap(strides, shape, nd)) par(rows, last, body);
  else body(0, rows);
}

namespace {
void unary_backward_range(Unary op, const float* __restrict x, const float* __restrict y, const float* __restrict g,
                          float* __restrict out, long a, long b) {
    switch (op) {
      case Unary::Exp: for (long i = a; i < b; i++) out[i] = g[i] * y[i]; break;
      case Unary::Tanh: for (long i = a; i < b; i++) out[i] = g[i] * (1.f - y[i] * y[i]); break;
      case Unary::Sigmoid: for (long i = a; i < b; i++) out[i] = g[i] * y[i] * (1.f - y[i]); break;
      case Unary::Relu: for (long i = a; i < b; i++) { const float gi = g[i]; out[i] = x[i] <= 0 ? 0.f : gi; } break;
      case Unary::GeluErf:
        for (long i = a; i < b; i++) {
          double v = x[i];
          out[i] = static_cast<float>(g[i] * (0.5 * (1.0 + std::erf(v * 0.7071067811865476)) + v * 0.3989422804014327 * std::exp(-0.5 * v * v)));
        }
        break;
      case Unary::GeluTanh:
        for (long i = a; i < b; i++) {
          double v = x[i], u = 0.7978845608028654 * (v + 0.044715 * v * v * v), t = std::tanh(u);
          double du = 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * v * v);
          out[i] = static_cast<float>(g[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du));
        }
        break;
      case Unary::Silu:
        for (long i = a; i < b; i++) {
          float sg = sigm(x[i]);
          out[i] = g[i] * sg * (1.f + x[i] * (1.f - sg));
        }
        break;
      case Unary::Neg: for (long i = a; i < b; i++) out[i] = -g[i]; break;
      case Unary::Sqrt: for (long i = a; i < b; i++) out[i] = g[i] * 0.5f / y[i]; break;
      case Unary::Rsqrt: for (long i = a; i < b; i++) out[i] = g[i] * (-0.5f * y[i] / x[i]); break;
      case Unary::Log: for (long i = a; i < b; i++) out[i] = g[i] / x[i]; break;
      case Unary::Square: for (long i = a; i < b; i++) out[i] = g[i] * 2.f * x[i]; break;
      default: break;
    }
}
}  // namespace

void unary_backward(Unary op, const float* x, const float* y, const float* g, float* out, long n) {
  par(n, 1, [&](long a, long b) { unary_backward_range(op, x, y, g, out, a, b); });
}

void dropout(const float* x, float* out, long n, double p, uint32_t seed) {
  const uint32_t thr = drop_threshold(p);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  const bool simd = active_isa() != Isa::Generic;
  par(n, 4, [&](long a, long b) {
    if (simd) return dropout_avx2(x, out, a, b, seed, thr, scale);
    for (long i = a; i < b; i++) out[i] = dropout_keep(seed, static_cast<uint64_t>(i), thr) ? x[i] * scale : x[i] - x[i];
  });
}

void adam_update(float* w, const float* g, double* m, double* v, long n, const AdamParams& p) {
  const double decay = p.decoupled ? p.lr * p.wd : 0, l2 = p.decoupled ? 0 : p.wd;
  par(n, 8, [&](long a, long b) {
    for (long i = a; i < b; i++) {
      double wi = w[i];
      const double gi = g[i] + l2 * wi;
      wi -= decay * wi;
      const double mi = p.b1 * m[i] + (1 - p.b1) * gi;
      const double vi = p.b2 * v[i] + (1 - p.b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = static_cast<float>(wi - (p.lr * (mi / p.c1)) / (std::sqrt(vi / p.c2) + p.eps));
    }
  });
}

template <Binary OP>
inline void brow(const float* a, long sa, const float* b, long sb, float* o, long n) {
  for (long i = 0; i < n; i++) {
    float x = a[i * sa], y = b[i * sb];
    o[i] = OP == Binary::Add ? x + y : OP == Binary::Sub ? x - y : OP == Binary::Mul ? x * y : x / y;
  }
}

void binary(Binary op, const float* a, const long* aShape, int aNd, const float* b, const long* bShape, int bNd,
            const long* outShape, int nd, float* out) {
  long total = 1;
  for (int d = 0; d < nd; d++) total *= outShape[d];
  if (total == 0) return;
  std::vector<long> sa(nd, 0), sb(nd, 0);
  long acc = 1;
  for (int d = aNd - 1; d >= 0; d--) { if (aShape[d] != 1) sa[nd - aNd + d] = acc; acc *= aShape[d]; }
  acc = 1;
  for (int d = bNd - 1; d >= 0; d--) { if (bShape[d] != 1) sb[nd - bNd + d] = acc; acc *= bShape[d]; }
  long last = nd > 0 ? outShape[nd - 1] : 1;
  long lsa = nd > 0 ? sa[nd - 1] : 0, lsb = nd > 0 ? sb[nd - 1] : 0;
  long rows = total / last;
  auto row = [&](long r) {
    long pa = 0, pb = 0, rem = r;
    for (int d = nd - 2; d >= 0; d--) {
      long c = rem % outShape[d];
      rem /= outShape[d];
      pa += c * sa[d];
      pb += c * sb[d];
    }
    float* o = out + r * last;
    switch (op) {
      case Binary::Add: brow<Binary::Add>(a + pa, lsa, b + pb, lsb, o, last); break;
      case Binary::Sub: brow<Binary::Sub>(a + pa, lsa, b + pb, lsb, o, last); break;
      case Binary::Mul: brow<Binary::Mul>(a + pa, lsa, b + pb, lsb, o, last); break;
      default: brow<Binary::Div>(a + pa, lsa, b + pb, lsb, o, last); break;
    }
  };
  par(rows, last, [&](long r0, long r1) { for (long r = r0; r < r1; r++) row(r); });
}

void index_select(const float* x, long outer, long n, long inner, const int32_t* idx, long m, float* out) {
  par(outer * m, inner, [&](long a, long b) {
    for (long u = a; u < b; u++) {
      long o = u / m, j = u % m;
      std::memcpy(out + u * inner, x + (o * n + idx[j]) * inner, inner * sizeof(float));
    }
  });
}

void index_add(const float* g, long outer, long n, long inner, const int32_t* idx, long m, float* dx) {
  // serial over j (indices may repeat), threaded over the inner dim
  par(inner, outer * m, [&](long i0, long i1) {
    for (long o = 0; o < outer; o++)
      for (long j = 0; j < m; j++) {
        const float* src = g + (o * m + j) * inner;
        float* dst = dx + (o * n + idx[j]) * inner;
        for (long i = i0; i < i1; i++) dst[i] += src[i];
      }
  });
}
}  // namespace attnkit
