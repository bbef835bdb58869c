import { type AnyArray, type FloatArray, allocLike } from '../buffers.js';
import { broadcastStrides } from './strided.js';
import * as m from './math.js';

/** Unary float ops. `p` carries the op's scalar parameter (alpha, exponent, min…). */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'log1p' | 'sqrt' | 'rsqrt' | 'abs' | 'sign' | 'tanh' | 'sigmoid'
  | 'relu' | 'leakyRelu' | 'geluErf' | 'geluTanh' | 'silu' | 'elu' | 'softplus' | 'sin' | 'cos'
  | 'powScalar' | 'clamp' | 'square' | 'reciprocal';

/** Scalar parameters an op may take (unused ones ignored). */
export interface UnaryParams { a: number; b: number }

type Fn = (x: number, p: UnaryParams) => number;
/** Derivative dy/dx given the input x and output y. */
type DFn = (x: number, y: number, p: UnaryParams) => number;

/** Forward and derivative for every unary op: the mapped type makes the compiler demand both. */
export const unaryTable: { [K in UnaryOp]: { f: Fn; df: DFn } } = {
  neg: { f: (x) => -x, df: () => -1 },
  exp: { f: (x) => Math.exp(x), df: (_x, y) => y },
  log: { f: (x) => Math.log(x), df: (x) => 1 / x },
  log1p: { f: (x) => Math.log1p(x), df: (x) => 1 / (1 + x) },
  sqrt: { f: (x) => Math.sqrt(x), df: (_x, y) => 0.5 / y },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), df: (x, y) => -0.5 * y / x },
  abs: { f: (x) => Math.abs(x), df: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0) },
  sign: { f: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN), df: () => 0 },
  tanh: { f: (x) => Math.tanh(x), df: (_x, y) => 1 - y * y },
  sigmoid: { f: (x) => m.sigmoid(x), df: (_x, y) => y * (1 - y) },
  // NaN stays NaN and its gradient passes, as PyTorch's relu (threshold: 0 where x ≤ 0, else x)
  relu: { f: (x) => (x <= 0 ? 0 : x), df: (x) => (x <= 0 ? 0 : 1) },
  leakyRelu: { f: (x, p) => (x > 0 ? x : p.a * x), df: (x, _y, p) => (x > 0 ? 1 : p.a) },
  geluErf: { f: (x) => m.geluErf(x), df: (x) => m.geluErfGrad(x) },
  geluTanh: { f: (x) => m.geluTanh(x), df: (x) => m.geluTanhGrad(x) },
  silu: { f: (x) => x * m.sigmoid(x), df: (x) => { const s = m.sigmoid(x); return s * (1 + x * (1 - s)); } },
  elu: { f: (x, p) => (x > 0 ? x : p.a * Math.expm1(x)), df: (x, y, p) => (x > 0 ? 1 : y + p.a) },
  softplus: {
    f: (x, p) => m.softplus(x, p.a, p.b),
    df: (x, _y, p) => (p.a * x > p.b ? 1 : m.sigmoid(p.a * x)),
  },
  sin: { f: (x) => Math.sin(x), df: (x) => Math.cos(x) },
  cos: { f: (x) => Math.cos(x), df: (x) => -Math.sin(x) },
  powScalar: { f: (x, p) => Math.pow(x, p.a), df: (x, _y, p) => (p.a === 0 ? 0 : p.a * Math.pow(x, p.a - 1)) },
  // gradient flows where min ≤ x ≤ max, as in PyTorch
  clamp: { f: (x, p) => Math.min(Math.max(x, p.a), p.b), df: (x, _y, p) => (x >= p.a && x <= p.b ? 1 : 0) },
  square: { f: (x) => x * x, df: (x) => 2 * x },
  reciprocal: { f: (x) => 1 / x, df: (_x, y) => -y * y },
};

export function unary(op: UnaryOp, x: FloatArray, p: UnaryParams): FloatArray {
  const out = allocLike(x, x.length);
  const f = unaryTable[op].f;
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], p);
  return out;
}

