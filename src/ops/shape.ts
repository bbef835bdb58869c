import { DTypeError, IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor, allocFor } from '../tensor/tensor.js';
import { normDim, numel, sameShape, splitAt, type Shape } from '../tensor/shape.js';
import { backend } from '../backend/backend.js';
import { contiguousStrides } from '../backend/buffers.js';
import { apply, type Primitive } from './primitive.js';
import { asTensor, intArg } from './util.js';
import { expand, reshape } from './broadcast.js';

// reshape and expand are defined with their adjoint, sum, in broadcast.ts; they are shape ops too.
export { expand, reshape };

/* ---------- primitives ---------- */

export const permutePrim: Primitive<{ dims: number[] }> = {
  name: 'permute',
  forward: ([x], { dims }) => {
    const st = contiguousStrides(x.shape);
    const shape = dims.map((d) => x.shape[d]);
    const out = allocFor(x.dtype, x.size);
    backend().stridedCopy(x.data, 0, dims.map((d) => st[d]), shape, out);
    return { out: new Tensor(out, shape), saved: undefined };
  },
  backward: (g, { attrs: { dims } }) => {
    const inv = new Array<number>(dims.length);
    dims.forEach((d, i) => { inv[d] = i; });
    return [permute(g, inv)];
  },
};

/** A strided window: per dim a start, a (possibly negative) step and a length. Serves slice and flip. */
export interface StridedAttrs { starts: number[]; steps: number[]; sizes: number[] }

function stridedLayout(shape: Shape, a: StridedAttrs): { offset: number; strides: number[] } {
  const st = contiguousStrides(shape);
  let offset = 0;
  for (let d = 0; d < shape.length; d++) offset += a.starts[d] * st[d];
  return { offset, strides: st.map((s, d) => s * a.steps[d]) };
}

export const stridedPrim: Primitive<StridedAttrs> = {
  name: 'strided',
  forward: ([x], a) => {
    const { offset, strides } = stridedLayout(x.shape, a);
    const out = allocFor(x.dtype, numel(a.sizes));
    if (out.length > 0) backend().stridedCopy(x.data, offset, strides, a.sizes, out);
    return { out: new Tensor(out, a.sizes), saved: undefined };
  },
  backward: (g, { inputs: [x], attrs }) => {
    const { offset, strides } = stridedLayout(x.shape, attrs);
    const gx = allocFor(g.dtype, x.size);
    if (g.size > 0) backend().stridedScatter(gx, offset, strides, attrs.sizes, g.data, false);
    return [new Tensor(gx, x.shape)];
  },
};

export const padPrim: Primitive<{ before: number[]; after: number[]; value: number }> = {
  name: 'pad',
  forward: ([x], { before, after, value }) => {
    const shape = x.shape.map((s, d) => s + before[d] + after[d]);
    const out = allocFor(x.dtype, numel(shape));
    out.fill(value);
    const st = contiguousStrides(shape);
    const offset = before.reduce((acc, b, d) => acc + b * st[d], 0);
    if (x.size > 0) backend().stridedScatter(out, offset, st, x.shape, x.data, true);
    return { out: new Tensor(out, shape), saved: undefined };
  },
  backward: (g, { inputs: [x], attrs: { before } }) => [
    apply(stridedPrim, [g], { starts: before, steps: x.shape.map(() => 1), sizes: [...x.shape] }),
  ],
};

export const clonePrim: Primitive<Record<string, never>> = {
  name: 'clone',
  forward: ([x]) => {
    const out = allocFor(x.dtype, x.size);
    out.set(x.data);
    return { out: new Tensor(out, x.shape), saved: undefined };
  },
  backward: (g) => [g],
};

export const concatPrim: Primitive<{ dim: number }> = {
  name: 'concat',
  forward: (xs, { dim }) => {
    const shape = [...xs[0].shape];
    shape[dim] = xs.reduce((s, t) => s + t.shape[dim], 0);
    const out = allocFor(xs[0].dtype, numel(shape));
    const st = contiguousStrides(shape);
    let at = 0;
    for (const t of xs) {
      if (t.size > 0) backend().stridedScatter(out, at * st[dim], st, t.shape, t.data, true);
      at += t.shape[dim];
    }
    return { out: new Tensor(out, shape), saved: undefined };
  },
  backward: (g, { inputs, attrs: { dim } }) => {
    let at = 0;
    return inputs.map((t) => {
      const r = narrow(g, dim, at, t.shape[dim]);
      at += t.shape[dim];
      return r;
    });
  },
};

