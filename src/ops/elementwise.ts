import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor, allocFor, isFloat, type DType } from '../tensor/tensor.js';
import { broadcastShapes, numel, sameShape } from '../tensor/shape.js';
import { backend, type BinaryOp, type CompareOp, type UnaryOp, type UnaryParams } from '../backend/backend.js';
import { apply, type Primitive } from './primitive.js';
import { asTensor, boolArg, castRaw, fdata, floatArg, type TensorLike } from './util.js';
import { sumToShape } from './broadcast.js';
import { checkOptions } from '../config.js';

/* ---------- unary primitives: one per op, forward and derivative live in the kernel table ---------- */

function unaryPrim(op: UnaryOp): Primitive<UnaryParams> {
  return {
    name: op,
    forward: ([x], p) => ({ out: new Tensor(backend().unary(op, fdata(x), p), x.shape), saved: undefined }),
    backward: (g, { inputs: [x], out, attrs }) => [
      new Tensor(backend().unaryBackward(op, fdata(x), fdata(out), fdata(g), attrs), x.shape),
    ],
  };
}

const unaryOps = [
  'neg', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'abs', 'sign', 'tanh', 'sigmoid', 'relu', 'leakyRelu',
  'geluErf', 'geluTanh', 'silu', 'elu', 'softplus', 'sin', 'cos', 'powScalar', 'clamp', 'square', 'reciprocal',
] as const satisfies readonly UnaryOp[];

export const unaryPrims = Object.fromEntries(unaryOps.map((op) => [op, unaryPrim(op)])) as { [K in UnaryOp]: Primitive<UnaryParams> };

const P0: UnaryParams = { a: 0, b: 0 };
function un(op: UnaryOp, x: Tensor, fn: string, p: UnaryParams = P0): Tensor {
  floatArg(x, fn, 'x');
  return apply(unaryPrims[op], [x], p);
}

/** −x */ export const neg = (x: Tensor): Tensor => un('neg', x, 'neg');
/** eˣ */ export const exp = (x: Tensor): Tensor => un('exp', x, 'exp');
/** ln x */ export const log = (x: Tensor): Tensor => un('log', x, 'log');
/** ln(1 + x), accurate near 0 */ export const log1p = (x: Tensor): Tensor => un('log1p', x, 'log1p');
/** √x */ export const sqrt = (x: Tensor): Tensor => un('sqrt', x, 'sqrt');
/** 1/√x */ export const rsqrt = (x: Tensor): Tensor => un('rsqrt', x, 'rsqrt');
/** |x| (gradient 0 at 0, like PyTorch) */ export const abs = (x: Tensor): Tensor => un('abs', x, 'abs');
/** −1, 0 or 1 */ export const sign = (x: Tensor): Tensor => un('sign', x, 'sign');
export const tanh = (x: Tensor): Tensor => un('tanh', x, 'tanh');
/** 1 / (1 + e⁻ˣ), stable for large |x| */ export const sigmoid = (x: Tensor): Tensor => un('sigmoid', x, 'sigmoid');
export const relu = (x: Tensor): Tensor => un('relu', x, 'relu');
export const sin = (x: Tensor): Tensor => un('sin', x, 'sin');
export const cos = (x: Tensor): Tensor => un('cos', x, 'cos');
/** x² */ export const square = (x: Tensor): Tensor => un('square', x, 'square');
/** 1/x */ export const reciprocal = (x: Tensor): Tensor => un('reciprocal', x, 'reciprocal');
/** x·sigmoid(x) */ export const silu = (x: Tensor): Tensor => un('silu', x, 'silu');

/** max(x, 0) + slope·min(x, 0) */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return un('leakyRelu', x, 'leakyRelu', { a: negativeSlope, b: 0 });
}
/** x for x > 0, α(eˣ − 1) otherwise */
export function elu(x: Tensor, alpha = 1): Tensor {
  return un('elu', x, 'elu', { a: alpha, b: 0 });
}
/** log(1 + e^{βx})/β, linear where βx > threshold (PyTorch's defaults β = 1, threshold = 20). */
export function softplus(x: Tensor, options: { beta?: number; threshold?: number } = {}): Tensor {
  checkOptions('softplus', options, { beta: true, threshold: true });
  return un('softplus', x, 'softplus', { a: options.beta ?? 1, b: options.threshold ?? 20 });
}
/** GELU: x·Φ(x) (`approximate: 'none'`, default) or its tanh approximation. */
export function gelu(x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  checkOptions('gelu', options, { approximate: true });
  const approx = options.approximate ?? 'none';
  if (approx !== 'none' && approx !== 'tanh') throw new ValueError(`gelu: approximate must be 'none' or 'tanh', got '${String(approx)}'`);
  return un(approx === 'tanh' ? 'geluTanh' : 'geluErf', x, 'gelu');
}
/** Limits x to [min, max]; gradient passes inside the range (bounds included). */
export function clamp(x: Tensor, options: { min?: number; max?: number }): Tensor {
  checkOptions('clamp', options, { min: true, max: true });
  const lo = options.min ?? -Infinity, hi = options.max ?? Infinity;
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) throw new ValueError(`clamp: need min ≤ max, got min=${lo}, max=${hi}`);
  return un('clamp', x, 'clamp', { a: lo, b: hi });
}

