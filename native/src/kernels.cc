#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu.h"
#include "gemm.h"
#include "threadpool.h"
#include "vmath.h"
#include "attention.h"

namespace attnkit {

namespace {
constexpr float NEG_INF = -std::numeric_limits<float>::infinity();
constexpr long GRAIN = 1 << 15;  // elements below which a kernel stays on one thread

template <typename F>
void par(long n, long cost_per_item, F&& fn) {
  if (n * cost_per_item < GRAIN || pool().size() == 1) {
    fn(0, n);
    return;
  }
  pool().parallel_for(n, [&](long a, long b, int) { fn(a, b); });
}
inline float sigm(float x) { return x >= 0 ? 1.f / (1.f + std::exp(-x)) : std::exp(x) / (1.f + std::exp(x)); }
}  // namespace

float exp_shift_generic(float* x, long n, float shift) {
  float s = 0;
  for (long j = 0; j < n; j++) { x[j] = std::exp(x[j] - shift); s += x[j]; }
  return s;
}

ExpShiftFn exp_shift() {
  switch (active_isa()) {
    case Isa::Avx512: return exp_shift_avx512;
    case Isa::Avx2: return exp_shift_avx2;
    default: return exp_shift_generic;
  }
}

float row_max_generic(const float* x, long n) {
  float m = NEG_INF;
  for (long j = 0; j < n; j++) {
    if (x[j] != x[j]) return x[j];  // NaN wins (std::max would keep m)
    m = std::max(m, x[j]);
  }
  return m;
}

bool all_finite(const float* x, long n) {
  // x·0 is 0 for a finite x and NaN for ±∞ or NaN; eight independent sums vectorise
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; k++) acc[k] += x[j + k] * 0.f;
  for (; j < n; j++) acc[0] += x[j] * 0.f;
  float s = 0;
  for (int k = 0; k < 8; k++) s += acc[k];
  return s == 0.f;
}

float row_max(const float* x, long n) {
  // the AVX2 version serves AVX-512 machines too (every AVX-512 CPU has AVX2)
  return active_isa() == Isa::Generic ? row_max_generic(x, n) : row_max_avx2(x, n);
}