export const indexSelectPrim: Primitive<{ dim: number }> = {
  name: 'indexSelect',
  forward: ([x, idx], { dim }) => {
    const { outer, n, inner } = splitAt(x.shape, dim);
    const shape = [...x.shape];
    shape[dim] = idx.size;
    const out = allocFor(x.dtype, numel(shape));
    backend().indexSelect(x.data, outer, n, inner, idx.data as Int32Array, out);
    return { out: new Tensor(out, shape), saved: undefined };
  },
  backward: (g, { inputs: [x, idx], attrs: { dim } }) => {
    const { outer, n, inner } = splitAt(x.shape, dim);
    const gx = allocFor(g.dtype, x.size);
    backend().indexAdd(g.data, outer, n, inner, idx.data as Int32Array, gx);
    return [new Tensor(gx, x.shape), null];
  },
};

export const gatherPrim: Primitive<{ dim: number }> = {
  name: 'gather',
  forward: ([x, idx], { dim }) => {
    const out = allocFor(x.dtype, idx.size);
    backend().gather(x.data, x.shape, dim, idx.data as Int32Array, idx.shape, out);
    return { out: new Tensor(out, idx.shape), saved: undefined };
  },
  backward: (g, { inputs: [x, idx], attrs: { dim } }) => {
    const gx = allocFor(g.dtype, x.size);
    backend().scatterAdd(gx, x.shape, dim, idx.data as Int32Array, idx.shape, g.data, g.shape);
    return [new Tensor(gx, x.shape), null];
  },
};

export const scatterAddPrim: Primitive<{ dim: number }> = {
  name: 'scatterAdd',
  forward: ([x, idx, src], { dim }) => {
    const out = x.data.slice();
    backend().scatterAdd(out, x.shape, dim, idx.data as Int32Array, idx.shape, src.data, src.shape);
    return { out: new Tensor(out, x.shape), saved: undefined };
  },
  backward: (g, { inputs: [, idx, src], attrs: { dim } }) => {
    const gsIdx = allocFor(g.dtype, idx.size);
    backend().gather(g.data, g.shape, dim, idx.data as Int32Array, idx.shape, gsIdx);
    // src may be larger than index: its positions outside the index's extent get zero gradient
    let gs = new Tensor(gsIdx, idx.shape);
    if (!sameShape(src.shape, idx.shape)) {
      const full = allocFor(g.dtype, src.size);
      backend().stridedScatter(full, 0, contiguousStrides(src.shape), idx.shape, gsIdx, true);
      gs = new Tensor(full, src.shape);
    }
    return [g, null, gs];
  },
};

/* ---------- public functions ---------- */

/** Alias of reshape (tensors are always contiguous). */
export const view = reshape;

/** Flattens dims startDim…endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const a = normDim(startDim, x.ndim, 'flatten', 'startDim'), b = normDim(endDim, x.ndim, 'flatten', 'endDim');
  if (a > b) throw new IndexError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, a), numel(x.shape.slice(a, b + 1)), ...x.shape.slice(b + 1)]);
}

/** Reorders dims: out.shape[i] = x.shape[dims[i]]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  asTensor(x, 'permute', 'x');
  if (dims.length !== x.ndim) throw new ShapeError(`permute: dims [${dims.join(',')}] must list all ${x.ndim} dims of ${fmtShape(x.shape)}`);
  const d = dims.map((v) => normDim(v, x.ndim, 'permute', 'dims'));
  if (new Set(d).size !== d.length) throw new IndexError(`permute: dims [${dims.join(',')}] repeat a dimension`);
  if (d.every((v, i) => v === i)) return x;
  return apply(permutePrim, [x], { dims: d });
}

/** Swaps two dims. */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normDim(dim0, x.ndim, 'transpose', 'dim0'), b = normDim(dim1, x.ndim, 'transpose', 'dim1');
  const dims = Array.from({ length: x.ndim }, (_, i) => i);
  dims[a] = b; dims[b] = a;
  return permute(x, dims);
}

export const broadcastTo = expand;

