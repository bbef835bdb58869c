/**
 * How each backend call becomes a call of the compiled kernel table (kernelTable.ts): which
 * outputs to allocate, how the result is shaped, and when the js kernel must take the call
 * instead (FALLBACK). Shared by the native addon and the wasm build (compiledBackend.ts).
 */
import type { Backend } from '../backend.js';
import type { Conv2dGeom } from '../js/conv.js';
import { attnGradBuffers } from '../js/attention.js';
import { takeF32 } from '../pool.js';
import { ENUMS, type KernelName, type LooseAddon, type StructValue } from './kernelTable.js';

/** The backend kernels the native table accelerates (an adapter each). */
export type NativeKernelName = Extract<KernelName, keyof Backend>;
/** Returned by an adapter to hand a call to the js kernel. */
export const FALLBACK: unique symbol = Symbol('fallback to js');
type Adapter<K extends NativeKernelName> = Backend[K] extends (...a: infer P) => infer R ? (k: LooseAddon, ...args: P) => R | typeof FALLBACK : never;

const f32 = (n: number): Float32Array => takeF32(n);
const pool = (p: Conv2dGeom): StructValue<'ConvGeom'> => ({ ...p, Cout: 0, groups: 1 });

/** Whether C++ has this member of an enum: an op it lacks goes to js before any buffer is allocated (no throw per call). */
const NATIVE_OPS = { Unary: new Set<string>(ENUMS.Unary), Binary: new Set<string>(ENUMS.Binary) };

/**
 * How each backend call becomes a native one: allocate the outputs, call, shape the result.
 * Buffers of another dtype (float64 gradchecks) reach the js kernel without a line here.
 */
