// Row kernels: max and exp-sum helpers, softmax, cross-entropy, sums and layer norm.
#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "aligned.h"
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

float exp_shift_generic(float* x, long n, float shift) {
  float s = 0;
  for (long j = 0; j < n; j++) { x[j] = std::exp(x[j] - shift); s += x[j]; }
  return s;
}

ExpShiftFn exp_shift() {
  switch (active_isa()) {
#if ATTNKIT_X86
    case Isa::Avx512: return exp_shift_avx512;
#endif
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
        // a row of only −∞ (fully masked) passes no gradient, as the js kernel
        bool live = false;
        for (long j = 0; j < n; j++) live |= yr[j] != NEG_INF;
        if (!live) {
          std::fill(o, o + n, 0.f);
          continue;
        }
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
      if (o != x + r * C) std::memcpy(o, x + r * C, C * sizeof(float));  // in place for linear_cross_entropy
      ex(o, C, l);  // p_c
      if (w) for (long c = 0; c < C; c++) o[c] = a * o[c] - soft * w[c];
      else for (long c = 0; c < C; c++) o[c] = a * o[c] - soft;
      o[t] -= hard;
    }
  });
}

// The logits x·wᵀ + b one chunk of rows at a time in a scratch kept across calls: a [rows, V]
// buffer would be fresh pages each step (at 4096 × 8000 the first touch cost more than the gemm),
// and the chunk's gradient is taken in place and consumed by two gemms while it is still warm.
void linear_cross_entropy(const float* x, const float* w, const float* b, long rows, long K, long V, const int32_t* target,
                          const float* g, float eps, long ignore, float* loss, float* lse, float* gx, float* gw, float* gb) {
  if (rows <= 0) {
    if (gw) std::fill(gw, gw + V * K, 0.f);
    if (gb) std::fill(gb, gb + V, 0.f);
    return;
  }
  static thread_local AlignedBuf scratch;
  const long R = std::max<long>(1, std::min<long>(rows, (4L << 20) / std::max<long>(V, 1)));  // ≤ 16 MB of logits
  float* lg = scratch.get(static_cast<size_t>(R) * V);
  std::vector<float> ones(g ? 0 : R, 1.f);
  std::vector<double> colsum(gb ? V : 0, 0.0);
  for (long r0 = 0; r0 < rows; r0 += R) {
    const long n = std::min(R, rows - r0);
    sgemm(false, true, n, V, K, x + r0 * K, K, w, K, lg, V, false, true, b);  // [n, V]
    cross_entropy_rows(lg, n, V, target + r0, nullptr, eps, ignore, loss + r0, lse + r0);
    if (!gx && !gw) continue;
    cross_entropy_backward_rows(lg, lse + r0, g ? g + r0 : ones.data(), n, V, target + r0, nullptr, eps, ignore, lg);
    if (gx) sgemm(false, false, n, K, V, lg, V, w, K, gx + r0 * K, K, false, true);  // G·w [n, K]
    if (gw) sgemm(true, false, V, K, n, lg, V, x + r0 * K, K, gw, K, r0 > 0, true);  // += Gᵀ·x [V, K]
    if (gb)  // column sums in row order, in double as sum_dim
      par(V, n, [&](long c0, long c1) {
        for (long i = 0; i < n; i++) {
          const float* gr = lg + i * V;
          for (long c = c0; c < c1; c++) colsum[c] += gr[c];
        }
      });
  }
  if (gb) for (long c = 0; c < V; c++) gb[c] = static_cast<float>(colsum[c]);
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
}  // namespace attnkit