/** Removes size-1 dims (all, or the given one). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((s) => s !== 1));
  const d = normDim(dim, x.ndim, 'squeeze');
  if (x.shape[d] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== d));
}

/** Inserts a size-1 dim at `dim` (−1 appends). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim + 1, 'unsqueeze');
  const s = [...x.shape];
  s.splice(d, 0, 1);
  return reshape(x, s);
}

/**
 * A copy of x with its own data, recorded (its gradient is the incoming one), as `torch.clone`.
 * `tensor(typedArray)` wraps the array it is given; a clone lives where the active backend keeps
 * tensors: on the wasm backend's threaded build, in wasm memory, where kernels use it without
 * copying it in on every call.
 * @example
 * const x = clone(tensor(data, { shape: [8, 512, 64] }));   // x no longer shares `data`
 */
export function clone(x: Tensor): Tensor {
  return apply(clonePrim, [asTensor(x, 'clone', 'x')], {});
}

/** Joins tensors along an existing dim. */
export function concat(xs: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ValueError('concat: needs a non-empty array of tensors');
  xs.forEach((t, i) => asTensor(t, 'concat', `xs[${i}]`));
  const d = normDim(dim, xs[0].ndim, 'concat');
  for (let i = 1; i < xs.length; i++) {
    const t: Tensor = xs[i];
    if (t.dtype !== xs[0].dtype) throw new DTypeError(`concat: xs[${i}] has dtype ${t.dtype}, xs[0] has ${xs[0].dtype}`);
    if (t.ndim !== xs[0].ndim || t.shape.some((s, k) => k !== d && s !== xs[0].shape[k])) {
      throw new ShapeError(`concat: xs[${i}] has shape ${fmtShape(t.shape)}, incompatible with xs[0] ${fmtShape(xs[0].shape)} along dim ${d}`);
    }
  }
  if (xs.length === 1) return xs[0];
  return apply(concatPrim, xs, { dim: d });
}
export const cat = concat;

/** Joins same-shaped tensors along a new dim. */
export function stack(xs: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ValueError('stack: needs a non-empty array of tensors');
  const d = normDim(dim, xs[0].ndim + 1, 'stack');
  xs.forEach((t, i) => {
    if (!sameShape(asTensor(t, 'stack', `xs[${i}]`).shape, xs[0].shape)) throw new ShapeError(`stack: xs[${i}] has shape ${fmtShape(t.shape)}, xs[0] has ${fmtShape(xs[0].shape)}`);
  });
  return concat(xs.map((t) => unsqueeze(t, d)), d);
}

/**
 * Elements start, start+step, … < end along `dim` (negative start/end count from the end; step ≥ 1).
 * @example slice(x, -1, 0, 4) // the first four along the last dim
 */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  asTensor(x, 'slice', 'x');
  const d = normDim(dim, x.ndim, 'slice');
  const n = x.shape[d];
  if (!Number.isInteger(step) || step < 1) throw new ValueError(`slice: step must be a positive integer, got ${step}`);
  const clampIdx = (v: number): number => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = clampIdx(start), e = clampIdx(end ?? n);
  const len = Math.max(0, Math.ceil((e - s) / step));
  if (s === 0 && len === n && step === 1) return x;
  const starts = x.shape.map(() => 0), steps = x.shape.map(() => 1), sizes = [...x.shape];
  starts[d] = s; steps[d] = step; sizes[d] = len;
  return apply(stridedPrim, [x], { starts, steps, sizes });
}

/** `length` elements from `start` along `dim`; errors when the range leaves the tensor. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim(dim, x.ndim, 'narrow');
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
    throw new IndexError(`narrow: range start=${start}, length=${length} leaves dim ${d} of size ${n} (shape ${fmtShape(x.shape)})`);
  }
  return slice(x, d, s, s + length);
}

/** Splits into pieces of `size` along `dim` (last may be smaller), or into the listed sizes. */
export function split(x: Tensor, size: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim(dim, x.ndim, 'split');
  const n = x.shape[d];
  let sizes: number[];
  if (typeof size === 'number') {
    if (!Number.isInteger(size) || size < 1) throw new ValueError(`split: size must be a positive integer, got ${size}`);
    sizes = [];
    for (let at = 0; at < n; at += size) sizes.push(Math.min(size, n - at));
  } else {
    sizes = [...size];
    if (sizes.reduce((a, b) => a + b, 0) !== n) throw new ShapeError(`split: sizes [${sizes.join(',')}] do not sum to dim ${d} of size ${n}`);
  }
  let at = 0;
  return sizes.map((s) => { const r = narrow(x, d, at, s); at += s; return r; });
}

