import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { checkOptions, type OptionKeys } from '../config.js';
import { allocFor, dtypeOf, isFloat, Tensor, type DType } from './tensor.js';
import type { AnyArray } from '../backend/buffers.js';
import { checkShape, numel, type Shape } from './shape.js';
import { Generator, resolveRng } from './random.js';

type Nested = number | boolean | readonly Nested[];

export interface CreateOptions { dtype?: DType; requiresGrad?: boolean }
const CREATE = { dtype: true, requiresGrad: true } as const satisfies OptionKeys<CreateOptions>;
// the accepted keys of the functions below, built once rather than on every call
const TENSOR_KEYS = { ...CREATE, shape: true } as const;
const RAND_KEYS = { ...CREATE, rng: true, low: true, high: true } as const;
const RANDN_KEYS = { ...CREATE, rng: true, mean: true, std: true } as const;
const RNG_KEYS = { rng: true } as const;

/**
 * A tensor from nested arrays, a typed array or a number. `shape` reshapes the data (same element
 * count, else ShapeError); a typed array without it is 1-d.
 *
 * @example
 * const x = tensor([[1, 2], [3, 4]]);            // [2, 2] float32
 * const ids = tensor([3, 1], { dtype: 'int32' }); // [2]
 * const m = tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
 */
export function tensor(
  data: Nested | Float32Array | Float64Array | Int32Array | Uint8Array,
  options: CreateOptions & { shape?: Shape } = {},
): Tensor {
  checkOptions('tensor', options, TENSOR_KEYS);
  if (ArrayBuffer.isView(data)) {
    const shape = options.shape ? checkShape(options.shape, 'tensor') : [data.length];
    const dtype = options.dtype;
    let arr = data as Float32Array | Float64Array | Int32Array | Uint8Array;
    if (dtype !== undefined && dtype !== dtypeOf(arr)) {
      const want = allocFor(dtype, arr.length);
      want.set(arr);
      arr = want;
    }
    if (arr.length !== numel(shape)) throw new ShapeError(`tensor: data has ${arr.length} elements (shape [${arr.length}]), shape ${fmtShape(shape)} needs ${numel(shape)}`);
    return finish(new Tensor(arr, shape), options);
  }
  const shape: number[] = [];
  let probe: Nested = data;
  while (Array.isArray(probe)) { shape.push(probe.length); probe = probe[0] as Nested; if (probe === undefined) break; }
  const dtype = options.dtype ?? (typeof probe === 'boolean' ? 'bool' : 'float32');
  const flat = allocFor(dtype, numel(shape));
  let k = 0;
  const fill = (v: Nested, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new ValueError(`tensor: ragged nested array (expected a number at depth ${dim}, shape ${fmtShape(shape)})`);
      flat[k++] = Number(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new ValueError(`tensor: ragged nested array (expected length ${shape[dim]} at depth ${dim}, shape ${fmtShape(shape)})`);
    }
    for (const c of v) fill(c, dim + 1);
  };
  fill(data, 0);
  if (options.shape) {
    const want = checkShape(options.shape, 'tensor');
    if (numel(want) !== flat.length) throw new ShapeError(`tensor: data has ${flat.length} elements (shape ${fmtShape(shape)}), shape ${fmtShape(want)} needs ${numel(want)}`);
    return finish(new Tensor(flat, want), options);
  }
  return finish(new Tensor(flat, shape), options);
}

/**
 * allocFor with a typed error: a size the runtime cannot allocate (`zeros([1e6, 1e6])`) is a
 * ValueError naming the function, the shape and the bytes, not a bare RangeError.
 */
function alloc(fn: string, dtype: DType, shape: readonly number[]): AnyArray {
  const n = numel(shape);
  try { return allocFor(dtype, n); } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const bytes = n * allocFor(dtype, 0).BYTES_PER_ELEMENT;
    throw new ValueError(`${fn}: shape ${fmtShape(shape)} has ${n.toExponential(2)} elements (${bytes.toExponential(2)} bytes as ${dtype}), more than can be allocated`);
  }
}

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requireGrad(true);
  return t;
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  checkOptions('full', options, CREATE);
  return filled('full', shape, value, options);
}
function filled(fn: string, shape: Shape, value: number, options: CreateOptions): Tensor {
  const s = checkShape(shape, fn);
  const d = alloc(fn, options.dtype ?? 'float32', s);
  d.fill(value);
  return finish(new Tensor(d, s), options);
}
export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  checkOptions('zeros', options, CREATE);
  return finish(new Tensor(alloc('zeros', options.dtype ?? 'float32', checkShape(shape, 'zeros')), shape), options);
}
export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  checkOptions('ones', options, CREATE);
  return filled('ones', shape, 1, options);
}
/** A scalar (0-dim) tensor. */
export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  const d = allocFor(dtype, 1);
  d[0] = value;
  return new Tensor(d, []);
}

