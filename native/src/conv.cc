// Convolution (im2col + sgemm) and pooling over NCHW planes.
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
