/**
 * The native backend (Node only): the C++ addon built by node-gyp at install, wrapped so
 * each kernel runs natively on float32 buffers and falls back to the js kernel otherwise
 * (float64 gradchecks, unsupported ops or layouts). Buffers are passed without copies.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { jsBackend, setBackend, backend, type Backend } from '../backend.js';
import type { AnyArray, FloatArray } from '../js/types.js';
import type { UnaryOp, UnaryParams, BinaryOp, CompareOp } from '../js/elementwise.js';
import type { Conv2dGeom, Conv2dParams } from '../js/conv.js';
import type { AttnLayout, AttnMask, AttnOptions, AttnShape } from '../js/attention.js';
import { attnGradBuffers } from '../js/attention.js';
import type { AdamParams } from '../js/optim.js';
import { ValueError } from '../../errors.js';

type F32 = Float32Array;
interface Addon {
  info(): { isa: string; bestIsa: string; threads: number };
  setNumThreads(n: number): void;
  setIsa(isa: string): string;
  gemm(a: F32, aOff: number, b: F32, bOff: number, out: F32, oOff: number, M: number, N: number, K: number, ta: boolean, tb: boolean, acc: boolean, bias: F32 | null): void;
  gemmBatched(a: F32, b: F32, out: F32, offsets: Float64Array, M: number, N: number, K: number, ta: boolean, tb: boolean): void;
  unary(op: number, x: F32, out: F32): void;
  unaryBackward(op: number, x: F32, y: F32, g: F32, out: F32): void;
  stridedCopy(src: F32, offset: number, strides: readonly number[], shape: readonly number[], out: F32): void;
  stridedScatter(dst: F32, offset: number, strides: readonly number[], shape: readonly number[], src: F32, assign: boolean): void;
  dropout(x: F32, out: F32, p: number, seed: number): void;
  binary(op: number, a: F32, aShape: readonly number[], b: F32, bShape: readonly number[], outShape: readonly number[], out: F32): void;
  softmaxRows(x: F32, out: F32, rows: number, n: number, log: boolean): void;
  softmaxBackwardRows(y: F32, g: F32, out: F32, rows: number, n: number, log: boolean): void;
  crossEntropy(x: F32, rows: number, C: number, target: Int32Array, w: F32 | null, eps: number, ignoreIndex: number, loss: F32, lse: F32): void;
  crossEntropyBackward(x: F32, lse: F32, g: F32, rows: number, C: number, target: Int32Array, w: F32 | null, eps: number, ignoreIndex: number, out: F32): void;
  sumDim(x: F32, out: F32, outer: number, n: number, inner: number): void;
  allFinite(x: F32): boolean;
  layerNorm(x: F32, w: F32 | null, b: F32 | null, y: F32, mean: F32, rstd: F32, rows: number, n: number, eps: number): void;
  layerNormBackward(x: F32, w: F32 | null, mean: F32, rstd: F32, g: F32, gx: F32, gw: F32, gb: F32, rows: number, n: number): void;
  indexSelect(x: F32, outer: number, n: number, inner: number, idx: Int32Array, out: F32): void;
  indexAdd(g: F32, outer: number, n: number, inner: number, idx: Int32Array, dx: F32): void;
  conv2dForward(x: F32, w: F32, y: F32, geom: number[]): void;
  conv2dBackward(x: F32, w: F32, gy: F32, gx: F32 | null, gw: F32 | null, geom: number[]): void;
  maxPool2dForward(x: F32, y: F32, idx: Int32Array, geom: number[]): void;
  maxPool2dBackward(gy: F32, idx: Int32Array, gx: F32, geom: number[]): void;
  avgPool2dForward(x: F32, y: F32, geom: number[], countIncludePad: boolean): void;
  avgPool2dBackward(gy: F32, gx: F32, geom: number[], countIncludePad: boolean): void;
  attentionForward(q: F32, k: F32, v: F32, out: F32, lse: F32, shape: number[], opts: number[], mask: AnyArray | null, strides: number[], layout?: number[]): void;
  attentionBackward(q: F32, k: F32, v: F32, out: F32, lse: F32, dout: F32, dq: F32, dk: F32, dv: F32, shape: number[], opts: number[], mask: AnyArray | null, strides: number[], layout?: number[]): void;
  adamUpdate(w: F32, g: F32, m: Float64Array, v: Float64Array, params: number[]): void;
}

const UNARY: Partial<Record<UnaryOp, number>> = {
  exp: 0, tanh: 1, sigmoid: 2, relu: 3, geluErf: 4, geluTanh: 5, silu: 6, neg: 7, sqrt: 8, rsqrt: 9, log: 10, square: 11,
};
const BINARY: Partial<Record<BinaryOp | CompareOp, number>> = { add: 0, sub: 1, mul: 2, div: 3 };

const f32 = (...xs: (AnyArray | null)[]): boolean => xs.every((x) => x === null || x instanceof Float32Array);

let addon: Addon | null = null;
let loadError: string | null = null;

/** Path of the compiled addon beside the package (build/Release after `npm install`). */
function addonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'build', 'Release', 'attnkit_native.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return join(dir, 'build', 'Release', 'attnkit_native.node');
}

