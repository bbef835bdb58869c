import { ValueError, fmtShape } from '../errors.js';
import { Tensor, allocFor } from '../tensor/tensor.js';
import { normDim, normDims, numel, splitAt } from '../tensor/shape.js';
import { backend, type FloatArray } from '../backend/backend.js';
import { apply, applyWithSaved, type Primitive } from './primitive.js';
import { fdata, floatArg } from './util.js';
import { keepShape, reshape, sumPrim } from './broadcast.js';
import { permute } from './shape.js';
import { mul, sub, square, sqrt } from './elementwise.js';
import { checkOptions } from '../config.js';

/** max or min along one dim; saves the winning indices. */
export const extremePrim: Primitive<{ dim: number; keepDim: boolean; isMax: boolean }, Int32Array> = {
  name: 'extreme',
  forward: ([x], { dim, keepDim, isMax }) => {
    const { outer, n, inner } = splitAt(x.shape, dim);
    const { values, indices } = backend().extremeDim(fdata(x), outer, n, inner, isMax);
    const shape = keepDim ? keepShape(x.shape, [dim]) : x.shape.filter((_, d) => d !== dim);
    return { out: new Tensor(values, shape), saved: indices };
  },
  backward: (g, { inputs: [x], saved, attrs: { dim } }) => {
    const ks = keepShape(x.shape, [dim]);
    const gx = allocFor(g.dtype, x.size);
    backend().scatterAdd(gx, x.shape, dim, saved, ks, g.data, ks);
    return [new Tensor(gx, x.shape)];
  },
};

export const logsumexpPrim: Primitive<{ dim: number; keepDim: boolean }> = {
  name: 'logsumexp',
  forward: ([x], { dim, keepDim }) => {
    const { outer, n, inner } = splitAt(x.shape, dim);
    const out = backend().logsumexpDim(fdata(x), outer, n, inner);
    const shape = keepDim ? keepShape(x.shape, [dim]) : x.shape.filter((_, d) => d !== dim);
    return { out: new Tensor(out, shape), saved: undefined };
  },
  backward: (g, { inputs: [x], out, attrs: { dim } }) => {
    // d lse / dx = softmax(x); a row of -∞ has no gradient
    const { outer, n, inner } = splitAt(x.shape, dim);
    const xd = fdata(x), od = fdata(out), gd = fdata(g);
    const gx = allocFor(g.dtype, x.size) as FloatArray;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const lse = od[o * inner + i];
        if (lse === -Infinity) continue;
        const gv = gd[o * inner + i];
        for (let k = 0; k < n; k++) { const p = (o * n + k) * inner + i; gx[p] = gv * Math.exp(xd[p] - lse); }
      }
    }
    return [new Tensor(gx, x.shape)];
  },
};

export const cumsumPrim: Primitive<{ dim: number }> = {
  name: 'cumsum',
  forward: ([x], { dim }) => {
    const { outer, n, inner } = splitAt(x.shape, dim);
    return { out: new Tensor(backend().cumsumDim(fdata(x), outer, n, inner, false), x.shape), saved: undefined };
  },
  backward: (g, { attrs: { dim } }) => {
    const { outer, n, inner } = splitAt(g.shape, dim);
    return [new Tensor(backend().cumsumDim(fdata(g), outer, n, inner, true), g.shape)];
  },
};

export interface ReduceOptions { keepDim?: boolean }

/**
 * Sum over `dims` (all by default).
 * @example sum(x, -1, { keepDim: true }) // [B, T, 1]
 */
export function sum(x: Tensor, dims?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  checkOptions('sum', options, { keepDim: true });
  floatArg(x, 'sum', 'x');
  const d = normDims(dims, x.ndim, 'sum');
  if (d.length === 0) return x;
  return apply(sumPrim, [x], { dims: d, keepDim: options.keepDim ?? false });
}

/** Mean over `dims` (all by default). */
export function mean(x: Tensor, dims?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  checkOptions('mean', options, { keepDim: true });
  floatArg(x, 'mean', 'x');
  const d = normDims(dims, x.ndim, 'mean');
  const count = d.reduce((a, k) => a * x.shape[k], 1);
  if (count === 0) throw new ValueError(`mean: reducing dims [${d.join(',')}] of ${fmtShape(x.shape)} covers no elements`);
  return mul(sum(x, d, options), 1 / count);
}

export interface VarOptions extends ReduceOptions {
  /** Subtracted from the count in the divisor: 1 = unbiased (PyTorch's default), 0 = population. */
  correction?: number;
}

/** Variance over `dims` (all by default), unbiased by default. */
export function variance(x: Tensor, dims?: number | readonly number[], options: VarOptions = {}): Tensor {
  checkOptions('var', options, { keepDim: true, correction: true });
  floatArg(x, 'var', 'x');
  const d = normDims(dims, x.ndim, 'var');
  const count = d.reduce((a, k) => a * x.shape[k], 1);
  const denom = count - (options.correction ?? 1);
  if (denom <= 0) throw new ValueError(`var: ${count} element(s) with correction ${options.correction ?? 1} leave no degrees of freedom`);
  const mu = mean(x, d, { keepDim: true });
  return mul(sum(square(sub(x, mu)), d, { keepDim: options.keepDim }), 1 / denom);
}
/** Standard deviation: sqrt(var). */
export function std(x: Tensor, dims?: number | readonly number[], options: VarOptions = {}): Tensor {
  checkOptions('std', options, { keepDim: true, correction: true });
  return sqrt(variance(x, dims, options));
}


