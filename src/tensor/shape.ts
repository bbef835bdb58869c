import { IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';

export type Shape = readonly number[];

/** Number of elements of a shape. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Validates a shape given by a user: non-negative integers only. */
export function checkShape(shape: Shape, fn: string, arg = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new ValueError(`${fn}: ${arg} must be an array of sizes, got ${String(shape)}`);
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) {
      throw new ValueError(`${fn}: ${arg} ${fmtShape(shape)} must hold non-negative integers, got ${s}`);
    }
  }
  return [...shape];
}

/** Normalises a possibly negative dim into [0, ndim). */
export function normDim(dim: number, ndim: number, fn: string, arg = 'dim'): number {
  if (!Number.isInteger(dim) || dim < -Math.max(ndim, 1) || dim >= Math.max(ndim, 1)) {
    throw new IndexError(`${fn}: ${arg}=${dim} is out of range for a tensor with ${ndim} dims (expected ${-Math.max(ndim, 1)} … ${Math.max(ndim, 1) - 1})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** Normalises a list of dims (undefined = all), sorted and without repeats. */
export function normDims(dims: number | readonly number[] | undefined, ndim: number, fn: string): number[] {
  if (dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normDim(d, ndim, fn));
  if (new Set(out).size !== out.length) throw new IndexError(`${fn}: dims [${list.join(',')}] repeat a dimension`);
  return out.sort((a, b) => a - b);
}

/** NumPy/PyTorch broadcasting of two shapes. */
export function broadcastShapes(a: Shape, b: Shape, fn: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new ShapeError(`${fn}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dim ${i - n}: ${x} vs ${y})`);
    }
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Splits a shape around `dim` into the [outer, n, inner] view the dimension kernels use. */
export function splitAt(shape: Shape, dim: number): { outer: number; n: number; inner: number } {
  let outer = 1, inner = 1;
  for (let i = 0; i < dim; i++) outer *= shape[i];
  for (let i = dim + 1; i < shape.length; i++) inner *= shape[i];
  return { outer, n: shape.length === 0 ? 1 : shape[dim], inner };
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
