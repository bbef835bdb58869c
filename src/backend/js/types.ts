/** Raw buffers the kernels compute on. Float kernels accept either float width. */
export type FloatArray = Float32Array | Float64Array;
export type AnyArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Allocates a zeroed array of the same kind as `like`. */
export function allocLike<T extends AnyArray>(like: T, n: number): T {
  return new (like.constructor as new (n: number) => T)(n);
}