namespace {
// out[a..b) = op(x); restrict lets the compiler vectorise (through a lambda's captures it reloads
// every pointer each iteration, and relu became a mispredicted branch per element)
void unary_range(Unary op, const float* __restrict x, float* __restrict out, long a, long b) {
    switch (op) {
      case Unary::Exp: for (long i = a; i < b; i++) out[i] = std::exp(x[i]); break;
      case Unary::Tanh: for (long i = a; i < b; i++) out[i] = std::tanh(x[i]); break;
      case Unary::Sigmoid: for (long i = a; i < b; i++) out[i] = sigm(x[i]); break;
      case Unary::Relu: for (long i = a; i < b; i++) out[i] = x[i] > 0 ? x[i] : 0.f; break;
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

void strided_copy(const float* src, long offset, const long* strides, const long* shape, int nd, float* out) {
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

void strided_scatter(float* dst, long offset, const long* strides, const long* shape, int nd, const float* src, bool assign) {
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
      case Unary::Relu: for (long i = a; i < b; i++) { const float gi = g[i]; out[i] = x[i] > 0 ? gi : 0.f; } break;
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

void softmax_rows(const float* x, float* out, long rows, long n, bool log) {
  const ExpShiftFn ex = exp_shift();
  par(rows, n * 4, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* xr = x + r * n;
      float* o = out + r * n;
      float m = row_max(xr, n);
      if (m == NEG_INF) {
        std::fill(o, o + n, log ? NEG_INF : 0.f);
        continue;
      }
      if (log) {
        std::memcpy(o, xr, n * sizeof(float));
        float s = ex(o, n, m);
        float lse = m + std::log(s);
        for (long j = 0; j < n; j++) o[j] = xr[j] - lse;
      } else {
        std::memcpy(o, xr, n * sizeof(float));
        float inv = 1.f / ex(o, n, m);
        for (long j = 0; j < n; j++) o[j] *= inv;
      }
    }
  });
}

void softmax_backward_rows(const float* y, const float* g, float* out, long rows, long n, bool log) {
  const ExpShiftFn ex = exp_shift();
  par(rows, n * 2, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* yr = y + r * n;
      const float* gr = g + r * n;
      float* o = out + r * n;
      double s = 0;
      if (log) {
        for (long j = 0; j < n; j++) s += gr[j];
        // softmax = exp(log-softmax), vectorised; a −∞ entry gives 0, a NaN stays NaN (as the js kernel)
        std::memcpy(o, yr, n * sizeof(float));
        ex(o, n, 0.f);
        const float sf = static_cast<float>(s);
        for (long j = 0; j < n; j++) o[j] = gr[j] - o[j] * sf;
      } else {
        for (long j = 0; j < n; j++) s += static_cast<double>(gr[j]) * yr[j];
        for (long j = 0; j < n; j++) o[j] = yr[j] * (gr[j] - static_cast<float>(s));
      }
    }
  });
}

void cross_entropy_rows(const float* x, long rows, long C, const int32_t* target, const float* w, float eps, long ignore,
                        float* loss, float* lse) {
  const ExpShiftFn ex = exp_shift();
  par(rows, C * 2, [&](long r0, long r1) {
    static thread_local std::vector<float> tmp;
    tmp.resize(C);
    for (long r = r0; r < r1; r++) {
      const float* xr = x + r * C;
      const float m = row_max(xr, C);
      float l = m;
      if (m != NEG_INF) {
        std::memcpy(tmp.data(), xr, C * sizeof(float));
        l = m + std::log(ex(tmp.data(), C, m));
      }
      lse[r] = l;
      const long t = target[r];
      if (t == ignore) { loss[r] = 0.f; continue; }
      if (l == NEG_INF) { loss[r] = std::numeric_limits<float>::infinity(); continue; }
      double li = (1.0 - eps) * (w ? w[t] : 1.f) * (static_cast<double>(l) - xr[t]);
      if (eps > 0) {
        double s = 0;
        for (long c = 0; c < C; c++) s += (w ? w[c] : 1.f) * (static_cast<double>(l) - xr[c]);
        li += eps / static_cast<double>(C) * s;
      }
      loss[r] = static_cast<float>(li);
    }
  });
}

void cross_entropy_backward_rows(const float* x, const float* lse, const float* g, long rows, long C, const int32_t* target,
                                 const float* w, float eps, long ignore, float* out) {
  const ExpShiftFn ex = exp_shift();
  double W = static_cast<double>(C);
  if (w) { W = 0; for (long c = 0; c < C; c++) W += w[c]; }
  par(rows, C * 2, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      float* o = out + r * C;
      const long t = target[r];
      const float l = lse[r];
      if (t == ignore || l == NEG_INF) { std::fill(o, o + C, 0.f); continue; }
      const float hard = static_cast<float>(g[r] * (1.0 - eps) * (w ? w[t] : 1.f));  // coefficient of p_c − δ_ct
      const float soft = static_cast<float>(g[r] * static_cast<double>(eps) / C);      // coefficient of W·p_c − w_c
      const float a = hard + static_cast<float>(soft * W);
      std::memcpy(o, x + r * C, C * sizeof(float));
      ex(o, C, l);  // p_c
      if (w) for (long c = 0; c < C; c++) o[c] = a * o[c] - soft * w[c];
      else for (long c = 0; c < C; c++) o[c] = a * o[c] - soft;
      o[t] -= hard;
    }
  });
}

