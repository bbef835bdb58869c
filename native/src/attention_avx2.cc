// Fused attention forward for AVX2+FMA CPUs (also the path on AVX-512 CPUs: Zen 4 runs 512-bit
// FMAs at the same rate as two 256-bit ones). Compiled with -mavx2 -mfma; only called when the CPU
// has both.
//
// The scores are computed transposed, keys × 16 queries: Sᵀ = K·(scale·Q)ᵀ. Each query is then a
// vector lane, so the online softmax's running max, the exponentials and the row sums are plain
// lane-wise vector operations with no horizontal reductions, and the probability strip Pᵀ is
// already the packed right-hand operand of Oᵀ += Vᵀ·Pᵀ. K and V are read in place (no packing):
// the micro-kernels broadcast K's rows and V's columns straight from the inputs.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "attention.h"
#include "threadpool.h"
#include "vmath_avx2.h"

namespace attnkit {
namespace {

constexpr long QW = 16;    // queries per strip (two ymm lanes groups)
constexpr long KB = 256;   // keys per block: the block's K and V rows stay in L1/L2 while the strips use them
constexpr long MAXQS = 4;  // strips per work item, which reuse each K/V block
constexpr float NEG_INF = -std::numeric_limits<float>::infinity();

// c[r·16 + j] (+)= Σ_k A(r, k)·b[k·16 + j] for r < R, j < 16, with A(r, k) = a[r·lda + k] (ROWS)
// or a[k·lda + r]. b is 32-byte aligned; R ≤ 6 keeps 2R accumulators + 2 operands in 16 registers.
template <int R, bool ROWS>
inline void micro(long kc, const float* a, long lda, const float* b, float* c, bool acc) {
  __m256 c0[R], c1[R];
  for (int r = 0; r < R; r++) c0[r] = c1[r] = _mm256_setzero_ps();
  for (long k = 0; k < kc; k++, b += QW) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    for (int r = 0; r < R; r++) {
      const __m256 x = _mm256_broadcast_ss(ROWS ? a + r * lda + k : a + k * lda + r);
      c0[r] = _mm256_fmadd_ps(x, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(x, b1, c1[r]);
    }
  }
  for (int r = 0; r < R; r++) {
    float* p = c + r * QW;
    if (acc) {
      c0[r] = _mm256_add_ps(c0[r], _mm256_load_ps(p));
      c1[r] = _mm256_add_ps(c1[r], _mm256_load_ps(p + 8));
    }
    _mm256_store_ps(p, c0[r]);
    _mm256_store_ps(p + 8, c1[r]);
  }
}

// rows [0, n) of A in slivers of 6, the last one narrower
template <bool ROWS>
void micro_rows(long n, long kc, const float* a, long lda, const float* b, float* c, bool acc) {
  long r = 0;
  const long step = ROWS ? lda : 1;
  for (; r + 6 <= n; r += 6) micro<6, ROWS>(kc, a + r * step, lda, b, c + r * QW, acc);
  const float* ar = a + r * step;
  float* cr = c + r * QW;
  switch (n - r) {
    case 5: micro<5, ROWS>(kc, ar, lda, b, cr, acc); break;
    case 4: micro<4, ROWS>(kc, ar, lda, b, cr, acc); break;
    case 3: micro<3, ROWS>(kc, ar, lda, b, cr, acc); break;
    case 2: micro<2, ROWS>(kc, ar, lda, b, cr, acc); break;
    case 1: micro<1, ROWS>(kc, ar, lda, b, cr, acc); break;
    default: break;
  }
}

// exp(x) for the softmax's x ≤ 0 (scores minus their running max): exactly 0 below −87.34, for −∞
// and for NaN; the Cephes polynomial of exp256 with a one-step 2ⁿ (n ≥ −126 stays normal)
inline __m256 exp_nonpos(__m256 x) {
  const __m256 floor = _mm256_set1_ps(-87.33654f);
  const __m256 keep = _mm256_cmp_ps(x, floor, _CMP_GE_OQ);
  x = _mm256_max_ps(x, floor);
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i n = _mm256_cvtps_epi32(fx);
  const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
  return _mm256_and_ps(_mm256_mul_ps(p, scale), keep);
}

struct alignas(64) Strip {
  float m[QW], l[QW];
};

struct Buffers {
  float* base = nullptr;
  size_t n = 0;
  ~Buffers() { std::free(base); }
  float* get(size_t want) {
    if (want > n) {
      std::free(base);
      n = (want + 15) & ~size_t(15);
      base = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
    }
    return base;
  }
};
thread_local Buffers tl_buf;

// masks and causality on a score strip st[c·16 + j]: key j0 + c, query i0 + j (j < nq)
void mask_strip(const AttnShape& s, const AttnMask& m, long b, long h, long i0, long nq, long j0, long bc, float* st) {
  const __m256 ninf = _mm256_set1_ps(NEG_INF);
  if (m.kind != 0) {
    const long base = b * m.sb + h * m.sh + i0 * m.st + j0 * m.ss;
    for (long c = 0; c < bc; c++) {
      float* row = st + c * QW;
      const long at = base + c * m.ss;
      if (m.st == 0) {  // the same for every query: a key-padding mask
        if (m.kind == 1) {
          if (!m.b[at]) { _mm256_store_ps(row, ninf); _mm256_store_ps(row + 8, ninf); }
        } else {
          const __m256 add = _mm256_set1_ps(m.f[at]);
          _mm256_store_ps(row, _mm256_add_ps(_mm256_load_ps(row), add));
          _mm256_store_ps(row + 8, _mm256_add_ps(_mm256_load_ps(row + 8), add));
        }
      } else if (m.kind == 1) {
        for (long j = 0; j < nq; j++) if (!m.b[at + j * m.st]) row[j] = NEG_INF;
      } else {
        for (long j = 0; j < nq; j++) row[j] += m.f[at + j * m.st];
      }
    }
  }
  if (s.causal && j0 + bc - 1 > i0) {
    // key j0 + c is hidden from lane j when j0 + c > i0 + j, i.e. lane index < j0 + c − i0
    const __m256i lane0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), lane1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    for (long c = std::max<long>(0, i0 + 1 - j0); c < bc; c++) {
      float* row = st + c * QW;
      const __m256i lim = _mm256_set1_epi32(static_cast<int>(std::min<long>(j0 + c - i0, QW)));
      const __m256 h0 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(lim, lane0));
      const __m256 h1 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(lim, lane1));
      _mm256_store_ps(row, _mm256_blendv_ps(_mm256_load_ps(row), ninf, h0));
      _mm256_store_ps(row + 8, _mm256_blendv_ps(_mm256_load_ps(row + 8), ninf, h1));
    }
  }
}