function load(): Addon | null {
  if (addon || loadError) return addon;
  try {
    addon = createRequire(import.meta.url)(addonPath()) as Addon;
  } catch (e) {
    loadError = (e as Error).message.split('\n')[0];
  }
  return addon;
}

/** Kernels of the native backend, each falling back to the js kernel where it does not apply. */
function nativeKernels(a: Addon) {
  const js = jsBackend;
  const shapeArr = (s: AttnShape): number[] => [s.B, s.H, s.Hkv, s.T, s.S, s.D, s.Dv];
  const optArr = (o: AttnOptions, m: AttnMask): number[] => [o.scale, o.causal ? 1 : 0, o.dropout, o.seed >>> 0, m.kind === 'none' ? 0 : m.kind === 'bool' ? 1 : 2];
  const layoutArr = (l: AttnLayout | undefined): number[] | undefined =>
    l && [l.q, l.k, l.v, l.o].flatMap((w) => [w.offset, w.sb, w.sh, w.sr]);
  const geom = (p: Conv2dGeom, Cout: number, groups: number): number[] =>
    [p.N, p.C, p.H, p.W, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.OH, p.OW, Cout, groups];
  return {
    name: 'native',
    gemm: (x, xo, y, yo, out, oo, M, N, K, ta, tb, acc, bias = null) =>
      f32(x, y, out, bias) ? a.gemm(x as F32, xo, y as F32, yo, out as F32, oo, M, N, K, ta, tb, acc, bias as F32 | null)
        : js.gemm(x, xo, y, yo, out, oo, M, N, K, ta, tb, acc, bias),
    gemmBatched: (x, y, out, offsets, M, N, K, ta, tb) =>
      f32(x, y, out) ? a.gemmBatched(x as F32, y as F32, out as F32, offsets, M, N, K, ta, tb) : js.gemmBatched(x, y, out, offsets, M, N, K, ta, tb),
    unary: (op: UnaryOp, x: FloatArray, p: UnaryParams): FloatArray => {
      const code = UNARY[op];
      if (code === undefined || !f32(x)) return js.unary(op, x, p);
      const out = new Float32Array(x.length);
      a.unary(code, x as F32, out);
      return out;
    },
    stridedCopy: (src: AnyArray, offset: number, strides: readonly number[], shape: readonly number[], out: AnyArray) =>
      (f32(src, out) ? a.stridedCopy(src as F32, offset, strides, shape, out as F32) : js.stridedCopy(src, offset, strides, shape, out)),
    stridedScatter: (dst: AnyArray, offset: number, strides: readonly number[], shape: readonly number[], src: AnyArray, assign: boolean) =>
      (f32(dst, src) ? a.stridedScatter(dst as F32, offset, strides, shape, src as F32, assign) : js.stridedScatter(dst, offset, strides, shape, src, assign)),
    unaryBackward: (op: UnaryOp, x: FloatArray, y: FloatArray, g: FloatArray, p: UnaryParams): FloatArray => {
      const code = UNARY[op];
      if (code === undefined || !f32(x, y, g)) return js.unaryBackward(op, x, y, g, p);
      const out = new Float32Array(x.length);
      a.unaryBackward(code, x as F32, y as F32, g as F32, out);
      return out;
    },
    adamUpdate: (w: FloatArray, g: FloatArray, m: Float64Array, v: Float64Array, p: AdamParams): void => {
      if (!f32(w, g)) return js.adamUpdate(w, g, m, v, p);
      a.adamUpdate(w as F32, g as F32, m, v, [p.lr, p.b1, p.b2, p.c1, p.c2, p.eps, p.wd, p.decoupled ? 1 : 0]);
    },
    dropout: (x: FloatArray, p: number, seed: number): FloatArray => {
      if (!f32(x)) return js.dropout(x, p, seed);
      const out = new Float32Array(x.length);
      a.dropout(x as F32, out, p, seed);
      return out;
    },
    binary: (op, x, xs, y, ys, os, out) => {
      const code = BINARY[op];
      if (code === undefined || !f32(x, y, out)) return js.binary(op, x, xs, y, ys, os, out);
      a.binary(code, x as F32, xs, y as F32, ys, os, out as F32);
    },
    softmaxDim: (x, outer, n, inner, log) => {
      if (inner !== 1 || !f32(x)) return js.softmaxDim(x, outer, n, inner, log);
      const out = new Float32Array(x.length);
      a.softmaxRows(x as F32, out, outer, n, log);
      return out;
    },
    softmaxBackwardDim: (y, g, outer, n, inner, log) => {
      if (inner !== 1 || !f32(y, g)) return js.softmaxBackwardDim(y, g, outer, n, inner, log);
      const out = new Float32Array(y.length);
      a.softmaxBackwardRows(y as F32, g as F32, out, outer, n, log);
      return out;
    },
    crossEntropyForward: (x, rows, C, target, w, p) => {
      if (!f32(x, w)) return js.crossEntropyForward(x, rows, C, target, w, p);
      const loss = new Float32Array(rows), lse = new Float32Array(rows);
      a.crossEntropy(x as F32, rows, C, target, w as F32 | null, p.eps, p.ignoreIndex, loss, lse);
      return { loss, lse };
    },
    crossEntropyBackward: (x, lse, g, rows, C, target, w, p) => {
      if (!f32(x, lse, g, w)) return js.crossEntropyBackward(x, lse, g, rows, C, target, w, p);
      const out = new Float32Array(rows * C);
      a.crossEntropyBackward(x as F32, lse as F32, g as F32, rows, C, target, w as F32 | null, p.eps, p.ignoreIndex, out);
      return out;
    },
    sumDim: (x, outer, n, inner) => {
      if (!f32(x)) return js.sumDim(x, outer, n, inner);
      const out = new Float32Array(outer * inner);
      a.sumDim(x as F32, out, outer, n, inner);
      return out;
    },
    layerNormForward: (x, w, b, rows, n, eps) => {
      if (!f32(x, w, b)) return js.layerNormForward(x, w, b, rows, n, eps);
      const y = new Float32Array(x.length), mean = new Float32Array(rows), rstd = new Float32Array(rows);
      a.layerNorm(x as F32, w as F32 | null, b as F32 | null, y, mean, rstd, rows, n, eps);
      return { y, mean, rstd };
    },
    layerNormBackward: (x, w, mean, rstd, g, rows, n) => {
      if (!f32(x, w, mean, rstd, g)) return js.layerNormBackward(x, w, mean, rstd, g, rows, n);
      const gx = new Float32Array(x.length), gw = new Float32Array(n), gb = new Float32Array(n);
      a.layerNormBackward(x as F32, w as F32 | null, mean as F32, rstd as F32, g as F32, gx, gw, gb, rows, n);
      return { gx, gw, gb };
    },
    indexSelect: (x, outer, n, inner, idx, out) =>
      f32(x, out) ? a.indexSelect(x as F32, outer, n, inner, idx, out as F32) : js.indexSelect(x, outer, n, inner, idx, out),
    indexAdd: (g, outer, n, inner, idx, dx) =>
      f32(g, dx) ? a.indexAdd(g as F32, outer, n, inner, idx, dx as F32) : js.indexAdd(g, outer, n, inner, idx, dx),
    conv2dForward: (x: FloatArray, w: FloatArray, p: Conv2dParams) => {
      if (!f32(x, w)) return js.conv2dForward(x, w, p);
      const y = new Float32Array(p.N * p.Cout * p.OH * p.OW);
      a.conv2dForward(x as F32, w as F32, y, geom(p, p.Cout, p.groups));
      return y;
    },
    conv2dBackward: (x: FloatArray, w: FloatArray, gy: FloatArray, p: Conv2dParams, needX: boolean, needW: boolean) => {
      if (!f32(x, w, gy)) return js.conv2dBackward(x, w, gy, p, needX, needW);
      const gx = needX ? new Float32Array(x.length) : null, gw = needW ? new Float32Array(w.length) : null;
      a.conv2dBackward(x as F32, w as F32, gy as F32, gx, gw, geom(p, p.Cout, p.groups));
      return { gx, gw };
    },
    maxPool2dForward: (x: FloatArray, p: Conv2dGeom) => {
      if (!f32(x)) return js.maxPool2dForward(x, p);
      const n = p.N * p.C * p.OH * p.OW;
      const y = new Float32Array(n), indices = new Int32Array(n);
      a.maxPool2dForward(x as F32, y, indices, geom(p, 0, 1));
      return { y, indices };
    },
    maxPool2dBackward: (gy: FloatArray, indices: Int32Array, p: Conv2dGeom, xLen: number) => {
      if (!f32(gy)) return js.maxPool2dBackward(gy, indices, p, xLen);
      const gx = new Float32Array(xLen);
      a.maxPool2dBackward(gy as F32, indices, gx, geom(p, 0, 1));
      return gx;
    },
    avgPool2dForward: (x: FloatArray, p: Conv2dGeom, countIncludePad: boolean) => {
      if (!f32(x)) return js.avgPool2dForward(x, p, countIncludePad);
      const y = new Float32Array(p.N * p.C * p.OH * p.OW);
      a.avgPool2dForward(x as F32, y, geom(p, 0, 1), countIncludePad);
      return y;
    },
    avgPool2dBackward: (gy: FloatArray, p: Conv2dGeom, countIncludePad: boolean, xLen: number) => {
      if (!f32(gy)) return js.avgPool2dBackward(gy, p, countIncludePad, xLen);
      const gx = new Float32Array(xLen);
      a.avgPool2dBackward(gy as F32, gx, geom(p, 0, 1), countIncludePad);
      return gx;
    },
    // A key a query cannot see passes it nothing, even a NaN or ±∞ (the js kernel skips weights of 0);
    // the native products P·V, Pᵀ·dO, dS·K and dSᵀ·Q would make 0·NaN = NaN, so such operands go to js.
    attentionForward: (q, k, v, s, o, m, layout) => {
      if (!f32(q, k, v) || (m.kind === 'float' && !f32(m.data)) || !a.allFinite(v as F32)) return js.attentionForward(q, k, v, s, o, m, layout);
      const out = new Float32Array(s.B * s.H * s.T * s.Dv), lse = new Float32Array(s.B * s.H * s.T);
      a.attentionForward(q as F32, k as F32, v as F32, out, lse, shapeArr(s), optArr(o, m), m.kind === 'none' ? null : m.data,
        m.kind === 'none' ? [] : m.strides, layoutArr(layout));
      return { out, lse };
    },
    attentionBackward: (q, k, v, out, lse, dout, s, o, m, dMask, layout) => {
      // the additive-mask gradient is only in the js kernel
      if (dMask !== null || !f32(q, k, v, out, lse, dout) || (m.kind === 'float' && !f32(m.data))
        || ![q, k, v, dout].every((x) => a.allFinite(x as F32))) {
        return js.attentionBackward(q, k, v, out, lse, dout, s, o, m, dMask, layout);
      }
      const g = attnGradBuffers(q, k, v, layout);
      a.attentionBackward(q as F32, k as F32, v as F32, out as F32, lse as F32, dout as F32, g.dq as F32, g.dk as F32, g.dv as F32,
        shapeArr(s), optArr(o, m), m.kind === 'none' ? null : m.data, m.kind === 'none' ? [] : m.strides, layoutArr(layout));
      return g;
    },
  } satisfies Partial<Backend> & { name: string };
}