void sum_dim(const float* x, float* out, long outer, long n, long inner) {
  if (inner == 1) {
    par(outer, n, [&](long a, long b) {
      for (long o = a; o < b; o++) {
        double s = 0;
        const float* p = x + o * n;
        for (long k = 0; k < n; k++) s += p[k];
        out[o] = static_cast<float>(s);
      }
    });
    return;
  }
  // column sums: walk the rows contiguously into a block of double accumulators (each output
  // still sums k = 0, 1, … in order, as the row-sum path does)
  constexpr long CB = 512;
  const long blocks = (inner + CB - 1) / CB;
  par(outer * blocks, n * CB, [&](long a, long b) {
    double acc[CB];
    for (long u = a; u < b; u++) {
      const long o = u / blocks, i0 = (u % blocks) * CB, w = std::min(CB, inner - i0);
      std::fill(acc, acc + w, 0.0);
      const float* p = x + o * n * inner + i0;
      for (long k = 0; k < n; k++, p += inner)
        for (long i = 0; i < w; i++) acc[i] += p[i];
      for (long i = 0; i < w; i++) out[o * inner + i0 + i] = static_cast<float>(acc[i]);
    }
  });
}

namespace {
// Σ (x[j] − c), or Σ (x[j] − c)², over a row in double: four independent chains (one chain waits on every add)
inline double row_sum(const float* __restrict x, long n, double c, bool square) {
  double s[4] = {0, 0, 0, 0};
  long j = 0;
  for (; j + 4 <= n; j += 4)
    for (int k = 0; k < 4; k++) {
      const double d = x[j + k] - c;
      s[k] += square ? d * d : d;
    }
  for (; j < n; j++) {
    const double d = x[j] - c;
    s[0] += square ? d * d : d;
  }
  return (s[0] + s[1]) + (s[2] + s[3]);
}

void layer_norm_row(const float* __restrict xr, const float* __restrict w, const float* __restrict b, float* __restrict yr,
                    long n, float eps, float& mean, float& rstd) {
  const double mu = row_sum(xr, n, 0.0, false) / n;
  const double rs = 1.0 / std::sqrt(row_sum(xr, n, mu, true) / n + eps);
  mean = static_cast<float>(mu);
  rstd = static_cast<float>(rs);
  const float m = static_cast<float>(mu), r = static_cast<float>(rs);
  if (w && b) for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * r * w[j] + b[j];
  else if (w) for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * r * w[j];
  else if (b) for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * r + b[j];
  else for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * r;
}
}  // namespace

void layer_norm(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, long rows, long n, float eps) {
  par(rows, n * 3, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) layer_norm_row(x + r * n, w, b, y + r * n, n, eps, mean[r], rstd[r]);
  });
}

