import { type FloatArray, allocLike } from '../buffers.js';
import { stridedCopy, stridedScatter } from './strided.js';
import { dropoutKeep, dropoutThreshold } from '../dropoutHash.js';

/** q [B,H,T,D], k [B,Hkv,S,D], v [B,Hkv,S,Dv] with H % Hkv = 0 (grouped-query when Hkv < H). */
export interface AttnShape { B: number; H: number; Hkv: number; T: number; S: number; D: number; Dv: number }

export interface AttnOptions {
  scale: number;
  /** Key j visible to query i only when j ≤ i (top-left aligned, as PyTorch). */
  causal: boolean;
  /** Probability of dropping a weight; the keep decision is a hash of (seed, position). */
  dropout: number;
  seed: number;
}

/**
 * Where an operand's rows live in its buffer: row i of head h in batch b starts at
 * offset + b·sb + h·sh + i·sr; the head dim is contiguous.
 */
export interface AttnView { offset: number; sb: number; sh: number; sr: number }

/**
 * The layout of q, k, v and out (dout takes out's; dq, dk and dv take q's, k's and v's). Without
 * one the operands are contiguous [B, heads, L, d]. With one, q, k and v may be views of one buffer
 * (the packed projection of self-attention) and `o` must tile B·H·T·Dv elements exactly.
 */
export interface AttnLayout { q: AttnView; k: AttnView; v: AttnView; o: AttnView }

/**
 * Gradient buffers shaped like q, k and v. With a layout, operands that are views of one buffer
 * share one gradient buffer (their views are disjoint); without one, the same array passed as q, k
 * and v is three operands at the same place, and each gets its own buffer.
 */
export function attnGradBuffers(
  q: FloatArray, k: FloatArray, v: FloatArray, layout: AttnLayout | undefined,
): { dq: FloatArray; dk: FloatArray; dv: FloatArray } {
  const dq = allocLike(q, q.length);
  if (!layout) return { dq, dk: allocLike(k, k.length), dv: allocLike(v, v.length) };
  const dk = k === q ? dq : allocLike(k, k.length);
  const dv = v === q ? dq : v === k ? dk : allocLike(v, v.length);
  return { dq, dk, dv };
}

const viewArgs = (w: AttnView, B: number, heads: number, L: number, d: number): [number, number[], number[]] =>
  [w.offset, [w.sb, w.sh, w.sr, 1], [B, heads, L, d]];

/** The view's elements as a contiguous [B, heads, L, d] array. */
function gatherView(x: FloatArray, w: AttnView, B: number, heads: number, L: number, d: number): FloatArray {
  const out = allocLike(x, B * heads * L * d);
  stridedCopy(x, ...viewArgs(w, B, heads, L, d), out);
  return out;
}

/** No mask, a bool mask (nonzero = may attend) or an additive float mask, read with broadcast strides [b, h, t, s]. */
export type AttnMask =
  | { kind: 'none' }
  | { kind: 'bool'; data: Uint8Array; strides: number[] }
  | { kind: 'float'; data: FloatArray; strides: number[] };

/**
 * Inverted dropout by the same counter-based hash: element i is kept when dropoutKeep(seed, i),
 * kept values scaled by 1/(1 − p), dropped ones x − x (0, or NaN for NaN and ±∞, as PyTorch's x·0).
 * Applying it to the gradient with the same seed is the backward.
 */
export function dropoutKernel(x: FloatArray, p: number, seed: number): FloatArray {
  const out = allocLike(x, x.length);
  const thr = dropoutThreshold(p), scale = 1 / (1 - p);
  for (let i = 0; i < x.length; i++) out[i] = dropoutKeep(seed, i, thr) ? x[i] * scale : x[i] - x[i];
  return out;
}

/**
 * A block mask's tiles (ops/blockMask.ts): `table` = [blockQ, blockK, Bm, Hm, nq, nk] then, per
 * (b, h, query tile, key tile), −2 skip, −1 full or p ≥ 0, the partial tile whose element (query r,
 * key c) is elems[p·blockQ·blockK + c·blockQ + r]. Bm and Hm are 1 (broadcast) or B and H.
 */
export interface AttnBlocks { table: Int32Array; elems: Uint8Array }