/* ---------- binary primitives with broadcasting ---------- */

function binaryForward(op: BinaryOp): Primitive['forward'] {
  return ([a, b]) => {
    const shape = broadcastShapes(a.shape, b.shape, op);
    const out = allocFor(a.dtype, numel(shape));
    backend().binary(op, a.data, a.shape, b.data, b.shape, shape, out);
    return { out: new Tensor(out, shape), saved: undefined };
  };
}

type BinRule = (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor, Tensor];
const binaryRules: { [K in BinaryOp]: BinRule } = {
  add: (g) => [g, g],
  sub: (g) => [g, neg(g)],
  mul: (g, a, b) => [mul(g, b), mul(g, a)],
  div: (g, _a, b, out) => [div(g, b), neg(div(mul(g, out), b))],
  pow: (g, a, b, out) => [
    mul(g, mul(b, pow(a, sub(b, 1)))),
    // d/db aᵇ = aᵇ ln a, taken as 0 where aᵇ = 0 (PyTorch's convention)
    where(eq(out, 0), 0, mul(g, mul(out, log(a)))),
  ],
  maximum: (g, a, b) => tieSplit(g, gt(a, b), gt(b, a)),
  minimum: (g, a, b) => tieSplit(g, lt(a, b), lt(b, a)),
};
// the winner takes the gradient; ties split it evenly, as PyTorch does
function tieSplit(g: Tensor, aWins: Tensor, bWins: Tensor): [Tensor, Tensor] {
  const half = mul(g, 0.5);
  return [where(aWins, g, where(bWins, 0, half)), where(bWins, g, where(aWins, 0, half))];
}

function binaryPrim(op: BinaryOp): Primitive {
  return {
    name: op,
    forward: binaryForward(op),
    backward: (g, { inputs: [a, b], out }) => {
      const [ga, gb] = binaryRules[op](g, a, b, out);
      return [sumToShape(ga, a.shape), sumToShape(gb, b.shape)];
    },
  };
}

export const binaryPrims = {
  add: binaryPrim('add'), sub: binaryPrim('sub'), mul: binaryPrim('mul'), div: binaryPrim('div'),
  pow: binaryPrim('pow'), maximum: binaryPrim('maximum'), minimum: binaryPrim('minimum'),
} satisfies { [K in BinaryOp]: Primitive };

/** Turns numbers into scalars and settles a common dtype (floats must agree; ints and bools join a float operand). */
function operands(a: TensorLike, b: TensorLike, fn: string, intOk: boolean): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new DTypeError(`${fn}: at least one argument must be a Tensor`);
  const ta = typeof a === 'number' ? null : asTensor(a, fn, 'a');
  const tb = typeof b === 'number' ? null : asTensor(b, fn, 'b');
  const dtypes = [ta?.dtype, tb?.dtype].filter((d): d is DType => d !== undefined);
  const floats = dtypes.filter(isFloat);
  if (floats.length === 2 && floats[0] !== floats[1]) throw new DTypeError(`${fn}: dtypes ${floats[0]} and ${floats[1]} differ; cast one with toDtype`);
  const nonInt = (typeof a === 'number' && !Number.isInteger(a)) || (typeof b === 'number' && !Number.isInteger(b));
  const dtype: DType = floats[0] ?? (intOk && !nonInt ? 'int32' : 'float32');
  const conv = (v: TensorLike): Tensor => (typeof v === 'number' ? scalarOf(v, dtype) : castRaw(v, dtype));
  return [conv(a), conv(b)];
}

function scalarOf(v: number, dtype: DType): Tensor {
  const d = allocFor(dtype, 1);
  d[0] = v;
  return new Tensor(d, []);
}

function bin(op: BinaryOp, a: TensorLike, b: TensorLike, intOk: boolean): Tensor {
  const [x, y] = operands(a, b, op, intOk);
  return apply(binaryPrims[op], [x, y], undefined);
}

/** a + b with broadcasting; numbers become scalars. @example add(x, 1) */
export const add = (a: TensorLike, b: TensorLike): Tensor => bin('add', a, b, true);
/** a − b with broadcasting. */
export const sub = (a: TensorLike, b: TensorLike): Tensor => bin('sub', a, b, true);
/** a ⊙ b with broadcasting. */
export const mul = (a: TensorLike, b: TensorLike): Tensor => bin('mul', a, b, true);
/** a / b with broadcasting (always float). */
export const div = (a: TensorLike, b: TensorLike): Tensor => bin('div', a, b, false);
/** Element-wise maximum; ties split the gradient. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => bin('maximum', a, b, true);
/** Element-wise minimum; ties split the gradient. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => bin('minimum', a, b, true);

/** aᵇ; a number exponent uses the cheaper scalar rule. */
export function pow(a: Tensor, b: TensorLike): Tensor {
  if (typeof b === 'number') {
    if (b === 2) return square(a);
    return un('powScalar', a, 'pow', { a: b, b: 0 });
  }
  return bin('pow', a, b, false);
}

