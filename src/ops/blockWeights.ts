/**
 * Attention weights under a block mask, computed on the touched tiles only: softmax(q·kᵀ·scale +
 * ALiBi + relative bias + mask) row by row over the keys of the tiles the block mask touches, the
 * keys it (or `causal`, or a bool mask) hides −∞. Skipped tiles are exact zeros, never computed, so
 * the work is O(touched tiles · D) where the dense composite's is O(T·S·D); the result is the dense
 * [B, H, T, S] tensor the layers return (B·H·T·S elements, zero-filled at allocation).
 *
 * It equals the composite's weights (scores masked by `blockMask.toDense()`), NaN and ±∞ included: a
 * row with a NaN or +∞ score is NaN over all S keys, as softmax makes it; a row with no visible key is
 * zeros. Its backward gives q, k, the float mask and the relative bias table their gradients.
 * scaledDotProductAttention takes this path when q and k are finite (the composite's products of 0
 * and ±∞ or NaN at hidden keys would make every row's gradient NaN; it takes the dense path then).
 */
import { Tensor, allocFor } from '../tensor/tensor.js';
import type { AttnMask, AttnOptions, AttnShape, FloatArray } from '../backend/backend.js';
import { TILE_SKIP, type BlockMask } from './blockMask.js';
import type { Primitive } from './primitive.js';
import { fdata } from './util.js';

export interface BlockWeightsAttrs {
  shape: AttnShape; opts: AttnOptions; mask: AttnMask; blockMask: BlockMask;
  alibi: ArrayLike<number> | null; rel: { nb: number; buckets: Int32Array } | null;
  /** Whether the inputs after q and k hold a float mask, then a relative bias table. */
  floatMask: boolean; relTable: boolean;
}

const F32_MAX = 3.4028234663852886e38;

/** Per (b, h, query tile): the key ranges [start, stop) of the tiles the block mask touches. */
function touchedKeys(bm: BlockMask, b: number, h: number, qt: number, S: number): { codes: number[]; starts: number[]; stops: number[] } {
  const codes: number[] = [], starts: number[] = [], stops: number[] = [];
  for (let kt = 0; kt < bm.nk; kt++) {
    const code = bm.tile(b, h, qt, kt);
    if (code === TILE_SKIP) continue;
    codes.push(code);
    starts.push(kt * bm.blockK);
    stops.push(Math.min(S, (kt + 1) * bm.blockK));
  }
  return { codes, starts, stops };
}

/** Reads the inputs after q and k: the float mask's data and the relative bias table's, when given. */
function extras(more: readonly Tensor[], a: BlockWeightsAttrs): { fm: FloatArray | null; table: FloatArray | null } {
  return { fm: a.floatMask ? fdata(more[0]!) : null, table: a.relTable ? fdata(more[a.floatMask ? 1 : 0]!) : null };
}