/** Moves `dims` to the end and merges them, so one-dim kernels can reduce several dims. */
function mergeTrailing(x: Tensor, dims: number[]): Tensor {
  const rest = Array.from({ length: x.ndim }, (_, i) => i).filter((d) => !dims.includes(d));
  const moved = permute(x, [...rest, ...dims]);
  return reshape(moved, [...rest.map((d) => x.shape[d]), numel(dims.map((d) => x.shape[d]))]);
}

function extremeMany(x: Tensor, dims: number | readonly number[] | undefined, keepDim: boolean, isMax: boolean, fn: string): Tensor {
  floatArg(x, fn, 'x');
  const d = normDims(dims, x.ndim, fn);
  if (d.some((k) => x.shape[k] === 0)) throw new ValueError(`${fn}: cannot reduce an empty dim of ${fmtShape(x.shape)}`);
  if (d.length === 0) return x;
  const merged = mergeTrailing(x, d);
  const r = apply(extremePrim, [merged], { dim: merged.ndim - 1, keepDim: false, isMax });
  return reshape(r, keepDim ? keepShape(x.shape, d) : x.shape.filter((_, k) => !d.includes(k)));
}

/** Largest value over `dims` (all by default). Ties send the gradient to the first maximum. */
export function amax(x: Tensor, dims?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  checkOptions('amax', options, { keepDim: true });
  return extremeMany(x, dims, options.keepDim ?? false, true, 'amax');
}
/** Smallest value over `dims` (all by default). */
export function amin(x: Tensor, dims?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  checkOptions('amin', options, { keepDim: true });
  return extremeMany(x, dims, options.keepDim ?? false, false, 'amin');
}

/** Values and int32 indices of the maxima along `dim` (torch.max(x, dim)). */
export function max(x: Tensor, dim: number, options: ReduceOptions = {}): { values: Tensor; indices: Tensor } {
  checkOptions('max', options, { keepDim: true });
  return extremeDim(x, dim, options, true, 'max');
}
/** Values and int32 indices of the minima along `dim`. */
export function min(x: Tensor, dim: number, options: ReduceOptions = {}): { values: Tensor; indices: Tensor } {
  checkOptions('min', options, { keepDim: true });
  return extremeDim(x, dim, options, false, 'min');
}

function extremeDim(x: Tensor, dim: number, options: ReduceOptions, isMax: boolean, fn: string): { values: Tensor; indices: Tensor } {
  floatArg(x, fn, 'x');
  const d = normDim(dim, x.ndim, fn);
  if (x.ndim > 0 && x.shape[d] === 0) throw new ValueError(`${fn}: cannot reduce empty dim ${d} of ${fmtShape(x.shape)}`);
  const keepDim = options.keepDim ?? false;
  const xx = x.ndim === 0 ? reshape(x, [1]) : x;
  const { out, saved } = applyWithSaved(extremePrim, [xx], { dim: d, keepDim, isMax });
  const values = x.ndim === 0 ? reshape(out, []) : out;
  return { values, indices: new Tensor(saved, values.shape) };
}

/** Index of the maximum along `dim` (of the flattened tensor when omitted), int32. */
export function argmax(x: Tensor, dim?: number, options: ReduceOptions = {}): Tensor {
  checkOptions('argmax', options, { keepDim: true });
  if (dim === undefined) return max(reshape(x, [-1]), 0).indices;
  return max(x, dim, options).indices;
}
/** Index of the minimum along `dim` (of the flattened tensor when omitted), int32. */
export function argmin(x: Tensor, dim?: number, options: ReduceOptions = {}): Tensor {
  checkOptions('argmin', options, { keepDim: true });
  if (dim === undefined) return min(reshape(x, [-1]), 0).indices;
  return min(x, dim, options).indices;
}

/** log Σ exp(x) over `dims`, stable; rows of only -∞ give -∞ (not NaN). */
export function logsumexp(x: Tensor, dims: number | readonly number[], options: ReduceOptions = {}): Tensor {
  checkOptions('logsumexp', options, { keepDim: true });
  floatArg(x, 'logsumexp', 'x');
  const d = normDims(dims, x.ndim, 'logsumexp');
  const keepDim = options.keepDim ?? false;
  if (d.length === 1) return apply(logsumexpPrim, [x], { dim: d[0], keepDim });
  const merged = mergeTrailing(x, d);
  const r = apply(logsumexpPrim, [merged], { dim: merged.ndim - 1, keepDim: false });
  return reshape(r, keepDim ? keepShape(x.shape, d) : x.shape.filter((_, k) => !d.includes(k)));
}

/** Running sum along `dim`. */
export function cumsum(x: Tensor, dim: number): Tensor {
  floatArg(x, 'cumsum', 'x');
  return apply(cumsumPrim, [x], { dim: normDim(dim, x.ndim, 'cumsum') });
}

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { extreme: extremePrim, logsumexp: logsumexpPrim, cumsum: cumsumPrim };