export const ADAPTERS: { [K in NativeKernelName]: Adapter<K> } = {
  gemm: (k, x, xo, y, yo, out, oo, M, N, K, ta, tb, acc, bias = null) => k.gemm(x, xo, y, yo, out, oo, M, N, K, ta, tb, acc, bias),
  gemmBatched: (k, x, y, out, offsets, M, N, K, ta, tb) => k.gemmBatched(x, y, out, offsets, M, N, K, ta, tb),
  unary: (k, op, x) => {
    if (!NATIVE_OPS.Unary.has(op)) return FALLBACK;
    const out = f32(x.length);
    k.unary(op, x, out);
    return out;
  },
  unaryBackward: (k, op, x, y, g) => {
    if (!NATIVE_OPS.Unary.has(op)) return FALLBACK;
    const out = f32(x.length);
    k.unaryBackward(op, x, y, g, out);
    return out;
  },
  stridedCopy: (k, src, offset, strides, shape, out) => k.stridedCopy(src, offset, strides, shape, out),
  stridedScatter: (k, dst, offset, strides, shape, src, assign) => k.stridedScatter(dst, offset, strides, shape, src, assign),
  adamUpdate: (k, w, g, m, v, p) => k.adamUpdate(w, g, m, v, p),
  dropout: (k, x, p, seed) => {
    const out = f32(x.length);
    k.dropout(x, out, p, seed);
    return out;
  },
  binary: (k, op, x, xs, y, ys, os, out) => (NATIVE_OPS.Binary.has(op) ? k.binary(op, x, xs, y, ys, os, out) : FALLBACK),
  softmaxDim: (k, x, outer, n, inner, log) => {
    if (inner !== 1) return FALLBACK;
    const out = f32(x.length);
    k.softmaxDim(x, out, outer, n, log);
    return out;
  },
  softmaxBackwardDim: (k, y, g, outer, n, inner, log) => {
    if (inner !== 1) return FALLBACK;
    const out = f32(y.length);
    k.softmaxBackwardDim(y, g, out, outer, n, log);
    return out;
  },
  crossEntropyForward: (k, x, rows, C, target, w, p) => {
    const loss = f32(rows), lse = f32(rows);
    k.crossEntropyForward(x, rows, C, target, w, p.eps, p.ignoreIndex, loss, lse);
    return { loss, lse };
  },
  crossEntropyBackward: (k, x, lse, g, rows, C, target, w, p) => {
    const out = f32(rows * C);
    k.crossEntropyBackward(x, lse, g, rows, C, target, w, p.eps, p.ignoreIndex, out);
    return out;
  },
  linearCrossEntropy: (k, x, w, b, rows, K, V, target, g, p, gradX, gradW) => {
    const loss = f32(rows), lse = f32(rows);
    const gx = gradX ? f32(rows * K) : null, gw = gradW ? f32(V * K) : null, gb = gradW && b ? f32(V) : null;
    k.linearCrossEntropy(x, w, b, rows, K, V, target, g, p.eps, p.ignoreIndex, loss, lse, gx, gw, gb);
    return { loss, lse, gx, gw, gb };
  },
  sumDim: (k, x, outer, n, inner) => {
    const out = f32(outer * inner);
    k.sumDim(x, out, outer, n, inner);
    return out;
  },
  layerNormForward: (k, x, w, b, rows, n, eps) => {
    const y = f32(x.length), mean = f32(rows), rstd = f32(rows);
    k.layerNormForward(x, w, b, y, mean, rstd, rows, n, eps);
    return { y, mean, rstd };
  },
  layerNormBackward: (k, x, w, mean, rstd, g, rows, n) => {
    const gx = f32(x.length), gw = f32(n), gb = f32(n);
    k.layerNormBackward(x, w, mean, rstd, g, gx, gw, gb, rows, n);
    return { gx, gw, gb };
  },
  indexSelect: (k, x, outer, n, inner, idx, out) => k.indexSelect(x, outer, n, inner, idx, out),
  indexAdd: (k, g, outer, n, inner, idx, dx) => k.indexAdd(g, outer, n, inner, idx, dx),
  conv2dForward: (k, x, w, p) => {
    const y = f32(p.N * p.Cout * p.OH * p.OW);
    k.conv2dForward(p, x, w, y);
    return y;
  },
  conv2dBackward: (k, x, w, gy, p, needX, needW) => {
    const gx = needX ? f32(x.length) : null, gw = needW ? f32(w.length) : null;
    k.conv2dBackward(p, x, w, gy, gx, gw);
    return { gx, gw };
  },
  maxPool2dForward: (k, x, p) => {
    const n = p.N * p.C * p.OH * p.OW;
    const y = f32(n), indices = new Int32Array(n);
    k.maxPool2dForward(pool(p), x, y, indices);
    return { y, indices };
  },
  maxPool2dBackward: (k, gy, indices, p, xLen) => {
    const gx = f32(xLen);
    k.maxPool2dBackward(pool(p), gy, indices, gx);
    return gx;
  },
  avgPool2dForward: (k, x, p, countIncludePad) => {
    const y = f32(p.N * p.C * p.OH * p.OW);
    k.avgPool2dForward(pool(p), x, y, countIncludePad);
    return y;
  },
  avgPool2dBackward: (k, gy, p, countIncludePad, xLen) => {
    const gx = f32(xLen);
    k.avgPool2dBackward(pool(p), gy, gx, countIncludePad);
    return gx;
  },
  // Non-finite operands go to the js kernel where the native kernels would differ from it. js multiplies
  // every weight, 0 included (0·NaN = NaN, as the composite and PyTorch), but the native kernels skip the
  // causal key tiles no query of a tile sees: the forward needs finite values only when causal. The
  // backward needs finite q, k, v and dout always: besides those tiles, AVX2 runs rows with lse −∞ (0·NaN
  // in dV), which js skips, and dS is 0 where P = 0 (js: 0·NaN). Packed operands are one buffer, scanned once.
  // A block mask skips tiles as causality does, so it takes the same rule.
  attentionForward: (k, q, kk, v, s, o, m, layout, x = {}) => {
    if ((o.causal || x.blocks) && !k.allFinite(v)) return FALLBACK;
    const out = f32(s.B * s.H * s.T * s.Dv), lse = f32(s.B * s.H * s.T);
    k.attentionForward(q, kk, v, out, lse, s, o, m.kind, m.kind === 'none' ? null : m.data, m.kind === 'none' ? [] : m.strides, layout ?? null,
      x.blocks?.table ?? null, x.blocks?.elems ?? null, x.alibi ?? null, x.rel?.table ?? null, x.rel?.buckets ?? null, x.rel?.nb ?? 0);
    return { out, lse };
  },
  attentionBackward: (k, q, kk, v, out, lse, dout, s, o, m, dMask, layout, x = {}) => {
    // the additive-mask gradient is only in the js kernel
    if (dMask !== null || !k.allFinite(q) || (kk !== q && !k.allFinite(kk)) || (v !== q && v !== kk && !k.allFinite(v)) || !k.allFinite(dout)) return FALLBACK;
    // the relative bias's gradient: the kernels sum scale·dS per batch row (each row's work has its own slice), in float64
    const rel = x.rel ?? null, dRelB = rel?.grad ? new Float64Array(s.B * s.H * rel.nb) : null;
    if (dRelB && o.scale === 0) return FALLBACK;
    const g = attnGradBuffers(q, kk, v, layout);
    k.attentionBackward(q, kk, v, out, lse, dout, g.dq, g.dk, g.dv, s, o, m.kind, m.kind === 'none' ? null : m.data,
      m.kind === 'none' ? [] : m.strides, layout ?? null, x.blocks?.table ?? null, x.blocks?.elems ?? null, x.alibi ?? null,
      rel?.table ?? null, rel?.buckets ?? null, rel?.nb ?? 0, dRelB);
    if (!dRelB) return g;
    const n = s.H * rel!.nb, dRel = f32(n);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let b = 0; b < s.B; b++) acc += dRelB[b * n + i]!;
      dRel[i] = acc;
    }
    return { ...g, dRel };
  },
};