/** Walks every query row with its touched keys; `visit(j, hidden, score)` per touched key (score −∞ when hidden). */
function eachRow(
  q: FloatArray, k: FloatArray, more: readonly Tensor[], a: BlockWeightsAttrs,
  row: (bh: number, i: number, keys: { codes: number[]; starts: number[]; stops: number[] }, score: (j: number, code: number, kStart: number) => number) => void,
): void {
  const { shape: s, opts: o, mask: m, blockMask: bm } = a;
  const { fm, table } = extras(more, a);
  const ms = m.kind === 'none' ? [0, 0, 0, 0] : m.strides;
  const f32 = q instanceof Float32Array, shift = Math.max(0, s.S - s.T);
  const bq = bm.blockQ, bk = bm.blockK, per = bq * bk;
  for (let bh = 0; bh < s.B * s.H; bh++) {
    const b = Math.floor(bh / s.H), h = bh % s.H, kvbh = b * s.Hkv + Math.floor(h / (s.H / s.Hkv));
    const slope = a.alibi ? a.alibi[h]! : 0, relRow = a.rel ? h * a.rel.nb : 0;
    for (let qt = 0; qt < bm.nq; qt++) {
      const keys = touchedKeys(bm, b, h, qt, s.S);
      if (keys.codes.length === 0) continue;
      for (let i = qt * bq; i < Math.min(s.T, (qt + 1) * bq); i++) {
        const qo = (bh * s.T + i) * s.D, r = i - qt * bq;
        const mrow = m.kind === 'none' ? 0 : b * m.strides[0]! + h * m.strides[1]! + i * m.strides[2]!;
        row(bh, i, keys, (j, code, kStart) => {
          if (o.causal && j > i) return -Infinity;
          if (code >= 0 && !bm.elems[code * per + (j - kStart) * bq + r]) return -Infinity;
          if (m.kind === 'bool' && !m.data[mrow + j * m.strides[3]!]) return -Infinity;
          const ko = (kvbh * s.S + j) * s.D;
          let acc = 0;
          for (let d = 0; d < s.D; d++) acc += q[qo + d]! * k[ko + d]!;
          acc *= o.scale;
          if (slope !== 0) acc -= slope * Math.abs(i + shift - j);
          if (table) acc += table[relRow + a.rel!.buckets[j - i + s.T - 1]!]!;
          if (fm) acc += fm[mrow + j * ms[3]!]!;
          // float32 operands: a score beyond float32's range is ±∞, as in the composite
          if (f32 && (acc > F32_MAX || acc < -F32_MAX)) acc = Math.fround(acc);
          return acc;
        });
      }
    }
  }
}

/** The weights [B, H, T, S]: softmax over each row's touched keys, zeros elsewhere (NaN rows NaN throughout). */
function forwardWeights(q: FloatArray, k: FloatArray, more: readonly Tensor[], a: BlockWeightsAttrs): FloatArray {
  const s = a.shape;
  const w = allocFor(q instanceof Float64Array ? 'float64' : 'float32', s.B * s.H * s.T * s.S) as FloatArray;
  const sc = new Float64Array(s.S);
  eachRow(q, k, more, a, (bh, i, keys, score) => {
    let mx = -Infinity;
    for (let t = 0; t < keys.codes.length; t++) {
      for (let j = keys.starts[t]!; j < keys.stops[t]!; j++) {
        const x = sc[j] = score(j, keys.codes[t]!, keys.starts[t]!);
        if (x > mx || Number.isNaN(x)) mx = x;
        if (Number.isNaN(mx)) break;
      }
      if (Number.isNaN(mx)) break;
    }
    const o = (bh * s.T + i) * s.S;
    if (Number.isNaN(mx) || mx === Infinity) { w.fill(NaN, o, o + s.S); return; }   // softmax of a row holding NaN or +∞
    if (mx === -Infinity) return;                                                    // no visible key: zeros
    let l = 0;
    for (let t = 0; t < keys.codes.length; t++) for (let j = keys.starts[t]!; j < keys.stops[t]!; j++) l += (sc[j] = Math.exp(sc[j]! - mx));
    for (let t = 0; t < keys.codes.length; t++) for (let j = keys.starts[t]!; j < keys.stops[t]!; j++) w[o + j] = sc[j]! / l;
  });
  return w;
}

/**
 * The weights primitive: inputs [q, k, floatMask?, relTable?], output [B, H, T, S]. Backward:
 * dS = W ∘ (G − rowsum(W ∘ G)) on the touched keys (0 where hidden, as the composite's where), then
 * dq = scale·dS·k, dk = scale·dSᵀ·q, dMask = dS, dTable[h, bucket(j − i)] += dS. A non-finite
 * cotangent at an untouched key reaches its row's sum (0·NaN), as in the composite.
 */