void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* g,
                         float* gx, float* gw, float* gb, long rows, long n) {
  // gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)), ĝ = g⊙w; gw = Σ_rows g⊙x̂; gb = Σ_rows g
  int T = pool().size();
  std::vector<double> pw(static_cast<size_t>(T) * n, 0.0), pb(static_cast<size_t>(T) * n, 0.0);
  pool().parallel_for(rows, [&](long r0, long r1, int t) {
    double* aw = pw.data() + static_cast<size_t>(t) * n;
    double* ab = pb.data() + static_cast<size_t>(t) * n;
    for (long r = r0; r < r1; r++) {
      const float* xr = x + r * n;
      const float* gr = g + r * n;
      double mu = mean[r], rs = rstd[r], s1 = 0, s2 = 0;
      for (long j = 0; j < n; j++) {
        double xh = (xr[j] - mu) * rs, gh = w ? gr[j] * w[j] : gr[j];
        s1 += gh;
        s2 += gh * xh;
        aw[j] += gr[j] * xh;
        ab[j] += gr[j];
      }
      s1 /= n;
      s2 /= n;
      if (gx)
        for (long j = 0; j < n; j++) {
          double xh = (xr[j] - mu) * rs, gh = w ? gr[j] * w[j] : gr[j];
          gx[r * n + j] = static_cast<float>(rs * (gh - s1 - xh * s2));
        }
    }
  });
  for (long j = 0; j < n; j++) {
    double sw = 0, sb = 0;
    for (int t = 0; t < T; t++) { sw += pw[static_cast<size_t>(t) * n + j]; sb += pb[static_cast<size_t>(t) * n + j]; }
    if (gw) gw[j] = static_cast<float>(sw);
    if (gb) gb[j] = static_cast<float>(sb);
  }
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

namespace {
void col_transfer(const ConvGeom& p, float* x, long Cg, float* cols, bool to_cols) {
  const long L = p.OH * p.OW;
  if (to_cols) std::fill(cols, cols + Cg * p.kh * p.kw * L, 0.f);
  long r = 0;
  for (long c = 0; c < Cg; c++) {
    float* plane = x + c * p.H * p.W;
    for (long i = 0; i < p.kh; i++)
      for (long j = 0; j < p.kw; j++, r++) {
        float* row = cols + r * L;
        for (long oy = 0; oy < p.OH; oy++) {
          long y = oy * p.sh - p.ph + i * p.dh;
          if (y < 0 || y >= p.H) continue;
          for (long ox = 0; ox < p.OW; ox++) {
            long xx = ox * p.sw - p.pw + j * p.dw;
            if (xx < 0 || xx >= p.W) continue;
            if (to_cols) row[oy * p.OW + ox] = plane[y * p.W + xx];
            else plane[y * p.W + xx] += row[oy * p.OW + ox];
          }
        }
      }
  }
}
}  // namespace

void conv2d_forward(const ConvGeom& p, const float* x, const float* w, float* y) {
  const long Cg = p.C / p.groups, Coutg = p.Cout / p.groups, CK = Cg * p.kh * p.kw, L = p.OH * p.OW;
  pool().parallel_for(p.N * p.groups, [&](long a, long b, int) {
    std::vector<float> cols(static_cast<size_t>(CK * L));
    for (long u = a; u < b; u++) {
      long n = u / p.groups, g = u % p.groups;
      col_transfer(p, const_cast<float*>(x) + (n * p.C + g * Cg) * p.H * p.W, Cg, cols.data(), true);
      sgemm(false, false, Coutg, L, CK, w + g * Coutg * CK, CK, cols.data(), L, y + (n * p.Cout + g * Coutg) * L, L, false, false);
    }
  });
}

void conv2d_backward(const ConvGeom& p, const float* x, const float* w, const float* gy, float* gx, float* gw) {
  const long Cg = p.C / p.groups, Coutg = p.Cout / p.groups, CK = Cg * p.kh * p.kw, L = p.OH * p.OW;
  std::vector<float> cols(static_cast<size_t>(CK * L));
  if (gx) std::fill(gx, gx + p.N * p.C * p.H * p.W, 0.f);
  if (gw) std::fill(gw, gw + p.Cout * CK, 0.f);
  for (long n = 0; n < p.N; n++)
    for (long g = 0; g < p.groups; g++) {
      long xOff = (n * p.C + g * Cg) * p.H * p.W, yOff = (n * p.Cout + g * Coutg) * L;
      if (gw) {
        col_transfer(p, const_cast<float*>(x) + xOff, Cg, cols.data(), true);
        sgemm(false, true, Coutg, CK, L, gy + yOff, L, cols.data(), L, gw + g * Coutg * CK, CK, true, true);
      }
      if (gx) {
        sgemm(true, false, CK, L, Coutg, w + g * Coutg * CK, CK, gy + yOff, L, cols.data(), L, false, true);
        col_transfer(p, gx + xOff, Cg, cols.data(), false);
      }
    }
}

}  // namespace attnkit

