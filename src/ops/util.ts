import { DTypeError, fmtShape, kindOf } from '../errors.js';
import { Tensor, allocFor, isFloat, type DType } from '../tensor/tensor.js';
import { backend, type FloatArray } from '../backend/backend.js';

export type TensorLike = Tensor | number;

/** Requires a Tensor argument. */
export function asTensor(x: unknown, fn: string, arg: string): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(`${fn}: ${arg} must be a Tensor, got ${kindOf(x)}`);
  return x;
}

/** Requires a float tensor (float32 or float64). */
export function floatArg(x: unknown, fn: string, arg: string): Tensor {
  const t = asTensor(x, fn, arg);
  if (!isFloat(t.dtype)) throw new DTypeError(`${fn}: ${arg} must be a float tensor, got ${t.dtype} of shape ${fmtShape(t.shape)}`);
  return t;
}

/** Requires an int32 tensor. */
export function intArg(x: unknown, fn: string, arg: string): Tensor {
  const t = asTensor(x, fn, arg);
  if (t.dtype !== 'int32') throw new DTypeError(`${fn}: ${arg} must be an int32 tensor, got ${t.dtype} of shape ${fmtShape(t.shape)}`);
  return t;
}

/** Requires a bool (uint8) mask. */
export function boolArg(x: unknown, fn: string, arg: string): Tensor {
  const t = asTensor(x, fn, arg);
  if (t.dtype !== 'bool') throw new DTypeError(`${fn}: ${arg} must be a bool mask, got ${t.dtype} of shape ${fmtShape(t.shape)}`);
  return t;
}

/** Casts data to another dtype without recording (use `toDtype` for a recorded cast). */
export function castRaw(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  const out = allocFor(dtype, t.size);
  backend().cast(t.data, out);
  return new Tensor(out, t.shape);
}

/** The float payload of a float tensor (typed for kernels). */
export function fdata(t: Tensor): FloatArray {
  return t.data as FloatArray;
}