export const blockWeightsPrim: Primitive<BlockWeightsAttrs, undefined> = {
  name: 'blockWeights',
  forward: ([q, k, ...more], a) => {
    const s = a.shape;
    return { out: new Tensor(forwardWeights(fdata(q!), fdata(k!), more, a), [s.B, s.H, s.T, s.S]), saved: undefined };
  },
  backward: (g, { inputs: [q, k, ...more], out, attrs: a }) => {
    const s = a.shape, ms = a.mask.kind === 'none' ? [0, 0, 0, 0] : a.mask.strides, qd = fdata(q!), kd = fdata(k!), w = fdata(out), gd = fdata(g);
    const dq = allocFor(q!.dtype, qd.length) as FloatArray, dk = allocFor(k!.dtype, kd.length) as FloatArray;
    const fmT = a.floatMask ? more[0]! : null, relT = a.relTable ? more[a.floatMask ? 1 : 0]! : null;
    const dm = fmT?.requiresGrad ? allocFor(fmT.dtype, fmT.size) as FloatArray : null;
    const dRel = relT?.requiresGrad ? new Float64Array(relT.size) : null;
    let finiteG = true;
    for (let x = 0; x < gd.length && finiteG; x++) finiteG = Number.isFinite(gd[x]);
    eachRow(qd, kd, more, a, (bh, i, keys) => {
      const o = (bh * s.T + i) * s.S;
      let dot = 0;
      for (let t = 0; t < keys.codes.length; t++) for (let j = keys.starts[t]!; j < keys.stops[t]!; j++) dot += w[o + j]! * gd[o + j]!;
      if (!finiteG) {  // (0·NaN at an untouched key makes the row's sum NaN, as in the composite)
        const inTouched = (j: number): boolean => keys.starts.some((st, t) => j >= st && j < keys.stops[t]!);
        for (let j = 0; j < s.S; j++) if (!Number.isFinite(gd[o + j]) && !inTouched(j)) dot += w[o + j]! * gd[o + j]!;
      }
      const b = Math.floor(bh / s.H), h = bh % s.H, kvbh = b * s.Hkv + Math.floor(h / (s.H / s.Hkv)), qo = (bh * s.T + i) * s.D;
      for (let t = 0; t < keys.codes.length; t++) {
        for (let j = keys.starts[t]!; j < keys.stops[t]!; j++) {
          if (isHidden(a, keys.codes[t]!, keys.starts[t]!, b, h, i, j)) continue;
          const ds = w[o + j]! * (gd[o + j]! - dot);
          if (ds === 0) continue;  // (q and k are finite on this path: 0·k adds nothing)
          const ko = (kvbh * s.S + j) * s.D, dss = ds * a.opts.scale;
          for (let d = 0; d < s.D; d++) {
            dq[qo + d] += dss * kd[ko + d]!;
            dk[ko + d] += dss * qd[qo + d]!;
          }
          if (dm) dm[b * ms[0]! + h * ms[1]! + i * ms[2]! + j * ms[3]!] += ds;
          if (dRel) dRel[h * a.rel!.nb + a.rel!.buckets[j - i + s.T - 1]!] += ds;
        }
      }
    });
    const rest: (Tensor | null)[] = [];
    if (fmT) rest.push(dm ? new Tensor(dm, fmT.shape) : null);
    if (relT) {
      if (!dRel) rest.push(null);
      else {
        const d = allocFor(relT.dtype, relT.size) as FloatArray;
        d.set(dRel);
        rest.push(new Tensor(d, relT.shape));
      }
    }
    return [new Tensor(dq, q!.shape), new Tensor(dk, k!.shape), ...rest];
  },
};

/** Hidden by causality, the block mask's element or a bool mask (no gradient reaches its score: the composite's where). */
function isHidden(a: BlockWeightsAttrs, code: number, kStart: number, b: number, h: number, i: number, j: number): boolean {
  const bm = a.blockMask, m = a.mask;
  if (a.opts.causal && j > i) return true;
  if (code >= 0 && !bm.elems[code * bm.blockQ * bm.blockK + (j - kStart) * bm.blockQ + (i % bm.blockQ)]) return true;
  return m.kind === 'bool' && !m.data[b * m.strides[0]! + h * m.strides[1]! + i * m.strides[2]! + j * m.strides[3]!];
}