/* ---------- comparisons and masks (not differentiable) ---------- */

function compare(op: CompareOp, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands(a, b, op, true);
  const shape = broadcastShapes(x.shape, y.shape, op);
  const out = new Uint8Array(numel(shape));
  backend().binary(op, x.data, x.shape, y.data, y.shape, shape, out);
  return new Tensor(out, shape);
}
export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);

function logical(op: 'and' | 'or', a: Tensor, b: Tensor, fn: string): Tensor {
  boolArg(a, fn, 'a');
  boolArg(b, fn, 'b');
  const shape = broadcastShapes(a.shape, b.shape, fn);
  const out = new Uint8Array(numel(shape));
  backend().binary(op, a.data, a.shape, b.data, b.shape, shape, out);
  return new Tensor(out, shape);
}
/** Mask AND. */ export const logicalAnd = (a: Tensor, b: Tensor): Tensor => logical('and', a, b, 'logicalAnd');
/** Mask OR. */ export const logicalOr = (a: Tensor, b: Tensor): Tensor => logical('or', a, b, 'logicalOr');
/** Mask NOT. */
export function logicalNot(a: Tensor): Tensor {
  boolArg(a, 'logicalNot', 'a');
  const out = new Uint8Array(a.size);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] ? 0 : 1;
  return new Tensor(out, a.shape);
}

/* ---------- where, casts ---------- */

export const wherePrim: Primitive = {
  name: 'where',
  forward: ([c, a, b]) => {
    const shape = broadcastShapes(broadcastShapes(c.shape, a.shape, 'where'), b.shape, 'where');
    const out = allocFor(a.dtype, numel(shape));
    backend().where(c.data as Uint8Array, c.shape, a.data, a.shape, b.data, b.shape, shape, out);
    return { out: new Tensor(out, shape), saved: undefined };
  },
  backward: (g, { inputs: [c, a, b] }) => [
    null,
    sumToShape(where(c, g, 0), a.shape),
    sumToShape(where(c, 0, g), b.shape),
  ],
};

/**
 * cond ? a : b element-wise, broadcasting all three; cond is a bool mask.
 * @example where(mask, scores, -Infinity)
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  boolArg(cond, 'where', 'cond');
  const [x, y] = operands(a, b, 'where', true);
  return apply(wherePrim, [cond, x, y], undefined);
}

/** x with `value` wherever mask is true (the mask broadcasts to x's shape). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  asTensor(x, 'maskedFill', 'x');
  boolArg(mask, 'maskedFill', 'mask');
  if (!sameShape(broadcastShapes(x.shape, mask.shape, 'maskedFill'), x.shape)) {
    throw new ShapeError(`maskedFill: mask of shape ${fmtShape(mask.shape)} must broadcast to x's shape ${fmtShape(x.shape)} without growing it`);
  }
  return where(mask, value, x);
}

export const toDtypePrim: Primitive<{ dtype: DType }> = {
  name: 'toDtype',
  forward: ([x], { dtype }) => ({ out: castRaw(x, dtype), saved: undefined }),
  backward: (g, { inputs: [x] }) => [isFloat(x.dtype) ? castRaw(g, x.dtype) : null],
};

/** A copy in another dtype (float ↔ float keeps the gradient). */
export function toDtype(x: Tensor, dtype: DType): Tensor {
  asTensor(x, 'toDtype', 'x');
  if (x.dtype === dtype) return x;
  return apply(toDtypePrim, [x], { dtype });
}

/** Lower triangle: keeps x[..., i, j] where j ≤ i + diagonal, zero (false) elsewhere; the dtype is kept. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle(x, diagonal, true, 'tril');
}
/** Upper triangle: keeps x[..., i, j] where j ≥ i + diagonal, zero (false) elsewhere; the dtype is kept. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle(x, diagonal, false, 'triu');
}
function triangle(x: Tensor, k: number, lower: boolean, fn: string): Tensor {
  asTensor(x, fn, 'x');
  if (x.ndim < 2) throw new ShapeError(`${fn}: x must have at least 2 dims, got shape [${x.shape}]`);
  const [r, c] = x.shape.slice(-2);
  const m = new Uint8Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) m[i * c + j] = (lower ? j <= i + k : j >= i + k) ? 1 : 0;
  const keep = new Tensor(m, [r, c]);
  // the dtype is kept (as torch): a bool mask's triangle is a bool mask
  return x.dtype === 'bool' ? logicalAnd(x, keep) : where(keep, x, 0);
}

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { ...unaryPrims, ...binaryPrims, where: wherePrim, toDtype: toDtypePrim };