/** [start, end) with `step`, like torch.arange; integers give int32 unless a dtype is set. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  checkOptions('arange', options, CREATE);
  if (end === undefined) { end = start; start = 0; }
  if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(step) || step === 0) {
    throw new ValueError(`arange: need finite start/end and a non-zero step, got start=${start}, end=${end}, step=${step}`);
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ints = Number.isInteger(start) && Number.isInteger(step);
  const d = alloc('arange', options.dtype ?? (ints ? 'int32' : 'float32'), [n]);
  for (let i = 0; i < n; i++) d[i] = start + i * step;
  return finish(new Tensor(d, [n]), options);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  checkOptions('linspace', options, CREATE);
  if (!Number.isInteger(steps) || steps < 0) throw new ValueError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const d = alloc('linspace', options.dtype ?? 'float32', [steps]);
  for (let i = 0; i < steps; i++) d[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  return finish(new Tensor(d, [steps]), options);
}

/** n×m identity. */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  checkOptions('eye', options, CREATE);
  const s = checkShape([n, m], 'eye', 'size');
  const d = alloc('eye', options.dtype ?? 'float32', s);
  for (let i = 0; i < Math.min(n, m); i++) d[i * m + i] = 1;
  return finish(new Tensor(d, s), options);
}

/** `rng`: the generator to draw from; omitted, the default generator (see `manualSeed`). */
export interface RandomOptions extends CreateOptions { rng?: Generator }

function floatDtype(options: CreateOptions, fn: string): DType {
  const dt = options.dtype ?? 'float32';
  if (!isFloat(dt)) throw new DTypeError(`${fn}: dtype must be float32 or float64, got ${dt}`);
  return dt;
}

/** Uniform [low, high). */
export function rand(shape: Shape, options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkOptions('rand', options, RAND_KEYS);
  const rng = resolveRng(options.rng, 'rand');
  const s = checkShape(shape, 'rand');
  const lo = options.low ?? 0, hi = options.high ?? 1;
  const d = alloc('rand', floatDtype(options, 'rand'), s);
  for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * rng.uniform();
  return finish(new Tensor(d, s), options);
}

/** Normal with `mean` and `std` (default standard normal). */
export function randn(shape: Shape, options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkOptions('randn', options, RANDN_KEYS);
  const rng = resolveRng(options.rng, 'randn');
  const s = checkShape(shape, 'randn');
  const mean = options.mean ?? 0, std = options.std ?? 1;
  const d = alloc('randn', floatDtype(options, 'randn'), s);
  for (let i = 0; i < d.length; i++) d[i] = mean + std * rng.normal();
  return finish(new Tensor(d, s), options);
}

/** Uniform integers in [low, high), int32. */
export function randint(low: number, high: number, shape: Shape, options: { rng?: Generator } = {}): Tensor {
  checkOptions('randint', options, RNG_KEYS);
  const rng = resolveRng(options.rng, 'randint');
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new ValueError(`randint: need integers low < high, got low=${low}, high=${high}`);
  }
  const s = checkShape(shape, 'randint');
  const d = alloc('randint', 'int32', s);
  for (let i = 0; i < d.length; i++) d[i] = rng.int(low, high);
  return new Tensor(d, s);
}

/** Bernoulli draws with probability `p` of true, as a bool mask. */
export function bernoulli(shape: Shape, p: number, options: { rng?: Generator } = {}): Tensor {
  checkOptions('bernoulli', options, RNG_KEYS);
  const rng = resolveRng(options.rng, 'bernoulli');
  if (!(p >= 0 && p <= 1)) throw new ValueError(`bernoulli: p must be in [0, 1], got ${p}`);
  const s = checkShape(shape, 'bernoulli');
  const d = alloc('bernoulli', 'bool', s);
  for (let i = 0; i < d.length; i++) d[i] = rng.uniform() < p ? 1 : 0;
  return new Tensor(d, s);
}
