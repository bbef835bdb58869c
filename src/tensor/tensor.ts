import type { AnyArray } from '../backend/buffers.js';
import { DTypeError, ValueError, fmtShape } from '../errors.js';
import { numel, type Shape } from './shape.js';
import { adopt, release, takeOf } from '../backend/pool.js';

/** Element types: float32 for values (float64 for gradchecks), int32 for indices, bool (uint8) for masks. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export type ArrayFor<D extends DType> = D extends 'float32' ? Float32Array
  : D extends 'float64' ? Float64Array : D extends 'int32' ? Int32Array : Uint8Array;

/** A recorded operation on the autograd tape: how to map the output's gradient to its inputs'. */
export interface TapeNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  backward(grad: Tensor): readonly (Tensor | null)[];
  /** Frees what the node holds for backward (its pins on the buffer pool, its saved values); a later backward through it throws. */
  release?(): void;
}

/** A zeroed array for `n` elements of `dtype` (from the buffer pool when it holds one: backend/pool.ts). */
export function allocFor(dtype: DType, n: number): AnyArray {
  switch (dtype) {
    case 'float32': return takeOf(Float32Array, n);
    case 'float64': return takeOf(Float64Array, n);
    case 'int32': return takeOf(Int32Array, n);
    case 'bool': return takeOf(Uint8Array, n);
  }
}

export function dtypeOf(data: AnyArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

type Nested = number | boolean | Nested[];

function disposedError(t: Tensor, what: string): never {
  throw new ValueError(`Tensor.${what}: the tensor (shape ${fmtShape(t.shape)}, ${t.dtype}) was disposed; it cannot be used after dispose()`);
}

/**
 * An n-dimensional array: contiguous, row-major, immutable in shape.
 * Operations are free functions (`add(a, b)`, `matmul(q, k)`), which record
 * themselves on the autograd tape when an input has `requiresGrad`.
 */
export class Tensor {
  #data: AnyArray | null;
  readonly #size: number;
  readonly shape: Shape;
  readonly dtype: DType;
  /** Whether gradients flow to (leaf) or through (interior) this tensor. */
  requiresGrad = false;
  /** Keep `.grad` on this intermediate tensor too (set by `retainGrad()`; leaves always keep it). */
  retainsGrad = false;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** The operation that produced this tensor, when recorded on the tape. */
  gradFn: TapeNode | null = null;

  constructor(data: AnyArray, shape: Shape) {
    if (data.length !== numel(shape)) {
      throw new ValueError(`Tensor: data holds ${data.length} elements but shape ${fmtShape(shape)} needs ${numel(shape)}`);
    }
    this.#data = data;
    this.#size = data.length;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtypeOf(data);
    adopt(data);
  }

  /** The elements, row-major. Throws once the tensor is disposed. */
  get data(): AnyArray {
    return this.#data ?? disposedError(this, 'data');
  }

  /** Whether `dispose()` was called. */
  get isDisposed(): boolean {
    return this.#data === null;
  }

  /**
   * Gives this tensor's memory back for reuse, as tfjs's `dispose` and jax-js's consuming ops do;
   * any later use of the tensor throws a `ValueError`. Optional: an undisposed tensor is freed by
   * the garbage collector as before. Disposing pays where memory is slow to come by (the browser,
   * and wasm in general): the next array of the same dtype and length reuses this one's memory,
   * already touched, instead of faulting in fresh pages, which on some machines costs more than
   * the kernel that fills them (docs/backends.md, *Memory*).
   *
   * Safe by construction: the memory is reused only when every tensor over the same array (views
   * from `reshape`, `detach`…) has been disposed, and not while a node of the autograd tape may read
   * it (an op's output that gradients flow through, or an input of such an op) until `backward()`
   * has run through that node. Arrays you took from `.data` or `float32()` before disposing are
   * that memory: copy what you keep (`Float32Array.from(t.data)`). Disposing twice is a no-op.
   *
   * @example
   * const y = noGrad(() => model.forward(x)).output;
   * const probs = Float32Array.from(y.data);
   * y.dispose();
   */
  dispose(): void {
    const d = this.#data;
    if (d === null) return;
    this.#data = null;
    release(d);
  }

  get ndim(): number { return this.shape.length; }
  get size(): number { return this.#size; }
  /** True for tensors not produced by a recorded op (parameters, inputs). */
  get isLeaf(): boolean { return this.gradFn === null; }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new ValueError(`Tensor.item: tensor has ${this.data.length} elements (shape ${fmtShape(this.shape)}), expected 1`);
    return this.data[0];
  }

  /** Float data (copied into float32 when needed). */
  float32(): Float32Array {
    if (this.data instanceof Float32Array) return this.data;
    return Float32Array.from(this.data);
  }

  /** Nested JS arrays; bool tensors give booleans. */
  toArray(): Nested {
    const d = this.data;
    const bool = this.dtype === 'bool';
    const build = (dim: number, off: number): Nested => {
      if (dim === this.shape.length) return bool ? d[off] !== 0 : d[off];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** Marks this tensor as a leaf that accumulates gradients; returns itself. */
  /** Asks backward to store this non-leaf tensor's gradient in `.grad` (e.g. attention weights, for attributions). */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  requireGrad(flag = true): this {
    if (flag && !isFloat(this.dtype)) throw new DTypeError(`Tensor.requireGrad: only float tensors can require gradients, got ${this.dtype}`);
    this.requiresGrad = flag;
    return this;
  }

  toString(): string {
    if (this.isDisposed) return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, disposed)`;
    const head = Array.from(this.data.slice(0, 6)).map((v) => +v.toPrecision(4)).join(', ');
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''}) [${head}${this.size > 6 ? ', …' : ''}]`;
  }
}