// one online-softmax step over a strip's bc rows; returns the factors that rescale the old output
inline void softmax_step(float* st, long bc, Strip& sp, __m256& alpha0, __m256& alpha1) {
  const __m256 ninf = _mm256_set1_ps(NEG_INF);
  __m256 mx0 = _mm256_load_ps(sp.m), mx1 = _mm256_load_ps(sp.m + 8);
  const __m256 old0 = mx0, old1 = mx1;
  for (long c = 0; c < bc; c++) {  // max(x, m) keeps m when x is NaN
    mx0 = _mm256_max_ps(_mm256_load_ps(st + c * QW), mx0);
    mx1 = _mm256_max_ps(_mm256_load_ps(st + c * QW + 8), mx1);
  }
  // a lane with every key so far masked shifts by 0: exp(−∞ − 0) = 0, never −∞ − (−∞)
  const __m256 sh0 = _mm256_blendv_ps(mx0, _mm256_setzero_ps(), _mm256_cmp_ps(mx0, ninf, _CMP_EQ_OQ));
  const __m256 sh1 = _mm256_blendv_ps(mx1, _mm256_setzero_ps(), _mm256_cmp_ps(mx1, ninf, _CMP_EQ_OQ));
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (long c = 0; c < bc; c++) {
    float* row = st + c * QW;
    const __m256 p0 = exp_nonpos(_mm256_sub_ps(_mm256_load_ps(row), sh0));
    const __m256 p1 = exp_nonpos(_mm256_sub_ps(_mm256_load_ps(row + 8), sh1));
    _mm256_store_ps(row, p0);
    _mm256_store_ps(row + 8, p1);
    s0 = _mm256_add_ps(s0, p0);
    s1 = _mm256_add_ps(s1, p1);
  }
  alpha0 = exp_nonpos(_mm256_sub_ps(old0, sh0));
  alpha1 = exp_nonpos(_mm256_sub_ps(old1, sh1));
  _mm256_store_ps(sp.l, _mm256_fmadd_ps(alpha0, _mm256_load_ps(sp.l), s0));
  _mm256_store_ps(sp.l + 8, _mm256_fmadd_ps(alpha1, _mm256_load_ps(sp.l + 8), s1));
  _mm256_store_ps(sp.m, mx0);
  _mm256_store_ps(sp.m + 8, mx1);
}

}  // namespace