/**
 * A relative position bias: score(i, j) += table[h·nb + buckets[j − i + T − 1]] after the scale (and
 * ALiBi), before the mask. `buckets` maps each offset j − i ∈ [−(T − 1), S − 1] to a column of the
 * [H, nb] table (clipped distance: clamp(j − i, −M, M) + M). With `grad`, the backward also returns
 * dRel [H, nb]: dS summed over the positions of each bucket.
 */
export interface AttnRel { table: FloatArray; nb: number; buckets: Int32Array; grad?: boolean }

/**
 * What the fused kernel takes besides the mask: a block mask (hidden tiles are not computed),
 * ALiBi slopes [H] (score −= slope_h·|i + max(0, S − T) − j| after the scale, as nn.alibiBias) and a
 * relative position bias.
 */
export interface AttnExtra { blocks?: AttnBlocks | null; alibi?: FloatArray | null; rel?: AttnRel | null }

/** 0 hidden by the block mask, 1 visible; `tileOf` gives the tile code (−2 skip, −1 full, p partial). */
function blockTileBase(t: Int32Array, b: number, h: number, i: number): number {
  const bq = t[0]!, Bm = t[2]!, Hm = t[3]!, nq = t[4]!, nk = t[5]!;
  return 6 + (((Bm === 1 ? 0 : b) * Hm + (Hm === 1 ? 0 : h)) * nq + Math.floor(i / bq)) * nk;
}

function blockVisible(x: AttnBlocks, rowBase: number, i: number, j: number): boolean {
  const t = x.table, bq = t[0]!, bk = t[1]!;
  const code = t[rowBase + Math.floor(j / bk)]!;
  if (code === -2) return false;
  if (code === -1) return true;
  return x.elems[code * bq * bk + (j % bk) * bq + (i % bq)] !== 0;
}