/**
 * The kernels the native backend overrides, by name: a typed record keyed by it (the equivalence
 * tests' table) makes the compiler demand an entry for every kernel added here.
 */
export type NativeKernelName = Exclude<keyof ReturnType<typeof nativeKernels>, 'name'>;

let warned = false;

/**
 * Selects the backend: 'native' (the C++ addon; falls back to 'js' with one warning when it
 * cannot be loaded) or 'js'. Returns the name of the backend now active.
 */
export function useBackend(name: 'native' | 'js'): 'native' | 'js' {
  if (name !== 'native' && name !== 'js') throw new ValueError(`useBackend: name must be 'native' or 'js', got '${String(name)}'`);
  if (name === 'js') {
    setBackend(jsBackend);
    return 'js';
  }
  const a = load();
  if (!a) {
    if (!warned) {
      warned = true;
      console.warn(`attnkit: the native backend could not be loaded (${loadError}); running on the js backend`);
    }
    setBackend(jsBackend);
    return 'js';
  }
  setBackend(nativeKernels(a));
  return 'native';
}

/** Applies ATTNKIT_BACKEND (js | native, default native) and ATTNKIT_NUM_THREADS. */
export function selectBackendFromEnv(env: Record<string, string | undefined> = process.env): 'native' | 'js' {
  const want = env.ATTNKIT_BACKEND ?? 'native';
  if (want !== 'js' && want !== 'native') throw new ValueError(`ATTNKIT_BACKEND must be 'js' or 'native', got '${want}'`);
  return useBackend(want);
}

/** What the native addon runs with, or null when it is not loaded. */
export function nativeInfo(): { isa: string; bestIsa: string; threads: number } | null {
  return load()?.info() ?? null;
}

/** Sets the native thread pool's size (the default is the machine's cores, or ATTNKIT_NUM_THREADS). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`setNumThreads: n must be a positive integer, got ${n}`);
  load()?.setNumThreads(n);
}

/** Caps the instruction set the native kernels use ('generic' | 'avx2' | 'avx512'); for tests and benchmarks. */
export function setNativeIsa(isa: 'generic' | 'avx2' | 'avx512'): string | null {
  return load()?.setIsa(isa) ?? null;
}

/** The active backend's name. */
export function backendName(): string {
  return backend().name;
}
