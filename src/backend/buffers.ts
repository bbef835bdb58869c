/**
 * The raw buffers kernels compute on and their row-major layout: shared by every backend
 * implementation and by the ops above, which reach kernels only through backend.ts.
 * Knows nothing of Tensor.
 */
import { takeLike } from './pool.js';

/** Float kernels accept either float width. */
export type FloatArray = Float32Array | Float64Array;
export type AnyArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A zeroed array of the same kind as `like` (from the buffer pool when it holds one: pool.ts). */
export function allocLike<T extends AnyArray>(like: T, n: number): T {
  return takeLike(like, n);
}

/** Row-major contiguous strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}