function allFinite(...xs: FloatArray[]): boolean {
  for (const x of xs) for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

const F32_MAX = 3.4028234663852886e38;

/** Scores of query row (bh, i) against all keys, scaled and masked (−∞ where hidden). */
function scoreRow(
  s: AttnShape, o: AttnOptions, m: AttnMask, q: FloatArray, k: FloatArray, bh: number, i: number, row: Float64Array, x: AttnExtra = {},
): void {
  const b = Math.floor(bh / s.H), h = bh % s.H, kvbh = b * s.Hkv + Math.floor(h / (s.H / s.Hkv));
  const qo = (bh * s.T + i) * s.D, f32 = q instanceof Float32Array;
  const blocks = x.blocks ?? null, rowBase = blocks ? blockTileBase(blocks.table, b, h, i) : 0;
  const slope = x.alibi ? x.alibi[h]! : 0, at = i + Math.max(0, s.S - s.T);
  const rel = x.rel ?? null, relRow = rel ? h * rel.nb : 0, relAt = s.T - 1 - i;   // bucket of key j: buckets[j + relAt]
  for (let j = 0; j < s.S; j++) {
    if (o.causal && j > i) { row[j] = -Infinity; continue; }
    if (blocks && !blockVisible(blocks, rowBase, i, j)) { row[j] = -Infinity; continue; }
    const ko = (kvbh * s.S + j) * s.D;
    let acc = 0;
    for (let d = 0; d < s.D; d++) acc += q[qo + d] * k[ko + d];
    acc *= o.scale;
    if (slope !== 0) acc -= slope * Math.abs(at - j);
    if (rel) acc += rel.table[relRow + rel.buckets[j + relAt]!]!;
    if (m.kind !== 'none') {
      const p = b * m.strides[0] + h * m.strides[1] + i * m.strides[2] + j * m.strides[3];
      if (m.kind === 'bool') { if (!m.data[p]) acc = -Infinity; } else acc += m.data[p];
    }
    // float32 operands: a score beyond float32's range is ±∞ (then NaN rows), as in the native kernels and the composite
    if (f32 && (acc > F32_MAX || acc < -F32_MAX)) acc = Math.fround(acc);
    row[j] = acc;
  }
}

/**
 * Reference attention, one query row at a time (O(S) extra memory): out [B,H,T,Dv] and the
 * row log-sum-exp lse [B,H,T] (−∞ for a fully masked row, whose output is 0).
 */
export function attentionForward(
  q: FloatArray, k: FloatArray, v: FloatArray, s: AttnShape, o: AttnOptions, m: AttnMask, layout?: AttnLayout, x: AttnExtra = {},
): { out: FloatArray; lse: FloatArray } {
  if (layout) {
    const r = attentionForward(gatherView(q, layout.q, s.B, s.H, s.T, s.D), gatherView(k, layout.k, s.B, s.Hkv, s.S, s.D),
      gatherView(v, layout.v, s.B, s.Hkv, s.S, s.Dv), s, o, m, undefined, x);
    const out = allocLike(q, r.out.length);
    stridedScatter(out, ...viewArgs(layout.o, s.B, s.H, s.T, s.Dv), r.out, true);
    return { out, lse: r.lse };
  }
  const out = allocLike(q, s.B * s.H * s.T * s.Dv);
  const lse = allocLike(q, s.B * s.H * s.T);
  const row = new Float64Array(s.S);
  const acc = new Float64Array(s.Dv);
  const thr = dropoutThreshold(o.dropout), keepScale = o.dropout > 0 ? 1 / (1 - o.dropout) : 1;
  // with a block mask, hidden keys are skipped when that cannot change a value (finite v: 0·v = 0)
  const skipZero = !!x.blocks && allFinite(v);
  for (let bh = 0; bh < s.B * s.H; bh++) {
    const b = Math.floor(bh / s.H), kvbh = b * s.Hkv + Math.floor((bh % s.H) / (s.H / s.Hkv));
    for (let i = 0; i < s.T; i++) {
      scoreRow(s, o, m, q, k, bh, i, row, x);
      // a NaN score makes the row's max, and so the whole row, NaN (as softmax); +∞ gives ∞ − ∞ = NaN too
      let mx = -Infinity;
      for (let j = 0; j < s.S; j++) if (row[j] > mx || Number.isNaN(row[j])) { mx = row[j]; if (Number.isNaN(mx)) break; }
      if (mx === -Infinity) { lse[bh * s.T + i] = -Infinity; continue; }
      let l = 0;
      for (let j = 0; j < s.S; j++) { row[j] = row[j] === -Infinity ? 0 : Math.exp(row[j] - mx); l += row[j]; }
      acc.fill(0);
      const base = (bh * s.T + i) * s.S;
      for (let j = 0; j < s.S; j++) {
        let p = row[j];
        if (p === 0 && skipZero) continue;
        if (o.dropout > 0) p *= dropoutKeep(o.seed, base + j, thr) ? keepScale : 0;  // NaN·0 stays NaN, as PyTorch's
        // no skip at p = 0: 0·NaN and 0·∞ are NaN, as in P·V of the composite path (and PyTorch)
        const vo = (kvbh * s.S + j) * s.Dv;
        for (let d = 0; d < s.Dv; d++) acc[d] += p * v[vo + d];
      }
      // normalised last, so a NaN sum l makes the row NaN even when dropout dropped every weight
      const inv = 1 / l, oo = (bh * s.T + i) * s.Dv;
      for (let d = 0; d < s.Dv; d++) out[oo + d] = acc[d] * inv;
      lse[bh * s.T + i] = mx + Math.log(l);
    }
  }
  return { out, lse };
}

/**
 * Gradients of attentionForward from the saved out and lse (scores recomputed):
 * dS = P ⊙ (dP − rowsum(dO ⊙ O)); dQ = scale·dS·K, dK = scale·dSᵀ·Q, dV = P̃ᵀ·dO.
 * With a float mask, its gradient (dS summed over broadcast dims) is written to `dMask`.
 */
export function attentionBackward(
  q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray, dout: FloatArray,
  s: AttnShape, o: AttnOptions, m: AttnMask, dMask: FloatArray | null, layout?: AttnLayout, x: AttnExtra = {},
): { dq: FloatArray; dk: FloatArray; dv: FloatArray; dRel?: FloatArray } {
  if (layout) {
    const { B, H, Hkv, T, S, D, Dv } = s;
    const r = attentionBackward(gatherView(q, layout.q, B, H, T, D), gatherView(k, layout.k, B, Hkv, S, D),
      gatherView(v, layout.v, B, Hkv, S, Dv), gatherView(out, layout.o, B, H, T, Dv), lse,
      gatherView(dout, layout.o, B, H, T, Dv), s, o, m, dMask, undefined, x);
    const g = attnGradBuffers(q, k, v, layout);
    stridedScatter(g.dq, ...viewArgs(layout.q, B, H, T, D), r.dq, true);
    stridedScatter(g.dk, ...viewArgs(layout.k, B, Hkv, S, D), r.dk, true);
    stridedScatter(g.dv, ...viewArgs(layout.v, B, Hkv, S, Dv), r.dv, true);
    return r.dRel ? { ...g, dRel: r.dRel } : g;
  }
  const dq = allocLike(q, q.length), dk = allocLike(k, k.length), dv = allocLike(v, v.length);
  const rel = x.rel?.grad ? x.rel : null, dRel = rel ? new Float64Array(s.H * rel.nb) : null;  // summed in float64
  const row = new Float64Array(s.S);
  const thr = dropoutThreshold(o.dropout), keepScale = o.dropout > 0 ? 1 / (1 - o.dropout) : 1;
  // with a block mask, keys it hides are skipped when every operand is finite (their p is 0, and 0·x = 0)
  const skipHidden = !!x.blocks && allFinite(q, k, v, dout);
  for (let bh = 0; bh < s.B * s.H; bh++) {
    const b = Math.floor(bh / s.H), h = bh % s.H, kvbh = b * s.Hkv + Math.floor(h / (s.H / s.Hkv));
    const blocks = x.blocks ?? null;
    for (let i = 0; i < s.T; i++) {
      const L = lse[bh * s.T + i];
      if (L === -Infinity) continue;
      scoreRow(s, o, m, q, k, bh, i, row, x);
      const rowBase = blocks ? blockTileBase(blocks.table, b, h, i) : 0;
      const oo = (bh * s.T + i) * s.Dv, qo = (bh * s.T + i) * s.D;
      let di = 0;
      for (let d = 0; d < s.Dv; d++) di += dout[oo + d] * out[oo + d];
      const base = (bh * s.T + i) * s.S;
      for (let j = 0; j < s.S; j++) {
        // no skip at p = 0: 0·NaN is NaN, as in the composite's products; a NaN row's weights are all NaN,
        // but a key hidden by the bool mask or causality passes its score no gradient (the composite's where):
        if (skipHidden && L === L && !blockVisible(blocks!, rowBase, i, j)) continue;  // (a NaN row's weights are all NaN)
        const p = Math.exp(row[j] - L);
        const keep = o.dropout > 0 ? (dropoutKeep(o.seed, base + j, thr) ? keepScale : 0) : 1;
        const vo = (kvbh * s.S + j) * s.Dv, ko = (kvbh * s.S + j) * s.D;
        let dp = 0;
        for (let d = 0; d < s.Dv; d++) {
          dp += dout[oo + d] * v[vo + d];
          dv[vo + d] += p * keep * dout[oo + d];
        }
        // a hidden key's p is 0 (or NaN in a NaN row), so only a NaN ds can need the lookup
        let ds = p * (dp * keep - di);
        if (Number.isNaN(ds) && ((o.causal && j > i) || (blocks && !blockVisible(blocks, rowBase, i, j))
          || (m.kind === 'bool' && !m.data[b * m.strides[0] + h * m.strides[1] + i * m.strides[2] + j * m.strides[3]]))) ds = 0;
        if (dMask && m.kind === 'float') dMask[b * m.strides[0] + h * m.strides[1] + i * m.strides[2] + j * m.strides[3]] += ds;
        if (dRel) dRel[h * rel!.nb + rel!.buckets[j - i + s.T - 1]!] += ds;
        const dss = ds * o.scale;
        for (let d = 0; d < s.D; d++) {
          dq[qo + d] += dss * k[ko + d];
          dk[ko + d] += dss * q[qo + d];
        }
      }
    }
  }
  if (!dRel) return { dq, dk, dv };
  const dr = allocLike(q, dRel.length);
  dr.set(dRel);
  return { dq, dk, dv, dRel: dr };
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { attentionForward, attentionBackward, dropout: dropoutKernel };