namespace attnkit {

void max_pool2d_forward(const ConvGeom& p, const float* x, float* y, int32_t* idx) {
  const long L = p.OH * p.OW;
  pool().parallel_for(p.N * p.C, [&](long a, long b, int) {
    for (long nc = a; nc < b; nc++) {
      const float* plane = x + nc * p.H * p.W;
      for (long oy = 0; oy < p.OH; oy++)
        for (long ox = 0; ox < p.OW; ox++) {
          float best = -std::numeric_limits<float>::infinity();
          long bi = -1;
          bool stop = false;
          for (long i = 0; i < p.kh && !stop; i++) {
            long yy = oy * p.sh - p.ph + i * p.dh;
            if (yy < 0 || yy >= p.H) continue;
            for (long j = 0; j < p.kw; j++) {
              long xx = ox * p.sw - p.pw + j * p.dw;
              if (xx < 0 || xx >= p.W) continue;
              float v = plane[yy * p.W + xx];
              if (v > best || std::isnan(v) || bi < 0) {
                best = v;
                bi = yy * p.W + xx;
                if (std::isnan(v)) { stop = true; break; }
              }
            }
          }
          y[nc * L + oy * p.OW + ox] = best;
          idx[nc * L + oy * p.OW + ox] = static_cast<int32_t>(bi);
        }
    }
  });
}

void max_pool2d_backward(const ConvGeom& p, const float* gy, const int32_t* idx, float* gx) {
  const long L = p.OH * p.OW, HW = p.H * p.W;
  pool().parallel_for(p.N * p.C, [&](long a, long b, int) {
    for (long nc = a; nc < b; nc++) {
      float* plane = gx + nc * HW;
      std::fill(plane, plane + HW, 0.f);
      for (long o = 0; o < L; o++) plane[idx[nc * L + o]] += gy[nc * L + o];
    }
  });
}

// Visits each output cell's window: fn(out index, first row, last row, first col, last col, 1/count)
template <typename Fn>
static void avg_walk(const ConvGeom& p, long nc, bool count_include_pad, Fn fn) {
  for (long oy = 0; oy < p.OH; oy++)
    for (long ox = 0; ox < p.OW; ox++) {
      long y0 = oy * p.sh - p.ph, x0 = ox * p.sw - p.pw;
      long y1 = std::min(y0 + p.kh, p.H + p.ph), x1 = std::min(x0 + p.kw, p.W + p.pw);
      long ya = std::max(y0, 0L), xa = std::max(x0, 0L), yb = std::min(y1, p.H), xb = std::min(x1, p.W);
      long count = count_include_pad ? (y1 - y0) * (x1 - x0) : (yb - ya) * (xb - xa);
      fn((nc * p.OH + oy) * p.OW + ox, ya, yb, xa, xb, 1.f / static_cast<float>(count));
    }
}

void avg_pool2d_forward(const ConvGeom& p, const float* x, float* y, bool count_include_pad) {
  pool().parallel_for(p.N * p.C, [&](long a, long b, int) {
    for (long nc = a; nc < b; nc++) {
      const float* plane = x + nc * p.H * p.W;
      avg_walk(p, nc, count_include_pad, [&](long o, long ya, long yb, long xa, long xb, float inv) {
        float s = 0.f;
        for (long yy = ya; yy < yb; yy++)
          for (long xx = xa; xx < xb; xx++) s += plane[yy * p.W + xx] * inv;
        y[o] = s;
      });
    }
  });
}

void avg_pool2d_backward(const ConvGeom& p, const float* gy, float* gx, bool count_include_pad) {
  pool().parallel_for(p.N * p.C, [&](long a, long b, int) {
    for (long nc = a; nc < b; nc++) {
      float* plane = gx + nc * p.H * p.W;
      std::fill(plane, plane + p.H * p.W, 0.f);
      avg_walk(p, nc, count_include_pad, [&](long o, long ya, long yb, long xa, long xb, float inv) {
        float g = gy[o] * inv;
        for (long yy = ya; yy < yb; yy++)
          for (long xx = xa; xx < xb; xx++) plane[yy * p.W + xx] += g;
      });
    }
  });
}

}  // namespace attnkit
