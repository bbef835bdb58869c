// Fused, tiled scaled-dot-product attention (FlashAttention's online-softmax algorithm) on the CPU.
#pragma once
#include <cstdint>

namespace attnkit {

struct AttnMask {
  int kind = 0;                   // 0 none, 1 bool (uint8, nonzero = may attend), 2 additive float
  const uint8_t* b = nullptr;
  const float* f = nullptr;
  long sb = 0, sh = 0, st = 0, ss = 0;  // element strides for batch, head, query, key (0 = broadcast)
  // Block mask (ops/blockMask.ts): [blockQ, blockK, Bm, Hm, nq, nk] then a code per (b, h, query tile,
  // key tile): −2 skip, −1 full, p ≥ 0 a partial tile whose element (query r, key c) is
  // elems[p·blockQ·blockK + c·blockQ + r]. Null: one full tile. Combines with the mask and causality.
  const int32_t* blocks = nullptr;
  const uint8_t* elems = nullptr;
  const float* alibi = nullptr;   // ALiBi slopes [H]: score −= slope_h·|i + max(0, S − T) − j|, after the scale
  // relative position bias: score += rel[h·rel_nb + rel_bucket[j − i + T − 1]], after ALiBi, before the mask;
  // the backward adds scale·dS per bucket into drel [B, H, rel_nb] (when not null; the kernel entry divides by scale)
  const float* rel = nullptr;
  const int32_t* rel_bucket = nullptr;
  long rel_nb = 0;
  double* drel = nullptr;
};

struct AttnShape {
  long B, H, Hkv, T, S, D, Dv;    // q [B,H,T,D], k [B,Hkv,S,D], v [B,Hkv,S,Dv]; H % Hkv == 0
  float scale;
  bool causal;                    // key j visible to query i only when j ≤ i (top-left, as PyTorch)
  double dropout;                 // probability of dropping an attention weight (double: thresholds match the js backend's)
  uint32_t seed;
};

constexpr int32_t TILE_SKIP = -2;
constexpr int32_t TILE_FULL = -1;

// the kernels' query and key tiles: the block mask's, or (no block mask) one tile of T16 × S
struct Tiling {
  long bq, bk, nq, nk;
};
inline Tiling tiling(const AttnShape& s, const AttnMask& m) {
  if (m.blocks) return {m.blocks[0], m.blocks[1], m.blocks[4], m.blocks[5]};
  return {(s.T + 15) & ~15L, s.S > 0 ? s.S : 1, 1, 1};
}
inline int32_t tile_code(const AttnMask& m, long b, long h, long qt, long kt) {
  if (!m.blocks) return TILE_FULL;
  const int32_t* t = m.blocks;
  const long Bm = t[2], Hm = t[3], nq = t[4], nk = t[5];
  return t[6 + (((Bm == 1 ? 0 : b) * Hm + (Hm == 1 ? 0 : h)) * nq + qt) * nk + kt];
}
// a partial tile's elements from query r0, key c0 of the tile (element (r, c) at [c·blockQ + r]); null when not partial
inline const uint8_t* tile_elems(const AttnMask& m, int32_t code, long r0, long c0) {
  if (code < 0) return nullptr;
  const long bq = m.blocks[0], bk = m.blocks[1];
  return m.elems + code * bq * bk + c0 * bq + r0;
}

// Where an operand's rows live: row i of head h in batch b starts at b·sb + h·sh + i·sr (elements);
// the head dim is contiguous. Contiguous [B, heads, L, d] is {heads·L·d, L·d, d}; the packed
// projection [B, L, heads·d] of multi-head attention is {L·W, d, W} for a row width W.
struct AttnView {
  long sb, sh, sr;
};
// q, k, v and out (dout shares out's view; dq, dk, dv share q's, k's and v's)
struct AttnLayout {
  AttnView q, k, v, o;
};
inline AttnLayout contiguous_layout(const AttnShape& s) {
  return {{s.H * s.T * s.D, s.T * s.D, s.D}, {s.Hkv * s.S * s.D, s.S * s.D, s.D},
          {s.Hkv * s.S * s.Dv, s.S * s.Dv, s.Dv}, {s.H * s.T * s.Dv, s.T * s.Dv, s.Dv}};
}

// out [B,H,T,Dv], lse [B,H,T] (contiguous; −∞ for a fully masked row, whose output is 0)
void attention_forward(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k, const float* v,
                       float* out, float* lse);

// the same on AVX2+FMA CPUs (attention_avx2.cc); attention_forward dispatches to it
void attention_forward_avx2(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k,
                            const float* v, float* out, float* lse);

void attention_backward_avx2(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k,
                             const float* v, const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv);

// the same compiled for AVX-512 (attention_avx512.cc: 16-lane micro-kernels); bitwise equal results
void attention_forward_avx512(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k,
                              const float* v, float* out, float* lse);
void attention_backward_avx512(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k,
                               const float* v, const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv);

// gradients from the saved out and lse, recomputing the scores block by block; dq, dk and dv come
// zeroed (they may be disjoint views of one buffer) and are filled
void attention_backward(const AttnShape& s, const AttnMask& m, const AttnLayout& L, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv);

// the dropout decision shared with the js backend: keep weight (bh·T + i)·S + j? (static: this
// header is also compiled with -mavx2, and each translation unit must keep its own copy)
static inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
  return h;
}
// p·2³² rounded down, from the double p (a float p would move the threshold)
uint32_t drop_threshold(double p);
static inline bool dropout_keep(uint32_t seed, uint64_t idx, uint32_t threshold) {
  uint32_t lo = static_cast<uint32_t>(idx), hi = static_cast<uint32_t>(idx >> 32);
  return fmix32(seed ^ fmix32(lo ^ fmix32(hi + 0x9e3779b9u))) >= threshold;
}

}  // namespace attnkit