void attention_forward_avx2(const AttnShape& s, const AttnMask& m, const float* q, const float* k, const float* v, float* out,
                            float* lse) {
  const long group = s.H / s.Hkv;
  const long strips = (s.T + QW - 1) / QW;
  long qs = MAXQS;  // fewer strips per item while there are too few items to keep every thread busy
  while (qs > 1 && s.B * s.H * ((strips + qs - 1) / qs) < 4L * pool().size()) qs /= 2;
  const long tiles = (strips + qs - 1) / qs;
  const uint32_t thr = drop_threshold(s.dropout);
  const float keep_scale = s.dropout > 0 ? static_cast<float>(1.0 / (1.0 - s.dropout)) : 1.f;
  pool().parallel_for(s.B * s.H * tiles, [&](long u0, long u1, int) {
    // per strip: scaled Qᵀ [D][16], scores/probabilities [KB][16], Oᵀ [dvp][16]
    const size_t per = static_cast<size_t>((s.D + KB + s.Dv) * QW);
    float* buf = tl_buf.get(per * qs);
    Strip sp[MAXQS];
    for (long u = u0; u < u1; u++) {
      const long bh = u / tiles, tile = u % tiles;
      const long b = bh / s.H, h = bh % s.H, kvh = b * s.Hkv + h / group;
      const float* K = k + kvh * s.S * s.D;
      const float* V = v + kvh * s.S * s.Dv;
      const long first = tile * qs * QW;
      const long n_strips = std::min(qs, strips - tile * qs);
      long jend = 0;
      for (long t = 0; t < n_strips; t++) {
        const long i0 = first + t * QW, nq = std::min(QW, s.T - i0);
        float* qt = buf + t * per;
        const float* Q = q + (bh * s.T + i0) * s.D;
        for (long d = 0; d < s.D; d++)
          for (long j = 0; j < QW; j++) qt[d * QW + j] = j < nq ? Q[j * s.D + d] * s.scale : 0.f;
        std::fill(qt + (s.D + KB) * QW, qt + per, 0.f);
        std::fill(sp[t].m, sp[t].m + QW, NEG_INF);
        std::fill(sp[t].l, sp[t].l + QW, 0.f);
        jend = std::max(jend, s.causal ? std::min(s.S, i0 + nq) : s.S);
      }
      for (long j0 = 0; j0 < jend; j0 += KB) {
        const long bc = std::min(KB, jend - j0);
        for (long t = 0; t < n_strips; t++) {
          const long i0 = first + t * QW, nq = std::min(QW, s.T - i0);
          const long kend = s.causal ? std::min(s.S, i0 + nq) : s.S;
          if (j0 >= kend) continue;
          const long nc = std::min(bc, kend - j0);
          float* qt = buf + t * per;
          float* st = qt + s.D * QW;
          float* ot = st + KB * QW;
          micro_rows<true>(nc, s.D, K + j0 * s.D, s.D, qt, st, false);  // Sᵀ = K·Qᵀ
          mask_strip(s, m, b, h, i0, nq, j0, nc, st);
          __m256 a0, a1;
          softmax_step(st, nc, sp[t], a0, a1);
          const __m256 one = _mm256_set1_ps(1.f);
          if ((_mm256_movemask_ps(_mm256_cmp_ps(a0, one, _CMP_NEQ_UQ)) | _mm256_movemask_ps(_mm256_cmp_ps(a1, one, _CMP_NEQ_UQ))) != 0) {
            for (long d = 0; d < s.Dv; d++) {
              _mm256_store_ps(ot + d * QW, _mm256_mul_ps(_mm256_load_ps(ot + d * QW), a0));
              _mm256_store_ps(ot + d * QW + 8, _mm256_mul_ps(_mm256_load_ps(ot + d * QW + 8), a1));
            }
          }
          if (s.dropout > 0) {
            for (long j = 0; j < nq; j++) {
              const uint64_t base = (static_cast<uint64_t>(bh) * s.T + i0 + j) * s.S + j0;
              for (long c = 0; c < nc; c++) st[c * QW + j] = dropout_keep(s.seed, base + c, thr) ? st[c * QW + j] * keep_scale : 0.f;
            }
          }
          micro_rows<false>(s.Dv, nc, V + j0 * s.Dv, s.Dv, st, ot, true);  // Oᵀ += Vᵀ·Pᵀ
        }
      }
      for (long t = 0; t < n_strips; t++) {
        const long i0 = first + t * QW, nq = std::min(QW, s.T - i0);
        const float* ot = buf + t * per + (s.D + KB) * QW;
        for (long j = 0; j < nq; j++) {
          const float l = sp[t].l[j];
          const float inv = l > 0 ? 1.f / l : 0.f;
          float* dst = out + (bh * s.T + i0 + j) * s.Dv;
          for (long d = 0; d < s.Dv; d++) dst[d] = ot[d * QW + j] * inv;
          lse[bh * s.T + i0 + j] = l > 0 ? sp[t].m[j] + std::log(l) : NEG_INF;
        }
      }
    }
  });
}

}  // namespace attnkit
