/**
 * Broadcasting and its adjoint: reshape, expand and sum. Their gradient rules are each other
 * (expand's backward sums to the input's shape, sum's backward expands), so they live together
 * and the modules that build on them (elementwise, shape, reduce, linalg) import them one way.
 */
import { ShapeError, fmtShape } from '../errors.js';
import { Tensor, allocFor } from '../tensor/tensor.js';
import { numel, sameShape, splitAt, type Shape } from '../tensor/shape.js';
import { backend } from '../backend/backend.js';
import { contiguousStrides } from '../backend/buffers.js';
import { apply, type Primitive } from './primitive.js';
import { asTensor, fdata } from './util.js';

/** `shape` with each of `dims` set to 1 (the shape a keepDim reduction returns). */
export function keepShape(shape: Shape, dims: readonly number[]): number[] {
  return shape.map((s, d) => (dims.includes(d) ? 1 : s));
}

/* ---------- primitives ---------- */

export const reshapePrim: Primitive<{ shape: number[] }> = {
  name: 'reshape',
  forward: ([x], { shape }) => ({ out: new Tensor(x.data, shape), saved: undefined }),
  backward: (g, { inputs: [x] }) => [reshape(g, x.shape)],
};

export const expandPrim: Primitive<{ shape: number[] }> = {
  name: 'expand',
  forward: ([x], { shape }) => {
    const st = contiguousStrides(x.shape);
    const off = shape.length - x.ndim;
    const strides = shape.map((_, d) => (d < off || x.shape[d - off] === 1 ? 0 : st[d - off]));
    const out = allocFor(x.dtype, numel(shape));
    backend().stridedCopy(x.data, 0, strides, shape, out);
    return { out: new Tensor(out, shape), saved: undefined };
  },
  backward: (g, { inputs: [x] }) => [sumToShape(g, x.shape)],
};

export const sumPrim: Primitive<{ dims: number[]; keepDim: boolean }> = {
  name: 'sum',
  forward: ([x], { dims, keepDim }) => {
    let data = fdata(x);
    let shape = [...x.shape];
    for (let i = dims.length - 1; i >= 0; i--) {
      const { outer, n, inner } = splitAt(shape, dims[i]);
      data = backend().sumDim(data, outer, n, inner);
      shape[dims[i]] = 1;
    }
    if (!keepDim) shape = shape.filter((_, d) => !dims.includes(d));
    return { out: new Tensor(data, shape), saved: undefined };
  },
  backward: (g, { inputs: [x], attrs: { dims } }) => [expand(reshape(g, keepShape(x.shape, dims)), x.shape)],
};

/* ---------- public functions ---------- */

/**
 * Same data, new shape (one dim may be -1). Shares the buffer: tensors are contiguous.
 * @example reshape(x, [2, -1])
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  asTensor(x, 'reshape', 'x');
  const s = [...shape];
  const neg = s.filter((v) => v === -1).length;
  if (neg > 1 || s.some((v) => !Number.isInteger(v) || v < -1)) {
    throw new ShapeError(`reshape: shape ${fmtShape(shape)} may hold at most one -1 and otherwise non-negative integers`);
  }
  if (neg === 1) {
    const known = s.reduce((a, v) => (v === -1 ? a : a * v), 1);
    const i = s.indexOf(-1);
    if (known === 0 || x.size % known !== 0) throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
    s[i] = x.size / known;
  }
  if (numel(s) !== x.size) throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  if (sameShape(s, x.shape)) return x;
  return apply(reshapePrim, [x], { shape: s });
}

/** Broadcasts to `shape` (-1 keeps a dim), materialising the copy. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  asTensor(x, 'expand', 'x');
  if (shape.length < x.ndim) throw new ShapeError(`expand: target ${fmtShape(shape)} has fewer dims than ${fmtShape(x.shape)}`);
  const off = shape.length - x.ndim;
  const s = shape.map((v, d) => {
    const own = d >= off ? x.shape[d - off] : undefined;
    const want = v === -1 && own !== undefined ? own : v;
    if (!Number.isInteger(want) || want < 0 || (own !== undefined && own !== 1 && own !== want)) {
      throw new ShapeError(`expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)} (dim ${d})`);
    }
    return want;
  });
  if (sameShape(s, x.shape)) return x;
  return apply(expandPrim, [x], { shape: s });
}

/** Sums a broadcast gradient back to `shape` (the adjoint of broadcasting). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let d = 0; d < g.ndim; d++) if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) dims.push(d);
  const s = dims.length > 0 ? apply(sumPrim, [g], { dims, keepDim: true }) : g;
  return reshape(s, shape);
}

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { sum: sumPrim, reshape: reshapePrim, expand: expandPrim };