/** Splits into `chunks` nearly equal pieces along `dim` (PyTorch's rule: ceil(n / chunks) each). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks < 1) throw new ValueError(`chunk: chunks must be a positive integer, got ${chunks}`);
  const d = normDim(dim, x.ndim, 'chunk');
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}

/** Reverses the order along the given dims. */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  const list = (typeof dims === 'number' ? [dims] : dims).map((v) => normDim(v, x.ndim, 'flip', 'dims'));
  const starts = x.shape.map(() => 0), steps = x.shape.map(() => 1);
  for (const d of list) { starts[d] = x.shape[d] - 1; steps[d] = -1; }
  if (list.length === 0 || x.size === 0) return x;
  return apply(stridedPrim, [x], { starts, steps, sizes: [...x.shape] });
}

/**
 * Constant padding, PyTorch's order: [lastBefore, lastAfter, secondLastBefore, …].
 * @example pad(x, [1, 1]) // one zero each side of the last dim
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  asTensor(x, 'pad', 'x');
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) throw new ShapeError(`pad: pads [${pads.join(',')}] must hold pairs for at most ${x.ndim} dims`);
  const before = x.shape.map(() => 0), after = x.shape.map(() => 0);
  for (let i = 0; i < pads.length / 2; i++) {
    const d = x.ndim - 1 - i;
    const [b, a] = [pads[2 * i], pads[2 * i + 1]];
    if (!Number.isInteger(b) || !Number.isInteger(a) || b < 0 || a < 0) throw new ValueError(`pad: pads [${pads.join(',')}] must be non-negative integers`);
    before[d] = b; after[d] = a;
  }
  if (before.every((v) => v === 0) && after.every((v) => v === 0)) return x;
  return apply(padPrim, [x], { before, after, value });
}

function checkIndexRange(idx: Tensor, size: number, fn: string, dim: number, xShape: Shape): void {
  const d = idx.data;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0 || d[i] >= size) throw new IndexError(`${fn}: index ${d[i]} is out of range for dim ${dim} of size ${size} (input shape ${fmtShape(xShape)})`);
  }
}

/** Picks entries `index` (1-D int32) along `dim`. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  asTensor(x, 'indexSelect', 'x');
  intArg(index, 'indexSelect', 'index');
  if (index.ndim !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got shape ${fmtShape(index.shape)}`);
  const d = normDim(dim, x.ndim, 'indexSelect');
  checkIndexRange(index, x.shape[d], 'indexSelect', d, x.shape);
  return apply(indexSelectPrim, [x, index], { dim: d });
}

function checkGatherShapes(fn: string, x: Tensor, dim: number, index: Tensor): number {
  intArg(index, fn, 'index');
  const d = normDim(dim, x.ndim, fn);
  if (index.ndim !== x.ndim || index.shape.some((s, k) => k !== d && s > x.shape[k])) {
    throw new ShapeError(`${fn}: index shape ${fmtShape(index.shape)} must have ${x.ndim} dims, each no larger than ${fmtShape(x.shape)} outside dim ${d}`);
  }
  checkIndexRange(index, x.shape[d], fn, d, x.shape);
  return d;
}

/** out[i][j] = x[index[i][j]][j] (dim 0) and so on, as torch.gather. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  asTensor(x, 'gather', 'x');
  const d = checkGatherShapes('gather', x, dim, index);
  return apply(gatherPrim, [x, index], { dim: d });
}

/** A copy of x with src added at `index` along `dim`, as torch.scatter_add. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  asTensor(x, 'scatterAdd', 'x');
  asTensor(src, 'scatterAdd', 'src');
  const d = checkGatherShapes('scatterAdd', x, dim, index);
  if (src.dtype !== x.dtype) throw new ShapeError(`scatterAdd: src dtype ${src.dtype} differs from x dtype ${x.dtype}`);
  if (src.ndim !== index.ndim || index.shape.some((s, k) => s > src.shape[k])) {
    throw new ShapeError(`scatterAdd: index shape ${fmtShape(index.shape)} must fit inside src shape ${fmtShape(src.shape)}`);
  }
  return apply(scatterAddPrim, [x, index, src], { dim: d });
}

/** This family's primitives, by registry name (collected by registry.ts: a new primitive here needs no other edit). */
export const prims = { permute: permutePrim, strided: stridedPrim, pad: padPrim, clone: clonePrim, concat: concatPrim, indexSelect: indexSelectPrim, gather: gatherPrim, scatterAdd: scatterAddPrim };