/** gx = g · f'(x). */
export function unaryBackward(op: UnaryOp, x: FloatArray, y: FloatArray, g: FloatArray, p: UnaryParams): FloatArray {
  const out = allocLike(x, x.length);
  const df = unaryTable[op].df;
  for (let i = 0; i < x.length; i++) out[i] = g[i] * df(x[i], y[i], p);
  return out;
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'and' | 'or';

const binaryFns: { [K in BinaryOp | CompareOp]: (a: number, b: number) => number } = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => Math.pow(a, b),
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  and: (a, b) => (a && b ? 1 : 0),
  or: (a, b) => (a || b ? 1 : 0),
};

/** out = a ∘ b with NumPy broadcasting; `out` is preallocated by the caller (its type sets the result dtype). */
export function binary(
  op: BinaryOp | CompareOp,
  a: AnyArray, aShape: readonly number[], b: AnyArray, bShape: readonly number[],
  outShape: readonly number[], out: AnyArray,
): void {
  const n = out.length;
  if (n === 0) return;
  if ((a.length === n || a.length === 1) && (b.length === n || b.length === 1)) {
    binaryRow(op, a, 0, a.length === 1 ? 0 : 1, b, 0, b.length === 1 ? 0 : 1, out, 0, n);
    return;
  }
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const nd = outShape.length;
  const last = outShape[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let pa = 0, pb = 0;
  for (let o = 0; o < n; o += last) {
    binaryRow(op, a, pa, sa[nd - 1], b, pb, sb[nd - 1], out, o, last);
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      pa += sa[d]; pb += sb[d];
      if (idx[d] < outShape[d]) break;
      pa -= sa[d] * outShape[d]; pb -= sb[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

/** One strided row; the common ops get their own loop so the hot path has no indirect call. */
function binaryRow(
  op: BinaryOp | CompareOp, a: AnyArray, pa: number, sa: number, b: AnyArray, pb: number, sb: number,
  out: AnyArray, po: number, n: number,
): void {
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) out[po + i] = a[pa + i * sa] + b[pb + i * sb]; return;
    case 'sub': for (let i = 0; i < n; i++) out[po + i] = a[pa + i * sa] - b[pb + i * sb]; return;
    case 'mul': for (let i = 0; i < n; i++) out[po + i] = a[pa + i * sa] * b[pb + i * sb]; return;
    case 'div': for (let i = 0; i < n; i++) out[po + i] = a[pa + i * sa] / b[pb + i * sb]; return;
    default: {
      const f = binaryFns[op];
      for (let i = 0; i < n; i++) out[po + i] = f(a[pa + i * sa], b[pb + i * sb]);
    }
  }
}

/** out = cond ? a : b, all three broadcast to outShape. */
export function where(
  cond: Uint8Array, cShape: readonly number[], a: AnyArray, aShape: readonly number[],
  b: AnyArray, bShape: readonly number[], outShape: readonly number[], out: AnyArray,
): void {
  const sc = broadcastStrides(cShape, outShape);
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const nd = outShape.length;
  const idx = new Array<number>(nd).fill(0);
  let pc = 0, pa = 0, pb = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = cond[pc] ? a[pa] : b[pb];
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      pc += sc[d]; pa += sa[d]; pb += sb[d];
      if (idx[d] < outShape[d]) break;
      pc -= sc[d] * outShape[d]; pa -= sa[d] * outShape[d]; pb -= sb[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

/** Element-wise cast between buffer kinds. */
export function cast(x: AnyArray, out: AnyArray): void {
  if (out instanceof Uint8Array) for (let i = 0; i < x.length; i++) out[i] = x[i] ? 1 : 0;
  else if (out instanceof Int32Array) for (let i = 0; i < x.length; i++) out[i] = Math.trunc(x[i]);
  else out.set(x);
}

/** This family's kernels, by backend name (spread into jsBackend by index.ts: a new kernel here needs no other edit). */
export const kernels = { unary, unaryBackward, binary, where, cast };
