// Fused attention, forward and backward, for AVX2+FMA CPUs. Compiled with -mavx2 -mfma and only called
// when the CPU has both; attention_avx512.cc compiles it again with -mavx512f (16-lane micro-kernels, and
// the forward's products of two strips in one call), and the wasm build compiles it on SIMD128 through
// avx2_wasm.h. attention.cc keeps the portable version of both passes.
//
// The scores are computed transposed, keys × 16 queries: Sᵀ = K·(scale·Q)ᵀ. Each query is then a
// vector lane, so the online softmax's running max, the exponentials and the row sums are plain
// lane-wise vector operations with no horizontal reductions, and the probability strip Pᵀ is
// already the packed right-hand operand of Oᵀ += Vᵀ·Pᵀ. K and V are read in place (no packing):
// the micro-kernels broadcast K's rows and V's columns straight from the inputs.
#include "simd.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "aligned.h"
#include "attention.h"
#include "threadpool.h"
#include "vmath_avx2.h"

// attention_avx512.cc compiles this file again with -mavx512f: the same kernels, 16-lane micro-kernels
#if defined(ATTNKIT_ATTN_AVX512)
#define AK_ATTN_FN(name) name##_avx512
#else
#define AK_ATTN_FN(name) name##_avx2
#endif

namespace attnkit {
namespace {

constexpr long QW = 16;    // queries per strip (two ymm lanes groups)
constexpr long KB = 256;   // keys per block: the block's K and V rows stay in L1/L2 while the strips use them
constexpr long MAXQS = 4;  // strips per work item, which reuse each K/V block
constexpr float NEG_INF = -std::numeric_limits<float>::infinity();

// c[r·ldc + j] (+)= Σ_k A(r, k)·b[k·ldb + j] for r < R, j < 16, with A(r, k) = a[r·lda + k] (ROWS)
// or a[k·lda + r]. b and c are 32-byte aligned (ldb, ldc multiples of 8); R ≤ 6 keeps 2R accumulators
// and 2 operands in the 16 registers.
// On WebAssembly the micro-kernel is a function of its own: inlined into the backward's loops, Node 20's
// TurboFan allocated its registers worse (not a tier-up effect: the same with --no-wasm-dynamic-tiering), and
// the backward of B1 H8 L512 D64 on one thread took 62 ms against 31 ms with the call (Chromium 150: 30 and
// 31 ms; the forward 13 ms either way). AMD EPYC VM, scratch emcc -O3 build of these sources.
#if defined(__wasm_simd128__)
#define AK_MICRO __attribute__((noinline))
#else
#define AK_MICRO __attribute__((always_inline)) inline
#endif
#if defined(__AVX512F__)
// attention_avx512.cc's micro-kernel: a 16-lane row is one zmm register, for NB = 1 right-hand operand b0
// (output c0) or NB = 2, b0 and b1 (outputs c0, c1) sharing A, each A element broadcast once for both (a
// 12-row call then holds 24 accumulators and issues 14 loads per 24 FMAs instead of 13 per 12). Each
// element is the same chain of FMAs in the same order as the 8-lane version, so the two ISAs give
// bitwise equal results.
template <int R, int NB, bool ROWS>
__attribute__((always_inline)) inline void micro_zmm(long kc, const float* a, long lda, const float* b0, const float* b1, long ldb, float* c0,
                                                     float* c1, long ldc, bool acc) {
  static_assert(NB == 1 || NB == 2);
  const float* b[2] = {b0, b1};
  float* c[2] = {c0, c1};
  __m512 z[NB][R];
  for (int i = 0; i < NB; i++)
    for (int r = 0; r < R; r++) z[i][r] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++) {
    __m512 x[NB];
    for (int i = 0; i < NB; i++) x[i] = _mm512_loadu_ps(b[i] + k * ldb);
    for (int r = 0; r < R; r++) {
      const __m512 w = _mm512_set1_ps(ROWS ? a[r * lda + k] : a[k * lda + r]);
      for (int i = 0; i < NB; i++) z[i][r] = _mm512_fmadd_ps(w, x[i], z[i][r]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int i = 0; i < NB; i++) {
      float* p = c[i] + r * ldc;
      if (acc) z[i][r] = _mm512_add_ps(z[i][r], _mm512_loadu_ps(p));
      _mm512_storeu_ps(p, z[i][r]);
    }
}
#endif

template <int R, bool ROWS>
AK_MICRO void micro(long kc, const float* a, long lda, const float* b, long ldb, float* c, long ldc, bool acc) {
#if defined(__AVX512F__)
  micro_zmm<R, 1, ROWS>(kc, a, lda, b, b, ldb, c, c, ldc, acc);
#else
  __m256 c0[R], c1[R];
  for (int r = 0; r < R; r++) c0[r] = c1[r] = _mm256_setzero_ps();
  for (long k = 0; k < kc; k++, b += ldb) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    for (int r = 0; r < R; r++) {
      const __m256 x = _mm256_broadcast_ss(ROWS ? a + r * lda + k : a + k * lda + r);
      c0[r] = _mm256_fmadd_ps(x, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(x, b1, c1[r]);
    }
  }
  for (int r = 0; r < R; r++) {
    float* p = c + r * ldc;
    if (acc) {
      c0[r] = _mm256_add_ps(c0[r], _mm256_load_ps(p));
      c1[r] = _mm256_add_ps(c1[r], _mm256_load_ps(p + 8));
    }
    _mm256_store_ps(p, c0[r]);
    _mm256_store_ps(p + 8, c1[r]);
  }
#endif
}

// Rows per micro-kernel call: 6 on x86 (12 ymm accumulators); on WebAssembly each 8-lane register is two
// v128, and V8 keeps about 13 v128 values in registers in a tile loop: 2 rows (8 accumulators + 4 B vectors
// + a broadcast) do not spill, 3 rows (17 live values) do: the tile loop alone gave 48.8 against 25.7 GFLOP/s
// in Chromium 150 on the AMD EPYC VM. scripts/build-wasm.mjs sets ATTNKIT_WASM_MAXR=2 explicitly.
#if defined(__wasm_simd128__)
#ifndef ATTNKIT_WASM_MAXR
#define ATTNKIT_WASM_MAXR 2
#endif
constexpr int MAXR = ATTNKIT_WASM_MAXR;
#elif defined(__AVX512F__)
constexpr int MAXR = 12;  // 12 zmm accumulators of the 32, one B vector, a broadcast
#else
constexpr int MAXR = 6;
#endif

// the last n < MAXR rows
template <int N, bool ROWS>
__attribute__((always_inline)) inline void micro_tail(long n, long kc, const float* a, long lda, const float* b, long ldb, float* c, long ldc, bool acc) {
  if constexpr (N > 0) {
    if (n == N) micro<N, ROWS>(kc, a, lda, b, ldb, c, ldc, acc);
    else micro_tail<N - 1, ROWS>(n, kc, a, lda, b, ldb, c, ldc, acc);
  }
}

// C[n × 16] (+)= A[n × kc]·B[kc × 16]: rows [0, n) of A in slivers of MAXR, the last one narrower
template <bool ROWS>
__attribute__((always_inline)) inline void micro_rows(long n, long kc, const float* a, long lda, const float* b, long ldb, float* c, long ldc, bool acc) {
  long r = 0;
  const long step = ROWS ? lda : 1;
  for (; r + MAXR <= n; r += MAXR) micro<MAXR, ROWS>(kc, a + r * step, lda, b, ldb, c + r * ldc, ldc, acc);
  micro_tail<MAXR - 1, ROWS>(n - r, kc, a + r * step, lda, b, ldb, c + r * ldc, ldc, acc);
}

#if defined(__AVX512F__)
// micro_rows for two right-hand operands b0, b1 (and outputs c0, c1) sharing A: the forward's paired strips
constexpr bool PAIR = true;
template <int N, bool ROWS>
__attribute__((always_inline)) inline void micro2_tail(long n, long kc, const float* a, long lda, const float* b0, const float* b1, long ldb, float* c0,
                                                       float* c1, long ldc, bool acc) {
  if constexpr (N > 0) {
    if (n == N) micro_zmm<N, 2, ROWS>(kc, a, lda, b0, b1, ldb, c0, c1, ldc, acc);
    else micro2_tail<N - 1, ROWS>(n, kc, a, lda, b0, b1, ldb, c0, c1, ldc, acc);
  }
}

template <bool ROWS>
__attribute__((always_inline)) inline void micro_rows2(long n, long kc, const float* a, long lda, const float* b0, const float* b1, long ldb, float* c0,
                                                       float* c1, long ldc, bool acc) {
  long r = 0;
  const long step = ROWS ? lda : 1;
  for (; r + MAXR <= n; r += MAXR) micro_zmm<MAXR, 2, ROWS>(kc, a + r * step, lda, b0, b1, ldb, c0 + r * ldc, c1 + r * ldc, ldc, acc);
  micro2_tail<MAXR - 1, ROWS>(n - r, kc, a + r * step, lda, b0, b1, ldb, c0 + r * ldc, c1 + r * ldc, ldc, acc);
}
#else
constexpr bool PAIR = false;
template <bool ROWS>
inline void micro_rows2(long, long, const float*, long, const float*, const float*, long, float*, float*, long, bool) {}
#endif

// does any of the first nq lanes of a partial tile's element row e (key c: e[lane]) see the key?
inline bool any_lane(const uint8_t* e, long nq) {
  if (nq >= 16) {  // a whole strip: two 8-byte words
    uint64_t a, b;
    std::memcpy(&a, e, 8);
    std::memcpy(&b, e + 8, 8);
    if (nq == 16) return (a | b) != 0;
  }
  for (long j = 0; j < nq; j++) if (e[j]) return true;
  return false;
}
// do all 16 lanes see the key (a whole strip with every element 1)?
inline bool all16(const uint8_t* e) {
  uint64_t a, b;
  std::memcpy(&a, e, 8);
  std::memcpy(&b, e + 8, 8);
  return (a & b) == 0x0101010101010101ull && a == b;
}
// keys [c0, c1) of [0, n) that some of nq lanes sees in a partial tile's elements el (key c at el[c·ld]): the rest are skipped
inline void seen_keys(const uint8_t* el, long ld, long nq, long n, long& c0, long& c1) {
  c0 = 0;
  c1 = n;
  while (c0 < c1 && !any_lane(el + c0 * ld, nq)) c0++;
  while (c1 > c0 && !any_lane(el + (c1 - 1) * ld, nq)) c1--;
}

struct alignas(64) Strip {
  float m[QW], l[QW];
};

thread_local AlignedBuf tl_buf;
thread_local AlignedBuf tl_bwd;

// ALiBi, masks, then a partial tile's elements (el[c·elq + j], or null) and causality on a score strip
// st[c·ld + j]: key j0 + c, query i0 + j (j < nq ≤ 16)
void mask_strip(const AttnShape& s, const AttnMask& m, long b, long h, long i0, long nq, long j0, long bc, float* st, long ld,
                const uint8_t* el = nullptr, long elq = 0) {
  const __m256 ninf = _mm256_set1_ps(NEG_INF);
  if (m.alibi) {  // − slope·|i + max(0, S − T) − j|, in the order of the composite (before the masks)
    const float slope = m.alibi[h];
    const long at = i0 + std::max<long>(0, s.S - s.T);
    for (long c = 0; c < bc; c++)
      for (long j = 0; j < nq; j++) st[c * ld + j] -= slope * static_cast<float>(std::labs(at + j - j0 - c));
  }
  if (m.rel) {  // + table[h, bucket(j − i)], after ALiBi (the composite's order)
    const float* tb = m.rel + h * m.rel_nb;
    for (long c = 0; c < bc; c++) {
      const int32_t* bk = m.rel_bucket + (j0 + c - i0 + s.T - 1);  // lane j: bk[−j]
      for (long j = 0; j < nq; j++) st[c * ld + j] += tb[bk[-j]];
    }
  }
  if (m.kind != 0) {
    const long base = b * m.sb + h * m.sh + i0 * m.st + j0 * m.ss;
    for (long c = 0; c < bc; c++) {
      float* row = st + c * ld;
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
  // a partial tile's hidden keys after the float mask (masked_fill): −∞ whatever the mask holds there
  if (el)
    for (long c = 0; c < bc; c++) {
      const uint8_t* e = el + c * elq;
      if (nq == 16 && all16(e)) continue;  // the strip sees this key: nothing to hide
      for (long j = 0; j < nq; j++) if (!e[j]) st[c * ld + j] = NEG_INF;
    }
  if (s.causal && j0 + bc - 1 > i0) {
    // key j0 + c is hidden from lane j when j0 + c > i0 + j, i.e. lane index < j0 + c − i0
    const __m256i lane0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), lane1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    for (long c = std::max<long>(0, i0 + 1 - j0); c < bc; c++) {
      float* row = st + c * ld;
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
#if defined(__AVX512F__)
  // the 8-lane version below on one 16-lane register (attention_avx512.cc); bitwise the same
  const __m512 zero = _mm512_setzero_ps(), ones = _mm512_castsi512_ps(_mm512_set1_epi32(-1));
  __m512 mx = _mm512_load_ps(sp.m);
  const __m512 old = mx;
  for (long c = 0; c < bc; c++) {
    const __m512 x = _mm512_load_ps(st + c * QW);
    mx = _mm512_mask_mov_ps(_mm512_max_ps(x, mx), _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), ones);
  }
  const __m512 sh = _mm512_mask_mov_ps(mx, _mm512_cmp_ps_mask(mx, _mm512_set1_ps(NEG_INF), _CMP_EQ_OQ), zero);
  __m512 sum = zero;
  for (long c = 0; c < bc; c++) {
    float* row = st + c * QW;
    const __m512 p = exp_nonpos16(_mm512_sub_ps(_mm512_load_ps(row), sh));
    _mm512_store_ps(row, p);
    sum = _mm512_add_ps(sum, p);
  }
  const __m512 alpha = exp_nonpos16(_mm512_sub_ps(old, sh));
  _mm512_store_ps(sp.l, _mm512_fmadd_ps(alpha, _mm512_load_ps(sp.l), sum));
  _mm512_store_ps(sp.m, mx);
  alpha0 = _mm512_castps512_ps256(alpha);
  alpha1 = _mm512_extractf32x8_ps(alpha, 1);
#else
  const __m256 ninf = _mm256_set1_ps(NEG_INF);
  __m256 mx0 = _mm256_load_ps(sp.m), mx1 = _mm256_load_ps(sp.m + 8);
  const __m256 old0 = mx0, old1 = mx1;
  // max(x, m) keeps m when x is NaN: NaN lanes are or-ed in (all ones is a NaN), and max(x, NaN)
  // then keeps the NaN, so a NaN score makes its query's row NaN, as the js kernel and PyTorch
  for (long c = 0; c < bc; c++) {
    const __m256 x0 = _mm256_load_ps(st + c * QW), x1 = _mm256_load_ps(st + c * QW + 8);
    mx0 = _mm256_or_ps(_mm256_max_ps(x0, mx0), _mm256_cmp_ps(x0, x0, _CMP_UNORD_Q));
    mx1 = _mm256_or_ps(_mm256_max_ps(x1, mx1), _mm256_cmp_ps(x1, x1, _CMP_UNORD_Q));
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
  // a lane whose max is NaN or +∞ gets weights 0 here (exp_nonpos of x − NaN or ∞ − ∞ is 0); the forward's
  // end makes its sum NaN once, rather than a blend on every exponential
  alpha0 = exp_nonpos(_mm256_sub_ps(old0, sh0));
  alpha1 = exp_nonpos(_mm256_sub_ps(old1, sh1));
  _mm256_store_ps(sp.l, _mm256_fmadd_ps(alpha0, _mm256_load_ps(sp.l), s0));
  _mm256_store_ps(sp.l + 8, _mm256_fmadd_ps(alpha1, _mm256_load_ps(sp.l + 8), s1));
  _mm256_store_ps(sp.m, mx0);
  _mm256_store_ps(sp.m + 8, mx1);
#endif
}

}  // namespace

void AK_ATTN_FN(attention_forward)(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k,
                            const float* v, float* out, float* lse) {
  const long group = s.H / s.Hkv;
  // Work items: (b, h, query tile, group of qs strips). Without a block mask there is one query tile
  // (all T rows) and one full key tile; with one, only the key tiles it touches are visited.
  const Tiling tg = tiling(s, m);
  const long spb = (tg.bq + QW - 1) / QW;  // strips per query tile
  long qs = MAXQS;  // fewer strips per item while there are too few items to keep every thread busy
  while (qs > 1 && s.B * s.H * tg.nq * ((spb + qs - 1) / qs) < 4L * pool().size()) qs /= 2;
  const long groups = (spb + qs - 1) / qs;
  const uint32_t thr = drop_threshold(s.dropout);
  const float keep_scale = s.dropout > 0 ? static_cast<float>(1.0 / (1.0 - s.dropout)) : 1.f;
  pool().parallel_for(s.B * s.H * tg.nq * groups, [&](long u0, long u1, int) {
    // per strip: scaled Qᵀ [D][16], scores/probabilities [KB][16], Oᵀ [Dv][16]
    const size_t per = static_cast<size_t>((s.D + KB + s.Dv) * QW);
    float* buf = tl_buf.get(per * qs);
    Strip sp[MAXQS];
    for (long u = u0; u < u1; u++) {
      const long bh = u / (tg.nq * groups), qt = u / groups % tg.nq, grp = u % groups;
      const long b = bh / s.H, h = bh % s.H, kvh = h / group;
      const float* K = k + b * L.k.sb + kvh * L.k.sh;
      const float* V = v + b * L.v.sb + kvh * L.v.sh;
      const long first = qt * tg.bq + grp * qs * QW;
      if (first >= s.T) continue;
      const long n_strips = std::min({qs, spb - grp * qs, (s.T - first + QW - 1) / QW});
      long jend = 0;
      for (long t = 0; t < n_strips; t++) {
        const long i0 = first + t * QW, nq = std::min(QW, s.T - i0);
        float* qt_ = buf + t * per;
        const float* Q = q + b * L.q.sb + h * L.q.sh + i0 * L.q.sr;
        for (long d = 0; d < s.D; d++)
          for (long j = 0; j < QW; j++) qt_[d * QW + j] = j < nq ? Q[j * L.q.sr + d] * s.scale : 0.f;
        std::fill(qt_ + (s.D + KB) * QW, qt_ + per, 0.f);
        std::fill(sp[t].m, sp[t].m + QW, NEG_INF);
        std::fill(sp[t].l, sp[t].l + QW, 0.f);
        jend = std::max(jend, s.causal ? std::min(s.S, i0 + nq) : s.S);
      }
      for (long kt = 0; kt < tg.nk; kt++) {
        const int32_t code = tile_code(m, b, h, qt, kt);
        if (code == TILE_SKIP) continue;
        const long kstart = kt * tg.bk, kstop = std::min({s.S, kstart + tg.bk, jend});
        for (long j0 = kstart; j0 < kstop; j0 += KB) {
          const long bc = std::min(KB, kstop - j0);
          // each strip's key range in this block (nc = 0: it sees none), then the products of two strips
          // with the same range in one micro-kernel call (paired: K's and V's broadcasts serve both)
          long jjs[MAXQS], ncs[MAXQS];
          const uint8_t* els[MAXQS];
          for (long t = 0; t < n_strips; t++) {
            const long i0 = first + t * QW, nq = std::min(QW, s.T - i0);
            const long kend = s.causal ? std::min(s.S, i0 + nq) : s.S;
            ncs[t] = 0;
            if (j0 >= kend) continue;
            long nc = std::min(bc, kend - j0), jj = j0;
            const uint8_t* el = tile_elems(m, code, i0 - qt * tg.bq, j0 - kstart);
            if (el) {  // a partial tile: only the keys some query of the strip sees
              long c0, c1;
              seen_keys(el, tg.bq, nq, nc, c0, c1);
              if (c0 == c1) continue;
              jj = j0 + c0;
              nc = c1 - c0;
              el += c0 * tg.bq;
            }
            jjs[t] = jj, ncs[t] = nc, els[t] = el;
          }
          // strip t and the next see the same keys: one paired micro-kernel call serves both (AVX-512)
          const auto paired = [&](long t) { return PAIR && t + 1 < n_strips && ncs[t + 1] == ncs[t] && jjs[t + 1] == jjs[t]; };
          for (long t = 0; t < n_strips; t++) {  // Sᵀ = K·Qᵀ
            if (ncs[t] == 0) continue;
            float* qt_ = buf + t * per;
            if (paired(t)) {
              micro_rows2<true>(ncs[t], s.D, K + jjs[t] * L.k.sr, L.k.sr, qt_, qt_ + per, QW, qt_ + s.D * QW, qt_ + per + s.D * QW, QW, false);
              t++;
            } else {
              micro_rows<true>(ncs[t], s.D, K + jjs[t] * L.k.sr, L.k.sr, qt_, QW, qt_ + s.D * QW, QW, false);
            }
          }
          for (long t = 0; t < n_strips; t++) {
            if (ncs[t] == 0) continue;
            const long i0 = first + t * QW, nq = std::min(QW, s.T - i0), jj = jjs[t], nc = ncs[t];
            float* st = buf + t * per + s.D * QW;
            float* ot = st + KB * QW;
            mask_strip(s, m, b, h, i0, nq, jj, nc, st, QW, els[t], tg.bq);
            __m256 a0, a1;
            softmax_step(st, nc, sp[t], a0, a1);
            const __m256 one = _mm256_set1_ps(1.f);
            if ((_mm256_movemask_ps(_mm256_cmp_ps(a0, one, _CMP_NEQ_UQ)) | _mm256_movemask_ps(_mm256_cmp_ps(a1, one, _CMP_NEQ_UQ))) != 0) {
              for (long d = 0; d < s.Dv; d++) {
                _mm256_store_ps(ot + d * QW, _mm256_mul_ps(_mm256_load_ps(ot + d * QW), a0));
                _mm256_store_ps(ot + d * QW + 8, _mm256_mul_ps(_mm256_load_ps(ot + d * QW + 8), a1));
              }
            }
            if (s.dropout > 0) {  // weight (bh·T + i)·S + j survives with probability 1 − p, scaled by 1/(1 − p)
              const __m256 ks = _mm256_set1_ps(keep_scale);
              for (long half = 0; half < 2; half++) {
                const Keep8Walk walk(s.seed, thr, (static_cast<uint64_t>(bh) * s.T + i0 + half * 8) * s.S + jj, s.S, nc);
                for (long c = 0; c < nc; c++) {
                  float* row = st + c * QW + half * 8;
                  _mm256_store_ps(row, _mm256_mul_ps(_mm256_load_ps(row), _mm256_and_ps(ks, walk.at(c))));  // NaN·0 stays NaN
                }
              }
            }
          }
          for (long t = 0; t < n_strips; t++) {  // Oᵀ += Vᵀ·Pᵀ
            if (ncs[t] == 0) continue;
            float* st = buf + t * per + s.D * QW;
            if (paired(t)) {
              micro_rows2<false>(s.Dv, ncs[t], V + jjs[t] * L.v.sr, L.v.sr, st, st + per, QW, st + KB * QW, st + per + KB * QW, QW, true);
              t++;
            } else {
              micro_rows<false>(s.Dv, ncs[t], V + jjs[t] * L.v.sr, L.v.sr, st, QW, st + KB * QW, QW, true);
            }
          }
        }
      }
      for (long t = 0; t < n_strips; t++) {
        const long i0 = first + t * QW, nq = std::min(QW, s.T - i0);
        const float* ot = buf + t * per + (s.D + KB) * QW;
        for (long j = 0; j < nq; j++) {
          // a NaN or +∞ score (max NaN or +∞) makes the row NaN: softmax gives NaN, as the js kernel and PyTorch
          const float l = sp[t].m[j] <= std::numeric_limits<float>::max() ? sp[t].l[j] : std::numeric_limits<float>::quiet_NaN();
          float* dst = out + b * L.o.sb + h * L.o.sh + (i0 + j) * L.o.sr;
          if (l == 0.f) {  // no visible key: zeros, lse −∞ (a NaN l, from a NaN or +∞ score, gives NaN below)
            std::fill(dst, dst + s.Dv, 0.f);
            lse[bh * s.T + i0 + j] = NEG_INF;
            continue;
          }
          const float inv = 1.f / l;
          for (long d = 0; d < s.Dv; d++) dst[d] = ot[d * QW + j] * inv;
          lse[bh * s.T + i0 + j] = sp[t].m[j] + std::log(l);
        }
      }
    }
  });
}

namespace {

// all-ones lanes where key j is hidden from queries i0 + l (l < 8, i0 + l < T) by the bool mask or causality
// (not by its score: a NaN row's weights are all NaN, but hidden scores get no gradient, as the composite's where)
// (el: a partial tile's elements for these lanes and key j, or null)
__m256 hidden8(const AttnShape& s, const AttnMask& m, long b, long h, long i0, long j, const uint8_t* el) {
  alignas(32) int32_t t[8];
  for (long l = 0; l < 8; l++) {
    const long i = i0 + l;
    t[l] = i < s.T && ((s.causal && j > i) || (el && !el[l]) || (m.kind == 1 && !m.b[b * m.sb + h * m.sh + i * m.st + j * m.ss])) ? -1 : 0;
  }
  return _mm256_castsi256_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(t)));
}

// the relative bias's gradient: drel[b, h, bucket(j − i)] += scale·dS for keys jb + c, queries i0 + l
// (ds[c·ld + l], l < nq; the kernel entry divides by scale once)
void rel_grad(const AttnShape& s, const AttnMask& m, long b, long h, long i0, long nq, long jb, long nb, const float* ds, long ld) {
  double* dr = m.drel + (b * s.H + h) * m.rel_nb;
  for (long c = 0; c < nb; c++) {
    const int32_t* bk = m.rel_bucket + (jb + c - i0 + s.T - 1);  // lane l: bk[−l]
    for (long l = 0; l < nq; l++) dr[bk[-l]] += ds[c * ld + l];
  }
}

constexpr long BKB = 64;  // backward: keys per block
constexpr long BNQ = 64;  // backward: queries per tile (four 16-lane strips)
inline long up16(long n) { return (n + 15) & ~15L; }

}  // namespace

// FlashAttention-2's backward in the same transposed layout: for each key block and query tile,
// Sᵀ = K·(scale·Q)ᵀ and dPᵀ = V·dOᵀ as strips, P = exp(Sᵀ − lse) and dS = scale·P∘(dP − D) lane by
// lane, then dV += Pᵀ·dO, dK += dSᵀ·Q and dQᵀ += Kᵀ·dSᵀ. One kv head per work item (its dK and dV
// have no other writer); dK, dV and dQᵀ accumulate in padded per-thread buffers, O(L·D) in all.
void AK_ATTN_FN(attention_backward)(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k,
                             const float* v, const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  const long group = s.H / s.Hkv;
  const Tiling tg = tiling(s, m);
  const long T16 = up16(s.T), D16 = up16(s.D), Dv16 = up16(s.Dv);
  const uint32_t thr = drop_threshold(s.dropout);
  const float keep_scale = s.dropout > 0 ? static_cast<float>(1.0 / (1.0 - s.dropout)) : 1.f;
  const __m256 vscale = _mm256_set1_ps(s.scale);
  pool().parallel_for(s.B * s.Hkv, [&](long u0, long u1, int) {
    const size_t n_qr = T16 * D16, n_dor = T16 * Dv16, n_qt = T16 * s.D, n_dot = T16 * s.Dv, n_dqt = s.D * T16;
    const size_t n_dkp = s.S * D16, n_dvp = s.S * Dv16, n_strip = BKB * BNQ;
    float* qr = tl_bwd.get(n_qr + n_dor + n_qt + n_dot + n_dqt + 2 * T16 + n_dkp + n_dvp + 2 * n_strip);
    float* dor = qr + n_qr;
    float* qt = dor + n_dor;
    float* dot = qt + n_qt;
    float* dqt = dot + n_dot;
    float* dl = dqt + n_dqt;
    float* ll = dl + T16;
    float* dkp = ll + T16;
    float* dvp = dkp + n_dkp;
    float* pb = dvp + n_dvp;
    float* dsb = pb + n_strip;
    for (long kvbh = u0; kvbh < u1; kvbh++) {
      const long b = kvbh / s.Hkv, kvh = kvbh % s.Hkv;
      const float* K = k + b * L.k.sb + kvh * L.k.sh;
      const float* V = v + b * L.v.sb + kvh * L.v.sh;
      std::fill(dkp, dkp + n_dkp + n_dvp, 0.f);
      bool nan_row = false;  // a query of this kv head's group with a NaN lse
      for (long g = 0; g < group; g++) {
        const long h = kvh * group + g, bh = b * s.H + h;
        const float* Q = q + b * L.q.sb + h * L.q.sh;
        const float* O = out + b * L.o.sb + h * L.o.sh;
        const float* dO = dout + b * L.o.sb + h * L.o.sh;
        const float* lrow = lse + bh * s.T;
        for (long i = 0; i < T16; i++) {
          const bool real = i < s.T;
          for (long d = 0; d < D16; d++) qr[i * D16 + d] = real && d < s.D ? Q[i * L.q.sr + d] : 0.f;
          for (long d = 0; d < Dv16; d++) dor[i * Dv16 + d] = real && d < s.Dv ? dO[i * L.o.sr + d] : 0.f;
          float* qs = qt + (i / 16) * 16 * s.D + i % 16;
          for (long d = 0; d < s.D; d++) qs[d * 16] = real ? Q[i * L.q.sr + d] * s.scale : 0.f;
          float* ds = dot + (i / 16) * 16 * s.Dv + i % 16;
          for (long d = 0; d < s.Dv; d++) ds[d * 16] = real ? dO[i * L.o.sr + d] : 0.f;
          double acc = 0;  // D_i = dO_i · O_i
          if (real) for (long d = 0; d < s.Dv; d++) acc += static_cast<double>(dO[i * L.o.sr + d]) * O[i * L.o.sr + d];
          dl[i] = static_cast<float>(acc);
          // a padded lane or a query with no visible key shifts by +∞, so its probabilities are 0
          ll[i] = real && lrow[i] != NEG_INF ? lrow[i] : std::numeric_limits<float>::infinity();
          nan_row = nan_row || (real && lrow[i] != lrow[i]);
        }
        std::fill(dqt, dqt + n_dqt, 0.f);
        // key tiles, then the query tiles the block mask pairs with them (without one: all keys, all queries)
        for (long kt = 0; kt < tg.nk; kt++) {
         const long kstart = kt * tg.bk, kstop = std::min(s.S, kstart + tg.bk);
         for (long j0 = kstart; j0 < kstop; j0 += BKB) {
          const long bc = std::min(BKB, kstop - j0);
          for (long qtile = 0; qtile < tg.nq; qtile++) {
           const int32_t code = tile_code(m, b, h, qtile, kt);
           if (code == TILE_SKIP) continue;
           const long qstop = std::min(s.T, (qtile + 1) * tg.bq);
           for (long i0 = qtile * tg.bq; i0 < qstop; i0 += BNQ) {
            const long nqt = std::min(BNQ, qstop - i0), nst = (nqt + 15) / 16;
            if (s.causal && i0 + nqt <= j0) continue;  // every query of the tile precedes every key
            long jb = j0, nb = bc;  // a partial tile: only the keys some query of this tile sees
            if (code >= 0) {
              long c0, c1;
              seen_keys(tile_elems(m, code, i0 - qtile * tg.bq, j0 - kstart), tg.bq, nqt, bc, c0, c1);
              if (c0 == c1) continue;
              jb = j0 + c0;
              nb = c1 - c0;
            }
            for (long t = 0; t < nst; t++) {
              const long ti = i0 + t * 16, nq = std::min<long>(16, qstop - ti);
              float* sp = pb + t * 16;
              float* dp = dsb + t * 16;
              const uint8_t* el = tile_elems(m, code, ti - qtile * tg.bq, jb - kstart);
              micro_rows<true>(nb, s.D, K + jb * L.k.sr, L.k.sr, qt + ti * s.D, 16, sp, BNQ, false);      // Sᵀ = K·(scale·Q)ᵀ
              mask_strip(s, m, b, h, ti, nq, jb, nb, sp, BNQ, el, tg.bq);
              micro_rows<true>(nb, s.Dv, V + jb * L.v.sr, L.v.sr, dot + ti * s.Dv, 16, dp, BNQ, false);  // dPᵀ = V·dOᵀ
              const bool drop = s.dropout > 0;
              for (int half = 0; half < 2; half++) {
                const __m256 shift = _mm256_load_ps(ll + ti + half * 8), dd = _mm256_load_ps(dl + ti + half * 8);
                if (_mm256_movemask_ps(_mm256_cmp_ps(shift, shift, _CMP_UNORD_Q)) == 0) {
                  for (long c = 0; c < nb; c++) {  // no NaN row: P = exp(S − lse), dS = scale·P∘(dP − D)
                    float* sr = sp + c * BNQ + half * 8;
                    float* dr = dp + c * BNQ + half * 8;
                    const __m256 p = exp_nonpos(_mm256_sub_ps(_mm256_load_ps(sr), shift));
                    _mm256_store_ps(sr, p);
                    if (!drop) _mm256_store_ps(dr, _mm256_mul_ps(_mm256_mul_ps(vscale, p), _mm256_sub_ps(_mm256_load_ps(dr), dd)));
                  }
                  continue;
                }
                // a row with a NaN lse (a NaN or +∞ score) keeps NaN probabilities; padded lanes and rows
                // with no visible key (shift +∞) keep 0 whatever their scores
                const __m256 live = _mm256_cmp_ps(shift, _mm256_set1_ps(std::numeric_limits<float>::infinity()), _CMP_NEQ_UQ);
                for (long c = 0; c < nb; c++) {
                  float* sr = sp + c * BNQ + half * 8;
                  float* dr = dp + c * BNQ + half * 8;
                  const __m256 x = _mm256_sub_ps(_mm256_load_ps(sr), shift);
                  const __m256 p = _mm256_blendv_ps(exp_nonpos(x), x, _mm256_and_ps(live, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)));
                  _mm256_store_ps(sr, p);
                  if (drop) continue;
                  // dS = scale·P∘(dP − D): 0 where P = 0, and for hidden keys of a NaN row
                  const __m256 none = _mm256_or_ps(_mm256_cmp_ps(p, _mm256_setzero_ps(), _CMP_EQ_OQ), hidden8(s, m, b, h, ti + half * 8, jb + c, el ? el + c * tg.bq + half * 8 : nullptr));
                  _mm256_store_ps(dr, _mm256_andnot_ps(none, _mm256_mul_ps(_mm256_mul_ps(vscale, p), _mm256_sub_ps(_mm256_load_ps(dr), dd))));
                }
              }
              if (drop) {  // dV takes the dropped P; dS = scale·P∘(dropped dP − D)
                const __m256 ks = _mm256_set1_ps(keep_scale);
                for (long half = 0; half < 2; half++) {
                  const __m256 dd = _mm256_load_ps(dl + ti + half * 8), shift = _mm256_load_ps(ll + ti + half * 8);
                  const bool nan_rows = _mm256_movemask_ps(_mm256_cmp_ps(shift, shift, _CMP_UNORD_Q)) != 0;
                  const Keep8Walk walk(s.seed, thr, (static_cast<uint64_t>(bh) * s.T + ti + half * 8) * s.S + jb, s.S, nb);
                  for (long c = 0; c < nb; c++) {
                    const __m256 keep = _mm256_and_ps(ks, walk.at(c));
                    float* sr = sp + c * BNQ + half * 8;
                    float* dr = dp + c * BNQ + half * 8;
                    const __m256 p = _mm256_load_ps(sr);
                    const __m256 ds = _mm256_mul_ps(_mm256_mul_ps(vscale, p), _mm256_sub_ps(_mm256_mul_ps(_mm256_load_ps(dr), keep), dd));
                    if (!nan_rows) {
                      _mm256_store_ps(dr, ds);
                    } else {  // none where P = 0, nor for hidden keys of a NaN row
                      const __m256 none = _mm256_or_ps(_mm256_cmp_ps(p, _mm256_setzero_ps(), _CMP_EQ_OQ), hidden8(s, m, b, h, ti + half * 8, jb + c, el ? el + c * tg.bq + half * 8 : nullptr));
                      _mm256_store_ps(dr, _mm256_andnot_ps(none, ds));
                    }
                    _mm256_store_ps(sr, _mm256_mul_ps(p, keep));  // NaN·0 stays NaN
                  }
                }
              }
            }
            if (m.drel) rel_grad(s, m, b, h, i0, nqt, jb, nb, dsb, BNQ);  // relative bias: dS, as formed above, per bucket
            for (long c0 = 0; c0 < Dv16; c0 += 16)  // dV += Pᵀ·dO
              micro_rows<true>(nb, nqt, pb, BNQ, dor + i0 * Dv16 + c0, Dv16, dvp + jb * Dv16 + c0, Dv16, true);
            for (long c0 = 0; c0 < D16; c0 += 16)  // dK += dSᵀ·Q
              micro_rows<true>(nb, nqt, dsb, BNQ, qr + i0 * D16 + c0, D16, dkp + jb * D16 + c0, D16, true);
            for (long t = 0; t < nst; t++)  // dQᵀ += Kᵀ·dSᵀ
              micro_rows<false>(s.D, nb, K + jb * L.k.sr, L.k.sr, dsb + t * 16, BNQ, dqt + i0 + t * 16, T16, true);
           }
          }
         }
        }
        float* dQ = dq + b * L.q.sb + h * L.q.sh;
        for (long i = 0; i < s.T; i++)
          for (long d = 0; d < s.D; d++) dQ[i * L.q.sr + d] = dqt[d * T16 + i];
      }
      float* dK = dk + b * L.k.sb + kvh * L.k.sh;
      float* dV = dv + b * L.v.sb + kvh * L.v.sh;
      // A NaN row's weights are NaN for every key, hidden ones too (softmax of a row holding NaN), so
      // dV = Pᵀ·dO is NaN for all keys, as in the js kernel and the composite; the causal skip above never
      // visits the keys hidden from a whole query tile. (Their dS is 0, so dK and dQ lose nothing.)
      for (long j = 0; j < s.S; j++) {
        std::copy(dkp + j * D16, dkp + j * D16 + s.D, dK + j * L.k.sr);
        if (nan_row) std::fill(dV + j * L.v.sr, dV + j * L.v.sr + s.Dv, std::numeric_limits<float>::quiet_NaN());
        else std::copy(dvp + j * Dv16, dvp + j * Dv16 + s.Dv, dV + j * L.v.sr);
      }
    }
  });
}

}  // namespace attnkit
