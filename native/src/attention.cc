#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu.h"
#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"
#include "vmath.h"

namespace attnkit {

uint32_t drop_threshold(double p) {
  double t = std::floor(p * 4294967296.0);
  return t >= 4294967295.0 ? 0xffffffffu : static_cast<uint32_t>(t);
}

namespace {

constexpr long BR = 384;  // query rows per tile at most (a multiple of the micro-kernels' 4, 6 and 12 rows)
constexpr long BC = 256;  // keys per tile
constexpr float NEG_INF = -std::numeric_limits<float>::infinity();

// s[r·bc + c] ← scale·s + ALiBi + bias (or −∞ where masked) for query rows i0.., keys j0..; el: a
// partial tile's elements (query r, key c at el[c·elq + r]) or null
void mask_scores(const AttnShape& s, const AttnMask& m, long b, long h, long i0, long br, long j0, long bc, float* sc,
                 const uint8_t* el = nullptr, long elq = 0) {
  for (long r = 0; r < br; r++) {
    float* row = sc + r * bc;
    long i = i0 + r;
    for (long c = 0; c < bc; c++) row[c] *= s.scale;
    if (m.alibi) {
      const float slope = m.alibi[h];
      const long at = i + std::max<long>(0, s.S - s.T);
      for (long c = 0; c < bc; c++) row[c] -= slope * static_cast<float>(std::labs(at - j0 - c));
    }
    if (m.rel) {  // + table[h, bucket(j − i)]
      const float* tb = m.rel + h * m.rel_nb;
      const int32_t* bk = m.rel_bucket + (j0 - i + s.T - 1);
      for (long c = 0; c < bc; c++) row[c] += tb[bk[c]];
    }
    if (m.kind != 0) {
      long base = b * m.sb + h * m.sh + i * m.st + j0 * m.ss;
      if (m.kind == 1) {
        for (long c = 0; c < bc; c++) if (!m.b[base + c * m.ss]) row[c] = NEG_INF;
      } else {
        for (long c = 0; c < bc; c++) row[c] += m.f[base + c * m.ss];
      }
    }
    // hiding comes after the float mask (masked_fill): a hidden key is −∞ whatever the mask holds there
    if (el) for (long c = 0; c < bc; c++) if (!el[c * elq + r]) row[c] = NEG_INF;
    if (s.causal) for (long c = std::max<long>(0, i + 1 - j0); c < bc; c++) row[c] = NEG_INF;
  }
}

struct Scratch {
  std::vector<float> sc, p, o, tmp, m, l, dp, ds, dd;
};
thread_local Scratch tl;

}  // namespace

void attention_forward(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k, const float* v,
                       float* out, float* lse) {
#if ATTNKIT_X86
  if (active_isa() == Isa::Avx512) return attention_forward_avx512(s, m, L, q, k, v, out, lse);
#endif
  if (active_isa() != Isa::Generic) return attention_forward_avx2(s, m, L, q, k, v, out, lse);
  const ExpShiftFn ex = exp_shift();
  // The portable path (AVX2/AVX-512 CPUs take attention_avx2.cc). Tall tiles amortise packing each
  // K and V tile (measured when this path served AVX2 too: 64 → 384 rows took B8 H8 L2048
  // from 28 to 41 GFLOP/s); halve them while there are too few tiles to keep every thread busy.
  long tile = BR;
  while (tile > 48 && s.B * s.H * ((s.T + tile - 1) / tile) < 4L * pool().size()) tile /= 2;
  // work items: (b, h, query tile of the block mask (without one: all rows), `sub` rows of it)
  const Tiling tg = tiling(s, m);
  const long sub = std::min(tile, tg.bq), per_q = (tg.bq + sub - 1) / sub;
  const long group = s.H / s.Hkv;
  const uint32_t thr = drop_threshold(s.dropout);
  const float keep_scale = s.dropout > 0 ? static_cast<float>(1.0 / (1.0 - s.dropout)) : 1.f;
  pool().parallel_for(s.B * s.H * tg.nq * per_q, [&](long u0, long u1, int) {
    Scratch& w = tl;
    w.sc.resize(BR * BC);
    w.o.resize(BR * s.Dv);
    w.m.resize(BR);
    w.l.resize(BR);
    for (long u = u0; u < u1; u++) {
      long bh = u / (tg.nq * per_q), qtile = u / per_q % tg.nq, part = u % per_q;
      long b = bh / s.H, h = bh % s.H, kvh = h / group;
      long i0 = qtile * tg.bq + part * sub;
      if (i0 >= s.T) continue;
      long br = std::min({sub, s.T - i0, (qtile + 1) * tg.bq - i0});
      const float* Q = q + b * L.q.sb + h * L.q.sh + i0 * L.q.sr;
      const float* K = k + b * L.k.sb + kvh * L.k.sh;
      const float* V = v + b * L.v.sb + kvh * L.v.sh;
      std::fill(w.o.begin(), w.o.begin() + br * s.Dv, 0.f);
      std::fill(w.m.begin(), w.m.end(), NEG_INF);
      std::fill(w.l.begin(), w.l.end(), 0.f);
      long jend = s.causal ? std::min(s.S, i0 + br) : s.S;
      for (long kt = 0; kt < tg.nk; kt++) {
       const int32_t code = tile_code(m, b, h, qtile, kt);
       if (code == TILE_SKIP) continue;
       const long kstart = kt * tg.bk, kstop = std::min({s.S, kstart + tg.bk, jend});
       for (long j0 = kstart; j0 < kstop; j0 += BC) {
        long bc = std::min(BC, kstop - j0);
        float* sc = w.sc.data();
        sgemm(false, true, br, bc, s.D, Q, L.q.sr, K + j0 * L.k.sr, L.k.sr, sc, bc, false, false);  // [br, bc] = Q·Kᵀ
        mask_scores(s, m, b, h, i0, br, j0, bc, sc, tile_elems(m, code, i0 - qtile * tg.bq, j0 - kstart), tg.bq);
        for (long r = 0; r < br; r++) {
          float* row = sc + r * bc;
          const float tmax = row_max(row, bc);
          // a NaN score makes the row NaN (std::max would drop it)
          const float mnew = tmax != tmax || w.m[r] != w.m[r] ? std::numeric_limits<float>::quiet_NaN() : std::max(w.m[r], tmax);
          if (mnew == NEG_INF) {  // everything so far masked
            std::fill(row, row + bc, 0.f);
            continue;
          }
          float sum = ex(row, bc, mnew);
          float alpha = w.m[r] == NEG_INF ? 0.f : std::exp(w.m[r] - mnew);
          w.l[r] = alpha * w.l[r] + sum;
          w.m[r] = mnew;
          if (alpha != 1.f) for (long d = 0; d < s.Dv; d++) w.o[r * s.Dv + d] *= alpha;
          if (s.dropout > 0) {
            uint64_t base = (static_cast<uint64_t>(bh) * s.T + i0 + r) * s.S + j0;
            for (long c = 0; c < bc; c++) row[c] *= dropout_keep(s.seed, base + c, thr) ? keep_scale : 0.f;  // NaN·0 stays NaN
          }
        }
        sgemm(false, false, br, s.Dv, bc, sc, bc, V + j0 * L.v.sr, L.v.sr, w.o.data(), s.Dv, true, false);  // O += P·V
       }
      }
      for (long r = 0; r < br; r++) {
        float* dst = out + b * L.o.sb + h * L.o.sh + (i0 + r) * L.o.sr;
        const float l = w.l[r];
        if (l == 0.f) {  // no visible key: zeros, lse −∞ (a NaN l, from a NaN or +∞ score, gives NaN below)
          std::fill(dst, dst + s.Dv, 0.f);
          lse[bh * s.T + i0 + r] = NEG_INF;
          continue;
        }
        const float inv = 1.f / l;
        for (long d = 0; d < s.Dv; d++) dst[d] = w.o[r * s.Dv + d] * inv;
        lse[bh * s.T + i0 + r] = w.m[r] + std::log(l);
      }
    }
  });
}

void attention_backward(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv) {
#if ATTNKIT_X86
  if (active_isa() == Isa::Avx512) return attention_backward_avx512(s, m, L, q, k, v, out, lse, dout, dq, dk, dv);
#endif
  if (active_isa() != Isa::Generic) return attention_backward_avx2(s, m, L, q, k, v, out, lse, dout, dq, dk, dv);
  const ExpShiftFn ex = exp_shift();
  const long group = s.H / s.Hkv;
  const Tiling tg = tiling(s, m);
  const uint32_t thr = drop_threshold(s.dropout);
  const float keep_scale = s.dropout > 0 ? static_cast<float>(1.0 / (1.0 - s.dropout)) : 1.f;
  // one kv head per work item: its gradients are written by no one else
  pool().parallel_for(s.B * s.Hkv, [&](long u0, long u1, int) {
    Scratch& w = tl;
    w.sc.resize(BR * BC);
    w.p.resize(BR * BC);
    w.dp.resize(BR * BC);
    w.dd.resize(s.T);
    for (long kvbh = u0; kvbh < u1; kvbh++) {
      long b = kvbh / s.Hkv, kvh = kvbh % s.Hkv;
      const float* K = k + b * L.k.sb + kvh * L.k.sh;
      const float* V = v + b * L.v.sb + kvh * L.v.sh;
      float* dK = dk + b * L.k.sb + kvh * L.k.sh;
      float* dV = dv + b * L.v.sb + kvh * L.v.sh;
      bool nan_row = false;  // a query of this kv head's group with a NaN lse
      for (long g = 0; g < group; g++) {
        long h = kvh * group + g, bh = b * s.H + h;
        const float* Q = q + b * L.q.sb + h * L.q.sh;
        const float* O = out + b * L.o.sb + h * L.o.sh;
        const float* dO = dout + b * L.o.sb + h * L.o.sh;
        const float* lrow = lse + bh * s.T;
        float* dQ = dq + b * L.q.sb + h * L.q.sh;
        for (long i = 0; i < s.T; i++) {  // D_i = dO_i · O_i
          double acc = 0;
          for (long d = 0; d < s.Dv; d++) acc += static_cast<double>(dO[i * L.o.sr + d]) * O[i * L.o.sr + d];
          w.dd[i] = static_cast<float>(acc);
          nan_row = nan_row || lrow[i] != lrow[i];
        }
        // key tiles, then the query tiles the block mask pairs with them (without one: all keys, all queries)
        for (long kt = 0; kt < tg.nk; kt++) {
         const long kstart = kt * tg.bk, kstop = std::min(s.S, kstart + tg.bk);
         for (long j0 = kstart; j0 < kstop; j0 += BC) {
          long bc = std::min(BC, kstop - j0);
          for (long qtile = 0; qtile < tg.nq; qtile++) {
           const int32_t code = tile_code(m, b, h, qtile, kt);
           if (code == TILE_SKIP) continue;
           const long qstop = std::min(s.T, (qtile + 1) * tg.bq);
           for (long i0 = qtile * tg.bq; i0 < qstop; i0 += BR) {
            long br = std::min(BR, qstop - i0);
            if (s.causal && i0 + br <= j0) continue;  // every query of the tile precedes every key
            float* sc = w.sc.data();
            float* P = w.p.data();
            float* dP = w.dp.data();
            const uint8_t* el = tile_elems(m, code, i0 - qtile * tg.bq, j0 - kstart);
            sgemm(false, true, br, bc, s.D, Q + i0 * L.q.sr, L.q.sr, K + j0 * L.k.sr, L.k.sr, sc, bc, false, false);
            mask_scores(s, m, b, h, i0, br, j0, bc, sc, el, tg.bq);
            bool any = false;
            for (long r = 0; r < br; r++) {
              float l = lrow[i0 + r];
              float* row = sc + r * bc;
              if (l == NEG_INF) { std::fill(row, row + bc, 0.f); continue; }
              ex(row, bc, l);  // P = exp(S − lse)
              any = true;
            }
            if (!any) continue;
            const float* Pd = sc;
            if (s.dropout > 0) {
              for (long r = 0; r < br; r++) {
                uint64_t base = (static_cast<uint64_t>(bh) * s.T + i0 + r) * s.S + j0;
                for (long c = 0; c < bc; c++) P[r * bc + c] = sc[r * bc + c] * (dropout_keep(s.seed, base + c, thr) ? keep_scale : 0.f);
              }
              Pd = P;
            }
            sgemm(true, false, bc, s.Dv, br, Pd, bc, dO + i0 * L.o.sr, L.o.sr, dV + j0 * L.v.sr, L.v.sr, true, false);  // dV += Pdᵀ·dO
            sgemm(false, true, br, bc, s.Dv, dO + i0 * L.o.sr, L.o.sr, V + j0 * L.v.sr, L.v.sr, dP, bc, false, false);  // dPd = dO·Vᵀ
            for (long r = 0; r < br; r++) {
              float di = w.dd[i0 + r];
              uint64_t base = (static_cast<uint64_t>(bh) * s.T + i0 + r) * s.S + j0;
              for (long c = 0; c < bc; c++) {
                float dpv = dP[r * bc + c];
                if (s.dropout > 0) dpv *= dropout_keep(s.seed, base + c, thr) ? keep_scale : 0.f;
                const float pv = sc[r * bc + c];
                // scale · dS: none where P = 0, nor (as the composite's where) for a NaN row's hidden keys
                const long i = i0 + r, j = j0 + c;
                const bool none = pv == 0.f || (pv != pv && ((s.causal && j > i) || (el && !el[c * tg.bq + r]) ||
                                                             (m.kind == 1 && !m.b[b * m.sb + h * m.sh + i * m.st + j * m.ss])));
                dP[r * bc + c] = none ? 0.f : s.scale * pv * (dpv - di);
              }
            }
            if (m.drel) {  // relative bias: scale·dS summed per bucket of j − i
              double* dr = m.drel + (b * s.H + h) * m.rel_nb;
              for (long r = 0; r < br; r++) {
                const int32_t* bk = m.rel_bucket + (j0 - (i0 + r) + s.T - 1);
                for (long c = 0; c < bc; c++) dr[bk[c]] += dP[r * bc + c];
              }
            }
            sgemm(false, false, br, s.D, bc, dP, bc, K + j0 * L.k.sr, L.k.sr, dQ + i0 * L.q.sr, L.q.sr, true, false);   // dQ += dS·K
            sgemm(true, false, bc, s.D, br, dP, bc, Q + i0 * L.q.sr, L.q.sr, dK + j0 * L.k.sr, L.k.sr, true, false);   // dK += dSᵀ·Q
           }
          }
         }
        }
      }
      // A NaN row's weights are NaN for every key, hidden ones too (softmax of a row holding NaN), so
      // dV = Pᵀ·dO is NaN for all keys, as in the js kernel and the composite; the causal skip above never
      // visits the keys hidden from a whole query tile. (Their dS is 0, so dK and dQ lose nothing.)
      if (nan_row)
        for (long j = 0; j < s.S; j++) std::fill(dV + j * L.v.sr, dV + j * L.v.sr + s.Dv, std::numeric_limits<float>::quiet_NaN());
    }
  });
}

// the kernel table's entries: the table's structs to the kernel's shape, mask and layout; operand
// offsets applied to the pointers (dout takes out's, dq, dk and dv take q's, k's and v's)
namespace {
void unpack(const AttnDims& d, const AttnOptions& o, MaskKind kind, const void* mask, const long* ms, int ms_n,
            const AttnOperands* layout, const int32_t* blocks, const void* elems, const float* alibi, const float* rel,
            const int32_t* rel_bucket, long rel_nb, AttnShape& s, AttnMask& m, AttnLayout& L, long off[4]) {
  s = AttnShape{d.B, d.H, d.Hkv, d.T, d.S, d.D, d.Dv, o.scale, o.causal, o.dropout, o.seed};
  m.kind = static_cast<int>(kind);
  m.blocks = blocks;
  m.elems = static_cast<const uint8_t*>(elems);
  m.alibi = alibi;
  m.rel = rel;
  m.rel_bucket = rel ? rel_bucket : nullptr;
  m.rel_nb = rel ? rel_nb : 0;
  if (kind == MaskKind::Bool) m.b = static_cast<const uint8_t*>(mask);
  if (kind == MaskKind::Float) m.f = static_cast<const float*>(mask);
  if (kind != MaskKind::None && ms_n >= 4) {
    m.sb = ms[0]; m.sh = ms[1]; m.st = ms[2]; m.ss = ms[3];
  }
  if (!layout) {
    off[0] = off[1] = off[2] = off[3] = 0;
    L = contiguous_layout(s);
    return;
  }
  const AttnOperand* ops[4] = {&layout->q, &layout->k, &layout->v, &layout->o};
  AttnView* views[4] = {&L.q, &L.k, &L.v, &L.o};
  for (int i = 0; i < 4; i++) {
    off[i] = ops[i]->offset;
    *views[i] = AttnView{ops[i]->sb, ops[i]->sh, ops[i]->sr};
  }
}
}  // namespace

void attention_forward_kernel(const float* q, const float* k, const float* v, float* out, float* lse, const AttnDims& dims,
                              const AttnOptions& opts, MaskKind maskKind, const void* mask, const long* maskStrides,
                              int maskStrides_n, const AttnOperands* layout, const int32_t* blocks, const void* blockElems,
                              const float* alibi, const float* relTable, const int32_t* relBuckets, long relNb) {
  AttnShape s; AttnMask m; AttnLayout L; long off[4];
  unpack(dims, opts, maskKind, mask, maskStrides, maskStrides_n, layout, blocks, blockElems, alibi, relTable, relBuckets, relNb, s, m, L, off);
  attention_forward(s, m, L, q + off[0], k + off[1], v + off[2], out + off[3], lse);
}

void attention_backward_kernel(const float* q, const float* k, const float* v, const float* out, const float* lse,
                               const float* dout, float* dq, float* dk, float* dv, const AttnDims& dims, const AttnOptions& opts,
                               MaskKind maskKind, const void* mask, const long* maskStrides, int maskStrides_n,
                               const AttnOperands* layout, const int32_t* blocks, const void* blockElems, const float* alibi,
                               const float* relTable, const int32_t* relBuckets, long relNb, double* dRel) {
  AttnShape s; AttnMask m; AttnLayout L; long off[4];
  unpack(dims, opts, maskKind, mask, maskStrides, maskStrides_n, layout, blocks, blockElems, alibi, relTable, relBuckets, relNb, s, m, L, off);
  m.drel = m.rel ? dRel : nullptr;
  attention_backward(s, m, L, q + off[0], k + off[1], v + off[2], out + off[3], lse, dout + off[3], dq + off[0], dk + off[1],
                     dv + off[2]);
  // the kernels summed scale·dS (what they have at hand); the table's gradient is dS (the adapter refuses scale 0)
  if (m.drel)
    for (long i = 0, n = s.B * s.H * m.rel_nb; i < n; i++) m.drel[i] /= s.scale;
}

}  // namespace attnkit
